package dataplane

import (
	"math/bits"
	"slices"
	"sort"

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

// AllOutcomes computes, for one class, its summary from every device of
// the model at once (indexed like m.Devices). It follows the same per-hop
// rules as Walk — inbound ACLs on the entry port, the class's action,
// ECMP ports in name order, VLAN expansion without the in-port, same-port
// drops, outbound ACLs, one copy per peer, unlinked ports exit — but over
// states (device, in-port) rather than paths, each state once, so it
// takes time about linear in the states the class reaches, where walking
// from every device re-walks shared suffixes and multiplies branches.
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
// The result depends only on the model and the class.
func (m *Model) AllOutcomes(atom int) []AtomSummary {
	c := &outcomes{m: m, atom: atom, net: m.network(), stateID: map[stateKey]int32{}, termID: map[Branch]int32{}, devID: map[string]int32{}}
	for i, d := range m.Devices {
		c.devID[d] = int32(i)
	}
	c.names = append(c.names, m.Devices...)
	out := make([]AtomSummary, len(m.Devices))
	for i := range m.Devices {
		v := c.state(int32(i), "")
		if c.states[v].index < 0 {
			c.visit(v)
		}
		out[i] = c.summary(c.sums[c.states[v].scc])
	}
	return out
}

type stateKey struct {
	dev int32
	in  string
}

// obranch is one branch out of a state: a terminal (term >= 0) or a
// move to another state.
type obranch struct {
	term, next int32
}

type ostate struct {
	dev        int32
	in         string
	branches   []obranch
	index, low int32
	onStack    bool
	scc        int32
}

// osum is the summary of a strongly connected component of states.
type osum struct {
	fates               []int32 // sorted term ids
	via                 []uint64
	ok, delivered, loop bool
	first, drop         int32 // term ids, -1 if none
}

type outcomes struct {
	m       *Model
	atom    int
	net     *fwd.Network
	names   []string // m.Devices, then devices the model does not describe
	devID   map[string]int32
	stateID map[stateKey]int32
	states  []ostate
	terms   []Branch
	texts   []string // "fate@where" of each term, made when first needed
	termID  map[Branch]int32
	sums    []osum
	stack   []int32
	counter int32
}

func (c *outcomes) dev(name string) int32 {
	if i, ok := c.devID[name]; ok {
		return i
	}
	i := int32(len(c.names))
	c.names = append(c.names, name)
	c.devID[name] = i
	return i
}

func (c *outcomes) state(dev int32, in string) int32 {
	k := stateKey{dev, in}
	if v, ok := c.stateID[k]; ok {
		return v
	}
	v := int32(len(c.states))
	c.states = append(c.states, ostate{dev: dev, in: in, index: -1, scc: -1})
	c.stateID[k] = v
	return v
}

func (c *outcomes) term(f tracer.Fate, dev int32, port string) int32 {
	b := Branch{Fate: f, Device: c.names[dev], Port: port}
	if t, ok := c.termID[b]; ok {
		return t
	}
	t := int32(len(c.terms))
	c.terms = append(c.terms, b)
	c.termID[b] = t
	return t
}

// expand computes a state's branches, in walk order.
func (c *outcomes) expand(v int32) []obranch {
	s := c.states[v]
	name := c.names[s.dev]
	dev := c.net.Devices[name]
	end := func(f tracer.Fate, port string) []obranch {
		return []obranch{{term: c.term(f, s.dev, port), next: -1}}
	}
	if dev == nil {
		return end(tracer.Exited, "")
	}
	if s.in != "" && !c.permit(name, dev, dev.Ports[s.in].In) {
		return end(tracer.DeniedIn, "")
	}
	dm := c.m.dev[name]
	if dm == nil {
		return end(tracer.NoRoute, "")
	}
	k := dm.byAtom[c.atom]
	if k < 0 {
		return end(tracer.NoRoute, "")
	}
	a := &dm.actions[k]
	switch a.Kind {
	case NoRoute:
		return end(tracer.NoRoute, "")
	case Deliver:
		return end(tracer.Delivered, "")
	case Drop:
		return end(tracer.NullRouted, "")
	}
	var out []obranch
	ports := append([]string(nil), a.Ports...)
	sort.Strings(ports)
	for _, port := range ports {
		for _, o := range tracer.Expand(dev, port, s.in) {
			if o == s.in {
				out = append(out, obranch{term: c.term(tracer.SamePort, s.dev, o), next: -1})
				continue
			}
			if !c.permit(name, dev, dev.Ports[o].Out) {
				out = append(out, obranch{term: c.term(tracer.DeniedOut, s.dev, o), next: -1})
				continue
			}
			peers := c.m.peerMap[fwd.PortRef{Device: name, Port: o}]
			if len(peers) == 0 {
				out = append(out, obranch{term: c.term(tracer.Exited, s.dev, o), next: -1})
				continue
			}
			for _, p := range peers {
				out = append(out, obranch{term: -1, next: c.state(c.dev(p.Device), p.Port)})
			}
		}
	}
	return out
}

// permit applies a port's ACLs in order, as the tracer does.
func (c *outcomes) permit(name string, dev *fwd.Device, acls []string) bool {
	if c.m.Opts.ForwardingOnly {
		return true
	}
	for _, a := range acls {
		if dev.ACLs[a] == nil || !c.m.dev[name].aclAtom[a][c.atom] {
			return false
		}
	}
	return true
}

// visit is Tarjan's algorithm; each component is summarised when found,
// after every component it reaches.
func (c *outcomes) visit(v int32) {
	c.states[v].index, c.states[v].low = c.counter, c.counter
	c.counter++
	c.stack = append(c.stack, v)
	c.states[v].onStack = true
	br := c.expand(v)
	c.states[v].branches = br
	self := false
	for _, b := range br {
		w := b.next
		if w < 0 {
			continue
		}
		if w == v {
			self = true
		}
		switch {
		case c.states[w].index < 0:
			c.visit(w)
			c.states[v].low = min(c.states[v].low, c.states[w].low)
		case c.states[w].onStack:
			c.states[v].low = min(c.states[v].low, c.states[w].index)
		}
	}
	if c.states[v].low != c.states[v].index {
		return
	}
	var members []int32
	for {
		w := c.stack[len(c.stack)-1]
		c.stack = c.stack[:len(c.stack)-1]
		c.states[w].onStack = false
		members = append(members, w)
		if w == v {
			break
		}
	}
	id := int32(len(c.sums))
	for _, w := range members {
		c.states[w].scc = id
	}
	c.sums = append(c.sums, c.summarise(id, members, len(members) > 1 || self))
}

func (c *outcomes) isOK(t int32) bool {
	f := c.terms[t].Fate
	return f == tracer.Delivered || f == tracer.Exited
}

// summarise computes a component's summary from its states' branches.
func (c *outcomes) summarise(id int32, members []int32, cyclic bool) osum {
	s := osum{first: -1, drop: -1}
	var fates []int32
	var viaParts [][]uint64
	for _, v := range members {
		for _, b := range c.states[v].branches {
			if b.term >= 0 {
				fates = append(fates, b.term)
				if c.isOK(b.term) {
					s.ok = true
				}
				if c.terms[b.term].Fate == tracer.Delivered {
					s.delivered = true
				}
				if s.first < 0 {
					s.first = b.term
				}
				if s.drop < 0 && c.terms[b.term].Fate.Dropped() {
					s.drop = b.term
				}
				continue
			}
			w := c.states[b.next].scc
			if w == id {
				continue
			}
			o := &c.sums[w]
			fates = append(fates, o.fates...)
			s.ok = s.ok || o.ok
			s.delivered = s.delivered || o.delivered
			s.loop = s.loop || o.loop
			if o.ok {
				viaParts = append(viaParts, o.via)
			}
			if s.first < 0 {
				s.first = o.first
			}
			if s.drop < 0 {
				s.drop = o.drop
			}
		}
	}
	if cyclic {
		minDev := c.states[members[0]].dev
		for _, v := range members {
			minDev = min(minDev, c.states[v].dev)
		}
		loop := c.term(tracer.Loop, minDev, "")
		fates = append(fates, loop)
		s.loop = true
		s.first, s.drop = loop, loop
	}
	slices.Sort(fates)
	s.fates = slices.Compact(fates)
	if s.ok {
		if len(members) == 1 && len(viaParts) == 1 {
			// The common case: one arriving successor; share when the
			// device is already in it.
			if d := c.states[members[0]].dev; viaHas(viaParts[0], d) {
				s.via = viaParts[0]
				return s
			}
		}
		for _, p := range viaParts {
			s.via = viaOr(s.via, p)
		}
		for _, v := range members {
			s.via = viaSet(s.via, c.states[v].dev)
		}
	}
	return s
}

func viaHas(b []uint64, i int32) bool {
	return int(i/64) < len(b) && b[i/64]&(1<<(i%64)) != 0
}

func viaSet(b []uint64, i int32) []uint64 {
	for int(i/64) >= len(b) {
		b = append(b, 0)
	}
	b[i/64] |= 1 << (i % 64)
	return b
}

func viaOr(dst, src []uint64) []uint64 {
	for len(dst) < len(src) {
		dst = append(dst, 0)
	}
	for i, w := range src {
		dst[i] |= w
	}
	return dst
}

// summary renders a component's summary.
func (c *outcomes) summary(s osum) AtomSummary {
	out := AtomSummary{OK: s.ok, Delivered: s.delivered, Loop: s.loop}
	out.Fates = make([]string, 0, len(s.fates))
	for len(c.texts) < len(c.terms) {
		b := c.terms[len(c.texts)]
		where := b.Device
		if b.Fate == tracer.Exited {
			where += " " + b.Port
		}
		c.texts = append(c.texts, string(b.Fate)+"@"+where)
	}
	for _, t := range s.fates {
		out.Fates = append(out.Fates, c.texts[t])
	}
	sort.Strings(out.Fates)
	out.Fates = slices.Compact(out.Fates)
	extra := false
	for i, w := range s.via {
		for w != 0 {
			j := i*64 + bits.TrailingZeros64(w)
			w &= w - 1
			out.Via = append(out.Via, c.names[j])
			extra = extra || j >= len(c.m.Devices)
		}
	}
	if extra {
		sort.Strings(out.Via)
	}
	switch {
	case s.drop >= 0:
		out.Rep = c.terms[s.drop]
	case s.first >= 0:
		out.Rep = c.terms[s.first]
	}
	return out
}
