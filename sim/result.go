package sim

import (
	"math"
	"sort"
	"time"

	"github.com/preflight-sh/preflight/units"
)

// Result is a run's record: the series a person wants to see, at the
// step's resolution, and the log of what happened.
type Result struct {
	Start    units.Duration `json:"start"`
	Duration units.Duration `json:"duration"`
	Tick     units.Duration `json:"tick"`
	Step     units.Duration `json:"step"`
	Seed     int64          `json:"seed"`
	Events   []Mark         `json:"events"`
	Entries  []EntrySeries  `json:"entries"`
	// Components are services (utilisation is that of their busiest
	// zone), load balancers, links and devices with a capacity.
	Components []ComponentSeries `json:"components"`
	// Pools are each service's instances per zone, with the times they
	// were overloaded.
	Pools        []PoolSummary `json:"pools"`
	Log          []LogEntry    `json:"log"`
	LogTruncated int           `json:"logTruncated,omitempty"`
	// Computed is how many ticks were computed; the others repeated an
	// unchanged state exactly.
	Computed int `json:"computedTicks"`
	// Imbalance is the largest share of requests that queue bookkeeping
	// failed to account for in one tick (served + queued + rejected +
	// dropped against queued + arrived); a correct run keeps it near 0.
	Imbalance float64 `json:"imbalance"`

	ticks int
}

// Mark is an event of the run, for the log and the chart.
type Mark struct {
	At    units.Duration `json:"at"`
	Name  string         `json:"name"`
	Label string         `json:"label"`
	Ends  bool           `json:"ends,omitempty"`
}

// EntrySeries is one entry point (a demand from one origin region).
type EntrySeries struct {
	Name   string `json:"name"`
	Demand string `json:"demand"`
	Region string `json:"region"`
	// Availability and LatencyP99 are the SLO targets (0 when not set).
	Availability float64        `json:"availability,omitempty"`
	LatencyP99   units.Duration `json:"latencyP99,omitempty"`
	// Offered is first attempts per second, Attempts adds retries,
	// Success is the share of attempts answered in time, P99 the 99th
	// percentile latency in seconds, per step.
	Offered  []float64 `json:"offered"`
	Attempts []float64 `json:"attempts"`
	Success  []float64 `json:"success"`
	P99      []float64 `json:"p99"`
	// Totals over the run, in requests.
	TotalOffered   float64 `json:"totalOffered"`
	TotalAttempts  float64 `json:"totalAttempts"`
	TotalSucceeded float64 `json:"totalSucceeded"`
	TotalFailed    float64 `json:"totalFailed"`
	TotalShed      float64 `json:"totalShed"`

	success []float64 // per tick, for SLO windows
}

// ComponentSeries is a service, load balancer, link or device over time.
type ComponentSeries struct {
	Kind        string    `json:"kind"`
	Name        string    `json:"name"`
	Utilisation []float64 `json:"utilisation"`
	// Healthy is, for services, the instances serving and passing health
	// checks.
	Healthy []float64 `json:"healthy,omitempty"`
	Peak    float64   `json:"peak"`
}

// PoolSummary is a service's instances in one zone over the run.
type PoolSummary struct {
	Name       string         `json:"name"`
	Peak       float64        `json:"peakUtilisation"`
	PeakAt     units.Duration `json:"peakAt"`
	Overloaded units.Duration `json:"overloaded"`
	Crashes    int            `json:"crashes,omitempty"`
}

// LogEntry is one thing that happened: an event, a component overloaded
// or recovered, a health check that flipped, a crash, a restart, scaling.
type LogEntry struct {
	At      units.Duration `json:"at"`
	What    string         `json:"what"`
	Subject string         `json:"subject"`
	Detail  string         `json:"detail,omitempty"`
}

// maxLog caps the log; what is left out is counted.
const maxLog = 20000

type recorder struct {
	m      *sim
	r      *Result
	per    int // ticks per step
	comps  map[string]int
	pools  map[string]int
	weight []float64 // per entry, attempts in the current step

	entries   map[string]int // entry series by name
	entryIdx  []int          // per entry of the world, its series
	stepsDone int
	bound     []int     // series of the world's components, in measure's order
	util      []float64 // their last measured utilisation
	healthy   []float64 // and healthy instances
	poolIdx   []int     // per pool of the world, its summary
	over      []int     // pools overloaded at the last computed tick
}

func newRecorder(m *sim) *recorder {
	o := m.o
	rec := &recorder{m: m, per: int(o.Step / o.Tick), comps: map[string]int{}, pools: map[string]int{}, entries: map[string]int{}}
	rec.r = &Result{Start: units.Duration(o.Start), Duration: units.Duration(o.Duration), Tick: units.Duration(o.Tick), Step: units.Duration(o.Step), Seed: o.Seed, ticks: m.ticks}
	return rec
}

func (rec *recorder) points() int { return (rec.m.ticks + rec.per - 1) / rec.per }

func (rec *recorder) at(t int) units.Duration { return units.Duration(time.Duration(t) * rec.m.o.Tick) }

func (rec *recorder) event(t int, ev Event) {
	rec.r.Events = append(rec.r.Events, Mark{At: rec.at(t), Name: ev.Name, Label: ev.Label, Ends: ev.Ends})
	rec.log(t, "event", ev.Name, ev.Label)
}

func (rec *recorder) log(t int, what, subject, detail string) {
	if len(rec.r.Log) >= maxLog {
		rec.r.LogTruncated++
		return
	}
	rec.r.Log = append(rec.r.Log, LogEntry{At: rec.at(t), What: what, Subject: subject, Detail: detail})
}

// bind maps the current world's services, load balancers, links and
// devices to their series.
func (rec *recorder) bind() {
	w := rec.m.w
	rec.entryIdx = rec.entryIdx[:0]
	for _, e := range w.entries {
		i, ok := rec.entries[e.name]
		if !ok {
			i = len(rec.r.Entries)
			rec.entries[e.name] = i
			es := EntrySeries{Name: e.name, Demand: e.demand.Name, Region: w.regions[e.region]}
			if e.slo != nil {
				es.Availability, es.LatencyP99 = float64(e.slo.Availability), e.slo.LatencyP99
			}
			es.success = make([]float64, rec.m.ticks)
			// An entry that appears mid-run has no points before.
			for range rec.stepsDone {
				es.Offered, es.Attempts, es.Success, es.P99 = append(es.Offered, 0), append(es.Attempts, 0), append(es.Success, 1), append(es.P99, 0)
			}
			rec.r.Entries = append(rec.r.Entries, es)
			rec.weight = append(rec.weight, 0)
		}
		rec.entryIdx = append(rec.entryIdx, i)
	}
	rec.bound = rec.bound[:0]
	for _, sv := range w.services {
		rec.bound = append(rec.bound, rec.index("service", sv.name, true))
	}
	for _, b := range w.lbs {
		if b.capacity > 0 {
			rec.bound = append(rec.bound, rec.index("load-balancer", b.name, false))
		}
	}
	if n := w.net; n != nil {
		for _, e := range n.links {
			if e.capacity > 0 {
				rec.bound = append(rec.bound, rec.index("link", e.name, false))
			}
		}
		for _, e := range n.devices {
			if e.capacity > 0 {
				rec.bound = append(rec.bound, rec.index("device", e.name, false))
			}
		}
	}
	rec.util = make([]float64, len(rec.bound))
	rec.healthy = make([]float64, len(rec.bound))
	rec.poolIdx = rec.poolIdx[:0]
	for _, p := range w.pools {
		rec.poolSummary(p.key)
		rec.poolIdx = append(rec.poolIdx, rec.pools[p.key])
	}
}

// index returns the series of a component, creating it.
func (rec *recorder) index(kind, name string, healthy bool) int {
	key := kind + "/" + name
	i, ok := rec.comps[key]
	if !ok {
		i = len(rec.r.Components)
		rec.comps[key] = i
		c := ComponentSeries{Kind: kind, Name: name, Utilisation: make([]float64, rec.points())}
		if healthy {
			c.Healthy = make([]float64, rec.points())
			for k := range c.Healthy {
				c.Healthy[k] = math.Inf(1)
			}
		}
		rec.r.Components = append(rec.r.Components, c)
	}
	return i
}

