package change

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/preflight-sh/preflight/twin"
)

// puritySets are changes applied to one snapshot to check that Apply never
// changes its input; the last ones fail part-way.
var puritySets = []string{
	`commands:
  - drain zone use1-az1
  - set lb api-lb weight az1=0 az2=100
  - set dns api.example.com weight use1=1
  - withdraw prefix dns-anycast site=dub1
  - scale service=billing min=1 max=20
  - set instance api-1 labels.canary=yes
  - add instances service=api zone=use1-az3 count=2
  - remove instances service=db role=replica count=1
`,
	`operations:
  - op: patch
    kind: Service
    name: billing
    patch:
      labels: {team: billing, oncall: payments}
      autoscaling: {max: 30}
      owners: [a, b]
  - op: remove
    kind: Instance
    selector: {service: billing}
    path: labels.tier
  - op: remove
    kind: LoadBalancer
    name: api-lb
    path: targets[az1]
  - op: remove
    kind: AnycastPrefix
    name: dns-anycast
    path: announcements[*]
  - op: set
    kind: Device
    name: iad1-r1
    fields:
      interfaces[eth0].addresses: [10.9.0.0/31]
      interfaces[lo].state: down
      labels: {role: spine}
`,
	`operations:
  - op: remove
    kind: Instance
    name: api-1
  - op: add
    object: {kind: Instance, name: api-1, service: billing, zone: use1-az3}
  - op: set
    kind: Instance
    name: api-1
    fields: {capacity: 7krps}
`,
	// Fails in the last operation, after changing objects.
	`operations:
  - op: set
    kind: Zone
    selector: {region: us-east-1}
    fields: {state: down}
  - op: patch
    kind: Service
    name: billing
    patch: {autoscaling: {min: 1}, labels: {x: y}}
  - op: remove
    kind: Instance
    name: api-1
    path: labels.env
  - op: set
    kind: Zone
    name: no-such-zone
    fields: {state: down}
`,
	// Fails validation after every operation applied.
	`operations:
  - op: set
    kind: Service
    name: billing
    fields: {autoscaling.min: 50, labels.team: other}
  - op: set
    kind: LoadBalancer
    name: api-lb
    fields: {"targets[*].weight": 5}
`,
}

func TestApplyIsPure(t *testing.T) {
	before := loadFixture(t)
	want := canonical(t, before)
	objs := before.All()
	for i, text := range puritySets {
		cs := mustParse(t, text)
		res, err := Apply(before, cs)
		if got := canonical(t, before); got != want {
			t.Fatalf("change %d changed the snapshot it was applied to:\n%s", i+1, diffLines(want, got))
		}
		for j, o := range before.All() {
			if o != objs[j] {
				t.Fatalf("change %d replaced object %s in the snapshot it was applied to", i+1, twin.RefOf(o))
			}
		}
		if err != nil {
			continue
		}
		if canonical(t, res.After) == want {
			t.Errorf("change %d changed nothing", i+1)
		}
		// Untouched objects are shared, touched ones are copies.
		touched := map[twin.Ref]bool{}
		for _, tc := range res.Touched {
			touched[twin.Ref{Kind: tc.Kind, Name: tc.Name}] = true
		}
		for _, o := range before.All() {
			r := twin.RefOf(o)
			a := res.After.Get(r.Kind, r.Name)
			if !touched[r] && a != o {
				t.Errorf("change %d: untouched %s is not shared", i+1, r)
			}
			if touched[r] && a == o {
				t.Errorf("change %d: touched %s is the very object of the snapshot before", i+1, r)
			}
		}
		// The result applied again from the start gives the same twin.
		again, err := Apply(before, cs)
		if err != nil || canonical(t, again.After) != canonical(t, res.After) {
			t.Errorf("change %d: applying it twice gives different twins (%v)", i+1, err)
		}
	}
	if n := len(puritySets); n < 3 {
		t.Fatalf("only %d purity sets", n)
	}
}

