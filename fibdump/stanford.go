package fibdump

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/preflight-sh/preflight/fwd"
)

// Update is one line of a Stanford/APKeep updates file: the insert or
// delete of a forwarding rule (Rule set) or of an ACL rule (ACL and
// ACLRule set).
//
// Rule.Seq and ACLRule.Seq are the line number, so rules inserted later
// have higher Seq. A delete names the rule to remove by its fields: for a
// forwarding rule the prefix, priority, action and port; for an ACL rule
// the ACL and every match field, the action and the priority (not Seq,
// Origin or Text).
type Update struct {
	Insert  bool
	Device  string // the router
	Rule    *fwd.Rule
	ACL     string // the ACL's name on the router, for ACL rules
	ACLRule *fwd.ACLRule
	Line    int
}

// VLAN is one line of a Stanford vlan.txt file: a VLAN port of a router
// and its physical member ports.
type VLAN struct {
	Device string
	Name   string
	Ports  []string
	Line   int
}

// ReadStanfordUpdates reads a Stanford/APKeep updates file, the replay
// trace: every line, inserts and deletes, in file order.
func ReadStanfordUpdates(path string) ([]Update, error) {
	return readFile(path, ParseStanfordUpdates, "")
}

// ParseStanfordUpdates reads a Stanford/APKeep updates file from r; name
// is the file name used in errors and origins. Lines are
//
//	OP fwd ROUTER IP LEN PORT PRIORITY
//	OP acl ROUTER_ACL access-list ACL permit|deny PROTO_LO PROTO_HI SRC SRC_WILDCARD SRC_PORT_LO SRC_PORT_HI DST DST_WILDCARD DST_PORT_LO DST_PORT_HI PRIORITY
//
// with OP "+" for an insert and "-" for a delete. IP is an IPv4 address
// written as an unsigned 32-bit integer; PORT "self" delivers to the
// router, any other port (including a vlanN port) forwards, and host bits
// beyond LEN are cleared from the prefix. In ACL rules, null means
// unset and any matches everything: an unset or any address matches every
// address, an address whose wildcard is null is one host, wildcard bits
// that are set are "don't care"; a range whose lower bound is null or any
// is the full range, and one whose upper bound is null runs to the maximum
// (255 for protocols, 65535 for ports). A missing PRIORITY is 65535, as in
// APKeep. Blank lines are skipped.
func ParseStanfordUpdates(r io.Reader, name string) ([]Update, error) {
	lr := newLineReader(r, name)
	var ups []Update
	for {
		line, f, ok := lr.nextFields()
		if !ok {
			break
		}
		u, msg := parseUpdate(f, line, name, lr.line)
		if msg != "" {
			return nil, lr.errorf("%s", msg)
		}
		ups = append(ups, u)
	}
	return ups, lr.err()
}

const (
	fwdSyntax = "+ fwd ROUTER IP LEN PORT PRIORITY"
	aclSyntax = "+ acl ROUTER_ACL access-list ACL permit|deny PROTO_LO PROTO_HI SRC SRC_WILDCARD SRC_PORT_LO SRC_PORT_HI DST DST_WILDCARD DST_PORT_LO DST_PORT_HI PRIORITY"
)

