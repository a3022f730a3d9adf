package change

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/preflight-sh/preflight/twin"
)

// changeGen makes random change files over the fixture.
type changeGen struct {
	r *rand.Rand
	s *twin.Snapshot
}

func (g *changeGen) pick(list []string) string { return list[g.r.IntN(len(list))] }

// name picks the name of an object of a kind.
func (g *changeGen) name(kind string) string {
	objs := g.s.List(kind)
	return objs[g.r.IntN(len(objs))].GetMeta().Name
}

var (
	stateful   = []string{"Zone", "Site", "Device", "Link", "Instance"}
	states     = []string{"active", "drained", "down", `""`}
	labelKeys  = []string{"team", "tier", "env", "canary", "app.example.com/name", "owner_1", "x:y"}
	labelVals  = []string{"prod", "web", `"yes"`, `"null"`, `"1.0"`, `"0x10"`, `"~"`, `"true"`, `"-"`, `"a: b"`, `"#x"`, `""`, "α-β"}
	rates      = []string{"500rps", "1500rps", "2krps", "2.5krps", "1Mrps"}
	allKinds   = []string{"Region", "Zone", "Site", "Device", "Link", "AnycastPrefix", "Service", "Instance", "LoadBalancer", "DNSRecord"}
	opsPerFile = 4
)

// op returns one random operation as a change file list item.
func (g *changeGen) op() string {
	switch g.r.IntN(17) {
	case 0:
		k := g.pick(stateful)
		return fmt.Sprintf("- {op: set, kind: %s, name: %s, fields: {state: %s}}", k, g.name(k), g.pick(states))
	case 1:
		w := "null"
		if g.r.IntN(4) > 0 {
			w = strconv.Itoa(g.r.IntN(101))
		}
		return fmt.Sprintf("- {op: set, kind: LoadBalancer, name: api-lb, fields: {'targets[%s].weight': %s}}", g.pick([]string{"az1", "az2"}), w)
	case 2:
		return fmt.Sprintf("- {op: set, kind: DNSRecord, name: api.example.com, fields: {'answers[%s].weight': %d, ttl: %ds}}", g.pick([]string{"use1", "euw1"}), g.r.IntN(101), 1+g.r.IntN(300))
	case 3:
		k := g.pick(allKinds)
		return fmt.Sprintf("- {op: set, kind: %s, name: %s, fields: {'labels[%s]': %s}}", k, g.name(k), g.pick(labelKeys), g.pick(labelVals))
	case 4:
		return fmt.Sprintf("- {op: remove, kind: Instance, name: %s, path: labels.%s}", g.name("Instance"), g.pick([]string{"env", "tier"}))
	case 5:
		return fmt.Sprintf("- {op: set, kind: Instance, name: %s, fields: {capacity: %s}}", g.name("Instance"), g.pick(rates))
	case 6:
		return fmt.Sprintf("- {op: set, kind: Service, name: %s, fields: {instanceCapacity: %s}}", g.name("Service"), g.pick(rates))
	case 7:
		return fmt.Sprintf("- {op: remove, kind: Instance, name: %s}", g.name("Instance"))
	case 8:
		labels := ""
		if g.r.IntN(2) == 0 {
			labels = fmt.Sprintf(", labels: {%s: %s}", g.pick(labelKeys), g.pick(labelVals))
		}
		extra := ""
		if g.r.IntN(2) == 0 {
			extra += ", capacity: " + g.pick(rates)
		}
		if g.r.IntN(2) == 0 {
			extra += ", role: " + g.pick([]string{"primary", "replica"})
		}
		return fmt.Sprintf("- {op: add, object: {kind: Instance, name: gen-%d, service: %s, zone: %s%s%s}}", g.r.IntN(1000), g.name("Service"), g.name("Zone"), labels, extra)
	case 9:
		min := g.r.IntN(5)
		return fmt.Sprintf("- {op: patch, kind: Service, name: %s, patch: {autoscaling: {min: %d, max: %d}, owners: [%s], labels: {%s: %s}}}", g.name("Service"), min, min+1+g.r.IntN(10), g.pick([]string{"a", "a, b", ""}), g.pick(labelKeys), g.pick(labelVals))
	case 10:
		return fmt.Sprintf("- {op: patch, kind: Instance, name: %s, patch: {role: %s, labels: {%s: %s}}}", g.name("Instance"), g.pick([]string{"primary", "replica", `""`}), g.pick(labelKeys), g.pick(labelVals))
	case 11:
		return fmt.Sprintf("- {op: remove, kind: LoadBalancer, name: api-lb, path: 'targets[%s]'}", g.pick([]string{"az1", "az2"}))
	case 12:
		return fmt.Sprintf("- {op: set, kind: AnycastPrefix, name: dns-anycast, fields: {'announcements[%s].state': %s}}", g.pick([]string{"iad1", "dub1", "*"}), g.pick([]string{"announced", "withdrawn", `""`}))
	case 13:
		return fmt.Sprintf("- {op: set, kind: Device, name: iad1-r1, fields: {'interfaces[%s].addresses': [%s]}}", g.pick([]string{"eth0", "lo"}), g.pick([]string{"", "10.0.0.0/31", "10.0.0.0/31, 2001:db8::/127", "192.0.2.9/32"}))
	case 14:
		return fmt.Sprintf("- {op: set, kind: Service, name: %s, fields: {autoscaling: null}}", g.name("Service"))
	case 15:
		return fmt.Sprintf("- {op: add, object: {kind: Zone, name: gen-az%d, region: %s, labels: {%s: %s}}}", g.r.IntN(100), g.name("Region"), g.pick(labelKeys), g.pick(labelVals))
	default:
		return fmt.Sprintf("- {op: set, kind: Link, name: iad1-dub1, fields: {capacity: %dGbps, cost: %d}}", 1+g.r.IntN(400), g.r.IntN(100))
	}
}

