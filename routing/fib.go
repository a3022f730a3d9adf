package routing

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strconv"

	"github.com/preflight-sh/preflight/finding"
	"github.com/preflight-sh/preflight/fwd"
)

// whyOnly explains a route that is alone for its prefix.
const whyOnly = "only route"

// ribRoute is a route with what the FIB needs to know about it.
type ribRoute struct {
	Route
	eligible bool     // active, and for BGP the best BGP route
	ports    []string // where it forwards, sorted
	origin   string   // the Origin of its FIB rule
}

// assemble builds every up device's RIB and FIB, the forwarding model and
// the route-limit findings.
func (m *model) assemble(b *bgp, res *Result) {
	up := m.up
	acls := convertACLs(m.snap)
	ribs := make([][]Route, len(up))
	devs := make([]*fwd.Device, len(up))
	counts := make([][4]int, len(up))
	parallel(len(up), func(i int) {
		ribs[i], devs[i], counts[i] = m.table(b, up[i])
		devs[i].ACLs, devs[i].Ports = portACLs(up[i], acls)
	})
	if m.keepRIBs {
		res.RIBs = make(map[string][]Route, len(up))
	}
	res.Network = &fwd.Network{Devices: make(map[string]*fwd.Device, len(up)), Links: m.fwdLinks()}
	for i, d := range up {
		if m.keepRIBs {
			res.RIBs[d.cfg.Name] = ribs[i]
		}
		res.Network.Devices[d.cfg.Name] = devs[i]
		m.routeLimit(d, counts[i])
	}
}

// table builds a device's RIB and forwarding rules, and counts the rules
// by protocol. It merges the device's connected, static and BGP routes
// with its IGP routes, both sorted by prefix.
func (m *model) table(b *bgp, d *device) ([]Route, *fwd.Device, [4]int) {
	other := m.otherRoutes(b, d)
	list := m.igp.list
	var rib []Route
	if m.keepRIBs {
		rib = make([]Route, 0, len(other)+len(list))
	}
	rules := make([]fwd.Rule, 0, len(other)+len(list))
	var counts [4]int
	var origins []string // of IGP rules, by cost
	var group []ribRoute
	for i, j := 0, 0; i < len(other) || j < len(list); {
		var p netip.Prefix
		switch {
		case j == len(list):
			p = other[i].Prefix
		case i == len(other) || list[j].prefix.Compare(other[i].Prefix) < 0:
			p = list[j].prefix
		default:
			p = other[i].Prefix
		}
		group = group[:0]
		for ; i < len(other) && other[i].Prefix == p; i++ {
			group = append(group, other[i])
		}
		if j < len(list) && list[j].prefix == p {
			r, ok := d.igpRoute(&list[j], &origins)
			j++
			if ok && len(group) == 0 { // the common case, without copies
				if m.keepRIBs {
					r.Best = true
					rib = append(rib, r.Route)
				}
				rules = append(rules, fwd.Rule{Prefix: p, Priority: p.Bits(), Action: fwd.Forward, Ports: r.ports, Origin: r.origin})
				counts[IGP]++
				continue
			}
			if ok {
				group = insertByDistance(group, r)
			}
		}
		if rule, proto, ok := install(group); ok {
			rules = append(rules, rule)
			counts[proto]++
		}
		if m.keepRIBs {
			for _, g := range group {
				rib = append(rib, g.Route)
			}
		}
	}
	return rib, &fwd.Device{Name: d.cfg.Name, Rules: rules, RouteLimit: d.cfg.RouteLimit}, counts
}

// igpRoute returns the device's IGP route to an advertised prefix, if it
// has one. origins caches rule origins by cost.
func (d *device) igpRoute(p *igpPrefix, origins *[]string) (ribRoute, bool) {
	cost, set, ok := d.igp.route(p)
	if !ok {
		return ribRoute{}, false
	}
	for int(cost) >= len(*origins) {
		*origins = append(*origins, "")
	}
	if (*origins)[cost] == "" {
		(*origins)[cost] = "igp cost " + strconv.Itoa(int(cost))
	}
	return ribRoute{
		Route:    Route{Prefix: p.prefix, Protocol: IGP, AdminDistance: distIGP, Action: fwd.Forward, IGPCost: cost, NextHops: d.igp.nextHops(set, p.prefix.Addr().Is6()), Why: whyOnly},
		eligible: true, ports: d.igp.ports(set), origin: (*origins)[cost],
	}, true
}

// insertByDistance inserts r into a group sorted by admin distance and
// protocol, after its equals.
func insertByDistance(group []ribRoute, r ribRoute) []ribRoute {
	i := len(group)
	for i > 0 && before(r, group[i-1]) {
		i--
	}
	return slices.Insert(group, i, r)
}

