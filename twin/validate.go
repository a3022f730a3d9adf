package twin

import (
	"fmt"
	"maps"
	"net/netip"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/preflight-sh/preflight/yamldecode"
)

// Validate runs the semantic checks over a decoded twin and returns every
// problem found, sorted, each at the position of the offending field.
// Objects may be partly decoded: a field that failed to decode holds its
// zero value, and the loader drops the errors reported at positions where
// decoding failed.
func Validate(s *Snapshot) ErrorList {
	v := &validator{s: s, names: map[string][]string{}, linkEnds: map[string]linkUse{}}
	for _, o := range s.All() {
		v.meta(o)
		v.enums(o, reflect.ValueOf(o).Elem(), "")
		switch o := o.(type) {
		case *Zone:
			v.ref(o, "region", "Region", o.Region, true)
		case *Site:
			v.site(o)
		case *Device:
			v.device(o)
		case *Link:
			v.link(o)
		case *RoutePolicy:
			v.routePolicy(o)
		case *ACL:
			v.acl(o)
		case *AnycastPrefix:
			v.anycast(o)
		case *Service:
			v.service(o)
		case *Instance:
			v.instance(o)
		case *LoadBalancer:
			v.loadBalancer(o)
		case *DNSRecord:
			v.dnsRecord(o)
		case *Demand:
			v.demand(o)
		case *Artifact:
			v.artifact(o)
		case *Propagation:
			v.propagation(o)
		case *BlastRadiusLimit:
			v.blastRadiusLimit(o)
		case *Policy:
			v.policy(o)
		}
	}
	v.interfaceAddresses()
	v.anycastOverlaps()
	v.dependencyCycles()
	v.errs.Sort()
	return v.errs
}

type validator struct {
	s     *Snapshot
	errs  ErrorList
	names map[string][]string // object names by kind, for did-you-mean
	// linkEnds records the first link that uses each "device:interface".
	linkEnds map[string]linkUse
}

type linkUse struct {
	link *Link
	path string
}

// errorf reports a problem at the field at path of o.
func (v *validator) errorf(o Object, path, format string, args ...any) {
	v.errs = append(v.errs, yamldecode.Error{
		Pos: o.GetMeta().Source().At(path),
		Msg: semanticPrefix + fmt.Sprintf(format, args...),
	})
}

// written reports whether the field at path was written in o's document.
func written(o Object, path string) bool {
	src := o.GetMeta().Source()
	if src == nil {
		return false
	}
	_, ok := src.Fields[path]
	return ok
}

// fieldName returns the last element of a field path.
func fieldName(path string) string { return path[strings.LastIndexByte(path, '.')+1:] }

// didYouMean returns ` (did you mean "x"?)` for the candidate closest to
// word, or "" if none is close.
func didYouMean(word string, candidates []string) string {
	if s := yamldecode.Suggest(word, candidates); s != "" {
		return fmt.Sprintf(" (did you mean %q?)", s)
	}
	return ""
}

// kindLabels are the words messages use for the kinds references point to.
var kindLabels = map[string]string{
	"Region":        "region",
	"Zone":          "zone",
	"Site":          "site",
	"Device":        "device",
	"ACL":           "ACL",
	"RoutePolicy":   "route policy",
	"AnycastPrefix": "anycast prefix",
	"Service":       "service",
	"LoadBalancer":  "load balancer",
	"DNSRecord":     "DNS record",
	"Propagation":   "propagation",
}

// ref checks that name, written at path in o, names an object of kind and
// returns that object, or nil. An empty name is an error only if required.
func (v *validator) ref(o Object, path, kind, name string, required bool) Object {
	if name == "" {
		if required {
			v.errorf(o, path, "%s is empty: name the %s it refers to", fieldName(path), kindLabels[kind])
		}
		return nil
	}
	if t := v.s.Get(kind, name); t != nil {
		return t
	}
	names, ok := v.names[kind]
	if !ok {
		names = namesOf(v.s.List(kind), func(o Object) string { return o.GetMeta().Name })
		v.names[kind] = names
	}
	if s := didYouMean(name, names); s != "" {
		v.errorf(o, path, "%s %q does not exist%s", kindLabels[kind], name, s)
	} else {
		v.errorf(o, path, "%s %q does not exist: define it (kind: %s) or correct the name", kindLabels[kind], name, kind)
	}
	return nil
}

// zoneInRegion reports a zone that is not in the region that o also names
// (unless the zone's own region is wrong, which is reported on the zone).
func (v *validator) zoneInRegion(o Object, path string, z *Zone, region string) {
	if z.Region != region && v.s.Get("Region", z.Region) != nil {
		v.errorf(o, path, "zone %q is in region %q, not in %q: correct the region or the zone", z.Name, z.Region, region)
	}
}

// nameProblem says why a non-empty name cannot be written in the operator
// command language, or returns "" if it can.
func nameProblem(name string) string {
	for i, r := range name {
		alnum := 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9'
		if alnum || i > 0 && strings.ContainsRune("._:/@-", r) {
			continue
		}
		if i == 0 {
			return fmt.Sprintf("%q starts with %q", name, r)
		}
		return fmt.Sprintf("%q contains %q", name, r)
	}
	return ""
}

// name checks a name (what says which: "name", "label key") at path.
func (v *validator) name(o Object, path, what, name string) {
	if name == "" {
		v.errorf(o, path, "%s is empty: set one", what)
	} else if p := nameProblem(name); p != "" {
		v.errorf(o, path, "%s %s: write it with only letters, digits and . _ : / @ -, starting with a letter or digit", what, p)
	}
}