// parseUpdate parses the fields of one update line. On failure it returns
// a message saying what is wrong.
func parseUpdate(f []string, line, name string, lineNo int) (Update, string) {
	u := Update{Line: lineNo}
	switch f[0] {
	case "+":
		u.Insert = true
	case "-":
	default:
		return u, fmt.Sprintf("update starts with %q; expected + (insert) or - (delete)", f[0])
	}
	if len(f) < 2 {
		return u, "update has no rule type; expected fwd or acl after " + f[0]
	}
	switch f[1] {
	case "fwd":
		if len(f) != 7 {
			return u, fmt.Sprintf("fwd rule needs 7 fields (%s), found %d", fwdSyntax, len(f))
		}
		prefix, msg := parsePrefix(f[3], f[4])
		if msg != "" {
			return u, msg
		}
		prio, msg := parsePriority(f[6])
		if msg != "" {
			return u, msg
		}
		r := &fwd.Rule{Prefix: prefix, Priority: prio, Seq: lineNo, Origin: origin(name, lineNo)}
		if f[5] == "self" {
			r.Action = fwd.Deliver
		} else {
			r.Action = fwd.Forward
			r.Ports = []string{f[5]}
		}
		u.Device, u.Rule = f[2], r
		return u, ""
	case "acl":
		if len(f) != 16 && len(f) != 17 {
			return u, fmt.Sprintf("acl rule needs 17 fields (%s), found %d", aclSyntax, len(f))
		}
		if f[3] != "access-list" {
			return u, fmt.Sprintf("acl rule has %q as its 4th field; expected access-list (%s)", f[3], aclSyntax)
		}
		acl := f[4]
		router, ok := strings.CutSuffix(f[2], "_"+acl)
		if !ok || router == "" {
			return u, fmt.Sprintf("ACL element %q is not ROUTER_%s; expected the router name, an underscore and the ACL name %q", f[2], acl, acl)
		}
		r := &fwd.ACLRule{Seq: lineNo, Priority: 65535, Text: strings.TrimSpace(line)}
		switch f[5] {
		case "permit":
			r.Permit = true
		case "deny":
		default:
			return u, fmt.Sprintf("ACL action %q; expected permit or deny", f[5])
		}
		var msg string
		if r.Proto, msg = parseRange("protocol", f[6], f[7], 255); msg != "" {
			return u, msg
		}
		if r.Src, msg = parseAddrMatch("source", f[8], f[9]); msg != "" {
			return u, msg
		}
		if r.SrcPort, msg = parseRange("source port", f[10], f[11], 65535); msg != "" {
			return u, msg
		}
		if r.Dst, msg = parseAddrMatch("destination", f[12], f[13]); msg != "" {
			return u, msg
		}
		if r.DstPort, msg = parseRange("destination port", f[14], f[15], 65535); msg != "" {
			return u, msg
		}
		if len(f) == 17 {
			if r.Priority, msg = parsePriority(f[16]); msg != "" {
				return u, msg
			}
		}
		u.Device, u.ACL, u.ACLRule = router, acl, r
		return u, ""
	}
	return u, fmt.Sprintf("rule type %q is not supported; expected fwd or acl", f[1])
}

func parsePriority(s string) (int, string) {
	p, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return 0, fmt.Sprintf("priority %q is not a 32-bit integer", s)
	}
	return int(p), ""
}

// unset reports whether an ACL field is null or any.
func unset(s string) bool { return s == "null" || s == "any" }

// parseRange parses the bounds of a protocol or port range (see
// ParseStanfordUpdates).
func parseRange(what, lo, hi string, maxValue int) (fwd.Range, string) {
	if unset(lo) {
		if !unset(hi) {
			return fwd.Range{}, fmt.Sprintf("%s upper bound is %q but the lower bound is %s; expected a lower bound, or null for both", what, hi, lo)
		}
		return fwd.Range{Lo: 0, Hi: maxValue}, ""
	}
	l, err := strconv.Atoi(lo)
	if err != nil || l < 0 || l > maxValue {
		return fwd.Range{}, fmt.Sprintf("%s lower bound %q is not a number from 0 to %d, null or any", what, lo, maxValue)
	}
	if unset(hi) {
		return fwd.Range{Lo: l, Hi: maxValue}, ""
	}
	h, err := strconv.Atoi(hi)
	if err != nil || h < 0 || h > maxValue {
		return fwd.Range{}, fmt.Sprintf("%s upper bound %q is not a number from 0 to %d or null", what, hi, maxValue)
	}
	if h < l {
		return fwd.Range{}, fmt.Sprintf("%s range %d-%d is empty; expected the lower bound first", what, l, h)
	}
	return fwd.Range{Lo: l, Hi: h}, ""
}

