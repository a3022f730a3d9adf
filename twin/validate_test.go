package twin

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/preflight-sh/preflight/units"
)

func TestNameProblem(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"us-east-1", ""},
		{"Ethernet1/1", ""},
		{"a.b_c:d/e@f-g", ""},
		{"0", ""},
		{"-a", `"-a" starts with '-'`},
		{".a", `".a" starts with '.'`},
		{"a b", `"a b" contains ' '`},
		{"a=b", `"a=b" contains '='`},
		{"a,b", `"a,b" contains ','`},
		{"zürich", `"zürich" contains 'ü'`},
	} {
		if got := nameProblem(tc.name); got != tc.want {
			t.Errorf("nameProblem(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestValidPorts(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want bool
	}{
		{"0", true}, {"443", true}, {"65535", true}, {"1024-65535", true}, {"80-80", true},
		{"", false}, {"65536", false}, {"-1", false}, {"+1", false}, {"1-", false}, {"-", false},
		{"20-10", false}, {"1-2-3", false}, {"http", false}, {" 80", false},
	} {
		if got := validPorts(tc.s); got != tc.want {
			t.Errorf("validPorts(%q) = %v, want %v", tc.s, got, tc.want)
		}
	}
}

func TestProtocol(t *testing.T) {
	for _, tc := range []struct {
		p            string
		valid, ports bool
	}{
		{"", true, false}, {"any", true, false}, {"tcp", true, true}, {"udp", true, true},
		{"icmp", true, false}, {"icmpv6", true, false}, {"6", true, true}, {"17", true, true},
		{"47", true, false}, {"0", true, false}, {"255", true, false},
		{"256", false, false}, {"-1", false, false}, {"TCP", false, false}, {"sctp", false, false},
	} {
		valid, ports := protocol(tc.p)
		if valid != tc.valid || ports != tc.ports {
			t.Errorf("protocol(%q) = %v, %v; want %v, %v", tc.p, valid, ports, tc.valid, tc.ports)
		}
	}
}

// TestValidateZeroObjects checks that objects left at zero values by a
// failed decode, and objects built without a source, never panic and get
// marked messages.
func TestValidateZeroObjects(t *testing.T) {
	var objs []Object
	for _, k := range Kinds {
		o := k.New()
		o.GetMeta().Name = "x"
		objs = append(objs, o)
	}
	for _, o := range objs {
		switch o := o.(type) {
		case *Device:
			o.Interfaces = make([]Interface, 2)
			o.StaticRoutes = make([]StaticRoute, 1)
			o.BGP = &BGP{Originate: make([]netip.Prefix, 1), Neighbors: []BGPNeighbor{{Import: []string{""}}}}
		case *Link:
			o.A, o.B = "x:", ":x"
		case *RoutePolicy:
			o.Rules = []PolicyRule{{Match: PolicyMatch{Prefixes: make([]PrefixMatch, 1)}}}
		case *ACL:
			o.Rules = make([]ACLRule, 1)
		case *AnycastPrefix:
			o.Announcements = make([]Announcement, 2)
		case *Service:
			o.Dependencies = make([]Dependency, 2)
			o.Autoscaling = &Autoscaling{}
		case *LoadBalancer:
			o.Targets = make([]LBTarget, 2)
		case *DNSRecord:
			o.Policy = "failover"
			o.Answers = make([]DNSAnswer, 2)
		case *Demand:
			o.Origins = make([]Origin, 2)
			o.Profile = []float64{}
		case *Propagation:
			o.Waves = make([]Wave, 2)
		}
	}
	errs := Validate(NewSnapshot(objs))
	if len(errs) == 0 {
		t.Fatal("no errors for zero objects")
	}
	for _, e := range errs {
		if !strings.HasPrefix(e.Msg, semanticPrefix) {
			t.Errorf("message not marked semantic: %q", e.Msg)
		}
		if e.Pos != (Pos{}) {
			t.Errorf("position %v for an object without a source", e.Pos)
		}
	}
}

// service builds a service whose dependencies have recorded positions
// (line i+1 for dependencies[i].service).
func service(name string, deps ...string) *Service {
	s := &Service{Meta: Meta{Kind: "Service", Name: name}, InstanceCapacity: units.Rate(1)}
	src := &Source{Pos: Pos{File: name, Line: 1, Col: 1}, Fields: map[string]Pos{}}
	for i, d := range deps {
		s.Dependencies = append(s.Dependencies, Dependency{Service: d})
		src.Fields[fmt.Sprintf("dependencies[%d].service", i)] = Pos{File: name, Line: i + 1, Col: 3}
	}
	s.SetSource(src)
	return s
}

func TestDependencyCycleReportedOnce(t *testing.T) {
	// d enters the cycle at b; the cycle is still reported once, from a,
	// at c's dependency on a.
	snap := NewSnapshot([]Object{
		service("d", "b"),
		service("c", "x", "a"),
		service("b", "c"),
		service("a", "b"),
		service("x"),
	})
	errs := Validate(snap)
	if len(errs) != 1 {
		t.Fatalf("got %d errors, want 1:\n%v", len(errs), errs)
	}
	e := errs[0]
	if want := (Pos{File: "c", Line: 2, Col: 3}); e.Pos != want {
		t.Errorf("position %v, want %v", e.Pos, want)
	}
	if !strings.Contains(e.Msg, "a → b → c → a") {
		t.Errorf("message %q does not show the cycle a → b → c → a", e.Msg)
	}
}

func TestValidateAllowsOptionalCycle(t *testing.T) {
	a, b := service("a", "b"), service("b", "a")
	b.Dependencies[0].Optional = true
	if errs := Validate(NewSnapshot([]Object{a, b})); len(errs) != 0 {
		t.Errorf("optional dependency closes no cycle, got:\n%v", errs)
	}
}
