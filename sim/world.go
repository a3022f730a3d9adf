package sim

import (
	"maps"
	"math"
	"slices"

	"github.com/preflight-sh/preflight/capacity"
	"github.com/preflight-sh/preflight/sitepaths"
	"github.com/preflight-sh/preflight/twin"
)

// Defaults for values the twin leaves out.
const (
	defaultLatency       = 0.020 // s, mean service time
	defaultMaxQueue      = 10.0  // s of work
	defaultClientTimeout = 30.0  // s
	defaultCallTimeout   = 10.0  // s
	defaultHCInterval    = 10.0  // s
	defaultHCTimeout     = 5.0   // s
	defaultHCThreshold   = 3
	defaultTargetUtil    = 0.6
	scaleEvery           = 60 // s between autoscaling decisions
	warmStart            = 0.2
)

// world is the static shape of one snapshot: services, their pools of
// instances per zone, load balancers, entry points and network paths. It
// is rebuilt whenever the snapshot changes; dynamic state lives in state
// and is carried over by name.
type world struct {
	snap     *twin.Snapshot
	services []*service
	pools    []*pool
	lbs      []*balancer
	entries  []*entry
	order    []int // services, callers before their dependencies
	regions  []string
	net      *network
	lbByName map[string]int
	mesh     checkSpec // how service discovery checks instances, by default
	// regionSite is, per region, the index in the network of the site
	// its clients' traffic enters at (-1 when not modelled).
	regionSite []int
}

type service struct {
	name        string
	spec        *twin.Service
	pools       []int
	inRegion    [][]int // pools by region index
	deps        []dep
	latency     float64
	maxQueue    float64
	conc        int // concurrent requests one instance serves
	instCap     float64
	bytes       float64
	autoscaling *twin.Autoscaling
	mesh        checkSpec // how service discovery checks its instances
}

type dep struct {
	target   int
	calls    float64
	perInst  float64 // calls per second per running instance
	timeout  float64
	policy   twin.RetryPolicy
	optional bool
}

// pool is a service's instances in one zone; they share load evenly and
// behave alike.
type pool struct {
	key     string // service/zone
	svc     int
	zone    string
	region  int
	site    string
	siteIdx int     // index of site in the network, or -1
	base    int     // instances serving in the snapshot
	baseCap float64 // their capacity
	hosts   int     // instances registered with load balancers: not drained, serving or not
	regCap  float64 // their nominal capacity
}

type balancer struct {
	name      string
	spec      *twin.LoadBalancer
	capacity  float64 // 0: unlimited
	crossZone bool
	panic     float64
	hc        checkSpec
	groups    []group
	site      string // where it runs: its region's entry site
	siteIdx   int    // its index in the network, or -1
}

// group is one target of a load balancer: the pools it spreads over.
type group struct {
	name   string
	weight float64
	pools  []int
}

type checkSpec struct {
	interval, timeout float64
	healthy, unhealth int
}

// entry is client demand from one origin region entering at a DNS name or
// a service.
type entry struct {
	name    string
	demand  *twin.Demand
	region  int
	peak    float64
	site    string // where the clients' traffic enters the network
	siteIdx int    // its index in the network, or -1
	record  *twin.DNSRecord
	service int // direct entry, or -1
	policy  twin.RetryPolicy
	timeout float64
	slo     *twin.SLO
	ttl     int // ticks
	dnsHC   checkSpec

	answerIdx map[string]int // the record's answers by name
}

func newCheck(h twin.HealthCheck) checkSpec {
	c := checkSpec{interval: h.Interval.Std().Seconds(), timeout: h.Timeout.Std().Seconds(), healthy: h.HealthyThreshold, unhealth: h.UnhealthyThreshold}
	if c.interval <= 0 {
		c.interval = defaultHCInterval
	}
	if c.timeout <= 0 {
		c.timeout = defaultHCTimeout
	}
	if c.healthy <= 0 {
		c.healthy = defaultHCThreshold
	}
	if c.unhealth <= 0 {
		c.unhealth = defaultHCThreshold
	}
	return c
}

