package bdd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// table is a truth table over nv variables: entry k is the value of the
// function where variable i has the value of bit i of k.
type table []bool

func (t table) key() string {
	b := make([]byte, len(t))
	for i, v := range t {
		if v {
			b[i] = 1
		}
	}
	return string(b)
}

// formulas builds random functions in one manager alongside their truth
// tables.
type formulas struct {
	m   *Manager
	nv  int
	rng *rand.Rand
}

func (f *formulas) varTable(i int, neg bool) table {
	t := make(table, 1<<f.nv)
	for k := range t {
		t[k] = (k>>i&1 == 1) != neg
	}
	return t
}

func constTable(nv int, v bool) table {
	t := make(table, 1<<nv)
	for k := range t {
		t[k] = v
	}
	return t
}

func combine(a, b table, op func(x, y bool) bool) table {
	t := make(table, len(a))
	for k := range t {
		t[k] = op(a[k], b[k])
	}
	return t
}

// random returns a random function of the given depth.
func (f *formulas) random(depth int) (Node, table) {
	m := f.m
	if depth == 0 || f.rng.IntN(6) == 0 {
		i := f.rng.IntN(f.nv)
		switch f.rng.IntN(8) {
		case 0:
			return m.False(), constTable(f.nv, false)
		case 1:
			return m.True(), constTable(f.nv, true)
		case 2, 3, 4:
			return m.NVar(i), f.varTable(i, true)
		}
		return m.Var(i), f.varTable(i, false)
	}
	a, ta := f.random(depth - 1)
	b, tb := f.random(depth - 1)
	switch f.rng.IntN(9) {
	case 0:
		return m.And(a, b), combine(ta, tb, func(x, y bool) bool { return x && y })
	case 1:
		return m.Or(a, b), combine(ta, tb, func(x, y bool) bool { return x || y })
	case 2:
		return m.Diff(a, b), combine(ta, tb, func(x, y bool) bool { return x && !y })
	case 3:
		return m.Xor(a, b), combine(ta, tb, func(x, y bool) bool { return x != y })
	case 4:
		return m.Imp(a, b), combine(ta, tb, func(x, y bool) bool { return !x || y })
	case 5:
		return m.Not(a), combine(ta, ta, func(x, _ bool) bool { return !x })
	case 6:
		c, tc := f.random(depth - 1)
		t := make(table, len(ta))
		for k := range t {
			t[k] = ta[k] && tb[k] || !ta[k] && tc[k]
		}
		return m.Ite(a, b, c), t
	case 7:
		c, tc := f.random(depth - 1)
		return m.AndN(a, b, c), combine(combine(ta, tb, func(x, y bool) bool { return x && y }), tc, func(x, y bool) bool { return x && y })
	}
	c, tc := f.random(depth - 1)
	return m.OrN(a, b, c), combine(combine(ta, tb, func(x, y bool) bool { return x || y }), tc, func(x, y bool) bool { return x || y })
}

// eval walks n for assignment k.
func eval(m *Manager, n Node, k int) bool {
	for n > 1 {
		if k>>m.Level(n)&1 == 1 {
			n = m.High(n)
		} else {
			n = m.Low(n)
		}
	}
	return n == 1
}

// nodesFromTable counts the nodes of the reduced ordered diagram of t: the
// distinct subfunctions, reached by fixing variables 0..i-1, that depend on
// variable i.
func nodesFromTable(t table, nv int) int {
	count := 0
	for i := range nv {
		seen := map[string]bool{}
		for prefix := range 1 << i {
			// The subfunction of variables i..nv-1.
			sub := make(table, 1<<(nv-i))
			for rest := range sub {
				sub[rest] = t[prefix|rest<<i]
			}
			half := len(sub) / 2
			depends := false
			for r := range half {
				if sub[2*r] != sub[2*r+1] {
					depends = true
					break
				}
			}
			if depends && !seen[sub.key()] {
				seen[sub.key()] = true
				count++
			}
		}
	}
	return count
}

