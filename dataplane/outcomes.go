package dataplane

import (
	"maps"
	"math/bits"
	"slices"

	"github.com/preflight-sh/preflight/fwd"
	"github.com/preflight-sh/preflight/tracer"
)

// AtomSummary is how one class fares from one start device, summarised
// over all its branches the way netdiff summarises the paths of a walk.
// (It is not called Summary: that name is the model summary.)
type AtomSummary struct {
	// Fates is the sorted set of "fate@where" of every branch: where is
	// the last device, followed by " "+port for a branch that exits.
	Fates []string
	// Via is the sorted set of devices crossed by the branches that are
	// delivered or leave the network.
	Via []string
	// OK says some branch is delivered or leaves the network; Delivered
	// says some branch is delivered.
	OK, Delivered bool
	// Loop says some branch can reach a forwarding cycle.
	Loop bool
	// Rep is the branch a report shows: the first dropped branch in walk
	// order, else the first branch (zero when there is no branch).
	Rep Branch
}

// Branch is where one branch ends: its fate, its last device, and the
// port it tried to leave by ("" when it did not try to leave).
type Branch struct {
	Fate   tracer.Fate
	Device string
	Port   string
}

// Matches reports whether a traced path ends the way b says. A loop
// branch matches any path that ends in a loop (the summary names a loop
// by the smallest device of its cycle, the tracer by where it noticed).
func (b Branch) Matches(p tracer.Path) bool {
	if len(p.Hops) == 0 || p.Fate != b.Fate {
		return false
	}
	if b.Fate == tracer.Loop {
		return true
	}
	last := p.Hops[len(p.Hops)-1]
	return last.Device == b.Device && last.OutPort == b.Port
}

// OutcomeWalker computes how a class fares from every device of a model
// at once. It follows the same per-hop rules as Walk — inbound ACLs on
// the entry port, the class's action, ECMP ports in name order, VLAN
// expansion without the in-port, same-port drops, outbound ACLs, one copy
// per peer, unlinked ports exit — but over states (device, in-port)
// rather than paths, each state once, so it takes time about linear in
// the states the class reaches, where walking from every device re-walks
// shared suffixes and multiplies branches. A device's in-ports that
// change nothing (their ACLs permit the class, and the device does not
// send it back out of them) share one state with its start. That state
// could be in a cycle that some of them only lead into, and the two
// differ in Rep: a class whose states form a cycle is followed again with
// every in-port a state of its own.
//
// Loops are found as cycles of the state graph (Tarjan's strongly
// connected components). A state in a cyclic component — and so every
// state that can reach one — has the fate "loop@D", D the smallest device
// of the component, and Loop set. Where this differs from summarising
// the paths of Walk:
//
//   - Walk ends a branch when it leaves through a port it already entered
//     or left on that path, and names the loop by the device where that
//     happens. Here the state graph's cycles decide: a loop is named by
//     its smallest device, and the branches the tracer would cut by
//     reusing a port are instead followed once, so the other fates, via
//     devices and OK/Delivered of a start that reaches a cycle can differ
//     from Walk's (when Walk's paths contain no loop, there is no cycle
//     either, and every field but Rep of a looping branch is the same).
//   - Inside a cyclic component every state has the same summary: the
//     fates of all its states and of all it reaches, and as via, when
//     some branch arrives, every device of the component and the via of
//     what it reaches outside. Its Rep is the loop.
//   - Walk stops at tracer.MaxPaths branches; this never truncates.
//
// The summaries are kept as numbers (fates, devices and ports of the
// model's port graph) and rendered as an AtomSummary on demand. The
// result depends only on the model and the class. A walker reuses its
// buffers from one class to the next: use one per goroutine.
type OutcomeWalker struct {
	g    *portGraph
	atom int
	// apart keeps every in-port a state of its own; cyclic says a cycle
	// was found.
	apart, cyclic bool
	// acts[d] is the class's action at device d, numbered as in
	// portGraph.actions (-1: none; undescribed for a device the model does
	// not describe).
	acts []int32
	// Per state (the devices' states, then the ports', see portGraph):
	// Tarjan's index (0: not visited) and low link, the component (-1
	// while on the stack), and the state's branches in
	// branches[brLo:brHi].
	index, low, scc []int32
	brLo, brHi      []int32
	touched, stack  []int32
	counter         int32
	branches        []obranch
	// sums are the components' summaries; their fates and via sets live
	// in fates and via. start[i] is the summary of m.Devices[i].
	sums  []osum
	fates []int32
	via   []uint64
	start []int32
}

