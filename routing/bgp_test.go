package routing

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/preflight-sh/preflight/finding"
)

const (
	permitAll  = "kind: RoutePolicy\nname: permit-all\nrules:\n  - {action: permit}"
	preferHigh = "kind: RoutePolicy\nname: prefer\nrules:\n  - {action: permit, set: {localPref: 200}}"
)

func TestLocalPrefBeatsPathLength(t *testing.T) {
	tp := &topo{docs: []string{preferHigh, "kind: RoutePolicy\nname: prepend2\nrules:\n  - {action: permit, set: {prepend: 2}}"}}
	tp.dev("us", 65000)
	tp.dev("p1", 65001)
	tp.dev("p2", 65002)
	o := tp.dev("o", 65009)
	o.originate = []string{"203.0.113.0/24"}
	for _, l := range [][2]string{{"us", "p1"}, {"us", "p2"}, {"p1", "o"}, {"p2", "o"}} {
		tp.link(l[0], l[1], 10)
	}
	tp.session("us", "p1", "", "")
	tp.session("us", "p2", "import: [prefer]", "")
	tp.session("p1", "o", "", "")
	tp.session("p2", "o", "", "export: [prepend2]")
	res := Build(tp.load(t))
	wantRule(t, res, "us", "203.0.113.0/24", "forward", "p2")
	best := bestBGP(res, "us", "203.0.113.0/24")
	if best == nil || best.BGP.From != "p2" || !slices.Equal(best.BGP.ASPath, []uint32{65002, 65009, 65009, 65009}) || best.Why != "best BGP route: highest local-pref 200" {
		t.Errorf("best route %+v", best)
	}
	rs := routes(res, "us", "203.0.113.0/24")
	if len(rs) != 2 || rs[1].BGP.From != "p1" || rs[1].Best || rs[1].Why != "lost: local-pref 100 < 200 of the route from p2" {
		t.Errorf("RIB %+v", rs)
	}
	if r := lookup(res, "us", "203.0.113.0/24"); r.Origin != "bgp via p2 localPref 200" {
		t.Errorf("origin %q", r.Origin)
	}
	// Without the preference, the shorter path wins.
	if best := bestBGP(res, "p1", "203.0.113.0/24"); best == nil || best.BGP.From != "o" {
		t.Errorf("p1 best route %+v", best)
	}
}

// TestRouteLeak: a customer with a second provider re-advertises that
// provider's route to us; our import policy prefers customer routes, so
// traffic to the Internet prefix goes through the customer, unless the
// customer's export policy only lets its own prefix out.
func TestRouteLeak(t *testing.T) {
	customerOut := "kind: RoutePolicy\nname: customer-out\nrules:\n  - {match: {prefixes: [{prefix: 198.51.100.0/24}]}, action: permit}\n  - {action: deny}"
	for _, tc := range []struct {
		name, export string
		via          string
	}{
		{"filtered", "export: [customer-out]", "t"},
		{"leak", "", "c"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tp := &topo{docs: []string{preferHigh, customerOut}}
			tp.dev("us", 65000)
			tp.dev("t", 64500)
			c := tp.dev("c", 65100)
			tp.dev("t2", 64501)
			i := tp.dev("i", 64999)
			i.originate = []string{"192.0.2.0/24"}
			c.originate = []string{"198.51.100.0/24"}
			for _, l := range [][2]string{{"us", "t"}, {"us", "c"}, {"c", "t2"}, {"t2", "i"}, {"t", "i"}} {
				tp.link(l[0], l[1], 10)
				tp.session(l[0], l[1], "", "")
			}
			tp.get("us").neighbors[1] = strings.Replace(tp.get("us").neighbors[1], "}", ", import: [prefer]}", 1)
			tp.get("c").neighbors[0] = strings.Replace(tp.get("c").neighbors[0], "}", withComma(tc.export)+"}", 1)
			res := Build(tp.load(t))
			wantRule(t, res, "us", "192.0.2.0/24", "forward", tc.via)
			wantRule(t, res, "us", "198.51.100.0/24", "forward", "c")
			best := bestBGP(res, "us", "192.0.2.0/24")
			if tc.via == "c" && (best.BGP.LocalPref != 200 || !slices.Equal(best.BGP.ASPath, []uint32{65100, 64501, 64999})) {
				t.Errorf("leaked route %+v", best.BGP)
			}
		})
	}
}

