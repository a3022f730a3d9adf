package sim

import (
	"github.com/preflight-sh/preflight/sitepaths"
	"github.com/preflight-sh/preflight/twin"
)

// network loads links and devices with the traffic between sites, along
// the forwarding paths of the twin's network (ECMP splits equally), and
// turns congestion into loss: a link or device offered more than its
// capacity drops the excess, in proportion, from every flow across it.
type network struct {
	paths   *sitepaths.Paths
	sites   []string
	siteIdx map[string]int
	links   []element
	devices []element
	linkIdx map[string]int
	devIdx  map[string]int
	routes  []*route  // by pair, computed on first use
	traffic []float64 // bits/s between sites, src*len(sites)+dst
	pass    []float64 // share delivered between sites, from the last tick (-1: no traffic)
}

// element is a link or device with its capacity (bits/s; 0 means unknown)
// and this tick's load.
type element struct {
	name     string
	capacity float64
	load     float64
	loss     float64
}

type route struct {
	delivered float64
	modelled  bool
	links     []share
	devices   []share
}

type share struct {
	idx  int
	frac float64
}

func newNetwork(s *twin.Snapshot, paths *sitepaths.Paths) *network {
	n := &network{paths: paths, siteIdx: map[string]int{}, linkIdx: map[string]int{}, devIdx: map[string]int{}}
	for _, st := range twin.Typed[twin.Site](s) {
		n.siteIdx[st.Name] = len(n.sites)
		n.sites = append(n.sites, st.Name)
	}
	for _, l := range twin.Typed[twin.Link](s) {
		n.linkIdx[l.Name] = len(n.links)
		n.links = append(n.links, element{name: l.Name, capacity: float64(l.Capacity)})
	}
	for _, d := range twin.Typed[twin.Device](s) {
		n.devIdx[d.Name] = len(n.devices)
		n.devices = append(n.devices, element{name: d.Name, capacity: float64(d.Capacity)})
	}
	n.traffic = make([]float64, len(n.sites)*len(n.sites))
	n.routes = make([]*route, len(n.traffic))
	n.pass = make([]float64, len(n.traffic))
	for i := range n.pass {
		n.pass[i] = -1
	}
	return n
}

// siteOf is the index of a site, or -1 when it is not a site of the
// network (or there is no network).
func (n *network) siteOf(name string) int {
	if n == nil {
		return -1
	}
	if i, ok := n.siteIdx[name]; ok {
		return i
	}
	return -1
}

// pair is the index of traffic from site i to site j (indices from site),
// or -1 when either is not a site of the network.
func (n *network) pair(i, j int) int {
	if n == nil || i < 0 || j < 0 {
		return -1
	}
	return i*len(n.sites) + j
}

// add puts rate requests/s of bytes each on the path of pair k.
func (n *network) add(k int, rate, bytes float64) {
	if k >= 0 && bytes > 0 && rate > 0 {
		n.traffic[k] += rate * bytes * 8
	}
}

// delivered is the share of traffic on pair k that arrives (last tick's
// congestion and the paths' drops).
func (n *network) delivered(k int) float64 {
	if n == nil || k < 0 {
		return 1
	}
	if n.pass[k] < 0 {
		return n.route(k).delivered
	}
	return n.pass[k]
}

func (n *network) route(k int) *route {
	if r := n.routes[k]; r != nil {
		return r
	}
	pr := n.paths.Between(n.sites[k/len(n.sites)], n.sites[k%len(n.sites)])
	r := &route{delivered: pr.Delivered, modelled: pr.Modelled}
	if !pr.Modelled {
		r.delivered = 1
	}
	for _, l := range pr.Links {
		if i, ok := n.linkIdx[l.Name]; ok {
			r.links = append(r.links, share{i, l.Fraction})
		}
	}
	for _, d := range pr.Devices {
		if i, ok := n.devIdx[d.Name]; ok {
			r.devices = append(r.devices, share{i, d.Fraction})
		}
	}
	n.routes[k] = r
	return r
}

// settle loads links and devices with this tick's traffic, computes their
// loss, and the share each site pair will deliver next tick. It reports
// whether any share changed.
func (n *network) settle() bool {
	for i := range n.links {
		n.links[i].load = 0
	}
	for i := range n.devices {
		n.devices[i].load = 0
	}
	for k, t := range n.traffic {
		if t == 0 {
			continue
		}
		r := n.route(k)
		for _, s := range r.links {
			n.links[s.idx].load += t * s.frac
		}
		for _, s := range r.devices {
			n.devices[s.idx].load += t * s.frac
		}
	}
	lossOf := func(es []element) {
		for i := range es {
			e := &es[i]
			e.loss = 0
			if e.capacity > 0 && e.load > e.capacity {
				e.loss = 1 - e.capacity/e.load
			}
		}
	}
	lossOf(n.links)
	lossOf(n.devices)
	changed := false
	for k, t := range n.traffic {
		p := -1.0 // no traffic: what the paths deliver, looked up when asked
		if t > 0 {
			r := n.route(k)
			lost := 0.0
			for _, s := range r.links {
				lost += s.frac * n.links[s.idx].loss
			}
			for _, s := range r.devices {
				lost = max(lost, s.frac*n.devices[s.idx].loss)
			}
			p = r.delivered * max(0, 1-lost)
		}
		if p != n.pass[k] {
			changed = true
			n.pass[k] = p
		}
		n.traffic[k] = 0
	}
	return changed
}
