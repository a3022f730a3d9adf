package change

import (
	"sort"

	"github.com/preflight-sh/preflight/twin"
)

// ServiceImpact is how much of one service's serving capacity a change
// affects, in total and per region and zone.
type ServiceImpact struct {
	Service string        `json:"service"`
	Total   ScopeImpact   `json:"total"`
	Regions []ScopeImpact `json:"regions"`
	Zones   []ScopeImpact `json:"zones"`
}

// ScopeImpact compares serving capacity (requests per second) and serving
// instances before and after the change in one scope. Affected is the sum
// over instances of how much each one's capacity changed; Share is Affected
// over the capacity before (or after, where there was none before).
type ScopeImpact struct {
	Name              string  `json:"name"`
	CapacityBefore    float64 `json:"capacityBefore"`
	CapacityAfter     float64 `json:"capacityAfter"`
	InstancesBefore   int     `json:"instancesBefore"`
	InstancesAfter    int     `json:"instancesAfter"`
	Affected          float64 `json:"affected"`
	AffectedInstances int     `json:"affectedInstances"`
	Share             float64 `json:"share"`
}

func (s *ScopeImpact) add(before, after float64) {
	s.CapacityBefore += before
	s.CapacityAfter += after
	if before > 0 {
		s.InstancesBefore++
	}
	if after > 0 {
		s.InstancesAfter++
	}
	if d := after - before; d != 0 {
		s.Affected += max(d, -d)
		s.AffectedInstances++
	}
}

func (s *ScopeImpact) finish() {
	base := s.CapacityBefore
	if base == 0 {
		base = s.CapacityAfter
	}
	if base > 0 {
		s.Share = s.Affected / base
	}
}

// serviceImpacts compares every instance's serving capacity before and
// after, and sums the differences per service, region and zone. Only
// services with a difference are listed.
func serviceImpacts(before, after *twin.Snapshot) []ServiceImpact {
	capOf := func(s *twin.Snapshot, name string) (float64, *twin.Instance) {
		in, ok := s.Get("Instance", name).(*twin.Instance)
		if !ok {
			return 0, nil
		}
		return float64(s.ServingCapacity(in)), in
	}
	totals := map[string]*ScopeImpact{}
	regions := map[scopeKey]*ScopeImpact{}
	zones := map[scopeKey]*ScopeImpact{}
	changed := map[string]bool{}
	seen := map[string]bool{}
	visit := func(name string) {
		if seen[name] {
			return
		}
		seen[name] = true
		b, bi := capOf(before, name)
		a, ai := capOf(after, name)
		in, snap := ai, after
		if in == nil {
			in, snap = bi, before
		}
		if bi != nil && ai != nil && bi.Service != ai.Service {
			// Moved between services: count as removed from one and added
			// to the other.
			record(totals, regions, zones, before, bi, b, 0)
			record(totals, regions, zones, after, ai, 0, a)
			changed[bi.Service], changed[ai.Service] = true, true
			return
		}
		record(totals, regions, zones, snap, in, b, a)
		if b != a || (bi != nil && ai != nil && bi.Zone != ai.Zone) {
			changed[in.Service] = true
		}
	}
	for _, o := range before.List("Instance") {
		visit(o.GetMeta().Name)
	}
	for _, o := range after.List("Instance") {
		visit(o.GetMeta().Name)
	}
	// One pass over the scopes, not one per changed service.
	bySvc := map[string]*ServiceImpact{}
	for svc := range changed {
		si := &ServiceImpact{Service: svc, Total: *totals[svc]}
		si.Total.Name = "total"
		si.Total.finish()
		bySvc[svc] = si
	}
	for k, v := range regions {
		if si := bySvc[k.svc]; si != nil {
			v.Name = k.name
			v.finish()
			si.Regions = append(si.Regions, *v)
		}
	}
	for k, v := range zones {
		if si := bySvc[k.svc]; si != nil {
			v.Name = k.name
			v.finish()
			si.Zones = append(si.Zones, *v)
		}
	}
	var out []ServiceImpact
	for _, si := range bySvc {
		sort.Slice(si.Regions, func(i, j int) bool { return si.Regions[i].Name < si.Regions[j].Name })
		sort.Slice(si.Zones, func(i, j int) bool { return si.Zones[i].Name < si.Zones[j].Name })
		out = append(out, *si)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Service < out[j].Service })
	return out
}

// scopeKey names a region or zone of one service.
type scopeKey struct{ svc, name string }

func record(totals map[string]*ScopeImpact, regions, zones map[scopeKey]*ScopeImpact, s *twin.Snapshot, in *twin.Instance, before, after float64) {
	for _, scope := range []*ScopeImpact{
		get(totals, in.Service),
		get(regions, scopeKey{in.Service, s.RegionOfZone(in.Zone)}),
		get(zones, scopeKey{in.Service, in.Zone}),
	} {
		scope.add(before, after)
	}
}

func get[K comparable](m map[K]*ScopeImpact, k K) *ScopeImpact {
	if m[k] == nil {
		m[k] = &ScopeImpact{}
	}
	return m[k]
}
