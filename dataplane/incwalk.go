package dataplane

import (
	"slices"
	"strings"

	"github.com/preflight-sh/preflight/bdd"
	"github.com/preflight-sh/preflight/tracer"
)

// The check of an update follows each changed forwarding atom through the
// network once for all the ACL atoms it meets: the walk carries the set of
// ACL atoms still travelling, which ACLs narrow. It has the semantics of
// package tracer (and is tested against it through Build's Walk), with
// integers for devices and ports and the ports used on the current path
// counted in two arrays, so that it allocates nothing unless it meets a
// loop. Like the tracer, it stops after tracer.MaxPaths branches.

// walkResult is how traffic followed from one device ends, per ACL atom.
type walkResult struct {
	// reached holds the ACL atoms some branch delivers or takes out of
	// the network.
	reached []uint64
	loops   []loopHit
}

// loopHit is a forwarding cycle met by a walk.
type loopHit struct {
	key   string // the cycle's steps, space-separated
	cycle []string
	path  string // an example path into it
	mask  []uint64
}

// reset empties r for sets of w words and returns it.
func (r *walkResult) reset(w int) *walkResult {
	r.reached = slices.Grow(r.reached[:0], w)[:w]
	clear(r.reached)
	r.loops = r.loops[:0]
	return r
}

// loop returns the ACL atoms that r found caught in the cycle key.
func (r *walkResult) loop(key string) []uint64 {
	for i := range r.loops {
		if r.loops[i].key == key {
			return r.loops[i].mask
		}
	}
	return nil
}

// newResult returns a new entry of x.results, reset.
func (x *Incremental) newResult() *walkResult {
	if len(x.results) < cap(x.results) {
		x.results = x.results[:len(x.results)+1]
	} else {
		x.results = append(x.results, walkResult{})
	}
	return x.results[len(x.results)-1].reset(x.awords)
}

// hop is a device and the port a path leaves it through.
type hop struct{ dev, port int32 }

// walker follows one forwarding atom.
type walker struct {
	x   *Incremental
	vec []int32
	// enter and left count, per port, the times the current path entered
	// and left through it.
	enter, left []int32
	stack       []hop
	// buf holds two sets of ACL atoms per depth of the walk.
	buf      []uint64
	res      *walkResult
	branches int
}

// follow follows the traffic of a forwarding atom of behaviour vec and of
// the ACL atoms in mask from device start, into res.
func (x *Incremental) follow(start int32, vec []int32, mask []uint64, res *walkResult) {
	w := &x.walker
	w.x, w.vec, w.res, w.branches = x, vec, res, 0
	if n := len(x.ports); len(w.enter) < n {
		w.enter, w.left = make([]int32, n), make([]int32, n)
	}
	// A path leaves through each port once at most: its depth is at most
	// the number of ports.
	if n := 2 * x.awords * (len(x.ports) + 2); len(w.buf) < n {
		w.buf = make([]uint64, n)
	}
	w.stack = w.stack[:0]
	w.walk(start, -1, mask)
}

// walk handles the traffic of the ACL atoms in mask arriving at device d
// through port in (-1 at the start).
func (w *walker) walk(d, in int32, mask []uint64) {
	if w.branches >= tracer.MaxPaths {
		return
	}
	if d < 0 {
		// A device the model does not describe: the traffic leaves.
		w.reach(mask)
		return
	}
	if in < 0 {
		w.forward(d, in, mask)
		return
	}
	w.enter[in]++
	if m := w.filter(w.x.ports[in].in, mask, 2*len(w.stack)); m != nil {
		w.forward(d, in, m)
	} else {
		w.branches++ // denied in
	}
	w.enter[in]--
}