func TestMaxPrefix(t *testing.T) {
	for _, tc := range []struct {
		max      int
		state    SessionState
		received int // routes us holds from c
	}{
		{3, TornDownMaxPrefix, 0},
		{5, Established, 5},
	} {
		t.Run(fmt.Sprint(tc.max), func(t *testing.T) {
			tp := &topo{}
			us := tp.dev("us", 65000)
			c := tp.dev("c", 65100)
			us.originate = []string{"10.200.0.0/16"}
			c.originate = []string{"203.0.113.0/24", "198.51.100.0/24", "192.0.2.0/24", "198.18.0.0/24", "198.19.0.0/24"}
			tp.link("us", "c", 10)
			tp.session("us", "c", fmt.Sprintf("maxPrefix: %d", tc.max), "")
			res := Build(tp.load(t))
			if !res.Converged {
				t.Fatal("not converged")
			}
			s := res.Sessions[0] // A is c, B is us
			if s.State != tc.state || s.B.Device != "us" || s.B.Received != 5 || s.B.MaxPrefix != tc.max || s.A.Received != 1 {
				t.Errorf("session %+v", s)
			}
			n := 0
			for _, r := range res.RIBs["us"] {
				if r.Protocol == BGP && r.BGP.From == "c" {
					n++
				}
			}
			if n != tc.received {
				t.Errorf("us holds %d routes from c, want %d", n, tc.received)
			}
			f := findingOf(res, "routing.max-prefix")
			if tc.state == Established {
				wantRule(t, res, "c", "10.200.0.0/16", "forward", "us")
				if f != nil {
					t.Errorf("finding %+v", f)
				}
				return
			}
			wantRule(t, res, "c", "10.200.0.0/16", "none") // the other direction is withdrawn too
			wantRule(t, res, "us", "203.0.113.0/24", "none")
			if f == nil || f.Severity != finding.Critical || f.Evidence.Figures[0].Value != 5 || f.Evidence.Figures[1].Value != 3 ||
				f.Objects[0].Name != "us" || !strings.Contains(f.Message, "received 5 prefixes, over its max-prefix 3") {
				t.Errorf("finding %+v", f)
			}
			if !strings.Contains(s.Reason, "us received 5 prefixes from c") {
				t.Errorf("reason %q", s.Reason)
			}
		})
	}
}

func TestAnycastWithdrawal(t *testing.T) {
	tp := &topo{docs: []string{`kind: AnycastPrefix
name: dns
prefix: 203.0.113.0/24
announcements:
  - {site: pop, device: e, withdrawUnless: [dc1]}`}}
	e := tp.dev("e", 65000)
	e.site = "pop"
	tp.dev("x", 65000).site = "core"
	tp.dev("d", 65000).site = "dc1"
	tp.link("e", "x", 10)
	tp.link("x", "d", 10)
	tp.session("e", "x", "", "")
	base := tp.load(t)
	for _, tc := range []struct {
		name, kind, down string
		announced        bool
	}{
		{"dc reachable", "", "", true},
		{"dc cut off", "Link", "x--d", false},
		{"dc device down", "Device", "d", false},
		{"dc site down", "Site", "dc1", false},
		{"another link down", "Link", "e--x", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := base
			if tc.down != "" {
				s = withState(t, s, tc.kind, tc.down, "down")
			}
			res := Build(s)
			f := findingOf(res, "routing.anycast-withdrawn")
			if tc.announced {
				wantRule(t, res, "x", "203.0.113.0/24", "forward", "e")
				wantRule(t, res, "e", "203.0.113.0/24", "deliver")
				if f != nil {
					t.Errorf("finding %+v", f)
				}
				return
			}
			wantRule(t, res, "x", "203.0.113.0/24", "none")
			wantRule(t, res, "e", "203.0.113.0/24", "none")
			if f == nil || f.ID != "routing.anycast-withdrawn/dns/e" || len(f.Evidence.Lines) == 0 {
				t.Errorf("finding %+v", f)
			}
		})
	}
}

func TestEBGPOverIBGP(t *testing.T) {
	tp := &topo{}
	tp.dev("a", 65000)
	tp.dev("b", 65000)
	tp.dev("n1", 65001).originate = []string{"203.0.113.0/24"}
	tp.dev("n2", 65002).originate = []string{"203.0.113.0/24"}
	tp.link("a", "b", 10)
	tp.link("a", "n1", 10)
	tp.link("b", "n2", 10)
	tp.session("a", "b", "", "")
	tp.session("a", "n1", "", "")
	tp.session("b", "n2", "", "")
	res := Build(tp.load(t))
	for dev, via := range map[string]string{"a": "n1", "b": "n2"} {
		wantRule(t, res, dev, "203.0.113.0/24", "forward", via)
		best := bestBGP(res, dev, "203.0.113.0/24")
		if best == nil || best.BGP.From != via || best.Why != "best BGP route: eBGP over iBGP" || best.AdminDistance != 20 || !best.Best {
			t.Errorf("%s best route %+v", dev, best)
		}
		rs := routes(res, dev, "203.0.113.0/24")
		if len(rs) != 2 || rs[1].AdminDistance != 200 || !strings.HasPrefix(rs[1].Why, "lost: iBGP route") {
			t.Errorf("%s RIB %+v", dev, rs)
		}
	}
}

func TestASPathLoop(t *testing.T) {
	tp := &topo{}
	tp.dev("a", 65001).originate = []string{"203.0.113.0/24"}
	tp.dev("b", 65002)
	tp.dev("c", 65001)
	tp.link("a", "b", 10)
	tp.link("b", "c", 10)
	tp.session("a", "b", "", "")
	tp.session("b", "c", "", "")
	res := Build(tp.load(t))
	wantRule(t, res, "b", "203.0.113.0/24", "forward", "a")
	wantRule(t, res, "c", "203.0.113.0/24", "none")
	for _, s := range res.Sessions {
		if s.A.Device == "b" && s.B.Device == "c" && (s.B.Received != 0 || s.A.Received != 0) {
			t.Errorf("session b-c %+v: the looping route is dropped, not counted", s)
		}
	}
}

func TestExportPolicyDeny(t *testing.T) {
	tp := &topo{docs: []string{"kind: RoutePolicy\nname: no-test-net\nrules:\n  - {match: {prefixes: [{prefix: 203.0.113.0/24, le: 32}]}, action: deny}\n  - {action: permit}"}}
	tp.dev("a", 65001).originate = []string{"203.0.113.0/24", "203.0.113.128/25", "198.51.100.0/24"}
	tp.dev("b", 65002)
	tp.link("a", "b", 10)
	tp.session("a", "b", "export: [no-test-net]", "")
	res := Build(tp.load(t))
	wantRule(t, res, "b", "198.51.100.0/24", "forward", "a")
	wantRule(t, res, "b", "203.0.113.0/24", "none")
	wantRule(t, res, "b", "203.0.113.128/25", "none")
	if s := res.Sessions[0]; s.B.Received != 1 || s.B.Accepted != 1 {
		t.Errorf("session %+v", s)
	}
}

func TestImportPolicyMatches(t *testing.T) {
	tp := &topo{docs: []string{`kind: RoutePolicy
name: in
rules:
  - {match: {asPath: "^65002 65003$", prefixes: [{prefix: 198.51.100.0/24}]}, action: permit, set: {localPref: 300, addCommunities: ["65001:3"]}}
  - {match: {communities: ["65003:1"]}, action: deny}
  - {match: {prefixes: [{prefix: 10.0.0.0/8, ge: 16, le: 24}]}, action: permit, set: {med: 7}}
  - {action: deny}`, "kind: RoutePolicy\nname: tag\nrules:\n  - {match: {prefixes: [{prefix: 192.0.2.0/24}]}, action: permit, set: {addCommunities: [\"65003:1\"]}}\n  - {action: permit}"}}
	tp.dev("a", 65001)
	tp.dev("b", 65002).originate = []string{"10.50.0.0/16", "10.60.0.0/25", "10.70.0.0/24"}
	tp.dev("c", 65003).originate = []string{"198.51.100.0/24", "192.0.2.0/24"}
	tp.link("a", "b", 10)
	tp.link("b", "c", 10)
	tp.session("a", "b", "import: [in]", "")
	tp.session("b", "c", "", "export: [tag]")
	res := Build(tp.load(t))
	for prefix, want := range map[string]string{
		"198.51.100.0/24": "localPref 300", // AS path 65002 65003
		"192.0.2.0/24":    "",              // tagged 65003:1 by c
		"10.50.0.0/16":    "med 7",
		"10.70.0.0/24":    "med 7",
		"10.60.0.0/25":    "", // too long for le 24: denied
	} {
		best := bestBGP(res, "a", prefix)
		switch {
		case want == "" && best != nil:
			t.Errorf("%s accepted: %+v", prefix, best.BGP)
		case want == "":
		case best == nil:
			t.Errorf("%s denied", prefix)
		case want == "med 7" && (best.BGP.MED != 7 || best.BGP.LocalPref != 100):
			t.Errorf("%s: %+v", prefix, best.BGP)
		case want == "localPref 300" && (best.BGP.LocalPref != 300 || !slices.Contains(best.BGP.Communities, "65001:3")):
			t.Errorf("%s: %+v", prefix, best.BGP)
		}
	}
	if s := res.Sessions[0]; s.A.Received != 5 || s.A.Accepted != 3 {
		t.Errorf("session a-b %+v", s)
	}
}

