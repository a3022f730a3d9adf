package dataplane

import (
	"math/bits"
	"slices"

	"github.com/preflight-sh/preflight/bdd"
	"github.com/preflight-sh/preflight/fwd"
	"github.com/preflight-sh/preflight/hdr"
)

// A longest-prefix-match table is a decision tree over destination bits,
// so the set of destinations each action takes can be built bottom-up from
// a binary trie of the prefixes, one BDD node per trie node and action,
// instead of by unions and differences of whole prefix sets (which grow
// with the table). The devices of a network share one trie per address
// family: their tables mostly hold the same prefixes, so each prefix is a
// node once, listing the devices with a rule for it.

// prefixTrie is a binary trie of the prefixes of every longest-prefix-match
// device (of one address family). Node 0 is the root. Rules are inserted
// into adds, then filed by node into rules. path holds the nodes down to
// the prefix inserted last, and last its address: tables are mostly
// sorted, so the next insert starts where the two prefixes part.
type prefixTrie struct {
	nodes []trieNode
	adds  []trieAdd
	rules []devAction
	path  []int32
	last  []byte
}

// trieNode is a node of a prefix trie: its children (0: none; the root is
// never a child) and, in rules[lo:hi], the devices with a rule at its
// prefix, by device.
type trieNode struct {
	child  [2]int32
	lo, hi int32
}

// devAction says that device dev's rule at a prefix takes action action.
type devAction struct {
	dev, action int32
}

// trieAdd is an inserted rule: device dev's rule at node takes action.
type trieAdd struct {
	node, dev, action int32
}

// newPrefixTries returns empty IPv4 and IPv6 tries with room for every
// rule of the networks (there are many: growing would copy them).
func newPrefixTries(nets []*fwd.Network) (v4, v6 *prefixTrie) {
	var n4, n6 int
	for _, n := range nets {
		for _, d := range n.Devices {
			for i := range d.Rules {
				if d.Rules[i].Prefix.Addr().Is4() {
					n4++
				} else {
					n6++
				}
			}
		}
	}
	return newPrefixTrie(4, n4), newPrefixTrie(16, n6)
}

// newPrefixTrie returns an empty trie of addresses of size bytes, with
// room for rules rules.
func newPrefixTrie(size, rules int) *prefixTrie {
	return &prefixTrie{nodes: make([]trieNode, 1), adds: make([]trieAdd, 0, rules), path: []int32{0}, last: make([]byte, size)}
}

// insert adds device dev's rule for a prefix (the first length bits of
// addr, most significant first). Devices insert their rules one device
// after another, in increasing dev.
func (t *prefixTrie) insert(addr []byte, length int, dev, action int32) {
	t.adds = append(t.adds, trieAdd{t.node(addr, length), dev, action})
}

// file lists the inserted rules by node, after the last insert; a
// device's later rule for a prefix replaces its earlier one.
func (t *prefixTrie) file() {
	for _, a := range t.adds {
		t.nodes[a.node].hi++
	}
	at := int32(0)
	for i := range t.nodes {
		n := &t.nodes[i]
		n.lo, n.hi, at = at, at, at+n.hi
	}
	t.rules = make([]devAction, at)
	for _, a := range t.adds {
		n := &t.nodes[a.node]
		if n.hi > n.lo && t.rules[n.hi-1].dev == a.dev {
			t.rules[n.hi-1].action = a.action
			continue
		}
		t.rules[n.hi] = devAction{a.dev, a.action}
		n.hi++
	}
	t.adds = nil
}

// rulesAt returns the devices with a rule at node n and their actions.
func (t *prefixTrie) rulesAt(n int32) []devAction {
	return t.rules[t.nodes[n].lo:t.nodes[n].hi]
}

// node returns the node of a prefix, adding it and the nodes above it if
// new.
func (t *prefixTrie) node(addr []byte, length int) int32 {
	same := 8 * len(addr)
	for i := range addr {
		if x := addr[i] ^ t.last[i]; x != 0 {
			same = 8*i + bits.LeadingZeros8(x)
			break
		}
	}
	same = min(same, length, len(t.path)-1)
	t.path = t.path[:same+1]
	n := t.path[same]
	for i := same; i < length; i++ {
		b := addr[i/8] >> (7 - i%8) & 1
		c := t.nodes[n].child[b]
		if c == 0 {
			c = int32(len(t.nodes))
			t.nodes = append(t.nodes, trieNode{})
			t.nodes[n].child[b] = c
		}
		n = c
		t.path = append(t.path, n)
	}
	copy(t.last, addr)
	return n
}

// actionOf returns the action of device dev's rule at node n, if any.
func (t *prefixTrie) actionOf(n, dev int32) (int32, bool) {
	rules := t.rulesAt(n)
	k, ok := slices.BinarySearchFunc(rules, dev, func(r devAction, dev int32) int { return int(r.dev - dev) })
	if !ok {
		return 0, false
	}
	return rules[k].action, true
}

// lpmSets returns, for each action 0..nActions-1 of device dev, the
// destinations its table sends to it, and (last) the destinations none of
// its rules covers. The trie's prefixes are bit strings of the
// destination field: bit i is bit i from the most significant. off is the
// first field bit they start at (96 for IPv4 prefixes in a dual-stack
// space).
func lpmSets(s *hdr.Space, t *prefixTrie, dev int32, off, nActions int) []bdd.Node {
	M := s.M
	out := make([]bdd.Node, nActions+1)
	for i := range out {
		out[i] = M.False()
	}
	var rec func(n int32, depth, inherited int) []actionSet
	rec = func(n int32, depth, inherited int) []actionSet {
		if a, ok := t.actionOf(n, dev); ok {
			inherited = int(a)
		}
		node := &t.nodes[n]
		if node.child == [2]int32{} {
			return []actionSet{{inherited, M.True()}}
		}
		var sides [2][]actionSet
		for b, c := range node.child {
			if c == 0 {
				sides[b] = []actionSet{{inherited, M.True()}}
			} else {
				sides[b] = rec(c, depth+1, inherited)
			}
		}
		return merge(s, s.DstVar(off+depth), sides[0], sides[1])
	}
	for _, p := range rec(0, 0, nActions) {
		out[p.action] = p.set
	}
	return out
}

type actionSet struct {
	action int
	set    bdd.Node
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
