package dataplane

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/preflight-sh/preflight/fibdump"
)

// ClassCounts are the sizes of a model's partitions.
type ClassCounts struct {
	// Classes are the equivalence classes: packets every forwarding table
	// and every ACL treat alike.
	Classes int `json:"classes"`
	// ForwardingClasses and ACLClasses partition the packets by the
	// forwarding tables alone and by the ACLs alone (APKeep counts their
	// sum as its atoms).
	ForwardingClasses int `json:"forwardingClasses"`
	ACLClasses        int `json:"aclClasses"`
}

// Counts returns the sizes of the model's partitions.
func (x *Incremental) Counts() ClassCounts {
	return ClassCounts{Classes: x.Classes(), ForwardingClasses: x.ForwardingClasses(), ACLClasses: x.ACLClasses()}
}

// ReplayStats sums up the replay of an update trace.
type ReplayStats struct {
	Updates int `json:"updates"`
	Inserts int `json:"inserts"`
	// The time per update, in microseconds: the model update and its loop
	// and black-hole check, as UpdateResult.Elapsed measures it (reading
	// the trace is not counted). Median and P99 are nearest-rank
	// percentiles.
	MeanMicros   float64 `json:"meanMicros"`
	MedianMicros float64 `json:"medianMicros"`
	P99Micros    float64 `json:"p99Micros"`
	// AfterInserts are the counts after the last insert of the trace (at
	// the start if it has none), End those after the last update.
	AfterInserts ClassCounts `json:"afterInserts"`
	End          ClassCounts `json:"end"`
	// Loops are the distinct forwarding cycles reported over the trace,
	// each as first reported, sorted by cycle.
	Loops []Loop `json:"loops"`
	// BlackHoles counts the classes lost over the trace: delivered or
	// taken out of the network before an update, dropped after it (each
	// time, from each device it is followed from).
	BlackHoles int `json:"blackHoles"`
}

// Replay applies a trace of updates to x in order and sums up the times
// and findings. It stops at the first update that fails, with an error
// naming its line.
func Replay(x *Incremental, ups []fibdump.Update) (ReplayStats, error) {
	st := ReplayStats{Updates: len(ups), AfterInserts: x.Counts(), Loops: []Loop{}}
	last := -1
	for i, u := range ups {
		if u.Insert {
			last = i
			st.Inserts++
		}
	}
	times := make([]time.Duration, len(ups))
	seen := map[string]bool{}
	for i, u := range ups {
		r, err := x.Apply(u)
		if err != nil {
			return st, fmt.Errorf("update at line %d: %w", u.Line, err)
		}
		times[i] = r.Elapsed
		for _, l := range r.Loops {
			if key := strings.Join(l.Cycle, " "); !seen[key] {
				seen[key] = true
				st.Loops = append(st.Loops, l)
			}
		}
		for _, h := range r.BlackHoles {
			st.BlackHoles += h.Classes
		}
		if i == last {
			st.AfterInserts = x.Counts()
		}
	}
	st.End = x.Counts()
	slices.SortFunc(st.Loops, func(a, b Loop) int {
		return strings.Compare(strings.Join(a.Cycle, " "), strings.Join(b.Cycle, " "))
	})
	if len(times) > 0 {
		var total time.Duration
		for _, t := range times {
			total += t
		}
		slices.Sort(times)
		rank := func(p float64) float64 {
			return micros(times[int(math.Ceil(p*float64(len(times))))-1])
		}
		st.MeanMicros = micros(total / time.Duration(len(times)))
		st.MedianMicros, st.P99Micros = rank(0.5), rank(0.99)
	}
	return st, nil
}

// micros returns d in microseconds, to the nanosecond.
func micros(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }
