package routing

import (
	"fmt"
	"net/netip"
	"sort"

	"github.com/preflight-sh/preflight/finding"
	"github.com/preflight-sh/preflight/fwd"
	"github.com/preflight-sh/preflight/twin"
)

// session is one BGP session while routes are exchanged.
type session struct {
	out Session
	// ends are the peerings of an established session: one per twin
	// device (the second is nil for an external peer).
	ends [2]*peering
	up   bool
	// received and accepted freeze the counts of a torn-down session.
	received, accepted [2]int
}

// peering is a device's end of an established session.
type peering struct {
	sp     *speaker
	idx    int // index of cfg in the device's neighbors
	cfg    *twin.BGPNeighbor
	remote *peering // the other end; nil for an external peer
	sess   *session
	side   int // index of this end in sess.ends
	ebgp   bool
	// in holds the routes received here by prefix, after import policy; a
	// nil route was received and denied.
	in map[int32]*bgpRoute
	// nextHop is the next hop of routes received here, by family: the
	// peer's address.
	nextHop [2]netip.Addr
}

// setupSessions pairs the neighbor entries of every device (up or down)
// into sessions, decides which are established and creates their peerings.
func (b *bgp) setupSessions() {
	paired := map[*twin.BGPNeighbor]bool{}
	for _, d := range b.m.devs {
		if d.cfg.BGP == nil {
			continue
		}
		for i := range d.cfg.BGP.Neighbors {
			if nb := &d.cfg.BGP.Neighbors[i]; !paired[nb] {
				paired[nb] = true
				b.sess = append(b.sess, b.newSession(d, i, paired))
			}
		}
	}
	for _, sp := range b.speakers {
		sort.Slice(sp.peerings, func(i, j int) bool { return sp.peerings[i].idx < sp.peerings[j].idx })
	}
}

// newSession sets up the session of d's neighbor entry i.
func (b *bgp) newSession(d *device, i int, paired map[*twin.BGPNeighbor]bool) *session {
	nb := &d.cfg.BGP.Neighbors[i]
	s := &session{}
	s.out.A = SessionEnd{Device: d.cfg.Name, Neighbor: nb.Name, ASN: d.cfg.BGP.ASN, MaxPrefix: nb.MaxPrefix}
	s.out.B = SessionEnd{Device: nb.Peer, Address: nb.Address, ASN: nb.RemoteASN}
	s.out.EBGP = nb.RemoteASN != d.cfg.BGP.ASN
	var reason string
	misconfigured := false
	switch peer := b.m.byName[nb.Peer]; {
	case nb.Peer == "":
		if reason = b.externalState(d, nb); reason == "" {
			s.ends[0] = b.peering(s, 0, d, i, nil)
		}
	case peer == nil || peer == d || peer.cfg.BGP == nil:
		reason, misconfigured = fmt.Sprintf("peer %s is not a BGP speaker of the twin", nb.Peer), true
	default:
		reason, misconfigured = b.pair(s, d, i, peer, paired)
	}
	s.up = reason == ""
	s.out.State, s.out.Reason = Established, reason
	if !s.up {
		s.out.State = SessionDown
	}
	if misconfigured {
		b.misconfigured(d, i, reason)
	}
	return s
}

// pair completes a session between d's neighbor entry i and the twin
// device peer: it finds peer's entry for d and, if the session is
// established, creates both peerings. It returns why the session is down.
func (b *bgp) pair(s *session, d *device, i int, peer *device, paired map[*twin.BGPNeighbor]bool) (reason string, misconfigured bool) {
	nb := &d.cfg.BGP.Neighbors[i]
	j := reciprocal(peer, d, nb, paired)
	var pnb *twin.BGPNeighbor
	if j >= 0 {
		pnb = &peer.cfg.BGP.Neighbors[j]
		paired[pnb] = true
		s.out.A.Address = pnb.Address
		s.out.B.Neighbor, s.out.B.MaxPrefix = pnb.Name, pnb.MaxPrefix
	}
	s.out.B.ASN = peer.cfg.BGP.ASN
	s.out.EBGP = peer.cfg.BGP.ASN != d.cfg.BGP.ASN
	if reason, misconfigured = pairState(d, nb, peer, pnb, s.out.EBGP); reason == "" {
		s.ends[0] = b.peering(s, 0, d, i, peer)
		s.ends[1] = b.peering(s, 1, peer, j, d)
		s.ends[0].remote, s.ends[1].remote = s.ends[1], s.ends[0]
	}
	return reason, misconfigured
}

