package sim

import (
	"fmt"
	"hash/fnv"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/preflight-sh/preflight/capacity"
	"github.com/preflight-sh/preflight/change"
	"github.com/preflight-sh/preflight/netdiff"
	"github.com/preflight-sh/preflight/sitepaths"
	"github.com/preflight-sh/preflight/twin"
)

// Options configure one run.
type Options struct {
	// Duration is how long to simulate (default 1h).
	Duration time.Duration
	// Tick is the time step (default 1s).
	Tick time.Duration
	// Start is the time of day (UTC) the run starts at; demand follows
	// each demand's daily profile from there.
	Start time.Duration
	// Seed spreads the phases of health checks; the same seed gives the
	// same result.
	Seed int64
	// Events happen at their times, in order.
	Events []Event
	// Step is the resolution of the recorded series (default: the tick,
	// coarsened so that a series has at most 1,440 points).
	Step time.Duration
	// MetastableAfter is how long after the last trigger ends the system
	// may still fail before it is called metastable (default 10m).
	MetastableAfter time.Duration
	// Cache, when set, shares work between runs of the same twin.
	Cache *Cache
	// BadArtifacts names artifacts whose content, as a change ships it,
	// their consumer cannot load (the artifact analysis says which): from
	// the moment the content reaches a consumer's instances, wave by wave
	// as the artifact propagates, they crash on loading it and again after
	// every restart, until the change is rolled back.
	BadArtifacts []string
}

// Cache shares work between runs of the same twin, as in a sweep or a
// check: the snapshots with changes applied, and their network paths, by
// twin state (the same base snapshot with the same changes applied in the
// same order). It is safe for concurrent use; a nil Cache computes
// everything.
type Cache struct {
	mu      sync.Mutex
	entries map[string]*cached
}

type cached struct {
	once sync.Once
	v    any
	err  error
	keep []any // what the key's addresses point to
}

// NewCache returns an empty cache.
func NewCache() *Cache { return &Cache{entries: map[string]*cached{}} }

// get returns the value cached under key, computing it once; keep is
// what the key's addresses point to.
func (c *Cache) get(key string, keep []any, compute func() (any, error)) (any, error) {
	if c == nil {
		return compute()
	}
	c.mu.Lock()
	e := c.entries[key]
	if e == nil {
		e = &cached{keep: keep}
		c.entries[key] = e
	}
	c.mu.Unlock()
	e.once.Do(func() { e.v, e.err = compute() })
	return e.v, e.err
}

func (c *Cache) apply(key string, keep []any, compute func() (*twin.Snapshot, error)) (*twin.Snapshot, error) {
	v, err := c.get("snapshot "+key, keep, func() (any, error) { return compute() })
	if err != nil {
		return nil, err
	}
	return v.(*twin.Snapshot), nil
}

// paths returns how the network paths of s, the twin in its current
// state, are computed: once per cache and state.
func (m *sim) paths(s *twin.Snapshot) func() (*sitepaths.Paths, error) {
	// Changes that touch no network object leave the paths as they are:
	// the key names only the base and the changes that can move them.
	key, keep := fmt.Sprintf("%p", m.base), []any{m.base}
	for _, a := range m.applied {
		if touchesNetwork(a.cs) {
			key += fmt.Sprintf("/%p", a.cs)
			keep = append(keep, a.cs)
		}
	}
	return func() (*sitepaths.Paths, error) {
		v, err := m.o.Cache.get("paths "+key, keep, func() (any, error) { return sitepaths.Compute(s) })
		if err != nil {
			return nil, err
		}
		return v.(*sitepaths.Paths), nil
	}
}

