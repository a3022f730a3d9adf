package dataplane

import (
	"slices"

	"github.com/preflight-sh/preflight/bdd"
)

// When every device's table is longest-prefix-match, the forwarding
// classes come straight from the prefix tries: walking all devices' tries
// in step, every region where no trie branches further has one action per
// device; regions with the same vector of actions form one class. Each
// class's set is built bottom-up over the walk, one BDD node per step, so
// the cost grows with the rules, not with classes × predicates.

// atomWalker is the state of one walk over all devices' tries.
type atomWalker struct {
	m   *Model
	off int // first destination bit the tries start at
	// cur holds each device's action for the region being visited.
	cur  []int32
	hash uint64
	// ids maps a vector's hash to the classes with that hash; vecs holds
	// each class's vector.
	ids  map[uint64][]int
	vecs [][]int32
}

// cursor is one device's position in its trie.
type cursor struct {
	dev  int
	node *trieNode
}

func vectorMix(dev int, action int32) uint64 {
	x := uint64(dev)<<32 | uint64(uint32(action))
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

func (w *atomWalker) set(dev int, action int32) {
	w.hash += vectorMix(dev, action) - vectorMix(dev, w.cur[dev])
	w.cur[dev] = action
}

// id returns the class of the current vector, creating it if new.
func (w *atomWalker) id() int {
	for _, id := range w.ids[w.hash] {
		if slices.Equal(w.vecs[id], w.cur) {
			return id
		}
	}
	id := len(w.vecs)
	w.vecs = append(w.vecs, append([]int32(nil), w.cur...))
	w.ids[w.hash] = append(w.ids[w.hash], id)
	return id
}

// walk visits the region at depth below the cursors' nodes and returns
// the (class, set) pairs within it.
func (w *atomWalker) walk(active []cursor, depth int) []actionSet {
	type saved struct {
		dev    int
		action int32
	}
	var undo []saved
	for _, c := range active {
		if c.node.action >= 0 {
			undo = append(undo, saved{c.dev, w.cur[c.dev]})
			w.set(c.dev, int32(c.node.action))
		}
	}
	var out []actionSet
	var sides [2][]cursor
	for _, c := range active {
		for b := range 2 {
			if ch := c.node.child[b]; ch != nil {
				sides[b] = append(sides[b], cursor{c.dev, ch})
			}
		}
	}
	if len(sides[0]) == 0 && len(sides[1]) == 0 {
		out = []actionSet{{w.id(), w.m.Space.M.True()}}
	} else {
		var halves [2][]actionSet
		for b := range 2 {
			if len(sides[b]) == 0 {
				halves[b] = []actionSet{{w.id(), w.m.Space.M.True()}}
			} else {
				halves[b] = w.walk(sides[b], depth+1)
			}
		}
		out = merge(w.m.Space, w.m.Space.DstVar(w.off+depth), halves[0], halves[1])
	}
	for i := len(undo) - 1; i >= 0; i-- {
		w.set(undo[i].dev, undo[i].action)
	}
	return out
}

// trieAtoms computes the forwarding classes of longest-prefix-match
// devices and, per device, the action of every class.
func (m *Model) trieAtoms(devs []*deviceModel) ([]bdd.Node, [][]int) {
	M := m.Space.M
	w := &atomWalker{m: m, cur: make([]int32, len(devs)), ids: map[uint64][]int{}}
	noRoute := func() {
		for i, dm := range devs {
			w.set(i, int32(len(dm.actions)-1))
		}
	}
	run := func(off int, trie func(*deviceModel) *trieNode) []actionSet {
		w.off = off
		noRoute()
		var active []cursor
		for i, dm := range devs {
			active = append(active, cursor{i, trie(dm)})
		}
		return w.walk(active, 0)
	}
	sets := map[int]bdd.Node{}
	if !m.Space.IPv6() {
		for _, p := range run(0, func(dm *deviceModel) *trieNode { return dm.v4 }) {
			sets[p.action] = p.set
		}
	} else {
		mapped := m.Space.MappedDst()
		for _, p := range run(96, func(dm *deviceModel) *trieNode { return dm.v4 }) {
			sets[p.action] = M.And(mapped, p.set)
		}
		for _, p := range run(0, func(dm *deviceModel) *trieNode { return dm.v6 }) {
			if rest := M.Diff(p.set, mapped); !rest.IsFalse() {
				if old, ok := sets[p.action]; ok {
					sets[p.action] = M.Or(old, rest)
				} else {
					sets[p.action] = rest
				}
			}
		}
	}
	// Classes in the order they were found; those whose regions all fell
	// in the other family's part of the space are empty and dropped.
	var atoms []bdd.Node
	byAtom := make([][]int, len(devs))
	for id := range w.vecs {
		set, ok := sets[id]
		if !ok || set.IsFalse() {
			continue
		}
		atoms = append(atoms, set)
		for i := range devs {
			byAtom[i] = append(byAtom[i], int(w.vecs[id][i]))
		}
	}
	return atoms, byAtom
}
