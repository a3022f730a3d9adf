// Package failures checks k-failure tolerance: for every set of up to k
// failed links, devices or sites, does an invariant of the forwarding
// (reachability between two devices, between all pairs of devices, or
// isolation) still hold? The answer is "it holds", or the minimal failing
// sets, each with a concrete counterexample: a packet, the path it took
// with nothing failed and its fate with the set failed.
//
// A failure set is checked on the twin itself: the set's objects are
// copied with state down (Snapshot.Edit), the data plane is computed again
// (routing.Build) and the invariant is decided on it exactly (eval.go).
// Sets are enumerated by size, singles first; a pair is only reported, or
// even checked, if neither of its elements fails alone. Four reductions
// cut the number of data planes computed, each sound (reduce.go argues
// why; the tests compare reduced and exhaustive sweeps):
//
//   - symmetry: interchangeable parallel links (same devices, cost,
//     capacity, interface states and ACLs, and no route, session or
//     invariant naming their addresses) are failed through one
//     representative per class, singly and in pairs;
//   - connectivity: when the invariant's destinations are forwarded by
//     connected and IGP routes only and no ACL on a link restricts them,
//     a set breaks a demand exactly when it cuts the source off from the
//     destination in the IGP graph, so only such sets are checked;
//   - equivalence: for the other destinations so forwarded, an element
//     that no traffic of the invariant uses cannot break it, and a pair
//     {a, b} can only break a demand that uses b once a has failed and a
//     once b has failed, so only such pairs are checked;
//   - subsumption: a pair whose failed state is that of one of its
//     elements (a device and one of its links) is that element's state.
//
// Checks run on every core (Options.Workers), and results are ordered by
// the enumeration, never by completion, so output is deterministic.
package failures

import (
	"fmt"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/preflight-sh/preflight/fwd"
	"github.com/preflight-sh/preflight/routing"
	"github.com/preflight-sh/preflight/tracer"
	"github.com/preflight-sh/preflight/twin"
)

// Options controls a sweep.
type Options struct {
	// K is the largest failure set: 1 or 2 (0 means 1).
	K int
	// Links, Devices and Sites choose what fails; none set means links.
	Links, Devices, Sites bool
	// First stops at the first failing set, in enumeration order.
	First bool
	// Exhaustive turns the reductions off: every set is checked except
	// those that cannot be minimal (a pair holding a failing element) or
	// that take down the invariant's own end points.
	Exhaustive bool
	// Workers is the number of sets checked at once (0: GOMAXPROCS).
	Workers int
	// NoFailures checks the invariant with nothing failed only.
	NoFailures bool

	// noConnectivity leaves every destination to the equivalence
	// reduction (for tests of that reduction).
	noConnectivity bool
}

// Element is a twin object a failure takes down.
type Element struct {
	Kind string `json:"kind"` // Link, Device or Site
	Name string `json:"name"`
}

func (e Element) String() string { return strings.ToLower(e.Kind) + " " + e.Name }

// Result is the answer of a sweep for one invariant.
type Result struct {
	// Invariant says what is required; ID names it in findings.
	Invariant string `json:"invariant"`
	ID        string `json:"id"`
	// K is the largest failure set considered, Kinds what fails.
	K     int      `json:"k"`
	Kinds []string `json:"kinds"`
	// Holds is true when the invariant holds with nothing failed and
	// under every failure set considered (up to the first failure found,
	// with Options.First).
	Holds bool `json:"holds"`
	// Baseline is set when the invariant fails with nothing failed; no
	// failure set is then checked.
	Baseline *Violation `json:"baseline,omitempty"`
	// Failing lists the minimal failing sets, smallest first, then in
	// element order.
	Failing []FailingSet `json:"failing"`
	Stats   Stats        `json:"stats"`
	// Reductions says which reductions were used, or why not.
	Reductions []string `json:"reductions"`
	// Notes say what the invariant leaves out.
	Notes []string `json:"notes,omitempty"`
	// Elapsed is the wall-clock time of the sweep (not part of the
	// deterministic output).
	Elapsed time.Duration `json:"-"`
}