// reciprocal returns the index of peer's neighbor entry for d that matches
// nb (not yet paired, preferring the same address family), or -1.
func reciprocal(peer, d *device, nb *twin.BGPNeighbor, paired map[*twin.BGPNeighbor]bool) int {
	found := -1
	for j := range peer.cfg.BGP.Neighbors {
		pnb := &peer.cfg.BGP.Neighbors[j]
		if pnb.Peer != d.cfg.Name || paired[pnb] {
			continue
		}
		if pnb.Address.Is4() == nb.Address.Is4() && pnb.Address.IsValid() == nb.Address.IsValid() {
			return j
		}
		if found < 0 {
			found = j
		}
	}
	return found
}

// pairState says why a session between two twin devices is down, or ""
// if it is established; misconfigured reports a configuration error.
func pairState(d *device, nb *twin.BGPNeighbor, peer *device, pnb *twin.BGPNeighbor, ebgp bool) (reason string, misconfigured bool) {
	switch {
	case !d.up:
		return fmt.Sprintf("device %s is down", d.cfg.Name), false
	case !peer.up:
		return fmt.Sprintf("device %s is down", peer.cfg.Name), false
	case pnb == nil:
		return fmt.Sprintf("misconfigured: %s has no neighbor entry for %s; a session needs one on both ends", peer.cfg.Name, d.cfg.Name), true
	}
	ends := [2]struct {
		dev, peer *device
		nb        *twin.BGPNeighbor
	}{{d, peer, nb}, {peer, d, pnb}}
	for _, e := range ends {
		if e.nb.RemoteASN != e.peer.cfg.BGP.ASN {
			return fmt.Sprintf("misconfigured: neighbor %s of %s expects AS %d, but %s is AS %d", e.nb.Name, e.dev.cfg.Name, e.nb.RemoteASN, e.peer.cfg.Name, e.peer.cfg.BGP.ASN), true
		}
		if a := e.nb.Address; a.IsValid() && e.peer.ifaceOf(a) < 0 {
			return fmt.Sprintf("misconfigured: address %s of neighbor %s of %s is not an address of %s", a, e.nb.Name, e.dev.cfg.Name, e.peer.cfg.Name), true
		}
	}
	for _, e := range ends {
		if !e.nb.State.Up() {
			return fmt.Sprintf("neighbor %s of %s is configured down", e.nb.Name, e.dev.cfg.Name), false
		}
		if a := e.nb.Address; a.IsValid() {
			if f := e.peer.ifaces[e.peer.ifaceOf(a)]; !f.up {
				return fmt.Sprintf("address %s of %s is on interface %s, which is down", a, e.peer.cfg.Name, f.cfg.Name), false
			}
		}
	}
	switch {
	case !ebgp && !d.igp.reachable(peer.idx):
		return fmt.Sprintf("no IGP path between %s and %s: iBGP needs one", d.cfg.Name, peer.cfg.Name), false
	case ebgp && !d.linkedTo(peer) && !d.igp.reachable(peer.idx):
		return fmt.Sprintf("%s and %s share no up link and have no IGP path", d.cfg.Name, peer.cfg.Name), false
	}
	return "", false
}

// externalState says why a session with a peer outside the twin is down,
// or "" if it is established (the peer's address is routed).
func (b *bgp) externalState(d *device, nb *twin.BGPNeighbor) string {
	switch {
	case !d.up:
		return fmt.Sprintf("device %s is down", d.cfg.Name)
	case !nb.State.Up():
		return fmt.Sprintf("neighbor %s of %s is configured down", nb.Name, d.cfg.Name)
	}
	if res := d.ul.resolve(nb.Address, 0); !res.ok || res.action != fwd.Forward {
		return fmt.Sprintf("%s has no connected, static or IGP route to %s", d.cfg.Name, nb.Address)
	}
	return ""
}

