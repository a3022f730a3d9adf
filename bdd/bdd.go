// Package bdd implements reduced ordered binary decision diagrams (BDDs),
// the symbolic sets the exhaustive network verifier computes with: sets of
// packet headers, data-plane equivalence classes, reachability for all
// packets.
//
// A Manager owns every node. A Node is an index into the manager's node
// table. Diagrams are reduced and shared through a unique table, so two
// nodes of one manager are equal exactly when they stand for the same
// Boolean function: set equality is ==. Variables are ordered by index,
// variable 0 at the root; there is no reordering.
//
// # Memory
//
// Nodes live in one flat slice, 12 bytes each (variable, low, high), and
// no node is allocated on its own. An open-addressing unique table (8 bytes
// a slot, linear probing) finds a node by its (variable, low, high); it
// starts at 8192 slots, is kept at most half full and doubles when it
// fills. Results of And, Or, Diff, Xor, Imp, Not and Ite go to one
// direct-mapped, lossy operation cache (16 bytes an entry: a new result
// overwrites whatever shared its slot) with half as many entries as the
// unique table has slots, so one to two entries a node, up to 1<<22
// entries (64 MiB). All told a node costs 44 to 88 bytes, depending on
// where the tables are between two doublings, and while a table doubles
// its old copy is held too. A manager holds at most 2^31-1 nodes.
//
// A Manager only grows: there is no garbage collection, so a Node stays
// valid for the life of its manager, and nodes that are no longer needed
// are freed only with the whole manager. A long-running user builds one
// manager per problem (the verifier builds one per network) and drops it
// when done. Stats reports the sizes.
//
// A Manager is not safe for concurrent use.
package bdd

import (
	"fmt"
	"math"
	"slices"
)

// Node is a Boolean function (a set of assignments) owned by a Manager:
// 0 is false (the empty set), 1 is true (every assignment).
type Node int32

// IsFalse reports whether n is the constant false (the empty set).
func (n Node) IsFalse() bool { return n == 0 }

// IsTrue reports whether n is the constant true (every assignment).
func (n Node) IsTrue() bool { return n == 1 }

// node is one entry of the node table. The terminals have level = vars, so
// that the top variable of several operands is the least of their levels.
type node struct {
	level     int32
	low, high Node
}

// entry is one slot of the operation cache: the result of op(a, b), where
// c = -op, or of Ite(a, b, c) (c > 1). A query always has a > 1, so the
// zero entry matches nothing.
type entry struct {
	a, b, c, res Node
}

// Operation codes, as stored (negated) in cache entries.
const (
	opAnd Node = iota + 1
	opOr
	opDiff
	opXor
	opImp
	opNot
)

// Table sizes (powers of two).
const (
	initUniqueSlots = 1 << 13
	maxCacheEntries = 1 << 22
)

// Manager holds the nodes of a family of diagrams over a fixed number of
// variables, with their unique table and operation cache.
type Manager struct {
	vars  int32
	nodes []node
	// unique holds, in each used slot, a node id in the low 32 bits and the
	// high 32 bits of the node's hash in the high 32 bits (so most
	// mismatches are rejected without reading the node); 0 is an empty
	// slot. A node's first slot is its hash's top log2(len(unique)) bits.
	unique      []uint64
	uniqueShift uint // 64 - log2(len(unique))
	cache       []entry
	cacheShift  uint // 64 - log2(len(cache))

	lookups, hits uint64
}

// New returns a manager for functions of vars variables, numbered 0 to
// vars-1.
func New(vars int) *Manager {
	if vars < 0 || vars > math.MaxInt32/4 {
		panic(fmt.Sprintf("bdd: bad variable count %d", vars))
	}
	m := &Manager{vars: int32(vars)}
	m.nodes = make([]node, 2)
	m.nodes[0] = node{level: m.vars, low: 0, high: 0}
	m.nodes[1] = node{level: m.vars, low: 1, high: 1}
	m.resize(initUniqueSlots)
	// Var(i) is node 2+2i and NVar(i) is node 3+2i.
	for i := range m.vars {
		m.mk(i, 0, 1)
		m.mk(i, 1, 0)
	}
	return m
}

// Vars returns the number of variables.
func (m *Manager) Vars() int { return int(m.vars) }

// True returns the constant true: every assignment.
func (m *Manager) True() Node { return 1 }

