// Package routing computes the data plane of a twin from its control plane:
// connected and static routes, a link-state IGP with ECMP, and BGP
// (sessions, import and export policies, best-path selection, route
// reflection, max-prefix limits and health-gated anycast announcements)
// iterated to a fixed point. The result is every device's RIB with the
// reason each route won or lost, the state of every BGP session, the
// forwarding model (fwd.Network) and findings.
//
// Semantics:
//   - Only what is up takes part: a device whose state, site or site's zone
//     is down is down; an interface is down if its own state, its device or
//     its link is down (a link is down if its state, either device or either
//     interface is down). Down devices have no RIB and no forwarding table.
//   - Connected: every address of an up interface gives a route for its
//     subnet out of the interface and a route delivering the address itself.
//     A host-length subnet (/32, /128, as on loopbacks) is only delivered.
//   - Static: admin distance 1 unless set; a next hop resolves recursively
//     over connected, static and IGP routes (never over BGP, never over the
//     route itself) to the ports of the route it resolves over.
//   - IGP (admin distance 110): one link-state topology for both families
//     over the up links (cost 10 when unset), except links between BGP
//     speakers of different ASes, which are AS borders. Every device
//     advertises the subnets of its up interfaces (border links included,
//     as stubs); every equal-cost first hop is a next hop (ECMP). A device
//     installs no IGP route for a subnet it has connected.
//   - BGP sessions: a neighbor entry naming a twin device pairs with that
//     device's entry naming it back. A session is established when both
//     devices are up, both entries exist, are up and expect the other's AS,
//     each entry's address (if given) is on an up interface of the peer,
//     and the peers are reachable: over the IGP for iBGP, over a shared up
//     link or the IGP for eBGP. A session with a peer outside the twin is
//     established when the peer's address is routed (connected, static or
//     IGP); such a peer sends nothing (the twin does not model what
//     outsiders announce), but what is sent to it is counted.
//   - BGP routes: devices originate bgp.originate prefixes and the anycast
//     prefixes they announce (bgp.go says when); export and import apply
//     the route policies, loop prevention, eBGP AS prepending and route
//     reflection (bgp.go); each device selects one best route per prefix
//     (decide.go lists the steps). Routes are exchanged to a fixed point in
//     rounds: devices in name order decide their changed prefixes again and
//     send every change at once, so later devices see it in the same round.
//     A global state that repeats, or 100 rounds plus one per BGP device,
//     stops the exchange with Converged false and a finding.
//   - Max-prefix: after each round, a session end that received more
//     prefixes (before import policy) than its entry's maxPrefix tears the
//     session down for good, withdrawing the routes of both directions.
//   - FIB: per prefix, the active routes of lowest admin distance (connected
//     0, static 1, eBGP 20, IGP 110, iBGP and locally originated BGP 200)
//     win, several of them as ECMP; a BGP route forwards to the ports its
//     next hop resolves to. A rule's priority is its prefix length. Every
//     interface is a port, with its ACLs.
//   - Findings: max-prefix teardowns and FIBs over their device's route
//     limit (critical), FIBs within 10% of it, misconfigured sessions and
//     withdrawn anycast announcements (warnings), invalid AS-path
//     expressions and non-convergence (critical).
package routing

import (
	"net/netip"

	"github.com/preflight-sh/preflight/finding"
	"github.com/preflight-sh/preflight/fwd"
	"github.com/preflight-sh/preflight/twin"
)

// Result is the data plane of a twin.
type Result struct {
	// Network is the forwarding model of the up devices.
	Network *fwd.Network
	// RIBs holds every route of every up device, by device name, sorted by
	// prefix; the routes installed in the FIB have Best set.
	RIBs map[string][]Route
	// Sessions lists every BGP session in the order of its A end: by
	// device name, then neighbor entry.
	Sessions []Session
	// Findings are max-prefix teardowns, route-table limits, misconfigured
	// sessions, withdrawn anycast announcements, invalid policies and
	// non-convergence, most severe first.
	Findings []finding.Finding
	// Converged reports whether BGP reached a fixed point.
	Converged bool
	// Iterations is the number of BGP rounds run.
	Iterations int
}

// Protocol is where a route comes from.
type Protocol uint8

// Protocols.
const (
	Connected Protocol = iota
	Static
	IGP
	BGP
)

var protocolNames = [...]string{"connected", "static", "igp", "bgp"}

func (p Protocol) String() string { return protocolNames[p] }

// MarshalText writes the protocol's name.
func (p Protocol) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// Admin distances.
const (
	distConnected uint8 = 0
	distStatic    uint8 = 1
	distEBGP      uint8 = 20
	distIGP       uint8 = 110
	distIBGP      uint8 = 200
)