// meta checks the object's name and label keys.
func (v *validator) meta(o Object) {
	m := o.GetMeta()
	v.name(o, "name", "name", m.Name)
	for k := range m.Labels {
		v.name(o, "labels."+k, "label key", k)
	}
}

// namesOf returns the names of a list's elements.
func namesOf[T any](list []T, name func(T) string) []string {
	out := make([]string, len(list))
	for i, e := range list {
		out[i] = name(e)
	}
	return out
}

// listNames checks the names of a list's elements (list[i].name): each
// valid, none used twice.
func (v *validator) listNames(o Object, list string, names []string) {
	first := map[string]string{}
	for i, n := range names {
		p := fmt.Sprintf("%s[%d].name", list, i)
		v.name(o, p, "name", n)
		if n == "" {
			continue
		}
		if prev, dup := first[n]; dup {
			v.errorf(o, p, "name %q is used twice in %s (first at %s): give each a different name", n, list, o.GetMeta().Source().At(prev))
			continue
		}
		first[n] = p
	}
}

// enums checks every string field tagged with a jsonschema enum in rv (o or
// a part of it, at path).
func (v *validator) enums(o Object, rv reflect.Value, path string) {
	switch rv.Kind() {
	case reflect.Pointer:
		if !rv.IsNil() {
			v.enums(o, rv.Elem(), path)
		}
	case reflect.Slice:
		for i := range rv.Len() {
			v.enums(o, rv.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
	case reflect.Struct:
		for _, f := range enumFieldsOf(rv.Type()) {
			p := f.name
			if path != "" {
				p = path + "." + f.name
			}
			if f.allowed != nil {
				v.enum(o, p, rv.Field(f.index).String(), f.allowed, f.required)
				continue
			}
			v.enums(o, rv.Field(f.index), p)
		}
	}
}

// enumField is an exported, non-embedded struct field as enums walks it.
type enumField struct {
	index    int
	name     string   // from the json tag
	allowed  []string // the jsonschema enum, or nil
	required bool     // no omitempty
}

var enumFieldCache sync.Map // reflect.Type → []enumField

// enumFieldsOf returns the fields enums walks in struct type t, parsing
// their tags once per type: validation runs over every object of a twin.
func enumFieldsOf(t reflect.Type) []enumField {
	if c, ok := enumFieldCache.Load(t); ok {
		return c.([]enumField)
	}
	var out []enumField
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() || f.Anonymous {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		out = append(out, enumField{i, name, enumValues(f.Tag.Get("jsonschema")), !strings.Contains(opts, "omitempty")})
	}
	enumFieldCache.Store(t, out)
	return out
}

// enumValues returns the values of a jsonschema tag's enum, or nil.
func enumValues(tag string) []string {
	var out []string
	for _, part := range strings.Split(tag, ",") {
		if val, ok := strings.CutPrefix(part, "enum="); ok {
			out = append(out, val)
		}
	}
	return out
}

// enum checks that val, at path, is one of allowed (or empty if optional).
func (v *validator) enum(o Object, path, val string, allowed []string, required bool) {
	if val == "" && !required || slices.Contains(allowed, val) {
		return
	}
	list := strings.Join(allowed, ", ")
	if val == "" {
		v.errorf(o, path, "%s is empty: set it to one of %s", fieldName(path), list)
		return
	}
	v.errorf(o, path, "%s %q is not valid: use one of %s%s", fieldName(path), val, list, didYouMean(val, allowed))
}

// nonNegative reports a negative number at path.
func (v *validator) nonNegative(o Object, path string, n int) {
	if n < 0 {
		v.errorf(o, path, "%s is %d: it must not be negative", fieldName(path), n)
	}
}

// positive reports a quantity at path that is not above zero; why says what
// to do.
func (v *validator) positive(o Object, path string, x float64, why string) {
	if x <= 0 {
		v.errorf(o, path, "%s must be more than 0: %s", fieldName(path), why)
	}
}

// countSet returns how many of set are true.
func countSet(set ...bool) int {
	n := 0
	for _, b := range set {
		if b {
			n++
		}
	}
	return n
}

// family names the address family of a.
func family(a netip.Addr) string {
	if a.Is4() {
		return "IPv4"
	}
	return "IPv6"
}

// routePrefix checks a prefix that names a set of destinations: it must have
// no host bits set (and must be given if required).
func (v *validator) routePrefix(o Object, path string, p netip.Prefix, required bool) {
	switch {
	case !p.IsValid():
		if required {
			v.errorf(o, path, "%s is empty: write a prefix such as 10.0.0.0/8", fieldName(path))
		}
	case p.Masked() != p:
		v.errorf(o, path, "prefix %s has host bits set: write %s, or correct the length", p, p.Masked())
	}
}

// ---- places -----------------------------------------------------------------

func (v *validator) site(s *Site) {
	region := v.ref(s, "region", "Region", s.Region, true)
	if z, ok := v.ref(s, "zone", "Zone", s.Zone, false).(*Zone); ok && region != nil {
		v.zoneInRegion(s, "zone", z, s.Region)
	}
}

// ---- network ----------------------------------------------------------------

func interfaceNames(d *Device) []string {
	return namesOf(d.Interfaces, func(i Interface) string { return i.Name })
}

// findInterface returns the index of the device's interface with that name,
// or -1.
func findInterface(d *Device, name string) int {
	return slices.IndexFunc(d.Interfaces, func(i Interface) bool { return i.Name == name })
}

// noInterface says that d has no interface called name.
func noInterface(d *Device, name string) string {
	if s := didYouMean(name, interfaceNames(d)); s != "" {
		return fmt.Sprintf("device %q has no interface %q%s", d.Name, name, s)
	}
	return fmt.Sprintf("device %q has no interface %q: add it to the device or correct the name", d.Name, name)
}

func (v *validator) device(d *Device) {
	v.ref(d, "site", "Site", d.Site, true)
	if d.RouterID.IsValid() && !d.RouterID.Is4() {
		v.errorf(d, "routerID", "routerID %s is not an IPv4 address: a router ID is 32 bits, written like 192.0.2.1", d.RouterID)
	}
	v.nonNegative(d, "routeLimit", d.RouteLimit)
	v.listNames(d, "interfaces", interfaceNames(d))
	for i, in := range d.Interfaces {
		p := fmt.Sprintf("interfaces[%d]", i)
		v.ref(d, p+".aclIn", "ACL", in.ACLIn, false)
		v.ref(d, p+".aclOut", "ACL", in.ACLOut, false)
	}
	for i, r := range d.StaticRoutes {
		v.staticRoute(d, fmt.Sprintf("staticRoutes[%d]", i), r)
	}
	if d.BGP != nil {
		v.bgp(d)
	}
}

func (v *validator) staticRoute(d *Device, p string, r StaticRoute) {
	v.routePrefix(d, p+".prefix", r.Prefix, true)
	switch targets := countSet(r.NextHop.IsValid(), r.Interface != "", r.Drop); {
	case targets == 0:
		v.errorf(d, p, "static route has no target: set one of nextHop, interface or drop: true")
	case targets > 1:
		v.errorf(d, p, "static route sets more than one of nextHop, interface and drop: keep only one")
	}
	if r.NextHop.IsValid() && r.Prefix.IsValid() && r.NextHop.Is4() != r.Prefix.Addr().Is4() {
		v.errorf(d, p+".nextHop", "nextHop %s is %s but prefix %s is %s: use a next hop of the prefix's family", r.NextHop, family(r.NextHop), r.Prefix, family(r.Prefix.Addr()))
	}
	if r.Interface != "" && findInterface(d, r.Interface) < 0 {
		v.errorf(d, p+".interface", "%s", noInterface(d, r.Interface))
	}
	if r.AdminDistance < 0 || r.AdminDistance > 255 {
		v.errorf(d, p+".adminDistance", "adminDistance %d is out of range: use 0 to 255", r.AdminDistance)
	}
}

func (v *validator) bgp(d *Device) {
	b := d.BGP
	if b.ASN == 0 {
		v.errorf(d, "bgp.asn", "asn is 0: set the device's AS number (1 to 4294967295)")
	}
	for i, p := range b.Originate {
		v.routePrefix(d, fmt.Sprintf("bgp.originate[%d]", i), p, true)
	}
	v.listNames(d, "bgp.neighbors", namesOf(b.Neighbors, func(n BGPNeighbor) string { return n.Name }))
	for i, n := range b.Neighbors {
		p := fmt.Sprintf("bgp.neighbors[%d]", i)
		if n.Peer == "" && !n.Address.IsValid() {
			v.errorf(d, p, "neighbor %q has neither peer nor address: name the twin device in peer, or give an external peer's address", n.Name)
		}
		if n.RemoteASN == 0 {
			v.errorf(d, p+".remoteASN", "remoteASN is 0: set the neighbor's AS number")
		}
		peer, _ := v.ref(d, p+".peer", "Device", n.Peer, false).(*Device)
		switch {
		case peer == nil:
		case peer == d:
			v.errorf(d, p+".peer", "neighbor %q peers with its own device: name the device at the other end of the session", n.Name)
		case peer.BGP == nil:
			v.errorf(d, p+".peer", "device %q has no bgp section, so it cannot be a BGP peer: add bgp to it or remove this neighbor", peer.Name)
		case n.RemoteASN != 0 && peer.BGP.ASN != 0 && n.RemoteASN != peer.BGP.ASN:
			v.errorf(d, p+".remoteASN", "remoteASN %d does not match the AS of device %q (%d): set remoteASN: %d", n.RemoteASN, peer.Name, peer.BGP.ASN, peer.BGP.ASN)
		}
		for j, pol := range n.Import {
			v.ref(d, fmt.Sprintf("%s.import[%d]", p, j), "RoutePolicy", pol, true)
		}
		for j, pol := range n.Export {
			v.ref(d, fmt.Sprintf("%s.export[%d]", p, j), "RoutePolicy", pol, true)
		}
		v.nonNegative(d, p+".maxPrefix", n.MaxPrefix)
	}
}

// linkEnd is a resolved link endpoint.
type linkEnd struct {
	dev   *Device
	iface *Interface
}

func (e *linkEnd) String() string { return e.dev.Name + ":" + e.iface.Name }

func (v *validator) link(l *Link) {
	a := v.resolveLinkEnd(l, "a", l.A)
	b := v.resolveLinkEnd(l, "b", l.B)
	v.positive(l, "capacity", float64(l.Capacity), "a link without capacity carries nothing; write e.g. 100Gbps")
	v.nonNegative(l, "cost", l.Cost)
	if a != nil {
		v.useLinkEnd(l, "a", a)
	}
	if a != nil && b != nil && a.dev == b.dev {
		v.errorf(l, "b", "link joins device %q to itself: b must be an interface of another device", a.dev.Name)
		return
	}
	if b != nil {
		v.useLinkEnd(l, "b", b)
	}
	if a != nil && b != nil {
		v.linkSubnets(l, a, b)
	}
}

// resolveLinkEnd resolves "device:interface" written at path of l, or
// reports why it cannot.
func (v *validator) resolveLinkEnd(l *Link, path, ep string) *linkEnd {
	if ep == "" {
		v.errorf(l, path, "%s is empty: write the interface at this end as device:interface", path)
		return nil
	}
	devName, ifName := v.splitLinkEnd(ep)
	if devName == "" || ifName == "" {
		v.errorf(l, path, "%s %q is not device:interface: write e.g. r1:eth0", path, ep)
		return nil
	}
	d, _ := v.ref(l, path, "Device", devName, true).(*Device)
	if d == nil {
		return nil
	}
	i := findInterface(d, ifName)
	if i < 0 {
		v.errorf(l, path, "%s", noInterface(d, ifName))
		return nil
	}
	return &linkEnd{d, &d.Interfaces[i]}
}

// splitLinkEnd splits "device:interface" at the first colon before which a
// device of that name exists (names may hold colons), or else at the first
// colon.
func (v *validator) splitLinkEnd(ep string) (dev, iface string) {
	for i := range len(ep) {
		if ep[i] == ':' && v.s.Get("Device", ep[:i]) != nil {
			return ep[:i], ep[i+1:]
		}
	}
	dev, iface, _ = strings.Cut(ep, ":")
	return dev, iface
}

// useLinkEnd reports an interface that an earlier link already uses.
func (v *validator) useLinkEnd(l *Link, path string, e *linkEnd) {
	key := e.String()
	if prev, used := v.linkEnds[key]; used {
		v.errorf(l, path, "interface %s is already in link %q (at %s): an interface can be in one link only", key, prev.link.Name, prev.link.Source().At(prev.path))
		return
	}
	v.linkEnds[key] = linkUse{l, path}
}

// linkSubnets reports link ends that have addresses of a family but share
// no subnet in it.
func (v *validator) linkSubnets(l *Link, a, b *linkEnd) {
	for _, is4 := range []bool{true, false} {
		pa, pb := addressesOf(a.iface, is4), addressesOf(b.iface, is4)
		if len(pa) == 0 || len(pb) == 0 || sharesSubnet(pa, pb) {
			continue
		}
		v.errorf(l, "b", "the ends of the link are in different subnets: %s has %s, %s has %s; put both ends in one subnet",
			a, joinPrefixes(pa), b, joinPrefixes(pb))
	}
}

func addressesOf(in *Interface, is4 bool) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range in.Addresses {
		if p.IsValid() && p.Addr().Is4() == is4 {
			out = append(out, p)
		}
	}
	return out
}

func sharesSubnet(a, b []netip.Prefix) bool {
	for _, p := range a {
		for _, q := range b {
			if p.Masked() == q.Masked() {
				return true
			}
		}
	}
	return false
}

func joinPrefixes(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ", ")
}

