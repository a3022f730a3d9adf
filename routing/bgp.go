package routing

// BGP routes, as modelled (sessions: session.go; best path: decide.go):
//   - Origination: bgp.originate prefixes, unconditionally, and anycast
//     announcements of the device (or, for an announcement naming no
//     device, of every BGP speaker at its site) that are configured up and,
//     when withdrawUnless lists sites, reach an up device at one of them in
//     the IGP. An originated route delivers to the device (admin distance
//     200, so any connected, static or IGP route for the prefix wins).
//   - Export: the route policies in order (policy.go); never back to the
//     neighbor the route came from; to an external peer only prefixes of its
//     address's family (a session between twin devices carries both, with
//     a next hop of each family); iBGP-learned routes go to iBGP peers
//     only by route reflection (from a client to every iBGP peer, from a
//     non-client to clients only), which keeps the next hop, appends the
//     reflector to the cluster list and keeps the originator. Otherwise
//     the next hop becomes the sender's address as the receiver's neighbor
//     entry gives it (of the prefix's family). eBGP exports reset MED to 0
//     before the policy and prepend the sender's AS after it; local
//     preference is not sent over eBGP (the receiver sets 100).
//   - Import: routes whose AS path holds the receiver's AS (eBGP), or whose
//     originator or cluster list holds the receiver (iBGP), are dropped and
//     not counted; then the import policies. A route received over eBGP
//     gets the receiver as originator.

import (
	"encoding/binary"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"github.com/preflight-sh/preflight/finding"
	"github.com/preflight-sh/preflight/fwd"
	"github.com/preflight-sh/preflight/twin"
)

// bgp is the BGP state of every up speaker while routes are exchanged.
type bgp struct {
	m        *model
	pol      *policies
	speakers []*speaker // by device name
	prefixes []netip.Prefix
	pids     map[netip.Prefix]int32
	sess     []*session
	// hash combines every best route and every teardown, to detect a state
	// that repeats.
	hash   uint64
	rounds int
}

type speaker struct {
	dev      *device
	asn      uint32
	peerings []*peering // by neighbor entry
	local    map[int32]*bgpRoute
	best     map[int32]*bgpRoute
	dirty    map[int32]bool // prefixes to decide again
	scratch  []cand
}

// bgpRoute is a BGP route as a device holds it. Routes are not changed once
// stored: exports and imports work on copies.
type bgpRoute struct {
	localPref   int
	asPath      []uint32
	med         int
	communities []string   // sorted
	from        *peering   // nil: originated here
	nextHop     netip.Addr // invalid for a route originated here
	originator  *device
	clusters    []*device
}

// defaultLocalPref is the local preference of a route nothing sets it on.
const defaultLocalPref = 100

func newBGP(m *model) *bgp {
	b := &bgp{m: m, pol: newPolicies(m), pids: map[netip.Prefix]int32{}}
	for _, d := range m.devs {
		if d.up && d.cfg.BGP != nil {
			d.sp = &speaker{dev: d, asn: d.cfg.BGP.ASN, local: map[int32]*bgpRoute{}, best: map[int32]*bgpRoute{}, dirty: map[int32]bool{}}
			b.speakers = append(b.speakers, d.sp)
		}
	}
	b.setupSessions()
	b.originate()
	return b
}

// pid returns the number of a prefix, assigning one if it is new.
func (b *bgp) pid(p netip.Prefix) int32 {
	if id, ok := b.pids[p]; ok {
		return id
	}
	id := int32(len(b.prefixes))
	b.prefixes = append(b.prefixes, p)
	b.pids[p] = id
	return id
}

func (b *bgp) originate() {
	for _, sp := range b.speakers {
		for _, p := range sp.dev.cfg.BGP.Originate {
			sp.addLocal(b.pid(p))
		}
	}
	for _, ap := range twin.Typed[twin.AnycastPrefix](b.m.snap) {
		for i, an := range ap.Announcements {
			if !an.Announced() {
				continue
			}
			devs := b.m.bySite[an.Site]
			if an.Device != "" {
				devs = []*device{b.m.byName[an.Device]}
			}
			for _, d := range devs {
				if d == nil || d.sp == nil {
					continue
				}
				if lines := b.unhealthy(d, an.WithdrawUnless); lines != nil {
					b.withdrawn(ap, i, d, lines)
					continue
				}
				d.sp.addLocal(b.pid(ap.Prefix))
			}
		}
	}
}