// False returns the constant false: the empty set.
func (m *Manager) False() Node { return 0 }

// Var returns the function that is true when variable i is.
func (m *Manager) Var(i int) Node {
	m.checkVar(i)
	return Node(2 + 2*i)
}

// NVar returns the function that is true when variable i is false.
func (m *Manager) NVar(i int) Node {
	m.checkVar(i)
	return Node(3 + 2*i)
}

func (m *Manager) checkVar(i int) {
	if i < 0 || i >= int(m.vars) {
		panic(fmt.Sprintf("bdd: variable %d out of range [0, %d)", i, m.vars))
	}
}

// Level returns the variable that n tests at its root, or Vars() when n
// is a constant.
func (m *Manager) Level(n Node) int { return int(m.nodes[n].level) }

// Low returns the function n takes when its root variable is false (n
// itself for a constant).
func (m *Manager) Low(n Node) Node { return m.nodes[n].low }

// High returns the function n takes when its root variable is true (n
// itself for a constant).
func (m *Manager) High(n Node) Node { return m.nodes[n].high }

// MakeNode returns the function that is high when variable v is true and
// low when it is false, in one step: the way to build a diagram from the
// bottom up (a prefix, a range) without going through the operation cache.
// Variable v must come before the root variables of low and high.
func (m *Manager) MakeNode(v int, low, high Node) Node {
	m.checkVar(v)
	if int32(v) >= min(m.nodes[low].level, m.nodes[high].level) {
		panic(fmt.Sprintf("bdd: MakeNode: variable %d is not above its branches", v))
	}
	return m.mk(int32(v), low, high)
}

// And returns a ∧ b (the intersection).
func (m *Manager) And(a, b Node) Node { return m.apply(opAnd, a, b) }

// Or returns a ∨ b (the union).
func (m *Manager) Or(a, b Node) Node { return m.apply(opOr, a, b) }

// Diff returns a ∧ ¬b (the set difference a minus b).
func (m *Manager) Diff(a, b Node) Node { return m.apply(opDiff, a, b) }

// Xor returns a ⊕ b (the symmetric difference).
func (m *Manager) Xor(a, b Node) Node { return m.apply(opXor, a, b) }

// Imp returns a → b, that is ¬a ∨ b.
func (m *Manager) Imp(a, b Node) Node { return m.apply(opImp, a, b) }

// Not returns ¬a (the complement).
func (m *Manager) Not(a Node) Node { return m.not(a) }

// Ite returns if-then-else: (f ∧ g) ∨ (¬f ∧ h).
func (m *Manager) Ite(f, g, h Node) Node { return m.ite(f, g, h) }

// AndN returns the conjunction of ns (true when ns is empty).
func (m *Manager) AndN(ns ...Node) Node { return m.reduce(opAnd, 1, ns) }

// OrN returns the disjunction of ns (false when ns is empty).
func (m *Manager) OrN(ns ...Node) Node { return m.reduce(opOr, 0, ns) }

// reduce combines ns pairwise, as a balanced tree, which keeps the
// intermediate results small when the operands are many small diagrams.
func (m *Manager) reduce(op, unit Node, ns []Node) Node {
	if len(ns) == 0 {
		return unit
	}
	work := append([]Node(nil), ns...)
	for len(work) > 1 {
		k := 0
		for i := 0; i+1 < len(work); i += 2 {
			work[k] = m.apply(op, work[i], work[i+1])
			k++
		}
		if len(work)%2 == 1 {
			work[k] = work[len(work)-1]
			k++
		}
		work = work[:k]
	}
	return work[0]
}

// hash mixes three 32-bit values; its high bits depend on every input bit.
func hash(a, b, c Node) uint64 {
	return (uint64(uint32(a))<<32|uint64(uint32(b)))*0x9e3779b97f4a7c15 ^
		uint64(uint32(c))*0xc2b2ae3d27d4eb4f
}

