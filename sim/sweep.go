package sim

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/preflight-sh/preflight/change"
	"github.com/preflight-sh/preflight/finding"
	"github.com/preflight-sh/preflight/twin"
	"github.com/preflight-sh/preflight/units"
)

// SweepCase is one run of a sweep: the timeline with one zone or site
// failed, summed up per entry point and judged against the same failure
// without the change.
type SweepCase struct {
	Kind   string         `json:"kind"`   // "zone" or "site"
	Failed string         `json:"failed"` // the zone or site that fails
	At     units.Duration `json:"at"`     // when it fails
	// Entries is how each entry point fared; Baseline the same for the
	// failure without the change, run only when the case misses an SLO or
	// has a critical finding (nil otherwise, and when the sweep has no
	// baseline).
	Entries  []EntryOutcome `json:"entries"`
	Baseline []EntryOutcome `json:"baseline,omitempty"`
	// Findings judge the run against its baseline, as Findings does.
	Findings []finding.Finding `json:"findings"`
}

// EntryOutcome is how one entry point fared over a run.
type EntryOutcome struct {
	Name         string  `json:"name"`
	Availability float64 `json:"availability"`
	// Target is the availability judged: the SLO's, else the default.
	Target float64 `json:"target"`
	// Lost counts the requests that failed or were shed.
	Lost float64 `json:"failedRequests"`
	// Violates says whether the run misses the entry's SLO, availability
	// or p99 latency, as Findings judges it.
	Violates bool `json:"violates"`
}

// Worst is the entry point with the lowest availability (the first of
// equals); ok is false when the twin has no entry point.
func (c *SweepCase) Worst() (e EntryOutcome, ok bool) {
	for i, x := range c.Entries {
		if i == 0 || x.Availability < e.Availability {
			e, ok = x, true
		}
	}
	return e, ok
}

// Lost is the requests failed or shed over every entry point.
func (c *SweepCase) Lost() float64 {
	sum := 0.0
	for _, e := range c.Entries {
		sum += e.Lost
	}
	return sum
}

// Sweep fails, one case at a time, every zone (kind "zone") or site
// ("site") of s that is up, at time at of the timeline o. base is the same
// timeline without the change (nil for none): each failure is run on it
// too, and judges the case. Cases run in parallel on GOMAXPROCS workers;
// they come back worst first (most requests lost, then by name). Only
// summaries and findings are kept, not the runs.
func Sweep(s *twin.Snapshot, o Options, base *Options, kind string, at time.Duration) ([]SweepCase, error) {
	var names []string
	switch kind {
	case "zone":
		for _, z := range twin.Typed[twin.Zone](s) {
			if s.ZoneUp(z.Name) {
				names = append(names, z.Name)
			}
		}
	case "site":
		for _, st := range twin.Typed[twin.Site](s) {
			if s.SiteUp(st.Name) {
				names = append(names, st.Name)
			}
		}
	default:
		return nil, fmt.Errorf("unknown sweep %q: use zone or site", kind)
	}
	if d := o.withDefaults().Duration; at < 0 || at >= d {
		return nil, fmt.Errorf("the sweep's failures at %v are outside the run (0 to %v)", units.Duration(at), units.Duration(d))
	}
	if o.Cache == nil {
		o.Cache = NewCache()
	}
	if base != nil && base.Cache == nil {
		b := *base
		b.Cache = o.Cache
		base = &b
	}
	cases := make([]SweepCase, len(names))
	errs := make([]error, len(names))
	panics := make([]any, len(names))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(names)) {
		wg.Go(func() {
			for i := range next {
				func() {
					defer func() {
						if p := recover(); p != nil {
							panics[i] = fmt.Sprintf("%v\n%s", p, debug.Stack())
						}
					}()
					cases[i], errs[i] = sweepCase(s, o, base, kind, names[i], at)
				}()
			}
		})
	}
	for i := range names {
		next <- i
	}
	close(next)
	wg.Wait()
	for i := range names {
		if panics[i] != nil {
			panic(panics[i]) // in the caller's goroutine, where it can be recovered
		}
		if errs[i] != nil {
			return nil, errs[i]
		}
	}
	sort.SliceStable(cases, func(i, j int) bool {
		if a, b := cases[i].Lost(), cases[j].Lost(); a != b {
			return a > b
		}
		return cases[i].Failed < cases[j].Failed
	})
	return cases, nil
}

// sweepCase runs one failure with the change and, with a baseline,
// without it.
func sweepCase(s *twin.Snapshot, o Options, base *Options, kind, name string, at time.Duration) (SweepCase, error) {
	c := SweepCase{Kind: kind, Failed: name, At: units.Duration(at)}
	text := "shutdown " + kind + " " + name
	ops, err := change.Compile(text)
	if err != nil {
		return c, err
	}
	fail := Event{At: at, Name: "sweep", Label: "fail " + kind + " " + name, Change: &change.ChangeSet{Title: text, Source: "command", Operations: ops}}
	withFailure := func(o Options) Options {
		o.Events = append(append([]Event(nil), o.Events...), fail)
		sort.SliceStable(o.Events, func(i, j int) bool { return o.Events[i].At < o.Events[j].At })
		return o
	}
	ow := withFailure(o)
	r, err := Run(s, ow)
	if err != nil {
		return c, fmt.Errorf("failing %s %s: %w", kind, name, err)
	}
	c.Findings = Findings(s, r, nil, ow)
	c.Entries = outcomes(r, c.Findings)
	// The same failure without the change is only run when there is
	// something to compare: a missed SLO or a critical finding.
	if base == nil || !needsBaseline(c) {
		return c, nil
	}
	ob := withFailure(*base)
	b, err := Run(s, ob)
	if err != nil {
		return c, fmt.Errorf("failing %s %s without the change: %w", kind, name, err)
	}
	c.Baseline = Outcomes(s, b, ob)
	c.Findings = Findings(s, r, b, ow)
	return c, nil
}

func needsBaseline(c SweepCase) bool {
	for _, e := range c.Entries {
		if e.Violates {
			return true
		}
	}
	for _, f := range c.Findings {
		if f.Severity == finding.Critical {
			return true
		}
	}
	return false
}

// Outcomes sums up run r of snapshot s with options o per entry point.
func Outcomes(s *twin.Snapshot, r *Result, o Options) []EntryOutcome {
	return outcomes(r, Findings(s, r, nil, o))
}

// outcomes sums up a run per entry point; fs are its findings, which say
// which SLOs it misses.
func outcomes(r *Result, fs []finding.Finding) []EntryOutcome {
	missed := map[string]bool{}
	for _, f := range fs {
		for _, p := range []string{"simulation.availability.", "simulation.latency."} {
			if e, ok := strings.CutPrefix(f.ID, p); ok {
				missed[e] = true
			}
		}
	}
	out := make([]EntryOutcome, len(r.Entries))
	for i := range r.Entries {
		e := &r.Entries[i]
		o := EntryOutcome{Name: e.Name, Availability: 1, Target: e.Availability, Lost: e.TotalFailed + e.TotalShed, Violates: missed[e.Name]}
		if e.TotalAttempts > 0 {
			o.Availability = e.TotalSucceeded / e.TotalAttempts
		}
		if o.Target == 0 {
			o.Target = defaultAvailability
		}
		out[i] = o
	}
	return out
}