// change returns a random change file of 1 to opsPerFile operations.
func (g *changeGen) change() string {
	var b strings.Builder
	b.WriteString("title: generated\noperations:\n")
	for range 1 + g.r.IntN(opsPerFile) {
		b.WriteString("  " + g.op() + "\n")
	}
	return b.String()
}

// TestDiffRoundTrip checks, for many random changes c of the fixture A
// with B = Apply(A, c).After, that Diff(A, B) applied to A gives B, and so
// does the change file WriteYAML writes for it, read back with ParseFile.
func TestDiffRoundTrip(t *testing.T) {
	a := loadFixture(t)
	wantA := canonical(t, a)
	if d, err := Diff(a, a); err != nil || len(d.Operations) != 0 {
		t.Fatalf("Diff(A, A) = %d operations, %v", len(d.Operations), err)
	}
	applied := 0
	for seed := range uint64(60) {
		g := &changeGen{r: rand.New(rand.NewPCG(seed, 7)), s: a}
		for i := range 25 {
			text := g.change()
			cs, err := ParseFile("gen.yaml", []byte(text))
			if err != nil {
				t.Fatalf("seed %d change %d does not parse:\n%s\n%v", seed, i, text, err)
			}
			res, err := Apply(a, cs)
			if err != nil {
				continue // e.g. a removed instance is named again, or the twin is left invalid
			}
			applied++
			wantB := canonical(t, res.After)
			if !checkRoundTrip(t, a, res.After, wantB, fmt.Sprintf("seed %d change %d:\n%s", seed, i, text)) {
				return
			}
		}
	}
	if canonical(t, a) != wantA {
		t.Fatal("the fixture changed")
	}
	if applied < 500 {
		t.Errorf("only %d generated changes applied; the generator makes too many invalid ones", applied)
	}
	t.Logf("%d generated changes round-tripped", applied)
}

// checkRoundTrip checks Diff(a, b) both directly and as a change file.
func checkRoundTrip(t *testing.T, a, b *twin.Snapshot, wantB, what string) bool {
	t.Helper()
	d, err := Diff(a, b)
	if err != nil {
		t.Errorf("%s\nDiff: %v", what, err)
		return false
	}
	res, err := Apply(a, d)
	if err != nil {
		var buf bytes.Buffer
		_ = WriteYAML(&buf, d)
		t.Errorf("%s\nthe diff does not apply: %v\ndiff:\n%s", what, err, buf.String())
		return false
	}
	if got := canonical(t, res.After); got != wantB {
		t.Errorf("%s\nDiff(A, B) applied to A is not B:\n%s", what, diffLines(wantB, got))
		return false
	}
	if d2, err := Diff(res.After, b); err != nil || len(d2.Operations) != 0 {
		t.Errorf("%s\nDiff(Apply(A, Diff(A, B)), B) has %d operations, %v", what, len(d2.Operations), err)
		return false
	}
	if len(d.Operations) == 0 {
		// No difference; ParseFile rejects a change without operations.
		if canonical(t, a) != wantB {
			t.Errorf("%s\nDiff(A, B) is empty but A and B differ", what)
			return false
		}
		return true
	}
	var buf bytes.Buffer
	if err := WriteYAML(&buf, d); err != nil {
		t.Errorf("%s\nWriteYAML: %v", what, err)
		return false
	}
	cs, err := ParseFile("diff.yaml", buf.Bytes())
	if err != nil {
		t.Errorf("%s\nthe written diff does not parse: %v\n%s", what, err, buf.String())
		return false
	}
	res, err = Apply(a, cs)
	if err != nil {
		t.Errorf("%s\nthe written diff does not apply: %v\n%s", what, err, buf.String())
		return false
	}
	if got := canonical(t, res.After); got != wantB {
		t.Errorf("%s\nthe written diff applied to A is not B:\n%s\ndiff file:\n%s", what, diffLines(wantB, got), buf.String())
		return false
	}
	return true
}

