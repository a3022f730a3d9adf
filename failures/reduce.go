package failures

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/preflight-sh/preflight/twin"
)

// The equivalence reduction.
//
// A demand is a source device and a host destination address d (of an
// interface of its owner, subnet p_d). In a state where the demand is
// delivered, its traffic uses a set U of devices and links: every branch
// of its trace. The reduction rests on one lemma.
//
// Lemma. Suppose (1) no static route, BGP-originated prefix or anycast
// prefix contains d and is at least as long as p_d, (2) no interface
// holds an address of p_d but d's own and, if it has a link, the link's
// other end, and (3) every link joins devices that form an IGP adjacency
// (no AS border). If a demand is delivered in state F using U, and
// failing element e in addition takes down no device or link of U, then
// in F ∪ {e} the demand is delivered along the same branches, using U.
//
// Proof. Routes to d come from connected subnets, the IGP, static routes
// and BGP; by (1) and (2) the only rules whose prefix contains d and is
// at least as long as p_d are the owner's delivery of d, the connected
// route of the link's other end (out of the link, to the owner) and IGP
// routes to p_d elsewhere.
// Each device w on a branch forwards d by its p_d rule: the packet goes
// from w to the owner over links, all IGP adjacencies by (3), so w reaches
// an origin of p_d in the IGP and holds the p_d route, which is the
// longest match (nothing longer contains d, nothing as long competes).
// An IGP route's next hops are the first hops of all shortest paths to the
// nearest origins, and the trace takes every one, so U contains every
// shortest path from every w on it. Removing links or devices outside U
// changes no such distance, adds no shortest path and removes none: every
// w keeps the same next hops. Connected routes and ACLs on U are
// untouched, so every branch is the same. ∎
//
// Consequences, for a demand δ that exists in both states (e takes down
// neither its source, its owner nor the interface of d; otherwise δ is
// gone, which breaks nothing):
//
//   - single failures: if the invariant holds with nothing failed and e
//     touches no demand's U, e alone breaks nothing, and need not be
//     checked;
//   - pairs: if a and b each hold alone and {a, b} breaks δ, then b
//     touches U_a(δ) (the paths of δ once a failed), else by the lemma
//     from state {a} δ would still be delivered; likewise a touches U_b(δ).
//     And if a does not touch U_0(δ), U_a(δ) = U_0(δ) by the lemma from
//     the state with nothing failed. So only pairs with such a demand are
//     checked, found by following, for every a, the demands a touches with
//     nothing failed (the others keep U_0).
//
// Device and site failures take down the device(s) and every link on
// them, so "touches" means taking down a device or link of U. The
// conditions are checked on the twin's configuration, which failures do
// not change; when one fails, the reduction is off and every set is
// checked. The sweep applies this reduction to the demands of destinations
// that some ACL restricts; the others are decided by connectivity.

// reducibility reports whether the equivalence reduction applies, and
// why not.
func (sw *sweeper) reducibility() (bool, string) {
	sp := sw.sp
	if sp.hosts == nil {
		return false, "it applies to reachability of host addresses only"
	}
	u := sw.u
	for k, e := range u.ends {
		a, b := u.devs[e[0].dev].BGP, u.devs[e[1].dev].BGP
		if a != nil && b != nil && a.ASN != b.ASN {
			return false, fmt.Sprintf("link %s joins AS %d and AS %d, so forwarding across it follows BGP", u.links[k].Name, a.ASN, b.ASN)
		}
	}
	type routed struct {
		prefix netip.Prefix
		what   string
	}
	var list []routed
	for _, d := range u.devs {
		for _, r := range d.StaticRoutes {
			list = append(list, routed{r.Prefix, "static route " + r.Prefix.String() + " on " + d.Name})
		}
		if d.BGP != nil {
			for _, p := range d.BGP.Originate {
				list = append(list, routed{p, "BGP prefix " + p.String() + " of " + d.Name})
			}
		}
	}
	for _, a := range twin.Typed[twin.AnycastPrefix](u.snap) {
		list = append(list, routed{a.Prefix, "anycast prefix " + a.Prefix.String()})
	}
	for _, d := range sp.hosts {
		// Only d's interface and its link's other end may hold d's
		// subnet: another holder would send packets for d out of a port
		// that does not lead to the owner.
		peer := end{-1, -1}
		if l := u.ifLink[d.owner][d.iface]; l >= 0 {
			peer = u.ends[l][0]
			if peer == (end{d.owner, d.iface}) {
				peer = u.ends[l][1]
			}
		}
		for i, dev := range u.devs {
			for j, f := range dev.Interfaces {
				if e := (end{i, j}); e == (end{d.owner, d.iface}) || e == peer {
					continue
				}
				for _, a := range f.Addresses {
					if a.Masked().Contains(d.addr) {
						return false, fmt.Sprintf("%s:%s shares the subnet %s of %s", dev.Name, f.Name, a.Masked(), d.addr)
					}
				}
			}
		}
		for _, r := range list {
			if r.prefix.IsValid() && r.prefix.Contains(d.addr) && r.prefix.Bits() >= d.subnet.Bits() {
				return false, fmt.Sprintf("%s routes %s, which is also connected as %s", r.what, d.addr, d.subnet)
			}
		}
	}
	return true, ""
}