// before orders routes of one prefix: lower admin distance, then protocol.
func before(a, b ribRoute) bool {
	if a.AdminDistance != b.AdminDistance {
		return a.AdminDistance < b.AdminDistance
	}
	return a.Protocol < b.Protocol
}

// install picks the routes of one prefix that go into the FIB: the eligible
// routes of the lowest admin distance (and protocol). It marks them Best,
// explains the others, and returns the rule and its protocol.
func install(group []ribRoute) (fwd.Rule, Protocol, bool) {
	win := -1
	for k := range group {
		if group[k].eligible && (win < 0 || before(group[k], group[win])) {
			win = k
		}
	}
	if win < 0 {
		return fwd.Rule{}, 0, false
	}
	w := group[win].Route
	p := w.Prefix
	rule := fwd.Rule{Prefix: p, Priority: p.Bits(), Action: fwd.Drop, Origin: group[win].origin}
	mixed := slices.ContainsFunc(group, func(g ribRoute) bool { return g.Protocol != w.Protocol })
	winners := 0
	for k := range group {
		g := &group[k]
		switch {
		case !g.eligible:
		case g.AdminDistance == w.AdminDistance && g.Protocol == w.Protocol:
			g.Best = true
			winners++
			if mixed {
				g.Why = installedWhy(g.Route)
			}
			switch {
			case g.Action == fwd.Deliver:
				rule.Action = fwd.Deliver
			case g.Action == fwd.Forward && rule.Action != fwd.Deliver:
				rule.Action = fwd.Forward
				rule.Ports = mergePorts(rule.Ports, g.ports, winners > 1)
			}
		default:
			g.Why = notInstalledWhy(g.Route, w)
		}
	}
	if rule.Action != fwd.Forward {
		rule.Ports = nil
	}
	return rule, w.Protocol, true
}

// mergePorts adds ports to a rule's ports. The first winner's slice is
// shared as is; ECMP across several routes builds a new sorted set.
func mergePorts(have, add []string, merge bool) []string {
	if !merge || len(have) == 0 {
		return add
	}
	out := slices.Concat(have, add)
	slices.Sort(out)
	return slices.Compact(out)
}

func installedWhy(r Route) string {
	why := fmt.Sprintf("installed: lowest admin distance (%d)", r.AdminDistance)
	if r.Protocol == BGP {
		return r.Why + "; " + why
	}
	return why
}

func notInstalledWhy(r, w Route) string {
	why := fmt.Sprintf("not installed: admin distance %d > %d of the %s route", r.AdminDistance, w.AdminDistance, w.Protocol)
	if r.Protocol == BGP {
		return r.Why + "; " + why
	}
	return why
}

// otherRoutes returns a device's connected, static and BGP routes, sorted
// by prefix, then admin distance and protocol; the best BGP route comes
// first among the BGP routes of a prefix.
func (m *model) otherRoutes(b *bgp, d *device) []ribRoute {
	var out []ribRoute
	for _, p := range slices.SortedFunc(maps.Keys(d.ul.conn), netip.Prefix.Compare) {
		for _, c := range d.ul.conn[p] {
			name := d.ifaces[c.iface].cfg.Name
			r := ribRoute{Route: Route{Prefix: p, Protocol: Connected, AdminDistance: distConnected, Why: whyOnly}, eligible: true}
			if c.deliver {
				r.Action, r.origin = fwd.Deliver, "local address on "+name
			} else {
				r.Action, r.origin = fwd.Forward, "connected "+name
				r.NextHops, r.ports = []NextHop{{Port: name}}, []string{name}
			}
			out = append(out, r)
		}
	}
	for _, st := range d.ul.list {
		why := st.why
		if why == "" {
			why = whyOnly
		}
		out = append(out, ribRoute{
			Route:    Route{Prefix: st.cfg.Prefix, Protocol: Static, AdminDistance: st.dist, Action: st.action, NextHops: st.nextHops, Why: why},
			eligible: st.usable, ports: st.ports, origin: staticOrigin(st),
		})
	}
	if d.sp != nil {
		out = append(out, b.ribRoutes(d.sp)...)
	}
	slices.SortStableFunc(out, func(a, b ribRoute) int {
		if c := a.Prefix.Compare(b.Prefix); c != 0 {
			return c
		}
		if before(a, b) {
			return -1
		}
		if before(b, a) {
			return 1
		}
		return 0
	})
	return out
}

func staticOrigin(st *staticRoute) string {
	switch {
	case st.cfg.Drop:
		return "static drop"
	case st.cfg.Interface != "":
		return "static out " + st.cfg.Interface
	}
	return "static via " + st.cfg.NextHop.String()
}

