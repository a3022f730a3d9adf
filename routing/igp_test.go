package routing

import (
	"slices"
	"strings"
	"testing"

	"github.com/preflight-sh/preflight/fwd"
)

func TestConnectedAndStatic(t *testing.T) {
	tp := &topo{}
	r1 := tp.dev("r1", 0)
	tp.dev("r2", 0)
	tp.link("r1", "r2", 10)
	r1.ifaces = append(r1.ifaces, "{name: lan0, addresses: [192.168.1.1/24]}")
	r1.extra = `staticRoutes:
  - {prefix: 172.16.0.0/16, nextHop: 10.1.0.1}
  - {prefix: 172.17.0.0/16, drop: true}
  - {prefix: 172.18.0.0/16, interface: lan0}
  - {prefix: 172.19.0.0/16, nextHop: 172.16.5.5}
  - {prefix: 172.20.0.0/16, nextHop: 198.51.100.1}
  - {prefix: 172.21.0.0/16, nextHop: 172.21.0.1}
  - {prefix: 10.0.0.2/32, nextHop: 192.168.1.20, adminDistance: 250}
`
	res := Build(tp.load(t))
	for _, tc := range []struct {
		dev, prefix, action string
		ports               []string
	}{
		{"r1", "10.0.0.1/32", "deliver", nil},                 // loopback
		{"r1", "10.1.0.0/31", "forward", []string{"r2"}},      // link subnet
		{"r1", "10.1.0.0/32", "deliver", nil},                 // own link address
		{"r1", "192.168.1.0/24", "forward", []string{"lan0"}}, // a subnet with no link leaves the network
		{"r1", "192.168.1.1/32", "deliver", nil},              // but its address is delivered
		{"r1", "172.16.0.0/16", "forward", []string{"r2"}},    // next hop on a connected subnet
		{"r1", "172.17.0.0/16", "drop", nil},                  // null route
		{"r1", "172.18.0.0/16", "forward", []string{"lan0"}},  // out of an interface
		{"r1", "172.19.0.0/16", "forward", []string{"r2"}},    // next hop resolved over another static
		{"r1", "172.20.0.0/16", "none", nil},                  // next hop unresolved
		{"r1", "172.21.0.0/16", "none", nil},                  // next hop only resolves over itself
		{"r1", "10.0.0.2/32", "forward", []string{"r2"}},      // IGP (110) beats a static with distance 250
		{"r2", "10.0.0.1/32", "forward", []string{"r1"}},      // IGP
		{"r2", "192.168.1.0/24", "forward", []string{"r1"}},   // IGP carries every interface subnet
		{"r2", "172.16.0.0/16", "none", nil},                  // static routes are not redistributed
		{"r2", "10.1.0.0/31", "forward", []string{"r1"}},      // the link subnet is connected on r2 too
	} {
		wantRule(t, res, tc.dev, tc.prefix, tc.action, tc.ports...)
	}
	for _, tc := range []struct{ prefix, why string }{
		{"172.20.0.0/16", "next hop 198.51.100.1 is unresolved"},
		{"172.21.0.0/16", "next hop 172.21.0.1 is unresolved"},
		{"10.0.0.2/32", "not installed: admin distance 250 > 110 of the igp route"},
	} {
		rs := routes(res, "r1", tc.prefix)
		i := slices.IndexFunc(rs, func(r Route) bool { return r.Protocol == Static })
		if i < 0 || rs[i].Best || !strings.Contains(rs[i].Why, tc.why) {
			t.Errorf("r1 static route %s: %+v, want not best because %q", tc.prefix, rs, tc.why)
		}
	}
	if r := lookup(res, "r1", "172.19.0.0/16"); r == nil || r.Origin != "static via 172.16.5.5" {
		t.Errorf("rule origin: %+v", r)
	}
}

// square is r1 joined to r4 through r2 and through r3 (cost 20 each way)
// and directly (cost 50); r4 is at its own site.
func square() *topo {
	tp := &topo{}
	for _, n := range []string{"r1", "r2", "r3", "r4"} {
		tp.dev(n, 0)
	}
	tp.get("r4").site = "s4"
	tp.link("r1", "r2", 10)
	tp.link("r1", "r3", 10)
	tp.link("r2", "r4", 10)
	tp.link("r3", "r4", 10)
	tp.link("r1", "r4", 50)
	return tp
}

