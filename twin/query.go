package twin

import "github.com/preflight-sh/preflight/units"

// RegionOfZone returns the region of a zone, or "" if the zone is unknown.
func (s *Snapshot) RegionOfZone(zone string) string {
	if z, ok := s.Get("Zone", zone).(*Zone); ok {
		return z.Region
	}
	return ""
}

// ZoneUp reports whether a zone carries traffic.
func (s *Snapshot) ZoneUp(zone string) bool {
	z, ok := s.Get("Zone", zone).(*Zone)
	return ok && z.State.Up()
}

// NominalCapacity is what an instance serves when it is up: its own
// capacity, or its service's instance capacity.
func (s *Snapshot) NominalCapacity(in *Instance) units.Rate {
	if in.Capacity > 0 {
		return in.Capacity
	}
	if svc, ok := s.Get("Service", in.Service).(*Service); ok {
		return svc.InstanceCapacity
	}
	return 0
}

// Serving reports whether an instance takes traffic: it is up, so is its
// zone, and so is at least one data-centre site of the zone (when the twin
// places the zone in data centres at all).
func (s *Snapshot) Serving(in *Instance) bool {
	return in.State.Up() && s.ZoneUp(in.Zone) && s.zoneHoused(in.Zone)
}

// zoneHoused reports whether a zone has a data-centre site that is up, or
// no data-centre site in the twin.
func (s *Snapshot) zoneHoused(zone string) bool {
	s.dcOnce.Do(func() {
		s.dcs = map[string][]*Site{}
		for _, st := range Typed[Site](s) {
			if st.Type == "datacenter" && st.Zone != "" {
				s.dcs[st.Zone] = append(s.dcs[st.Zone], st)
			}
		}
	})
	sites := s.dcs[zone]
	for _, st := range sites {
		if st.State.Up() {
			return true
		}
	}
	return len(sites) == 0
}

// ServingCapacity is an instance's capacity if it is serving, else zero.
func (s *Snapshot) ServingCapacity(in *Instance) units.Rate {
	if !s.Serving(in) {
		return 0
	}
	return s.NominalCapacity(in)
}

// InstancesOf returns the instances of each service, sorted by name. The
// map is shared: do not modify it.
func (s *Snapshot) InstancesOf() map[string][]*Instance {
	s.instOnce.Do(func() {
		s.inst = map[string][]*Instance{}
		for _, in := range Typed[Instance](s) {
			s.inst[in.Service] = append(s.inst[in.Service], in)
		}
	})
	return s.inst
}

// SiteUp reports whether a site carries traffic: it exists, is up, and so
// is its zone (if it has one).
func (s *Snapshot) SiteUp(name string) bool {
	site, ok := s.Get("Site", name).(*Site)
	if !ok || !site.State.Up() {
		return false
	}
	return site.Zone == "" || s.ZoneUp(site.Zone)
}

// SitePowered reports whether a site's equipment runs: it exists and
// neither it nor its zone is down. A drained site or zone is taken out of
// service for traffic, but its routers still forward.
func (s *Snapshot) SitePowered(name string) bool {
	site, ok := s.Get("Site", name).(*Site)
	if !ok || site.State == Down {
		return false
	}
	z, ok := s.Get("Zone", site.Zone).(*Zone)
	return site.Zone == "" || !ok || z.State != Down
}
