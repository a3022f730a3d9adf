package check

import (
	"strings"
	"testing"

	"github.com/preflight-sh/preflight/change"
	"github.com/preflight-sh/preflight/finding"
	"github.com/preflight-sh/preflight/sim"
	"github.com/preflight-sh/preflight/twin"
)

func TestSimulationNeedsDemand(t *testing.T) {
	s := zonesTwin(t)
	ops, err := change.Compile("drain zone a1")
	if err != nil {
		t.Fatal(err)
	}
	r, err := Run("t", s, &change.ChangeSet{Operations: ops}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var sim Analysis
	for _, a := range r.Analyses {
		if a.Name == "simulation" {
			sim = a
		}
	}
	if sim.Ran || sim.Why != "the twin has no demand" {
		t.Errorf("analyses %+v, want the simulation skipped for want of demand", r.Analyses)
	}
}

// zonesTwin has zones a1, a2, a3 in region r1 and b1 in r2, and nothing else.
func zonesTwin(t *testing.T) *twin.Snapshot {
	t.Helper()
	s, err := twin.LoadFiles(map[string][]byte{"t.yaml": []byte(`kind: Region
name: r1
---
kind: Region
name: r2
---
{kind: Zone, name: a1, region: r1}
---
{kind: Zone, name: a2, region: r1}
---
{kind: Zone, name: a3, region: r1}
---
{kind: Zone, name: b1, region: r2}
`)})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestZoneFailures(t *testing.T) {
	s := zonesTwin(t)
	ops, err := change.Compile("drain zone a1")
	if err != nil {
		t.Fatal(err)
	}
	drained, err := change.Apply(s, &change.ChangeSet{Operations: ops})
	if err != nil {
		t.Fatal(err)
	}
	e := func(name string, avail float64) sim.EntryOutcome {
		return sim.EntryOutcome{Name: name, Availability: avail, Target: 0.99, Violates: avail < 0.99}
	}
	// e2 misses its target with the change alone: the sweep leaves it to
	// the run's own findings.
	alone := []sim.EntryOutcome{e("e1", 1), e("e2", 0.5)}
	cases := []sim.SweepCase{
		{Failed: "a2", Entries: []sim.EntryOutcome{e("e1", 0.9), e("e2", 0.4)}, Baseline: []sim.EntryOutcome{e("e1", 0.999), e("e2", 0.999)}},
		{Failed: "a3", Entries: []sim.EntryOutcome{e("e1", 0.95)}, Baseline: []sim.EntryOutcome{e("e1", 0.97)}},
		{Failed: "b1", Entries: []sim.EntryOutcome{e("e1", 0.9695)}, Baseline: []sim.EntryOutcome{e("e1", 0.97)}}, // within a tenth of the error budget
		{Failed: "a1", Entries: []sim.EntryOutcome{e("e1", 1), e("e2", 0.3)}, Baseline: []sim.EntryOutcome{e("e1", 0.98), e("e2", 0.98)}},
	}
	got := func(after *twin.Snapshot) map[string]finding.Finding {
		out := map[string]finding.Finding{}
		for _, f := range zoneFailures(s, after, alone, cases) {
			out[f.ID] = f
		}
		return out
	}
	fs := got(s)
	if len(fs) != 2 || fs["simulation.zone-failure.a2"].Severity != finding.Critical || fs["simulation.zone-failure.a3"].Severity != finding.Warning {
		t.Fatalf("findings %v, want a2 critical (new violation) and a3 warning (worse)", fs)
	}
	if f := fs["simulation.zone-failure.a2"]; !strings.Contains(f.Message, "e1 90%") || !strings.Contains(f.Message, "99.9% without the change") || len(f.Objects) != 1 || f.Objects[0].Name != "a2" {
		t.Errorf("a2: %s %v", f.Message, f.Objects)
	}
	// With a1 drained by the change, losing a2 or a3 is the region's second zone.
	fs = got(drained.After)
	for _, id := range []string{"simulation.zone-failure.a2", "simulation.zone-failure.a3"} {
		f := fs[id]
		if f.Severity != finding.Warning || !strings.Contains(strings.Join(f.Evidence.Lines, "\n"), "the change takes a1 of r1 out of service") {
			t.Errorf("%s with a1 drained: %s %v", id, f.Severity, f.Evidence.Lines)
		}
	}
}
