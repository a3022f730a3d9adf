package failures

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/preflight-sh/preflight/fwd"
	"github.com/preflight-sh/preflight/routing"
	"github.com/preflight-sh/preflight/tracer"
	"github.com/preflight-sh/preflight/twin"
)

// randomTopo builds a random connected twin of 4 to 7 devices: a random
// tree plus extra links (some parallel), random IGP costs, up to three
// sites and, when asked, an ACL that drops SSH to a loopback (half the
// time) and static routes for loopbacks towards a neighbour (which can
// loop).
func randomTopo(rng *rand.Rand, acl, static bool) *topo {
	t := &topo{}
	n := 4 + rng.IntN(4)
	for i := range n {
		d := t.dev(fmt.Sprintf("d%d", i+1))
		d.site = fmt.Sprintf("s%d", 1+rng.IntN(3))
	}
	costs := []int{10, 10, 10, 20, 30}
	var pairs [][2]int
	for i := 1; i < n; i++ {
		pairs = append(pairs, [2]int{rng.IntN(i), i})
	}
	for range rng.IntN(n + 1) {
		a, b := rng.IntN(n), rng.IntN(n)
		if a != b {
			pairs = append(pairs, [2]int{min(a, b), max(a, b)})
		}
	}
	for range rng.IntN(2) { // a parallel link
		pairs = append(pairs, pairs[rng.IntN(len(pairs))])
	}
	for _, p := range pairs {
		t.link(t.devs[p[0]].name, t.devs[p[1]].name, costs[rng.IntN(len(costs))])
	}
	if acl && rng.IntN(2) == 0 {
		victim := 1 + rng.IntN(n)
		t.docs = append(t.docs, fmt.Sprintf("kind: ACL\nname: no-ssh\nrules:\n  - {action: deny, protocol: tcp, dst: 10.0.0.%d/32, dstPorts: \"22\"}\n  - {action: permit}\n", victim))
		// Every device has a link (the tree joins them all), so an
		// interface besides lo0.
		d := t.devs[rng.IntN(n)]
		j := 1 + rng.IntN(len(d.ifaces)-1)
		d.ifaces[j] = strings.Replace(d.ifaces[j], "}", ", aclIn: no-ssh}", 1)
	}
	for range rng.IntN(3) * b2i(static) {
		// A static route on a link's a end for a loopback, to the b end.
		k := rng.IntN(len(t.links))
		a := t.linkEnd(k, 0)
		a.statics = append(a.statics, fmt.Sprintf("{prefix: 10.0.0.%d/32, nextHop: 10.1.%d.1}", 1+rng.IntN(n), k))
	}
	return t
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// linkEnd returns the device at end i (0: a, 1: b) of link k.
func (t *topo) linkEnd(k, i int) *tdev {
	for _, line := range strings.Split(t.links[k], "\n") {
		if v, ok := strings.CutPrefix(line, []string{"a: ", "b: "}[i]); ok {
			name, _, _ := strings.Cut(v, ":")
			return t.get(name)
		}
	}
	panic("bad link")
}

// TestReducedMatchesExhaustive compares reduced and exhaustive sweeps on
// random twins: the same minimal failing sets, whatever fails.
func TestReducedMatchesExhaustive(t *testing.T) {
	kinds := []Options{{Links: true}, {Devices: true}, {Sites: true}, {Links: true, Devices: true}, {Links: true, Devices: true, Sites: true}}
	checked, skipped, lemma, lemmaChecked := 0, 0, 0, 0
	for seed := range 300 {
		rng := rand.New(rand.NewPCG(uint64(seed), 7))
		tp := randomTopo(rng, seed%3 == 0, seed%5 == 0)
		s := tp.load(t)
		var inv Invariant = AllPairs{}
		if seed%4 == 1 {
			inv = Reach{From: tp.devs[0].name, To: tp.devs[len(tp.devs)-1].name}
		}
		o := kinds[seed%len(kinds)]
		o.K = 2
		red := sweep(t, s, inv, o)
		o.noConnectivity = true
		lem := sweep(t, s, inv, o)
		o.Exhaustive = true
		ex := sweep(t, s, inv, o)
		if !slices.Equal(sets(red), sets(ex)) || !slices.Equal(sets(lem), sets(ex)) || (red.Baseline == nil) != (ex.Baseline == nil) {
			t.Fatalf("seed %d, %s, %+v:\nreduced    %q\nequivalence only %q\nexhaustive %q\n%s", seed, inv, o, sets(red), sets(lem), sets(ex), tp.files()["twin.yaml"])
		}
		lemmaChecked += lem.Stats.Checked
		if len(red.Notes) > 0 && strings.Contains(red.Notes[len(red.Notes)-1], "IGP graph") {
			t.Fatalf("seed %d: %s", seed, red.Notes)
		}
		checked += red.Stats.Checked
		skipped += ex.Stats.Checked - red.Stats.Checked
		if slices.ContainsFunc(red.Reductions, func(r string) bool { return strings.HasPrefix(r, "equivalence: 1 destination") }) {
			lemma++
		}
	}
	t.Logf("reduced sweeps checked %d sets, %d fewer than exhaustive ones (with the equivalence reduction alone: %d); %d used both", checked, skipped, lemmaChecked, lemma)
	if skipped == 0 || lemma == 0 {
		t.Errorf("the reductions were not exercised")
	}
}

// TestWalkerMatchesTracer compares the walker with the concrete tracer on
// random twins in random failure states: a demand holds when every branch
// of the trace of every packet class (split by the ACLs) is delivered to
// the destination's owner.
func TestWalkerMatchesTracer(t *testing.T) {
	demands, broken := 0, 0
	for seed := range 80 {
		rng := rand.New(rand.NewPCG(uint64(seed), 11))
		tp := randomTopo(rng, true, true)
		s := tp.load(t)
		u := newUniverse(s)
		sp, err := AllPairs{}.resolve(u)
		if err != nil {
			t.Fatal(err)
		}
		sw := &sweeper{u: u, sp: sp, o: Options{Links: true, Devices: true}, acls: newACLs(true)}
		sw.elements()
		var put []twin.Object
		for range rng.IntN(3) {
			put = append(put, downCopy(sw.elems[rng.IntN(len(sw.elems))].obj))
		}
		snap := s.Edit(put, nil)
		st := newState(u, snap, routing.BuildForwarding(snap).Network)
		st.hostTables(sp.hosts)
		var acls []*fwd.ACL
		for _, name := range st.net.DeviceNames() {
			for _, a := range st.net.Devices[name].ACLs {
				if !slices.ContainsFunc(acls, func(b *fwd.ACL) bool { return b.Name == a.Name }) {
					acls = append(acls, a)
				}
			}
		}
		w := newWalker(st, true)
		for di, d := range sp.hosts {
			if !st.up.ifaceUp(u, d.owner, d.iface) {
				continue
			}
			w.reset()
			c := hostClass(d.addr)
			w.rule = func(dev int) *fwd.Rule { return st.table[dev][di] }
			w.accept = func(f tracer.Fate, dev int) bool { return f == tracer.Delivered && dev == d.owner }
			w.permit = sw.permitFunc(st, c)
			pkts := []fwd.Packet{sw.packet(0, d.addr)}
			if len(acls) > 0 {
				pkts = sw.acls.split(c, acls)
			}
			for _, src := range sp.sources {
				if !st.up.dev[src] || src == d.owner {
					continue
				}
				got := w.visit(node{src, -1})
				want := true
				var trace []tracer.Path
				for _, p := range pkts {
					paths, err := tracer.Trace(st.net, u.devs[src].Name, "", p)
					if err != nil {
						t.Fatal(err)
					}
					for _, path := range paths {
						if path.Fate != tracer.Delivered || path.Hops[len(path.Hops)-1].Device != u.devs[d.owner].Name {
							want = false
							trace = paths
						}
					}
				}
				demands++
				if !want {
					broken++
				}
				if got != want {
					t.Fatalf("seed %d, %v down: walker says %v, tracer %v for %s → %s %s\n%v\n%s", seed, put, got, want, u.devs[src].Name, u.devs[d.owner].Name, d.addr, trace, tp.files()["twin.yaml"])
				}
				if got {
					used := w.usedBy(st.id(node{src, -1}))
					checkUsed(t, u, st, used, src, pkts[0])
				}
			}
		}
	}
	t.Logf("%d demands compared, %d broken", demands, broken)
	if broken == 0 || broken == demands {
		t.Errorf("the random twins do not exercise both outcomes")
	}
}

// checkUsed checks that the links and devices the walker says a delivered
// demand uses are those its trace uses.
func checkUsed(t *testing.T, u *universe, st *state, used bitset, src int, pkt fwd.Packet) {
	t.Helper()
	paths, _ := tracer.Trace(st.net, u.devs[src].Name, "", pkt)
	want := newBitset(u.words)
	for _, p := range paths {
		for _, h := range p.Hops {
			dev := u.devIdx[h.Device]
			want.set(u.devBit(dev))
			if h.OutPort != "" {
				if l := u.portLink(dev, h.OutPort); l >= 0 {
					want.set(l)
				}
			}
		}
	}
	if !slices.Equal(want, used) {
		t.Fatalf("used %v, want %v (paths %v)", used, want, paths)
	}
}

// TestShopReducedMatchesExhaustive cross-checks the reductions on the
// example twin, whose BGP, static defaults and ACLs they must see through.
func TestShopReducedMatchesExhaustive(t *testing.T) {
	if testing.Short() {
		t.Skip("checks every pair of links of the example twin")
	}
	s, err := twin.Load("../examples/shop")
	if err != nil {
		t.Fatal(err)
	}
	for _, inv := range []Invariant{AllPairs{}, Reach{From: "edge1.sin", To: "bb2.iad"}} {
		red := sweep(t, s, inv, Options{K: 2})
		ex := sweep(t, s, inv, Options{K: 2, Exhaustive: true})
		if !slices.Equal(sets(red), sets(ex)) || len(red.Notes) > 0 {
			t.Errorf("%s:\nreduced    %q\nexhaustive %q\nnotes %q", inv, sets(red), sets(ex), red.Notes)
		}
		t.Logf("%s: %d failing sets; %d of %d sets checked, %d exhaustively", inv, len(red.Failing), red.Stats.Checked, red.Stats.Considered, ex.Stats.Checked)
	}
}
