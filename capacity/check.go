package capacity

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/preflight-sh/preflight/change"
	"github.com/preflight-sh/preflight/finding"
	"github.com/preflight-sh/preflight/twin"
	"github.com/preflight-sh/preflight/units"
)

// Check runs every static capacity check on the twin before and after a
// change. A violation the change causes is critical; one that already
// existed before it is reported as a warning, so a reviewer sees it without
// blaming the change.
func Check(res *change.Result) []finding.Finding {
	places := servicePlaces(res.Before, res.After)
	before, after := checkSnapshot(res.Before, places), checkSnapshot(res.After, places)
	var out []finding.Finding
	for _, f := range after {
		if _, existed := before[f.ID]; existed {
			f.Severity = finding.Warning
			f.Message += " (already so before this change)"
		}
		out = append(out, f)
	}
	out = append(out, blastRadius(res)...)
	finding.Sort(out)
	return out
}

// servicePlaces returns the zones each service has instances in, in either
// snapshot: a zone a change empties is still held to the service's floors.
func servicePlaces(snaps ...*twin.Snapshot) map[string][]string {
	seen := map[string]map[string]bool{}
	for _, s := range snaps {
		for _, in := range twin.Typed[twin.Instance](s) {
			if seen[in.Service] == nil {
				seen[in.Service] = map[string]bool{}
			}
			seen[in.Service][in.Zone] = true
		}
	}
	out := map[string][]string{}
	for svc, zones := range seen {
		for z := range zones {
			out[svc] = append(out[svc], z)
		}
		sort.Strings(out[svc])
	}
	return out
}

// checkSnapshot returns the violations in one snapshot, by finding ID.
func checkSnapshot(s *twin.Snapshot, places map[string][]string) map[string]finding.Finding {
	out := map[string]finding.Finding{}
	add := func(fs ...finding.Finding) {
		for _, f := range fs {
			out[f.ID] = f
		}
	}
	load := PeakLoad(s)
	byService := s.InstancesOf()
	for _, svc := range twin.Typed[twin.Service](s) {
		inst := byService[svc.Name]
		add(floors(s, svc, inst, places[svc.Name])...)
		add(headroom(s, svc, inst, places[svc.Name], load)...)
	}
	add(dnsAnswers(s)...)
	add(anycast(s)...)
	return out
}

// scope sums serving capacity and instances in one place.
type scope struct {
	name      string
	capacity  float64
	instances int
	zones     []string
}

// scopes groups a service's serving capacity by region and zone. Every
// zone in places appears, and its region, even when nothing serves there.
func scopes(s *twin.Snapshot, inst []*twin.Instance, places []string) (total scope, regions, zones map[string]*scope) {
	regions, zones = map[string]*scope{}, map[string]*scope{}
	total.name = "total"
	for _, z := range places {
		r := s.RegionOfZone(z)
		if regions[r] == nil {
			regions[r] = &scope{name: r}
		}
		zones[z] = &scope{name: z}
		regions[r].zones = append(regions[r].zones, z)
	}
	for _, in := range inst {
		r := s.RegionOfZone(in.Zone)
		c := float64(s.ServingCapacity(in))
		if c == 0 {
			continue
		}
		for _, sc := range []*scope{&total, regions[r], zones[in.Zone]} {
			sc.capacity += c
			sc.instances++
		}
	}
	return total, regions, zones
}

func floors(s *twin.Snapshot, svc *twin.Service, inst []*twin.Instance, places []string) []finding.Finding {
	total, regions, zones := scopes(s, inst, places)
	var out []finding.Finding
	check := func(sc *scope, level, field string, fl twin.Floor) {
		if fl.Instances > 0 && sc.instances < fl.Instances {
			out = append(out, floorFinding(svc, sc, level, field, "instances", float64(sc.instances), float64(fl.Instances), ""))
		}
		if fl.Capacity > 0 && sc.capacity < float64(fl.Capacity) {
			out = append(out, floorFinding(svc, sc, level, field, "capacity", sc.capacity, float64(fl.Capacity), "rps"))
		}
	}
	check(&total, "total", "floors.total", svc.Floors.Total)
	for _, r := range sortedScopes(regions) {
		check(r, "region", "floors.perRegion", svc.Floors.PerRegion)
	}
	for _, z := range sortedScopes(zones) {
		// A zone taken out of service as a whole is not held to the
		// per-zone floor; N-1 headroom covers its loss.
		if s.ZoneUp(z.name) {
			check(z, "zone", "floors.perZone", svc.Floors.PerZone)
		}
	}
	return out
}