// addressPlace is where an interface address is written.
type addressPlace struct {
	dev  *Device
	path string
	name string // device:interface
}

func (p addressPlace) pos() Pos { return p.dev.Source().At(p.path) }

// interfaceAddresses reports an address on two interfaces, and interface
// subnets that overlap without being equal.
func (v *validator) interfaceAddresses() {
	first := map[netip.Addr]addressPlace{}
	subnets := map[netip.Prefix][]addressPlace{}
	for _, d := range Typed[Device](v.s) {
		for i, in := range d.Interfaces {
			for j, a := range in.Addresses {
				if !a.IsValid() {
					continue
				}
				pl := addressPlace{d, fmt.Sprintf("interfaces[%d].addresses[%d]", i, j), d.Name + ":" + in.Name}
				if prev, dup := first[a.Addr()]; dup {
					v.errorf(d, pl.path, "address %s is also on %s (at %s): an address belongs to one interface", a.Addr(), prev.name, prev.pos())
				} else {
					first[a.Addr()] = pl
				}
				subnets[a.Masked()] = append(subnets[a.Masked()], pl)
			}
		}
	}
	// Sorted, a prefix comes after every prefix that contains it; the stack
	// holds the chain of prefixes containing the current one.
	var stack []netip.Prefix
	for _, p := range slices.SortedFunc(maps.Keys(subnets), netip.Prefix.Compare) {
		for len(stack) > 0 && !stack[len(stack)-1].Overlaps(p) {
			stack = stack[:len(stack)-1]
		}
		if len(stack) > 0 {
			outer := stack[len(stack)-1]
			op := subnets[outer][0]
			for _, pl := range subnets[p] {
				v.errorf(pl.dev, pl.path, "subnet %s of %s overlaps subnet %s of %s (at %s): give both interfaces the same subnet or make the subnets disjoint",
					p, pl.name, outer, op.name, op.pos())
			}
		}
		stack = append(stack, p)
	}
}