// forward sends the traffic of mask on from device d, entered through in.
func (w *walker) forward(d, in int32, mask []uint64) {
	x := w.x
	dev := x.devices[d]
	k := w.vec[d]
	switch dev.actions[k].Kind {
	case Deliver:
		w.reach(mask)
		return
	case NoRoute, Drop:
		w.branches++
		return
	}
	for _, g := range dev.outs[k] {
		for _, out := range g.ports {
			switch {
			case out == in && g.vlan:
				// A VLAN floods every member but the incoming port.
			case out == in:
				w.branches++ // sent back where it came in
			case w.left[out] > 0:
				w.loop(d, out, mask)
			case w.enter[out] > 0:
				w.branches++ // leaves through a port it came in by
			default:
				m := w.filter(x.ports[out].out, mask, 2*len(w.stack)+1)
				if m == nil {
					w.branches++ // denied out
					continue
				}
				peers := x.ports[out].peers
				if len(peers) == 0 {
					w.reach(m)
					continue
				}
				w.left[out]++
				w.stack = append(w.stack, hop{d, out})
				for _, p := range peers {
					w.walk(x.ports[p].dev, p, m)
				}
				w.stack = w.stack[:len(w.stack)-1]
				w.left[out]--
			}
		}
	}
}

// filter returns the ACL atoms of mask that every ACL of acls permits
// (mask itself when there are none, or slot slot of buf), or nil if none.
func (w *walker) filter(acls []int32, mask []uint64, slot int) []uint64 {
	if len(acls) == 0 {
		return mask
	}
	n := len(mask)
	m := w.buf[slot*n : (slot+1)*n]
	copy(m, mask)
	for _, a := range acls {
		permit := w.x.acls[a].atoms
		for i := range m {
			m[i] &= permit[i]
		}
	}
	if isEmpty(m) {
		return nil
	}
	return m
}

func (w *walker) reach(mask []uint64) {
	w.branches++
	for i, b := range mask {
		w.res.reached[i] |= b
	}
}

// loop records a path that leaves device d through port out a second
// time: a forwarding cycle, named as Loops names it.
func (w *walker) loop(d, out int32, mask []uint64) {
	w.branches++
	x := w.x
	step := func(h hop) string { return x.devices[h.dev].name + "[" + x.ports[h.port].name + "]" }
	first := slices.Index(w.stack, hop{d, out})
	var cycle []string
	for _, h := range w.stack[first:] {
		cycle = append(cycle, step(h))
	}
	low := 0
	for i := range cycle {
		if cycle[i] < cycle[low] {
			low = i
		}
	}
	cycle = append(cycle[low:], cycle[:low]...)
	key := strings.Join(cycle, " ")
	if m := w.res.loop(key); m != nil {
		for i, b := range mask {
			m[i] |= b
		}
		return
	}
	var path []string
	for _, h := range w.stack {
		path = append(path, step(h))
	}
	path = append(path, step(hop{d, out}))
	w.res.loops = append(w.res.loops, loopHit{
		key:   key,
		cycle: cycle,
		path:  strings.Join(path, " → ") + ": " + string(tracer.Loop),
		mask:  slices.Clone(mask),
	})
}

// judge compares how the class of ACL atom old fared before an update
// (before) with how the class of ACL atom now fares after it (after). It
// adds to r the cycles the class enters now and did not before, and
// reports whether the class is a new black hole: some branch delivered it
// or took it out of the network before, and none does now. set returns
// the class's packets, for reports.
func (x *Incremental) judge(r *UpdateResult, before, after *walkResult, old, now int32, set func() bdd.Node) bool {
	for i := range after.loops {
		l := &after.loops[i]
		if !hasBit(l.mask, now) {
			continue
		}
		if m := before.loop(l.key); m != nil && hasBit(m, old) {
			continue
		}
		j := slices.IndexFunc(r.Loops, func(o Loop) bool { return slices.Equal(o.Cycle, l.cycle) })
		if j < 0 {
			ex, _ := x.Space.Example(set())
			r.Loops = append(r.Loops, Loop{Cycle: l.cycle, Path: l.path, Example: ex.String()})
			j = len(r.Loops) - 1
		}
		r.Loops[j].Classes++
	}
	return hasBit(before.reached, old) && !hasBit(after.reached, now)
}