// FailingSet is a minimal set of elements whose failure breaks the
// invariant.
type FailingSet struct {
	Elements []Element `json:"elements"`
	// SameAs names the symmetric set that was checked in this one's place
	// (its example stands for this one); empty when checked itself.
	SameAs    []Element  `json:"sameAs,omitempty"`
	Violation *Violation `json:"violation,omitempty"`
}

// Violation is how an invariant fails in one state.
type Violation struct {
	// Broken of Demands source/destination pairs fail (for isolation:
	// destination classes that are reached).
	Broken  int     `json:"broken"`
	Demands int     `json:"demands"`
	Example Example `json:"example"`
}

// Example is one packet that shows a violation: the paths it takes with
// nothing failed (Before) and in the failed state (After).
type Example struct {
	From   string        `json:"from"`
	To     string        `json:"to"`
	Packet fwd.Packet    `json:"packet"`
	Before []tracer.Path `json:"before"`
	After  []tracer.Path `json:"after"`
}

// Stats counts the sets of a sweep. Every set of size 1 to K falls in
// exactly one of the counts after Considered.
type Stats struct {
	// Elements is the number of up elements that may fail.
	Elements int `json:"elements"`
	// Considered is the number of sets of size 1 to K.
	Considered int `json:"considered"`
	// Checked sets had their data plane computed (the state with nothing
	// failed is not counted).
	Checked int `json:"checked"`
	// Symmetric sets were stood in by a symmetric set.
	Symmetric int `json:"symmetric"`
	// Proven sets hold by the equivalence or connectivity reduction,
	// without computing their data plane.
	Proven int `json:"proven"`
	// Subsumed pairs fail no more than one of their elements.
	Subsumed int `json:"subsumed"`
	// NonMinimal pairs hold an element that fails alone.
	NonMinimal int `json:"nonMinimal"`
	// Vacuous sets take down the invariant's own source or destination.
	Vacuous int `json:"vacuous"`
	// Unchecked sets were left after stopping at the first failure.
	Unchecked int `json:"unchecked"`
}

