package sitepaths

import (
	"net/netip"
	"slices"
	"sort"

	"github.com/preflight-sh/preflight/fwd"
	"github.com/preflight-sh/preflight/tracer"
)

// table finds the rule a device applies to a destination, as
// tracer.Lookup does, without scanning every rule: routing emits a
// device's rules sorted by prefix, so the rules of one family and prefix
// length form a run sorted by address, searched by bisection.
type table struct {
	dev  *fwd.Device
	runs []run // nil when the rules are not sorted: lookups scan them
}

// run is the rules dev.Rules[lo:hi], all of one family and prefix length.
type run struct {
	is4    bool
	bits   int
	lo, hi int
}

func newTable(d *fwd.Device) *table {
	t := &table{dev: d}
	for i := range d.Rules {
		p := d.Rules[i].Prefix
		if !p.IsValid() || p != p.Masked() || i > 0 && d.Rules[i-1].Prefix.Compare(p) > 0 {
			t.runs = nil
			return t
		}
		if n := len(t.runs); n > 0 && t.runs[n-1].is4 == p.Addr().Is4() && t.runs[n-1].bits == p.Bits() {
			t.runs[n-1].hi = i + 1
			continue
		}
		t.runs = append(t.runs, run{is4: p.Addr().Is4(), bits: p.Bits(), lo: i, hi: i + 1})
	}
	return t
}

// lookup returns the matching rule with the highest priority, then the
// highest Seq (the first such rule at equal Seq); nil if none matches.
func (t *table) lookup(dst netip.Addr) *fwd.Rule {
	if t.runs == nil {
		return tracer.Lookup(t.dev, dst)
	}
	var best *fwd.Rule
	for _, r := range t.runs {
		if r.is4 != dst.Is4() {
			continue
		}
		key := netip.PrefixFrom(dst, r.bits).Masked().Addr()
		rules := t.dev.Rules[r.lo:r.hi]
		for i := sort.Search(len(rules), func(i int) bool { return rules[i].Prefix.Addr().Compare(key) >= 0 }); i < len(rules) && rules[i].Prefix.Addr() == key; i++ {
			c := &rules[i]
			if best == nil || c.Priority > best.Priority || c.Priority == best.Priority && c.Seq > best.Seq {
				best = c
			}
		}
	}
	return best
}

// permit applies a port's ACLs in order, as the tracer does: all must
// permit, and an ACL that is not defined denies.
func (p *Paths) permit(dev *fwd.Device, names []string, pkt fwd.Packet) bool {
	for _, name := range names {
		acl := dev.ACLs[name]
		if acl == nil || !p.decide(acl, pkt) {
			return false
		}
	}
	return true
}

// decide reports whether an ACL permits a packet: the first matching rule
// decides, and no match denies.
func (p *Paths) decide(acl *fwd.ACL, pkt fwd.Packet) bool {
	for i, rules := 0, p.acls[acl]; i < len(rules); i++ {
		if rules[i].Matches(pkt) {
			return rules[i].Permit
		}
	}
	return false
}

// state is the traffic arriving at a device on a port ("" where it
// starts): what the device does with it depends on nothing else.
type state struct{ dev, in string }

// node is a state reached by a pair's traffic and the branches it splits
// into.
type node struct {
	state
	branches []branch
	open     bool // being explored: reaching it again closes a cycle
}

// branch is one way out of a state: across a link to the next state, or
// an end.
type branch struct {
	link    string // the twin link crossed; "" when the branch ends
	next    int    // the next node, or -1 when the branch ends here
	reached bool   // the branch ends in the destination site
}

// walk explores the states the traffic of one pair reaches.
type walk struct {
	p      *Paths
	pkt    fwd.Packet
	dst    string // the destination site
	index  map[state]int
	nodes  []node
	order  []int // nodes in post-order
	cyclic bool  // some state leads back to itself
}

func (p *Paths) newWalk(pkt fwd.Packet, dst string) *walk {
	return &walk{p: p, pkt: pkt, dst: dst, index: map[state]int{}}
}

// visit explores a state and everything it leads to, and returns its node.
func (w *walk) visit(s state) int {
	if i, ok := w.index[s]; ok {
		w.cyclic = w.cyclic || w.nodes[i].open
		return i
	}
	i := len(w.nodes)
	w.index[s] = i
	w.nodes = append(w.nodes, node{state: s, open: true})
	bs := w.branches(s)
	w.nodes[i].branches, w.nodes[i].open = bs, false
	w.order = append(w.order, i)
	return i
}

