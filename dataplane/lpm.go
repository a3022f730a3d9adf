package dataplane

import (
	"github.com/preflight-sh/preflight/bdd"
	"github.com/preflight-sh/preflight/hdr"
)

// A longest-prefix-match table is a decision tree over destination bits,
// so the set of destinations each action takes can be built bottom-up from
// a binary trie of the prefixes, one BDD node per trie node and action,
// instead of by unions and differences of whole prefix sets (which grow
// with the table).

// trieNode is a node of a binary prefix trie.
type trieNode struct {
	child  [2]*trieNode
	action int // action of the rule at this prefix, or -1
}

// lpmSets returns, for each action 0..nActions-1, the destinations the
// table sends to it, and (last) the destinations no rule covers. The
// entries' prefixes are bit strings of the destination field: bits[i] is
// bit i from the most significant. off is the first field bit the strings
// start at (96 for IPv4 prefixes in a dual-stack space).
func lpmSets(s *hdr.Space, root *trieNode, off, nActions int) []bdd.Node {
	M := s.M
	out := make([]bdd.Node, nActions+1)
	for i := range out {
		out[i] = M.False()
	}
	for _, p := range build(s, root, off, nActions) {
		out[p.action] = p.set
	}
	return out
}

type actionSet struct {
	action int
	set    bdd.Node
}

// build returns the (action, set) pairs of the subtree at n (at bit depth
// off), where actions are indexes and nActions stands for "no route".
func build(s *hdr.Space, root *trieNode, off, nActions int) []actionSet {
	var rec func(n *trieNode, depth, inherited int) []actionSet
	rec = func(n *trieNode, depth, inherited int) []actionSet {
		if n.action >= 0 {
			inherited = n.action
		}
		if n.child[0] == nil && n.child[1] == nil {
			return []actionSet{{inherited, s.M.True()}}
		}
		var sides [2][]actionSet
		for b := range 2 {
			if n.child[b] == nil {
				sides[b] = []actionSet{{inherited, s.M.True()}}
			} else {
				sides[b] = rec(n.child[b], depth+1, inherited)
			}
		}
		return merge(s, s.DstVar(off+depth), sides[0], sides[1])
	}
	return rec(root, 0, nActions)
}

// merge combines the pairs of the two halves of a trie node at variable v:
// an action's set is "bit 0 and its low-half set, or bit 1 and its
// high-half set". Pairs stay sorted by action.
func merge(s *hdr.Space, v int, low, high []actionSet) []actionSet {
	M := s.M
	out := make([]actionSet, 0, max(len(low), len(high)))
	i, j := 0, 0
	for i < len(low) || j < len(high) {
		switch {
		case j == len(high) || i < len(low) && low[i].action < high[j].action:
			out = append(out, actionSet{low[i].action, M.MakeNode(v, low[i].set, M.False())})
			i++
		case i == len(low) || high[j].action < low[i].action:
			out = append(out, actionSet{high[j].action, M.MakeNode(v, M.False(), high[j].set)})
			j++
		default:
			out = append(out, actionSet{low[i].action, M.MakeNode(v, low[i].set, high[j].set)})
			i++
			j++
		}
	}
	return out
}

// insert adds a prefix (as its first bits bits of addr, most significant
// first) with an action; a later insert of the same prefix replaces it.
func (n *trieNode) insert(alloc *trieAlloc, addr []byte, bits, action int) {
	for i := range bits {
		b := addr[i/8] >> (7 - i%8) & 1
		if n.child[b] == nil {
			n.child[b] = alloc.node()
		}
		n = n.child[b]
	}
	n.action = action
}

// trieAlloc hands out trie nodes from blocks, to keep allocations few.
type trieAlloc struct{ block []trieNode }

func (a *trieAlloc) node() *trieNode {
	if len(a.block) == 0 {
		a.block = make([]trieNode, 4096)
	}
	n := &a.block[0]
	a.block = a.block[1:]
	n.action = -1
	return n
}
