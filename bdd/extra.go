package bdd

import "fmt"

// opIntersects is the operation code of Intersects in the operation cache
// (after those of bdd.go).
const opIntersects Node = 16

// Intersects reports whether a ∧ b is not empty, without building a ∧ b:
// no node is made, and the search stops at the first common assignment.
// Results of the recursion go to the operation cache, so it takes at most
// time proportional to the product of the sizes of a and b.
func (m *Manager) Intersects(a, b Node) bool {
	switch {
	case a == 0 || b == 0:
		return false
	case a == 1 || b == 1 || a == b:
		return true
	}
	if a > b {
		a, b = b, a
	}
	h := hash(a, b, -opIntersects)
	m.lookups++
	if e := m.cache[h>>m.cacheShift]; e.a == a && e.b == b && e.c == -opIntersects {
		m.hits++
		return e.res == 1
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
	r := m.Intersects(a0, b0) || m.Intersects(a1, b1)
	res := Node(0)
	if r {
		res = 1
	}
	m.cache[h>>m.cacheShift] = entry{a, b, -opIntersects, res}
	return r
}

// opExistsFrom is the operation code of ExistsFrom in the operation cache.
const opExistsFrom Node = 17

// ExistsFrom returns n with variables v to Vars()-1 quantified
// existentially: the assignments of the variables before v that some
// assignment of the others extends to one of n. With the variables of a
// header field first, it projects a set of headers onto that field.
func (m *Manager) ExistsFrom(n Node, v int) Node {
	if v < 0 || v > int(m.vars) {
		panic(fmt.Sprintf("bdd: ExistsFrom: variable %d out of range [0, %d]", v, m.vars))
	}
	return m.existsFrom(n, Node(v))
}

func (m *Manager) existsFrom(n, v Node) Node {
	if n < 2 {
		return n
	}
	nd := m.nodes[n]
	if Node(nd.level) >= v {
		// A node other than false has a satisfying assignment.
		return 1
	}
	h := hash(n, v, -opExistsFrom)
	m.lookups++
	if e := m.cache[h>>m.cacheShift]; e.a == n && e.b == v && e.c == -opExistsFrom {
		m.hits++
		return e.res
	}
	r := m.mk(nd.level, m.existsFrom(nd.low, v), m.existsFrom(nd.high, v))
	m.cache[h>>m.cacheShift] = entry{n, v, -opExistsFrom, r}
	return r
}