func (sp *speaker) addLocal(pid int32) {
	sp.local[pid] = &bgpRoute{localPref: defaultLocalPref, originator: sp.dev}
	sp.dirty[pid] = true
}

// unhealthy returns why d reaches no up device at any of the sites in the
// IGP, or nil if it reaches one (or no sites are listed).
func (b *bgp) unhealthy(d *device, sites []string) []string {
	var lines []string
	for _, s := range sites {
		var unreachable []*device
		for _, e := range b.m.bySite[s] {
			if !e.up {
				continue
			}
			if d.igp.reachable(e.idx) {
				return nil
			}
			unreachable = append(unreachable, e)
		}
		if len(unreachable) == 0 {
			lines = append(lines, fmt.Sprintf("site %s: no device is up", s))
		} else {
			lines = append(lines, fmt.Sprintf("site %s: %s not reachable from %s in the IGP", s, joinNames(unreachable), d.cfg.Name))
		}
	}
	return lines
}

func (b *bgp) withdrawn(ap *twin.AnycastPrefix, i int, d *device, lines []string) {
	an := ap.Announcements[i]
	b.m.findings = append(b.m.findings, finding.Finding{
		ID:       fmt.Sprintf("routing.anycast-withdrawn/%s/%s", ap.Name, d.cfg.Name),
		Category: "routing.anycast-withdrawn",
		Severity: finding.Warning,
		Message:  fmt.Sprintf("%s withdraws anycast prefix %s (%s) at site %s: it reaches none of %s", d.cfg.Name, ap.Name, ap.Prefix, an.Site, strings.Join(an.WithdrawUnless, ", ")),
		Objects:  []finding.Object{finding.ObjectOf(ap, fmt.Sprintf("announcements[%d].withdrawUnless", i)), finding.ObjectOf(d.cfg, "")},
		Evidence: finding.Evidence{Lines: lines},
	})
}

// change is a best route that changed in a round.
type change struct {
	sp  *speaker
	pid int32
}

// maxRounds bounds the exchange, generously for networks that converge
// slowly: a change crosses at least one speaker per round.
func (b *bgp) maxRounds() int { return 100 + len(b.speakers) }

// run exchanges routes until nothing changes, a global state repeats or
// maxRounds pass; it reports whether a fixed point was reached. In a round
// every speaker in turn decides its dirty prefixes again and sends every
// change at once, so later speakers see it in the same round.
func (b *bgp) run() bool {
	seen := map[uint64]int{b.stateHash(): 0}
	var history [][]change
	for b.rounds < b.maxRounds() {
		b.rounds++
		var changed []change
		for _, sp := range b.speakers {
			if len(sp.dirty) == 0 {
				continue
			}
			pids := slices.Sorted(maps.Keys(sp.dirty))
			clear(sp.dirty)
			for _, pid := range pids {
				if r := b.best(sp, pid); !sameRoute(r, sp.best[pid]) {
					b.setBest(sp, pid, r)
					changed = append(changed, change{sp, pid})
					b.propagate(sp, pid, r)
				}
			}
		}
		history = append(history, changed)
		b.enforceMaxPrefix()
		if !b.anyDirty() {
			return true
		}
		h := b.stateHash()
		if first, ok := seen[h]; ok {
			b.noConvergence(history[first:], fmt.Sprintf("the state after round %d repeats the state after round %d: the exchange cycles", b.rounds, first))
			return false
		}
		seen[h] = b.rounds
	}
	b.noConvergence(history[max(0, len(history)-10):], fmt.Sprintf("no fixed point after %d rounds", b.rounds))
	return false
}