// obranch is one branch out of a state: a move to state next, or (next
// < 0) an end with a fate, at the port the branch tried to leave by.
type obranch struct {
	next int32
	fate fate
	port int32
}

// term is how a branch ends: a fate, at a device, leaving by a port (-1:
// none).
type term struct {
	fate      fate
	dev, port int32
}

// noTerm is the term of a component without branches.
var noTerm = term{fate: none}

// osum is the summary of a strongly connected component of states.
type osum struct {
	// fates[fateLo:fateHi] are its fates, as sorted text ranks.
	fateLo, fateHi int32
	// via is the offset of its via set in the via bitsets (-1: empty).
	via                 int32
	ok, delivered, loop bool
	first, drop         term
}

// NewOutcomeWalker returns a walker over the model's classes.
func (m *Model) NewOutcomeWalker() *OutcomeWalker {
	n := len(m.graph.names) + len(m.graph.ports)
	w := &OutcomeWalker{g: m.graph, index: make([]int32, n), low: make([]int32, n), scc: make([]int32, n),
		brLo: make([]int32, n), brHi: make([]int32, n), start: make([]int32, len(m.Devices)), acts: make([]int32, len(m.graph.names))}
	for i := range w.scc {
		w.scc[i] = -1
	}
	return w
}

// Follow computes how class atom fares from every device; Summary and
// Same read the result until the next call.
func (w *OutcomeWalker) Follow(atom int) {
	w.follow(atom, false)
	if w.cyclic {
		w.follow(atom, true)
	}
}

func (w *OutcomeWalker) follow(atom int, apart bool) {
	for _, v := range w.touched {
		w.index[v], w.scc[v] = 0, -1
	}
	w.atom, w.apart, w.cyclic, w.counter = atom, apart, false, 0
	for d, byAtom := range w.g.byAtom {
		switch {
		case byAtom == nil:
			w.acts[d] = undescribed
		case byAtom[atom] < 0:
			w.acts[d] = -1
		default:
			w.acts[d] = w.g.first[d] + byAtom[atom]
		}
	}
	w.touched, w.branches, w.sums, w.fates, w.via = w.touched[:0], w.branches[:0], w.sums[:0], w.fates[:0], w.via[:0]
	for i, d := range w.g.model {
		if w.index[d] == 0 {
			w.visit(d)
		}
		w.start[i] = w.scc[d]
	}
}

// permit applies a port's ACLs in order, as the tracer does.
func (w *OutcomeWalker) permit(acls [][]bool) bool {
	for _, p := range acls {
		if p == nil || !p[w.atom] {
			return false
		}
	}
	return true
}

// arrive returns the state of the class entering port p: the device's
// state, unless in-ports are kept apart, the port's ACLs deny the class or
// the device may send it back out of p.
func (w *OutcomeWalker) arrive(p int32) int32 {
	port := &w.g.ports[p]
	a := w.acts[port.dev]
	if a == undescribed {
		return port.dev
	}
	if w.apart || !w.permit(port.in) {
		return w.g.portState(p)
	}
	if a >= 0 {
		for _, s := range w.g.stepsOf(a) {
			if s.port == p {
				return w.g.portState(p)
			}
		}
	}
	return port.dev
}