func (v *validator) routePolicy(r *RoutePolicy) {
	for i, rule := range r.Rules {
		p := fmt.Sprintf("rules[%d]", i)
		for j, m := range rule.Match.Prefixes {
			v.prefixMatch(r, fmt.Sprintf("%s.match.prefixes[%d]", p, j), m)
		}
		if lp := rule.Set.LocalPref; lp != nil {
			v.nonNegative(r, p+".set.localPref", *lp)
		}
		if med := rule.Set.MED; med != nil {
			v.nonNegative(r, p+".set.med", *med)
		}
		v.nonNegative(r, p+".set.prepend", rule.Set.Prepend)
	}
}

// prefixMatch checks prefix length <= ge <= le <= address length.
func (v *validator) prefixMatch(o Object, p string, m PrefixMatch) {
	v.routePrefix(o, p+".prefix", m.Prefix, true)
	if !m.Prefix.IsValid() {
		return
	}
	lo, hi := m.Prefix.Bits(), m.Prefix.Addr().BitLen()
	of := m.Prefix.String()
	if m.GE != 0 && (m.GE < lo || m.GE > hi) {
		v.errorf(o, p+".ge", "ge %d is out of range: for %s it must be from %d to %d", m.GE, of, lo, hi)
	} else if m.GE != 0 {
		lo, of = m.GE, fmt.Sprintf("%s with ge %d", of, m.GE)
	}
	if m.LE != 0 && (m.LE < lo || m.LE > hi) {
		v.errorf(o, p+".le", "le %d is out of range: for %s it must be from %d to %d", m.LE, of, lo, hi)
	}
}

