package bdd

import (
	"math/rand/v2"
	"testing"
)

// TestIntersects checks Intersects against the intersection it avoids
// building, on random functions, with the cache both cold and warm.
func TestIntersects(t *testing.T) {
	for seed := range uint64(300) {
		f := &formulas{m: New(6), nv: 6, rng: rand.New(rand.NewPCG(seed, 3))}
		a, _ := f.random(5)
		b, _ := f.random(5)
		want := !f.m.And(a, b).IsFalse()
		for range 2 {
			if got := f.m.Intersects(a, b); got != want {
				t.Fatalf("seed %d: Intersects = %v, And is empty: %v", seed, got, !want)
			}
			if got := f.m.Intersects(b, a); got != want {
				t.Fatalf("seed %d: Intersects(b, a) = %v, And is empty: %v", seed, got, !want)
			}
		}
	}
}

// TestExistsFrom checks ExistsFrom against its definition: n restricted
// to each assignment of the quantified variables, unioned.
func TestExistsFrom(t *testing.T) {
	const nv = 6
	for seed := range uint64(300) {
		f := &formulas{m: New(nv), nv: nv, rng: rand.New(rand.NewPCG(seed, 5))}
		n, tn := f.random(5)
		v := int(seed % (nv + 1))
		got := f.m.ExistsFrom(n, v)
		for k := range 1 << nv {
			// Some assignment that agrees with k on variables 0..v-1.
			want := false
			low := k & (1<<v - 1)
			for rest := range 1 << (nv - v) {
				want = want || tn[low|rest<<v]
			}
			if eval(f.m, got, k) != want {
				t.Fatalf("seed %d, v %d: ExistsFrom is %v at %b, want %v", seed, v, !want, k, want)
			}
		}
	}
}