func TestRouteReflection(t *testing.T) {
	for _, rr := range []bool{true, false} {
		t.Run(fmt.Sprint("reflector ", rr), func(t *testing.T) {
			tp := &topo{}
			tp.dev("rr", 65000)
			tp.dev("c1", 65000).originate = []string{"203.0.113.0/24"}
			tp.dev("c2", 65000)
			tp.link("c1", "rr", 10)
			tp.link("c2", "rr", 10)
			opt := ""
			if rr {
				opt = "routeReflectorClient: true"
			}
			tp.session("rr", "c1", opt, "")
			tp.session("rr", "c2", opt, "")
			res := Build(tp.load(t))
			if !rr {
				wantRule(t, res, "c2", "203.0.113.0/24", "none")
				return
			}
			wantRule(t, res, "c2", "203.0.113.0/24", "forward", "rr")
			best := bestBGP(res, "c2", "203.0.113.0/24")
			if best == nil || best.BGP.NextHop != mustAddr("10.0.0.2") || !slices.Equal(best.BGP.ClusterList, []string{"rr"}) || best.BGP.Originator != "c1" || best.IGPCost != 20 {
				t.Errorf("reflected route %+v", best)
			}
			// c1 does not take its own route back.
			if rs := routes(res, "c1", "203.0.113.0/24"); len(rs) != 1 {
				t.Errorf("c1 RIB %+v", rs)
			}
		})
	}
}

func TestSessionStates(t *testing.T) {
	for _, tc := range []struct {
		name   string
		edit   func(tp *topo)
		down   string // link set down
		state  SessionState
		reason string
		misc   bool // a misconfiguration finding
	}{
		{"established", nil, "", Established, "", false},
		{"no reciprocal entry", func(tp *topo) { tp.get("b").neighbors = nil }, "", SessionDown, "misconfigured: b has no neighbor entry for a; a session needs one on both ends", true},
		{"configured down", func(tp *topo) {
			tp.get("b").neighbors[0] = strings.Replace(tp.get("b").neighbors[0], "}", ", state: down}", 1)
		}, "", SessionDown, "neighbor a of b is configured down", false},
		{"wrong address", func(tp *topo) {
			tp.get("a").neighbors[0] = strings.Replace(tp.get("a").neighbors[0], "10.0.0.2", "10.0.0.3", 1)
		}, "", SessionDown, "misconfigured: address 10.0.0.3 of neighbor b of a is not an address of b", true},
		{"no IGP path", nil, "a--b", SessionDown, "no IGP path between a and b: iBGP needs one", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tp := &topo{}
			tp.dev("a", 65000)
			tp.dev("b", 65000)
			tp.dev("x", 0)
			tp.link("a", "b", 10)
			tp.session("a", "b", "", "")
			if tc.edit != nil {
				tc.edit(tp)
			}
			s := tp.load(t)
			if tc.down != "" {
				s = withState(t, s, "Link", tc.down, "down")
			}
			res := Build(s)
			got := res.Sessions[0]
			if got.State != tc.state || got.Reason != tc.reason {
				t.Errorf("session %+v, want %s %q", got, tc.state, tc.reason)
			}
			if f := findingOf(res, "routing.session-misconfigured"); (f != nil) != tc.misc {
				t.Errorf("finding %+v", f)
			}
		})
	}
}

func TestExternalSessions(t *testing.T) {
	tp := &topo{docs: []string{"kind: RoutePolicy\nname: out\nrules:\n  - {match: {prefixes: [{prefix: 203.0.113.0/24}]}, action: permit}\n  - {action: deny}"}}
	a := tp.dev("a", 65000)
	a.ifaces = append(a.ifaces, "{name: transit, addresses: [192.0.2.1/31]}")
	a.originate = []string{"203.0.113.0/24", "198.51.100.0/24"}
	a.neighbors = []string{
		"{name: transit, address: 192.0.2.0, remoteASN: 64500, export: [out]}",
		"{name: nowhere, address: 198.18.0.1, remoteASN: 64501}",
	}
	res := Build(tp.load(t))
	want := []struct {
		state    SessionState
		received int
	}{{Established, 1}, {SessionDown, 0}}
	for i, s := range res.Sessions {
		if s.State != want[i].state || s.B.Received != want[i].received || s.B.Device != "" || !s.EBGP {
			t.Errorf("session %d: %+v", i, s)
		}
	}
	if r := res.Sessions[1].Reason; r != "a has no connected, static or IGP route to 198.18.0.1" {
		t.Errorf("reason %q", r)
	}
}