// Sweep checks an invariant under every set of up to o.K failed elements.
func Sweep(s *twin.Snapshot, inv Invariant, o Options) (*Result, error) {
	start := time.Now()
	if o.K == 0 {
		o.K = 1
	}
	if o.K < 1 || o.K > 2 {
		return nil, fmt.Errorf("k is %d: failure sets of 1 or 2 elements are supported", o.K)
	}
	if !o.Links && !o.Devices && !o.Sites {
		o.Links = true
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	u := newUniverse(s)
	sp, err := inv.resolve(u)
	if err != nil {
		return nil, err
	}
	sw := &sweeper{u: u, sp: sp, o: o, acls: newACLs(hasIPv6(u, sp))}
	sw.elements()
	res := &Result{Invariant: inv.String(), ID: inv.ID(), K: o.K, Failing: []FailingSet{}, Reductions: []string{}, Notes: sp.notes}
	for _, k := range []struct {
		on   bool
		name string
	}{{o.Links, "link"}, {o.Devices, "device"}, {o.Sites, "site"}} {
		if k.on {
			res.Kinds = append(res.Kinds, k.name)
		}
	}
	n := len(sw.elems)
	res.Stats.Elements = n
	res.Stats.Considered = n
	if o.K == 2 {
		res.Stats.Considered += n * (n - 1) / 2
	}

	reducible, why := sw.reducibility()
	sw.reducible = reducible && !o.Exhaustive
	base := sw.baseline()
	if base.vio != nil {
		res.Baseline = base.vio
		res.Stats.Unchecked = res.Stats.Considered
		res.Elapsed = time.Since(start)
		return res, nil
	}
	if o.NoFailures {
		res.K, res.Kinds, res.Stats.Considered = 0, nil, 0
		res.Holds = true
		res.Elapsed = time.Since(start)
		return res, nil
	}
	switch {
	case o.Exhaustive:
		res.Reductions = append(res.Reductions, "none: exhaustive sweep")
	case sw.reducible:
		clean := 0
		for _, c := range sw.clean {
			if c {
				clean++
			}
		}
		if clean > 0 {
			res.Reductions = append(res.Reductions, fmt.Sprintf("connectivity: %d of %d destinations are forwarded by connected and IGP routes only and no ACL on a link restricts them, so a set breaks them exactly when it cuts them off from a source in the IGP graph; only such sets are checked", clean, len(sw.clean)))
		}
		if clean < len(sw.clean) {
			res.Reductions = append(res.Reductions, fmt.Sprintf("equivalence: %d destination(s) are forwarded by connected and IGP routes only, so sets that change none of their paths are skipped", len(sw.clean)-clean))
		}
	default:
		res.Reductions = append(res.Reductions, "equivalence: off ("+why+")")
	}
	if !o.Exhaustive {
		if classes, links := sw.symmetry(); classes > 0 {
			res.Reductions = append(res.Reductions, fmt.Sprintf("symmetry: %d class(es) of interchangeable parallel links stand for %d links", classes, links))
		}
	}
	if sw.reducible {
		sw.touchSets(base.used)
	}
	stop := sw.singles(res)
	if o.K == 2 && !stop {
		sw.pairs(res)
	}
	slices.SortStableFunc(res.Failing, func(a, b FailingSet) int { return len(a.Elements) - len(b.Elements) })
	if len(sw.disagree) > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("the IGP graph says %d set(s) cut a destination off but the data plane delivers it (first: %s); the data plane decided, but sets the graph said hold were not checked: run an exhaustive sweep, and please report this", len(sw.disagree), sw.disagree[0]))
	}
	res.Holds = len(res.Failing) == 0
	res.Elapsed = time.Since(start)
	return res, nil
}

// sweeper holds the state of one sweep.
type sweeper struct {
	u     *universe
	sp    *spec
	o     Options
	elems []element
	pos   map[Element]int // by element: its position in elems
	acls  *acls
	base  *state // the state with nothing failed

	reducible bool
	clean     []bool           // by host destination: decided by IGP connectivity
	failed    []bool           // by element: fails alone
	touched   [][]int          // by element: the demands it touches with nothing failed
	usedAfter []map[int]bitset // by element: what each touched demand uses once it failed
	byBit     [][]int          // elements whose failure takes down a link or device bit
	members   map[int][]int    // symmetry classes with more than one element, by representative
	disagree  []string         // sets the IGP graph says fail and the data plane says hold
}

// element is a failure candidate.
type element struct {
	Element
	obj  twin.Object
	down bitset // the links and devices its failure takes down
	rep  int    // the representative of its symmetry class
}