// peering creates d's end of an established session with its neighbor
// entry i; peer is the device at the other end (nil if external).
func (b *bgp) peering(s *session, side int, d *device, i int, peer *device) *peering {
	nb := &d.cfg.BGP.Neighbors[i]
	pe := &peering{sp: d.sp, idx: i, cfg: nb, sess: s, side: side, ebgp: s.out.EBGP, in: map[int32]*bgpRoute{}}
	if peer != nil {
		pe.nextHop = peerAddrs(peer, nb.Address)
	}
	d.sp.peerings = append(d.sp.peerings, pe)
	return pe
}

// peerAddrs returns the addresses a device is reached at over a session,
// by family: the configured address, else an address of the family on the
// same interface, on the router ID's interface, on a loopback (an interface
// with no link) or on any up interface.
func peerAddrs(d *device, configured netip.Addr) [2]netip.Addr {
	var order []int
	if i := d.ifaceOf(configured); configured.IsValid() && i >= 0 {
		order = append(order, i)
	}
	if i := d.ifaceOf(d.cfg.RouterID); d.cfg.RouterID.IsValid() && i >= 0 {
		order = append(order, i)
	}
	for i, f := range d.ifaces {
		if f.link == nil {
			order = append(order, i)
		}
	}
	for i := range d.ifaces {
		order = append(order, i)
	}
	var out [2]netip.Addr
	for f := range out {
		for _, i := range order {
			if a := addrOf(d.ifaces[i].cfg, f == 1); d.ifaces[i].up && a.IsValid() {
				out[f] = a
				break
			}
		}
	}
	if configured.IsValid() {
		out[family(configured.Is6())] = configured
	}
	return out
}

// misconfigured reports a session a configuration error keeps down.
func (b *bgp) misconfigured(d *device, i int, reason string) {
	nb := d.cfg.BGP.Neighbors[i]
	b.m.findings = append(b.m.findings, finding.Finding{
		ID:       fmt.Sprintf("routing.session-misconfigured/%s/%s", d.cfg.Name, nb.Name),
		Category: "routing.session-misconfigured",
		Severity: finding.Warning,
		Message:  fmt.Sprintf("BGP session of %s with neighbor %s cannot come up: it is misconfigured", d.cfg.Name, nb.Name),
		Objects:  []finding.Object{finding.ObjectOf(d.cfg, fmt.Sprintf("bgp.neighbors[%d]", i))},
		Evidence: finding.Evidence{Lines: []string{reason}},
	})
}

// sessions returns the sessions with their prefix counts, sorted by A end.
func (b *bgp) sessions() []Session {
	out := make([]Session, len(b.sess))
	for i, s := range b.sess {
		o := s.out
		ends := [2]*SessionEnd{&o.A, &o.B}
		switch {
		case s.out.State == TornDownMaxPrefix:
			for k := range ends {
				ends[k].Received, ends[k].Accepted = s.received[k], s.accepted[k]
			}
		case s.up && s.ends[1] == nil:
			o.B.Received = b.sentTo(s.ends[0])
			fallthrough
		case s.up:
			for k, pe := range s.ends {
				if pe != nil {
					ends[k].Received, ends[k].Accepted = counts(pe.in)
				}
			}
		}
		out[i] = o
	}
	return out
}

// counts returns how many routes a peering received and accepted.
func counts(in map[int32]*bgpRoute) (received, accepted int) {
	for _, r := range in {
		if r != nil {
			accepted++
		}
	}
	return len(in), accepted
}

// sentTo counts the prefixes a device sends an external peer: its best
// routes that its export rules and policies let through.
func (b *bgp) sentTo(pe *peering) int {
	n := 0
	for pid, r := range pe.sp.best {
		if b.export(pe, pid, r) != nil {
			n++
		}
	}
	return n
}
