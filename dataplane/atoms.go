package dataplane

import (
	"slices"

	"github.com/preflight-sh/preflight/bdd"
)

// When every device's table is longest-prefix-match, the forwarding
// classes come straight from the prefix trie the devices share: walking
// it, every region where the trie branches no further has one action per
// device; regions with the same vector of actions form one class. Each
// class's set is built bottom-up over the walk, one BDD node per step, so
// the cost grows with the rules, not with classes × predicates.

// atomWalker is the state of one walk over the shared prefix trie.
type atomWalker struct {
	m   *Model
	off int // first destination bit the trie starts at
	// cur holds each device's action for the region being visited; undo
	// holds the actions that the nodes above the region replaced.
	cur  []int32
	undo []devAction
	hash uint64
	// ids maps a vector's hash to the classes with that hash; vecs holds
	// each class's vector.
	ids  map[uint64][]int
	vecs [][]int32
}

func vectorMix(dev int32, action int32) uint64 {
	x := uint64(dev)<<32 | uint64(uint32(action))
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

func (w *atomWalker) set(dev int32, action int32) {
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

// walk visits the region below node n of trie t, at depth, and returns
// the (class, set) pairs within it.
func (w *atomWalker) walk(t *prefixTrie, n int32, depth int) []actionSet {
	node := &t.nodes[n]
	mark := len(w.undo)
	for _, r := range t.rulesAt(n) {
		w.undo = append(w.undo, devAction{r.dev, w.cur[r.dev]})
		w.set(r.dev, r.action)
	}
	var out []actionSet
	if node.child == [2]int32{} {
		out = []actionSet{{w.id(), w.m.Space.M.True()}}
	} else {
		var halves [2][]actionSet
		for b, c := range node.child {
			if c == 0 {
				halves[b] = []actionSet{{w.id(), w.m.Space.M.True()}}
			} else {
				halves[b] = w.walk(t, c, depth+1)
			}
		}
		out = merge(w.m.Space, w.m.Space.DstVar(w.off+depth), halves[0], halves[1])
	}
	for i := len(w.undo) - 1; i >= mark; i-- {
		w.set(w.undo[i].dev, w.undo[i].action)
	}
	w.undo = w.undo[:mark]
	return out
}

// trieAtoms computes the forwarding classes of longest-prefix-match
// devices from their shared tries and, per device, the action of every
// class.
func (m *Model) trieAtoms(devs []*deviceModel, v4, v6 *prefixTrie) ([]bdd.Node, [][]int32) {
	M := m.Space.M
	w := &atomWalker{m: m, cur: make([]int32, len(devs)), ids: map[uint64][]int{}}
	run := func(off int, t *prefixTrie) []actionSet {
		w.off = off
		for i, dm := range devs {
			w.set(int32(i), int32(len(dm.actions)-1))
		}
		return w.walk(t, 0, 0)
	}
	sets := map[int]bdd.Node{}
	if !m.Space.IPv6() {
		for _, p := range run(0, v4) {
			sets[p.action] = p.set
		}
	} else {
		mapped := m.Space.MappedDst()
		for _, p := range run(96, v4) {
			sets[p.action] = M.And(mapped, p.set)
		}
		for _, p := range run(0, v6) {
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
	var vecs [][]int32
	for id, vec := range w.vecs {
		set, ok := sets[id]
		if !ok || set.IsFalse() {
			continue
		}
		atoms = append(atoms, set)
		vecs = append(vecs, vec)
	}
	byAtom := make([][]int32, len(devs))
	for i := range devs {
		byAtom[i] = make([]int32, len(atoms))
		for a, vec := range vecs {
			byAtom[i][a] = vec[i]
		}
	}
	return atoms, byAtom
}