// elements lists the up links, devices and sites that may fail, in that
// order, each by name.
func (sw *sweeper) elements() {
	u := sw.u
	up := u.up(u.snap)
	devLinks := make([][]int, len(u.devs))
	for k, e := range u.ends {
		devLinks[e[0].dev] = append(devLinks[e[0].dev], k)
		devLinks[e[1].dev] = append(devLinks[e[1].dev], k)
	}
	addDev := func(b bitset, i int) {
		b.set(u.devBit(i))
		for _, k := range devLinks[i] {
			b.set(k)
		}
	}
	add := func(kind, name string, obj twin.Object, down bitset) {
		sw.elems = append(sw.elems, element{Element: Element{kind, name}, obj: obj, down: down, rep: len(sw.elems)})
	}
	if sw.o.Links {
		for k, l := range u.links {
			if up.link[k] {
				b := newBitset(u.words)
				b.set(k)
				add("Link", l.Name, l, b)
			}
		}
	}
	if sw.o.Devices {
		for i, d := range u.devs {
			if up.dev[i] {
				b := newBitset(u.words)
				addDev(b, i)
				add("Device", d.Name, d, b)
			}
		}
	}
	if sw.o.Sites {
		for _, site := range u.sites {
			b := newBitset(u.words)
			has := false
			for i, d := range u.devs {
				if d.Site == site.Name && up.dev[i] {
					addDev(b, i)
					has = true
				}
			}
			if has { // a site without up devices carries no traffic
				add("Site", site.Name, site, b)
			}
		}
	}
	sw.pos = make(map[Element]int, len(sw.elems))
	for i, e := range sw.elems {
		if _, dup := sw.pos[e.Element]; !dup {
			sw.pos[e.Element] = i
		}
	}
	sw.failed = make([]bool, len(sw.elems))
	sw.byBit = make([][]int, len(u.links)+len(u.devs))
	for i, e := range sw.elems {
		e.down.each(func(b int) { sw.byBit[b] = append(sw.byBit[b], i) })
	}
}

func hasIPv6(u *universe, sp *spec) bool {
	if sp.prefix.IsValid() && sp.prefix.Addr().Is6() {
		return true
	}
	for _, d := range u.devs {
		for _, f := range d.Interfaces {
			for _, a := range f.Addresses {
				if a.Addr().Is6() {
					return true
				}
			}
		}
	}
	return false
}

// vacuous reports whether an element takes down a device the invariant
// needs.
func (sw *sweeper) vacuous(i int) bool {
	for _, d := range sw.sp.keep {
		if sw.elems[i].down.has(sw.u.devBit(d)) {
			return true
		}
	}
	return false
}

// outcome is the result of checking one failure set.
type outcome struct {
	vio  *Violation
	used map[int]bitset // what recorded demands use
}

// baseline checks the state with nothing failed, and finds which
// destinations are clean (for the connectivity reduction) and records
// the paths of the others' demands (for the equivalence reduction).
func (sw *sweeper) baseline() *outcome {
	sw.base = newState(sw.u, sw.u.snap, routing.BuildForwarding(sw.u.snap).Network)
	var record func(int) bool
	if sw.reducible {
		sw.clean = sw.cleanDests(sw.base)
		if sw.o.noConnectivity {
			clear(sw.clean)
		}
		nd := len(sw.sp.hosts)
		record = func(k int) bool { return !sw.clean[k%nd] }
	}
	return sw.evaluate(sw.base, record)
}

// check computes the data plane with the elements of set down and decides
// the invariant; record says which demands' paths to keep.
func (sw *sweeper) check(set []int, record func(int) bool) *outcome {
	put := make([]twin.Object, len(set))
	for i, e := range set {
		put[i] = downCopy(sw.elems[e].obj)
	}
	snap := sw.u.snap.Edit(put, nil)
	return sw.evaluate(newState(sw.u, snap, routing.BuildForwarding(snap).Network), record)
}

// evaluate decides the invariant in one state.
func (sw *sweeper) evaluate(st *state, record func(int) bool) *outcome {
	o := &outcome{}
	switch {
	case sw.sp.hosts != nil:
		o.vio, o.used = sw.evalHosts(st, record)
	case sw.sp.mode == mustDeliver:
		o.vio = sw.evalPrefix(st)
	default:
		o.vio = sw.evalIsolation(st)
	}
	return o
}

// downCopy returns a copy of a link, device or site with state down. Only
// the state changes, so a shallow copy is enough.
func downCopy(o twin.Object) twin.Object {
	switch o := o.(type) {
	case *twin.Link:
		c := *o
		c.State = twin.Down
		return &c
	case *twin.Device:
		c := *o
		c.State = twin.Down
		return &c
	case *twin.Site:
		c := *o
		c.State = twin.Down
		return &c
	}
	panic(fmt.Sprintf("failures: cannot fail a %T", o))
}

