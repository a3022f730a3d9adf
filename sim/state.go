package sim

import (
	"slices"

	"github.com/preflight-sh/preflight/twin"
)

// state is what changes during a run, kept by name so it carries over when
// the snapshot changes (a change applied or rolled back, a zone failed).
type state struct {
	pools    map[string]*poolState    // by pool key
	checks   map[string]*hcState      // by checker and target: "lb/NAME/POOL", "mesh/POOL", "dns/RECORD/ANSWER"
	entries  map[string]*entryState   // by entry name
	scaling  map[string]*scalingState // by service
	callRetr map[string]*retrier      // by pool key and dependency: "POOL>SERVICE"
}

type poolState struct {
	queue        float64 // requests waiting
	extra        int     // instances autoscaling added (negative: removed)
	crashedUntil int     // tick; the pool is crashed while t < crashedUntil
	warmFrom     int     // tick its last restart finished (-1: never)
	overloadFor  float64 // seconds of continuous overload
	overloaded   bool
	poisoned     string // the bad artifact it crash-loops on, if any
	under        int    // ticks in a row below capacity while overloaded

	// this tick
	before   float64    // requests queued when it started
	arrivals float64    // requests/s offered
	capacity float64    // requests/s it can serve
	served   float64    // requests/s served
	rejected float64    // requests/s rejected (queue full or crashed)
	dropped  float64    // requests/s lost from the queue when the pool crashed
	backlog  float64    // s a new request waits behind the queue
	mean     float64    // s mean of the exponential part of the latency
	wait     float64    // the mean service and M/M/c queueing time
	waitFor  [2]float64 // the arrivals and capacity wait was computed for
	depLat   float64    // s spent in dependencies
	success  float64    // share of requests answered without error (before the caller's timeout)
	util     float64
	depW     [][]share // per dependency, where its calls went
}

type hcState struct {
	healthy    bool
	fails, oks int
	lastPass   bool
	spec       checkSpec // of the last probe
}

// observe records one probe and reports whether the health flipped.
func (h *hcState) observe(pass bool, c checkSpec) bool {
	h.lastPass, h.spec = pass, c
	if pass {
		h.oks, h.fails = min(h.oks+1, c.healthy), 0
		if !h.healthy && h.oks >= c.healthy {
			h.healthy = true
			return true
		}
		return false
	}
	h.fails, h.oks = min(h.fails+1, c.unhealth), 0
	if h.healthy && h.fails >= c.unhealth {
		h.healthy = false
		return true
	}
	return false
}

// settled reports whether more identical probes would change nothing.
func (h *hcState) settled() bool {
	if h.healthy {
		return h.lastPass && h.oks >= h.spec.healthy
	}
	return !h.lastPass && h.fails >= h.spec.unhealth
}

type entryState struct {
	retr *retrier
	w    []share // direct entry: where requests went
	// cols are the answers the cache's columns stand for: the record's,
	// then those it no longer has that clients still hold.
	cols     []twin.DNSAnswer
	ring     [][]float64 // DNS answers cached by clients, one resolution per tick over the TTL
	answers  []float64   // this tick's resolution
	health   []bool      // the answers' health it was computed for
	resolved bool
	sum      []float64
	pos      int
	same     int // ticks the resolution has not changed

	// this tick
	fresh, attempts, success, p99 float64
	shed                          float64
}

type scalingState struct {
	last    int // tick of the last scaling decision that acted
	pending []launch
}

type launch struct {
	ready, pool, n int
}

func newState() *state {
	return &state{pools: map[string]*poolState{}, checks: map[string]*hcState{}, entries: map[string]*entryState{}, scaling: map[string]*scalingState{}, callRetr: map[string]*retrier{}}
}

// recache fits the clients' DNS cache to the record's answers: columns
// follow the record's answers by name, and an answer the record dropped
// stays, as clients hold it, until its last cached share runs out.
func (es *entryState) recache(answers []twin.DNSAnswer, ttl int) {
	old := map[string]int{}
	for c, a := range es.cols {
		old[a.Name] = c
	}
	cols := slices.Clone(answers)
	kept := map[string]bool{}
	for _, a := range answers {
		kept[a.Name] = true
	}
	for c, a := range es.cols {
		if !kept[a.Name] && es.sum[c] > 0 {
			cols = append(cols, a)
		}
	}
	if slices.EqualFunc(cols, es.cols, func(a, b twin.DNSAnswer) bool { return a.Name == b.Name }) && len(es.ring) == ttl {
		es.cols = cols
		return
	}
	ring := make([][]float64, ttl)
	sum := make([]float64, len(cols))
	for j := range ring {
		ring[j] = make([]float64, len(cols))
		if j >= len(es.ring) {
			continue
		}
		for c, a := range cols {
			if o, ok := old[a.Name]; ok {
				ring[j][c] = es.ring[j][o]
				sum[c] += ring[j][c]
			}
		}
	}
	es.cols, es.ring, es.sum, es.answers = cols, ring, sum, make([]float64, len(cols))
	es.same = min(es.same, 0)
}