// The connectivity reduction.
//
// Under the same three conditions, take a destination d that no ACL on a
// link restricts (every ACL bound to either end of every link permits
// every packet to d; ACLs on ports without links are never entered, and
// packets leaving through them are lost anyway). Then in any state, a
// demand to d is delivered exactly when its source and d's owner are
// connected in the IGP graph of the up devices and links:
//
//   - connected: the source holds the p_d route, the longest match; each
//     next hop is one step along a shortest path to the nearest origin of
//     p_d, whose distance it lowers, so every branch reaches an origin: the
//     owner, which delivers d, or a device sharing p_d's subnet with it,
//     whose connected route sends the packet over their link to the owner;
//     no ACL on the way drops any of it.
//   - not connected: every link is an IGP adjacency, so no path of links
//     leads from the source to the owner, whatever rule the packets take.
//
// So for clean destinations a failure set breaks the invariant exactly
// when it cuts some demand's source from its owner, which a union-find
// over the graph without the set decides in microseconds; only such sets
// are checked, to confirm the failure on the data plane and trace an
// example. Destinations an ACL restricts fall back to the equivalence
// reduction. A set the graph says fails and the data plane says holds
// would show the model wrong; the sweep reports it in Result.Notes.

// cleanDests reports, for every host destination, whether no ACL on a
// link restricts packets to it.
func (sw *sweeper) cleanDests(st *state) []bool {
	clean := make([]bool, len(sw.sp.hosts))
	for i, d := range sw.sp.hosts {
		c := hostClass(d.addr)
		clean[i] = true
		for dev, ports := range st.ports {
			for _, p := range ports {
				if p.link < 0 {
					continue
				}
				for _, name := range slices.Concat(p.in, p.out) {
					acl := st.devs[dev].ACLs[name]
					if acl == nil || !sw.acls.permitsAll(c, acl) {
						clean[i] = false
					}
				}
			}
		}
	}
	return clean
}

// cuts reports whether failing the elements of set cuts some demand to a
// clean destination off from its source in the IGP graph (see above).
func (sw *sweeper) cuts(set []int) bool {
	u, up := sw.u, sw.base.up
	down := newBitset(u.words)
	for _, e := range set {
		down.or(sw.elems[e].down)
	}
	devUp := func(i int) bool { return up.dev[i] && !down.has(u.devBit(i)) }
	parent := make([]int, len(u.devs))
	for i := range parent {
		parent[i] = i
	}
	find := func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	for k, e := range u.ends {
		if up.link[k] && !down.has(k) && devUp(e[0].dev) && devUp(e[1].dev) {
			parent[find(e[0].dev)] = find(e[1].dev)
		}
	}
	sources := make([]int, len(u.devs)) // up sources by component root
	total := 0
	for _, s := range sw.sp.sources {
		if devUp(s) {
			sources[find(s)]++
			total++
		}
	}
	for i, d := range sw.sp.hosts {
		if !sw.clean[i] || !devUp(d.owner) || !up.ifaceUp(u, d.owner, d.iface) {
			continue
		}
		if l := u.ifLink[d.owner][d.iface]; l >= 0 && down.has(l) {
			continue
		}
		if sources[find(d.owner)] < total {
			return true
		}
	}
	return false
}

// kills reports whether element e takes down a demand's source, its
// destination's owner or the destination's interface, so that the demand
// does not exist once e failed.
func (sw *sweeper) kills(e, demand int) bool {
	nd := len(sw.sp.hosts)
	d := sw.sp.hosts[demand%nd]
	down := sw.elems[e].down
	if down.has(sw.u.devBit(sw.sp.sources[demand/nd])) || down.has(sw.u.devBit(d.owner)) {
		return true
	}
	l := sw.u.ifLink[d.owner][d.iface]
	return l >= 0 && down.has(l)
}

// touches reports whether element e changes the paths U of a demand.
func (sw *sweeper) touches(e, demand int, used bitset) bool {
	return sw.elems[e].down.intersects(used) && !sw.kills(e, demand)
}

// touchSets records, for every element, the demands it touches with
// nothing failed.
func (sw *sweeper) touchSets(used map[int]bitset) {
	sw.touched = make([][]int, len(sw.elems))
	mark := make([]int, len(sw.elems))
	for i := range mark {
		mark[i] = -1
	}
	for _, k := range sortedKeys(used) {
		u := used[k]
		u.each(func(b int) {
			for _, e := range sw.byBit[b] {
				if mark[e] != k {
					mark[e] = k
					if !sw.kills(e, k) {
						sw.touched[e] = append(sw.touched[e], k)
					}
				}
			}
		})
	}
}

// pairCandidates returns the canonical pairs of elements of different
// classes that may break a demand although both hold alone (see the
// lemma above). A pair that stands for a non-representative element is
// kept without the second test, whose data exists for representatives
// only.
func (sw *sweeper) pairCandidates() map[[2]int]bool {
	cand := map[[2]int]bool{}
	mark := make([]int, len(sw.elems))
	stamp := 0
	for a := range sw.elems {
		if sw.elems[a].rep != a || sw.failed[a] || sw.vacuous(a) {
			continue
		}
		for _, k := range sw.touched[a] {
			ua, ok := sw.usedAfter[a][k]
			if !ok { // cannot happen: a touched demand exists once a failed
				panic(fmt.Sprintf("failures: no paths recorded for demand %d after %s failed", k, sw.elems[a].Element))
			}
			stamp++
			ua.each(func(b int) {
				for _, x := range sw.byBit[b] {
					if x == a || mark[x] == stamp {
						continue
					}
					mark[x] = stamp
					if sw.failed[x] || sw.vacuous(x) || sw.kills(x, k) {
						continue
					}
					if rx := sw.elems[x].rep; rx == x {
						// a must touch U_x(k); U_x(k) = U_0(k), which a
						// touches, unless x touched k.
						if ux, ok := sw.usedAfter[x][k]; ok && !sw.touches(a, k, ux) {
							continue
						}
					}
					cand[sw.canonical(a, x)] = true
				}
			})
		}
	}
	return cand
}

func sortedKeys[V any](m map[int]V) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// The symmetry reduction.
//
// Two up links between the same two devices are interchangeable when they
// have the same IGP cost and capacity, and their interfaces at each
// device have the same state, ACLs and address layout (families and
// prefix lengths), and nothing else names them: no static route has a
// next hop in their subnets or leaves through them, no BGP neighbor is
// addressed in their subnets, the invariant's prefix does not overlap
// them, and (for all-pairs) no loopback is on them. Renaming one link's
// interfaces and addresses as the other's then maps the twin with one
// failed onto the twin with the other failed, and the invariant onto
// itself; routing depends on names only to order its output. So a failure
// set and its image under such swaps break the invariant alike: one
// representative per class is failed alone, and pairs are checked once
// per pair of classes (and once within a class).

// symmetry groups interchangeable parallel links, and returns the number
// of classes of more than one link and the links in them.
func (sw *sweeper) symmetry() (classes, links int) {
	u := sw.u
	named := sw.namedLinks()
	groups := map[string][]int{}
	var keys []string
	for i, e := range sw.elems {
		if e.Kind != "Link" {
			continue
		}
		k := u.linkIdx[e.Name]
		if named[k] {
			continue
		}
		key := sw.linkKey(k)
		if groups[key] == nil {
			keys = append(keys, key)
		}
		groups[key] = append(groups[key], i)
	}
	sw.members = map[int][]int{}
	for _, key := range keys {
		m := groups[key]
		if len(m) < 2 {
			continue
		}
		for _, i := range m {
			sw.elems[i].rep = m[0]
		}
		sw.members[m[0]] = m
		classes++
		links += len(m)
	}
	return classes, links
}

// linkKey describes what makes a link interchangeable with another.
func (sw *sweeper) linkKey(k int) string {
	u := sw.u
	l := u.links[k]
	ends := u.ends[k]
	if ends[0].dev > ends[1].dev {
		ends[0], ends[1] = ends[1], ends[0]
	}
	cost := l.Cost
	if cost == 0 {
		cost = 10 // routing's default
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d %d %d %g", ends[0].dev, ends[1].dev, cost, float64(l.Capacity))
	for _, e := range ends {
		f := u.devs[e.dev].Interfaces[e.iface]
		fmt.Fprintf(&b, " [%q %q %q", f.State, f.ACLIn, f.ACLOut)
		for _, a := range f.Addresses {
			fmt.Fprintf(&b, " %d/%d", a.Addr().BitLen(), a.Bits())
		}
		b.WriteString("]")
	}
	return b.String()
}

// namedLinks returns the links that something names by interface or
// address, which makes them unlike their parallel links.
func (sw *sweeper) namedLinks() map[int]bool {
	u := sw.u
	named := map[int]bool{}
	inLink := func(a netip.Addr) {
		for k, ends := range u.ends {
			for _, e := range ends {
				for _, p := range u.devs[e.dev].Interfaces[e.iface].Addresses {
					if p.Masked().Contains(a) {
						named[k] = true
					}
				}
			}
		}
	}
	for i, d := range u.devs {
		for _, r := range d.StaticRoutes {
			if r.NextHop.IsValid() {
				inLink(r.NextHop)
			}
			if l := u.portLink(i, r.Interface); r.Interface != "" && l >= 0 {
				named[l] = true
			}
		}
		if d.BGP != nil {
			for _, n := range d.BGP.Neighbors {
				if n.Address.IsValid() {
					inLink(n.Address)
				}
			}
		}
	}
	for k, ends := range u.ends {
		for _, e := range ends {
			for _, p := range u.devs[e.dev].Interfaces[e.iface].Addresses {
				if sw.sp.prefix.IsValid() && sw.sp.prefix.Overlaps(p.Masked()) {
					named[k] = true
				}
			}
		}
	}
	if sw.sp.pairwise {
		for _, d := range sw.sp.hosts {
			if l := u.ifLink[d.owner][d.iface]; l >= 0 {
				named[l] = true
			}
		}
	}
	return named
}
