package routing

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/preflight-sh/preflight/finding"
	"github.com/preflight-sh/preflight/fwd"
	"github.com/preflight-sh/preflight/twin"
)

// topo writes small test twins as YAML: devices with a loopback, links
// with a /31 and a /127 each, BGP sessions on both ends, and any other
// documents. Device i has loopback 10.0.0.i and 2001:db8::i; link k has
// 10.1.k.0/31 and 2001:db8:1:k::/127 (the a end takes the lower address).
// Interfaces are named after the device at the other end.
type topo struct {
	devs   []*tdev
	links  []string
	docs   []string
	v6only bool
}

type tdev struct {
	name, site string
	id, asn    int
	ifaces     []string // YAML flow mappings
	addrs      map[string][2]netip.Addr
	neighbors  []string
	originate  []string
	extra      string // more YAML fields of the device
}

func (t *topo) dev(name string, asn int) *tdev {
	d := &tdev{name: name, site: "s", id: len(t.devs) + 1, asn: asn, addrs: map[string][2]netip.Addr{}}
	v4 := netip.AddrFrom4([4]byte{10, 0, 0, byte(d.id)})
	v6 := netip.MustParseAddr(fmt.Sprintf("2001:db8::%x", d.id))
	d.addrs["lo0"] = [2]netip.Addr{v4, v6}
	d.ifaces = append(d.ifaces, fmt.Sprintf("{name: lo0, addresses: [%s]}", t.addrList(netip.PrefixFrom(v4, 32), netip.PrefixFrom(v6, 128))))
	t.devs = append(t.devs, d)
	return d
}

func (t *topo) get(name string) *tdev {
	for _, d := range t.devs {
		if d.name == name {
			return d
		}
	}
	panic("no device " + name)
}

func (t *topo) addrList(v4, v6 netip.Prefix) string {
	if t.v6only {
		return fmt.Sprintf("%q", v6.String())
	}
	return fmt.Sprintf("%s, %q", v4, v6.String())
}

// link joins a and b with the given IGP cost and returns the link's name.
func (t *topo) link(a, b string, cost int) string {
	k := len(t.links)
	da, db := t.get(a), t.get(b)
	for i, d := range []*tdev{da, db} {
		peer := []string{b, a}[i]
		v4 := netip.AddrFrom4([4]byte{10, 1, byte(k), byte(i)})
		v6 := netip.MustParseAddr(fmt.Sprintf("2001:db8:1:%x::%x", k, i))
		d.addrs[peer] = [2]netip.Addr{v4, v6}
		d.ifaces = append(d.ifaces, fmt.Sprintf("{name: %s, addresses: [%s]}", peer, t.addrList(netip.PrefixFrom(v4, 31), netip.PrefixFrom(v6, 127))))
	}
	name := a + "--" + b
	t.links = append(t.links, fmt.Sprintf("kind: Link\nname: %s\na: %s:%s\nb: %s:%s\ncapacity: 100Gbps\ncost: %d\n", name, a, b, b, a, cost))
	return name
}

// addr returns a device's address on its interface towards peer (or on
// lo0), of the test's family.
func (t *topo) addr(dev, iface string) netip.Addr {
	a := t.get(dev).addrs[iface]
	if t.v6only {
		return a[1]
	}
	return a[0]
}

// session configures a BGP session on both ends: eBGP on the link
// addresses if the devices share a link, else on the loopbacks. optsA are
// extra fields of a's entry, optsB of b's entry.
func (t *topo) session(a, b string, optsA, optsB string) {
	da, db := t.get(a), t.get(b)
	ifA, ifB := b, a
	if _, linked := da.addrs[b]; !linked || da.asn == db.asn {
		ifA, ifB = "lo0", "lo0"
	}
	da.neighbors = append(da.neighbors, fmt.Sprintf("{name: %s, peer: %s, address: %q, remoteASN: %d%s}", b, b, t.addr(b, ifB).String(), db.asn, withComma(optsA)))
	db.neighbors = append(db.neighbors, fmt.Sprintf("{name: %s, peer: %s, address: %q, remoteASN: %d%s}", a, a, t.addr(a, ifA).String(), da.asn, withComma(optsB)))
}

func withComma(s string) string {
	if s == "" {
		return ""
	}
	return ", " + s
}