func TestIGP(t *testing.T) {
	base := square().load(t)
	for _, tc := range []struct {
		name  string
		kind  string // object set down, if any
		down  string
		ports []string // r1's ports towards r4's loopback; nil: no route
		cost  int32
		links int
	}{
		{"ECMP over two equal paths", "", "", []string{"r2", "r3"}, 20, 10},
		{"link down reroutes", "Link", "r1--r2", []string{"r3"}, 20, 8},
		{"the other link down", "Link", "r1--r3", []string{"r2"}, 20, 8},
		{"device down", "Device", "r3", []string{"r2"}, 20, 6},
		{"site down takes its device down", "Site", "s4", nil, 0, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := base
			if tc.down != "" {
				s = withState(t, s, tc.kind, tc.down, "down")
			}
			res := Build(s)
			if tc.ports == nil {
				wantRule(t, res, "r1", "10.0.0.4/32", "none")
			} else {
				wantRule(t, res, "r1", "10.0.0.4/32", "forward", tc.ports...)
				rs := routes(res, "r1", "10.0.0.4/32")
				if len(rs) != 1 || rs[0].Protocol != IGP || rs[0].IGPCost != tc.cost || !rs[0].Best || len(rs[0].NextHops) != len(tc.ports) {
					t.Errorf("r1 RIB for 10.0.0.4/32: %+v, want one IGP route of cost %d", rs, tc.cost)
				}
			}
			if len(res.Network.Links) != tc.links {
				t.Errorf("%d directed links, want %d", len(res.Network.Links), tc.links)
			}
			if tc.kind == "Device" {
				if res.Network.Devices[tc.down] != nil || res.RIBs[tc.down] != nil {
					t.Errorf("device %s is down but has a table", tc.down)
				}
			}
		})
	}
	// Both short paths down: the direct link (cost 50) carries the traffic.
	s := withState(t, withState(t, base, "Link", "r1--r2", "down"), "Link", "r1--r3", "down")
	res := Build(s)
	wantRule(t, res, "r1", "10.0.0.4/32", "forward", "r4")
	// The subnet of a down link is gone at both ends.
	wantRule(t, res, "r1", "10.1.0.0/31", "none")
	wantRule(t, res, "r2", "10.1.0.0/31", "none")
}

func TestIGPNextHopAddresses(t *testing.T) {
	res := Build(square().load(t))
	rs := routes(res, "r1", "2001:db8::4/128")
	if len(rs) != 1 {
		t.Fatalf("r1 RIB for r4's IPv6 loopback: %+v", rs)
	}
	want := []NextHop{{Addr: mustAddr("2001:db8:1::1"), Port: "r2"}, {Addr: mustAddr("2001:db8:1:1::1"), Port: "r3"}}
	if !slices.Equal(rs[0].NextHops, want) {
		t.Errorf("next hops %v, want %v", rs[0].NextHops, want)
	}
	if r := lookup(res, "r1", "2001:db8::4/128"); r == nil || r.Origin != "igp cost 20" || r.Priority != 128 || r.Action != fwd.Forward {
		t.Errorf("rule %+v", r)
	}
}

func TestIPv6(t *testing.T) {
	tp := &topo{v6only: true}
	r1 := tp.dev("r1", 65001)
	tp.dev("r2", 65002)
	r3 := tp.dev("r3", 65002)
	tp.link("r1", "r2", 10)
	tp.link("r2", "r3", 10)
	tp.session("r1", "r2", "", "")
	tp.session("r2", "r3", "", "")
	r3.originate = []string{`"2001:db8:3000::/36"`}
	r1.extra = "staticRoutes:\n  - {prefix: \"2001:db8:ffff::/48\", nextHop: \"2001:db8:1::1\"}\n"
	res := Build(tp.load(t))
	if !res.Converged {
		t.Fatal("not converged")
	}
	for _, s := range res.Sessions {
		if s.State != Established {
			t.Errorf("session %s-%s %s: %s", s.A.Device, s.B.Device, s.State, s.Reason)
		}
	}
	wantRule(t, res, "r1", "2001:db8:ffff::/48", "forward", "r2")
	wantRule(t, res, "r2", "2001:db8::3/128", "forward", "r3") // IGP inside AS 65002
	wantRule(t, res, "r1", "2001:db8::3/128", "none")          // no IGP across the AS border
	wantRule(t, res, "r2", "2001:db8:3000::/36", "forward", "r3")
	wantRule(t, res, "r1", "2001:db8:3000::/36", "forward", "r2")
	wantRule(t, res, "r3", "2001:db8:3000::/36", "deliver")
	r := bestBGP(res, "r1", "2001:db8:3000::/36")
	if r == nil || !r.BGP.EBGP || r.BGP.NextHop != mustAddr("2001:db8:1::1") || !slices.Equal(r.BGP.ASPath, []uint32{65002}) || r.AdminDistance != 20 {
		t.Errorf("r1 best route: %+v", r)
	}
	r = bestBGP(res, "r2", "2001:db8:3000::/36")
	if r == nil || r.BGP.EBGP || r.BGP.NextHop != mustAddr("2001:db8::3") || r.IGPCost != 10 || r.AdminDistance != 200 {
		t.Errorf("r2 best route: %+v", r)
	}
}