// Event is something that happens at a time of the run: a change applied
// (a change file, an operator command, a failure or a restore written as a
// command), a change rolled back, or demand multiplied.
type Event struct {
	At    time.Duration
	Name  string // how rollbacks and the output refer to it
	Label string // what happened, for people
	// Change is applied at At.
	Change *change.ChangeSet
	// Rollback names an earlier change event whose change is undone.
	Rollback string
	// DemandFactor multiplies demand (of Demand, or of all demand when
	// empty) from At, for For (until the end when zero).
	DemandFactor float64
	Demand       string
	For          time.Duration
	// Ends says that this event removes a trigger (a restore, a rollback,
	// the end of a demand surge): metastability is judged after it.
	Ends bool
	Pos  twin.Pos
}

type sim struct {
	o       Options
	tick    float64 // seconds
	ticks   int
	base    *twin.Snapshot
	applied []appliedChange
	w       *world
	st      *state
	surges  []surge
	rec     *recorder
	entries []*entryState // parallel to w.entries
	pools   []*poolState  // parallel to w.pools
	calls   [][]*retrier  // per pool, per dependency

	// this tick, per load balancer
	lbOffered, lbAccept []float64
	lbW                 [][]share          // pools and their shares of accepted traffic
	lbHC                []map[int]*checker // per load balancer, by pool
	meshHC              []*checker         // per pool
	dnsHC               [][]*checker       // per entry and answer (nil: not health-checked)
	poison              []poisoning        // bad artifacts of the changes in force
	netChanged          bool
	unsettled           bool // a health check would see a change, or something flipped this tick
}

type appliedChange struct {
	name string
	cs   *change.ChangeSet
	at   int // tick it was applied
}

type surge struct {
	until  int
	demand string
	factor float64
}

// Run simulates the twin from snapshot s over time with the given events.
func Run(s *twin.Snapshot, o Options) (*Result, error) {
	o = o.withDefaults()
	if err := o.check(); err != nil {
		return nil, err
	}
	for _, ev := range o.Events {
		if ev.Demand != "" && twin.Lookup[twin.Demand](s, ev.Demand) == nil {
			return nil, fmt.Errorf("%s: event %q multiplies demand %q, but the twin has no demand of that name", ev.Pos, ev.Name, ev.Demand)
		}
	}
	m := &sim{o: o, tick: o.Tick.Seconds(), ticks: int(o.Duration / o.Tick), base: s, st: newState()}
	w, err := build(s, m.tick, m.paths(s))
	if err != nil {
		return nil, err
	}
	m.rec = newRecorder(m)
	m.install(w)
	events := eventsByTick(o)
	for t := 0; t < m.ticks; t++ {
		changedInputs := false
		for _, ev := range events[t] {
			if err := m.event(t, ev); err != nil {
				return nil, err
			}
			changedInputs = true
		}
		m.step(t)
		m.rec.r.Computed++
		m.rec.record(t, true)
		// While nothing moves and the inputs stay the same, every tick
		// would repeat this one exactly: carry it forward.
		if changedInputs || !m.steady(t) {
			continue
		}
		wake := m.wake(t)
		for t+1 < wake && len(events[t+1]) == 0 && m.sameInputs(t, t+1) {
			t++
			m.rec.record(t, false)
		}
	}
	return m.rec.result(), nil
}

func (o Options) withDefaults() Options {
	if o.Duration == 0 {
		o.Duration = time.Hour
	}
	if o.Tick == 0 {
		o.Tick = time.Second
	}
	if o.MetastableAfter == 0 {
		o.MetastableAfter = 10 * time.Minute
	}
	if o.Step == 0 {
		o.Step = o.Tick
		for _, s := range []time.Duration{5 * time.Second, 10 * time.Second, 30 * time.Second, time.Minute, 5 * time.Minute, 10 * time.Minute, time.Hour} {
			if o.Duration/o.Step <= 1440 {
				break
			}
			o.Step = s
		}
	}
	return o
}

