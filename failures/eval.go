package failures

import (
	"net/netip"
	"slices"
	"sort"

	"github.com/preflight-sh/preflight/fwd"
	"github.com/preflight-sh/preflight/tracer"
	"github.com/preflight-sh/preflight/twin"
)

// Checking one failure state.
//
// Forwarding in the model depends on the destination address alone (rules
// match destination prefixes; VLANs and multi-peer ports depend on ports),
// so every packet to one address takes the same branches, and a concrete
// trace of one packet per destination address decides reachability for
// all of them — far cheaper than compiling the network to atoms. Only
// ACLs look at the other header fields: an ACL on a branch must permit
// every packet to the address (checked once per ACL and address with
// BDDs, and cached, since ACLs do not change with failures).
//
// All-pairs reachability asks for |devices|² such traces. Instead of
// tracing each, the walker below follows the forwarding graph of one
// destination from every source with memoisation: a node is a device and
// the port the packet came in by, its result (every branch from it ends
// accepted) is computed once. A node reached again while it is being
// computed is a forwarding cycle, which the tracer would report as a loop
// or a packet sent back where it came from. The walker agrees with
// tracer.Trace on every branch's acceptance (the tests compare them), and
// the reported examples are real traces.

// state is one failure state's forwarding model, indexed for the walker.
type state struct {
	u     *universe
	net   *fwd.Network
	up    *upState
	devs  []*fwd.Device    // by device index; nil when down
	ports [][]port         // by device: its ports, by name
	index []map[string]int // by device: port index by name
	base  []int            // by device: the node id of arriving at it from nowhere
	nodes int              // node ids are base[dev] + 1 + port index
	table [][]*fwd.Rule    // by device, by host destination: the rule applied (host invariants)
}

// port is a device port: its ACLs, where it sends to and the link it is on.
type port struct {
	name    string
	in, out []string
	peers   []node
	link    int // universe link index, -1
}

// node is a device and the port a packet came in by (-1: it starts there).
// A peer outside the model has device -1.
type node struct{ dev, port int }

func newState(u *universe, snap *twin.Snapshot, net *fwd.Network) *state {
	st := &state{u: u, net: net, up: u.up(snap), devs: make([]*fwd.Device, len(u.devs)),
		ports: make([][]port, len(u.devs)), index: make([]map[string]int, len(u.devs)), base: make([]int, len(u.devs))}
	names := make([][]string, len(u.devs))
	for name, d := range net.Devices {
		i, ok := u.devIdx[name]
		if !ok {
			continue
		}
		st.devs[i] = d
		for p := range d.Ports {
			names[i] = append(names[i], p)
		}
	}
	for _, l := range net.Links {
		for _, r := range []fwd.PortRef{l.From, l.To} {
			if i, ok := u.devIdx[r.Device]; ok && st.devs[i] != nil {
				names[i] = append(names[i], r.Port)
			}
		}
	}
	for i, d := range st.devs {
		st.base[i] = st.nodes
		if d == nil {
			continue
		}
		slices.Sort(names[i])
		names[i] = slices.Compact(names[i])
		st.index[i] = make(map[string]int, len(names[i]))
		st.ports[i] = make([]port, len(names[i]))
		for j, p := range names[i] {
			st.index[i][p] = j
			acls := d.Ports[p]
			st.ports[i][j] = port{name: p, in: acls.In, out: acls.Out, link: u.portLink(i, p)}
		}
		st.nodes += 1 + len(names[i])
	}
	for _, l := range net.Links {
		a, okA := u.devIdx[l.From.Device]
		if !okA || st.devs[a] == nil {
			continue
		}
		to := node{-1, -1}
		if b, ok := u.devIdx[l.To.Device]; ok && st.devs[b] != nil {
			to = node{b, st.index[b][l.To.Port]}
		}
		p := &st.ports[a][st.index[a][l.From.Port]]
		p.peers = append(p.peers, to)
	}
	return st
}

// id returns a node's id.
func (st *state) id(n node) int { return st.base[n.dev] + 1 + n.port }

// hostTables fills, for every up device, the rule it applies to each host
// destination (nil: no route), with tracer.Lookup's choice: the highest
// priority, then the highest Seq, then the first listed.
func (st *state) hostTables(hosts []dest) {
	st.table = make([][]*fwd.Rule, len(st.devs))
	for i, d := range st.devs {
		if d == nil {
			continue
		}
		t := make([]*fwd.Rule, len(hosts))
		for k := range d.Rules {
			r := &d.Rules[k]
			lo := r.Prefix.Masked().Addr()
			j := sort.Search(len(hosts), func(j int) bool { return !hosts[j].addr.Less(lo) })
			for ; j < len(hosts) && r.Prefix.Contains(hosts[j].addr); j++ {
				if b := t[j]; b == nil || r.Priority > b.Priority || r.Priority == b.Priority && r.Seq > b.Seq {
					t[j] = r
				}
			}
		}
		st.table[i] = t
	}
}

// Node colours of the walker.
const (
	white uint8 = iota
	grey        // being computed: reaching it again is a cycle
	good        // every branch from it ends accepted
	bad
)

