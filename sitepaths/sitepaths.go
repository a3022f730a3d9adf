// Package sitepaths computes how traffic between two sites of a twin crosses
// the network: the links and devices on its forwarding paths, each with the
// share of the traffic it carries when ECMP splits flows equally at every
// branch.
//
// The traffic of a pair of sites is one representative packet (TCP to port
// 443) followed through the forwarding model that package routing computes
// from the twin's control plane, with the semantics of package tracer:
//
//   - Hosts. A site's traffic leaves from its host devices: the devices that
//     originate one of the site's own prefixes in BGP (bgp.originate), or,
//     when none does, every device of the site. The traffic is split equally
//     between them; the share of a host device that is down (or in a down
//     site or zone) is lost.
//   - Address. Traffic to a site aims at the first host address (the
//     address itself for a host-length prefix) of the site's lowest own
//     prefix, IPv4 before IPv6. A site's own prefixes are the prefixes its
//     devices originate that no device of another site originates, other
//     than a default route and the prefixes of AnycastPrefix objects. A site
//     without one aims at the lowest interface address of its devices that
//     the forwarding model delivers, else at their lowest interface address.
//     The packet's source is the source site's address of the same family,
//     chosen the same way (the unspecified address when it has none).
//   - Splits. Every branch the tracer takes at a device — ECMP next hops,
//     and in models that have them VLAN members and the several peers of a
//     port — gets an equal share of what reaches the device.
//   - Delivery. Traffic reaches the destination when it is delivered to a
//     device of the destination site or leaves the network through one of
//     its unlinked ports (towards its servers). Everything else — no route,
//     null route, ACL, a forwarding loop, delivery elsewhere, leaving the
//     network elsewhere — is lost.
//
// Down links, interfaces, devices, sites and zones take no part: routing
// leaves them out of the forwarding model, so they carry nothing.
package sitepaths

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"github.com/preflight-sh/preflight/fwd"
	"github.com/preflight-sh/preflight/routing"
	"github.com/preflight-sh/preflight/twin"
)

// Paths answers, for pairs of sites of one snapshot, how traffic between
// them crosses the network. It is safe for concurrent use.
type Paths struct {
	net    *fwd.Network
	peers  map[fwd.PortRef][]fwd.PortRef
	tables map[string]*table          // by up device
	acls   map[*fwd.ACL][]fwd.ACLRule // rules in evaluation order
	links  map[fwd.PortRef]string     // twin link by either of its ends
	siteOf map[string]string          // site of every device
	sites  map[string]*site

	mu   sync.Mutex
	memo map[[2]string]Route
}

// site is what traffic from and to a site needs.
type site struct {
	hosts []string      // devices its traffic leaves from, by name
	addrs [2]netip.Addr // its source address for IPv4 and IPv6 (invalid: none)
	aim   netip.Addr    // where traffic to it goes (invalid: nowhere)
}

// Route is how the traffic of one pair of sites crosses the network.
type Route struct {
	// Modelled is false when a site is unknown, either site has no devices
	// or the destination has no address to aim at: the network is not
	// modelled for the pair. Traffic within one site is always modelled.
	Modelled bool
	// Delivered is the share of the traffic that reaches the destination
	// site (0..1); the rest is lost.
	Delivered float64
	// Links are the twin links the traffic crosses, by name, with the share
	// of the traffic each carries.
	Links []Share
	// Devices are the devices the traffic traverses, first and last
	// included, by name, with the share of the traffic each carries.
	Devices []Share
	// Example is one path as device names: the first one that reaches the
	// destination (the first path of all when none does), for evidence.
	Example []string
}

// Share is the part of a pair's traffic an object carries.
type Share struct {
	Name     string
	Fraction float64
}