// run calls f(i) for i in [0, n) on o.Workers goroutines, handing out
// indexes in increasing order. With first, it stops handing out indexes
// beyond the first i whose outcome is a violation; every index before it
// is still checked, so the first violation is the same on every run.
// Indexes not checked have a nil outcome.
func (sw *sweeper) run(n int, first bool, f func(i int) *outcome) []*outcome {
	out := make([]*outcome, n)
	var next, stop atomic.Int64
	stop.Store(int64(n))
	var wg sync.WaitGroup
	for range min(sw.o.Workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(n) || first && i > stop.Load() {
					return
				}
				o := f(int(i))
				out[i] = o
				if first && o.vio != nil {
					for s := stop.Load(); i < s && !stop.CompareAndSwap(s, i); s = stop.Load() {
					}
				}
			}
		}()
	}
	wg.Wait()
	if first { // forget what was checked beyond the first violation
		for i, o := range out {
			if o != nil && o.vio != nil {
				clear(out[i+1:])
				break
			}
		}
	}
	return out
}

// singles checks every single failure and reports whether the sweep
// stops (Options.First and one failed).
func (sw *sweeper) singles(res *Result) bool {
	st := &res.Stats
	var jobs []int
	for i, e := range sw.elems {
		switch {
		case e.rep != i:
			st.Symmetric++
		case sw.vacuous(i):
			st.Vacuous++
		case sw.reducible && !sw.cuts([]int{i}) && len(sw.touched[i]) == 0:
			st.Proven++
		default:
			jobs = append(jobs, i)
		}
	}
	sw.usedAfter = make([]map[int]bitset, len(sw.elems))
	outs := sw.run(len(jobs), sw.o.First, func(j int) *outcome {
		i := jobs[j]
		var record func(int) bool
		if sw.reducible && sw.o.K == 2 && len(sw.touched[i]) > 0 {
			want := map[int]bool{}
			for _, d := range sw.touched[i] {
				want[d] = true
			}
			record = func(d int) bool { return want[d] }
		}
		return sw.check([]int{i}, record)
	})
	stopped := false
	for j, o := range outs {
		i := jobs[j]
		if o == nil {
			st.Unchecked++
			continue
		}
		st.Checked++
		sw.confirm([]int{i}, o)
		if o.vio == nil {
			sw.usedAfter[i] = o.used
			continue
		}
		if sw.o.First {
			res.Failing = append(res.Failing, FailingSet{Elements: []Element{sw.elems[i].Element}, Violation: o.vio})
			stopped = true
			continue
		}
		for _, m := range sw.class(i) {
			sw.failed[m] = true
			fs := FailingSet{Elements: []Element{sw.elems[m].Element}}
			if m == i {
				fs.Violation = o.vio
			} else {
				fs.SameAs = []Element{sw.elems[i].Element}
			}
			res.Failing = append(res.Failing, fs)
		}
	}
	if stopped { // every pair is left unchecked
		st.Unchecked += st.Considered - st.Elements
	}
	slices.SortStableFunc(res.Failing, func(a, b FailingSet) int { return sw.index(a.Elements[0]) - sw.index(b.Elements[0]) })
	return stopped
}

// index returns an element's position.
func (sw *sweeper) index(e Element) int { return sw.pos[e] }

// class returns the members of an element's symmetry class.
func (sw *sweeper) class(i int) []int {
	if m := sw.members[sw.elems[i].rep]; m != nil {
		return m
	}
	return []int{i}
}

// canonical returns the pair that stands for {i, j}: the representatives
// of their classes, or for two members of one class its first two.
func (sw *sweeper) canonical(i, j int) [2]int {
	ri, rj := sw.elems[i].rep, sw.elems[j].rep
	if ri == rj {
		m := sw.class(i)
		return [2]int{m[0], m[1]}
	}
	return [2]int{min(ri, rj), max(ri, rj)}
}

