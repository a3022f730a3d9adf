// Package capacity is the static capacity analysis: how much load each
// service carries at the peak of the demand profile, and whether capacity
// floors, N-1 zone headroom, DNS answers, anycast announcements and
// blast-radius limits still hold after a change.
package capacity

import (
	"maps"
	"slices"
	"sort"

	"github.com/preflight-sh/preflight/twin"
)

// Load is the peak request rate each service must serve, per region.
type Load map[string]map[string]float64

// Total returns a service's load over all regions.
func (l Load) Total(svc string) float64 {
	t := 0.0
	for _, v := range l[svc] {
		t += v
	}
	return t
}

func (l Load) add(svc, region string, rps float64) {
	if rps <= 0 {
		return
	}
	if l[svc] == nil {
		l[svc] = map[string]float64{}
	}
	l[svc][region] += rps
}

// PeakLoad computes each service's load at the peak of every demand's daily
// profile: demand entering through DNS is routed by the record's policy to
// healthy answers, by load balancers to targets with serving capacity, and
// then multiplied along dependencies (calls per request), staying in the
// caller's region where the dependency runs there.
func PeakLoad(s *twin.Snapshot) Load {
	entry := Load{}
	for _, d := range twin.Typed[twin.Demand](s) {
		for _, o := range d.Origins {
			rps := float64(o.Peak) * d.PeakFactor()
			if d.Service != "" {
				entry.add(d.Service, o.Region, rps)
				continue
			}
			rec := twin.Lookup[twin.DNSRecord](s, d.DNS)
			if rec == nil {
				continue
			}
			answers := Resolve(s, rec, o.Region)
			for _, a := range answers {
				if a.Answer.LoadBalancer == "" {
					continue
				}
				lb := twin.Lookup[twin.LoadBalancer](s, a.Answer.LoadBalancer)
				if lb == nil {
					continue
				}
				for _, t := range Targets(s, lb) {
					if t.Healthy {
						entry.add(t.Target.Service, t.region(s, lb, o.Region), rps*a.Share*t.Share)
					}
				}
			}
		}
	}
	return propagate(s, entry)
}

// propagate adds the load that callers put on their dependencies.
func propagate(s *twin.Snapshot, entry Load) Load {
	services := twin.Typed[twin.Service](s)
	byName := map[string]*twin.Service{}
	for _, svc := range services {
		byName[svc.Name] = svc
	}
	regionsOf := map[string]map[string]float64{}
	for svc, list := range s.InstancesOf() {
		for _, in := range list {
			if regionsOf[svc] == nil {
				regionsOf[svc] = map[string]float64{}
			}
			regionsOf[svc][s.RegionOfZone(in.Zone)] += float64(s.ServingCapacity(in))
		}
	}
	// Depth-first order so callers come before their dependencies.
	var order []string
	state := map[string]int{}
	var visit func(string)
	visit = func(name string) {
		if state[name] != 0 {
			return
		}
		state[name] = 1
		if svc := byName[name]; svc != nil {
			for _, d := range svc.Dependencies {
				visit(d.Service)
			}
		}
		state[name] = 2
		order = append(order, name)
	}
	for _, svc := range services {
		visit(svc.Name)
	}
	load := Load{}
	for svc, regions := range entry {
		for r, v := range regions {
			load.add(svc, r, v)
		}
	}
	for i := len(order) - 1; i >= 0; i-- {
		svc := byName[order[i]]
		if svc == nil {
			continue
		}
		for _, dep := range svc.Dependencies {
			for _, region := range slices.Sorted(maps.Keys(load[svc.Name])) {
				rps := load[svc.Name][region] * dep.Calls()
				where := regionsOf[dep.Service]
				if where[region] > 0 {
					load.add(dep.Service, region, rps)
					continue
				}
				// The dependency does not serve in the caller's region: the
				// calls spread over the regions where it does, by capacity.
				total := 0.0
				for _, c := range where {
					total += c
				}
				if total == 0 {
					load.add(dep.Service, region, rps)
					continue
				}
				for _, r := range slices.Sorted(maps.Keys(where)) {
					load.add(dep.Service, r, rps*where[r]/total)
				}
			}
		}
	}
	return load
}

// Answer is a DNS answer clients of a region receive, with its share of
// their queries.
type Answer struct {
	Answer  twin.DNSAnswer
	Share   float64
	Healthy bool
}

// Resolve returns the answers clients in region get from a record, by its
// routing policy: health-checked answers that are unhealthy are skipped
// when a healthy alternative exists; answers that are not health-checked
// are returned healthy or not.
func Resolve(s *twin.Snapshot, rec *twin.DNSRecord, region string) []Answer {
	return ResolveWith(rec, region, func(a twin.DNSAnswer) bool { return AnswerHealthy(s, a) })
}