func (o Options) check() error {
	switch {
	case o.Tick < time.Millisecond || o.Tick > time.Minute:
		return fmt.Errorf("tick %v is out of range: use 1ms to 1m", o.Tick)
	case o.Duration < o.Tick:
		return fmt.Errorf("duration %v is shorter than the tick %v", o.Duration, o.Tick)
	case o.Duration > 7*24*time.Hour:
		return fmt.Errorf("duration %v is longer than 7 days: simulate a shorter window", o.Duration)
	case o.Duration/o.Tick > 10_000_000:
		return fmt.Errorf("duration %v at tick %v is more than 10,000,000 ticks: use a longer tick", o.Duration, o.Tick)
	case o.Step < o.Tick || o.Step%o.Tick != 0:
		return fmt.Errorf("step %v must be a multiple of the tick %v", o.Step, o.Tick)
	case o.Start < 0 || o.Start >= 24*time.Hour:
		return fmt.Errorf("start %v is not a time of day: use 0 to 23h59m", o.Start)
	}
	for _, ev := range o.Events {
		if ev.At < 0 || ev.At >= o.Duration {
			return fmt.Errorf("%s: event %q at %v is outside the run (0 to %v): move it or lengthen --duration", ev.Pos, ev.Name, ev.At, o.Duration)
		}
	}
	return nil
}

func eventsByTick(o Options) map[int][]Event {
	out := map[int][]Event{}
	for _, ev := range o.Events {
		t := int(ev.At / o.Tick)
		out[t] = append(out[t], ev)
	}
	return out
}

// install makes w the current world, binding it to the carried state.
func (m *sim) install(w *world) {
	m.w = w
	m.pools = make([]*poolState, len(w.pools))
	for i, p := range w.pools {
		ps := m.st.pools[p.key]
		if ps == nil {
			ps = &poolState{warmFrom: -1}
			m.st.pools[p.key] = ps
		}
		ps.depW = make([][]share, len(w.services[p.svc].deps))
		if !w.snap.ZoneUp(p.zone) {
			// Instances autoscaling added in a zone that is now down or
			// drained are gone with it.
			ps.extra = min(ps.extra, 0)
		}
		m.pools[i] = ps
	}
	m.entries = make([]*entryState, len(w.entries))
	for i, e := range w.entries {
		es := m.st.entries[e.name]
		switch {
		case es == nil || (e.record != nil && len(es.ring) != e.ttl):
			old := es
			es = &entryState{retr: newRetrier(e.policy, m.tick)}
			if old != nil {
				es.retr = old.retr
			}
			if e.record != nil {
				es.recache(e.record.Answers, e.ttl)
				es.same = -1 // filled on the first resolution
			}
			m.st.entries[e.name] = es
		case e.record != nil:
			// The record may have changed: clients keep the answers they
			// hold until their TTL runs out.
			es.recache(e.record.Answers, e.ttl)
		}
		es.resolved = false // the record may have changed
		m.entries[i] = es
	}
	m.calls = make([][]*retrier, len(w.pools))
	for i, p := range w.pools {
		for _, d := range w.services[p.svc].deps {
			key := p.key + ">" + w.services[d.target].name
			if m.st.callRetr[key] == nil {
				m.st.callRetr[key] = newRetrier(d.policy, m.tick)
			}
			m.calls[i] = append(m.calls[i], m.st.callRetr[key])
		}
	}
	m.lbOffered = make([]float64, len(w.lbs))
	m.lbAccept = make([]float64, len(w.lbs))
	m.lbW = make([][]share, len(w.lbs))
	m.rec.bind()
	m.poison = m.poisonings()
	// Health checks start from the state the snapshot implies.
	m.lbHC = make([]map[int]*checker, len(w.lbs))
	for bi, b := range w.lbs {
		m.lbHC[bi] = map[int]*checker{}
		for _, g := range b.groups {
			for _, pi := range g.pools {
				m.lbHC[bi][pi] = m.checker("lb/"+b.name+"/"+w.pools[pi].key, m.poolUp(pi), b.hc, b.name+" → "+w.pools[pi].key, "load-balancer health check")
			}
		}
	}
	m.meshHC = make([]*checker, len(w.pools))
	for pi, p := range w.pools {
		m.meshHC[pi] = m.checker("mesh/"+p.key, m.poolUp(pi), w.services[p.svc].mesh, p.key, "service discovery health check")
	}
	m.dnsHC = make([][]*checker, len(w.entries))
	for i, e := range w.entries {
		if e.record == nil {
			continue
		}
		m.dnsHC[i] = make([]*checker, len(e.record.Answers))
		for a, ans := range e.record.Answers {
			if ans.HealthChecked {
				m.dnsHC[i][a] = m.checker(fmt.Sprintf("dns/%s/%d", e.record.Name, a), capacity.AnswerHealthy(w.snap, ans), e.dnsHC, e.record.Name+" → "+ans.Name, "DNS health check")
			}
		}
	}
}

