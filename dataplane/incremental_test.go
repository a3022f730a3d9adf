package dataplane

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/preflight-sh/preflight/bdd"
	"github.com/preflight-sh/preflight/fibdump"
	"github.com/preflight-sh/preflight/fwd"
	"github.com/preflight-sh/preflight/internal/datasets"
	"github.com/preflight-sh/preflight/tracer"
)

// sameAsBuild checks an incremental model against a fresh Build of the
// network it should stand for, compiled in the model's own space (so sets
// compare by node), through Build's answers to the tracer (atomOracle):
// the same classes, each treated alike by both at every device and ACL,
// the same numbers of forwarding and ACL classes, and the same packets
// per device action.
func sameAsBuild(t *testing.T, x *Incremental, n *fwd.Network, forwardingOnly bool) *Model {
	t.Helper()
	m, err := BuildIn(x.Space, n, Options{ForwardingOnly: forwardingOnly})
	if err != nil {
		t.Fatal(err)
	}
	M := x.Space.M
	index := map[bdd.Node]int{}
	for i, a := range m.Atoms {
		index[a] = i
	}
	// What Build says an atom does at each device, and which ACLs permit
	// it.
	action := func(atom int, dev *fwd.Device) Action {
		if r := (atomOracle{m, atom}).Rule(dev); r != nil {
			return actionOf(r)
		}
		return Action{Kind: NoRoute}
	}
	permits := func(atom int, dev *fwd.Device, acl string) bool {
		ok, _ := atomOracle{m, atom}.Permit(dev, dev.ACLs[acl])
		return ok
	}
	classes := 0
	fwdVectors, aclVectors := map[string]bool{}, map[string]bool{}
	for f := range x.fatoms {
		fa := &x.fatoms[f]
		if !fa.live {
			continue
		}
		forBits(fa.pairs, func(a int32) {
			classes++
			i, ok := index[M.And(fa.set, x.aatoms[a].set)]
			if !ok {
				t.Fatalf("class %d∧%d is not an atom of Build (%d atoms, incremental %d classes)", f, a, len(m.Atoms), x.Classes())
			}
			var fv, av strings.Builder
			for d, dev := range x.devices {
				nd := n.Devices[dev.name]
				got, want := dev.actions[x.vec(int32(f))[d]].key(), action(i, nd).key()
				if got != want {
					t.Fatalf("class %d∧%d at %s: action %s, Build says %s", f, a, dev.name, got, want)
				}
				fv.WriteString(got + "|")
				if forwardingOnly {
					continue
				}
				for _, acl := range sortedKeys(nd.ACLs) {
					got, want := hasBit(x.aatoms[a].permit, dev.acls[acl]), permits(i, nd, acl)
					if got != want {
						t.Fatalf("class %d∧%d at %s: ACL %s permits %v, Build says %v", f, a, dev.name, acl, got, want)
					}
					fmt.Fprint(&av, got)
				}
			}
			fwdVectors[fv.String()], aclVectors[av.String()] = true, true
		})
	}
	if classes != len(m.Atoms) || classes != x.Classes() {
		t.Fatalf("%d classes (Classes says %d), Build has %d", classes, x.Classes(), len(m.Atoms))
	}
	if x.ForwardingClasses() != len(fwdVectors) || x.ACLClasses() != len(aclVectors) {
		t.Fatalf("%d forwarding and %d ACL classes, Build has %d and %d", x.ForwardingClasses(), x.ACLClasses(), len(fwdVectors), len(aclVectors))
	}
	for _, name := range m.Devices {
		want := map[string]bdd.Node{}
		for i, a := range m.Atoms {
			k := action(i, n.Devices[name]).key()
			want[k] = M.Or(want[k], a)
		}
		actions, preds := x.Predicates(name)
		if len(actions) != len(want) {
			t.Fatalf("%s: %d actions take packets, Build has %d", name, len(actions), len(want))
		}
		for k, a := range actions {
			if preds[k] != want[a.key()] {
				t.Fatalf("%s: action %s takes other packets than in Build", name, a.key())
			}
		}
	}
	return m
}