func orDefault(v, d float64) float64 {
	if v > 0 {
		return v
	}
	return d
}

func build(s *twin.Snapshot, tick float64, paths func() (*sitepaths.Paths, error)) (*world, error) {
	w := &world{snap: s, lbByName: map[string]int{}, mesh: newCheck(twin.HealthCheck{})}
	regionIdx := map[string]int{}
	for _, r := range twin.Typed[twin.Region](s) {
		regionIdx[r.Name] = len(w.regions)
		w.regions = append(w.regions, r.Name)
	}
	zoneSite := map[string]string{}
	regionSite := map[string]string{}
	for _, st := range twin.Typed[twin.Site](s) {
		if st.Type == "datacenter" && st.Zone != "" && zoneSite[st.Zone] == "" {
			zoneSite[st.Zone] = st.Name
		}
		if cur, ok := regionSite[st.Region]; !ok || (st.Type == "pop" && twin.Lookup[twin.Site](s, cur).Type != "pop") {
			regionSite[st.Region] = st.Name
		}
	}
	svcIdx := map[string]int{}
	for _, spec := range twin.Typed[twin.Service](s) {
		sv := &service{name: spec.Name, spec: spec, inRegion: make([][]int, len(w.regions)), autoscaling: spec.Autoscaling}
		sv.latency = orDefault(spec.Latency.Std().Seconds(), defaultLatency)
		sv.maxQueue = orDefault(spec.MaxQueue.Std().Seconds(), defaultMaxQueue)
		sv.instCap = float64(spec.InstanceCapacity)
		sv.conc = max(1, int(math.Round(sv.instCap*sv.latency)))
		sv.bytes = float64(spec.BytesPerRequest)
		sv.mesh = w.mesh
		if spec.HealthCheck != nil {
			sv.mesh = newCheck(*spec.HealthCheck)
		}
		svcIdx[spec.Name] = len(w.services)
		w.services = append(w.services, sv)
	}
	for _, sv := range w.services {
		for _, d := range sv.spec.Dependencies {
			t, ok := svcIdx[d.Service]
			if !ok {
				continue
			}
			sv.deps = append(sv.deps, dep{target: t, calls: d.Calls(), perInst: float64(d.PerInstance), timeout: orDefault(d.Timeout.Std().Seconds(), defaultCallTimeout), policy: d.RetryPolicy, optional: d.Optional})
		}
	}
	// Pools: every zone a service has instances in, serving or not, so a
	// zone that comes back finds its state.
	byService := s.InstancesOf()
	for si, sv := range w.services {
		zones := map[string]*pool{}
		for _, in := range byService[sv.name] {
			p := zones[in.Zone]
			if p == nil {
				p = &pool{key: sv.name + "/" + in.Zone, svc: si, zone: in.Zone, region: regionIdx[s.RegionOfZone(in.Zone)], site: zoneSite[in.Zone]}
				zones[in.Zone] = p
			}
			if z := twin.Lookup[twin.Zone](s, in.Zone); in.State != twin.Drained && (z == nil || z.State != twin.Drained) {
				p.hosts++
				p.regCap += float64(s.NominalCapacity(in))
			}
			if c := float64(s.ServingCapacity(in)); c > 0 {
				p.base++
				p.baseCap += c
			}
		}
		for _, z := range slices.Sorted(maps.Keys(zones)) {
			p := zones[z]
			sv.pools = append(sv.pools, len(w.pools))
			sv.inRegion[p.region] = append(sv.inRegion[p.region], len(w.pools))
			w.pools = append(w.pools, p)
		}
	}
	for _, spec := range twin.Typed[twin.LoadBalancer](s) {
		b := &balancer{name: spec.Name, spec: spec, capacity: float64(spec.Capacity), crossZone: spec.CrossZone, panic: float64(spec.PanicThreshold), hc: newCheck(spec.HealthCheck), site: regionSite[spec.Region]}
		for _, t := range spec.Targets {
			g := group{name: t.Name, weight: float64(t.EffectiveWeight())}
			if si, ok := svcIdx[t.Service]; ok {
				for _, pi := range w.services[si].pools {
					p := w.pools[pi]
					if (t.Zone == "" || p.zone == t.Zone) && (t.Region == "" || w.regions[p.region] == t.Region) {
						g.pools = append(g.pools, pi)
					}
				}
			}
			b.groups = append(b.groups, g)
		}
		w.lbByName[b.name] = len(w.lbs)
		w.lbs = append(w.lbs, b)
	}
	for _, d := range twin.Typed[twin.Demand](s) {
		for _, o := range d.Origins {
			e := &entry{name: d.Name + "@" + o.Region, demand: d, region: regionIdx[o.Region], peak: float64(o.Peak), site: regionSite[o.Region], service: -1, slo: d.SLO}
			if d.Client != nil {
				e.policy = *d.Client
			}
			e.timeout = orDefault(e.policy.Timeout.Std().Seconds(), defaultClientTimeout)
			if d.Service != "" {
				e.service = svcIdx[d.Service]
			} else if rec := twin.Lookup[twin.DNSRecord](s, d.DNS); rec != nil {
				e.record = rec
				e.answerIdx = map[string]int{}
				for i, a := range rec.Answers {
					e.answerIdx[a.Name] = i
				}
				e.ttl = max(1, int(math.Round(rec.TTL.Std().Seconds()/tick)))
				e.dnsHC = newCheck(rec.HealthCheck)
			}
			if e.slo == nil {
				e.slo = w.entrySLO(e)
			}
			w.entries = append(w.entries, e)
		}
	}
	w.order = w.callOrder()
	if needsNetwork(w) {
		p, err := paths()
		if err != nil {
			return nil, err
		}
		w.net = newNetwork(s, p)
	}
	for _, p := range w.pools {
		p.siteIdx = w.net.siteOf(p.site)
	}
	for _, e := range w.entries {
		e.siteIdx = w.net.siteOf(e.site)
	}
	for _, b := range w.lbs {
		b.siteIdx = w.net.siteOf(b.site)
	}
	for _, r := range w.regions {
		w.regionSite = append(w.regionSite, w.net.siteOf(regionSite[r]))
	}
	return w, nil
}