func (t *topo) files() map[string][]byte {
	var b strings.Builder
	b.WriteString("kind: Region\nname: r\n---\nkind: Zone\nname: z\nregion: r\n")
	var sites []string
	for _, d := range t.devs {
		if !slices.Contains(sites, d.site) {
			sites = append(sites, d.site)
		}
	}
	for _, s := range sites {
		fmt.Fprintf(&b, "---\nkind: Site\nname: %s\ntype: datacenter\nregion: r\nzone: z\n", s)
	}
	for _, d := range t.devs {
		fmt.Fprintf(&b, "---\nkind: Device\nname: %s\nsite: %s\n", d.name, d.site)
		if !t.v6only {
			fmt.Fprintf(&b, "routerID: 10.0.0.%d\n", d.id)
		}
		b.WriteString("interfaces:\n")
		for _, f := range d.ifaces {
			fmt.Fprintf(&b, "  - %s\n", f)
		}
		b.WriteString(d.extra)
		if d.asn != 0 {
			fmt.Fprintf(&b, "bgp:\n  asn: %d\n", d.asn)
			if len(d.originate) > 0 {
				fmt.Fprintf(&b, "  originate: [%s]\n", strings.Join(d.originate, ", "))
			}
			if len(d.neighbors) > 0 {
				b.WriteString("  neighbors:\n")
				for _, n := range d.neighbors {
					fmt.Fprintf(&b, "    - %s\n", n)
				}
			}
		}
	}
	for _, l := range t.links {
		b.WriteString("---\n" + l + "\n")
	}
	for _, d := range t.docs {
		b.WriteString("---\n" + d + "\n")
	}
	return map[string][]byte{"twin.yaml": []byte(b.String())}
}

func (t *topo) load(tb testing.TB) *twin.Snapshot {
	tb.Helper()
	files := t.files()
	s, err := twin.LoadFiles(files)
	if err != nil {
		tb.Fatalf("test twin does not load: %v\n%s", err, files["twin.yaml"])
	}
	return s
}

// withState returns a snapshot in which the object of that kind and name
// has the given state.
func withState(tb testing.TB, s *twin.Snapshot, kind, name string, state twin.State) *twin.Snapshot {
	tb.Helper()
	var o twin.Object
	switch obj := s.Get(kind, name).(type) {
	case *twin.Link:
		c := *obj
		c.State, o = state, &c
	case *twin.Device:
		c := *obj
		c.State, o = state, &c
	case *twin.Site:
		c := *obj
		c.State, o = state, &c
	default:
		tb.Fatalf("no %s %s", kind, name)
	}
	return s.Edit([]twin.Object{o}, nil)
}

// lookup returns the rule of a device for exactly that prefix, or nil.
func lookup(res *Result, dev, prefix string) *fwd.Rule {
	d := res.Network.Devices[dev]
	if d == nil {
		return nil
	}
	p := netip.MustParsePrefix(prefix)
	for i := range d.Rules {
		if d.Rules[i].Prefix == p {
			return &d.Rules[i]
		}
	}
	return nil
}

// routes returns the RIB routes of a device for a prefix.
func routes(res *Result, dev, prefix string) []Route {
	p := netip.MustParsePrefix(prefix)
	var out []Route
	for _, r := range res.RIBs[dev] {
		if r.Prefix == p {
			out = append(out, r)
		}
	}
	return out
}

// bestBGP returns the best BGP route of a device for a prefix, or nil.
func bestBGP(res *Result, dev, prefix string) *Route {
	for _, r := range routes(res, dev, prefix) {
		if r.Protocol == BGP && (strings.HasPrefix(r.Why, "only BGP route") || strings.HasPrefix(r.Why, "best BGP route")) {
			return &r
		}
	}
	return nil
}

// wantRule checks a device's rule for a prefix: its action and ports, or
// that there is none (action "none").
func wantRule(t *testing.T, res *Result, dev, prefix, action string, ports ...string) {
	t.Helper()
	r := lookup(res, dev, prefix)
	switch {
	case r == nil && action == "none":
	case r == nil:
		t.Errorf("%s: no rule for %s, want %s %v", dev, prefix, action, ports)
	case action == "none":
		t.Errorf("%s: rule for %s is %s %v (%s), want none", dev, prefix, r.Action, r.Ports, r.Origin)
	case r.Action.String() != action || !slices.Equal(r.Ports, ports):
		t.Errorf("%s: rule for %s is %s %v (%s), want %s %v", dev, prefix, r.Action, r.Ports, r.Origin, action, ports)
	}
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }

// findingOf returns the finding of a category, or nil.
func findingOf(res *Result, category string) *finding.Finding {
	for i := range res.Findings {
		if res.Findings[i].Category == category {
			return &res.Findings[i]
		}
	}
	return nil
}
