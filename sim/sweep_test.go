package sim

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/preflight-sh/preflight/finding"
)

// sweepTwin has three zones: z1 with 600rps of web, z2 with 200rps, z3
// with nothing, for 300rps of demand. Losing z1 overloads z2.
func sweepTwin(t *testing.T) twinSpec {
	t.Helper()
	var extra strings.Builder
	extra.WriteString("---\nkind: Zone\nname: z3\nregion: r1\n---\nkind: Site\nname: dc1\ntype: datacenter\nregion: r1\nzone: z1\n")
	for _, n := range []string{"a", "b", "c", "d"} {
		extra.WriteString("---\n{kind: Instance, name: web-z1-" + n + ", service: web, zone: z1}\n")
	}
	return twinSpec{perZone: 2, capacity: "100rps", demand: "300rps", extra: extra.String()}
}

func TestSweepRanksOverloadFirst(t *testing.T) {
	s := load(t, sweepTwin(t))
	cases, err := Sweep(s, Options{Duration: 10 * time.Minute}, nil, "zone", 2*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, c := range cases {
		order = append(order, c.Failed)
	}
	if strings.Join(order, " ") != "z1 z2 z3" {
		t.Fatalf("cases in order %v, want z1 (its loss overloads z2), z2, z3 (nothing in it)", order)
	}
	z1, z3 := cases[0], cases[2]
	worst, ok := z1.Worst()
	if !ok || worst.Name != "users@r1" || !worst.Violates || worst.Availability >= worst.Target {
		t.Errorf("losing z1: worst entry %+v, want users@r1 below its target", worst)
	}
	if !hasFinding(z1.Findings, "simulation.overload.web/z2") {
		t.Errorf("losing z1: findings %v, want z2 overloaded", ids(z1.Findings))
	}
	if z3.Lost() != 0 || len(z3.Findings) != 0 || z1.Baseline != nil {
		t.Errorf("losing the empty z3 lost %g requests with findings %v; baseline %v (none given)", z3.Lost(), ids(z3.Findings), z1.Baseline)
	}
	if z1.Kind != "zone" || z1.At.Std() != 2*time.Minute {
		t.Errorf("case %q at %v", z1.Kind, z1.At)
	}
}

func TestSweepAgainstBaselineIsDeterministic(t *testing.T) {
	s := load(t, sweepTwin(t))
	// The change leaves z1 with 200rps: losing z1 is as bad as without it,
	// losing z2 worse.
	cut := command(t, CLIChange, "remove instances service=web zone=z1 count=4", time.Minute, false)
	o := Options{Duration: 10 * time.Minute, Seed: 1, Events: []Event{cut}}
	base := Options{Duration: 10 * time.Minute, Seed: 1}
	out := func() []byte {
		cases, err := Sweep(s, o, &base, "zone", 3*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		byName := map[string]SweepCase{}
		for _, c := range cases {
			byName[c.Failed] = c
		}
		z1, z2 := byName["z1"], byName["z2"]
		if len(cases) != 3 || z1.Baseline == nil || z2.Baseline == nil {
			t.Fatalf("cases %+v", cases)
		}
		if with, without := z1.Entries[0], z1.Baseline[0]; with != without {
			t.Errorf("losing z1 with the change: %+v, without: %+v; want the same", with, without)
		}
		if with, without := z2.Entries[0], z2.Baseline[0]; with.Availability >= without.Availability || with.Lost <= without.Lost || !with.Violates || without.Violates {
			t.Errorf("losing z2 with the change: %+v, without: %+v; want it to miss the target only with the change", with, without)
		}
		if cases[0].Failed != "z2" || !hasFinding(z2.Findings, "simulation.availability.users@r1") || z2.Findings[0].Severity != finding.Critical {
			t.Errorf("first case %s, findings of z2 %v; want z2 first, with a critical availability finding", cases[0].Failed, ids(z2.Findings))
		}
		var b bytes.Buffer
		if err := json.NewEncoder(&b).Encode(cases); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	if a, b := out(), out(); !bytes.Equal(a, b) {
		t.Fatal("two sweeps of the same timeline differ")
	}
}

func TestSweepSitesAndBadInput(t *testing.T) {
	s := load(t, sweepTwin(t))
	cases, err := Sweep(s, Options{Duration: 5 * time.Minute}, nil, "site", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) != 1 || cases[0].Failed != "dc1" || cases[0].Kind != "site" {
		t.Errorf("site sweep %+v, want one case for dc1", cases)
	}
	for _, c := range []struct {
		kind string
		at   time.Duration
		want string
	}{{"region", time.Minute, "unknown sweep"}, {"zone", 5 * time.Minute, "outside the run"}} {
		if _, err := Sweep(s, Options{Duration: 5 * time.Minute}, nil, c.kind, c.at); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("sweep %s at %v: error %v, want one mentioning %q", c.kind, c.at, err, c.want)
		}
	}
}

// TestSweepCasesMatchSingleRuns: each case of a sweep, which shares
// snapshots and paths through a cache and runs in parallel, gives what the
// same timeline gives run alone without a cache.
func TestSweepCasesMatchSingleRuns(t *testing.T) {
	s := load(t, sweepTwin(t))
	cut := command(t, CLIChange, "remove instances service=web zone=z1 count=4", time.Minute, false)
	o := Options{Duration: 6 * time.Minute, Seed: 1, Events: []Event{cut}}
	for range 3 { // addresses of freed change sets must never be taken for others'
		cases, err := Sweep(s, o, nil, "zone", 3*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cases {
			fail := command(t, "sweep", "shutdown zone "+c.Failed, 3*time.Minute, false)
			alone := o
			alone.Events = []Event{cut, fail}
			r, err := Run(s, alone)
			if err != nil {
				t.Fatal(err)
			}
			want := outcomes(r, Findings(s, r, nil, alone))
			if !reflect.DeepEqual(c.Entries, want) {
				t.Errorf("zone %s: sweep %+v, alone %+v", c.Failed, c.Entries, want)
			}
		}
	}
}