// parseAddrMatch parses an ACL address and its wildcard mask (see
// ParseStanfordUpdates). Bits the wildcard ignores are cleared in Addr.
func parseAddrMatch(what, addr, wildcard string) (fwd.AddrMatch, string) {
	if unset(addr) {
		if !unset(wildcard) {
			return fwd.AddrMatch{}, fmt.Sprintf("%s address is %s but its wildcard is %q; expected null", what, addr, wildcard)
		}
		return fwd.AddrMatch{}, ""
	}
	a, err := netip.ParseAddr(addr)
	if err != nil || !a.Is4() {
		return fwd.AddrMatch{}, fmt.Sprintf("%s address %q is not a dotted IPv4 address, any or null", what, addr)
	}
	care := [4]byte{255, 255, 255, 255} // null wildcard: one host
	switch wildcard {
	case "null":
	case "any":
		care = [4]byte{}
	default:
		w, err := netip.ParseAddr(wildcard)
		if err != nil || !w.Is4() {
			return fwd.AddrMatch{}, fmt.Sprintf("%s wildcard %q is not a dotted IPv4 wildcard mask (set bits are ignored) or null", what, wildcard)
		}
		wb := w.As4()
		for i := range care {
			care[i] = ^wb[i]
		}
	}
	ab := a.As4()
	for i := range ab {
		ab[i] &= care[i]
	}
	return fwd.AddrMatch{Addr: netip.AddrFrom4(ab), Mask: netip.AddrFrom4(care)}, ""
}

// ParseVLANs reads a Stanford vlan.txt file: one VLAN per line, "ROUTER
// VLAN PORT...", the VLAN port name followed by its physical member ports.
// Blank lines are skipped.
func ParseVLANs(r io.Reader, name string) ([]VLAN, error) {
	lr := newLineReader(r, name)
	var vlans []VLAN
	for {
		_, f, ok := lr.nextFields()
		if !ok {
			break
		}
		if len(f) < 3 {
			return nil, lr.errorf("VLAN line needs a router, a VLAN name and at least one member port (ROUTER VLAN PORT...), found %d fields", len(f))
		}
		ports := f[2:]
		for i, p := range ports {
			if slices.Contains(ports[:i], p) {
				return nil, lr.errorf("member port %s of %s is listed twice; expected each port once", p, f[1])
			}
		}
		vlans = append(vlans, VLAN{Device: f[0], Name: f[1], Ports: slices.Clone(ports), Line: lr.line})
	}
	return vlans, lr.err()
}

// ApplyUpdate applies one update to a network, creating the device and
// the ACL if an insert needs them. An insert appends the rule; a delete
// removes the earliest installed rule equal to the update's (see Update),
// and is an error when there is none. (APKeep ignores the insert of a
// forwarding rule equal to an installed one, where ApplyUpdate installs it
// twice; the published traces insert no rule twice.)
func ApplyUpdate(n *fwd.Network, u Update) error {
	if (u.Rule == nil) == (u.ACLRule == nil) {
		return errors.New("update must carry exactly one of a forwarding rule and an ACL rule")
	}
	d := n.Devices[u.Device]
	if d == nil {
		if !u.Insert {
			return fmt.Errorf("delete on device %s, which has no rules; expected an earlier insert", u.Device)
		}
		if n.Devices == nil {
			n.Devices = map[string]*fwd.Device{}
		}
		d = &fwd.Device{Name: u.Device}
		n.Devices[u.Device] = d
	}
	if u.Rule != nil {
		if u.Insert {
			r := *u.Rule
			r.Ports = slices.Clone(r.Ports)
			d.Rules = append(d.Rules, r)
			return nil
		}
		i := slices.IndexFunc(d.Rules, func(r fwd.Rule) bool { return sameRule(r, *u.Rule) })
		if i < 0 {
			return fmt.Errorf("delete of %s on %s, which is not installed; expected an earlier insert of a rule with the same prefix, priority and port", describeRule(*u.Rule), u.Device)
		}
		d.Rules = slices.Delete(d.Rules, i, i+1)
		return nil
	}
	acl := d.ACLs[u.ACL]
	if u.Insert {
		if acl == nil {
			acl = declareACL(d, u.ACL)
		}
		acl.Rules = append(acl.Rules, *u.ACLRule)
		return nil
	}
	i := -1
	if acl != nil {
		i = slices.IndexFunc(acl.Rules, func(r fwd.ACLRule) bool { return sameACLRule(r, *u.ACLRule) })
	}
	if i < 0 {
		return fmt.Errorf("delete of an ACL rule of %s on %s, which is not installed; expected an earlier insert of a rule with the same fields", u.ACL, u.Device)
	}
	acl.Rules = slices.Delete(acl.Rules, i, i+1)
	return nil
}