// TestDiffRoundTripCases are round trips of specific edits, including
// ones random changes rarely make.
func TestDiffRoundTripCases(t *testing.T) {
	cases := []string{
		"commands: [drain zone use1-az1]",
		"commands: [remove instance api-4, remove zone euw1-az2]",
		"commands: [add instances service=billing zone=use1-az3 count=3]",
		"commands: [set lb api-lb weight az1=0]",
		`operations: [{op: set, kind: LoadBalancer, name: api-lb, fields: {"targets[az1].weight": null}}]`,
		`operations: [{op: remove, kind: Device, name: iad1-r1, path: labels.role}]`,
		`operations: [{op: set, kind: Instance, name: api-1, fields: {labels: null}}]`,
		`operations: [{op: set, kind: Instance, name: api-1, fields: {"labels[a.b/c]": x}}]`,
		`operations: [{op: set, kind: Instance, name: api-1, fields: {labels: {a.b: x, c.d: y}}}]`,
		`operations: [{op: set, kind: Instance, name: api-1, fields: {labels: {a.b: x}}}, {op: set, kind: Instance, name: api-2, fields: {labels: {a.b: x}}}]`,
		`operations: [{op: set, kind: Service, name: billing, fields: {floors: {total: {instances: 3}}, dependencies: [{service: db, timeout: 1s}]}}]`,
		`operations: [{op: remove, kind: AnycastPrefix, name: dns-anycast, path: "announcements[*]"}]`,
		`operations: [{op: set, kind: AnycastPrefix, name: dns-anycast, fields: {announcements: null}}]`,
		`operations: [{op: set, kind: Service, name: billing, fields: {owners: []}}]`,
		`operations: [{op: set, kind: Instance, name: api-1, fields: {labels: {}}}]`,
		`operations: [{op: patch, kind: LoadBalancer, name: api-lb, patch: {targets: [{name: az2, service: api, zone: use1-az2}, {name: az1, service: api, zone: use1-az1, weight: 3}]}}]`,
		`operations: [{op: set, kind: Device, name: fra-r1, fields: {interfaces: [{name: eth0}, {name: eth1, state: down}]}}]`,
	}
	a := loadFixture(t)
	for _, text := range cases {
		res, err := Apply(a, mustParse(t, text))
		if err != nil {
			t.Errorf("%s: %v", text, err)
			continue
		}
		checkRoundTrip(t, a, res.After, canonical(t, res.After), text)
	}
}

// TestDiffRoundTripNumericNames checks list elements whose names look like
// indexes: a path [1] means the element at index 1, so the diff must not
// name the element called "1" that way.
func TestDiffRoundTripNumericNames(t *testing.T) {
	base, err := Apply(loadFixture(t), mustParse(t, `
operations:
  - op: patch
    kind: LoadBalancer
    name: api-lb
    patch:
      targets:
        - {name: "1", service: api, zone: use1-az1, weight: 10}
        - {name: "0", service: api, zone: use1-az2, weight: 20}
`))
	if err != nil {
		t.Fatal(err)
	}
	a := base.After
	res, err := Apply(a, mustParse(t, `operations: [{op: set, kind: LoadBalancer, name: api-lb, fields: {"targets[name=1].weight": 99}}]`))
	if err != nil {
		t.Fatal(err)
	}
	if got := field(t, res.After, "LoadBalancer/api-lb", "targets[0].weight"); got != "99" {
		t.Fatalf("targets[0].weight = %s after setting the weight of the target named 1", got)
	}
	checkRoundTrip(t, a, res.After, canonical(t, res.After), "weight of the target named 1")
	// The command language names targets too.
	res, err = Apply(a, mustCompile(t, "set lb api-lb weight 0=7"))
	if err != nil {
		t.Fatal(err)
	}
	if got := field(t, res.After, "LoadBalancer/api-lb", "targets[1].weight"); got != "7" {
		t.Errorf("weight of the target named 0 = %s, want 7", got)
	}
}