// Route is one route of a device's RIB. Its fields are packed: a large
// twin has tens of millions of routes.
type Route struct {
	Prefix        netip.Prefix `json:"prefix"`
	Protocol      Protocol     `json:"protocol"`
	AdminDistance uint8        `json:"adminDistance"`
	// Action is what the route does with a packet: forward out of the ports
	// of NextHops, deliver it to the device, or drop it.
	Action fwd.Action `json:"action"`
	// Best reports whether the route is installed in the FIB.
	Best bool `json:"best"`
	// IGPCost is the IGP cost of the route, or for BGP of the path to its
	// next hop.
	IGPCost int32 `json:"igpCost"`
	// NextHops are the resolved next hops: an address and the port it is
	// reached through (one per ECMP branch), or only a port.
	NextHops []NextHop `json:"nextHops,omitempty"`
	// BGP holds the attributes of a BGP route, nil for other protocols.
	BGP *BGPAttrs `json:"bgp,omitempty"`
	// Why says why the route won or lost, or why it is not usable.
	Why string `json:"why"`
}

// NextHop is one next hop of a route. The slices holding them are shared
// between routes: do not modify them.
type NextHop struct {
	Addr netip.Addr `json:"addr,omitzero"`
	Port string     `json:"port,omitempty"`
}

// BGPAttrs are the path attributes of a BGP route as the device holds it
// (after its import policy).
type BGPAttrs struct {
	LocalPref   int      `json:"localPref"`
	ASPath      []uint32 `json:"asPath"`
	MED         int      `json:"med"`
	Communities []string `json:"communities,omitempty"`
	// From names the neighbor entry the route was learned from; empty for a
	// route originated by the device.
	From string `json:"from,omitempty"`
	// NextHop is the BGP next hop (invalid for a route originated here).
	NextHop netip.Addr `json:"nextHop,omitzero"`
	EBGP    bool       `json:"ebgp"`
	// Originator is the device that brought the route into this AS: the
	// device that originated it, or the border device that learned it over
	// eBGP.
	Originator string `json:"originator"`
	// ClusterList names the route reflectors that reflected the route.
	ClusterList []string `json:"clusterList,omitempty"`
}

// SessionState is the state of a BGP session.
type SessionState string

// Session states.
const (
	Established       SessionState = "established"
	SessionDown       SessionState = "down"
	TornDownMaxPrefix SessionState = "torn-down-max-prefix"
)

// Session is one BGP session between two twin devices, or between a twin
// device (A) and an external peer (B).
type Session struct {
	A     SessionEnd   `json:"a"`
	B     SessionEnd   `json:"b"`
	EBGP  bool         `json:"ebgp"`
	State SessionState `json:"state"`
	// Reason says why a session is not established.
	Reason string `json:"reason,omitempty"`
}

// SessionEnd is one end of a session.
type SessionEnd struct {
	// Device is the twin device at this end; empty for an external peer.
	Device string `json:"device,omitempty"`
	// Neighbor names this end's neighbor entry for the other end; empty for
	// an external peer, or when the entry is missing.
	Neighbor string `json:"neighbor,omitempty"`
	// Address is this end's address as the other end's entry gives it.
	Address netip.Addr `json:"address,omitzero"`
	ASN     uint32     `json:"asn"`
	// Received counts the prefixes this end received (for an external peer:
	// the prefixes sent to it); for a torn-down session, the count that
	// tore it down.
	Received int `json:"received"`
	// Accepted counts the received prefixes the import policy accepted
	// (unknown, and zero, for an external peer).
	Accepted int `json:"accepted"`
	// MaxPrefix is the end's limit (0: none).
	MaxPrefix int `json:"maxPrefix,omitempty"`
}

// Build computes the data plane of a snapshot.
func Build(s *twin.Snapshot) *Result { return build(s, true) }

// BuildForwarding is Build without the RIBs: the forwarding model, the
// sessions and the findings, in about half the memory (the RIBs of a
// large network hold as many routes as its forwarding tables hold rules).
func BuildForwarding(s *twin.Snapshot) *Result { return build(s, false) }

func build(s *twin.Snapshot, keepRIBs bool) *Result {
	m := newModel(s)
	m.keepRIBs = keepRIBs
	m.runIGP()
	m.buildUnderlays()
	b := newBGP(m)
	res := &Result{}
	res.Converged = b.run()
	res.Iterations = b.rounds
	res.Sessions = b.sessions()
	m.assemble(b, res)
	res.Findings = m.findings
	finding.Sort(res.Findings)
	return res
}