// checker is one health check of one target, with its phase (checks of
// one target fire at different ticks, spread by the seed).
type checker struct {
	*hcState
	spec            checkSpec
	every, phase    uint64
	subject, detail string
}

func (m *sim) checker(key string, healthy bool, spec checkSpec, subject, detail string) *checker {
	h := fnv.New64a()
	h.Write([]byte(strconv.FormatInt(m.o.Seed, 10) + "/" + key))
	return &checker{hcState: m.check(key, healthy), spec: spec, every: uint64(max(1, int(math.Round(spec.interval/m.tick)))), phase: h.Sum64(), subject: subject, detail: detail}
}

// check returns a health-check state, creating it healthy or not.
func (m *sim) check(key string, healthy bool) *hcState {
	h := m.st.checks[key]
	if h == nil {
		h = &hcState{healthy: healthy, lastPass: healthy}
		if healthy {
			h.oks = 1 << 20
		} else {
			h.fails = 1 << 20
		}
		m.st.checks[key] = h
	}
	return h
}

// poolUp reports whether a pool has instances able to serve now.
func (m *sim) poolUp(pi int) bool {
	return m.capacity(pi, 0) > 0
}

// instances is a pool's running instance count.
func (m *sim) instances(pi int) int {
	return max(0, m.w.pools[pi].base+m.pools[pi].extra)
}

// capacity is what a pool can serve at tick t, in requests/s.
func (m *sim) capacity(pi, t int) float64 {
	p, ps := m.w.pools[pi], m.pools[pi]
	if t < ps.crashedUntil || ps.poisoned != "" {
		return 0
	}
	sv := m.w.services[p.svc]
	c := p.baseCap + float64(ps.extra)*sv.instCap
	if p.base > 0 && ps.extra < 0 {
		c = p.baseCap * float64(m.instances(pi)) / float64(p.base)
	}
	if c <= 0 {
		return 0
	}
	if m.warming(pi, t) {
		warm := sv.spec.Crash.Warmup.Std().Seconds()
		c *= warmStart + (1-warmStart)*float64(t-ps.warmFrom)*m.tick/warm
	}
	return c
}

// warming reports whether a pool is still warming up after a restart at
// tick t.
func (m *sim) warming(pi, t int) bool {
	ps, crash := m.pools[pi], m.w.services[m.w.pools[pi].svc].spec.Crash
	return ps.warmFrom >= 0 && crash != nil && float64(t-ps.warmFrom)*m.tick < crash.Warmup.Std().Seconds()
}

// event applies one event at tick t.
func (m *sim) event(t int, ev Event) error {
	m.rec.event(t, ev)
	switch {
	case ev.Change != nil:
		m.applied = append(m.applied, appliedChange{ev.Name, ev.Change, t})
		return m.rebuild(ev)
	case ev.Rollback != "":
		kept := m.applied[:0:0]
		found := false
		for _, a := range m.applied {
			if a.name == ev.Rollback && !found {
				found = true
				continue
			}
			kept = append(kept, a)
		}
		if !found {
			return fmt.Errorf("%s: event %q rolls back %q, which was not applied before it", ev.Pos, ev.Name, ev.Rollback)
		}
		m.applied = kept
		return m.rebuild(ev)
	case ev.DemandFactor > 0:
		until := m.ticks
		if ev.For > 0 {
			until = t + int(ev.For/m.o.Tick)
		}
		m.surges = append(m.surges, surge{until: until, demand: ev.Demand, factor: ev.DemandFactor})
	}
	return nil
}

