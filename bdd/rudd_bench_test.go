package bdd_test

// The workloads of bench_test.go on github.com/dalzilio/rudd, a Go port of
// BuDDy, for comparison; the dependency is for this test file only.

import (
	"math"
	"math/big"
	"testing"

	"github.com/dalzilio/rudd"
	"github.com/preflight-sh/preflight/bdd"
)

// ruddBuilder adapts a rudd.BDD to builder, calling Apply directly to spare
// the variadic And and Or their slices. Diff(a, b) is rudd's OPless with the
// operands swapped (¬b ∧ a): this version of rudd returns b for OPdiff(0, b)
// (a wrong terminal case), which TestRuddAgrees caught.
type ruddBuilder struct{ b *rudd.BDD }

func newRudd(tb testing.TB, vars int) ruddBuilder {
	b, err := rudd.New(vars)
	if err != nil {
		tb.Fatal(err)
	}
	return ruddBuilder{b}
}

func (r ruddBuilder) True() rudd.Node               { return r.b.True() }
func (r ruddBuilder) False() rudd.Node              { return r.b.False() }
func (r ruddBuilder) Var(i int) rudd.Node           { return r.b.Ithvar(i) }
func (r ruddBuilder) NVar(i int) rudd.Node          { return r.b.NIthvar(i) }
func (r ruddBuilder) And(a, b rudd.Node) rudd.Node  { return r.b.Apply(a, b, rudd.OPand) }
func (r ruddBuilder) Or(a, b rudd.Node) rudd.Node   { return r.b.Apply(a, b, rudd.OPor) }
func (r ruddBuilder) Diff(a, b rudd.Node) rudd.Node { return r.b.Apply(b, a, rudd.OPless) }

// TestRuddAgrees checks that both packages compute the same sets on the
// benchmark workloads, compared by their number of elements (SatCount is a
// float64, so up to rounding).
func TestRuddAgrees(t *testing.T) {
	workloads()
	same := func(name string, m *bdd.Manager, n bdd.Node, r ruddBuilder, rn rudd.Node) {
		t.Helper()
		if r.b.Errored() {
			t.Fatalf("%s: rudd: %v", name, r.b.Error())
		}
		want, _ := new(big.Float).SetInt(r.b.Satcount(rn)).Float64()
		if got := m.SatCount(n); math.Abs(got-want) > 1e-12*want {
			t.Errorf("%s: %g elements, rudd says %g", name, got, want)
		}
	}
	m, r := bdd.New(32), newRudd(t, 32)
	same("union", m, union(m, unionSet), r, union(r, unionSet))

	m, r = bdd.New(32), newRudd(t, 32)
	ours, theirs := lpm(m, lpmRules), lpm(r, lpmRules)
	for i := range ours {
		same("lpm", m, ours[i], r, theirs[i])
	}

	m, r = bdd.New(headerVars), newRudd(t, headerVars)
	same("acl", m, acl(m, aclRules), r, acl(r, aclRules))
}

func BenchmarkRuddUnion(b *testing.B) {
	workloads()
	b.ReportAllocs()
	for b.Loop() {
		union(newRudd(b, 32), unionSet)
	}
}

func BenchmarkRuddLPM(b *testing.B) {
	workloads()
	b.ReportAllocs()
	for b.Loop() {
		lpm(newRudd(b, 32), lpmRules)
	}
}

func BenchmarkRuddACL(b *testing.B) {
	workloads()
	b.ReportAllocs()
	for b.Loop() {
		acl(newRudd(b, headerVars), aclRules)
	}
}