// leastSat returns the least satisfying assignment of t, variable 0 most
// significant, or -1.
func leastSat(t table, nv int) int {
	best := -1
	for k, v := range t {
		if !v {
			continue
		}
		if best == -1 || reverse(k, nv) < reverse(best, nv) {
			best = k
		}
	}
	return best
}

func reverse(k, nv int) int {
	r := 0
	for i := range nv {
		r = r<<1 | k>>i&1
	}
	return r
}

func TestRandomFormulas(t *testing.T) {
	for _, nv := range []int{1, 3, 5, 8} {
		for seed := range uint64(5) {
			t.Run(fmt.Sprintf("vars=%d/seed=%d", nv, seed), func(t *testing.T) {
				f := &formulas{m: New(nv), nv: nv, rng: rand.New(rand.NewPCG(seed, uint64(nv)))}
				byTable := map[string]Node{}
				for range 300 {
					n, tt := f.random(6)
					checkFunction(t, f.m, n, tt, nv)
					// Canonicity: equal functions have equal ids, and
					// different functions different ids.
					if prev, ok := byTable[tt.key()]; ok && prev != n {
						t.Fatalf("same function, nodes %d and %d", prev, n)
					}
					byTable[tt.key()] = n
				}
				ids := map[Node]string{}
				for k, n := range byTable {
					if _, dup := ids[n]; dup {
						t.Fatalf("node %d stands for two functions", n)
					}
					ids[n] = k
				}
				checkReduced(t, f.m)
			})
		}
	}
}

// checkFunction compares n with its truth table, and SatCount, AnySat and
// NodeCount with values computed from the table.
func checkFunction(t *testing.T, m *Manager, n Node, tt table, nv int) {
	t.Helper()
	count := 0
	for k, want := range tt {
		if got := eval(m, n, k); got != want {
			t.Fatalf("node %d at assignment %b: got %v, want %v", n, k, got, want)
		}
		if want {
			count++
		}
	}
	if got := m.SatCount(n); got != float64(count) {
		t.Fatalf("SatCount = %v, want %d", got, count)
	}
	if n.IsFalse() != (count == 0) || n.IsTrue() != (count == len(tt)) {
		t.Fatalf("node %d: IsFalse %v IsTrue %v with %d of %d", n, n.IsFalse(), n.IsTrue(), count, len(tt))
	}
	if got, want := m.NodeCount(n), nodesFromTable(tt, nv); got != want {
		t.Fatalf("NodeCount = %d, want %d", got, want)
	}
	a := m.AnySat(n)
	if count == 0 {
		if a != nil {
			t.Fatalf("AnySat of false = %v", a)
		}
		return
	}
	// Every completion of the don't-cares satisfies n.
	cube := m.True()
	least := 0
	for i, v := range a {
		switch v {
		case 0:
			cube = m.And(cube, m.NVar(i))
		case 1:
			cube = m.And(cube, m.Var(i))
			least |= 1 << i
		}
	}
	if !m.Imp(cube, n).IsTrue() {
		t.Fatalf("AnySat %v does not imply node %d", a, n)
	}
	if want := leastSat(tt, nv); least != want {
		t.Fatalf("AnySat %v reads as %b, least is %b", a, least, want)
	}
}

// checkReduced checks the node table: no redundant test, variables
// increase along edges, and no two nodes alike.
func checkReduced(t *testing.T, m *Manager) {
	t.Helper()
	seen := map[node]Node{}
	for id := 2; id < m.Size(); id++ {
		n := m.nodes[id]
		if n.low == n.high {
			t.Fatalf("node %d tests a variable it does not depend on", id)
		}
		if m.nodes[n.low].level <= n.level || m.nodes[n.high].level <= n.level {
			t.Fatalf("node %d: children out of order", id)
		}
		if prev, ok := seen[n]; ok {
			t.Fatalf("nodes %d and %d alike", prev, id)
		}
		seen[n] = Node(id)
	}
}