// record adds tick t to the series. A tick that was not computed repeats
// the last computed one.
func (rec *recorder) record(t int, computed bool) {
	m, r := rec.m, rec.r
	k := t / rec.per
	first := t%rec.per == 0
	dt := m.tick
	if first {
		rec.stepsDone++
		for i := range r.Entries {
			s := &r.Entries[i]
			s.Offered, s.Attempts, s.Success, s.P99 = append(s.Offered, 0), append(s.Attempts, 0), append(s.Success, 1), append(s.P99, 0)
			rec.weight[i] = 0
		}
	}
	for wi := range m.w.entries {
		i := rec.entryIdx[wi]
		es, s := m.entries[wi], &r.Entries[i]
		n := float64(min(rec.per, m.ticks-k*rec.per))
		s.Offered[k] += es.fresh / n
		s.Attempts[k] += es.attempts / n
		s.P99[k] = math.Max(s.P99[k], es.p99)
		rec.weight[i] += es.attempts
		if rec.weight[i] > 0 {
			s.Success[k] += (es.success - s.Success[k]) * es.attempts / rec.weight[i]
		} else {
			s.Success[k] = 1
		}
		s.success[t] = es.success
		if es.attempts == 0 {
			s.success[t] = 1
		}
		s.TotalOffered += es.fresh * dt
		s.TotalAttempts += es.attempts * dt
		s.TotalSucceeded += es.attempts * es.success * dt
		s.TotalShed += es.attempts * es.shed * dt
		s.TotalFailed += es.attempts * math.Max(0, 1-es.success-es.shed) * dt
	}
	if computed {
		rec.measure(t)
	} else if !first {
		for _, pi := range rec.over {
			r.Pools[rec.poolIdx[pi]].Overloaded += units.Duration(m.o.Tick)
		}
		return
	}
	for j, ci := range rec.bound {
		c := &r.Components[ci]
		c.Utilisation[k] = math.Max(c.Utilisation[k], rec.util[j])
		c.Peak = math.Max(c.Peak, rec.util[j])
		if c.Healthy != nil {
			c.Healthy[k] = math.Min(c.Healthy[k], rec.healthy[j])
		}
	}
	if !computed {
		for _, pi := range rec.over {
			r.Pools[rec.poolIdx[pi]].Overloaded += units.Duration(m.o.Tick)
		}
	}
}

// measure takes the utilisation and health of every component at a
// computed tick, updates the pools' summaries and checks conservation.
func (rec *recorder) measure(t int) {
	m, r := rec.m, rec.r
	j := 0
	rec.over = rec.over[:0]
	for _, sv := range m.w.services {
		util, healthy := 0.0, 0.0
		for _, pi := range sv.pools {
			ps := m.pools[pi]
			util = math.Max(util, ps.util)
			if ps.capacity > 0 && m.meshHC[pi].healthy {
				healthy += float64(m.instances(pi))
			}
			s := &r.Pools[rec.poolIdx[pi]]
			if ps.util > s.Peak {
				s.Peak, s.PeakAt = ps.util, rec.at(t)
			}
			if ps.overloaded {
				s.Overloaded += units.Duration(m.o.Tick)
				rec.over = append(rec.over, pi)
			}
		}
		rec.util[j], rec.healthy[j] = util, healthy
		j++
	}
	for bi, b := range m.w.lbs {
		if b.capacity > 0 {
			rec.util[j] = m.lbOffered[bi] / b.capacity
			j++
		}
	}
	if n := m.w.net; n != nil {
		for _, set := range [][]element{n.links, n.devices} {
			for _, e := range set {
				if e.capacity > 0 {
					rec.util[j] = e.load / e.capacity
					j++
				}
			}
		}
	}
	// Conservation of the queues.
	in, out := 0.0, 0.0
	dt := m.tick
	for _, ps := range m.pools {
		in += ps.before + ps.arrivals*dt
		out += ps.served*dt + ps.queue + ps.rejected*dt + ps.dropped*dt
	}
	if in > 0 {
		r.Imbalance = math.Max(r.Imbalance, math.Abs(in-out)/in)
	}
}

func (rec *recorder) poolSummary(key string) *PoolSummary {
	i, ok := rec.pools[key]
	if !ok {
		i = len(rec.r.Pools)
		rec.pools[key] = i
		rec.r.Pools = append(rec.r.Pools, PoolSummary{Name: key})
	}
	return &rec.r.Pools[i]
}

func (rec *recorder) result() *Result {
	r := rec.r
	for i := range r.Components {
		for k, v := range r.Components[i].Healthy {
			if math.IsInf(v, 1) {
				r.Components[i].Healthy[k] = 0
			}
		}
	}
	sort.SliceStable(r.Components, func(i, j int) bool {
		a, b := r.Components[i], r.Components[j]
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return a.Name < b.Name
	})
	sort.SliceStable(r.Pools, func(i, j int) bool { return r.Pools[i].Name < r.Pools[j].Name })
	return r
}