// pairs checks the pairs of elements that hold alone.
func (sw *sweeper) pairs(res *Result) {
	st := &res.Stats
	var cand map[[2]int]bool
	if sw.reducible {
		cand = sw.pairCandidates()
	}
	unclean := slices.Contains(sw.clean, false)
	var jobs [][2]int
	n := len(sw.elems)
	for i := range n {
		for j := i + 1; j < n; j++ {
			p := [2]int{i, j}
			switch {
			case sw.vacuous(i) || sw.vacuous(j):
				st.Vacuous++
			case sw.failed[i] || sw.failed[j]:
				st.NonMinimal++
			case sw.canonical(i, j) != p:
				st.Symmetric++
			case !sw.o.Exhaustive && (sw.elems[i].down.subset(sw.elems[j].down) || sw.elems[j].down.subset(sw.elems[i].down)):
				st.Subsumed++
			case sw.reducible && !sw.cuts(p[:]) && (!unclean || sw.elems[i].rep != sw.elems[j].rep && !cand[p]):
				st.Proven++
			default:
				jobs = append(jobs, p)
			}
		}
	}
	outs := sw.run(len(jobs), sw.o.First, func(k int) *outcome { return sw.check(jobs[k][:], nil) })
	var found []FailingSet
	for k, o := range outs {
		if o == nil {
			st.Unchecked++
			continue
		}
		st.Checked++
		sw.confirm(jobs[k][:], o)
		if o.vio == nil {
			continue
		}
		p := jobs[k]
		rep := []Element{sw.elems[p[0]].Element, sw.elems[p[1]].Element}
		if sw.o.First {
			found = append(found, FailingSet{Elements: rep, Violation: o.vio})
			continue
		}
		for _, img := range sw.images(p) {
			fs := FailingSet{Elements: []Element{sw.elems[img[0]].Element, sw.elems[img[1]].Element}}
			if img == p {
				fs.Violation = o.vio
			} else {
				fs.SameAs = rep
			}
			found = append(found, fs)
		}
	}
	slices.SortStableFunc(found, func(a, b FailingSet) int {
		if c := sw.index(a.Elements[0]) - sw.index(b.Elements[0]); c != 0 {
			return c
		}
		return sw.index(a.Elements[1]) - sw.index(b.Elements[1])
	})
	res.Failing = append(res.Failing, found...)
}

// confirm records a set the connectivity reduction says fails but whose
// data plane holds the invariant.
func (sw *sweeper) confirm(set []int, o *outcome) {
	if o.vio != nil || !sw.reducible || !sw.cuts(set) {
		return
	}
	names := make([]string, len(set))
	for i, e := range set {
		names[i] = sw.elems[e].String()
	}
	sw.disagree = append(sw.disagree, strings.Join(names, " and "))
}

// images returns the pairs a canonical pair stands for, itself included.
func (sw *sweeper) images(p [2]int) [][2]int {
	a, b := sw.class(p[0]), sw.class(p[1])
	var out [][2]int
	if sw.elems[p[0]].rep == sw.elems[p[1]].rep {
		for x := range a {
			for y := x + 1; y < len(a); y++ {
				out = append(out, [2]int{a[x], a[y]})
			}
		}
		return out
	}
	for _, x := range a {
		for _, y := range b {
			out = append(out, [2]int{min(x, y), max(x, y)})
		}
	}
	return out
}