// badGadget is the classic policy configuration with no stable state:
// three ASes around an origin each prefer the route through their
// clockwise neighbor over their own direct route, and accept nothing else.
func badGadget(t *testing.T, ring int) *topo {
	tp := &topo{}
	tp.dev("o", 65000).originate = []string{"203.0.113.0/24"}
	name := func(i int) string { return fmt.Sprintf("n%d", i%ring+1) }
	for i := range ring {
		tp.dev(name(i), 65001+i)
		tp.link("o", name(i), 10)
		tp.docs = append(tp.docs, fmt.Sprintf("kind: RoutePolicy\nname: via-%s\nrules:\n  - {match: {asPath: \"^%d 65000$\"}, action: permit, set: {localPref: 200}}\n  - {action: deny}", name(i+1), 65001+(i+1)%ring))
	}
	tp.docs = append(tp.docs, "kind: RoutePolicy\nname: deny-all\nrules:\n  - {action: deny}")
	for i := range ring {
		tp.session(name(i), "o", "", "")
	}
	for i := range ring {
		tp.link(name(i), name(i+1), 10)
		// name(i) takes the route of name(i+1) through o; name(i+1) takes
		// nothing from name(i).
		tp.session(name(i), name(i+1), "import: [via-"+name(i+1)+"]", "import: [deny-all]")
	}
	return tp
}

func TestBadGadget(t *testing.T) {
	start := time.Now()
	res := Build(badGadget(t, 3).load(t))
	if res.Converged {
		t.Fatal("bad gadget converged")
	}
	if el := time.Since(start); el > 2*time.Second || res.Iterations > 20 {
		t.Errorf("took %v and %d rounds", el, res.Iterations)
	}
	f := findingOf(res, "routing.no-convergence")
	if f == nil || f.Severity != finding.Critical || !strings.Contains(f.Message, "203.0.113.0/24") || len(f.Objects) != 3 {
		t.Fatalf("finding %+v", f)
	}
	if !strings.Contains(f.Evidence.Lines[0], "repeats") || !strings.Contains(f.Evidence.Lines[1], "203.0.113.0/24: best route changes at n1") {
		t.Errorf("evidence %q", f.Evidence.Lines)
	}
}

// TestDisagree: two ASes that each prefer the route through the other have
// two stable states; the exchange must settle in one of them.
func TestDisagree(t *testing.T) {
	tp := &topo{docs: []string{
		"kind: RoutePolicy\nname: via-n2\nrules:\n  - {match: {asPath: \"^65002 65000$\"}, action: permit, set: {localPref: 200}}\n  - {action: deny}",
		"kind: RoutePolicy\nname: via-n1\nrules:\n  - {match: {asPath: \"^65001 65000$\"}, action: permit, set: {localPref: 200}}\n  - {action: deny}",
	}}
	tp.dev("o", 65000).originate = []string{"203.0.113.0/24"}
	tp.dev("n1", 65001)
	tp.dev("n2", 65002)
	for _, l := range [][2]string{{"o", "n1"}, {"o", "n2"}, {"n1", "n2"}} {
		tp.link(l[0], l[1], 10)
	}
	tp.session("o", "n1", "", "")
	tp.session("o", "n2", "", "")
	tp.session("n1", "n2", "import: [via-n2]", "import: [via-n1]")
	res := Build(tp.load(t))
	if !res.Converged {
		t.Fatalf("disagree did not converge: %+v", res.Findings)
	}
	// n1 decides first: its direct route, which n2 then prefers.
	wantRule(t, res, "n1", "203.0.113.0/24", "forward", "o")
	wantRule(t, res, "n2", "203.0.113.0/24", "forward", "n1")
}

func TestInvalidASPathRegexp(t *testing.T) {
	tp := &topo{docs: []string{"kind: RoutePolicy\nname: bad\nrules:\n  - {match: {asPath: \"(\"}, action: permit}\n  - {action: deny}"}}
	tp.dev("a", 65001).originate = []string{"203.0.113.0/24"}
	tp.dev("b", 65002)
	tp.link("a", "b", 10)
	tp.session("a", "b", "", "import: [bad]")
	res := Build(tp.load(t))
	wantRule(t, res, "b", "203.0.113.0/24", "none")
	if f := findingOf(res, "routing.policy-invalid"); f == nil || f.Objects[0].Name != "bad" {
		t.Errorf("finding %+v", f)
	}
}