// rebuild recomputes the snapshot from the base and the changes in force.
func (m *sim) rebuild(ev Event) error {
	s := m.base
	for i, a := range m.applied {
		key, keep := m.stateKey(i)
		next, err := m.o.Cache.apply(key, keep, func() (*twin.Snapshot, error) {
			res, err := change.Apply(s, a.cs)
			if err != nil {
				return nil, err
			}
			return res.After, nil
		})
		if err != nil {
			return fmt.Errorf("%s: event %q: applying %q: %w", ev.Pos, ev.Name, a.name, err)
		}
		s = next
	}
	w, err := build(s, m.tick, m.paths(s))
	if err != nil {
		return err
	}
	m.install(w)
	return nil
}

// touchesNetwork reports whether a change can change the network's
// paths (an operation whose kind it cannot tell counts as one that can).
func touchesNetwork(cs *change.ChangeSet) bool {
	for _, op := range cs.Operations {
		if op.Kind == "" || netdiff.Touches([]string{op.Kind}) {
			return true
		}
	}
	return false
}

// stateKey names the twin state after the first n+1 changes in force
// (n = -1: the base), for the cache, by the addresses of the base and the
// change sets; keep lists them, so that the cache keeps them alive and
// their addresses are never reused for others.
func (m *sim) stateKey(n int) (key string, keep []any) {
	key, keep = fmt.Sprintf("%p", m.base), []any{m.base}
	for _, a := range m.applied[:n+1] {
		key += fmt.Sprintf("/%p", a.cs)
		keep = append(keep, a.cs)
	}
	return key, keep
}

// demandFactor is the multiplier on demand d at tick t.
func (m *sim) demandFactor(d string, t int) float64 {
	f := 1.0
	for _, s := range m.surges {
		if t < s.until && (s.demand == "" || s.demand == d) {
			f *= s.factor
		}
	}
	return f
}

// profile is a demand's share of its peak at tick t: the hourly factors,
// interpolated linearly, minute by minute.
func (m *sim) profile(d *twin.Demand, t int) float64 {
	if len(d.Profile) != 24 {
		return 1
	}
	at := m.o.Start + time.Duration(t)*m.o.Tick
	minute := int(at/time.Minute) % (24 * 60)
	h, frac := minute/60, float64(minute%60)/60
	return d.Profile[h]*(1-frac) + d.Profile[(h+1)%24]*frac
}

// sameInputs reports whether demand at ticks a and b is the same.
func (m *sim) sameInputs(a, b int) bool {
	for _, e := range m.w.entries {
		if m.profile(e.demand, a) != m.profile(e.demand, b) || m.demandFactor(e.demand.Name, a) != m.demandFactor(e.demand.Name, b) {
			return false
		}
	}
	return true
}

// answerHealthy is what a DNS health check of an answer sees now.
func (m *sim) answerProbe(a twin.DNSAnswer) bool {
	switch {
	case a.LoadBalancer != "":
		bi := m.lbIndex(a.LoadBalancer)
		return bi >= 0 && m.lbSuccess(bi) >= 0.5
	case a.Anycast != "":
		p := twin.Lookup[twin.AnycastPrefix](m.w.snap, a.Anycast)
		return p != nil && len(capacity.AnnouncingSites(m.w.snap, p)) > 0
	}
	return len(a.Values) > 0
}

func clamp01(x float64) float64 { return math.Max(0, math.Min(1, x)) }
