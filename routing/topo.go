package routing

import (
	"net/netip"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/preflight-sh/preflight/finding"
	"github.com/preflight-sh/preflight/twin"
)

// model is the twin's network as routing sees it: which devices,
// interfaces and links are up, and the IGP adjacencies.
type model struct {
	snap     *twin.Snapshot
	keepRIBs bool      // keep every route for explanations (Build), or only the FIB
	devs     []*device // every device, by name
	up       []*device // the devices that are up, by name
	byName   map[string]*device
	links    []*link // every link whose ends exist, by name
	bySite   map[string][]*device
	igp      igpPrefixes
	findings []finding.Finding
}

type device struct {
	idx    int
	cfg    *twin.Device
	up     bool
	ifaces []iface // as cfg.Interfaces
	adj    []adjacency
	igp    *igpTable
	ul     *underlay
	sp     *speaker // nil unless an up BGP speaker
}

type iface struct {
	cfg  *twin.Interface
	up   bool
	link *link // nil: no link
}

type link struct {
	cfg  *twin.Link
	ends [2]linkEnd
	up   bool
}

type linkEnd struct {
	dev   *device
	iface int
}

// adjacency is an IGP neighbor of a device, through one of its ports.
type adjacency struct {
	port      string
	peer      *device
	peerIface *twin.Interface
	cost      int32
}

// defaultCost is the IGP cost of a link that gives none.
const defaultCost = 10

func newModel(s *twin.Snapshot) *model {
	m := &model{snap: s, byName: map[string]*device{}, bySite: map[string][]*device{}}
	for i, d := range twin.Typed[twin.Device](s) {
		dev := &device{idx: i, cfg: d, up: d.State.Up() && s.SitePowered(d.Site), ifaces: make([]iface, len(d.Interfaces))}
		for j := range d.Interfaces {
			dev.ifaces[j].cfg = &d.Interfaces[j]
		}
		m.devs = append(m.devs, dev)
		if dev.up {
			m.up = append(m.up, dev)
		}
		m.byName[d.Name] = dev
		m.bySite[d.Site] = append(m.bySite[d.Site], dev)
	}
	for _, l := range twin.Typed[twin.Link](s) {
		a, okA := m.linkEnd(l.A)
		b, okB := m.linkEnd(l.B)
		if !okA || !okB || a.dev == b.dev {
			continue
		}
		lk := &link{cfg: l, ends: [2]linkEnd{a, b}}
		lk.up = l.State.Up()
		for _, e := range lk.ends {
			lk.up = lk.up && e.dev.up && e.dev.ifaces[e.iface].cfg.State.Up()
			e.dev.ifaces[e.iface].link = lk
		}
		m.links = append(m.links, lk)
	}
	for _, d := range m.devs {
		for j := range d.ifaces {
			f := &d.ifaces[j]
			f.up = d.up && f.cfg.State.Up() && (f.link == nil || f.link.up)
		}
	}
	for _, l := range m.links {
		a, b := l.ends[0], l.ends[1]
		if !l.up || !igpAdjacent(a.dev.cfg, b.dev.cfg) {
			continue
		}
		cost := int32(l.cfg.Cost)
		if cost == 0 {
			cost = defaultCost
		}
		a.dev.adj = append(a.dev.adj, adjacency{a.dev.ifaces[a.iface].cfg.Name, b.dev, b.dev.ifaces[b.iface].cfg, cost})
		b.dev.adj = append(b.dev.adj, adjacency{b.dev.ifaces[b.iface].cfg.Name, a.dev, a.dev.ifaces[a.iface].cfg, cost})
	}
	for _, d := range m.devs {
		sort.Slice(d.adj, func(i, j int) bool { return d.adj[i].port < d.adj[j].port })
	}
	return m
}

// linkEnd resolves "device:interface", splitting at the first colon before
// which a device of that name exists (names may hold colons).
func (m *model) linkEnd(ep string) (linkEnd, bool) {
	for i := range len(ep) {
		if ep[i] != ':' {
			continue
		}
		if d := m.byName[ep[:i]]; d != nil {
			for j, f := range d.cfg.Interfaces {
				if f.Name == ep[i+1:] {
					return linkEnd{d, j}, true
				}
			}
		}
	}
	return linkEnd{}, false
}

// igpAdjacent reports whether an IGP adjacency forms between two devices:
// always, except between BGP speakers of different ASes.
func igpAdjacent(a, b *twin.Device) bool {
	return a.BGP == nil || b.BGP == nil || a.BGP.ASN == b.BGP.ASN
}

// ifaceOf returns the interface of d holding address a, or -1.
func (d *device) ifaceOf(a netip.Addr) int {
	for i, f := range d.cfg.Interfaces {
		for _, p := range f.Addresses {
			if p.Addr() == a {
				return i
			}
		}
	}
	return -1
}

// linkedTo reports whether d and e share an up link.
func (d *device) linkedTo(e *device) bool {
	for _, f := range d.ifaces {
		if f.link != nil && f.link.up && (f.link.ends[0].dev == e || f.link.ends[1].dev == e) {
			return true
		}
	}
	return false
}

// parallel runs f(i) for i in [0, n) on every CPU.
func parallel(n int, f func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				f(i)
			}
		}()
	}
	wg.Wait()
}

// joinNames joins device names with commas.
func joinNames(devs []*device) string {
	names := make([]string, len(devs))
	for i, d := range devs {
		names[i] = d.cfg.Name
	}
	return strings.Join(names, ", ")
}