// entrySLO is the SLO of the first service an entry's traffic reaches.
func (w *world) entrySLO(e *entry) *twin.SLO {
	if e.service >= 0 {
		return w.services[e.service].spec.SLO
	}
	if e.record == nil {
		return nil
	}
	for _, a := range e.record.Answers {
		if lb := twin.Lookup[twin.LoadBalancer](w.snap, a.LoadBalancer); lb != nil {
			for _, t := range lb.Targets {
				if sv := twin.Lookup[twin.Service](w.snap, t.Service); sv != nil && sv.SLO != nil {
					return sv.SLO
				}
			}
		}
	}
	return nil
}

// callOrder lists services so that every caller comes before the services
// it calls (the twin's dependencies are acyclic).
func (w *world) callOrder() []int {
	state := make([]int, len(w.services))
	var post []int
	var visit func(int)
	visit = func(i int) {
		if state[i] != 0 {
			return
		}
		state[i] = 1
		for _, d := range w.services[i].deps {
			visit(d.target)
		}
		state[i] = 2
		post = append(post, i)
	}
	for i := range w.services {
		visit(i)
	}
	slices.Reverse(post)
	return post
}

func needsNetwork(w *world) bool {
	if len(w.snap.List("Device")) == 0 {
		return false
	}
	for _, sv := range w.services {
		if sv.bytes > 0 {
			return true
		}
	}
	return false
}

// resolveShares is the share of clients in region that each answer of an
// entry's record sends to, by the record's policy and the answers' health,
// written into out.
func resolveShares(e *entry, region string, healthy func(int) bool, out []float64) {
	for i := range out {
		out[i] = 0
	}
	for _, a := range capacity.ResolveWith(e.record, region, func(a twin.DNSAnswer) bool { return healthy(e.answerIdx[a.Name]) }) {
		out[e.answerIdx[a.Answer.Name]] += a.Share
	}
}