// ribRoutes returns every BGP route a speaker holds, each prefix's
// candidates decided again with explanations (the best first).
func (b *bgp) ribRoutes(sp *speaker) []ribRoute {
	pids := map[int32]bool{}
	for pid := range sp.local {
		pids[pid] = true
	}
	for _, pe := range sp.peerings {
		for pid, r := range pe.in {
			if r != nil {
				pids[pid] = true
			}
		}
	}
	var out []ribRoute
	for _, pid := range slices.Sorted(maps.Keys(pids)) {
		cs := b.candidates(sp, pid, nil)
		w, step := decide(cs)
		if w >= 0 {
			out = append(out, b.ribRoute(pid, &cs[w], whyWon(&cs[w], step), true))
		}
		for k := range cs {
			if k != w {
				out = append(out, b.ribRoute(pid, &cs[k], whyLost(cs, k), false))
			}
		}
	}
	return out
}

func (b *bgp) ribRoute(pid int32, c *cand, why string, best bool) ribRoute {
	r := c.r
	attrs := &BGPAttrs{LocalPref: r.localPref, ASPath: r.asPath, MED: r.med, Communities: r.communities, NextHop: r.nextHop, EBGP: r.ebgp(), Originator: r.originator.cfg.Name}
	for _, rr := range r.clusters {
		attrs.ClusterList = append(attrs.ClusterList, rr.cfg.Name)
	}
	out := ribRoute{
		Route:    Route{Prefix: b.prefixes[pid], Protocol: BGP, AdminDistance: distIBGP, Action: fwd.Forward, IGPCost: c.cost, BGP: attrs, Why: why},
		eligible: best,
		ports:    c.ports,
		origin:   fmt.Sprintf("bgp via %s localPref %d", fromName(r), r.localPref),
	}
	switch {
	case r.from == nil:
		out.Action, out.origin = fwd.Deliver, "bgp originated"
	case r.from.ebgp:
		out.AdminDistance = distEBGP
	}
	if r.from != nil {
		attrs.From = r.from.cfg.Name
		if c.valid {
			for _, p := range c.ports {
				out.NextHops = append(out.NextHops, NextHop{Addr: r.nextHop, Port: p})
			}
		}
	}
	return out
}

// routeLimit reports a device whose FIB is over its route limit, or within
// 10% of it.
func (m *model) routeLimit(d *device, counts [4]int) {
	limit := d.cfg.RouteLimit
	n := counts[0] + counts[1] + counts[2] + counts[3]
	if limit <= 0 || n*10 < limit*9 {
		return
	}
	sev, msg := finding.Warning, fmt.Sprintf("%s holds %d forwarding rules, %.0f%% of its route limit %d", d.cfg.Name, n, 100*float64(n)/float64(limit), limit)
	if n > limit {
		sev, msg = finding.Critical, fmt.Sprintf("%s needs %d forwarding rules, over its route limit %d: routes beyond the limit are not installed", d.cfg.Name, n, limit)
	}
	m.findings = append(m.findings, finding.Finding{
		ID:       "routing.route-limit/" + d.cfg.Name,
		Category: "routing.route-limit",
		Severity: sev,
		Message:  msg,
		Objects:  []finding.Object{finding.ObjectOf(d.cfg, "routeLimit")},
		Evidence: finding.Evidence{
			Figures: []finding.Figure{{Name: "forwarding rules", Value: float64(n), Unit: "rules"}, {Name: "routeLimit", Value: float64(limit), Unit: "rules"}, {Name: "utilisation", Value: float64(n) / float64(limit), Unit: "ratio"}},
			Lines: []string{
				fmt.Sprintf("rules by protocol: connected %d, static %d, igp %d, bgp %d", counts[Connected], counts[Static], counts[IGP], counts[BGP]),
				fmt.Sprintf("route limit of %s: %d", d.cfg.Name, limit),
			},
		},
	})
}

// fwdLinks returns both directions of every up link, by link name.
func (m *model) fwdLinks() []fwd.Link {
	var out []fwd.Link
	for _, l := range m.links {
		if !l.up {
			continue
		}
		a := fwd.PortRef{Device: l.ends[0].dev.cfg.Name, Port: l.ends[0].dev.ifaces[l.ends[0].iface].cfg.Name}
		b := fwd.PortRef{Device: l.ends[1].dev.cfg.Name, Port: l.ends[1].dev.ifaces[l.ends[1].iface].cfg.Name}
		out = append(out, fwd.Link{From: a, To: b}, fwd.Link{From: b, To: a})
	}
	return out
}
