package routing

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/preflight-sh/preflight/fwd"
	"github.com/preflight-sh/preflight/twin"
)

// underlay is a device's connected, static and IGP routes: what static and
// BGP next hops resolve over.
type underlay struct {
	m       *model
	dev     *device
	conn    map[netip.Prefix][]connRoute
	statics map[netip.Prefix][]*staticRoute
	list    []*staticRoute // in configuration order
	// cache holds resolutions made once every static route is resolved.
	cache map[netip.Addr]resolution
	ready bool
}

// connRoute is a connected route: a subnet out of an interface, or an
// address of the device delivered to it.
type connRoute struct {
	iface   int
	deliver bool
}

type staticRoute struct {
	cfg      twin.StaticRoute
	dist     uint8
	state    uint8 // unresolved, resolving or resolved
	usable   bool
	action   fwd.Action
	nextHops []NextHop
	ports    []string
	why      string
}

const (
	unresolved uint8 = iota
	resolving
	resolved
)

// resolution is where an address leads on a device: the action of the
// longest-matching active underlay route, its ports and its IGP cost.
type resolution struct {
	ok     bool
	action fwd.Action
	ports  []string
	cost   int32
}

// maxDepth bounds recursive next-hop resolution.
const maxDepth = 8

func (m *model) buildUnderlays() {
	up := m.up
	parallel(len(up), func(i int) { up[i].ul = newUnderlay(m, up[i]) })
}

func newUnderlay(m *model, d *device) *underlay {
	u := &underlay{m: m, dev: d, conn: map[netip.Prefix][]connRoute{}, statics: map[netip.Prefix][]*staticRoute{}, cache: map[netip.Addr]resolution{}}
	for i, f := range d.ifaces {
		if !f.up {
			continue
		}
		for _, a := range f.cfg.Addresses {
			host := netip.PrefixFrom(a.Addr(), a.Addr().BitLen())
			u.conn[host] = append(u.conn[host], connRoute{i, true})
			if a.Masked() != host {
				u.conn[a.Masked()] = append(u.conn[a.Masked()], connRoute{i, false})
			}
		}
	}
	for _, r := range d.cfg.StaticRoutes {
		st := &staticRoute{cfg: r, dist: uint8(r.AdminDistance)}
		if st.dist == 0 {
			st.dist = distStatic
		}
		u.statics[r.Prefix] = append(u.statics[r.Prefix], st)
		u.list = append(u.list, st)
	}
	for _, st := range u.list {
		u.resolveStatic(st, 0)
	}
	u.ready = true
	return u
}

// resolveStatic works out where a static route sends packets.
func (u *underlay) resolveStatic(st *staticRoute, depth int) {
	if st.state != unresolved {
		return
	}
	st.state = resolving
	defer func() { st.state = resolved }()
	r := st.cfg
	switch {
	case r.Drop:
		st.usable, st.action = true, fwd.Drop
	case r.Interface != "":
		for _, f := range u.dev.ifaces {
			if f.cfg.Name == r.Interface && f.up {
				st.usable, st.action, st.ports = true, fwd.Forward, []string{r.Interface}
				st.nextHops = []NextHop{{Port: r.Interface}}
			}
		}
		if !st.usable {
			st.why = "not usable: interface " + r.Interface + " is down"
		}
	default:
		res := u.resolve(r.NextHop, depth+1)
		switch {
		case !res.ok:
			st.why = fmt.Sprintf("not usable: next hop %s is unresolved (no connected, static or IGP route)", r.NextHop)
		case res.action == fwd.Deliver:
			st.why = fmt.Sprintf("not usable: next hop %s is an address of this device", r.NextHop)
		default:
			st.usable, st.action, st.ports = true, res.action, res.ports
			for _, p := range res.ports {
				st.nextHops = append(st.nextHops, NextHop{Addr: r.NextHop, Port: p})
			}
		}
	}
}

// resolve finds the longest-matching active underlay route for an address.
// At one prefix length the lowest admin distance wins, as in the FIB. While
// static routes are being resolved, one being resolved is skipped: a route
// does not resolve over itself.
func (u *underlay) resolve(a netip.Addr, depth int) resolution {
	if res, ok := u.cache[a]; ok {
		return res
	}
	if depth > maxDepth {
		return resolution{}
	}
	res := u.lookup(a, depth)
	if u.ready {
		u.cache[a] = res
	}
	return res
}

func (u *underlay) lookup(a netip.Addr, depth int) resolution {
	for bits := a.BitLen(); bits >= 0; bits-- {
		p, _ := a.Prefix(bits)
		if cs := u.conn[p]; len(cs) > 0 {
			if cs[0].deliver {
				return resolution{ok: true, action: fwd.Deliver}
			}
			res := resolution{ok: true, action: fwd.Forward}
			for _, c := range cs {
				res.ports = append(res.ports, u.dev.ifaces[c.iface].cfg.Name)
			}
			slices.Sort(res.ports)
			return res
		}
		best, dist := resolution{}, 256
		for _, st := range u.statics[p] {
			u.resolveStatic(st, depth)
			if st.state == resolved && st.usable && int(st.dist) < dist {
				best, dist = resolution{ok: true, action: st.action, ports: st.ports}, int(st.dist)
			}
		}
		if i, ok := u.m.igp.index[p]; ok && int(distIGP) < dist {
			if cost, set, ok := u.dev.igp.route(&u.m.igp.list[i]); ok {
				best = resolution{ok: true, action: fwd.Forward, ports: u.dev.igp.ports(set), cost: cost}
			}
		}
		if best.ok {
			return best
		}
	}
	return resolution{}
}