func TestApplyErrors(t *testing.T) {
	tests := []struct {
		name, change string
		want         []string
	}{
		{"missing object", `commands: [drain zone use1-az7]`, []string{`change.yaml:1:12: Zone "use1-az7" does not exist (did you mean "use1-az1"?)`}},
		{"missing object far from any name", `commands: [drain link zzzzzzzzzzzz]`, []string{`Link "zzzzzzzzzzzz" does not exist`}},
		{"bad field path", `commands: ["set service billing autoscalling.max=3"]`, []string{`Service billing: field path "autoscalling.max": no field "autoscalling" (did you mean "autoscaling"?)`}},
		{"bad nested field", `commands: ["set service billing autoscaling.maxx=3"]`, []string{`no field "maxx" (did you mean "max"?)`}},
		{"below a scalar", `commands: ["set zone use1-az1 state.x=1"]`, []string{`"x" is not inside a mapping`}},
		{"list index out of range", `commands: ["set lb api-lb targets[5].weight=1"]`, []string{"index 5 out of range (the list has 2 elements)"}},
		{"state set to a list", `
operations:
  - op: set
    kind: Zone
    name: use1-az1
    fields: {state: [drained]}`, []string{"change.yaml:6:21: Zone use1-az1, field state: expected a string, found a list"}},
		{"weight set to a string", `
operations:
  - op: set
    kind: LoadBalancer
    name: api-lb
    fields: {"targets[az1].weight": heavy}`, []string{`field targets[az1].weight: expected a whole number, found "heavy"`}},
		{"capacity without a unit", `commands: ["set instance api-1 capacity=500"]`, []string{`rate "500" has no unit`}},
		{"count larger than matches", `commands: ["remove instances service=db count=4"]`, []string{"count=4 but selector service=db matches only 3 Instance objects"}},
		{"selector matching nothing", `commands: ["drain instances service=db zone=use1-az3"]`, []string{"selector service=db,zone=use1-az3 matches no Instance: nothing would change"}},
		{"add an existing object", `
operations:
  - op: add
    object: {kind: Service, name: db, instanceCapacity: 1krps}`, []string{`change.yaml:3:5: Service "db" already exists; use set or patch to change it`}},
		{"add an object of an unknown kind", `
operations:
  - op: add
    object: {kind: Servise, name: db}`, []string{`unknown kind "Servise" (did you mean "Service"?)`}},
		{"remove a zone that instances use", `commands: [remove zone use1-az2]`, []string{
			`services.yaml:34:7: after the change: zone "use1-az2" does not exist`,
			`services.yaml:58:7: after the change: zone "use1-az2" does not exist`,
			`traffic.yaml:12:11: after the change: zone "use1-az2" does not exist`,
		}},
		{"remove a service that is called", `commands: [remove service db]`, []string{`after the change: service "db" does not exist`}},
		{"change name", `commands: ["set zone use1-az1 name=x"]`, []string{"set cannot change name"}},
		{"patch changes kind", `
operations:
  - op: patch
    kind: Zone
    name: use1-az1
    patch: {kind: Site}`, []string{"a patch cannot change kind or name"}},
		{"patch an unknown field", `
operations:
  - op: patch
    kind: Zone
    name: use1-az1
    patch: {stat: down}`, []string{`unknown field "stat" (did you mean "state"?)`}},
		{"remove a field", `
operations:
  - op: remove
    kind: Zone
    name: use1-az1
    path: state`, []string{`path "state" is a field, not a list element or map entry`}},
		{"remove a missing map entry", `
operations:
  - op: remove
    kind: Instance
    name: api-1
    path: labels.colour`, []string{`Instance api-1: labels has no entry "colour"`}},
		{"remove a missing list element", `
operations:
  - op: remove
    kind: LoadBalancer
    name: api-lb
    path: targets[az9]`, []string{"no element [az9] (did you mean [az1]?)"}},
		{"an object removed earlier", `
operations:
  - op: remove
    kind: Zone
    name: use1-az3
  - op: set
    kind: Zone
    name: use1-az3
    fields: {state: down}`, []string{`change.yaml:6:5: Zone "use1-az3" does not exist`}},
		{"every error at once", `commands: [drain zone x1, drain zone x2, "scale service=nope min=1"]`, []string{`Zone "x1"`, `Zone "x2"`, `Service "nope"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := loadFixture(t)
			want := canonical(t, before)
			res, err := Apply(before, mustParse(t, tc.change))
			if err == nil {
				t.Fatalf("Apply succeeded and touched %d objects, want an error", len(res.Touched))
			}
			if res != nil {
				t.Error("Apply returned a result with its error")
			}
			l := errorList(t, err)
			for _, w := range tc.want {
				if !strings.Contains(l.Error(), w) {
					t.Errorf("errors\n%v\ndo not contain %q", err, w)
				}
			}
			if canonical(t, before) != want {
				t.Error("a failed Apply changed its input")
			}
		})
	}
}

func TestBlastRadius(t *testing.T) {
	cs := mustParse(t, `
operations:
  - op: set
    kind: Instance
    selector: {service: api}
    count: 2
    fields: {state: drained}
  - op: set
    kind: LoadBalancer
    name: api-lb
    fields:
      targets[az1].weight: 0
  - op: patch
    kind: Instance
    name: api-1
    patch: {labels: {canary: "yes"}}
  - op: remove
    kind: Instance
    name: db-3
  - op: add
    object: {kind: Instance, name: db-4, service: db, zone: euw1-az2}
`)
	res, err := Apply(loadFixture(t), cs)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tc := range res.Touched {
		line := tc.Action + " " + tc.Kind + "/" + tc.Name + " ops=" + joinInts(tc.Ops) + " at " + tc.Pos.String()
		for _, c := range tc.Changes {
			line += " | " + c.Path + ": " + c.Before + " -> " + c.After
		}
		got = append(got, line)
	}
	want := []string{
		// api-1's two changes: state (op 1) and a new label (op 3), at
		// the first changed field.
		`modified Instance/api-1 ops=1,3 at services.yaml:50:9 | labels.canary:  -> "yes" | state:  -> drained`,
		"modified Instance/api-2 ops=1 at services.yaml:54:1 | state:  -> drained",
		"removed Instance/db-3 ops=4 at services.yaml:87:1",
		"added Instance/db-4 ops=5 at change.yaml:21:13",
		// A weight of 0 is shown, not taken for an absent weight. (The
		// position is that of the list: field positions are recorded by
		// index, changes are named by key.)
		"modified LoadBalancer/api-lb ops=2 at traffic.yaml:9:13 | targets[az1].weight: 50 -> 0",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("touched:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(res.Selections) != 1 {
		t.Fatalf("%d selections, want 1", len(res.Selections))
	}
	sel := res.Selections[0]
	if sel.Op != 1 || sel.Kind != "Instance" || sel.Selector != "service=api" || sel.Count != 2 ||
		strings.Join(sel.Matched, ",") != "api-1,api-2,api-3,api-4" || strings.Join(sel.Chosen, ",") != "api-1,api-2" {
		t.Errorf("selection = %+v", sel)
	}
	if sel.Pos.File != "change.yaml" || sel.Pos.Line != 3 {
		t.Errorf("selection position %s, want change.yaml:3", sel.Pos)
	}
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

func TestServiceImpactZoneDrain(t *testing.T) {
	res, err := Apply(loadFixture(t), mustCompile(t, "drain zone use1-az1"))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Touched) != 1 || res.Touched[0].Name != "use1-az1" {
		t.Errorf("touched %+v, want only the zone", res.Touched)
	}
	impacts := map[string]ServiceImpact{}
	var names []string
	for _, si := range res.Services {
		impacts[si.Service] = si
		names = append(names, si.Service)
	}
	if strings.Join(names, ",") != "api,billing,db" {
		t.Fatalf("services %v, want api, billing, db", names)
	}
	scope := func(si ServiceImpact, list []ScopeImpact, name string) ScopeImpact {
		for _, s := range list {
			if s.Name == name {
				return s
			}
		}
		t.Fatalf("%s: no scope %s", si.Service, name)
		return ScopeImpact{}
	}
	tests := []struct {
		service, scope, name string
		before, after        float64 // capacity in rps
		inBefore, inAfter    int
		share                float64
	}{
		// billing runs one 1krps instance in each of the three us-east-1
		// zones and one in eu-west-1: draining one zone takes all of that
		// zone, a third of the region and a quarter of the service.
		{"billing", "zone", "use1-az1", 1000, 0, 1, 0, 1},
		{"billing", "zone", "use1-az2", 1000, 1000, 1, 1, 0},
		{"billing", "region", "us-east-1", 3000, 2000, 3, 2, 1.0 / 3},
		{"billing", "region", "eu-west-1", 1000, 1000, 1, 1, 0},
		{"billing", "total", "total", 4000, 3000, 4, 3, 0.25},
		{"api", "zone", "use1-az1", 2000, 0, 1, 0, 1},
		{"api", "region", "us-east-1", 4000, 2000, 2, 1, 0.5},
		{"api", "total", "total", 9000, 7000, 4, 3, 2.0 / 9},
		{"db", "region", "us-east-1", 10000, 5000, 2, 1, 0.5},
		{"db", "total", "total", 15000, 10000, 3, 2, 1.0 / 3},
	}
	for _, tc := range tests {
		si := impacts[tc.service]
		var s ScopeImpact
		switch tc.scope {
		case "zone":
			s = scope(si, si.Zones, tc.name)
		case "region":
			s = scope(si, si.Regions, tc.name)
		default:
			s = si.Total
		}
		if s.CapacityBefore != tc.before || s.CapacityAfter != tc.after || s.InstancesBefore != tc.inBefore || s.InstancesAfter != tc.inAfter || math.Abs(s.Share-tc.share) > 1e-9 {
			t.Errorf("%s %s %s = %+v, want capacity %v -> %v, instances %d -> %d, share %.4f", tc.service, tc.scope, tc.name, s, tc.before, tc.after, tc.inBefore, tc.inAfter, tc.share)
		}
	}
	if s := impacts["billing"].Total; s.Affected != 1000 || s.AffectedInstances != 1 {
		t.Errorf("billing affected %v rps on %d instances, want 1000 on 1", s.Affected, s.AffectedInstances)
	}
}

func TestServiceImpactOtherChanges(t *testing.T) {
	tests := []struct {
		cmd      string
		services string // services with an impact
		total    string // service:share of the first listed
	}{
		{"drain instance api-4", "api", "3000/9000"},
		{"add instances service=db zone=euw1-az2 count=3", "db", "15000/15000"},
		{"remove instances service=billing zone=euw1-az1", "billing", "1000/4000"},
		{"set instance api-4 capacity=1krps", "api", "2000/9000"},
		{"set lb api-lb weight az1=0", "", ""},
		{"drain zone use1-az3", "billing", "1000/4000"},
		{"undrain zone use1-az3", "", ""},
	}
	for _, tc := range tests {
		res, err := Apply(loadFixture(t), mustCompile(t, tc.cmd))
		if err != nil {
			t.Errorf("%s: %v", tc.cmd, err)
			continue
		}
		var names []string
		for _, si := range res.Services {
			names = append(names, si.Service)
		}
		if strings.Join(names, ",") != tc.services {
			t.Errorf("%s: services %v, want %s", tc.cmd, names, tc.services)
			continue
		}
		if tc.total == "" {
			continue
		}
		s := res.Services[0].Total
		var num, den float64
		if _, err := fmt.Sscanf(tc.total, "%g/%g", &num, &den); err != nil {
			t.Fatal(err)
		}
		if s.Affected != num || math.Abs(s.Share-num/den) > 1e-9 {
			t.Errorf("%s: total %+v, want affected %v share %v", tc.cmd, s, num, num/den)
		}
	}
}

// TestAddInstanceNames checks the names Apply gives instances added without
// one: service-zone-N with the smallest free N.
func TestAddInstanceNames(t *testing.T) {
	tests := []struct {
		change string
		want   []string // instances of billing in use1-az3 after the change
	}{
		{"commands: [add instances service=billing zone=use1-az3 count=3]", []string{"billing-3", "billing-use1-az3-1", "billing-use1-az3-2", "billing-use1-az3-3"}},
		{`
operations:
  - {op: add, object: {kind: Instance, name: billing-use1-az3-2, service: billing, zone: use1-az3}}
commands: [add instances service=billing zone=use1-az3 count=2]`, []string{"billing-3", "billing-use1-az3-1", "billing-use1-az3-2", "billing-use1-az3-3"}},
		{`
operations:
  - {op: add, object: {kind: Instance, name: "", service: billing, zone: use1-az3}}
  - {op: add, object: {kind: Instance, name: "", service: billing, zone: use1-az3}}
  - {op: remove, kind: Instance, name: billing-use1-az3-1}
  - {op: add, object: {kind: Instance, name: "", service: billing, zone: use1-az3}}`, []string{"billing-3", "billing-use1-az3-1", "billing-use1-az3-2"}},
	}
	for _, tc := range tests {
		res, err := Apply(loadFixture(t), mustParse(t, tc.change))
		if err != nil {
			t.Errorf("%s: %v", tc.change, err)
			continue
		}
		var got []string
		for _, o := range res.After.List("Instance") {
			if in := o.(*twin.Instance); in.Service == "billing" && in.Zone == "use1-az3" {
				got = append(got, in.Name)
			}
		}
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("%s\ninstances %v, want %v", tc.change, got, tc.want)
		}
	}
}
