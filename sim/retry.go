package sim

import (
	"math"

	"github.com/preflight-sh/preflight/twin"
)

// retrier is a caller's retries in flight: failed attempts come back after
// their backoff (doubling per attempt, spread evenly over ±jitter), up to
// the policy's retry count, and, with a budget, never more retries per tick
// than that share of first attempts.
type retrier struct {
	retries int
	budget  float64 // < 0: no budget
	lo, hi  []int   // per retry level, the delay range in ticks
	ring    [][]float64
	pos     int
	cur     []float64 // retries due this tick, by level
	added   []float64 // retries scheduled this tick, by level
	first   float64   // first attempts this tick
}

func newRetrier(p twin.RetryPolicy, tick float64) *retrier {
	r := &retrier{retries: p.Retries, budget: -1}
	if p.RetryBudget != nil {
		r.budget = float64(*p.RetryBudget)
	}
	if r.retries == 0 {
		return r
	}
	size := 1
	backoff := p.Backoff.Std().Seconds()
	for i := range r.retries {
		d := backoff * float64(int(1)<<i) / tick
		lo := max(1, int(d*(1-float64(p.Jitter))+0.5))
		hi := max(lo, int(d*(1+float64(p.Jitter))+0.5))
		hi = min(hi, maxRetryDelay)
		lo = min(lo, hi)
		r.lo, r.hi = append(r.lo, lo), append(r.hi, hi)
		size = max(size, hi+1)
	}
	r.cur = make([]float64, r.retries)
	r.added = make([]float64, r.retries)
	r.ring = make([][]float64, r.retries)
	for i := range r.ring {
		r.ring[i] = make([]float64, size)
	}
	return r
}

// negligible is a failure probability treated as zero for retries.
const negligible = 1e-6

// maxRetryDelay caps a retry's delay, in ticks.
const maxRetryDelay = 3600

// due starts a tick with first first attempts: it takes the retries that
// arrive this tick, by level (level i is the (i+1)-th retry), and returns
// their sum.
func (r *retrier) due(first float64) float64 {
	r.first = first
	sum := 0.0
	for i := range r.ring {
		r.cur[i] = r.ring[i][r.pos]
		r.ring[i][r.pos] = 0
		sum += r.cur[i]
	}
	return sum
}

// schedule plans the retries of this tick's failures, each attempt failing
// with probability p. It returns the share of failed attempts that will be
// retried (below 1 when the budget binds), then advances to the next tick.
func (r *retrier) schedule(p float64) float64 {
	fresh, levels := r.first, r.cur
	for i := range r.added {
		r.added[i] = 0
	}
	if p < negligible {
		p = 0 // so that a healthy system comes to rest
	}
	share := 1.0
	if r.retries > 0 && p > 0 {
		want := fresh * p
		for i := 0; i < r.retries-1; i++ {
			want += levels[i] * p
		}
		if r.budget >= 0 && want > r.budget*fresh {
			share = r.budget * fresh / want
		}
		r.add(0, fresh*p*share)
		for i := 0; i < r.retries-1; i++ {
			r.add(i+1, levels[i]*p*share)
		}
	}
	if len(r.ring) > 0 {
		r.pos = (r.pos + 1) % len(r.ring[0])
	}
	if r.retries == 0 {
		return 0
	}
	return share
}

// stationary reports whether retries flow at a constant rate: each level
// schedules what falls due, and the ticks ahead hold what a constant flow
// leaves in them (tick t+k has received the share of min(n, hi−k+1) of the
// n ticks that spread into it).
func (r *retrier) stationary() bool {
	for i, slots := range r.ring {
		scale := r.first + r.cur[i]
		if !near(r.added[i], r.cur[i], scale) {
			return false
		}
		n := float64(r.hi[i] - r.lo[i] + 1)
		for k := 1; k <= r.hi[i]; k++ {
			want := r.cur[i] * math.Min(n, float64(r.hi[i]-k+1)) / n
			if !near(slots[(r.pos+k-1)%len(slots)], want, scale) {
				return false
			}
		}
	}
	return true
}

// near reports whether a and b agree to one part in a billion of scale.
func near(a, b, scale float64) bool {
	return math.Abs(a-b) <= 1e-9*scale+1e-12
}

// add spreads amount over the delay range of retry level i.
func (r *retrier) add(i int, amount float64) {
	r.added[i] += amount
	if amount <= 0 {
		return
	}
	n := r.hi[i] - r.lo[i] + 1
	each := amount / float64(n)
	size := len(r.ring[i])
	for d := r.lo[i]; d <= r.hi[i]; d++ {
		r.ring[i][(r.pos+d)%size] += each
	}
}

// success is the chance a call eventually succeeds when each attempt fails
// with probability p, and a share of failed first attempts is retried.
func (r *retrier) success(p, share float64) float64 {
	if r.retries == 0 {
		return 1 - p
	}
	pr := 1.0
	for range r.retries {
		pr *= p
	}
	return (1 - p) + p*share*(1-pr)
}