func floorFinding(svc *twin.Service, sc *scope, level, field, what string, have, floor float64, unit string) finding.Finding {
	where := "in total"
	if level != "total" {
		where = "in " + level + " " + sc.name
	}
	return finding.Finding{
		ID:       fmt.Sprintf("capacity.floor/%s/%s=%s/%s", svc.Name, level, sc.name, what),
		Category: "capacity.floor",
		Severity: finding.Critical,
		Message:  fmt.Sprintf("service %s falls below its %s floor %s: %s serving, the floor is %s", svc.Name, what, where, amount(have, unit), amount(floor, unit)),
		Objects:  []finding.Object{finding.ObjectOf(svc, field)},
		Evidence: finding.Evidence{
			Figures: []finding.Figure{{Name: what + " serving", Value: have, Unit: unitOr(unit, "instances")}, {Name: "floor", Value: floor, Unit: unitOr(unit, "instances")}},
			Lines:   []string{fmt.Sprintf("%s %s: %s serving < floor %s (%s)", svc.Name, where, amount(have, unit), amount(floor, unit), field)},
		},
	}
}

func headroom(s *twin.Snapshot, svc *twin.Service, inst []*twin.Instance, places []string, load Load) []finding.Finding {
	if load.Total(svc.Name) == 0 {
		return nil
	}
	_, regions, zones := scopes(s, inst, places)
	var out []finding.Finding
	need := 1 + float64(svc.Headroom)
	for _, region := range slices.Sorted(maps.Keys(load[svc.Name])) {
		demand := load[svc.Name][region]
		r := regions[region]
		if r == nil {
			r = &scope{name: region}
		}
		if r.capacity < demand*need {
			out = append(out, finding.Finding{
				ID:       fmt.Sprintf("capacity.peak/%s/region=%s", svc.Name, region),
				Category: "capacity.peak",
				Severity: finding.Critical,
				Message:  fmt.Sprintf("service %s in %s cannot carry its peak load: %s of capacity for %s at peak%s", svc.Name, region, units.Rate(r.capacity).Short(), units.Rate(demand).Short(), headroomNote(svc)),
				Objects:  []finding.Object{finding.ObjectOf(svc, "instanceCapacity")},
				Evidence: finding.Evidence{
					Figures: []finding.Figure{{Name: "capacity", Value: r.capacity, Unit: "rps"}, {Name: "peak load", Value: demand, Unit: "rps"}, {Name: "utilisation", Value: ratio(demand, r.capacity), Unit: "ratio"}},
					Lines:   []string{fmt.Sprintf("%d serving instances in %s = %s; peak load %s × %.2f required = %s", r.instances, region, units.Rate(r.capacity).Short(), units.Rate(demand).Short(), need, units.Rate(demand*need).Short())},
				},
			})
			continue
		}
		// N-k: lose the k zones that hurt most (the largest).
		k := max(1, svc.ZoneLosses)
		byCap := slices.Clone(r.zones)
		sort.SliceStable(byCap, func(i, j int) bool { return zones[byCap[i]].capacity > zones[byCap[j]].capacity })
		if len(byCap) < k {
			k = len(byCap)
		}
		lost := byCap[:k]
		worstCap := r.capacity
		for _, z := range lost {
			worstCap -= zones[z].capacity
		}
		if len(lost) == 0 || worstCap >= demand {
			continue
		}
		worst := strings.Join(lost, " and ")
		out = append(out, finding.Finding{
			ID:       fmt.Sprintf("capacity.n-%d/%s/region=%s", k, svc.Name, region),
			Category: "capacity.n-1",
			Severity: finding.Critical,
			Message:  fmt.Sprintf("service %s in %s has no N-%d zone headroom: losing %s leaves %s for %s at peak", svc.Name, region, k, worst, units.Rate(worstCap).Short(), units.Rate(demand).Short()),
			Objects:  []finding.Object{finding.ObjectOf(svc, "instanceCapacity")},
			Evidence: finding.Evidence{
				Figures: []finding.Figure{{Name: "capacity without " + worst, Value: worstCap, Unit: "rps"}, {Name: "peak load", Value: demand, Unit: "rps"}, {Name: "utilisation", Value: ratio(demand, worstCap), Unit: "ratio"}},
				Lines:   zoneLines(svc, r, zones, demand),
			},
		})
	}
	return out
}

func zoneLines(svc *twin.Service, r *scope, zones map[string]*scope, demand float64) []string {
	lines := []string{fmt.Sprintf("%s peak load in %s: %s", svc.Name, r.name, units.Rate(demand).Short())}
	for _, z := range r.zones {
		left := r.capacity - zones[z].capacity
		mark := "ok"
		if left < demand {
			mark = fmt.Sprintf("short by %s", units.Rate(demand-left).Short())
		}
		lines = append(lines, fmt.Sprintf("without %s: %s left (%d instances in it) — %s", z, units.Rate(left).Short(), zones[z].instances, mark))
	}
	return lines
}

