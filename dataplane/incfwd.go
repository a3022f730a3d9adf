package dataplane

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/preflight-sh/preflight/bdd"
	"github.com/preflight-sh/preflight/fwd"
)

// pnode is a node of the destination trie: the binary trie, one level a
// bit, of the prefixes of every device's forwarding rules. A node stands
// for the prefix spelt by the path to it and holds the rules of every
// device for that prefix. Its own region is the part of its prefix under
// no child (empty when it has both children). The rules that match a
// destination of an own region are those at the node and above it, so
// every device treats the region alike, and the region lies in one
// forwarding atom: atom.
type pnode struct {
	child [2]int32 // 0: none (the root, node 0, is nobody's child)
	atom  int32
	rules []prule
}

// prule is a forwarding rule of the trie.
type prule struct {
	prio  int
	seq   int
	order uint64 // insertion number
	dev   int32  // -1: no rule
	act   int32  // index of its action at the device
}

// noRule stands for the absence of a rule.
var noRule = prule{dev: -1}

// beats reports whether q wins over r: higher priority, then higher Seq,
// then inserted earlier (a real rule wins over noRule).
func (q prule) beats(r prule) bool {
	switch {
	case r.dev < 0:
		return true
	case q.prio != r.prio:
		return q.prio > r.prio
	case q.seq != r.seq:
		return q.seq > r.seq
	}
	return q.order < r.order
}

// action returns the index of the action the rule stands for at its
// device (0, no route, for noRule).
func (q prule) action() int32 {
	if q.dev < 0 {
		return 0
	}
	return q.act
}

// visitRec is an own region whose best rule at the updated device is
// recomputed, and the group it moves with (-1: its action stays).
type visitRec struct {
	node, group int32
}

// fgroup is the part of a forwarding atom that moves to a new action at
// the updated device.
type fgroup struct {
	atom, act, old int32
	// first is set on the first group of its atom; next is the previous
	// group of the same atom (-1: none).
	first bool
	next  int32
	piece bdd.Node
	pairs int // offset of its ACL atoms in Incremental.words
	whole bool
	final int32 // the atom it is part of after the update
	// before is the index of the check walks of its atom before the
	// update.
	before int
}

// pieceSet is the part of a group's piece under a trie node.
type pieceSet struct {
	group int32
	set   bdd.Node
}

// bestAt returns the best of owner and the rules of device d at node i.
func (x *Incremental) bestAt(i, d int32, owner prule) prule {
	for _, q := range x.nodes[i].rules {
		if q.dev == d && q.beats(owner) {
			owner = q
		}
	}
	return owner
}

// beatenAt reports whether a rule of device d at node i beats ref.
func (x *Incremental) beatenAt(i, d int32, ref prule) bool {
	for _, q := range x.nodes[i].rules {
		if q.dev == d && q.beats(ref) {
			return true
		}
	}
	return false
}

func (x *Incremental) newNode(atom int32) int32 {
	if n := len(x.nfree); n > 0 {
		i := x.nfree[n-1]
		x.nfree = x.nfree[:n-1]
		x.nodes[i] = pnode{atom: atom, rules: x.nodes[i].rules[:0]}
		return i
	}
	x.nodes = append(x.nodes, pnode{atom: atom})
	return int32(len(x.nodes) - 1)
}

// applyRule inserts or deletes a forwarding rule of device d and, when
// check is set, checks what it changed.
func (x *Incremental) applyRule(d int32, r *fwd.Rule, insert, check bool) (UpdateResult, error) {
	if !r.Prefix.IsValid() || !r.Prefix.Addr().Is4() {
		return UpdateResult{}, fmt.Errorf("rule %s: the incremental model handles IPv4 prefixes only", r.Prefix)
	}
	bits := r.Prefix.Bits()
	a4 := r.Prefix.Masked().Addr().As4()
	addr := binary.BigEndian.Uint32(a4[:])
	notInstalled := func() error {
		return fmt.Errorf("delete of rule %s priority %d on %s, which is not installed; expected an earlier insert of a rule with the same prefix, priority and action", r.Prefix, r.Priority, x.devices[d].name)
	}
	var act int32
	if insert {
		act = x.intern(d, r)
	} else {
		k, ok := x.devices[d].index[keyOf(r)]
		if !ok {
			return UpdateResult{}, notInstalled()
		}
		act = k
	}
	// Down to the rule's node, noting the best rule of d above it.
	x.path = x.path[:0]
	owner := noRule
	n := int32(0)
	for depth := range bits {
		owner = x.bestAt(n, d, owner)
		x.path = append(x.path, n)
		b := addr >> (31 - depth) & 1
		c := x.nodes[n].child[b]
		if c == 0 {
			if !insert {
				return UpdateResult{}, notInstalled()
			}
			// The new node's region was part of n's own region.
			c = x.newNode(x.nodes[n].atom)
			x.nodes[n].child[b] = c
		}
		n = c
	}
	var ref prule
	j := -1 // the rule deleted
	if insert {
		ref = prule{prio: r.Priority, seq: r.Seq, order: x.order, dev: d, act: act}
		x.order++
		x.nodes[n].rules = append(x.nodes[n].rules, ref)
	} else {
		for i, q := range x.nodes[n].rules {
			if q.dev == d && q.act == act && q.prio == r.Priority && (j < 0 || q.order < x.nodes[n].rules[j].order) {
				j = i
			}
		}
		if j < 0 {
			return UpdateResult{}, notInstalled()
		}
		ref = x.nodes[n].rules[j]
	}
	// The rule decides its region (before a delete, after an insert)
	// unless a rule of d at the node or above beats it.
	decides := x.bestAt(n, d, owner) == ref
	if !insert {
		x.nodes[n].rules = slices.Delete(x.nodes[n].rules, j, j+1)
	}
	var res UpdateResult
	if decides {
		res = x.move(d, n, bits, addr, ref, x.bestAt(n, d, owner), check)
	}
	if !insert {
		x.prune(n, bits, addr)
	}
	return res, nil
}