// protocol reports whether an ACL protocol is valid and whether it has ports.
func protocol(p string) (valid, ports bool) {
	switch p {
	case "", "any", "icmp", "icmpv6":
		return true, false
	case "tcp", "udp":
		return true, true
	}
	n, err := strconv.ParseUint(p, 10, 8)
	return err == nil, err == nil && (n == 6 || n == 17)
}

// validPorts reports whether s is a port "N" or a range "N-M", N <= M.
func validPorts(s string) bool {
	lo, hi, isRange := strings.Cut(s, "-")
	if !isRange {
		hi = lo
	}
	l, err1 := strconv.ParseUint(lo, 10, 16)
	h, err2 := strconv.ParseUint(hi, 10, 16)
	return err1 == nil && err2 == nil && l <= h
}

func (v *validator) acl(a *ACL) {
	for i, r := range a.Rules {
		p := fmt.Sprintf("rules[%d]", i)
		v.routePrefix(a, p+".src", r.Src, false)
		v.routePrefix(a, p+".dst", r.Dst, false)
		if r.Src.IsValid() && r.Dst.IsValid() && r.Src.Addr().Is4() != r.Dst.Addr().Is4() {
			v.errorf(a, p+".dst", "dst %s is %s but src %s is %s: a packet has one family; write one rule per family", r.Dst, family(r.Dst.Addr()), r.Src, family(r.Src.Addr()))
		}
		valid, ports := protocol(r.Protocol)
		if !valid {
			v.errorf(a, p+".protocol", "protocol %q is not valid: use any, tcp, udp, icmp, icmpv6 or a protocol number from 0 to 255%s",
				r.Protocol, didYouMean(r.Protocol, []string{"any", "tcp", "udp", "icmp", "icmpv6"}))
		}
		for _, f := range []struct{ path, val string }{{p + ".srcPorts", r.SrcPorts}, {p + ".dstPorts", r.DstPorts}} {
			switch {
			case f.val == "":
			case !validPorts(f.val):
				v.errorf(a, f.path, "%s %q is not valid: write a port N or a range N-M, with 0 <= N <= M <= 65535", fieldName(f.path), f.val)
			case valid && !ports:
				proto := r.Protocol
				if proto == "" {
					proto = "any"
				}
				v.errorf(a, f.path, "%s needs protocol tcp or udp, not %s: set the protocol or remove the ports", fieldName(f.path), proto)
			}
		}
	}
}

func (v *validator) anycast(a *AnycastPrefix) {
	v.routePrefix(a, "prefix", a.Prefix, true)
	sites := map[string]string{}
	for i, an := range a.Announcements {
		p := fmt.Sprintf("announcements[%d]", i)
		v.ref(a, p+".site", "Site", an.Site, true)
		if prev, dup := sites[an.Site]; dup && an.Site != "" {
			v.errorf(a, p+".site", "site %q is announced twice (first at %s): keep one announcement per site", an.Site, a.Source().At(prev))
		} else {
			sites[an.Site] = p + ".site"
		}
		if d, ok := v.ref(a, p+".device", "Device", an.Device, false).(*Device); ok && an.Site != "" && d.Site != an.Site {
			v.errorf(a, p+".device", "device %q is at site %q, not %q: announce from a device at the site", d.Name, d.Site, an.Site)
		}
		for j, s := range an.WithdrawUnless {
			v.ref(a, fmt.Sprintf("%s.withdrawUnless[%d]", p, j), "Site", s, true)
		}
	}
}

// anycastOverlaps reports anycast prefixes that overlap, once per pair, at
// the later one by name.
func (v *validator) anycastOverlaps() {
	list := Typed[AnycastPrefix](v.s)
	for i, a := range list {
		for _, b := range list[:i] {
			if a.Prefix.IsValid() && b.Prefix.IsValid() && a.Prefix.Overlaps(b.Prefix) {
				v.errorf(a, "prefix", "prefix %s overlaps %s of anycast prefix %q (at %s): anycast prefixes must not overlap",
					a.Prefix, b.Prefix, b.Name, b.Source().At("prefix"))
			}
		}
	}
}