func headroomNote(svc *twin.Service) string {
	if svc.Headroom == 0 {
		return ""
	}
	return fmt.Sprintf(" plus its %s headroom", svc.Headroom)
}

func dnsAnswers(s *twin.Snapshot) []finding.Finding {
	var out []finding.Finding
	for _, rec := range twin.Typed[twin.DNSRecord](s) {
		regions := rec.ServesRegions
		if len(regions) == 0 {
			for _, r := range twin.Typed[twin.Region](s) {
				regions = append(regions, r.Name)
			}
		}
		for _, region := range regions {
			answers := Resolve(s, rec, region)
			healthy := false
			for _, a := range answers {
				healthy = healthy || a.Healthy
			}
			if healthy {
				continue
			}
			var lines []string
			if len(rec.Answers) == 0 {
				lines = append(lines, "the record has no answers at all")
			}
			for _, a := range rec.Answers {
				lines = append(lines, fmt.Sprintf("answer %s: %s", a.Name, answerState(s, a)))
			}
			msg := fmt.Sprintf("DNS name %s gives clients in %s no healthy answer", rec.Name, region)
			if len(answers) > 0 {
				msg = fmt.Sprintf("DNS name %s sends clients in %s only to unhealthy answers (%s)", rec.Name, region, answerNames(answers))
			}
			out = append(out, finding.Finding{
				ID:       fmt.Sprintf("dns.no-healthy-answer/%s/region=%s", rec.Name, region),
				Category: "dns",
				Severity: finding.Critical,
				Message:  msg,
				Objects:  []finding.Object{finding.ObjectOf(rec, "answers")},
				Evidence: finding.Evidence{Lines: lines},
			})
		}
	}
	return out
}

func answerNames(as []Answer) string {
	var names []string
	for _, a := range as {
		names = append(names, a.Answer.Name)
	}
	return strings.Join(names, ", ")
}

// answerState explains in words whether an answer serves and why not.
func answerState(s *twin.Snapshot, a twin.DNSAnswer) string {
	switch {
	case a.LoadBalancer != "":
		lb := twin.Lookup[twin.LoadBalancer](s, a.LoadBalancer)
		if lb == nil {
			return "load balancer " + a.LoadBalancer + " is missing"
		}
		var parts []string
		for _, t := range Targets(s, lb) {
			parts = append(parts, fmt.Sprintf("target %s weight %d, %s serving", t.Target.Name, t.Target.EffectiveWeight(), units.Rate(t.Capacity).Short()))
		}
		state := "unhealthy"
		if AnswerHealthy(s, a) {
			state = "healthy"
		}
		return fmt.Sprintf("%s via load balancer %s (%s)", state, lb.Name, strings.Join(parts, "; "))
	case a.Anycast != "":
		if AnswerHealthy(s, a) {
			return "healthy via anycast " + a.Anycast
		}
		return "anycast " + a.Anycast + " is announced from no site"
	case len(a.Values) > 0:
		return "values " + strings.Join(a.Values, ", ")
	}
	return "empty: no values"
}

func anycast(s *twin.Snapshot) []finding.Finding {
	var out []finding.Finding
	for _, p := range twin.Typed[twin.AnycastPrefix](s) {
		if len(AnnouncingSites(s, p)) > 0 {
			continue
		}
		var lines []string
		for _, a := range p.Announcements {
			lines = append(lines, fmt.Sprintf("site %s: %s", a.Site, announcementState(s, a)))
		}
		out = append(out, finding.Finding{
			ID:       "anycast.no-announcement/" + p.Name,
			Category: "anycast",
			Severity: finding.Critical,
			Message:  fmt.Sprintf("anycast prefix %s (%s) is announced from no site: it becomes unreachable", p.Name, p.Prefix),
			Objects:  []finding.Object{finding.ObjectOf(p, "announcements")},
			Evidence: finding.Evidence{Lines: lines},
		})
	}
	return out
}

func announcementState(s *twin.Snapshot, a twin.Announcement) string {
	if !a.Announced() {
		return "withdrawn by configuration"
	}
	if !s.SiteUp(a.Site) {
		return "site is not up"
	}
	if a.Device != "" {
		if d := twin.Lookup[twin.Device](s, a.Device); d == nil || !d.State.Up() {
			return "device " + a.Device + " is not up"
		}
	}
	return "withdrawn automatically: none of " + strings.Join(a.WithdrawUnless, ", ") + " is up"
}