// ResolveWith is Resolve with the health of each answer given by healthy.
func ResolveWith(rec *twin.DNSRecord, region string, healthy func(twin.DNSAnswer) bool) []Answer {
	type cand struct {
		a       twin.DNSAnswer
		healthy bool
	}
	var all []cand
	for _, a := range rec.Answers {
		all = append(all, cand{a, healthy(a)})
	}
	usable := func(c cand) bool { return c.healthy || !c.a.HealthChecked }
	one := func(c cand) []Answer { return []Answer{{Answer: c.a, Share: 1, Healthy: c.healthy}} }
	switch rec.Policy {
	case "latency":
		for _, c := range all {
			if c.a.Region == region && usable(c) {
				return one(c)
			}
		}
		// Failover to the first healthy answer elsewhere (the twin does not
		// model distances between regions).
		for _, c := range all {
			if c.healthy {
				return one(c)
			}
		}
	case "failover":
		for _, role := range []string{"primary", "secondary"} {
			for _, c := range all {
				if c.a.Failover == role && usable(c) {
					return one(c)
				}
			}
		}
	case "weighted":
		total := 0
		var live []cand
		for _, c := range all {
			if w := weight(c.a); w > 0 && usable(c) {
				total += w
				live = append(live, c)
			}
		}
		var out []Answer
		for _, c := range live {
			out = append(out, Answer{Answer: c.a, Share: float64(weight(c.a)) / float64(total), Healthy: c.healthy})
		}
		return out
	default:
		if len(all) > 0 {
			return one(all[0])
		}
	}
	return nil
}

func weight(a twin.DNSAnswer) int {
	if a.Weight == nil {
		return 1
	}
	return *a.Weight
}

// AnswerHealthy reports whether an answer leads somewhere that serves: a
// load balancer with a healthy target, an anycast prefix announced from at
// least one site, or literal values.
func AnswerHealthy(s *twin.Snapshot, a twin.DNSAnswer) bool {
	switch {
	case a.LoadBalancer != "":
		lb := twin.Lookup[twin.LoadBalancer](s, a.LoadBalancer)
		if lb == nil {
			return false
		}
		for _, t := range Targets(s, lb) {
			if t.Healthy && t.Share > 0 {
				return true
			}
		}
		return false
	case a.Anycast != "":
		p := twin.Lookup[twin.AnycastPrefix](s, a.Anycast)
		return p != nil && len(AnnouncingSites(s, p)) > 0
	}
	return len(a.Values) > 0
}

// Target is a load balancer target with its serving capacity and the share
// of the balancer's traffic it receives (by weight, over healthy targets).
type Target struct {
	Target   twin.LBTarget
	Capacity float64
	Healthy  bool
	Share    float64
}

// region is where a target's traffic is served: the target's region, its
// zone's, the balancer's, or else the clients' own.
func (t Target) region(s *twin.Snapshot, lb *twin.LoadBalancer, origin string) string {
	switch {
	case t.Target.Region != "":
		return t.Target.Region
	case t.Target.Zone != "":
		return s.RegionOfZone(t.Target.Zone)
	case lb.Region != "":
		return lb.Region
	}
	return origin
}

// Targets evaluates a load balancer's targets: a target is healthy when
// its instances have serving capacity; traffic splits by weight over the
// healthy targets with a weight above zero.
func Targets(s *twin.Snapshot, lb *twin.LoadBalancer) []Target {
	out := make([]Target, len(lb.Targets))
	total := 0
	byService := s.InstancesOf()
	for i, t := range lb.Targets {
		c := 0.0
		for _, in := range byService[t.Service] {
			if t.Zone != "" && in.Zone != t.Zone {
				continue
			}
			if t.Region != "" && s.RegionOfZone(in.Zone) != t.Region {
				continue
			}
			c += float64(s.ServingCapacity(in))
		}
		out[i] = Target{Target: t, Capacity: c, Healthy: c > 0}
		if out[i].Healthy {
			total += t.EffectiveWeight()
		}
	}
	for i := range out {
		if out[i].Healthy && total > 0 {
			out[i].Share = float64(out[i].Target.EffectiveWeight()) / float64(total)
		}
	}
	return out
}

// AnnouncingSites returns the sites that announce an anycast prefix: the
// announcement is configured up, its site and device are up, and at least
// one of the sites it depends on (withdrawUnless) is up.
func AnnouncingSites(s *twin.Snapshot, p *twin.AnycastPrefix) []string {
	var out []string
	for _, a := range p.Announcements {
		if !a.Announced() || !s.SiteUp(a.Site) {
			continue
		}
		if a.Device != "" {
			if d := twin.Lookup[twin.Device](s, a.Device); d == nil || !d.State.Up() {
				continue
			}
		}
		if len(a.WithdrawUnless) > 0 {
			ok := false
			for _, dep := range a.WithdrawUnless {
				ok = ok || s.SiteUp(dep)
			}
			if !ok {
				continue
			}
		}
		out = append(out, a.Site)
	}
	sort.Strings(out)
	return out
}