// Compute builds the forwarding model of the snapshot and prepares answers
// for its site pairs. It fails only on an internal inconsistency (a link
// of the forwarding model that is not an up twin link); a twin without
// devices gives Paths whose answers between two sites are all unmodelled.
func Compute(s *twin.Snapshot) (*Paths, error) {
	n := routing.BuildForwarding(s).Network
	p := &Paths{
		net:    n,
		peers:  n.Peers(),
		tables: make(map[string]*table, len(n.Devices)),
		acls:   map[*fwd.ACL][]fwd.ACLRule{},
		links:  map[fwd.PortRef]string{},
		siteOf: map[string]string{},
		sites:  map[string]*site{},
		memo:   map[[2]string]Route{},
	}
	for name, d := range n.Devices {
		p.tables[name] = newTable(d)
		for _, acl := range d.ACLs {
			if _, ok := p.acls[acl]; !ok {
				p.acls[acl] = acl.Ordered()
			}
		}
	}
	devices := twin.Typed[twin.Device](s)
	ifaces := map[fwd.PortRef]bool{}
	for _, d := range devices {
		p.siteOf[d.Name] = d.Site
		for _, f := range d.Interfaces {
			ifaces[fwd.PortRef{Device: d.Name, Port: f.Name}] = true
		}
	}
	for _, l := range twin.Typed[twin.Link](s) {
		for _, end := range []string{l.A, l.B} {
			if ref, ok := portOf(end, ifaces); ok {
				p.links[ref] = l.Name
			}
		}
	}
	for _, l := range n.Links {
		if p.links[l.From] == "" || n.Devices[l.To.Device] == nil {
			return nil, fmt.Errorf("sitepaths: the forwarding model links %s:%s to %s:%s, which is not an up twin link", l.From.Device, l.From.Port, l.To.Device, l.To.Port)
		}
	}
	p.buildSites(s, devices)
	return p, nil
}

// portOf resolves a link end "device:interface", splitting at the first
// colon that leaves a known interface (names may hold colons).
func portOf(end string, ifaces map[fwd.PortRef]bool) (fwd.PortRef, bool) {
	for i := range len(end) {
		if end[i] == ':' {
			if ref := (fwd.PortRef{Device: end[:i], Port: end[i+1:]}); ifaces[ref] {
				return ref, true
			}
		}
	}
	return fwd.PortRef{}, false
}

// buildSites chooses every site's host devices and addresses.
func (p *Paths) buildSites(s *twin.Snapshot, devices []*twin.Device) {
	originators := map[netip.Prefix]map[string]bool{} // sites originating each prefix
	for _, d := range devices {
		if d.BGP == nil {
			continue
		}
		for _, pfx := range d.BGP.Originate {
			pfx = pfx.Masked()
			if originators[pfx] == nil {
				originators[pfx] = map[string]bool{}
			}
			originators[pfx][d.Site] = true
		}
	}
	anycast := map[netip.Prefix]bool{}
	for _, a := range twin.Typed[twin.AnycastPrefix](s) {
		anycast[a.Prefix.Masked()] = true
	}
	own := func(pfx netip.Prefix) bool {
		pfx = pfx.Masked()
		return pfx.Bits() > 0 && len(originators[pfx]) == 1 && !anycast[pfx]
	}

	bySite := map[string][]*twin.Device{}
	for _, d := range devices {
		bySite[d.Site] = append(bySite[d.Site], d)
	}
	for _, st := range twin.Typed[twin.Site](s) {
		devs := bySite[st.Name]
		si := &site{}
		var owned [2]netip.Prefix // lowest own prefix by family
		for _, d := range devs {
			host := false
			for _, pfx := range originated(d) {
				if !own(pfx) {
					continue
				}
				host = true
				pfx = pfx.Masked()
				if f := family(pfx.Addr()); !owned[f].IsValid() || pfx.Compare(owned[f]) < 0 {
					owned[f] = pfx
				}
			}
			if host {
				si.hosts = append(si.hosts, d.Name)
			}
		}
		if len(si.hosts) == 0 {
			for _, d := range devs {
				si.hosts = append(si.hosts, d.Name)
			}
		}
		for f := range owned {
			if owned[f].IsValid() {
				si.addrs[f] = firstHost(owned[f])
				if !si.aim.IsValid() {
					si.aim = si.addrs[f]
				}
			} else {
				si.addrs[f] = p.interfaceAddr(devs, f)
			}
		}
		if !si.aim.IsValid() {
			si.aim = si.addrs[0]
			if !si.aim.IsValid() {
				si.aim = si.addrs[1]
			}
		}
		p.sites[st.Name] = si
	}
}