func declareACL(d *fwd.Device, name string) *fwd.ACL {
	if d.ACLs == nil {
		d.ACLs = map[string]*fwd.ACL{}
	}
	acl := d.ACLs[name]
	if acl == nil {
		acl = &fwd.ACL{Name: name}
		d.ACLs[name] = acl
	}
	return acl
}

func sameRule(a, b fwd.Rule) bool {
	return a.Prefix == b.Prefix && a.Priority == b.Priority && a.Action == b.Action && slices.Equal(a.Ports, b.Ports)
}

func sameACLRule(a, b fwd.ACLRule) bool {
	return a.Permit == b.Permit && a.Priority == b.Priority && a.Proto == b.Proto &&
		a.Src == b.Src && a.Dst == b.Dst && a.SrcPort == b.SrcPort && a.DstPort == b.DstPort
}

func describeRule(r fwd.Rule) string {
	to := r.Action.String()
	if r.Action == fwd.Forward {
		to = "port " + strings.Join(r.Ports, ",")
	}
	return fmt.Sprintf("rule %s priority %d to %s", r.Prefix, r.Priority, to)
}

// LoadStanford reads a Stanford/APKeep dataset directory: topo.txt
// (required), updates (required), vlan.txt and acls/ (optional).
//
// The network is the state after applying the lines of updates in order,
// up to and including the last insert: every insert is applied, and so is
// any delete that comes before the last insert; the deletes after the last
// insert are the replay trace (ReadStanfordUpdates) and are not applied. In
// the published files all inserts come first, so this is the state after
// all 4,526 inserts (3,840 with stanford-noacl), the state APKeep reports
// its 515 atoms for.
//
// Devices are the routers of topo.txt and every router named by vlan.txt,
// updates or an acls/ file name. A forwarding rule to port self delivers to
// the router; any other port, vlanN ports included, forwards out of it,
// and a vlanN port must be defined for the router in vlan.txt (its members
// go to Device.VLANs).
//
// ACLs are declared by the acls/<router>_<acl> file names and by the acl
// updates; their rules come from the updates only (the acls/ files are not
// read, and acls/<router>_usage files are ignored as informational). An ACL
// declared but given no rules is present with no rules (it denies
// everything).
//
// Where ACLs apply comes from the ACL nodes of topo.txt: as in APKeep,
// the nodes whose names end in _in or _out, named
// <router>_<acl>_<port>_<in|out> (split using the known router names and
// their declared ACLs), entered through port inport and left through port
// permit. Every other topo.txt edge is a direct link. Each chain of ACL nodes between two router ports,
// router port → ACL node(s) → router port, becomes one direct link between
// the router ports, and each ACL node's ACL is attached to the port its
// name gives: the _out nodes to the sending port (PortACLs.Out), the _in
// nodes to the receiving port (PortACLs.In), in the order a packet passes
// them. A chain may also start at an _in node no port enters (an ACL on
// traffic from outside the network) or end at an _out node with no permit
// edge (an ACL on traffic leaving it); such chains give port ACLs but no
// link. The collapse is checked to be exact: each _out node must be
// entered from the port it names and each _in node must lead to the port
// it names, _out nodes come before _in nodes, and every path from a port
// (and every path into a port), direct links included, must pass the same
// ACLs, since the forwarding model has one ACL list per port and
// direction. Anything else is an error.
func LoadStanford(dir string) (*fwd.Network, error) {
	const hint = "a Stanford/APKeep dataset directory needs topo.txt and updates"
	var src stanfordSource
	var err error
	src.topoFile = filepath.Join(dir, "topo.txt")
	if src.topo, err = readFile(src.topoFile, ParseTopo, hint); err != nil {
		return nil, err
	}
	src.updatesFile = filepath.Join(dir, "updates")
	if src.updates, err = readFile(src.updatesFile, ParseStanfordUpdates, hint); err != nil {
		return nil, err
	}
	src.vlanFile = filepath.Join(dir, "vlan.txt")
	if isFile(src.vlanFile) {
		if src.vlans, err = readFile(src.vlanFile, ParseVLANs, ""); err != nil {
			return nil, err
		}
	}
	src.aclDir = filepath.Join(dir, "acls")
	entries, err := os.ReadDir(src.aclDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("fibdump: %w", err)
	}
	for _, e := range entries {
		if e.Type().IsRegular() && !strings.HasSuffix(e.Name(), "_usage") {
			src.aclFiles = append(src.aclFiles, e.Name())
		}
	}
	return buildStanford(src)
}

