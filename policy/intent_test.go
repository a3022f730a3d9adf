package policy

import (
	"strings"
	"testing"

	"github.com/preflight-sh/preflight/change"
	"github.com/preflight-sh/preflight/finding"
	"github.com/preflight-sh/preflight/twin"
)

// shopWith loads the shop with extra policies and applies commands.
func shopWith(t *testing.T, policies string, cmds ...string) *change.Result {
	t.Helper()
	s, err := twin.Load("../examples/shop")
	if err != nil {
		t.Fatal(err)
	}
	objs, errs := twin.Parse("policies.yaml", []byte(policies))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	s = s.Edit(objs, nil)
	cs := &change.ChangeSet{Title: strings.Join(cmds, "; ")}
	for _, c := range cmds {
		ops, err := change.Compile(c)
		if err != nil {
			t.Fatal(err)
		}
		cs.Operations = append(cs.Operations, ops...)
	}
	res, err := change.Apply(s, cs)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

const reachDC = `kind: Policy
name: dc1-reachable
enforcement: hard-mandatory
reach: {from: edge1.iad, to: spine.iad-dc1}
`

func TestReachIntent(t *testing.T) {
	// One uplink of the data centre down: still reachable.
	res := shopWith(t, reachDC, "shutdown link spine.iad-dc1--bb1.iad")
	if fs, outs, err := Evaluate(res, nil, nil); err != nil || outcome(outs, "dc1-reachable").Violated {
		t.Fatalf("%v %+v %v", err, outs, fs)
	}
	// Both down: cut off.
	res = shopWith(t, reachDC, "shutdown link spine.iad-dc1--bb1.iad", "shutdown link spine.iad-dc1--bb2.iad")
	fs, _, err := Evaluate(res, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := byID(fs, "policy.dc1-reachable")
	if f == nil || f.Severity != finding.Critical || !strings.Contains(strings.Join(f.Evidence.Lines, "\n"), "e.g. ") {
		t.Fatalf("finding %+v", f)
	}
}

func TestReachIntentUnderFailures(t *testing.T) {
	tolerant := reachDC + "tolerate: {k: 1, fail: [link]}\n"
	// Intact, the data centre survives any one link failing.
	res := shopWith(t, tolerant, "drain instance api-use1-az1-1")
	if _, outs, err := Evaluate(res, nil, nil); err != nil || outcome(outs, "dc1-reachable").Violated {
		t.Fatalf("%v %+v", err, outs)
	}
	// With one uplink down, the other is a single point of failure.
	res = shopWith(t, tolerant, "shutdown link spine.iad-dc1--bb1.iad")
	fs, _, err := Evaluate(res, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := byID(fs, "policy.dc1-reachable")
	if f == nil || !strings.Contains(f.Message, "does not survive link spine.iad-dc1--bb2.iad failing") {
		t.Fatalf("finding %+v", f)
	}
}

func TestIsolateIntent(t *testing.T) {
	const iso = `kind: Policy
name: no-transit
enforcement: advisory
isolate: {from: edge1.iad, dst: 10.20.0.0/16}
`
	// The data centre's prefix is reachable from the edge: isolation fails,
	// and as an advisory policy it warns.
	res := shopWith(t, iso, "drain instance api-use1-az1-1")
	fs, outs, err := Evaluate(res, nil, nil)
	if err != nil || !outcome(outs, "no-transit").Violated {
		t.Fatalf("%v %+v", err, outs)
	}
	if f := byID(fs, "policy.no-transit"); f == nil || f.Severity != finding.Warning {
		t.Fatalf("finding %+v", f)
	}
}

func byID(fs []finding.Finding, id string) *finding.Finding {
	for i := range fs {
		if fs[i].ID == id {
			return &fs[i]
		}
	}
	return nil
}

func outcome(outs []Outcome, name string) Outcome {
	for _, o := range outs {
		if o.Policy == name {
			return o
		}
	}
	return Outcome{}
}