// mk returns the node (level, low, high), reusing an equal one: the only
// place nodes are made.
func (m *Manager) mk(level int32, low, high Node) Node {
	if low == high {
		return low
	}
	h := hash(low, high, Node(level)) &^ math.MaxUint32
	mask := uint64(len(m.unique) - 1)
	i := h >> m.uniqueShift
	for ; m.unique[i] != 0; i = (i + 1) & mask {
		s := m.unique[i]
		if s&^math.MaxUint32 != h {
			continue
		}
		id := Node(uint32(s))
		if n := m.nodes[id]; n.level == level && n.low == low && n.high == high {
			return id
		}
	}
	if len(m.nodes) == math.MaxInt32 {
		panic("bdd: node table full")
	}
	id := Node(len(m.nodes))
	m.nodes = append(m.nodes, node{level, low, high})
	m.unique[i] = h | uint64(id)
	if 2*len(m.nodes) > len(m.unique) {
		m.resize(2 * len(m.unique))
	}
	return id
}

// resize gives the unique table slots slots (a power of two), grows the
// node table and the operation cache to match, and moves the entries of
// the unique table and the cache over. A unique-table slot holds the high
// half of its node's hash, which places it in the new table without
// reading the node; taken in order, the entries of either table land in
// the new one in order too, which keeps the moves cache-friendly.
func (m *Manager) resize(slots int) {
	// Room for the nodes up to the next resize: append alone would grow
	// the slice by a quarter at a time, copying it over and over.
	m.nodes = slices.Grow(m.nodes, slots/2+1-len(m.nodes))
	old := m.unique
	m.unique = make([]uint64, slots)
	m.uniqueShift = uint(64 - log2(slots))
	mask := uint64(slots - 1)
	for _, s := range old {
		if s == 0 {
			continue
		}
		i := s >> m.uniqueShift
		for m.unique[i] != 0 {
			i = (i + 1) & mask
		}
		m.unique[i] = s
	}
	entries := min(slots/2, maxCacheEntries)
	if entries == len(m.cache) {
		return
	}
	cache := m.cache
	m.cache = make([]entry, entries)
	m.cacheShift = uint(64 - log2(entries))
	for _, e := range cache {
		if e.a != 0 {
			m.cache[hash(e.a, e.b, e.c)>>m.cacheShift] = e
		}
	}
}

func log2(n int) int {
	k := 0
	for 1<<k < n {
		k++
	}
	return k
}

// apply computes a op b for a binary operation.
func (m *Manager) apply(op, a, b Node) Node {
	switch op {
	case opAnd:
		switch {
		case a == b || b == 1:
			return a
		case a == 0 || b == 0:
			return 0
		case a == 1:
			return b
		}
		if a > b {
			a, b = b, a
		}
	case opOr:
		switch {
		case a == b || b == 0:
			return a
		case a == 1 || b == 1:
			return 1
		case a == 0:
			return b
		}
		if a > b {
			a, b = b, a
		}
	case opDiff:
		switch {
		case a == 0 || b == 1 || a == b:
			return 0
		case b == 0:
			return a
		case a == 1:
			return m.not(b)
		}
	case opXor:
		switch {
		case a == b:
			return 0
		case a == 0:
			return b
		case b == 0:
			return a
		case a == 1:
			return m.not(b)
		case b == 1:
			return m.not(a)
		}
		if a > b {
			a, b = b, a
		}
	case opImp:
		switch {
		case a == 0 || b == 1 || a == b:
			return 1
		case a == 1:
			return b
		case b == 0:
			return m.not(a)
		}
	}
	h := hash(a, b, -op)
	m.lookups++
	if e := m.cache[h>>m.cacheShift]; e.a == a && e.b == b && e.c == -op {
		m.hits++
		return e.res
	}
	na, nb := m.nodes[a], m.nodes[b]
	level := min(na.level, nb.level)
	a0, a1, b0, b1 := a, a, b, b
	if na.level == level {
		a0, a1 = na.low, na.high
	}
	if nb.level == level {
		b0, b1 = nb.low, nb.high
	}
	r := m.mk(level, m.apply(op, a0, b0), m.apply(op, a1, b1))
	m.cache[h>>m.cacheShift] = entry{a, b, -op, r}
	return r
}

// not computes ¬a.
func (m *Manager) not(a Node) Node {
	if a < 2 {
		return 1 - a
	}
	h := hash(a, 0, -opNot)
	m.lookups++
	if e := m.cache[h>>m.cacheShift]; e.a == a && e.b == 0 && e.c == -opNot {
		m.hits++
		return e.res
	}
	n := m.nodes[a]
	r := m.mk(n.level, m.not(n.low), m.not(n.high))
	m.cache[h>>m.cacheShift] = entry{a, 0, -opNot, r}
	return r
}