// stanfordSource is the parsed content of a Stanford dataset directory.
type stanfordSource struct {
	topoFile    string
	topo        []TopoEdge
	updatesFile string
	updates     []Update
	vlanFile    string
	vlans       []VLAN
	aclDir      string
	aclFiles    []string // acls/<router>_<acl> file names
}

// buildStanford builds the network of a Stanford dataset (see
// LoadStanford).
func buildStanford(src stanfordSource) (*fwd.Network, error) {
	n := &fwd.Network{Devices: map[string]*fwd.Device{}}
	addDevice := func(name string) {
		if n.Devices[name] == nil {
			n.Devices[name] = &fwd.Device{Name: name}
		}
	}
	for _, e := range src.topo {
		for _, p := range []fwd.PortRef{e.From, e.To} {
			if !isACLNode(p.Device) {
				addDevice(p.Device)
			}
		}
	}
	for _, u := range src.updates {
		addDevice(u.Device)
	}
	for _, v := range src.vlans {
		addDevice(v.Device)
	}

	vlanLine := map[[2]string]int{}
	for _, v := range src.vlans {
		key := [2]string{v.Device, v.Name}
		if first, ok := vlanLine[key]; ok {
			return nil, &ParseError{File: src.vlanFile, Line: v.Line, Msg: fmt.Sprintf("VLAN %s of %s is already defined at line %d; expected each VLAN once", v.Name, v.Device, first)}
		}
		vlanLine[key] = v.Line
		d := n.Devices[v.Device]
		if d.VLANs == nil {
			d.VLANs = map[string][]string{}
		}
		d.VLANs[v.Name] = v.Ports
	}

	routers := routersByLength(n)
	for _, name := range src.aclFiles {
		declared := false
		for _, r := range routers {
			if acl, ok := strings.CutPrefix(name, r+"_"); ok && acl != "" {
				declareACL(n.Devices[r], acl)
				declared = true
				break
			}
		}
		if !declared {
			return nil, &ParseError{File: filepath.Join(src.aclDir, name), Msg: "file name is not ROUTER_ACL for a router of topo.txt or updates; expected <router>_<acl> (an ACL declaration) or <router>_usage"}
		}
	}

	last := -1
	for i, u := range src.updates {
		if u.Insert {
			last = i
		}
	}
	for _, u := range src.updates[:last+1] {
		if err := ApplyUpdate(n, u); err != nil {
			return nil, &ParseError{File: src.updatesFile, Line: u.Line, Msg: err.Error()}
		}
	}

	if err := collapseACLNodes(n, src.topoFile, src.topo); err != nil {
		return nil, err
	}

	for _, name := range n.DeviceNames() {
		d := n.Devices[name]
		for _, r := range d.Rules {
			for _, p := range r.Ports {
				if _, ok := d.VLANs[p]; !ok && strings.HasPrefix(strings.ToLower(p), "vlan") {
					return nil, &ParseError{File: src.updatesFile, Line: r.Seq, Msg: fmt.Sprintf("rule forwards to %s, which vlan.txt does not define for %s; expected a line %q", p, name, name+" "+p+" PORT...")}
				}
			}
		}
	}
	return n, nil
}

// routersByLength returns the device names, longest first (then sorted),
// so that the first one a name starts with is the longest match.
func routersByLength(n *fwd.Network) []string {
	names := n.DeviceNames()
	slices.SortStableFunc(names, func(a, b string) int { return len(b) - len(a) })
	return names
}

// readFile opens path and parses it; hint, if not empty, is added to an
// error opening the file.
func readFile[T any](path string, parse func(io.Reader, string) (T, error), hint string) (T, error) {
	f, err := os.Open(path)
	if err != nil {
		var zero T
		if hint != "" {
			return zero, fmt.Errorf("fibdump: %w (%s)", err, hint)
		}
		return zero, fmt.Errorf("fibdump: %w", err)
	}
	defer f.Close()
	return parse(f, path)
}