// best decides the best route of a speaker for a prefix (nil: none).
func (b *bgp) best(sp *speaker, pid int32) *bgpRoute {
	sp.scratch = b.candidates(sp, pid, sp.scratch[:0])
	if w, _ := decide(sp.scratch); w >= 0 {
		return sp.scratch[w].r
	}
	return nil
}

// candidates returns the routes a speaker holds for a prefix, the
// originated one first, then by neighbor entry, with their next hops
// resolved.
func (b *bgp) candidates(sp *speaker, pid int32, buf []cand) []cand {
	if r := sp.local[pid]; r != nil {
		buf = append(buf, cand{r: r, valid: true})
	}
	for _, pe := range sp.peerings {
		r := pe.in[pid]
		if r == nil {
			continue
		}
		c := cand{r: r}
		if r.nextHop.IsValid() {
			res := sp.dev.ul.resolve(r.nextHop, 0)
			c.valid, c.cost, c.ports = res.ok && res.action == fwd.Forward, res.cost, res.ports
		}
		buf = append(buf, c)
	}
	return buf
}

func (b *bgp) setBest(sp *speaker, pid int32, r *bgpRoute) {
	if old := sp.best[pid]; old != nil {
		b.hash ^= routeHash(sp, pid, old)
	}
	if r == nil {
		delete(sp.best, pid)
		return
	}
	sp.best[pid] = r
	b.hash ^= routeHash(sp, pid, r)
}

// propagate sends a speaker's new best route for a prefix (nil: a
// withdrawal) to every peer in the twin.
func (b *bgp) propagate(sp *speaker, pid int32, r *bgpRoute) {
	for _, pe := range sp.peerings {
		if pe.sess.up && pe.remote != nil {
			b.receive(pe.remote, pid, b.export(pe, pid, r))
		}
	}
}

// export returns the route a speaker sends over a peering for its best
// route r, or nil if it sends none.
func (b *bgp) export(pe *peering, pid int32, r *bgpRoute) *bgpRoute {
	is6 := b.prefixes[pid].Addr().Is6()
	if r == nil || r.from == pe || pe.remote == nil && is6 != pe.cfg.Address.Is6() {
		return nil
	}
	reflect := !pe.ebgp && r.from != nil && !r.from.ebgp
	if reflect && !r.from.cfg.RouteReflectorClient && !pe.cfg.RouteReflectorClient {
		return nil
	}
	out := *r
	if pe.ebgp {
		out.med = 0
	}
	if !b.pol.apply(pe.cfg.Export, b.prefixes[pid], &out, pe.sp.asn) {
		return nil
	}
	if pe.ebgp {
		out.asPath = slices.Concat([]uint32{pe.sp.asn}, out.asPath)
	}
	switch {
	case reflect:
		out.clusters = slices.Concat(out.clusters, []*device{pe.sp.dev})
	case pe.remote != nil:
		out.nextHop = pe.remote.nextHop[family(is6)]
	}
	return &out
}

// receive stores what a peering received for a prefix (nil: a withdrawal)
// after loop prevention and import policy, and marks the prefix dirty if
// that changed anything.
func (b *bgp) receive(pe *peering, pid int32, adv *bgpRoute) {
	if adv == nil || loops(pe, adv) {
		if _, had := pe.in[pid]; !had {
			return
		}
		delete(pe.in, pid)
		pe.sp.dirty[pid] = true
		return
	}
	r := adv
	r.from = pe
	if pe.ebgp {
		r.localPref, r.originator, r.clusters = defaultLocalPref, pe.sp.dev, nil
	}
	if !b.pol.apply(pe.cfg.Import, b.prefixes[pid], r, pe.sp.asn) {
		r = nil
	}
	if old, had := pe.in[pid]; had && sameRoute(old, r) {
		return
	}
	pe.in[pid] = r
	pe.sp.dirty[pid] = true
}