// expand appends a state's branches, in walk order.
func (w *OutcomeWalker) expand(v int32) {
	g := w.g
	d, in := g.stateOf(v)
	end := func(f fate, port int32) {
		w.branches = append(w.branches, obranch{next: -1, fate: f, port: port})
	}
	a := w.acts[d]
	if a == undescribed {
		end(exited, -1)
		return
	}
	if in >= 0 && !w.permit(g.ports[in].in) {
		end(deniedIn, -1)
		return
	}
	if a < 0 {
		end(noRoute, -1)
		return
	}
	switch g.actions[a].kind {
	case NoRoute:
		end(noRoute, -1)
		return
	case Deliver:
		end(delivered, -1)
		return
	case Drop:
		end(nullRouted, -1)
		return
	}
	for _, s := range g.stepsOf(a) {
		if s.port == in {
			if !s.member {
				end(samePort, s.port)
			}
			continue
		}
		out := &g.ports[s.port]
		if !w.permit(out.out) {
			end(deniedOut, s.port)
			continue
		}
		if len(out.peers) == 0 {
			end(exited, s.port)
			continue
		}
		for _, p := range out.peers {
			w.branches = append(w.branches, obranch{next: w.arrive(p)})
		}
	}
}

// visit is Tarjan's algorithm; each component is summarised when found,
// after every component it reaches.
func (w *OutcomeWalker) visit(v int32) {
	w.counter++
	w.index[v], w.low[v] = w.counter, w.counter
	w.touched = append(w.touched, v)
	w.stack = append(w.stack, v)
	w.brLo[v] = int32(len(w.branches))
	w.expand(v)
	w.brHi[v] = int32(len(w.branches))
	self := false
	for i := w.brLo[v]; i < w.brHi[v]; i++ {
		u := w.branches[i].next
		switch {
		case u < 0:
		case w.index[u] == 0:
			w.visit(u)
			w.low[v] = min(w.low[v], w.low[u])
		case w.scc[u] < 0:
			w.low[v] = min(w.low[v], w.index[u])
			self = self || u == v
		}
	}
	if w.low[v] != w.index[v] {
		return
	}
	at := len(w.stack) - 1
	for w.stack[at] != v {
		at--
	}
	members := w.stack[at:]
	id := int32(len(w.sums))
	for _, u := range members {
		w.scc[u] = id
	}
	w.summarise(id, members, len(members) > 1 || self)
	w.stack = w.stack[:at]
}

// summarise computes the summary of component id from its states'
// branches.
func (w *OutcomeWalker) summarise(id int32, members []int32, cyclic bool) {
	var s osum
	if u := w.passOn(members, cyclic); u >= 0 {
		s = w.sums[u]
	} else {
		s = w.combine(id, members, cyclic)
	}
	if s.ok {
		s.via = w.viaOf(id, members)
	}
	w.sums = append(w.sums, s)
}

// passOn returns, for a lone state whose branches all lead to one other
// component (the common case), that component, whose summary is the
// state's but for via (-1 otherwise).
func (w *OutcomeWalker) passOn(members []int32, cyclic bool) int32 {
	if cyclic || len(members) > 1 {
		return -1
	}
	v, u := members[0], int32(-1)
	for _, b := range w.branches[w.brLo[v]:w.brHi[v]] {
		if b.next < 0 || u >= 0 && w.scc[b.next] != u {
			return -1
		}
		u = w.scc[b.next]
	}
	return u
}