// walker decides, for one destination, whether every branch from a node
// ends accepted, and which links and devices the branches use.
type walker struct {
	st     *state
	rule   func(dev int) *fwd.Rule
	permit func(dev int, acl string) bool // every packet of the destination is permitted
	accept func(f tracer.Fate, dev int) bool
	track  bool
	colour []uint8
	used   bitset // u.words per node, when tracking
}

func newWalker(st *state, track bool) *walker {
	w := &walker{st: st, track: track, colour: make([]uint8, st.nodes)}
	if track {
		w.used = make(bitset, st.nodes*st.u.words)
	}
	return w
}

// reset forgets the results of the previous destination.
func (w *walker) reset() { clear(w.colour) }

// usedBy returns the links and devices used by the branches from a node
// whose result is good.
func (w *walker) usedBy(id int) bitset {
	k := w.st.u.words
	return w.used[id*k : (id+1)*k]
}

func (w *walker) visit(n node) bool {
	id := w.st.id(n)
	switch w.colour[id] {
	case grey, bad:
		return false
	case good:
		return true
	}
	w.colour[id] = grey
	ok := w.step(n, id)
	w.colour[id] = bad
	if ok {
		w.colour[id] = good
	}
	return ok
}

func (w *walker) step(n node, id int) bool {
	st := w.st
	d := st.devs[n.dev]
	var used bitset
	if w.track {
		used = w.usedBy(id)
		clear(used)
		used.set(st.u.devBit(n.dev))
	}
	in := ""
	if n.port >= 0 {
		p := &st.ports[n.dev][n.port]
		in = p.name
		for _, a := range p.in {
			if !w.permit(n.dev, a) {
				return false
			}
		}
	}
	r := w.rule(n.dev)
	switch {
	case r == nil || r.Action == fwd.Drop:
		return false
	case r.Action == fwd.Deliver:
		return w.accept(tracer.Delivered, n.dev)
	}
	for _, name := range r.Ports {
		for _, out := range tracer.Expand(d, name, in) {
			if out == in {
				return false
			}
			j, known := st.index[n.dev][out]
			if !known { // a port without ACLs or links: the packet leaves
				if !w.accept(tracer.Exited, n.dev) {
					return false
				}
				continue
			}
			p := &st.ports[n.dev][j]
			for _, a := range p.out {
				if !w.permit(n.dev, a) {
					return false
				}
			}
			if len(p.peers) == 0 {
				if !w.accept(tracer.Exited, n.dev) {
					return false
				}
				continue
			}
			if w.track && p.link >= 0 {
				used.set(p.link)
			}
			for _, q := range p.peers {
				if q.dev < 0 {
					if !w.accept(tracer.Exited, -1) {
						return false
					}
					continue
				}
				if !w.visit(q) {
					return false
				}
				if w.track {
					used.or(w.usedBy(st.id(q)))
				}
			}
		}
	}
	return true
}

// class is a set of destination addresses that every device forwards
// alike: a prefix without its more specific prefixes that some rule uses.
type class struct {
	prefix netip.Prefix
	excl   []netip.Prefix
	rep    netip.Addr // its lowest address
}

// key identifies a class for caches.
func (c class) key() string {
	s := c.prefix.String()
	for _, e := range c.excl {
		s += " -" + e.String()
	}
	return s
}

// classes splits q into the classes of a network: the rule prefixes
// inside q refine it, and every address of a class matches the same
// rules on every device (the rules containing q, those of the class's
// prefix and those of the prefixes containing it inside q), so one
// address decides forwarding for all of it.
func classes(net *fwd.Network, q netip.Prefix) []class {
	set := map[netip.Prefix]bool{q: true}
	for _, d := range net.Devices {
		for _, r := range d.Rules {
			if r.Prefix.Bits() > q.Bits() && q.Contains(r.Prefix.Addr()) {
				set[r.Prefix.Masked()] = true
			}
		}
	}
	ps := make([]netip.Prefix, 0, len(set))
	for p := range set {
		ps = append(ps, p)
	}
	// Sorted by address, then length: a prefix comes after every prefix
	// containing it, and before the prefixes after it that do not overlap.
	slices.SortFunc(ps, netip.Prefix.Compare)
	children := make([][]netip.Prefix, len(ps))
	var stack []int
	for i, p := range ps {
		for len(stack) > 0 && !ps[stack[len(stack)-1]].Overlaps(p) {
			stack = stack[:len(stack)-1]
		}
		if len(stack) > 0 {
			top := stack[len(stack)-1]
			children[top] = append(children[top], p)
		}
		stack = append(stack, i)
	}
	var out []class
	for i, p := range ps {
		if rep, ok := firstOutside(p, children[i]); ok {
			out = append(out, class{prefix: p, excl: children[i], rep: rep})
		}
	}
	return out
}

// firstOutside returns the lowest address of p in none of its children
// (disjoint prefixes inside p, sorted).
func firstOutside(p netip.Prefix, children []netip.Prefix) (netip.Addr, bool) {
	a := p.Masked().Addr()
	for _, c := range children {
		if !c.Contains(a) {
			break // children are sorted and disjoint: a is in none
		}
		last := lastAddr(c)
		a = last.Next()
		if !a.IsValid() || !p.Contains(a) {
			return netip.Addr{}, false
		}
	}
	return a, true
}