// loops reports a route the receiver must drop: over eBGP one whose AS
// path holds its AS, over iBGP one it originated or reflected before.
func loops(pe *peering, r *bgpRoute) bool {
	if pe.ebgp {
		return slices.Contains(r.asPath, pe.sp.asn)
	}
	return r.originator == pe.sp.dev || slices.Contains(r.clusters, pe.sp.dev)
}

// enforceMaxPrefix tears down every session an end of which received more
// routes than its neighbor entry's maxPrefix.
func (b *bgp) enforceMaxPrefix() {
	for i, s := range b.sess {
		if !s.up {
			continue
		}
		for _, pe := range s.ends {
			if pe != nil && pe.cfg.MaxPrefix > 0 && len(pe.in) > pe.cfg.MaxPrefix {
				b.tearDown(i, pe)
				break
			}
		}
	}
}

// tearDown takes session i down because pe received too many routes:
// both ends withdraw what they learned over it.
func (b *bgp) tearDown(i int, pe *peering) {
	s := b.sess[i]
	s.up = false
	s.out.State = TornDownMaxPrefix
	s.out.Reason = fmt.Sprintf("%s received %d prefixes from %s, over its max-prefix %d", pe.sp.dev.cfg.Name, len(pe.in), pe.remote.sp.dev.cfg.Name, pe.cfg.MaxPrefix)
	b.hash ^= mix(0x7ea4d0, uint64(i))
	sample := make([]netip.Prefix, 0, len(pe.in))
	for pid := range pe.in {
		sample = append(sample, b.prefixes[pid])
	}
	slices.SortFunc(sample, netip.Prefix.Compare)
	for k, e := range s.ends {
		s.received[k], s.accepted[k] = counts(e.in)
		for pid := range e.in {
			e.sp.dirty[pid] = true
		}
		e.in = map[int32]*bgpRoute{}
	}
	b.maxPrefixFinding(pe, sample, s.accepted)
}

func (b *bgp) maxPrefixFinding(pe *peering, received []netip.Prefix, accepted [2]int) {
	d, peer := pe.sp.dev, pe.remote.sp.dev
	n, limit := len(received), pe.cfg.MaxPrefix
	shown := make([]string, 0, 10)
	for _, p := range received[:min(10, n)] {
		shown = append(shown, p.String())
	}
	if n > len(shown) {
		shown = append(shown, fmt.Sprintf("and %d more", n-len(shown)))
	}
	b.m.findings = append(b.m.findings, finding.Finding{
		ID:       fmt.Sprintf("routing.max-prefix/%s/%s", d.cfg.Name, pe.cfg.Name),
		Category: "routing.max-prefix",
		Severity: finding.Critical,
		Message:  fmt.Sprintf("%s tears down its BGP session with %s: it received %d prefixes, over its max-prefix %d", d.cfg.Name, peer.cfg.Name, n, limit),
		Objects: []finding.Object{
			finding.ObjectOf(d.cfg, fmt.Sprintf("bgp.neighbors[%d].maxPrefix", pe.idx)),
			finding.ObjectOf(peer.cfg, fmt.Sprintf("bgp.neighbors[%d]", pe.remote.idx)),
		},
		Evidence: finding.Evidence{
			Figures: []finding.Figure{{Name: "prefixes received", Value: float64(n), Unit: "prefixes"}, {Name: "maxPrefix", Value: float64(limit), Unit: "prefixes"}},
			Lines: []string{
				fmt.Sprintf("neighbor %s of %s allows %d prefixes; %s sent %d: %s", pe.cfg.Name, d.cfg.Name, limit, peer.cfg.Name, n, strings.Join(shown, ", ")),
				fmt.Sprintf("the session is torn down and stays down: %s withdraws the %d routes it had accepted over it, %s the %d it had accepted", d.cfg.Name, accepted[pe.side], peer.cfg.Name, accepted[1-pe.side]),
			},
		},
	})
}

func (b *bgp) anyDirty() bool {
	return slices.ContainsFunc(b.speakers, func(sp *speaker) bool { return len(sp.dirty) > 0 })
}

