package fibdump

import (
	"encoding/binary"
	"github.com/preflight-sh/preflight/internal/datasets"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/preflight-sh/preflight/fwd"
)

// readLines returns the non-empty lines of a file.
func readLines(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.FieldsFunc(string(data), func(r rune) bool { return r == '\n' })
}

func aclCounts(n *fwd.Network) (acls, rules, attached int) {
	for _, d := range n.Devices {
		acls += len(d.ACLs)
		for _, a := range d.ACLs {
			rules += len(a.Rules)
		}
		for _, p := range d.Ports {
			attached += len(p.In) + len(p.Out)
		}
	}
	return
}

func TestDatasetStanford(t *testing.T) {
	dir := filepath.Join(datasets.Dir(t), "stanford")
	n, err := LoadStanford(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(n.Devices) != 16 || n.RuleCount() != 3840 {
		t.Errorf("%d devices, %d rules; want 16 and 3,840", len(n.Devices), n.RuleCount())
	}
	acls, aclRules, attached := aclCounts(n)
	if acls != 29 || aclRules != 686 || attached != 108 {
		t.Errorf("%d ACLs with %d rules attached %d times; want 29, 686, 108 (one per ACL node)", acls, aclRules, attached)
	}
	vlans := 0
	for _, d := range n.Devices {
		vlans += len(d.VLANs)
	}
	if vlans != 1413 {
		t.Errorf("%d VLANs, want 1,413", vlans)
	}

	// Links: the 56 direct router→router edges of topo.txt plus 18 through
	// ACL nodes; together exactly the 74 router links of stanford-noacl.
	direct := 0
	for _, line := range readLines(t, filepath.Join(dir, "topo.txt")) {
		f := strings.Fields(line)
		if isACLNode(f[0]) || isACLNode(f[2]) {
			continue
		}
		direct++
		if !slices.Contains(n.Links, link(f[0], f[1], f[2], f[3])) {
			t.Errorf("direct edge %q is not a link", line)
		}
	}
	if direct != 56 || len(n.Links) != 74 {
		t.Errorf("%d direct edges, %d links; want 56 and 74", direct, len(n.Links))
	}
	noacl, err := LoadStanford(filepath.Join(dir, "stanford-noacl"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(n.Links, noacl.Links) {
		t.Errorf("links differ from stanford-noacl's:\n%v\n%v", n.Links, noacl.Links)
	}

	// Every ACL has as many rules as its acls/ file lists.
	for _, name := range n.DeviceNames() {
		for aclName, acl := range n.Devices[name].ACLs {
			if lines := readLines(t, filepath.Join(dir, "acls", name+"_"+aclName)); len(lines) != len(acl.Rules) {
				t.Errorf("%s ACL %s: %d rules, acls/ file has %d", name, aclName, len(acl.Rules), len(lines))
			}
		}
	}

	// The placement from topo.txt agrees with the informational usage
	// files (as sets: the files do not give the order packets pass them).
	type use struct{ dev, port, dir string }
	fromUsage := map[use][]string{}
	usages, _ := filepath.Glob(filepath.Join(dir, "acls", "*_usage"))
	for _, path := range usages {
		dev := strings.TrimSuffix(filepath.Base(path), "_usage")
		for _, line := range readLines(t, path) {
			f := strings.Fields(line)
			acls := slices.Clone(f[2:])
			slices.Sort(acls)
			fromUsage[use{dev, f[0], f[1]}] = acls
		}
	}
	fromTopo := map[use][]string{}
	for _, name := range n.DeviceNames() {
		for p, pa := range n.Devices[name].Ports {
			for dir, acls := range map[string][]string{"in": pa.In, "out": pa.Out} {
				if len(acls) > 0 {
					acls = slices.Clone(acls)
					slices.Sort(acls)
					fromTopo[use{name, p, dir}] = acls
				}
			}
		}
	}
	if len(fromUsage) != len(fromTopo) {
		t.Errorf("%d port ACL lists from topo.txt, %d in the usage files", len(fromTopo), len(fromUsage))
	}
	for k, v := range fromUsage {
		if !slices.Equal(fromTopo[k], v) {
			t.Errorf("%v: usage file says %v, topo.txt gives %v", k, v, fromTopo[k])
		}
	}
	// The packet order on the chain yoza te1/1 → yozb te1/3.
	if got := n.Devices["yoza_rtr"].Ports["te1/1"].Out; !slices.Equal(got, []string{"178", "168"}) {
		t.Errorf("yoza_rtr te1/1 out: %v", got)
	}
	if got := n.Devices["yozb_rtr"].Ports["te1/3"].In; !slices.Equal(got, []string{"174", "175"}) {
		t.Errorf("yozb_rtr te1/3 in: %v", got)
	}

	if got := ecCount(t, n); got != 494 {
		t.Errorf("%d forwarding equivalence classes, want 494 (datasets/README.md)", got)
	}
}

func TestDatasetStanfordNoACL(t *testing.T) {
	dir := filepath.Join(datasets.Dir(t), "stanford")
	n, err := LoadStanford(filepath.Join(dir, "stanford-noacl"))
	if err != nil {
		t.Fatal(err)
	}
	withACL, err := LoadStanford(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(n.Devices) != 16 || n.RuleCount() != 3840 || len(n.Links) != 74 {
		t.Errorf("%d devices, %d rules, %d links; want 16, 3,840, 74", len(n.Devices), n.RuleCount(), len(n.Links))
	}
	if acls, rules, attached := aclCounts(n); acls+rules+attached != 0 {
		t.Errorf("ACLs in stanford-noacl: %d ACLs, %d rules, %d attachments", acls, rules, attached)
	}
	// The same forwarding rules, in the same order per device (Seq and
	// Origin differ: they are line numbers).
	for _, name := range n.DeviceNames() {
		a, b := n.Devices[name].Rules, withACL.Devices[name].Rules
		if !slices.EqualFunc(a, b, sameRule) {
			t.Errorf("%s: rules differ from stanford/", name)
		}
		if !equalVLANs(n.Devices[name].VLANs, withACL.Devices[name].VLANs) {
			t.Errorf("%s: VLANs differ from stanford/", name)
		}
	}
	if got := ecCount(t, n); got != 494 {
		t.Errorf("%d forwarding equivalence classes, want 494", got)
	}
}

func equalVLANs(a, b map[string][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

func TestDatasetStanfordUpdates(t *testing.T) {
	dir := filepath.Join(datasets.Dir(t), "stanford")
	ups, err := ReadStanfordUpdates(filepath.Join(dir, "updates"))
	if err != nil {
		t.Fatal(err)
	}
	var fwdIns, aclIns, dels int
	for i, u := range ups {
		switch {
		case !u.Insert:
			dels++
		case u.Rule != nil:
			fwdIns++
		default:
			aclIns++
		}
		if u.Line != i+1 {
			t.Fatalf("update %d has line %d", i, u.Line)
		}
		if i < 4526 != u.Insert {
			t.Fatalf("line %d: inserts should be lines 1-4,526 and deletes the rest", u.Line)
		}
	}
	if len(ups) != 9052 || fwdIns != 3840 || aclIns != 686 || dels != 4526 {
		t.Errorf("%d updates: %d fwd inserts, %d acl inserts, %d deletes; want 9,052: 3,840, 686, 4,526", len(ups), fwdIns, aclIns, dels)
	}
	// Replaying the trace on the loaded network deletes everything.
	n, err := LoadStanford(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range ups[4526:] {
		if err := ApplyUpdate(n, u); err != nil {
			t.Fatalf("line %d: %v", u.Line, err)
		}
	}
	if _, rules, _ := aclCounts(n); n.RuleCount() != 0 || rules != 0 {
		t.Errorf("after the trace: %d forwarding rules and %d ACL rules left", n.RuleCount(), rules)
	}
}

func TestDatasetInternet2(t *testing.T) {
	dir := filepath.Join(datasets.Dir(t), "internet2")
	n, err := LoadInternet2(dir, true)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"atla", "chic", "hous", "kans", "losa", "newy32aoa", "salt", "seat", "wash"}
	if !slices.Equal(n.DeviceNames(), want) || n.RuleCount() != 126017 {
		t.Errorf("devices %v, %d rules; want %v and 126,017", n.DeviceNames(), n.RuleCount(), want)
	}
	for _, d := range n.Devices {
		if len(d.Rules) < 13970 || len(d.Rules) > 14054 {
			t.Errorf("%s: %d rules, want 13,970-14,054", d.Name, len(d.Rules))
		}
	}

	// Every line of both topology files is a link; none repeats.
	lines := 0
	for file, count := range map[string]int{"topo.txt": 56, "topo-fib-inferred.txt": 14} {
		l := readLines(t, filepath.Join(dir, file))
		if len(l) != count {
			t.Errorf("%s: %d lines, want %d", file, len(l), count)
		}
		for _, line := range l {
			f := strings.Fields(line)
			if !slices.Contains(n.Links, link(f[0], f[1], f[2], f[3])) {
				t.Errorf("%s: %q is not a link", file, line)
			}
		}
		lines += len(l)
	}
	if len(n.Links) != lines {
		t.Errorf("%d links, want %d", len(n.Links), lines)
	}
	// hous xe-3/1/0 is linked to two peers in topo.txt; both are kept.
	peers := n.Peers()[port("hous", "xe-3/1/0")]
	if !slices.Equal(peers, []fwd.PortRef{port("kans", "ge-6/2/0"), port("losa", "ge-6/0/0")}) {
		t.Errorf("hous xe-3/1/0 peers: %v", peers)
	}

	// wash lists 64.57.24.255/32 twice; the later line wins.
	if got := dupWinner(t, n.Devices["wash"], "64.57.24.255/32"); got != "ge-7/1/0" {
		t.Errorf("wash 64.57.24.255/32 leaves on %s, want ge-7/1/0", got)
	}
	if got := ecCount(t, n); got != 216 {
		t.Errorf("%d forwarding equivalence classes (normalised), want 216", got)
	}

	raw, err := LoadInternet2(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if raw.RuleCount() != 126017 || !slices.Equal(raw.Links, n.Links) {
		t.Errorf("raw: %d rules, links equal: %v", raw.RuleCount(), slices.Equal(raw.Links, n.Links))
	}
	if got := dupWinner(t, raw.Devices["wash"], "64.57.24.255/32"); got != "ge-7/1/0.10" {
		t.Errorf("raw wash 64.57.24.255/32 leaves on %s, want ge-7/1/0.10", got)
	}
	if got := raw.Devices["wash"].VLANs["ge-7/1/0.10"]; !slices.Equal(got, []string{"ge-7/1/0"}) {
		t.Errorf("raw wash ge-7/1/0.10 is on %v, want [ge-7/1/0]", got)
	}
	if got := ecCount(t, raw); got != 407 {
		t.Errorf("%d forwarding equivalence classes (raw port names), want 407", got)
	}
}

// dupWinner checks that device d has exactly two rules for prefix p and
// returns the port of the one that wins (higher Seq).
func dupWinner(t *testing.T, d *fwd.Device, p string) string {
	t.Helper()
	var rules []fwd.Rule
	for _, r := range d.Rules {
		if r.Prefix == pfx(p) {
			rules = append(rules, r)
		}
	}
	if len(rules) != 2 || rules[0].Priority != rules[1].Priority || rules[0].Seq >= rules[1].Seq {
		t.Fatalf("%s rules for %s: %v", d.Name, p, rules)
	}
	return rules[1].Ports[0]
}

// ecCount counts forwarding equivalence classes the way datasets/README.md
// computes its reference figures: the matching rule of highest priority
// (here longest prefix; ties: higher Seq) per device, over all address
// intervals, one class per distinct vector of per-device outputs.
func ecCount(t *testing.T, n *fwd.Network) int {
	t.Helper()
	type segment struct {
		start uint64
		out   string
	}
	names := n.DeviceNames()
	segs := make([][]segment, len(names))
	var all []uint64
	for i, name := range names {
		best := map[netip.Prefix]fwd.Rule{}
		bounds := []uint64{0}
		for _, r := range n.Devices[name].Rules {
			if r.Priority != r.Prefix.Bits() {
				t.Fatalf("%s: rule %v has priority %d, not its prefix length", name, r.Prefix, r.Priority)
			}
			if b, ok := best[r.Prefix]; !ok || r.Seq > b.Seq {
				best[r.Prefix] = r
			}
			lo := uint64(binary.BigEndian.Uint32(r.Prefix.Addr().AsSlice()))
			bounds = append(bounds, lo, lo+1<<(32-r.Prefix.Bits()))
		}
		slices.Sort(bounds)
		bounds = slices.Compact(bounds)
		if bounds[len(bounds)-1] == 1<<32 {
			bounds = bounds[:len(bounds)-1]
		}
		for _, b := range bounds {
			var a [4]byte
			binary.BigEndian.PutUint32(a[:], uint32(b))
			out := "no route"
			for l := 32; l >= 0; l-- {
				if r, ok := best[netip.PrefixFrom(netip.AddrFrom4(a), l).Masked()]; ok {
					out = r.Action.String() + " " + strings.Join(r.Ports, ",")
					break
				}
			}
			segs[i] = append(segs[i], segment{b, out})
		}
		all = append(all, bounds...)
	}
	slices.Sort(all)
	all = slices.Compact(all)
	classes := map[string]bool{}
	pos := make([]int, len(names))
	for _, b := range all {
		var key strings.Builder
		for i := range names {
			for pos[i]+1 < len(segs[i]) && segs[i][pos[i]+1].start <= b {
				pos[i]++
			}
			key.WriteString(segs[i][pos[i]].out)
			key.WriteByte(0)
		}
		classes[key.String()] = true
	}
	return len(classes)
}

// TestDatasetLoad checks format detection on the real directories.
func TestDatasetLoad(t *testing.T) {
	root := datasets.Dir(t)
	for dir, want := range map[string]string{
		"stanford":                FormatStanford,
		"stanford/stanford-noacl": FormatStanford,
		"internet2":               FormatInternet2,
	} {
		_, format, err := Load(filepath.Join(root, dir))
		if err != nil || format != want {
			t.Errorf("%s: format %q, error %v; want %s", dir, format, err, want)
		}
	}
}