// evalHosts decides a host invariant in one state: every demand (source,
// host address) must be delivered to the address's owner.
func (sw *sweeper) evalHosts(st *state, record func(int) bool) (*Violation, map[int]bitset) {
	sp := sw.sp
	st.hostTables(sp.hosts)
	w := newWalker(st, record != nil)
	var used map[int]bitset
	if record != nil {
		used = map[int]bitset{}
	}
	nd := len(sp.hosts)
	broken, total, firstBad := 0, 0, -1
	for di, d := range sp.hosts {
		if !st.up.ifaceUp(sw.u, d.owner, d.iface) {
			continue
		}
		w.reset()
		c := hostClass(d.addr)
		w.rule = func(dev int) *fwd.Rule { return st.table[dev][di] }
		w.accept = func(f tracer.Fate, dev int) bool { return f == tracer.Delivered && dev == d.owner }
		w.permit = sw.permitFunc(st, c)
		for si, s := range sp.sources {
			if !st.up.dev[s] || sp.pairwise && s == d.owner {
				continue
			}
			total++
			k := si*nd + di
			start := node{s, -1}
			if w.visit(start) {
				if record != nil && record(k) {
					used[k] = slices.Clone(w.usedBy(st.id(start)))
				}
				continue
			}
			broken++
			if firstBad < 0 || k < firstBad {
				firstBad = k
			}
		}
	}
	if broken == 0 {
		return nil, used
	}
	d := sp.hosts[firstBad%nd]
	from := sp.sources[firstBad/nd]
	accept := func(p tracer.Path) bool {
		return p.Fate == tracer.Delivered && p.Hops[len(p.Hops)-1].Device == sw.u.devs[d.owner].Name
	}
	ex := sw.example(st, from, hostClass(d.addr), sw.u.devs[d.owner].Name, accept)
	return &Violation{Broken: broken, Demands: total, Example: ex}, used
}

func hostClass(a netip.Addr) class {
	return class{prefix: netip.PrefixFrom(a, a.BitLen()), rep: a}
}

// permitFunc returns, for one destination class, whether a device's ACL
// permits every packet of it.
func (sw *sweeper) permitFunc(st *state, c class) func(dev int, acl string) bool {
	return func(dev int, name string) bool {
		acl := st.devs[dev].ACLs[name]
		return acl != nil && sw.acls.permitsAll(c, acl)
	}
}

// evalPrefix decides Reach with a destination prefix: every class of the
// prefix must be delivered to the device To or leave through one of its
// ports.
func (sw *sweeper) evalPrefix(st *state) *Violation {
	sp := sw.sp
	from, to := sp.sources[0], sp.to
	cs := classes(st.net, sp.prefix)
	w := newWalker(st, false)
	w.accept = func(f tracer.Fate, dev int) bool { return (f == tracer.Delivered || f == tracer.Exited) && dev == to }
	bad := -1
	broken := 0
	rules := make([]*fwd.Rule, len(st.devs)) // of the current class, by device
	looked := make([]bool, len(st.devs))
	for i, c := range cs {
		w.reset()
		clear(looked)
		w.rule = func(dev int) *fwd.Rule {
			if !looked[dev] {
				looked[dev], rules[dev] = true, tracer.Lookup(st.devs[dev], c.rep)
			}
			return rules[dev]
		}
		w.permit = sw.permitFunc(st, c)
		if !w.visit(node{from, -1}) {
			broken++
			if bad < 0 {
				bad = i
			}
		}
	}
	if broken == 0 {
		return nil
	}
	toName := sw.u.devs[to].Name
	accept := func(p tracer.Path) bool {
		return (p.Fate == tracer.Delivered || p.Fate == tracer.Exited) && p.Hops[len(p.Hops)-1].Device == toName
	}
	return &Violation{Broken: broken, Demands: len(cs), Example: sw.example(st, from, cs[bad], toName, accept)}
}

