package routing

import (
	"cmp"
	"fmt"
	"net/netip"
)

// BGP best-path selection. Each step keeps the candidates that are best on
// it, in this order:
//   - a resolvable next hop (an originated route has none to resolve)
//   - highest local preference
//   - originated by this device
//   - shortest AS path (every route has origin IGP, so origin decides nothing)
//   - lowest MED, only between routes from the same neighboring AS (the
//     first AS of the path; an empty path counts as this AS)
//   - eBGP over iBGP
//   - lowest IGP cost to the next hop
//   - lowest router ID of the peer (of the originator, for a reflected route)
//   - shortest cluster list
//   - lowest neighbor address
//   - the first candidate: originated, then by neighbor entry
//
// There is one best route: no BGP multipath.

// cand is a route competing for a prefix on a device.
type cand struct {
	r     *bgpRoute
	valid bool
	cost  int32    // IGP cost to the next hop
	ports []string // the ports the next hop resolves to
	lost  int      // the step that eliminated it
	by    int      // the candidate that beat it at that step
}

// Selection steps.
const (
	stepValid = iota
	stepLocalPref
	stepLocal
	stepPath
	stepMED
	stepEBGP
	stepIGP
	stepRouterID
	stepCluster
	stepAddr
	stepOrder
	numSteps
)

// decide returns the index of the best candidate, or -1 if none is valid,
// and the last step that eliminated a candidate (-1 if none competed); it
// sets lost and by on every other candidate.
func decide(cs []cand) (winner, decided int) {
	var buf [8]int
	alive := buf[:0]
	decided = -1
	for i := range cs {
		if cs[i].valid {
			alive = append(alive, i)
		} else {
			cs[i].lost, cs[i].by, decided = stepValid, -1, stepValid
		}
	}
	for step := stepLocalPref; step < numSteps && len(alive) > 1; step++ {
		keep := alive[:0]
		if step == stepMED {
			keep = medStep(cs, alive, keep)
		} else {
			top := alive[0]
			for _, i := range alive[1:] {
				if compare(step, &cs[i], &cs[top]) < 0 {
					top = i
				}
			}
			for _, i := range alive {
				if i == top || step != stepOrder && compare(step, &cs[i], &cs[top]) == 0 {
					keep = append(keep, i)
				} else {
					cs[i].lost, cs[i].by = step, top
				}
			}
		}
		if len(keep) < len(alive) {
			decided = step
		}
		alive = keep
	}
	if len(alive) == 0 {
		return -1, decided
	}
	return alive[0], decided
}

// medStep eliminates every route some route from the same neighboring AS
// beats on MED.
func medStep(cs []cand, alive, keep []int) []int {
	low := map[uint32]int{}
	for _, i := range alive {
		as := neighborAS(cs[i].r)
		if j, ok := low[as]; !ok || cs[i].r.med < cs[j].r.med {
			low[as] = i
		}
	}
	for _, i := range alive {
		if j := low[neighborAS(cs[i].r)]; cs[i].r.med > cs[j].r.med {
			cs[i].lost, cs[i].by = stepMED, j
		} else {
			keep = append(keep, i)
		}
	}
	return keep
}

// compare orders two candidates on one step: negative if a is better.
func compare(step int, a, b *cand) int {
	switch step {
	case stepLocalPref:
		return cmp.Compare(b.r.localPref, a.r.localPref)
	case stepLocal:
		return rank(a.r.from == nil, b.r.from == nil)
	case stepPath:
		return cmp.Compare(len(a.r.asPath), len(b.r.asPath))
	case stepEBGP:
		return rank(a.r.ebgp(), b.r.ebgp())
	case stepIGP:
		return cmp.Compare(a.cost, b.cost)
	case stepRouterID:
		return peerID(a.r).Compare(peerID(b.r))
	case stepCluster:
		return cmp.Compare(len(a.r.clusters), len(b.r.clusters))
	case stepAddr:
		return neighborAddr(a.r).Compare(neighborAddr(b.r))
	}
	return 0
}

// rank orders a preference: negative if only a has it.
func rank(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return -1
	}
	return 1
}