// cycles returns the keys of the cycles of loops.
func cycles(loops []Loop) []string {
	var out []string
	for _, l := range loops {
		out = append(out, strings.Join(l.Cycle, " "))
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// TestIncrementalStanford replays the Stanford trace: after the inserts,
// the model equals Build of the loaded network (494 forwarding classes;
// with ACLs 21 ACL classes and 5,996 joint ones), and the cycles reported
// over the trace are exactly the 20 that Build finds in the forwarding
// tables (APKeep reports the same 20 with ACLs); after the deletes, one
// class is left.
func TestIncrementalStanford(t *testing.T) {
	dir := filepath.Join(datasets.Dir(t), "stanford")
	n, err := fibdump.LoadStanford(dir)
	if err != nil {
		t.Fatal(err)
	}
	ups, err := fibdump.ReadStanfordUpdates(filepath.Join(dir, "updates"))
	if err != nil {
		t.Fatal(err)
	}
	fm, err := Build(n, Options{ForwardingOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	loops, _ := fm.Loops()
	want := cycles(loops)
	if len(want) != 20 {
		t.Fatalf("Build finds %d loops, want 20", len(want))
	}
	for _, c := range []struct {
		name                            string
		opts                            IncrementalOptions
		classes, fwdClasses, aclClasses int
	}{
		{"forwarding only", IncrementalOptions{ForwardingOnly: true}, 494, 494, 1},
		{"with ACLs", IncrementalOptions{}, 5996, 494, 21},
		{"with ACLs, checked from every device", IncrementalOptions{FromAllDevices: true}, 5996, 494, 21},
	} {
		t.Run(c.name, func(t *testing.T) {
			x, err := NewIncremental(WithoutRules(n), c.opts)
			if err != nil {
				t.Fatal(err)
			}
			var seen []Loop
			for _, u := range ups {
				r, err := x.Apply(u)
				if err != nil {
					t.Fatalf("line %d: %v", u.Line, err)
				}
				seen = append(seen, r.Loops...)
				if u.Line == 4526 { // the last insert
					if x.Classes() != c.classes || x.ForwardingClasses() != c.fwdClasses || x.ACLClasses() != c.aclClasses {
						t.Errorf("after the inserts: %d classes (%d forwarding, %d ACL), want %d (%d, %d)",
							x.Classes(), x.ForwardingClasses(), x.ACLClasses(), c.classes, c.fwdClasses, c.aclClasses)
					}
					sameAsBuild(t, x, n, c.opts.ForwardingOnly)
					if got := cycles(seen); !slices.Equal(got, want) {
						t.Errorf("loops seen over the inserts:\n%s\nBuild's:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
					}
				}
			}
			if got := cycles(seen); !slices.Equal(got, want) {
				t.Errorf("loops seen over the trace: %d, want Build's %d", len(got), len(want))
			}
			if x.Classes() != 1 || x.ForwardingClasses() != 1 || x.ACLClasses() != 1 {
				t.Errorf("after the deletes: %d classes (%d forwarding, %d ACL), want 1", x.Classes(), x.ForwardingClasses(), x.ACLClasses())
			}
		})
	}
}

// TestReplay replays the Stanford trace with ACLs and checks the summary,
// then a trace that deletes a rule never inserted.
func TestReplay(t *testing.T) {
	dir := filepath.Join(datasets.Dir(t), "stanford")
	n, err := fibdump.LoadStanford(dir)
	if err != nil {
		t.Fatal(err)
	}
	ups, err := fibdump.ReadStanfordUpdates(filepath.Join(dir, "updates"))
	if err != nil {
		t.Fatal(err)
	}
	x, err := NewIncremental(WithoutRules(n), IncrementalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := Replay(x, ups)
	if err != nil {
		t.Fatal(err)
	}
	if st.Updates != 9052 || st.Inserts != 4526 || len(st.Loops) != 20 ||
		st.AfterInserts != (ClassCounts{5996, 494, 21}) || st.End != (ClassCounts{1, 1, 1}) {
		t.Errorf("%d updates, %d inserts, %d loops, after the inserts %+v, at the end %+v; want 9052, 4526, 20, {5996 494 21}, {1 1 1}",
			st.Updates, st.Inserts, len(st.Loops), st.AfterInserts, st.End)
	}
	if !(0 < st.MedianMicros && st.MedianMicros <= st.P99Micros) || st.MeanMicros <= 0 || st.BlackHoles == 0 {
		t.Errorf("mean %v µs, median %v µs, p99 %v µs, %d black holes", st.MeanMicros, st.MedianMicros, st.P99Micros, st.BlackHoles)
	}
	bad := []fibdump.Update{{Device: "bbra_rtr", Line: 7, Rule: &fwd.Rule{Prefix: netip.MustParsePrefix("10.0.0.0/8"), Priority: 8, Action: fwd.Deliver}}}
	if _, err := Replay(x, bad); err == nil || !strings.Contains(err.Error(), "line 7") {
		t.Errorf("a bad trace gave error %v, want one naming line 7", err)
	}
}

// cloneNetwork copies what fibdump.ApplyUpdate changes: the devices, their
// rules and their ACLs.
func cloneNetwork(n *fwd.Network) *fwd.Network {
	out := &fwd.Network{Devices: map[string]*fwd.Device{}, Links: n.Links}
	for name, d := range n.Devices {
		c := *d
		c.Rules = slices.Clone(d.Rules)
		c.ACLs = map[string]*fwd.ACL{}
		for a, acl := range d.ACLs {
			c.ACLs[a] = &fwd.ACL{Name: acl.Name, Rules: slices.Clone(acl.Rules)}
		}
		out.Devices[name] = &c
	}
	return out
}

// randomUpdate returns a random update of n: the insert of a random rule
// (priority its prefix length when lpm is set, else random), or the delete
// of an installed one; ACL rules too when acls is set. seq numbers the
// updates.
func randomUpdate(r *rand.Rand, n *fwd.Network, seq int, lpm, acls bool) fibdump.Update {
	names := n.DeviceNames()
	name := names[r.IntN(len(names))]
	d := n.Devices[name]
	u := fibdump.Update{Insert: true, Device: name, Line: seq}
	if acls && r.IntN(3) == 0 {
		acl := []string{"f", "g"}[r.IntN(2)]
		u.ACL = acl
		if a := d.ACLs[acl]; a != nil && len(a.Rules) > 0 && r.IntN(3) == 0 {
			rule := a.Rules[r.IntN(len(a.Rules))]
			u.Insert, u.ACLRule = false, &rule
			return u
		}
		rule := fwd.ACLRule{Permit: r.IntN(3) > 0, Priority: r.IntN(3), Seq: seq, Proto: fwd.AnyProto, SrcPort: fwd.AnyPort, DstPort: fwd.AnyPort}
		switch r.IntN(4) {
		case 0:
			rule.Proto = fwd.Range{Lo: 17, Hi: 17}
		case 1:
			rule.DstPort = fwd.Range{Lo: 400, Hi: 500}
		case 2:
			rule.Dst = fwd.PrefixMatch(netip.MustParsePrefix([]string{"10.1.0.0/16", "10.1.2.0/24", "10.2.0.0/16", "10.0.0.0/8"}[r.IntN(4)]))
		}
		u.ACLRule = &rule
		return u
	}
	if len(d.Rules) > 0 && r.IntN(3) == 0 {
		rule := d.Rules[r.IntN(len(d.Rules))]
		u.Insert, u.Rule = false, &rule
		return u
	}
	prefixes := []string{"10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "10.1.2.128/25", "10.2.0.0/16", "0.0.0.0/0", "10.1.3.0/24", "10.1.2.5/32"}
	p := netip.MustParsePrefix(prefixes[r.IntN(len(prefixes))])
	rule := fwd.Rule{Prefix: p, Priority: p.Bits(), Seq: seq}
	if !lpm {
		rule.Priority = r.IntN(40)
	}
	var ports []string
	for _, l := range n.Links {
		if l.From.Device == name {
			ports = append(ports, l.From.Port)
		}
	}
	ports = append(ports, "up")
	for v := range d.VLANs {
		ports = append(ports, v)
	}
	switch r.IntN(7) {
	case 0:
		rule.Action = fwd.Drop
	case 1:
		rule.Action = fwd.Deliver
	default:
		rule.Ports = []string{ports[r.IntN(len(ports))]}
		if q := ports[r.IntN(len(ports))]; r.IntN(3) == 0 && q != rule.Ports[0] {
			rule.Ports = append(rule.Ports, q)
		}
	}
	u.Rule = &rule
	return u
}

// reaches reports whether some branch of a trace delivers the packet or
// takes it out of the network.
func reaches(paths []tracer.Path) bool {
	for _, p := range paths {
		if !p.Fate.Dropped() {
			return true
		}
	}
	return false
}

// TestIncrementalRandom applies random update sequences to random networks
// (with VLANs, ECMP, null routes, ACLs, and priorities that are not
// prefix lengths) and after every update compares the model with a fresh
// Build. The loops reported over the sequence must be exactly the cycles
// Build finds at some step, and every black hole reported must be one:
// the concrete tracer delivers a packet of it from its device before the
// update and not after.
func TestIncrementalRandom(t *testing.T) {
	for seed := range uint64(300) {
		r := rand.New(rand.NewPCG(seed, 11))
		n := randomNetwork(r)
		for _, name := range n.DeviceNames() {
			var ports []string
			for _, l := range n.Links {
				if l.From.Device == name {
					ports = append(ports, l.From.Port)
				}
			}
			if len(ports) >= 2 && r.IntN(2) == 0 {
				n.Devices[name].VLANs = map[string][]string{"vlan1": ports[:2]}
			}
		}
		opts := IncrementalOptions{ForwardingOnly: seed%5 == 4, FromAllDevices: seed%3 == 2}
		lpm := seed%4 != 1
		cur := cloneNetwork(n)
		if seed%2 == 0 {
			cur = cloneNetwork(WithoutRules(n))
		}
		if lpm {
			for _, d := range cur.Devices {
				for i := range d.Rules {
					d.Rules[i].Priority = d.Rules[i].Prefix.Bits()
				}
			}
		}
		x, err := NewIncremental(cur, opts)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		m := sameAsBuild(t, x, cur, opts.ForwardingOnly)
		loops, _ := m.Loops()
		built, reported := cycles(loops), []string(nil)
		for step := range 25 {
			u := randomUpdate(r, cur, 1000+step, lpm, !opts.ForwardingOnly)
			before := cloneNetwork(cur)
			if err := fibdump.ApplyUpdate(cur, u); err != nil {
				t.Fatalf("seed %d step %d: %v", seed, step, err)
			}
			res, err := x.Apply(u)
			if err != nil {
				t.Fatalf("seed %d step %d: %v", seed, step, err)
			}
			m := sameAsBuild(t, x, cur, opts.ForwardingOnly)
			sameWalks(t, x, m)
			loops, _ := m.Loops()
			now := cycles(loops)
			for _, c := range cycles(res.Loops) {
				if !slices.Contains(now, c) {
					t.Fatalf("seed %d step %d: reported loop %s is not one of Build's %v", seed, step, c, now)
				}
			}
			built = slices.Compact(slices.Sorted(slices.Values(append(built, now...))))
			reported = append(reported, cycles(res.Loops)...)
			tn, tb := cur, before
			if opts.ForwardingOnly {
				tn, tb = m.network(), withoutACLs(before)
			}
			for _, h := range res.BlackHoles {
				p, ok := x.Space.Example(x.Space.M.And(h.Dst, h.Headers))
				if !ok {
					t.Fatalf("seed %d step %d: an empty black hole", seed, step)
				}
				was, _ := tracer.Trace(tb, h.From, "", fwd.Packet(p))
				is, _ := tracer.Trace(tn, h.From, "", fwd.Packet(p))
				if !reaches(was) || reaches(is) {
					t.Fatalf("seed %d step %d: black hole %v from %s: before\n%s\nafter\n%s", seed, step, p, h.From, render(was), render(is))
				}
			}
		}
		// A cycle present at the start is not reported: the model was
		// loaded, not updated, into it.
		reported = append(reported, cycles(loops)...)
		if got := slices.Compact(slices.Sorted(slices.Values(reported))); !slices.Equal(got, built) {
			t.Fatalf("seed %d: loops reported %v, Build found %v", seed, got, built)
		}
	}
}

// sameWalks checks the walks of the incremental model against the tracer
// (through Build's Walk): every class, from every device, must reach and
// loop alike.
func sameWalks(t *testing.T, x *Incremental, m *Model) {
	t.Helper()
	M := x.Space.M
	mask := make([]uint64, x.awords)
	var res walkResult
	for f := range x.fatoms {
		if !x.fatoms[f].live {
			continue
		}
		forBits(x.fatoms[f].pairs, func(a int32) {
			atom := slices.Index(m.Atoms, M.And(x.fatoms[f].set, x.aatoms[a].set))
			clear(mask)
			setBit(mask, a)
			for d, name := range m.Devices {
				x.follow(int32(d), x.vec(int32(f)), mask, res.reset(x.awords))
				var got []string
				for _, l := range res.loops {
					got = append(got, l.key)
				}
				paths, _ := m.Walk(atom, name)
				var want []string
				for _, p := range paths {
					if p.Fate == tracer.Loop && p.Cycle {
						want = append(want, strings.Join(cycleOf(p), " "))
					}
				}
				slices.Sort(got)
				want = slices.Compact(slices.Sorted(slices.Values(want)))
				if hasBit(res.reached, a) != reaches(paths) || !slices.Equal(got, want) {
					t.Fatalf("class %d∧%d from %s: reached %v, cycles %v; the tracer says\n%s", f, a, name, hasBit(res.reached, a), got, render(paths))
				}
			}
		})
	}
}

// TestIncrementalErrors checks the updates the model refuses.
func TestIncrementalErrors(t *testing.T) {
	n := &fwd.Network{Devices: map[string]*fwd.Device{"a": {Name: "a"}}}
	x, err := NewIncremental(n, IncrementalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rule := &fwd.Rule{Prefix: netip.MustParsePrefix("10.0.0.0/8"), Priority: 8, Ports: []string{"p"}}
	for _, c := range []struct {
		u    fibdump.Update
		want string
	}{
		{fibdump.Update{Insert: true, Device: "b", Rule: rule}, "device b, which the model does not have"},
		{fibdump.Update{Device: "a", Rule: rule}, "not installed"},
		{fibdump.Update{Device: "a", ACL: "f", ACLRule: &fwd.ACLRule{}}, "no such ACL"},
		{fibdump.Update{Insert: true, Device: "a"}, "exactly one"},
		{fibdump.Update{Insert: true, Device: "a", Rule: &fwd.Rule{Prefix: netip.MustParsePrefix("2001:db8::/32")}}, "IPv4"},
	} {
		if _, err := x.Apply(c.u); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want one saying %q", c.u, err, c.want)
		}
	}
	v6 := &fwd.Network{Devices: map[string]*fwd.Device{"a": {Name: "a", Rules: []fwd.Rule{{Prefix: netip.MustParsePrefix("2001:db8::/32")}}}}}
	if _, err := NewIncremental(v6, IncrementalOptions{}); err == nil {
		t.Error("an IPv6 network was accepted")
	}
}

func ExampleIncremental() {
	n := &fwd.Network{
		Devices: map[string]*fwd.Device{"a": {Name: "a"}, "b": {Name: "b"}},
		// Two links from a to b, and back.
		Links: []fwd.Link{
			{From: fwd.PortRef{Device: "a", Port: "p"}, To: fwd.PortRef{Device: "b", Port: "q"}},
			{From: fwd.PortRef{Device: "b", Port: "r"}, To: fwd.PortRef{Device: "a", Port: "s"}},
		},
	}
	x, _ := NewIncremental(n, IncrementalOptions{})
	for _, u := range []fibdump.Update{
		{Insert: true, Device: "b", Rule: &fwd.Rule{Prefix: netip.MustParsePrefix("10.0.0.0/8"), Priority: 8, Action: fwd.Deliver}},
		{Insert: true, Device: "a", Rule: &fwd.Rule{Prefix: netip.MustParsePrefix("10.0.0.0/8"), Priority: 8, Ports: []string{"p"}}},
		{Insert: true, Device: "b", Rule: &fwd.Rule{Prefix: netip.MustParsePrefix("10.1.0.0/16"), Priority: 16, Ports: []string{"r"}}},
	} {
		r, _ := x.Apply(u)
		fmt.Printf("%s %s: %d changed, %d loops, %d black holes\n", u.Device, u.Rule.Prefix, r.Changed, len(r.Loops), len(r.BlackHoles))
		for _, l := range r.Loops {
			fmt.Printf("  loop %s, e.g. %s\n", strings.Join(l.Cycle, " → "), l.Example)
		}
	}
	fmt.Println(x.Classes(), "classes")
	// Output:
	// b 10.0.0.0/8: 1 changed, 0 loops, 0 black holes
	// a 10.0.0.0/8: 1 changed, 0 loops, 0 black holes
	// b 10.1.0.0/16: 1 changed, 1 loops, 1 black holes
	//   loop a[p] → b[r], e.g. tcp 0.0.0.0:49152 → 10.1.0.0:443
	// 3 classes
}