func originated(d *twin.Device) []netip.Prefix {
	if d.BGP == nil {
		return nil
	}
	return d.BGP.Originate
}

// family is 0 for IPv4, 1 for IPv6.
func family(a netip.Addr) int {
	if a.Is4() {
		return 0
	}
	return 1
}

// firstHost returns the first address of a prefix after its network
// address, or the address of a host-length prefix.
func firstHost(pfx netip.Prefix) netip.Addr {
	a := pfx.Addr()
	if pfx.Bits() == a.BitLen() {
		return a
	}
	return a.Next()
}

// interfaceAddr returns the lowest interface address of the family on the
// devices that the forwarding model delivers to its device, else the lowest
// of them all; invalid if there is none.
func (p *Paths) interfaceAddr(devs []*twin.Device, f int) netip.Addr {
	var lowest, delivered netip.Addr
	for _, d := range devs {
		t := p.tables[d.Name]
		for _, iface := range d.Interfaces {
			for _, pfx := range iface.Addresses {
				a := pfx.Addr()
				if family(a) != f {
					continue
				}
				if !lowest.IsValid() || a.Less(lowest) {
					lowest = a
				}
				if t == nil || delivered.IsValid() && !a.Less(delivered) {
					continue
				}
				if r := t.lookup(a); r != nil && r.Action == fwd.Deliver {
					delivered = a
				}
			}
		}
	}
	if delivered.IsValid() {
		return delivered
	}
	return lowest
}

// Between returns how the traffic from site src to site dst (site names)
// crosses the network. Answers are memoised; their slices are shared
// between calls and must not be modified. Unknown sites are unmodelled.
// Traffic within one site stays on its host devices that are up, split
// equally: it is all delivered, crosses no link and has no example path.
func (p *Paths) Between(src, dst string) Route {
	key := [2]string{src, dst}
	p.mu.Lock()
	r, ok := p.memo[key]
	p.mu.Unlock()
	if ok {
		return r
	}
	r = p.route(src, dst)
	p.mu.Lock()
	p.memo[key] = r
	p.mu.Unlock()
	return r
}

func (p *Paths) route(src, dst string) Route {
	from, to := p.sites[src], p.sites[dst]
	if from == nil || to == nil {
		return Route{}
	}
	var up []string // host devices of the source that are up
	for _, h := range from.hosts {
		if p.net.Devices[h] != nil {
			up = append(up, h)
		}
	}
	if src == dst {
		r := Route{Modelled: true, Delivered: 1}
		for _, h := range up {
			r.Devices = append(r.Devices, Share{h, 1 / float64(len(up))})
		}
		return r
	}
	if len(from.hosts) == 0 || len(to.hosts) == 0 || !to.aim.IsValid() {
		return Route{}
	}
	pkt := fwd.Packet{Src: from.addrs[family(to.aim)], Dst: to.aim, Proto: 6, SrcPort: 49152, DstPort: 443}
	if !pkt.Src.IsValid() {
		pkt.Src = netip.IPv4Unspecified()
		if !to.aim.Is4() {
			pkt.Src = netip.IPv6Unspecified()
		}
	}
	w := p.newWalk(pkt, dst)
	share := 1 / float64(len(from.hosts))
	var starts []int
	for _, h := range up {
		starts = append(starts, w.visit(state{dev: h}))
	}
	var t *tally
	if w.cyclic {
		t = w.traced(up, share)
	} else {
		t = w.propagate(starts, share)
	}
	return t.route()
}

// tally sums the shares of one pair's traffic.
type tally struct {
	delivered float64
	links     map[string]float64
	devices   map[string]float64
	example   []string
}

func newTally() *tally {
	return &tally{links: map[string]float64{}, devices: map[string]float64{}}
}

func (t *tally) route() Route {
	return Route{Modelled: true, Delivered: t.delivered, Links: shares(t.links), Devices: shares(t.devices), Example: t.example}
}

// shares lists the positive shares of a tally by name.
func shares(m map[string]float64) []Share {
	var out []Share
	for name, f := range m {
		if f > 0 {
			out = append(out, Share{name, f})
		}
	}
	slices.SortFunc(out, func(a, b Share) int { return strings.Compare(a.Name, b.Name) })
	return out
}