// branches follows tracer.Walk for one hop: the device's ACLs and rule,
// then every port of the rule, every member of a VLAN port and every peer
// of a port.
func (w *walk) branches(s state) []branch {
	p := w.p
	dev := p.net.Devices[s.dev]
	end := []branch{{next: -1}}
	if s.in != "" && !p.permit(dev, dev.Ports[s.in].In, w.pkt) {
		return end
	}
	r := p.tables[s.dev].lookup(w.pkt.Dst)
	switch {
	case r == nil || r.Action == fwd.Drop:
		return end
	case r.Action == fwd.Deliver:
		return []branch{{next: -1, reached: p.siteOf[s.dev] == w.dst}}
	}
	ports := r.Ports
	if !slices.IsSorted(ports) {
		ports = slices.Sorted(slices.Values(ports))
	}
	var out []branch
	for _, port := range ports {
		for _, o := range tracer.Expand(dev, port, s.in) {
			ref := fwd.PortRef{Device: s.dev, Port: o}
			if o == s.in || !p.permit(dev, dev.Ports[o].Out, w.pkt) {
				out = append(out, branch{next: -1})
				continue
			}
			peers := p.peers[ref]
			if len(peers) == 0 {
				out = append(out, branch{next: -1, reached: p.siteOf[s.dev] == w.dst})
				continue
			}
			for _, peer := range peers {
				out = append(out, branch{link: p.links[ref], next: w.visit(state{peer.Device, peer.Port})})
			}
		}
	}
	if len(out) == 0 { // a rule forwarding nowhere: the tracer follows no branch
		return end
	}
	return out
}

// propagate sums the shares of an acyclic walk: each start gets share,
// and each node passes what reaches it to its branches in equal parts, in
// topological order. In a model without VLANs (routing builds none), a
// path that comes back to a device either ends there or closes a cycle of
// states, so without cycles this is what following every path of the
// tracer gives, without enumerating them.
func (w *walk) propagate(starts []int, share float64) *tally {
	t := newTally()
	mass := make([]float64, len(w.nodes))
	for _, s := range starts {
		mass[s] += share
	}
	for k := len(w.order) - 1; k >= 0; k-- {
		i := w.order[k]
		m, n := mass[i], &w.nodes[i]
		if m == 0 {
			continue
		}
		t.devices[n.dev] += m
		part := m / float64(len(n.branches))
		for _, b := range n.branches {
			if b.link != "" {
				t.links[b.link] += part
			}
			switch {
			case b.next >= 0:
				mass[b.next] += part
			case b.reached:
				t.delivered += part
			}
		}
	}
	dead := make([]bool, len(w.nodes))
	for _, s := range starts {
		if path := w.reaching(s, dead, nil); path != nil {
			t.example = path
			break
		}
	}
	if t.example == nil && len(starts) > 0 {
		for i := starts[0]; ; {
			t.example = append(t.example, w.nodes[i].dev)
			if i = w.nodes[i].branches[0].next; i < 0 {
				break
			}
		}
	}
	return t
}

// reaching returns the first path (in branch order) from node i that
// reaches the destination, as device names after path; nil if there is
// none. dead marks the nodes known to have none.
func (w *walk) reaching(i int, dead []bool, path []string) []string {
	if dead[i] {
		return nil
	}
	path = append(path, w.nodes[i].dev)
	for _, b := range w.nodes[i].branches {
		if b.next < 0 && b.reached {
			return path
		}
		if b.next >= 0 {
			if found := w.reaching(b.next, dead, path); found != nil {
				return found
			}
		}
	}
	dead[i] = true
	return nil
}

// traced sums the shares of a walk with cycles from the tracer's paths,
// which end where they would leave a device through a port they already
// used. A path's share is its start's share divided, at every hop, by the
// number of branches of the hop's state (the tracer's branches there, as a
// twin's ports have one peer each). Paths beyond tracer.MaxPaths are cut,
// and their share is lost.
func (w *walk) traced(starts []string, share float64) *tally {
	t := newTally()
	var first []string
	for _, start := range starts {
		paths, _ := tracer.Walk(w.p.net, w.p.peers, start, "", oracle{w.p, w.pkt})
		for _, path := range paths {
			f := share
			names := make([]string, len(path.Hops))
			for k, h := range path.Hops {
				names[k] = h.Device
				if h.OutPort != "" {
					f /= float64(len(w.nodes[w.index[state{h.Device, h.InPort}]].branches))
				}
			}
			for _, h := range path.Hops[:len(path.Hops)-1] {
				t.links[w.p.links[fwd.PortRef{Device: h.Device, Port: h.OutPort}]] += f
			}
			seen := map[string]bool{}
			for _, name := range names {
				if !seen[name] {
					seen[name] = true
					t.devices[name] += f
				}
			}
			last := path.Hops[len(path.Hops)-1].Device
			if (path.Fate == tracer.Delivered || path.Fate == tracer.Exited) && w.p.siteOf[last] == w.dst {
				t.delivered += f
				if t.example == nil {
					t.example = names
				}
			}
			if first == nil {
				first = names
			}
		}
	}
	if t.example == nil {
		t.example = first
	}
	return t
}

// oracle is tracer.Oracle for one packet, with the walk's lookups.
type oracle struct {
	p   *Paths
	pkt fwd.Packet
}

func (o oracle) Rule(dev *fwd.Device) *fwd.Rule { return o.p.tables[dev.Name].lookup(o.pkt.Dst) }

func (o oracle) Permit(_ *fwd.Device, acl *fwd.ACL) (bool, string) {
	return o.p.decide(acl, o.pkt), ""
}