// ---- services ---------------------------------------------------------------

func (v *validator) service(s *Service) {
	v.positive(s, "instanceCapacity", float64(s.InstanceCapacity), "it is the load one instance serves; write e.g. 500rps")
	v.floors(s)
	seen := map[string]string{}
	for i, d := range s.Dependencies {
		p := fmt.Sprintf("dependencies[%d]", i)
		if d.Service == s.Name {
			v.errorf(s, p+".service", "service %q depends on itself: remove this dependency", s.Name)
		} else {
			v.ref(s, p+".service", "Service", d.Service, true)
		}
		if prev, dup := seen[d.Service]; dup && d.Service != "" {
			v.errorf(s, p+".service", "service %q is listed twice in dependencies (first at %s): merge the two entries", d.Service, s.Source().At(prev))
		} else {
			seen[d.Service] = p + ".service"
		}
		if d.Calls() < 0 {
			v.errorf(s, p+".callsPerRequest", "callsPerRequest is %g: it must not be negative", d.Calls())
		}
		v.retry(s, p, d.RetryPolicy)
	}
	if s.HealthCheck != nil {
		v.healthCheck(s, *s.HealthCheck)
	}
	if s.ZoneLosses < 0 || s.ZoneLosses > 2 {
		v.errorf(s, "zoneLosses", "zoneLosses is %d: use 1 (N-1, the default) or 2 (N-2)", s.ZoneLosses)
	}
	if c := s.Crash; c != nil {
		v.positive(s, "crash.overload", float64(c.Overload), "it is how long instances survive overload; write e.g. 60s")
		v.positive(s, "crash.restart", float64(c.Restart), "it is how long a crashed instance takes to serve again; write e.g. 30s")
	}
	if as := s.Autoscaling; as != nil {
		v.nonNegative(s, "autoscaling.min", as.Min)
		v.positive(s, "autoscaling.max", float64(as.Max), "it is the most instances autoscaling may run")
		if as.Max > 0 && as.Min > as.Max {
			v.errorf(s, "autoscaling.min", "min %d is more than max %d: lower min or raise max", as.Min, as.Max)
		}
	}
}

// floors checks that each floor is no larger than the next wider floor that
// is set: perZone <= perRegion <= total.
func (v *validator) floors(s *Service) {
	levels := []struct {
		path  string
		floor Floor
	}{{"floors.perZone", s.Floors.PerZone}, {"floors.perRegion", s.Floors.PerRegion}, {"floors.total", s.Floors.Total}}
	for i, lo := range levels {
		v.nonNegative(s, lo.path+".instances", lo.floor.Instances)
		if n := lo.floor.Instances; n > 0 {
			for _, hi := range levels[i+1:] {
				if m := hi.floor.Instances; m > 0 {
					if n > m {
						v.errorf(s, lo.path+".instances", "%s.instances (%d) is more than %s.instances (%d): a narrower floor cannot exceed a wider one", lo.path, n, hi.path, m)
					}
					break
				}
			}
		}
		if c := lo.floor.Capacity; c > 0 {
			for _, hi := range levels[i+1:] {
				if m := hi.floor.Capacity; m > 0 {
					if c > m {
						v.errorf(s, lo.path+".capacity", "%s.capacity (%s) is more than %s.capacity (%s): a narrower floor cannot exceed a wider one", lo.path, c, hi.path, m)
					}
					break
				}
			}
		}
	}
}

// dependencyCycles reports each cycle of required dependencies that a
// depth-first search closes, as "a → b → a" starting at its first service by
// name, at the dependency that returns to that service.
func (v *validator) dependencyCycles() {
	const (
		unvisited = iota
		onPath
		finished
	)
	state := map[*Service]int{}
	var path []depStep
	var visit func(s *Service)
	visit = func(s *Service) {
		state[s] = onPath
		for i, d := range s.Dependencies {
			t := Lookup[Service](v.s, d.Service)
			if d.Optional || t == nil || t == s {
				continue
			}
			path = append(path, depStep{s, i})
			switch state[t] {
			case onPath:
				start := slices.IndexFunc(path, func(st depStep) bool { return st.svc == t })
				v.cycle(path[start:])
			case unvisited:
				visit(t)
			}
			path = path[:len(path)-1]
		}
		state[s] = finished
	}
	for _, s := range Typed[Service](v.s) {
		if state[s] == unvisited {
			visit(s)
		}
	}
}

// depStep is one dependency taken: svc's dependencies[dep].
type depStep struct {
	svc *Service
	dep int
}

// cycle reports a cycle of steps, the last of which returns to the first.
func (v *validator) cycle(steps []depStep) {
	first := 0
	for i, st := range steps {
		if st.svc.Name < steps[first].svc.Name {
			first = i
		}
	}
	names := make([]string, 0, len(steps)+1)
	for i := range steps {
		names = append(names, steps[(first+i)%len(steps)].svc.Name)
	}
	names = append(names, names[0])
	closing := steps[(first+len(steps)-1)%len(steps)]
	v.errorf(closing.svc, fmt.Sprintf("dependencies[%d].service", closing.dep),
		"dependency cycle %s: a request would wait on itself; remove a dependency or mark one optional: true", strings.Join(names, " → "))
}