// move updates the model after ref, a rule of device d at node n (the
// prefix of its first bits bits of addr), was inserted or deleted where it
// decides. The destinations whose best rule at d is recomputed are n's
// subtree less the subtrees of the rules of d that beat ref; start is the
// best rule of d at n now. The regions whose action changes leave their
// atoms, and each piece joins the atom that behaves as it now does, or
// becomes one. When check is set, the pieces are followed through the
// network before and after, for new loops and black holes.
func (x *Incremental) move(d, n int32, bits int, addr uint32, ref, start prule, check bool) UpdateResult {
	M := x.Space.M
	x.epoch++
	x.visit, x.fgroups, x.sets = x.visit[:0], x.fgroups[:0], x.sets[:0]
	x.gather(n, bits, d, ref, start)
	groups := x.fgroups
	var res UpdateResult
	if len(groups) == 0 {
		return res
	}
	for _, p := range x.sets {
		set := p.set
		for depth := bits - 1; depth >= 0; depth-- {
			if addr>>(31-depth)&1 == 1 {
				set = M.MakeNode(x.Space.DstVar(depth), M.False(), set)
			} else {
				set = M.MakeNode(x.Space.DstVar(depth), set, M.False())
			}
		}
		groups[p.group].piece = set
	}
	starts := x.starts(d)
	x.results = x.results[:0]
	if check {
		for i := range groups {
			g := &groups[i]
			if !g.first {
				g.before = groups[g.next].before
				continue
			}
			g.before = len(x.results)
			for _, s := range starts {
				x.follow(s, x.vec(g.atom), x.fatoms[g.atom].pairs, x.newResult())
			}
		}
	}

	// Cut the pieces off their atoms. (The group of an atom met first
	// comes first.)
	W := x.awords
	x.words = x.words[:0]
	for i := range groups {
		g := &groups[i]
		f := &x.fatoms[g.atom]
		g.whole = g.first && g.piece == f.set
		f.set = M.Diff(f.set, g.piece)
		g.pairs = len(x.words)
		if g.whole {
			x.words = append(x.words, f.pairs...)
			continue
		}
		x.words = append(x.words, make([]uint64, W)...)
		pairs := x.words[g.pairs : g.pairs+W]
		forBits(f.pairs, func(a int32) {
			if M.Intersects(g.piece, x.aatoms[a].dst) {
				setBit(pairs, a)
			}
		})
	}
	for _, g := range groups {
		if !g.first {
			continue
		}
		f := &x.fatoms[g.atom]
		if f.set.IsFalse() {
			x.removeFHash(g.atom)
			continue
		}
		forBits(f.pairs, func(a int32) {
			if !M.Intersects(f.set, x.aatoms[a].dst) {
				clearBit(f.pairs, a)
			}
		})
	}

	// Put each piece where it now belongs.
	vec := slices.Grow(x.vecBuf[:0], len(x.devices))[:len(x.devices)]
	x.vecBuf = vec
	for i := range groups {
		g := &groups[i]
		copy(vec, x.vec(g.atom))
		vec[d] = g.act
		h := x.fatoms[g.atom].hash ^ fz(d, g.old) ^ fz(d, g.act)
		pairs := x.words[g.pairs : g.pairs+W]
		switch t := x.findF(h, vec); {
		case t >= 0:
			x.fatoms[t].set = M.Or(x.fatoms[t].set, g.piece)
			for w, p := range pairs {
				x.fatoms[t].pairs[w] |= p
			}
			g.final = t
		case g.whole:
			f := &x.fatoms[g.atom]
			f.set, f.hash = g.piece, h
			copy(x.vec(g.atom), vec)
			x.addFHash(g.atom)
			g.final = g.atom
		default:
			g.final = x.newFAtom(g.piece, vec, h, pairs)
		}
		res.Changed += count(pairs)
	}
	for _, v := range x.visit {
		if v.group >= 0 {
			x.nodes[v.node].atom = groups[v.group].final
		}
	}
	for _, g := range groups {
		if g.first && x.fatoms[g.atom].live && x.fatoms[g.atom].set.IsFalse() {
			x.freeFAtom(g.atom)
		}
	}
	if !check {
		return res
	}

	// Follow the pieces again and compare.
	for i := range groups {
		g := &groups[i]
		pairs := x.words[g.pairs : g.pairs+W]
		for si, s := range starts {
			x.follow(s, x.vec(g.final), pairs, x.after.reset(W))
			before := &x.results[g.before+si]
			lost, first := 0, int32(0)
			forBits(pairs, func(a int32) {
				set := func() bdd.Node { return M.And(g.piece, x.aatoms[a].set) }
				if x.judge(&res, before, &x.after, a, a, set) {
					if lost == 0 {
						first = a
					}
					lost++
				}
			})
			if lost > 0 {
				res.BlackHoles = append(res.BlackHoles, LostTraffic{From: x.devices[s].name, Classes: lost, Dst: g.piece, Headers: x.aatoms[first].set})
			}
		}
	}
	return res
}