// combine computes a component's summary, but for via, from all its
// branches.
func (w *OutcomeWalker) combine(id int32, members []int32, cyclic bool) osum {
	g := w.g
	s := osum{fateLo: int32(len(w.fates)), via: -1, first: noTerm, drop: noTerm}
	for _, v := range members {
		d, _ := g.stateOf(v)
		for _, b := range w.branches[w.brLo[v]:w.brHi[v]] {
			if b.next < 0 {
				t := term{b.fate, d, b.port}
				w.fates = append(w.fates, g.rank(t))
				s.ok = s.ok || b.fate.ok()
				s.delivered = s.delivered || b.fate == delivered
				if s.first == noTerm {
					s.first = t
				}
				if s.drop == noTerm && !b.fate.ok() {
					s.drop = t
				}
				continue
			}
			u := w.scc[b.next]
			if u == id {
				continue
			}
			o := w.sums[u]
			w.fates = append(w.fates, w.fates[o.fateLo:o.fateHi]...)
			s.ok = s.ok || o.ok
			s.delivered = s.delivered || o.delivered
			s.loop = s.loop || o.loop
			if s.first == noTerm {
				s.first = o.first
			}
			if s.drop == noTerm {
				s.drop = o.drop
			}
		}
	}
	if cyclic {
		minDev, _ := g.stateOf(members[0])
		for _, v := range members {
			d, _ := g.stateOf(v)
			minDev = min(minDev, d)
		}
		loop := term{fate: loop, dev: minDev, port: -1}
		w.fates = append(w.fates, g.rank(loop))
		s.loop = true
		s.first, s.drop = loop, loop
		w.cyclic = true
	}
	fates := w.fates[s.fateLo:]
	slices.Sort(fates)
	w.fates = w.fates[:int(s.fateLo)+len(slices.Compact(fates))]
	s.fateHi = int32(len(w.fates))
	return s
}

// viaOf builds the via set of an arriving component: its devices and the
// via sets of the arriving components it reaches.
func (w *OutcomeWalker) viaOf(id int32, members []int32) int32 {
	words := w.g.words()
	at := len(w.via)
	w.via = slices.Grow(w.via, words)[:at+words]
	set := w.via[at:]
	clear(set)
	for _, v := range members {
		for _, b := range w.branches[w.brLo[v]:w.brHi[v]] {
			if b.next < 0 || w.scc[b.next] == id {
				continue
			}
			if o := w.sums[w.scc[b.next]].via; o >= 0 {
				for i, x := range w.via[o : int(o)+words] {
					set[i] |= x
				}
			}
		}
		d, _ := w.g.stateOf(v)
		set[d/64] |= 1 << (d % 64)
	}
	return int32(at)
}

// Summary renders the summary of the class from m.Devices[i].
func (w *OutcomeWalker) Summary(i int) AtomSummary {
	g := w.g
	s := &w.sums[w.start[i]]
	out := AtomSummary{OK: s.ok, Delivered: s.delivered, Loop: s.loop, Fates: make([]string, 0, s.fateHi-s.fateLo)}
	for _, r := range w.fates[s.fateLo:s.fateHi] {
		out.Fates = append(out.Fates, g.texts[r])
	}
	for d := w.nextVia(s, 0); d >= 0; d = w.nextVia(s, d+1) {
		out.Via = append(out.Via, g.names[d])
	}
	switch {
	case s.drop != noTerm:
		out.Rep = g.branch(s.drop)
	case s.first != noTerm:
		out.Rep = g.branch(s.first)
	}
	return out
}

// Same reports whether the class fares alike, in fates and via devices,
// from m.Devices[i] and, as o followed it, from device j of o's model: m
// or one built with it by BuildPair.
func (w *OutcomeWalker) Same(i int, o *OutcomeWalker, j int) bool {
	a, b := &w.sums[w.start[i]], &o.sums[o.start[j]]
	if a.fateHi-a.fateLo != b.fateHi-b.fateLo {
		return false
	}
	for k := range a.fateHi - a.fateLo {
		if w.g.texts[w.fates[a.fateLo+k]] != o.g.texts[o.fates[b.fateLo+k]] {
			return false
		}
	}
	da, db := w.nextVia(a, 0), o.nextVia(b, 0)
	for da >= 0 && db >= 0 {
		if w.g.names[da] != o.g.names[db] {
			return false
		}
		da, db = w.nextVia(a, da+1), o.nextVia(b, db+1)
	}
	return da < 0 && db < 0
}

