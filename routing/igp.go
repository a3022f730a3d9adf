package routing

import (
	"net/netip"
	"sort"

	"github.com/preflight-sh/preflight/twin"
)

// igpPrefixes is every subnet advertised into the IGP, sorted, with the
// devices advertising it.
type igpPrefixes struct {
	list  []igpPrefix
	index map[netip.Prefix]int32
}

type igpPrefix struct {
	prefix  netip.Prefix
	origins []int32 // device indexes, ascending
}

// igpTable is one device's shortest paths to every device.
type igpTable struct {
	dev   *device
	dist  []int32 // by device index; -1: unreachable
	hop   []int32 // by device index: the hop set of the shortest paths
	sets  []hopSet
	ids   map[string]int32
	width int // bytes in a hop set's bits
}

// hopSet is a set of first hops (adjacencies) of a device: the ECMP
// branches of its shortest paths to somewhere.
type hopSet struct {
	bits  string       // bit i is adjacency i
	nh    [2][]NextHop // by family (0 IPv4, 1 IPv6), built on first use
	ports []string     // built on first use
	built [2]bool      // whether nh[family] is built
}

// runIGP collects the advertised subnets and computes every up device's
// shortest paths.
func (m *model) runIGP() {
	origins := map[netip.Prefix][]int32{}
	for _, d := range m.devs {
		for _, f := range d.ifaces {
			if !f.up {
				continue
			}
			for _, a := range f.cfg.Addresses {
				p := a.Masked()
				if o := origins[p]; len(o) == 0 || o[len(o)-1] != int32(d.idx) {
					origins[p] = append(o, int32(d.idx))
				}
			}
		}
	}
	m.igp.list = make([]igpPrefix, 0, len(origins))
	for p, o := range origins {
		m.igp.list = append(m.igp.list, igpPrefix{p, o})
	}
	sort.Slice(m.igp.list, func(i, j int) bool { return m.igp.list[i].prefix.Compare(m.igp.list[j].prefix) < 0 })
	m.igp.index = make(map[netip.Prefix]int32, len(m.igp.list))
	for i, p := range m.igp.list {
		m.igp.index[p.prefix] = int32(i)
	}
	up := m.up
	parallel(len(up), func(i int) { up[i].igp = m.shortestPaths(up[i]) })
}

// shortestPaths runs Dijkstra from src, keeping every equal-cost first hop.
// Link costs are positive, so a device's hop set is complete when it
// leaves the queue.
func (m *model) shortestPaths(src *device) *igpTable {
	n := len(m.devs)
	t := &igpTable{dev: src, dist: make([]int32, n), hop: make([]int32, n), ids: map[string]int32{}, width: (len(src.adj) + 7) / 8}
	for i := range t.dist {
		t.dist[i] = -1
	}
	t.dist[src.idx] = 0
	done := make([]bool, n)
	done[src.idx] = true
	var q queue
	for i, a := range src.adj {
		bits := make([]byte, t.width)
		bits[i/8] |= 1 << (i % 8)
		t.relax(&q, int32(a.peer.idx), a.cost, t.intern(bits))
	}
	for len(q) > 0 {
		e := q.pop()
		if done[e.v] {
			continue
		}
		done[e.v] = true
		for _, a := range m.devs[e.v].adj {
			if !done[a.peer.idx] {
				t.relax(&q, int32(a.peer.idx), e.d+a.cost, t.hop[e.v])
			}
		}
	}
	return t
}

func (t *igpTable) relax(q *queue, v, d, set int32) {
	switch {
	case t.dist[v] < 0 || d < t.dist[v]:
		t.dist[v], t.hop[v] = d, set
		q.push(entry{d, v})
	case d == t.dist[v]:
		t.hop[v] = t.union(t.hop[v], set)
	}
}

func (t *igpTable) intern(bits []byte) int32 {
	if id, ok := t.ids[string(bits)]; ok {
		return id
	}
	id := int32(len(t.sets))
	t.sets = append(t.sets, hopSet{bits: string(bits)})
	t.ids[string(bits)] = id
	return id
}

func (t *igpTable) union(a, b int32) int32 {
	if a == b {
		return a
	}
	bits := []byte(t.sets[a].bits)
	for i := range bits {
		bits[i] |= t.sets[b].bits[i]
	}
	return t.intern(bits)
}

// reachable reports whether the device reaches device idx in the IGP.
func (t *igpTable) reachable(idx int) bool { return t.dist[idx] >= 0 }

// route returns the cost and hop set of the device's IGP route to p: the
// nearest devices advertising it. It reports false if the device has p
// connected or no device advertising it is reachable.
func (t *igpTable) route(p *igpPrefix) (cost, set int32, ok bool) {
	cost, set = -1, -1
	for _, o := range p.origins {
		if int(o) == t.dev.idx {
			return 0, 0, false
		}
		switch d := t.dist[o]; {
		case d < 0:
		case cost < 0 || d < cost:
			cost, set = d, t.hop[o]
		case d == cost:
			set = t.union(set, t.hop[o])
		}
	}
	return cost, set, cost >= 0
}

// nextHops returns the next hops of a hop set for one family: each first
// hop's port and the neighbor's address of that family on the link (none if
// it has none).
func (t *igpTable) nextHops(set int32, is6 bool) []NextHop {
	hs := &t.sets[set]
	f := family(is6)
	if !hs.built[f] {
		hs.built[f] = true
		for i, a := range t.dev.adj {
			if hs.bits[i/8]&(1<<(i%8)) != 0 {
				hs.nh[f] = append(hs.nh[f], NextHop{Addr: addrOf(a.peerIface, is6), Port: a.port})
			}
		}
	}
	return hs.nh[f]
}

// ports returns the ports of a hop set, sorted.
func (t *igpTable) ports(set int32) []string {
	hs := &t.sets[set]
	if hs.ports == nil {
		for i, a := range t.dev.adj {
			if hs.bits[i/8]&(1<<(i%8)) != 0 {
				hs.ports = append(hs.ports, a.port)
			}
		}
	}
	return hs.ports
}

// family indexes per-family arrays: 0 for IPv4, 1 for IPv6.
func family(is6 bool) int {
	if is6 {
		return 1
	}
	return 0
}

// addrOf returns the first address of the family on an interface.
func addrOf(f *twin.Interface, is6 bool) netip.Addr {
	for _, p := range f.Addresses {
		if p.Addr().Is6() == is6 {
			return p.Addr()
		}
	}
	return netip.Addr{}
}

// queue is a binary min-heap of Dijkstra entries.
type queue []entry

type entry struct{ d, v int32 }

func (q *queue) push(e entry) {
	*q = append(*q, e)
	h := *q
	for i := len(h) - 1; i > 0; {
		p := (i - 1) / 2
		if !h[i].less(h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

func (q *queue) pop() entry {
	h := *q
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h = h[:last]
	for i := 0; ; {
		c := 2*i + 1
		if c >= len(h) {
			break
		}
		if c+1 < len(h) && h[c+1].less(h[c]) {
			c++
		}
		if !h[c].less(h[i]) {
			break
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
	*q = h
	return top
}

func (e entry) less(o entry) bool { return e.d < o.d || e.d == o.d && e.v < o.v }