// gather visits the own regions of node i's subtree (i is depth bits
// deep) whose best rule at device d is recomputed (see move): the subtrees
// of nodes where a rule of d beats ref are left out, and owner is the
// best rule of d at i. It records each region in visit with the group it
// moves with, and leaves in sets, from index start, which it returns, the
// pieces of the groups under i, by group: built from the bottom of the
// subtree up, one BDD node a trie node and group.
func (x *Incremental) gather(i int32, depth int, d int32, ref, owner prule) (start int) {
	M := x.Space.M
	start = len(x.sets)
	nd := &x.nodes[i]
	own := int32(-1)
	if nd.child[0] == 0 || nd.child[1] == 0 {
		own = x.groupOf(nd.atom, owner.action(), d)
		x.visit = append(x.visit, visitRec{node: i, group: own})
	}
	ownList := [1]pieceSet{{own, M.True()}}
	if nd.child == [2]int32{} {
		if own >= 0 {
			x.sets = append(x.sets, ownList[0])
		}
		return start
	}
	var sides [2][]pieceSet
	for b, c := range nd.child {
		switch {
		case c == 0:
			if own >= 0 {
				sides[b] = ownList[:]
			}
		case !x.beatenAt(c, d, ref):
			s := x.gather(c, depth+1, d, ref, x.bestAt(c, d, owner))
			sides[b] = x.sets[s:len(x.sets):len(x.sets)]
		}
	}
	// Merge the halves, appending after them, and move the result to
	// start.
	mid := len(x.sets)
	v := x.Space.DstVar(depth)
	lo, hi := sides[0], sides[1]
	for len(lo) > 0 || len(hi) > 0 {
		switch {
		case len(hi) == 0 || len(lo) > 0 && lo[0].group < hi[0].group:
			x.sets = append(x.sets, pieceSet{lo[0].group, M.MakeNode(v, lo[0].set, M.False())})
			lo = lo[1:]
		case len(lo) == 0 || hi[0].group < lo[0].group:
			x.sets = append(x.sets, pieceSet{hi[0].group, M.MakeNode(v, M.False(), hi[0].set)})
			hi = hi[1:]
		default:
			x.sets = append(x.sets, pieceSet{lo[0].group, M.MakeNode(v, lo[0].set, hi[0].set)})
			lo, hi = lo[1:], hi[1:]
		}
	}
	x.sets = x.sets[:start+copy(x.sets[start:], x.sets[mid:])]
	return start
}

// groupOf returns the group that the regions of forwarding atom f moving
// to action k of device d move with, making it if needed, or -1 if k is
// the atom's action already.
func (x *Incremental) groupOf(f, k, d int32) int32 {
	old := x.vec(f)[d]
	if k == old {
		return -1
	}
	a := &x.fatoms[f]
	if a.epoch != x.epoch {
		a.epoch, a.group = x.epoch, -1
	}
	for g := a.group; g >= 0; g = x.fgroups[g].next {
		if x.fgroups[g].act == k {
			return g
		}
	}
	g := int32(len(x.fgroups))
	x.fgroups = append(x.fgroups, fgroup{atom: f, act: k, old: old, first: a.group < 0, next: a.group})
	a.group = g
	return g
}

// prune removes node n (the prefix of its first bits bits of addr, reached
// along x.path) and its ancestors as long as they hold no rule and have
// no child. A removed node's own region, which behaves as its parent's,
// returns to its parent.
func (x *Incremental) prune(n int32, bits int, addr uint32) {
	for depth := bits; depth > 0; depth-- {
		nd := &x.nodes[n]
		if len(nd.rules) > 0 || nd.child != [2]int32{} {
			return
		}
		p := x.path[depth-1]
		x.nodes[p].child[addr>>(32-depth)&1] = 0
		x.nodes[p].atom = nd.atom
		x.nfree = append(x.nfree, n)
		n = p
	}
}

// starts returns the devices an update of device d is checked from.
func (x *Incremental) starts(d int32) []int32 {
	x.startBuf = x.startBuf[:0]
	if !x.opts.FromAllDevices {
		x.startBuf = append(x.startBuf, d)
		return x.startBuf
	}
	for i := range x.devices {
		x.startBuf = append(x.startBuf, int32(i))
	}
	return x.startBuf
}
