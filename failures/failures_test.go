package failures

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/preflight-sh/preflight/finding"
	"github.com/preflight-sh/preflight/fwd"
	"github.com/preflight-sh/preflight/tracer"
)

func TestRingToleratesOneLinkNotTwo(t *testing.T) {
	s := ring(4).load(t)
	r := sweep(t, s, AllPairs{}, Options{K: 1})
	if !r.Holds || len(r.Failing) != 0 || r.Baseline != nil {
		t.Fatalf("a ring of 4 should tolerate any single link failure: %+v", sets(r))
	}
	if r.Stats.Considered != 4 {
		t.Errorf("considered %d sets, want 4", r.Stats.Considered)
	}

	r = sweep(t, s, AllPairs{}, Options{K: 2})
	want := []string{
		"link r1--r2, link r2--r3", "link r1--r2, link r3--r4", "link r1--r2, link r4--r1",
		"link r2--r3, link r3--r4", "link r2--r3, link r4--r1", "link r3--r4, link r4--r1",
	}
	if r.Holds || !slices.Equal(sets(r), want) {
		t.Fatalf("failing pairs:\n%s\nwant\n%s", strings.Join(sets(r), "\n"), strings.Join(want, "\n"))
	}
	if r.Stats.Considered != 4+6 {
		t.Errorf("considered %d sets, want 10", r.Stats.Considered)
	}
	for _, fs := range r.Failing {
		v := fs.Violation
		if v == nil {
			t.Fatalf("%v: no example", fs.Elements)
		}
		ex := v.Example
		if len(ex.Before) == 0 || len(ex.After) == 0 {
			t.Fatalf("%v: example without paths: %+v", fs.Elements, ex)
		}
		for _, p := range ex.Before {
			if p.Fate != tracer.Delivered || p.Hops[len(p.Hops)-1].Device != ex.To {
				t.Errorf("%v: before, the example should be delivered to %s: %s", fs.Elements, ex.To, p)
			}
		}
		if !slices.ContainsFunc(ex.After, func(p tracer.Path) bool { return p.Fate != tracer.Delivered }) {
			t.Errorf("%v: after, the example should fail: %v", fs.Elements, ex.After)
		}
		if v.Broken == 0 || v.Broken > v.Demands {
			t.Errorf("%v: broken %d of %d", fs.Elements, v.Broken, v.Demands)
		}
	}
}

func TestLineFailsAtOneLink(t *testing.T) {
	tp := &topo{}
	tp.devsNamed("a", "b", "c")
	tp.link("a", "b", 10)
	tp.link("b", "c", 10)
	r := sweep(t, tp.load(t), AllPairs{}, Options{K: 2})
	if want := []string{"link a--b", "link b--c"}; !slices.Equal(sets(r), want) {
		t.Fatalf("failing sets %q, want %q (each bridge alone, and no pair, since pairs are not minimal)", sets(r), want)
	}
	if r.Stats.NonMinimal != 1 || r.Stats.Checked != 2 {
		t.Errorf("stats %+v: want the pair skipped as not minimal and 2 singles checked", r.Stats)
	}
	ex := r.Failing[0].Violation.Example
	if ex.From != "a" || ex.To != "b" || ex.Packet.Dst != netip.MustParseAddr("10.0.0.2") {
		t.Errorf("example %s from %s to %s, want the first demand: a to b's loopback", ex.Packet, ex.From, ex.To)
	}
	if got := ex.After[0].Fate; got != tracer.NoRoute {
		t.Errorf("after: %s, want no-route", got)
	}
}