// TestGrowth makes the unique table and the cache grow several times and
// checks the results stay right.
func TestGrowth(t *testing.T) {
	const nv = 16
	f := &formulas{m: New(nv), nv: nv, rng: rand.New(rand.NewPCG(7, 7))}
	m := f.m
	before := m.Stats()
	acc, tt := m.False(), constTable(nv, false)
	for range 400 {
		cube, ct := m.True(), constTable(nv, true)
		for _, i := range f.rng.Perm(nv)[:8] {
			neg := f.rng.IntN(2) == 0
			lit := m.Var(i)
			if neg {
				lit = m.NVar(i)
			}
			cube = m.And(cube, lit)
			ct = combine(ct, f.varTable(i, neg), func(x, y bool) bool { return x && y })
		}
		acc = m.Xor(acc, cube)
		tt = combine(tt, ct, func(x, y bool) bool { return x != y })
	}
	after := m.Stats()
	if after.UniqueSlots < 4*before.UniqueSlots || after.CacheSlots < 4*before.CacheSlots {
		t.Fatalf("tables did not grow: %+v, then %+v", before, after)
	}
	for k, want := range tt {
		if eval(m, acc, k) != want {
			t.Fatalf("wrong at %b", k)
		}
	}
	checkReduced(t, m)
	if after.CacheHits == 0 || after.CacheHits > after.CacheLookups || after.Bytes <= 0 {
		t.Fatalf("stats: %+v", after)
	}
}

func TestParity(t *testing.T) {
	for _, nv := range []int{1, 2, 10, 64} {
		m := New(nv)
		p := m.False()
		for i := range nv {
			p = m.Xor(p, m.Var(i))
		}
		if got, want := m.NodeCount(p), 2*nv-1; got != want {
			t.Errorf("%d vars: parity has %d nodes, want %d", nv, got, want)
		}
		if got, want := m.SatCount(p), math.Ldexp(1, nv-1); got != want {
			t.Errorf("%d vars: parity SatCount = %v, want %v", nv, got, want)
		}
	}
}

func TestConstantsAndVars(t *testing.T) {
	m := New(104)
	if m.SatCount(m.True()) != math.Ldexp(1, 104) || m.SatCount(m.False()) != 0 {
		t.Fatal("constants: wrong SatCount")
	}
	if m.SatCount(m.Var(50)) != math.Ldexp(1, 103) {
		t.Fatal("Var: wrong SatCount")
	}
	if m.Not(m.Var(3)) != m.NVar(3) || m.Var(3) == m.NVar(3) {
		t.Fatal("Not(Var) != NVar")
	}
	if m.Level(m.Var(7)) != 7 || m.Level(m.True()) != 104 || m.Low(m.Var(7)) != m.False() || m.High(m.Var(7)) != m.True() {
		t.Fatal("Level, Low, High of Var(7)")
	}
	if m.AndN() != m.True() || m.OrN() != m.False() || m.AndN(m.Var(1)) != m.Var(1) {
		t.Fatal("AndN/OrN of none or one")
	}
	if got := m.AnySat(m.True()); len(got) != 104 || slices.ContainsFunc(got, func(v int8) bool { return v != -1 }) {
		t.Fatalf("AnySat(True) = %v", got)
	}
	if m.Vars() != 104 || m.Size() != 2+2*104 || m.NodeCount(m.True()) != 0 {
		t.Fatalf("Vars %d, Size %d", m.Vars(), m.Size())
	}
	if m.MakeNode(3, m.False(), m.True()) != m.Var(3) || m.MakeNode(3, m.Var(4), m.Var(4)) != m.Var(4) {
		t.Fatal("MakeNode")
	}
	for name, f := range map[string]func(){
		"Var(104)":                func() { m.Var(104) },
		"NVar(-1)":                func() { m.NVar(-1) },
		"MakeNode below a branch": func() { m.MakeNode(5, m.Var(3), m.True()) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s did not panic", name)
				}
			}()
			f()
		}()
	}
}