// nextVia returns the first via device of a summary from device d on
// (devices are numbered in name order), or -1.
func (w *OutcomeWalker) nextVia(s *osum, d int) int {
	if s.via < 0 {
		return -1
	}
	set := w.via[s.via : int(s.via)+w.g.words()]
	for i := d / 64; i < len(set); i++ {
		x := set[i]
		if i == d/64 {
			x &= ^uint64(0) << (d % 64)
		}
		if x != 0 {
			return i*64 + bits.TrailingZeros64(x)
		}
	}
	return -1
}

// fate is a tracer.Fate as a number.
type fate uint8

const (
	delivered fate = iota
	exited
	noRoute
	nullRouted
	deniedIn
	deniedOut
	samePort
	loop
	none // no branch
)

var fateNames = [...]tracer.Fate{tracer.Delivered, tracer.Exited, tracer.NoRoute, tracer.NullRouted, tracer.DeniedIn, tracer.DeniedOut, tracer.SamePort, tracer.Loop}

// ok reports whether the fate is delivered or leaving the network.
func (f fate) ok() bool { return f == delivered || f == exited }

// portGraph is a model's network numbered for following classes, built
// once: devices (the model's and those that links lead to and it does not
// describe) in name order, and the ports that links or actions use. A
// device has one state for its start and for every in-port that changes
// nothing; a port p's own state is portState(p).
type portGraph struct {
	names []string
	// model[i] is the device of m.Devices[i]; byAtom[d] is device d's
	// action per class (nil for devices the model does not describe).
	model  []int32
	byAtom [][]int32
	ports  []gport
	// actions are every device's actions: action k of device d is
	// actions[first[d]+k].
	first   []int32
	actions []gaction
	steps   []step
	// texts are the distinct "fate@where" texts of every term, sorted;
	// terms are numbered by their text's rank, from fateRank (per device
	// and fate) or, for one that exits by a port, the port's exitRank.
	texts    []string
	fateRank [][len(fateNames)]int32
}

// gport is a port: its device and name, the verdicts on every class of
// the ACLs it applies in each direction (nil: an ACL the device does not
// define, which denies), the ports it sends to, and the rank of leaving
// the network by it.
type gport struct {
	dev      int32
	name     string
	in, out  [][]bool
	peers    []int32
	exitRank int32
}

// gaction is an action: its kind and, in steps[lo:hi], the ports it sends
// out of, in walk order.
type gaction struct {
	kind   ActionKind
	lo, hi int32
}

// undescribed is the action of a device the model does not describe.
const undescribed = -2

// step is a port an action sends out of; member says it is a VLAN member,
// skipped (rather than dropped) when it is the in-port.
type step struct {
	port   int32
	member bool
}