func TestParallelLinksSymmetry(t *testing.T) {
	// a and b are joined by three parallel links; b--c is a bridge.
	tp := &topo{}
	tp.devsNamed("a", "b", "c")
	for range 3 {
		tp.link("a", "b", 10)
	}
	tp.link("b", "c", 10)
	s := tp.load(t)
	for _, k := range []int{1, 2} {
		red := sweep(t, s, AllPairs{}, Options{K: k})
		ex := sweep(t, s, AllPairs{}, Options{K: k, Exhaustive: true})
		if !slices.Equal(sets(red), sets(ex)) {
			t.Errorf("k=%d: reduced %q, exhaustive %q", k, sets(red), sets(ex))
		}
		if red.Stats.Checked >= ex.Stats.Checked || red.Stats.Symmetric == 0 {
			t.Errorf("k=%d: symmetry should cut the checks: reduced %+v, exhaustive %+v", k, red.Stats, ex.Stats)
		}
		if !slices.ContainsFunc(red.Reductions, func(s string) bool { return strings.HasPrefix(s, "symmetry: 1 class") }) {
			t.Errorf("k=%d: reductions %q", k, red.Reductions)
		}
	}
	// Three parallel links survive any two failing: only the bridge fails.
	r := sweep(t, s, AllPairs{}, Options{K: 2})
	if want := []string{"link b--c"}; !slices.Equal(sets(r), want) {
		t.Errorf("k=2: %q, want %q", sets(r), want)
	}
	// With two parallel links, failing both breaks a, and both pairs
	// {a--b, b--c} are stood in by one check.
	tp = &topo{}
	tp.devsNamed("a", "b", "c", "d")
	tp.link("a", "b", 10)
	tp.link("a", "b", 10)
	tp.link("b", "c", 10)
	tp.link("c", "d", 10)
	tp.link("d", "b", 10)
	r = sweep(t, tp.load(t), AllPairs{}, Options{K: 2})
	want := []string{"link a--b, link a--b-2", "link b--c, link c--d", "link b--c, link d--b", "link c--d, link d--b"}
	if !slices.Equal(sets(r), want) {
		t.Errorf("two parallel links: %q, want %q", sets(r), want)
	}
}

func TestSymmetryNeedsIdenticalLinks(t *testing.T) {
	tp := &topo{}
	tp.devsNamed("a", "b")
	tp.link("a", "b", 10)
	tp.link("a", "b", 20) // another cost: not interchangeable
	r := sweep(t, tp.load(t), AllPairs{}, Options{K: 1})
	if r.Stats.Symmetric != 0 {
		t.Errorf("links of different cost were treated as symmetric: %+v", r.Stats)
	}
	// Neither cuts a from b: nothing needs checking.
	if r.Stats.Checked != 0 || r.Stats.Proven != 2 {
		t.Errorf("stats %+v: want both links skipped", r.Stats)
	}
}

func TestDeviceFailures(t *testing.T) {
	s := ring(4).load(t)
	r := sweep(t, s, AllPairs{}, Options{K: 1, Devices: true})
	if !r.Holds {
		t.Errorf("a ring of 4 survives any device: %q", sets(r))
	}
	r = sweep(t, s, AllPairs{}, Options{K: 2, Devices: true})
	if want := []string{"device r1, device r3", "device r2, device r4"}; !slices.Equal(sets(r), want) {
		t.Errorf("device pairs %q, want %q", sets(r), want)
	}

	tp := &topo{}
	tp.devsNamed("a", "b", "c")
	tp.link("a", "b", 10)
	tp.link("b", "c", 10)
	r = sweep(t, tp.load(t), AllPairs{}, Options{K: 1, Devices: true})
	if want := []string{"device b"}; !slices.Equal(sets(r), want) {
		t.Errorf("line: %q, want %q", sets(r), want)
	}
	// The end devices carry no transit traffic: the reduction skips them.
	if r.Stats.Proven != 2 || r.Stats.Checked != 1 {
		t.Errorf("stats %+v: want a and c proven to hold", r.Stats)
	}

	// Links and devices together: a device and one of its links fail no
	// more than the device alone.
	r = sweep(t, s, AllPairs{}, Options{K: 2, Devices: true, Links: true})
	if r.Stats.Subsumed != 8 {
		t.Errorf("subsumed %d pairs, want 8 (4 devices × 2 links each)", r.Stats.Subsumed)
	}
	ex := sweep(t, s, AllPairs{}, Options{K: 2, Devices: true, Links: true, Exhaustive: true})
	if !slices.Equal(sets(r), sets(ex)) {
		t.Errorf("reduced %q, exhaustive %q", sets(r), sets(ex))
	}
}

func TestSiteFailures(t *testing.T) {
	tp := ring(4)
	tp.get("r1").site = "s1"
	tp.get("r2").site = "s2"
	tp.get("r3").site = "s1"
	tp.get("r4").site = "s2"
	// Losing a site takes its devices; what is left must still reach
	// each other, and r1 and r3 (or r2 and r4) are not adjacent.
	r := sweep(t, tp.load(t), AllPairs{}, Options{K: 1, Sites: true})
	if want := []string{"site s1", "site s2"}; !slices.Equal(sets(r), want) {
		t.Errorf("sites %q, want %q", sets(r), want)
	}
}