// blastRadius checks the change's capacity impact and size against the
// BlastRadiusLimit objects of the twin before the change: one finding per
// limit and scope, listing every matching service over the limit there.
func blastRadius(res *change.Result) []finding.Finding {
	var out []finding.Finding
	view := change.SnapshotView(res.Before)
	for _, lim := range twin.Typed[twin.BlastRadiusLimit](res.Before) {
		sev := finding.Critical
		if lim.Severity == "warning" {
			sev = finding.Warning
		}
		var sel change.Selector
		for k, v := range lim.Services {
			sel = append(sel, change.Term{Key: k, Value: v})
		}
		byScope := map[string]*finding.Finding{}
		var order []string
		for _, si := range res.Services {
			svc := res.Before.Get("Service", si.Service)
			if svc == nil {
				svc = res.After.Get("Service", si.Service)
			}
			if svc == nil || !view.Matches(svc, sel) {
				continue
			}
			over := func(level string, sc change.ScopeImpact, limit units.Percent, field string) {
				if limit == 0 || sc.Share <= float64(limit) {
					return
				}
				where := scopeWords(level, sc.Name)
				id := fmt.Sprintf("blast-radius.share/%s/%s=%s", lim.Name, level, sc.Name)
				f := byScope[id]
				if f == nil {
					f = &finding.Finding{
						ID:       id,
						Category: "blast-radius",
						Severity: sev,
						Objects:  []finding.Object{finding.ObjectOf(lim, field)},
						Evidence: finding.Evidence{Figures: []finding.Figure{{Name: "limit", Value: float64(limit), Unit: "ratio"}}},
					}
					byScope[id] = f
					order = append(order, id)
				}
				f.Objects = append(f.Objects, finding.ObjectOf(svc, ""))
				f.Evidence.Figures = append(f.Evidence.Figures, finding.Figure{Name: si.Service + " share affected", Value: sc.Share, Unit: "ratio"})
				f.Evidence.Lines = append(f.Evidence.Lines, fmt.Sprintf("%s %s: capacity %s → %s (%d → %d instances), %s affected",
					si.Service, where, units.Rate(sc.CapacityBefore).Short(), units.Rate(sc.CapacityAfter).Short(), sc.InstancesBefore, sc.InstancesAfter, units.Percent(sc.Share).Short()))
				n := len(f.Objects) - 1
				f.Message = fmt.Sprintf("the change affects more than %s of the capacity of %d service(s) %s (limit %s): %s",
					limit.Short(), n, where, lim.Name, serviceList(f.Objects[1:]))
			}
			over("total", si.Total, lim.MaxShareTotal, "maxShareTotal")
			for _, r := range si.Regions {
				over("region", r, lim.MaxSharePerRegion, "maxSharePerRegion")
			}
			for _, z := range si.Zones {
				over("zone", z, lim.MaxSharePerZone, "maxSharePerZone")
			}
		}
		for _, id := range order {
			out = append(out, *byScope[id])
		}
		if lim.MaxObjects > 0 && len(res.Touched) > lim.MaxObjects {
			out = append(out, finding.Finding{
				ID:       "blast-radius.objects/" + lim.Name,
				Category: "blast-radius",
				Severity: sev,
				Message:  fmt.Sprintf("the change touches %d objects, above the %s limit of %d", len(res.Touched), lim.Name, lim.MaxObjects),
				Objects:  []finding.Object{finding.ObjectOf(lim, "maxObjects")},
				Evidence: finding.Evidence{Figures: []finding.Figure{{Name: "objects touched", Value: float64(len(res.Touched)), Unit: "objects"}, {Name: "limit", Value: float64(lim.MaxObjects), Unit: "objects"}}, Lines: []string{touchedSummary(res.Touched)}},
			})
		}
	}
	return out
}

func serviceList(objs []finding.Object) string {
	names := make([]string, len(objs))
	for i, o := range objs {
		names[i] = o.Name
	}
	return strings.Join(names, ", ")
}

func touchedSummary(ts []change.Touched) string {
	counts := map[string]int{}
	for _, t := range ts {
		counts[t.Kind+" "+t.Action]++
	}
	var parts []string
	for k, n := range counts {
		parts = append(parts, fmt.Sprintf("%d %s", n, k))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

func scopeWords(level, name string) string {
	if level == "total" {
		return "in total"
	}
	return "in " + level + " " + name
}

func sortedScopes(m map[string]*scope) []*scope {
	return slices.SortedFunc(maps.Values(m), func(a, b *scope) int { return strings.Compare(a.name, b.name) })
}

func amount(v float64, unit string) string {
	if unit == "rps" {
		return units.Rate(v).Short()
	}
	return fmt.Sprintf("%g", v)
}

func unitOr(u, def string) string {
	if u == "" {
		return def
	}
	return u
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}