// newPortGraph numbers a model's network; n is the network the model
// follows (without ACLs when it ignores them).
func newPortGraph(m *Model, n *fwd.Network) *portGraph {
	g := &portGraph{}
	devID := map[string]int32{}
	for _, d := range m.Devices {
		devID[d] = 0
	}
	for _, l := range n.Links {
		devID[l.From.Device], devID[l.To.Device] = 0, 0
	}
	names := slices.Sorted(maps.Keys(devID))
	g.names = names
	g.byAtom = make([][]int32, len(names))
	for i, d := range names {
		devID[d] = int32(i)
		if dm := m.dev[d]; dm != nil {
			g.byAtom[i] = dm.byAtom
		}
	}
	for _, d := range m.Devices {
		g.model = append(g.model, devID[d])
	}
	portID := map[fwd.PortRef]int32{}
	port := func(ref fwd.PortRef) int32 {
		if p, ok := portID[ref]; ok {
			return p
		}
		p := int32(len(g.ports))
		portID[ref] = p
		gp := gport{dev: devID[ref.Device], name: ref.Port}
		if d := n.Devices[ref.Device]; d != nil {
			acls := d.Ports[ref.Port]
			gp.in, gp.out = g.verdicts(m.dev[ref.Device], acls.In), g.verdicts(m.dev[ref.Device], acls.Out)
		}
		g.ports = append(g.ports, gp)
		return p
	}
	for _, l := range n.Links {
		from := port(l.From)
		g.ports[from].peers = append(g.ports[from].peers, port(l.To))
	}
	g.first = make([]int32, len(names))
	for d, name := range names {
		g.first[d] = int32(len(g.actions))
		dm, dev := m.dev[name], n.Devices[name]
		if dm == nil {
			continue
		}
		for _, a := range dm.actions {
			ga := gaction{kind: a.Kind, lo: int32(len(g.steps))}
			// a.Ports are sorted (see actionOf).
			for _, p := range a.Ports {
				members, vlan := dev.VLANs[p]
				if !vlan {
					g.steps = append(g.steps, step{port: port(fwd.PortRef{Device: name, Port: p})})
					continue
				}
				for _, mp := range slices.Sorted(slices.Values(members)) {
					g.steps = append(g.steps, step{port: port(fwd.PortRef{Device: name, Port: mp}), member: true})
				}
			}
			ga.hi = int32(len(g.steps))
			g.actions = append(g.actions, ga)
		}
	}
	g.rankTerms()
	return g
}

// verdicts returns the class verdicts of the ACLs a port applies.
func (g *portGraph) verdicts(dm *deviceModel, acls []string) [][]bool {
	var out [][]bool
	for _, a := range acls {
		out = append(out, dm.aclAtom[a])
	}
	return out
}

// rankTerms numbers every term by the rank of its text.
func (g *portGraph) rankTerms() {
	var texts []string
	for _, d := range g.names {
		for _, f := range fateNames {
			texts = append(texts, g.text(f, d, ""))
		}
	}
	for _, p := range g.ports {
		texts = append(texts, g.text(tracer.Exited, g.names[p.dev], p.name))
	}
	slices.Sort(texts)
	g.texts = slices.Compact(texts)
	rank := func(s string) int32 {
		r, _ := slices.BinarySearch(g.texts, s)
		return int32(r)
	}
	g.fateRank = make([][len(fateNames)]int32, len(g.names))
	for d, name := range g.names {
		for f, fn := range fateNames {
			g.fateRank[d][f] = rank(g.text(fn, name, ""))
		}
	}
	for i := range g.ports {
		p := &g.ports[i]
		p.exitRank = rank(g.text(tracer.Exited, g.names[p.dev], p.name))
	}
}

// text renders a term as netdiff shows it: "fate@device", and the port
// for a branch that exits.
func (g *portGraph) text(f tracer.Fate, dev, port string) string {
	if f == tracer.Exited {
		dev += " " + port
	}
	return string(f) + "@" + dev
}

// rank returns the rank of a term's text.
func (g *portGraph) rank(t term) int32 {
	if t.fate == exited && t.port >= 0 {
		return g.ports[t.port].exitRank
	}
	return g.fateRank[t.dev][t.fate]
}

// branch renders a term.
func (g *portGraph) branch(t term) Branch {
	b := Branch{Fate: fateNames[t.fate], Device: g.names[t.dev]}
	if t.port >= 0 {
		b.Port = g.ports[t.port].name
	}
	return b
}

// stepsOf returns the ports action a sends out of.
func (g *portGraph) stepsOf(a int32) []step {
	return g.steps[g.actions[a].lo:g.actions[a].hi]
}

// portState returns the state of port p.
func (g *portGraph) portState(p int32) int32 { return int32(len(g.names)) + p }

// stateOf returns a state's device and in-port (-1 for a device's state).
func (g *portGraph) stateOf(v int32) (dev, in int32) {
	if n := int32(len(g.names)); v >= n {
		return g.ports[v-n].dev, v - n
	}
	return v, -1
}

// words returns the length of a via bitset.
func (g *portGraph) words() int { return (len(g.names) + 63) / 64 }
