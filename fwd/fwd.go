// Package fwd is the forwarding model every network analysis runs on:
// devices with forwarding rules, ACLs bound to ports, VLANs, and directed
// links between ports. It is built from a twin's control plane (package
// routing) or read from forwarding-table dumps (package fibdump).
//
// Semantics (those of the published data-plane verifiers, so their figures
// can be reproduced):
//   - A device picks the matching rule with the highest Priority; at equal
//     priority the rule with the higher Seq (inserted later) wins. No
//     matching rule: the packet is dropped (no route).
//   - A rule forwards out of one or more ports (several ports are ECMP
//     branches, each taken), delivers to the device itself, or drops (a
//     null route).
//   - A VLAN port sends the packet out of every member port except the one
//     it came in on; a packet whose chosen port is the port it came in on
//     is dropped.
//   - A port with several links copies the packet to each peer; a port
//     with no link leaves the network.
//   - ACLs on a port filter packets entering (In) and leaving (Out) through
//     it: rules are tried by descending Priority (equal priority: higher
//     Seq first), the first match decides, no match denies.
package fwd

import (
	"fmt"
	"net/netip"
	"sort"
)

// Action is what a forwarding rule does with a packet.
type Action uint8

// Actions.
const (
	Forward Action = iota // out of Ports
	Deliver               // to the device itself
	Drop                  // a null route
)

func (a Action) String() string {
	switch a {
	case Deliver:
		return "deliver"
	case Drop:
		return "drop"
	}
	return "forward"
}

// Rule is one forwarding-table entry.
type Rule struct {
	Prefix   netip.Prefix `json:"prefix"`
	Priority int          `json:"priority"`
	Action   Action       `json:"action"`
	Ports    []string     `json:"ports,omitempty"`
	// Seq orders rules of equal priority: the higher one wins.
	Seq int `json:"seq"`
	// Origin says where the rule came from (connected, static, igp, bgp,
	// fib) and why, for explanations.
	Origin string `json:"origin,omitempty"`
}

// AddrMatch matches an address: every bit set in Mask must equal Addr's.
// The zero AddrMatch matches any address of either family.
type AddrMatch struct {
	Addr netip.Addr `json:"addr"`
	Mask netip.Addr `json:"mask"`
}

// Any reports whether the match accepts every address.
func (m AddrMatch) Any() bool { return !m.Addr.IsValid() }

// PrefixMatch returns the match for a prefix.
func PrefixMatch(p netip.Prefix) AddrMatch {
	if !p.IsValid() {
		return AddrMatch{}
	}
	n := p.Addr().BitLen() / 8
	mask := make([]byte, n)
	for i := 0; i < p.Bits(); i++ {
		mask[i/8] |= 0x80 >> (i % 8)
	}
	m, _ := netip.AddrFromSlice(mask)
	return AddrMatch{Addr: p.Masked().Addr(), Mask: m}
}

// Range is an inclusive range of protocol numbers or ports.
type Range struct {
	Lo int `json:"lo"`
	Hi int `json:"hi"`
}

// Full ranges.
var (
	AnyProto = Range{0, 255}
	AnyPort  = Range{0, 65535}
)

// ACLRule matches packets by protocol, addresses and ports.
type ACLRule struct {
	Permit   bool      `json:"permit"`
	Priority int       `json:"priority"`
	Seq      int       `json:"seq"`
	Proto    Range     `json:"proto"`
	Src      AddrMatch `json:"src"`
	Dst      AddrMatch `json:"dst"`
	SrcPort  Range     `json:"srcPort"`
	DstPort  Range     `json:"dstPort"`
	// Text is the rule as written, for explanations.
	Text string `json:"text,omitempty"`
}

// ACL is an access list.
type ACL struct {
	Name  string    `json:"name"`
	Rules []ACLRule `json:"rules"`
}