func TestReach(t *testing.T) {
	s := ring(4).load(t)
	r := sweep(t, s, Reach{From: "r1", To: "r3"}, Options{K: 2, Devices: true})
	if want := []string{"device r2, device r4"}; !slices.Equal(sets(r), want) {
		t.Errorf("reach r1→r3: %q, want %q", sets(r), want)
	}
	if r.Stats.Vacuous == 0 {
		t.Errorf("sets taking down r1 or r3 should be vacuous: %+v", r.Stats)
	}
	// Reach with a destination prefix: the loopback subnet of r3.
	r = sweep(t, s, Reach{From: "r1", To: "r3", Dst: netip.MustParsePrefix("10.0.0.3/32")}, Options{K: 2})
	if len(r.Failing) != 4 || !strings.Contains(r.Reductions[0], "equivalence: off") {
		t.Errorf("reach to a prefix: %q, reductions %q", sets(r), r.Reductions)
	}
	if _, err := Sweep(s, Reach{From: "r1", To: "nope"}, Options{}); err == nil || !strings.Contains(err.Error(), `"nope" is not a device`) {
		t.Errorf("unknown device: %v", err)
	}
	if _, err := Sweep(s, AllPairs{}, Options{K: 3}); err == nil {
		t.Errorf("k=3 should be refused")
	}
}

func TestIsolation(t *testing.T) {
	// r3's loopback is shielded from r1 by an ACL on r2; failing r1--r2
	// or r2--r3 sends r1's traffic the long way round, unfiltered.
	tp := &topo{}
	tp.devsNamed("r1", "r2", "r3", "r4")
	tp.link("r1", "r2", 10)
	tp.link("r2", "r3", 10)
	tp.link("r1", "r4", 50)
	tp.link("r4", "r3", 50)
	tp.docs = append(tp.docs, "kind: ACL\nname: shield\nrules:\n  - {action: deny, dst: 10.0.0.3/32}\n  - {action: permit}\n")
	tp.get("r2").ifaces[1] = strings.Replace(tp.get("r2").ifaces[1], "}", ", aclIn: shield}", 1) // r2 e0, from r1
	s := tp.load(t)
	inv := Isolation{From: "r1", To: netip.MustParsePrefix("10.0.0.3/32")}
	r := sweep(t, s, inv, Options{K: 1})
	if want := []string{"link r1--r2", "link r2--r3"}; !slices.Equal(sets(r), want) {
		t.Fatalf("isolation: %q, want %q (baseline %+v)", sets(r), want, r.Baseline)
	}
	ex := r.Failing[0].Violation.Example
	if ex.Before[0].Fate != tracer.DeniedIn || ex.After[0].Fate != tracer.Delivered {
		t.Errorf("example before %v after %v", ex.Before, ex.After)
	}
}

func TestACLDeniesPartOfTheTraffic(t *testing.T) {
	// r2 drops SSH to r3's loopback: all-pairs fails with nothing failed,
	// and the example is an SSH packet.
	tp := ring(3)
	tp.docs = append(tp.docs, "kind: ACL\nname: no-ssh\nrules:\n  - {action: deny, protocol: tcp, dst: 10.0.0.3/32, dstPorts: \"22\"}\n  - {action: permit}\n")
	tp.get("r3").ifaces[1] = strings.Replace(tp.get("r3").ifaces[1], "}", ", aclIn: no-ssh}", 1)
	r := sweep(t, tp.load(t), AllPairs{}, Options{K: 1})
	if r.Baseline == nil {
		t.Fatalf("the invariant should fail with nothing failed: %+v", r)
	}
	ex := r.Baseline.Example
	if ex.Packet.DstPort != 22 || ex.Packet.Dst != netip.MustParseAddr("10.0.0.3") {
		t.Errorf("example %s, want SSH to 10.0.0.3", ex.Packet)
	}
	if !slices.ContainsFunc(ex.After, func(p tracer.Path) bool { return p.Fate == tracer.DeniedIn }) {
		t.Errorf("after %v, want a denial", ex.After)
	}
	if r.Stats.Unchecked != r.Stats.Considered {
		t.Errorf("no set should be checked: %+v", r.Stats)
	}
	fs := Findings(tp.load(t), r)
	if len(fs) != 1 || !strings.HasSuffix(fs[0].ID, "/none") {
		t.Errorf("findings %+v", fs)
	}
}