func (v *validator) instance(in *Instance) {
	v.ref(in, "service", "Service", in.Service, true)
	v.ref(in, "zone", "Zone", in.Zone, true)
	if in.Capacity == 0 && written(in, "capacity") {
		v.errorf(in, "capacity", "capacity must be more than 0: remove it to use the service's instanceCapacity, or mark the instance down")
	}
}

func (v *validator) loadBalancer(lb *LoadBalancer) {
	v.ref(lb, "region", "Region", lb.Region, false)
	if lb.Capacity == 0 && written(lb, "capacity") {
		v.errorf(lb, "capacity", "capacity must be more than 0: remove it if the load balancer has no limit")
	}
	v.healthCheck(lb, lb.HealthCheck)
	v.listNames(lb, "targets", namesOf(lb.Targets, func(t LBTarget) string { return t.Name }))
	for i, t := range lb.Targets {
		p := fmt.Sprintf("targets[%d]", i)
		v.ref(lb, p+".service", "Service", t.Service, true)
		region := v.ref(lb, p+".region", "Region", t.Region, false)
		if z, ok := v.ref(lb, p+".zone", "Zone", t.Zone, false).(*Zone); ok && region != nil {
			v.zoneInRegion(lb, p+".zone", z, t.Region)
		}
		if t.Weight != nil {
			v.nonNegative(lb, p+".weight", *t.Weight)
		}
	}
}

func (v *validator) healthCheck(o Object, h HealthCheck) {
	v.nonNegative(o, "healthCheck.healthyThreshold", h.HealthyThreshold)
	v.nonNegative(o, "healthCheck.unhealthyThreshold", h.UnhealthyThreshold)
}

func (v *validator) dnsRecord(r *DNSRecord) {
	v.healthCheck(r, r.HealthCheck)
	v.positive(r, "ttl", float64(r.TTL), "resolvers would not cache the answer; write e.g. 60s")
	for i, reg := range r.ServesRegions {
		v.ref(r, fmt.Sprintf("servesRegions[%d]", i), "Region", reg, true)
	}
	v.listNames(r, "answers", namesOf(r.Answers, func(a DNSAnswer) string { return a.Name }))
	primaries := 0
	for i, a := range r.Answers {
		p := fmt.Sprintf("answers[%d]", i)
		v.dnsAnswer(r, p, a)
		switch r.Policy {
		case "latency":
			if a.Region == "" {
				v.errorf(r, p, "answer %q has no region: policy latency sends clients to the answer nearest their region; set region", a.Name)
			}
		case "failover":
			if a.Failover == "" {
				v.errorf(r, p, "answer %q has no failover role: with policy failover set failover: primary or secondary", a.Name)
			}
		case "weighted":
			if a.Weight == nil {
				v.errorf(r, p, "answer %q has no weight: with policy weighted give every answer a weight", a.Name)
			}
		}
		if a.Failover == "primary" {
			primaries++
		}
	}
	switch {
	case (r.Policy == "" || r.Policy == "simple") && len(r.Answers) > 1:
		v.errorf(r, "answers", "a simple record has one answer, this one has %d: keep one, or set policy weighted, failover or latency", len(r.Answers))
	case r.Policy == "failover" && primaries != 1:
		v.errorf(r, "answers", "a failover record needs exactly one primary answer, this one has %d", primaries)
	}
}

func (v *validator) dnsAnswer(r *DNSRecord, p string, a DNSAnswer) {
	v.ref(r, p+".loadBalancer", "LoadBalancer", a.LoadBalancer, false)
	v.ref(r, p+".anycast", "AnycastPrefix", a.Anycast, false)
	v.ref(r, p+".region", "Region", a.Region, false)
	switch targets := countSet(a.LoadBalancer != "", a.Anycast != "", len(a.Values) > 0); {
	case targets == 0:
		v.errorf(r, p, "answer %q is empty: set one of loadBalancer, anycast or values, or remove the answer", a.Name)
	case targets > 1:
		v.errorf(r, p, "answer %q sets more than one of loadBalancer, anycast and values: keep only one", a.Name)
	}
	if a.Weight != nil {
		v.nonNegative(r, p+".weight", *a.Weight)
	}
	if r.Type != "A" && r.Type != "AAAA" {
		return
	}
	for i, val := range a.Values {
		addr, err := netip.ParseAddr(val)
		if want4 := r.Type == "A"; err != nil || addr.Is4() != want4 {
			fam := "IPv6"
			if want4 {
				fam = "IPv4"
			}
			v.errorf(r, fmt.Sprintf("%s.values[%d]", p, i), "value %q is not an %s address: a record of type %s answers with %s addresses", val, fam, r.Type, fam)
		}
	}
}

// retry checks a retry policy written at path (empty for top level).
func (v *validator) retry(o Object, path string, r RetryPolicy) {
	if path != "" {
		path += "."
	}
	if r.Retries < 0 || r.Retries > 10 {
		v.errorf(o, path+"retries", "retries %d is out of range: use 0 to 10 (each retry adds load to a struggling service)", r.Retries)
	}
}