// ite computes (f ∧ g) ∨ (¬f ∧ h), handing the cases that reduce to a
// binary operation to apply.
func (m *Manager) ite(f, g, h Node) Node {
	switch {
	case f == 1:
		return g
	case f == 0:
		return h
	case g == h:
		return g
	case f == g || g == 1:
		return m.apply(opOr, f, h)
	case f == h || h == 0:
		return m.apply(opAnd, f, g)
	case g == 0:
		return m.apply(opDiff, h, f)
	case h == 1:
		return m.apply(opImp, f, g)
	}
	k := hash(f, g, h)
	m.lookups++
	if e := m.cache[k>>m.cacheShift]; e.a == f && e.b == g && e.c == h {
		m.hits++
		return e.res
	}
	nf, ng, nh := m.nodes[f], m.nodes[g], m.nodes[h]
	level := min(nf.level, ng.level, nh.level)
	f0, f1, g0, g1, h0, h1 := f, f, g, g, h, h
	if nf.level == level {
		f0, f1 = nf.low, nf.high
	}
	if ng.level == level {
		g0, g1 = ng.low, ng.high
	}
	if nh.level == level {
		h0, h1 = nh.low, nh.high
	}
	r := m.mk(level, m.ite(f0, g0, h0), m.ite(f1, g1, h1))
	m.cache[k>>m.cacheShift] = entry{f, g, h, r}
	return r
}

// SatCount returns the number of assignments of all Vars() variables that
// satisfy n (a float64: exact up to 2^53, approximate above).
func (m *Manager) SatCount(n Node) float64 {
	memo := map[Node]float64{}
	return math.Ldexp(m.satCount(n, memo), m.Level(n))
}

// satCount counts the satisfying assignments of the variables from n's
// level down.
func (m *Manager) satCount(n Node, memo map[Node]float64) float64 {
	if n < 2 {
		return float64(n)
	}
	if c, ok := memo[n]; ok {
		return c
	}
	nd := m.nodes[n]
	c := math.Ldexp(m.satCount(nd.low, memo), int(m.nodes[nd.low].level-nd.level-1)) +
		math.Ldexp(m.satCount(nd.high, memo), int(m.nodes[nd.high].level-nd.level-1))
	memo[n] = c
	return c
}

// AnySat returns one assignment that satisfies n, indexed by variable: 0
// or 1, or -1 for a variable whose value does not matter. It takes the low
// branch whenever it can, so with the don't-cares read as 0 it is the least
// satisfying assignment, variable 0 most significant. It returns nil when n
// is false.
func (m *Manager) AnySat(n Node) []int8 {
	if n == 0 {
		return nil
	}
	a := make([]int8, m.vars)
	for i := range a {
		a[i] = -1
	}
	for n > 1 {
		nd := m.nodes[n]
		if nd.low != 0 {
			a[nd.level], n = 0, nd.low
		} else {
			a[nd.level], n = 1, nd.high
		}
	}
	return a
}

// NodeCount returns the number of nodes of the diagram n, constants not
// counted.
func (m *Manager) NodeCount(n Node) int {
	seen := map[Node]bool{}
	stack := []Node{n}
	for len(stack) > 0 {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if x < 2 || seen[x] {
			continue
		}
		seen[x] = true
		stack = append(stack, m.nodes[x].low, m.nodes[x].high)
	}
	return len(seen)
}

// Size returns the number of nodes the manager holds, the two constants
// included. It never decreases.
func (m *Manager) Size() int { return len(m.nodes) }

// Stats describes a manager's tables.
type Stats struct {
	Vars        int // variables
	Nodes       int // nodes held, constants included
	UniqueSlots int // slots of the unique table
	CacheSlots  int // entries of the operation cache
	// CacheLookups and CacheHits count operation-cache queries and the
	// queries answered from the cache.
	CacheLookups, CacheHits uint64
	Bytes                   int // memory held by the three tables
}

// Stats returns the sizes of the manager's tables.
func (m *Manager) Stats() Stats {
	return Stats{
		Vars:         int(m.vars),
		Nodes:        len(m.nodes),
		UniqueSlots:  len(m.unique),
		CacheSlots:   len(m.cache),
		CacheLookups: m.lookups,
		CacheHits:    m.hits,
		Bytes:        12*cap(m.nodes) + 8*len(m.unique) + 16*len(m.cache),
	}
}
