package tracer

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/preflight-sh/preflight/fwd"
)

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }

func pkt(dst string) fwd.Packet {
	return fwd.Packet{Src: netip.MustParseAddr("10.9.9.9"), Dst: netip.MustParseAddr(dst), Proto: 6, SrcPort: 40000, DstPort: 443}
}

// line builds a—b—c with a /24 behind c, plus the given extra rules.
func line() *fwd.Network {
	n := &fwd.Network{Devices: map[string]*fwd.Device{
		"a": {Name: "a", Rules: []fwd.Rule{{Prefix: pfx("10.0.3.0/24"), Priority: 24, Ports: []string{"p1"}}}},
		"b": {Name: "b", Rules: []fwd.Rule{{Prefix: pfx("10.0.3.0/24"), Priority: 24, Ports: []string{"p2"}}}},
		"c": {Name: "c", Rules: []fwd.Rule{{Prefix: pfx("10.0.3.0/24"), Priority: 24, Action: fwd.Deliver}}},
	}}
	link := func(a, pa, b, pb string) {
		n.Links = append(n.Links, fwd.Link{From: fwd.PortRef{Device: a, Port: pa}, To: fwd.PortRef{Device: b, Port: pb}},
			fwd.Link{From: fwd.PortRef{Device: b, Port: pb}, To: fwd.PortRef{Device: a, Port: pa}})
	}
	link("a", "p1", "b", "p1")
	link("b", "p2", "c", "p1")
	return n
}

func TestTrace(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(n *fwd.Network)
		dst   string
		fates []string
	}{
		{"delivered", nil, "10.0.3.7", []string{"a[p1] → b[p2] → c: delivered"}},
		{"no route", nil, "10.0.4.7", []string{"a: no-route"}},
		{"null route wins by priority", func(n *fwd.Network) {
			n.Devices["b"].Rules = append(n.Devices["b"].Rules, fwd.Rule{Prefix: pfx("10.0.3.0/25"), Priority: 25, Action: fwd.Drop})
		}, "10.0.3.7", []string{"a[p1] → b: null-routed"}},
		{"later rule wins at equal priority", func(n *fwd.Network) {
			n.Devices["b"].Rules = append(n.Devices["b"].Rules, fwd.Rule{Prefix: pfx("10.0.3.0/24"), Priority: 24, Seq: 1, Action: fwd.Drop})
		}, "10.0.3.7", []string{"a[p1] → b: null-routed"}},
		{"exits through an unlinked port", func(n *fwd.Network) {
			n.Devices["b"].Rules[0].Ports = []string{"up"}
		}, "10.0.3.7", []string{"a[p1] → b[up]: exited"}},
		{"ecmp takes both branches", func(n *fwd.Network) {
			n.Devices["a"].Rules[0].Ports = []string{"p1", "up"}
		}, "10.0.3.7", []string{"a[p1] → b[p2] → c: delivered", "a[up]: exited"}},
		{"loop", func(n *fwd.Network) {
			n.Devices["b"].Rules[0].Ports = []string{"p1"}
			n.Devices["a"].Rules = append(n.Devices["a"].Rules, fwd.Rule{Prefix: pfx("10.0.3.0/24"), Priority: 24, Seq: 1, Ports: []string{"p1"}})
		}, "10.0.3.7", []string{"a[p1] → b[p1]: same-port"}},
		{"inbound acl denies", func(n *fwd.Network) {
			n.Devices["b"].ACLs = map[string]*fwd.ACL{"edge": {Name: "edge", Rules: []fwd.ACLRule{
				{Permit: false, Priority: 10, Proto: fwd.AnyProto, SrcPort: fwd.AnyPort, DstPort: fwd.Range{Lo: 443, Hi: 443}, Text: "deny 443"},
				{Permit: true, Priority: 1, Proto: fwd.AnyProto, SrcPort: fwd.AnyPort, DstPort: fwd.AnyPort, Text: "permit any"},
			}}}
			n.Devices["b"].Ports = map[string]fwd.PortACLs{"p1": {In: []string{"edge"}}}
		}, "10.0.3.7", []string{"a[p1] → b: denied-in"}},
		{"outbound acl with no match denies", func(n *fwd.Network) {
			n.Devices["b"].ACLs = map[string]*fwd.ACL{"out": {Name: "out", Rules: []fwd.ACLRule{
				{Permit: true, Priority: 1, Proto: fwd.Range{Lo: 17, Hi: 17}, SrcPort: fwd.AnyPort, DstPort: fwd.AnyPort},
			}}}
			n.Devices["b"].Ports = map[string]fwd.PortACLs{"p2": {Out: []string{"out"}}}
		}, "10.0.3.7", []string{"a[p1] → b[p2]: denied-out"}},
		{"vlan floods all members but the incoming port", func(n *fwd.Network) {
			n.Devices["b"].Rules[0].Ports = []string{"vlan7"}
			n.Devices["b"].VLANs = map[string][]string{"vlan7": {"p1", "p2", "p3"}}
		}, "10.0.3.7", []string{"a[p1] → b[p2] → c: delivered", "a[p1] → b[p3]: exited"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := line()
			if c.edit != nil {
				c.edit(n)
			}
			paths, err := Trace(n, "a", "", pkt(c.dst))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range paths {
				got = append(got, p.String())
				if p.Why == "" {
					t.Errorf("path %s has no explanation", p)
				}
			}
			if strings.Join(got, "\n") != strings.Join(c.fates, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(c.fates, "\n"))
			}
		})
	}
}

func TestRealLoop(t *testing.T) {
	n := line()
	// b sends 10.0.3.0/24 back towards a through a second link a.p2—b.p3,
	// and a forwards it to b again: a cycle a→b→a→b.
	n.Links = append(n.Links,
		fwd.Link{From: fwd.PortRef{Device: "b", Port: "p3"}, To: fwd.PortRef{Device: "a", Port: "p2"}},
		fwd.Link{From: fwd.PortRef{Device: "a", Port: "p2"}, To: fwd.PortRef{Device: "b", Port: "p3"}})
	n.Devices["b"].Rules[0].Ports = []string{"p3"}
	paths, err := Trace(n, "a", "", pkt("10.0.3.1"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != 1 || paths[0].Fate != Loop || paths[0].String() != "a[p1] → b[p3] → a[p1]: loop" {
		t.Fatalf("got %v", paths)
	}
}