func (r *bgpRoute) ebgp() bool { return r.from != nil && r.from.ebgp }

// neighborAS is the AS a route was learned from (0 for this AS).
func neighborAS(r *bgpRoute) uint32 {
	if len(r.asPath) == 0 {
		return 0
	}
	return r.asPath[0]
}

// peerID is the router ID of the device a route was learned from, or of
// its originator if it was reflected.
func peerID(r *bgpRoute) netip.Addr {
	switch {
	case r.from == nil:
		return netip.Addr{}
	case len(r.clusters) > 0:
		return r.originator.cfg.RouterID
	}
	return r.from.remote.sp.dev.cfg.RouterID
}

// neighborAddr is the address of the neighbor a route was learned from.
func neighborAddr(r *bgpRoute) netip.Addr {
	switch {
	case r.from == nil:
		return netip.Addr{}
	case r.from.cfg.Address.IsValid():
		return r.from.cfg.Address
	}
	return r.from.nextHop[0]
}

// fromName names where a route came from.
func fromName(r *bgpRoute) string {
	if r.from == nil {
		return "this device"
	}
	return r.from.cfg.Name
}

// whyWon explains the winner of a selection decided at a step.
func whyWon(c *cand, step int) string {
	r := c.r
	switch step {
	case -1:
		return "only BGP route"
	case stepValid:
		return "best BGP route: the only one with a resolvable next hop"
	case stepLocalPref:
		return fmt.Sprintf("best BGP route: highest local-pref %d", r.localPref)
	case stepLocal:
		return "best BGP route: originated here"
	case stepPath:
		return fmt.Sprintf("best BGP route: shortest AS path (%d)", len(r.asPath))
	case stepMED:
		return fmt.Sprintf("best BGP route: lowest MED %d from AS %d", r.med, neighborAS(r))
	case stepEBGP:
		return "best BGP route: eBGP over iBGP"
	case stepIGP:
		return fmt.Sprintf("best BGP route: lowest IGP cost to the next hop (%d)", c.cost)
	case stepRouterID:
		return fmt.Sprintf("best BGP route: lowest peer router ID (%s)", peerID(r))
	case stepCluster:
		return fmt.Sprintf("best BGP route: shortest cluster list (%d)", len(r.clusters))
	case stepAddr:
		return fmt.Sprintf("best BGP route: lowest neighbor address (%s)", neighborAddr(r))
	}
	return "best BGP route: first of equal routes"
}

// whyLost explains why a candidate lost.
func whyLost(cs []cand, i int) string {
	c := &cs[i]
	r := c.r
	if c.lost == stepValid {
		return fmt.Sprintf("not usable: next hop %s is unresolved (no connected, static or IGP route forwards to it)", r.nextHop)
	}
	w := cs[c.by].r
	by := fromName(w)
	switch c.lost {
	case stepLocalPref:
		return fmt.Sprintf("lost: local-pref %d < %d of the route from %s", r.localPref, w.localPref, by)
	case stepLocal:
		return "lost: the route originated here is preferred"
	case stepPath:
		return fmt.Sprintf("lost: AS path length %d > %d of the route from %s", len(r.asPath), len(w.asPath), by)
	case stepMED:
		return fmt.Sprintf("lost: MED %d > %d of the route from %s (both from AS %d)", r.med, w.med, by, neighborAS(r))
	case stepEBGP:
		return fmt.Sprintf("lost: iBGP route; the route from %s is eBGP", by)
	case stepIGP:
		return fmt.Sprintf("lost: IGP cost %d to the next hop > %d of the route from %s", c.cost, cs[c.by].cost, by)
	case stepRouterID:
		return fmt.Sprintf("lost: peer router ID %s > %s of the route from %s", peerID(r), peerID(w), by)
	case stepCluster:
		return fmt.Sprintf("lost: cluster list %d > %d of the route from %s", len(r.clusters), len(w.clusters), by)
	case stepAddr:
		return fmt.Sprintf("lost: neighbor address %s > %s of the route from %s", neighborAddr(r), neighborAddr(w), by)
	}
	return fmt.Sprintf("lost: equal to the route from %s, which comes first", by)
}