func TestFirst(t *testing.T) {
	s := ring(5).load(t)
	r := sweep(t, s, AllPairs{}, Options{K: 2, First: true})
	if want := []string{"link r1--r2, link r2--r3"}; !slices.Equal(sets(r), want) {
		t.Errorf("first %q, want %q", sets(r), want)
	}
	if r.Stats.Unchecked == 0 {
		t.Errorf("stats %+v: sets after the first failure should be left", r.Stats)
	}
	for range 5 {
		again := sweep(t, s, AllPairs{}, Options{K: 2, First: true, Workers: 3})
		if !slices.Equal(sets(again), sets(r)) || again.Stats != r.Stats {
			t.Fatalf("first is not deterministic: %q %+v, then %q %+v", sets(r), r.Stats, sets(again), again.Stats)
		}
	}
}

func TestDeterministic(t *testing.T) {
	tp := ring(6)
	tp.link("r1", "r4", 10)
	tp.link("r1", "r4", 10)
	s := tp.load(t)
	var first []byte
	for _, w := range []int{1, 2, 4, 8, 1} {
		r := sweep(t, s, AllPairs{}, Options{K: 2, Links: true, Devices: true, Workers: w})
		var b bytes.Buffer
		if err := json.NewEncoder(&b).Encode(struct {
			R *Result
			F []finding.Finding
		}{r, Findings(s, r)}); err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = b.Bytes()
			continue
		}
		if !bytes.Equal(first, b.Bytes()) {
			t.Fatalf("workers %d: output differs", w)
		}
	}
}

func TestFindings(t *testing.T) {
	tp := &topo{}
	tp.devsNamed("a", "b", "c")
	tp.link("a", "b", 10)
	tp.link("a", "b", 10)
	tp.link("b", "c", 10)
	s := tp.load(t)
	r := sweep(t, s, AllPairs{}, Options{K: 2})
	fs := Findings(s, r)
	if len(fs) != len(r.Failing) {
		t.Fatalf("%d findings for %d failing sets", len(fs), len(r.Failing))
	}
	ids := map[string]bool{}
	for _, f := range fs {
		if f.Category != Category || f.Severity != finding.Critical || len(f.Evidence.Lines) < 3 || len(f.Objects) == 0 {
			t.Errorf("finding %+v", f)
		}
		if f.Objects[0].Pos.Line == 0 {
			t.Errorf("%s: object without position: %+v", f.ID, f.Objects[0])
		}
		ids[f.ID] = true
	}
	for _, id := range []string{"failures.k-tolerance/all-pairs/link:b--c", "failures.k-tolerance/all-pairs/link:a--b+link:a--b-2"} {
		if !ids[id] {
			t.Errorf("no finding %s in %v", id, ids)
		}
	}
}

func TestClasses(t *testing.T) {
	rules := func(ps ...string) *fwd.Network {
		d := &fwd.Device{Name: "d"}
		for _, p := range ps {
			pp := netip.MustParsePrefix(p)
			d.Rules = append(d.Rules, fwd.Rule{Prefix: pp, Priority: pp.Bits()})
		}
		return &fwd.Network{Devices: map[string]*fwd.Device{"d": d}}
	}
	render := func(cs []class) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.key()+" @"+c.rep.String())
		}
		return out
	}
	for _, tc := range []struct {
		rules []string
		q     string
		want  []string
	}{
		{[]string{"0.0.0.0/0", "10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "192.0.2.0/24"}, "10.0.0.0/8",
			[]string{"10.0.0.0/8 -10.1.0.0/16 @10.0.0.0", "10.1.0.0/16 -10.1.2.0/24 @10.1.0.0", "10.1.2.0/24 @10.1.2.0"}},
		{[]string{"10.1.0.0/24", "10.1.1.0/24"}, "10.1.0.0/16",
			[]string{"10.1.0.0/16 -10.1.0.0/24 -10.1.1.0/24 @10.1.2.0", "10.1.0.0/24 @10.1.0.0", "10.1.1.0/24 @10.1.1.0"}},
		{[]string{"10.1.0.0/17", "10.1.128.0/17"}, "10.1.0.0/16", // covered: no class of its own
			[]string{"10.1.0.0/17 @10.1.0.0", "10.1.128.0/17 @10.1.128.0"}},
		{[]string{"10.0.0.0/8"}, "10.0.0.7/32", []string{"10.0.0.7/32 @10.0.0.7"}},
	} {
		got := render(classes(rules(tc.rules...), netip.MustParsePrefix(tc.q)))
		if !slices.Equal(got, tc.want) {
			t.Errorf("classes of %s in %v:\n%q\nwant\n%q", tc.q, tc.rules, got, tc.want)
		}
	}
}