func (v *validator) demand(d *Demand) {
	if d.Client != nil {
		v.retry(d, "client", *d.Client)
	}
	switch {
	case d.DNS == "" && d.Service == "":
		v.errorf(d, "dns", "demand enters nowhere: set dns (a DNS record) or service")
	case d.DNS != "" && d.Service != "":
		v.errorf(d, "service", "demand sets both dns and service: keep only the one where clients enter")
	}
	v.ref(d, "dns", "DNSRecord", d.DNS, false)
	v.ref(d, "service", "Service", d.Service, false)
	regions := map[string]string{}
	for i, o := range d.Origins {
		p := fmt.Sprintf("origins[%d]", i)
		v.ref(d, p+".region", "Region", o.Region, true)
		if prev, dup := regions[o.Region]; dup && o.Region != "" {
			v.errorf(d, p+".region", "region %q has two origins (first at %s): merge them into one", o.Region, d.Source().At(prev))
		} else {
			regions[o.Region] = p + ".region"
		}
		v.positive(d, p+".peak", float64(o.Peak), "remove the origin if it sends no traffic")
	}
	if d.Profile == nil {
		return
	}
	if len(d.Profile) != 24 {
		v.errorf(d, "profile", "profile has %d values, it needs 24: one factor of the peak per hour, from 00:00 to 23:00 UTC", len(d.Profile))
	}
	for i, f := range d.Profile {
		if f < 0 || f > 1 {
			v.errorf(d, fmt.Sprintf("profile[%d]", i), "profile value %g is out of range: each hourly factor is a share of the peak, from 0 to 1", f)
		}
	}
}

// ---- config artifacts and propagation ----------------------------------------

func (v *validator) artifact(a *Artifact) {
	v.ref(a, "consumer", "Service", a.Consumer, true)
	v.ref(a, "propagation", "Propagation", a.Propagation, false)
	v.nonNegative(a, "rows", a.Rows)
	v.nonNegative(a, "limits.maxRows", a.Limits.MaxRows)
}

func (v *validator) propagation(p *Propagation) {
	switch {
	case p.Mode == "waves" && len(p.Waves) == 0:
		v.errorf(p, "mode", "mode waves needs waves: list them, or use mode instant")
	case p.Mode == "instant" && len(p.Waves) > 0:
		v.errorf(p, "waves", "mode instant takes no waves: remove them, or use mode waves")
	}
	v.listNames(p, "waves", namesOf(p.Waves, func(w Wave) string { return w.Name }))
	inWave := map[string]string{}
	for i, w := range p.Waves {
		wp := fmt.Sprintf("waves[%d]", i)
		if len(w.Regions) == 0 {
			v.errorf(p, wp+".regions", "wave %q has no regions: list the regions it reaches, or remove it", w.Name)
		}
		for j, r := range w.Regions {
			rp := fmt.Sprintf("%s.regions[%d]", wp, j)
			v.ref(p, rp, "Region", r, true)
			if prev, dup := inWave[r]; dup && r != "" {
				v.errorf(p, rp, "region %q is already in wave %q: each region belongs to one wave", r, prev)
			} else {
				inWave[r] = w.Name
			}
		}
	}
}

func (v *validator) blastRadiusLimit(b *BlastRadiusLimit) {
	for k := range b.Services {
		v.name(b, "services."+k, "label key", k)
	}
	v.nonNegative(b, "maxObjects", b.MaxObjects)
	limited := b.MaxShareTotal != 0 || b.MaxSharePerRegion != 0 || b.MaxSharePerZone != 0 || b.MaxObjects != 0
	for _, f := range []string{"maxShareTotal", "maxSharePerRegion", "maxSharePerZone", "maxObjects"} {
		limited = limited || written(b, f)
	}
	if !limited {
		v.errorf(b, "name", "blast radius limit %q sets no limit: set maxShareTotal, maxSharePerRegion, maxSharePerZone or maxObjects", b.Name)
	}
}

// ---- policies -------------------------------------------------------------------

func (v *validator) policy(p *Policy) {
	n := 0
	for _, set := range []bool{len(p.Findings) > 0, p.Expression != "", p.Rule != "", p.Reach != nil, p.Isolate != nil, p.AllPairs} {
		if set {
			n++
		}
	}
	if n != 1 {
		v.errorf(p, "", "policy %q must check exactly one of findings, expression, rule, reach, isolate or allPairs (it has %d)", p.Name, n)
	}
	if r := p.Reach; r != nil {
		v.ref(p, "reach.from", "Device", r.From, true)
		v.ref(p, "reach.to", "Device", r.To, true)
	}
	if i := p.Isolate; i != nil {
		v.ref(p, "isolate.from", "Device", i.From, true)
		if !i.Dst.IsValid() {
			v.errorf(p, "isolate.dst", "isolate needs dst: the prefix no packet may reach, e.g. 10.99.0.0/16")
		}
	}
	if t := p.Tolerate; t != nil {
		if p.Reach == nil && p.Isolate == nil && !p.AllPairs {
			v.errorf(p, "tolerate", "tolerate goes with reach, isolate or allPairs: it says under how many failures the intent must hold")
		}
		if t.K < 1 || t.K > 2 {
			v.errorf(p, "tolerate.k", "k is %d: failure sets of 1 or 2 elements are checked", t.K)
		}
		for i, f := range t.Fail {
			if f != "link" && f != "device" && f != "site" {
				v.errorf(p, fmt.Sprintf("tolerate.fail[%d]", i), "cannot fail %q: use link, device or site", f)
			}
		}
	}
	if p.Message != "" && p.Expression == "" {
		v.errorf(p, "message", "message goes with expression: it is what a change that fails the expression is told")
	}
	for i, f := range p.Findings {
		if strings.TrimSpace(f) == "" {
			v.errorf(p, fmt.Sprintf("findings[%d]", i), "empty finding pattern: write e.g. capacity.floor.* or simulation.*")
		}
	}
}