// evalIsolation decides Isolation: no packet of any class of the prefix
// may be delivered or leave the network. Each class is split into the
// parts every ACL treats alike, so one concrete packet per part decides
// the part exactly.
func (sw *sweeper) evalIsolation(st *state) *Violation {
	sp := sw.sp
	from := sw.u.devs[sp.sources[0]].Name
	var list []*fwd.ACL
	seen := map[string]bool{}
	for _, name := range st.net.DeviceNames() {
		for _, acl := range st.net.Devices[name].ACLs {
			if !seen[acl.Name] {
				seen[acl.Name] = true
				list = append(list, acl)
			}
		}
	}
	slices.SortFunc(list, func(a, b *fwd.ACL) int { return strings.Compare(a.Name, b.Name) })
	reaches := func(p tracer.Path) bool { return p.Fate == tracer.Delivered || p.Fate == tracer.Exited }
	var vio *Violation
	total := 0
	for _, c := range classes(st.net, sp.prefix) {
		pkts := []fwd.Packet{sw.packet(sp.sources[0], c.rep)}
		if len(list) > 0 {
			pkts = sw.acls.split(c, list)
		}
		for _, pkt := range pkts {
			total++
			after, _ := tracer.Trace(st.net, from, "", pkt)
			if !slices.ContainsFunc(after, reaches) {
				continue
			}
			if vio == nil {
				before, _ := tracer.Trace(sw.baseNet(st), from, "", pkt)
				vio = &Violation{Example: Example{From: from, To: sp.prefix.String(), Packet: pkt, Before: before, After: after}}
			}
			vio.Broken++
		}
	}
	if vio != nil {
		vio.Demands = total
	}
	return vio
}

// baseNet returns the network with nothing failed (st itself while the
// baseline is being checked).
func (sw *sweeper) baseNet(st *state) *fwd.Network {
	if sw.base == nil {
		return st.net
	}
	return sw.base.net
}

// packet returns the example packet from a device to an address: TCP to
// port 443 from the device's first loopback of the family, or else its
// first address of the family.
func (sw *sweeper) packet(from int, dst netip.Addr) fwd.Packet {
	src := netip.IPv4Unspecified()
	if dst.Is6() {
		src = netip.IPv6Unspecified()
	}
	found := false
scan:
	for _, f := range sw.u.devs[from].Interfaces {
		for _, a := range f.Addresses {
			switch {
			case a.Addr().Is4() != dst.Is4():
			case a.IsSingleIP():
				src = a.Addr()
				break scan
			case !found:
				src, found = a.Addr(), true
			}
		}
	}
	return fwd.Packet{Src: src, Dst: dst, Proto: 6, SrcPort: 49152, DstPort: 443}
}

// example traces a packet of class c from a device in a failed state and
// with nothing failed. The packet is the plain one unless it arrives and
// an ACL denies part of the class; then it is a packet that ACL denies.
func (sw *sweeper) example(st *state, from int, c class, to string, accept func(tracer.Path) bool) Example {
	name := sw.u.devs[from].Name
	pkt := sw.packet(from, c.rep)
	after, _ := tracer.Trace(st.net, name, "", pkt)
	if !slices.ContainsFunc(after, func(p tracer.Path) bool { return !accept(p) }) {
		if p, ok := sw.deniedPacket(st, c, after); ok {
			pkt = p
			after, _ = tracer.Trace(st.net, name, "", pkt)
		}
	}
	before, _ := tracer.Trace(sw.baseNet(st), name, "", pkt)
	return Example{From: name, To: to, Packet: pkt, Before: before, After: after}
}

// deniedPacket finds an ACL on the paths that denies part of the class,
// and a packet it denies.
func (sw *sweeper) deniedPacket(st *state, c class, paths []tracer.Path) (fwd.Packet, bool) {
	for _, p := range paths {
		for _, h := range p.Hops {
			d := st.net.Devices[h.Device]
			if d == nil {
				continue
			}
			var names []string
			if h.InPort != "" {
				names = append(names, d.Ports[h.InPort].In...)
			}
			if h.OutPort != "" {
				names = append(names, d.Ports[h.OutPort].Out...)
			}
			for _, n := range names {
				if acl := d.ACLs[n]; acl != nil && !sw.acls.permitsAll(c, acl) {
					return sw.acls.denied(c, acl)
				}
			}
		}
	}
	return fwd.Packet{}, false
}
