package bdd_test

import (
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/preflight-sh/preflight/bdd"
)

// The benchmark workloads are written once, over builder, and run on this
// package and on github.com/dalzilio/rudd (rudd_bench_test.go).

// builder is what the workloads need of a BDD package.
type builder[N comparable] interface {
	True() N
	False() N
	Var(i int) N
	NVar(i int) N
	And(a, b N) N
	Or(a, b N) N
	Diff(a, b N) N
}

// prefix is an IPv4 prefix.
type prefix struct {
	addr uint32
	bits int
}

// aclRule is an ACL rule over the 104-variable header: destination (0-31),
// source (32-63), protocol (64-71), destination port (72-87), source port
// (88-103).
type aclRule struct {
	permit       bool
	dst, dstMask uint32
	src, srcMask uint32
	proto        [2]int
	dport, sport [2]int
}

const headerVars = 104

var (
	workloadOnce sync.Once
	unionSet     []prefix  // (a) 14,000 random /8-/32 prefixes
	lpmRules     []prefix  // (b) 2,000 prefixes, longest first
	aclRules     []aclRule // (c) 700 rules in evaluation order
)

func workloads() {
	workloadOnce.Do(func() {
		rng := rand.New(rand.NewPCG(1, 2))
		unionSet = randomPrefixes(rng, 14000, 8, 32)
		lpmRules = randomPrefixes(rng, 2000, 8, 32)
		slices.SortStableFunc(lpmRules, func(a, b prefix) int { return b.bits - a.bits })
		for range 700 {
			aclRules = append(aclRules, randomACLRule(rng))
		}
	})
}

func randomPrefixes(rng *rand.Rand, n, minBits, maxBits int) []prefix {
	out := make([]prefix, n)
	for i := range out {
		bits := minBits + rng.IntN(maxBits-minBits+1)
		out[i] = prefix{rng.Uint32() & prefixMask(bits), bits}
	}
	return out
}

func prefixMask(bits int) uint32 { return uint32(uint64(0xffffffff) << (32 - bits)) }

// wildcard returns a random address match: any, a prefix, or a prefix
// with a few don't-care bits inside it.
func wildcard(rng *rand.Rand, anyOdds int) (value, mask uint32) {
	if rng.IntN(anyOdds) == 0 {
		return 0, 0
	}
	mask = prefixMask(8 + rng.IntN(25))
	if rng.IntN(3) == 0 {
		for range 1 + rng.IntN(4) {
			mask &^= 1 << rng.IntN(32)
		}
	}
	return rng.Uint32() & mask, mask
}

func randomPortRange(rng *rand.Rand, anyOdds int) [2]int {
	switch {
	case rng.IntN(anyOdds) == 0:
		return [2]int{0, 65535}
	case rng.IntN(2) == 0:
		p := rng.IntN(65536)
		return [2]int{p, p}
	}
	lo := rng.IntN(65536)
	return [2]int{lo, min(65535, lo+1+rng.IntN(2000))}
}

func randomACLRule(rng *rand.Rand) aclRule {
	r := aclRule{permit: rng.IntN(2) == 0, proto: [2]int{0, 255}}
	r.dst, r.dstMask = wildcard(rng, 10)
	r.src, r.srcMask = wildcard(rng, 3)
	if rng.IntN(2) == 0 {
		p := []int{1, 6, 17}[rng.IntN(3)]
		r.proto = [2]int{p, p}
	}
	r.dport = randomPortRange(rng, 3)
	r.sport = randomPortRange(rng, 1)
	if rng.IntN(4) == 0 {
		r.sport = [2]int{1024, 65535}
	}
	return r
}

// match returns the set where the width bits from variable off (the most
// significant first) agree with value on the bits set in mask. It is built
// from the last variable up, so each step is one node.
func match[N comparable](b builder[N], off, width int, value, mask uint64) N {
	n := b.True()
	for i := width - 1; i >= 0; i-- {
		bit := uint64(1) << (width - 1 - i)
		switch {
		case mask&bit == 0:
		case value&bit != 0:
			n = b.And(b.Var(off+i), n)
		default:
			n = b.And(b.NVar(off+i), n)
		}
	}
	return n
}

// span returns the set where the width bits from variable off, as a
// number, lie in [lo, hi]: the intersection of two chains of width nodes.
func span[N comparable](b builder[N], off, width, lo, hi int) N {
	ge, le := b.True(), b.True()
	for i := width - 1; i >= 0; i-- {
		shift := width - 1 - i
		if lo>>shift&1 == 1 {
			ge = b.And(b.Var(off+i), ge)
		} else {
			ge = b.Or(b.Var(off+i), ge)
		}
		if hi>>shift&1 == 1 {
			le = b.Or(b.NVar(off+i), le)
		} else {
			le = b.And(b.NVar(off+i), le)
		}
	}
	return b.And(ge, le)
}

// union is workload (a): the union of the prefixes over 32 variables.
func union[N comparable](b builder[N], ps []prefix) N {
	acc := b.False()
	for _, p := range ps {
		acc = b.Or(acc, match(b, 0, 32, uint64(p.addr), uint64(prefixMask(p.bits))))
	}
	return acc
}

// lpm is workload (b): for each rule, longest first, its match minus the
// matches of the rules before it.
func lpm[N comparable](b builder[N], ps []prefix) []N {
	out := make([]N, len(ps))
	covered := b.False()
	for i, p := range ps {
		m := match(b, 0, 32, uint64(p.addr), uint64(prefixMask(p.bits)))
		out[i] = b.Diff(m, covered)
		covered = b.Or(covered, m)
	}
	return out
}

// acl is workload (c): the packets the ordered rules permit (first match
// decides, no match denies), folded from the last rule up.
func acl[N comparable](b builder[N], rules []aclRule) N {
	permit := b.False()
	for i := len(rules) - 1; i >= 0; i-- {
		r := rules[i]
		m := b.And(match(b, 0, 32, uint64(r.dst), uint64(r.dstMask)), match(b, 32, 32, uint64(r.src), uint64(r.srcMask)))
		m = b.And(m, span(b, 64, 8, r.proto[0], r.proto[1]))
		m = b.And(m, span(b, 72, 16, r.dport[0], r.dport[1]))
		m = b.And(m, span(b, 88, 16, r.sport[0], r.sport[1]))
		if r.permit {
			permit = b.Or(m, permit)
		} else {
			permit = b.Diff(permit, m)
		}
	}
	return permit
}

func BenchmarkUnion(b *testing.B) {
	workloads()
	b.ReportAllocs()
	for b.Loop() {
		m := bdd.New(32)
		union(m, unionSet)
		b.ReportMetric(float64(m.Size()), "nodes")
	}
}

func BenchmarkLPM(b *testing.B) {
	workloads()
	b.ReportAllocs()
	for b.Loop() {
		m := bdd.New(32)
		lpm(m, lpmRules)
		b.ReportMetric(float64(m.Size()), "nodes")
	}
}

func BenchmarkACL(b *testing.B) {
	workloads()
	b.ReportAllocs()
	for b.Loop() {
		m := bdd.New(headerVars)
		acl(m, aclRules)
		b.ReportMetric(float64(m.Size()), "nodes")
	}
}