// Ordered returns the rules in evaluation order: descending priority, then
// descending Seq.
func (a *ACL) Ordered() []ACLRule {
	out := append([]ACLRule(nil), a.Rules...)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Priority != out[j].Priority {
			return out[i].Priority > out[j].Priority
		}
		return out[i].Seq > out[j].Seq
	})
	return out
}

// PortACLs names the ACLs applied to a port.
type PortACLs struct {
	In  []string `json:"in,omitempty"`
	Out []string `json:"out,omitempty"`
}

// Device is one forwarding element.
type Device struct {
	Name  string              `json:"name"`
	Rules []Rule              `json:"rules"`
	ACLs  map[string]*ACL     `json:"acls,omitempty"`
	Ports map[string]PortACLs `json:"ports,omitempty"`
	// VLANs maps a VLAN port name to its physical member ports.
	VLANs map[string][]string `json:"vlans,omitempty"`
	// RouteLimit is the largest table the device holds (0: unknown).
	RouteLimit int `json:"routeLimit,omitempty"`
}

// PortRef names a port of a device.
type PortRef struct {
	Device string `json:"device"`
	Port   string `json:"port"`
}

// Link is a directed edge from one port to another.
type Link struct {
	From PortRef `json:"from"`
	To   PortRef `json:"to"`
}

// Network is a forwarding model.
type Network struct {
	Devices map[string]*Device `json:"devices"`
	Links   []Link             `json:"links"`
}

// DeviceNames returns the device names, sorted.
func (n *Network) DeviceNames() []string {
	out := make([]string, 0, len(n.Devices))
	for name := range n.Devices {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// Peers returns, for every port with links, the ports it sends to.
func (n *Network) Peers() map[PortRef][]PortRef {
	out := map[PortRef][]PortRef{}
	for _, l := range n.Links {
		out[l.From] = append(out[l.From], l.To)
	}
	return out
}

// RuleCount returns the number of forwarding rules.
func (n *Network) RuleCount() int {
	c := 0
	for _, d := range n.Devices {
		c += len(d.Rules)
	}
	return c
}

// Packet is one concrete packet header.
type Packet struct {
	Src     netip.Addr `json:"src"`
	Dst     netip.Addr `json:"dst"`
	Proto   uint8      `json:"proto"`
	SrcPort uint16     `json:"srcPort"`
	DstPort uint16     `json:"dstPort"`
}

// Matches reports whether an address matches.
func (m AddrMatch) Matches(a netip.Addr) bool {
	if m.Any() {
		return true
	}
	if a.BitLen() != m.Addr.BitLen() {
		return false
	}
	x, v, k := a.AsSlice(), m.Addr.AsSlice(), m.Mask.AsSlice()
	for i := range x {
		if (x[i]^v[i])&k[i] != 0 {
			return false
		}
	}
	return true
}

// Contains reports whether v is in the range.
func (r Range) Contains(v int) bool { return r.Lo <= v && v <= r.Hi }

// Matches reports whether an ACL rule matches a packet.
func (r *ACLRule) Matches(p Packet) bool {
	return r.Proto.Contains(int(p.Proto)) && r.Src.Matches(p.Src) && r.Dst.Matches(p.Dst) &&
		r.SrcPort.Contains(int(p.SrcPort)) && r.DstPort.Contains(int(p.DstPort))
}

// String renders a packet as "tcp 10.0.0.1:1234 → 192.0.2.7:443".
func (p Packet) String() string {
	proto := map[uint8]string{1: "icmp", 6: "tcp", 17: "udp", 58: "icmpv6"}[p.Proto]
	if proto == "" {
		proto = fmt.Sprintf("proto %d", p.Proto)
	}
	if p.Proto == 6 || p.Proto == 17 {
		return fmt.Sprintf("%s %s → %s", proto, netip.AddrPortFrom(p.Src, p.SrcPort), netip.AddrPortFrom(p.Dst, p.DstPort))
	}
	return fmt.Sprintf("%s %s → %s", proto, p.Src, p.Dst)
}