// stateHash identifies the state between rounds: the best routes, the
// teardowns and the prefixes still to decide.
func (b *bgp) stateHash() uint64 {
	h := b.hash
	for _, sp := range b.speakers {
		for pid := range sp.dirty {
			h ^= mix(0xd1, uint64(sp.dev.idx), uint64(pid))
		}
	}
	return h
}

func routeHash(sp *speaker, pid int32, r *bgpRoute) uint64 {
	w := []uint64{uint64(sp.dev.idx), uint64(pid), uint64(r.localPref), uint64(r.med), uint64(r.originator.idx), uint64(len(r.asPath))}
	for _, as := range r.asPath {
		w = append(w, uint64(as))
	}
	if r.from != nil {
		w = append(w, uint64(r.from.idx)+1)
	}
	a := r.nextHop.As16()
	w = append(w, uint64(len(r.clusters)), binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(a[8:]))
	for _, c := range r.clusters {
		w = append(w, uint64(c.idx))
	}
	for _, c := range r.communities {
		for i := range len(c) {
			w = append(w, uint64(c[i]))
		}
	}
	return mix(w...)
}

// mix hashes words (FNV-1a over 64-bit words, then a final avalanche).
func mix(words ...uint64) uint64 {
	h := uint64(14695981039346656037)
	for _, w := range words {
		h ^= w
		h *= 1099511628211
	}
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	return h
}

// sameRoute reports whether two routes (either may be nil) are equal.
func sameRoute(a, b *bgpRoute) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.localPref == b.localPref && a.med == b.med && a.from == b.from && a.nextHop == b.nextHop &&
		a.originator == b.originator && slices.Equal(a.asPath, b.asPath) &&
		slices.Equal(a.communities, b.communities) && slices.Equal(a.clusters, b.clusters)
}

// noConvergence reports the prefixes whose best routes kept changing in
// the given rounds.
func (b *bgp) noConvergence(rounds [][]change, why string) {
	at := map[int32]map[*speaker]int{}
	for _, round := range rounds {
		for _, c := range round {
			if at[c.pid] == nil {
				at[c.pid] = map[*speaker]int{}
			}
			at[c.pid][c.sp]++
		}
	}
	pids := slices.SortedFunc(maps.Keys(at), func(x, y int32) int { return b.prefixes[x].Compare(b.prefixes[y]) })
	lines := []string{why}
	var names []string
	involved := map[*speaker]bool{}
	for _, pid := range pids {
		sps := slices.SortedFunc(maps.Keys(at[pid]), func(x, y *speaker) int { return x.dev.idx - y.dev.idx })
		var parts []string
		for _, sp := range sps {
			involved[sp] = true
			parts = append(parts, fmt.Sprintf("%s (%d changes, now %s)", sp.dev.cfg.Name, at[pid][sp], describe(sp.best[pid])))
		}
		names = append(names, b.prefixes[pid].String())
		lines = append(lines, fmt.Sprintf("%s: best route changes at %s", b.prefixes[pid], strings.Join(parts, "; ")))
	}
	var objs []finding.Object
	for _, sp := range b.speakers {
		if involved[sp] {
			objs = append(objs, finding.ObjectOf(sp.dev.cfg, "bgp"))
		}
	}
	b.m.findings = append(b.m.findings, finding.Finding{
		ID:       "routing.no-convergence",
		Category: "routing.no-convergence",
		Severity: finding.Critical,
		Message:  fmt.Sprintf("BGP does not converge: the best routes for %s keep changing, so traffic to them has no stable path", strings.Join(names, ", ")),
		Objects:  objs,
		Evidence: finding.Evidence{Figures: []finding.Figure{{Name: "rounds", Value: float64(b.rounds)}}, Lines: lines},
	})
}

// describe says where a best route comes from, in a few words.
func describe(r *bgpRoute) string {
	switch {
	case r == nil:
		return "no route"
	case r.from == nil:
		return "originated here"
	}
	return fmt.Sprintf("via %s, AS path [%s], local-pref %d", r.from.cfg.Name, pathString(r.asPath), r.localPref)
}
