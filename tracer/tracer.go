// Package tracer follows one concrete packet through a forwarding model,
// hop by hop, taking every ECMP branch, VLAN flood and multi-peer copy, and
// says what decided each hop and how each branch ends. It is deliberately
// plain — a linear scan of rules and ACLs — because it is also the
// reference the symbolic engine is tested against.
package tracer

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/preflight-sh/preflight/fwd"
)

// Fate is how a branch of a trace ends.
type Fate string

// Fates.
const (
	Delivered  Fate = "delivered"   // to a device (a rule with action deliver)
	Exited     Fate = "exited"      // out of a port with no link: left the network
	NoRoute    Fate = "no-route"    // no rule matched
	NullRouted Fate = "null-routed" // a drop rule matched
	DeniedIn   Fate = "denied-in"   // an inbound ACL denied it
	DeniedOut  Fate = "denied-out"  // an outbound ACL denied it
	SamePort   Fate = "same-port"   // the chosen port is the one it came in on
	Loop       Fate = "loop"        // it left through a port it had already used
)

// Dropped reports whether the fate loses the packet inside the network.
func (f Fate) Dropped() bool {
	return f != Delivered && f != Exited
}

// Hop is one device on a path.
type Hop struct {
	Device string `json:"device"`
	// InPort is where the packet entered ("" at the start).
	InPort string `json:"inPort,omitempty"`
	// Rule is the forwarding rule that decided, as text ("" if none).
	Rule string `json:"rule,omitempty"`
	// OutPort is where it left ("" if it did not).
	OutPort string `json:"outPort,omitempty"`
	// ACLs lists the ACL decisions taken on this hop.
	ACLs []string `json:"acls,omitempty"`
}

// Path is one branch of a trace and how it ends.
type Path struct {
	Hops []Hop `json:"hops"`
	Fate Fate  `json:"fate"`
	// Why explains the fate.
	Why string `json:"why"`
	// Cycle is set on a loop that leaves through a port it already left
	// (a forwarding cycle), as opposed to leaving through a port it came
	// in by earlier.
	Cycle bool `json:"cycle,omitempty"`
}

func (p Path) String() string {
	var parts []string
	for _, h := range p.Hops {
		s := h.Device
		if h.OutPort != "" {
			s += "[" + h.OutPort + "]"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " → ") + ": " + string(p.Fate)
}

// MaxPaths bounds the branches of one trace (floods can multiply them).
const MaxPaths = 10000

// Oracle decides what devices do with the traffic being traced: one
// concrete packet, or a whole class of packets that devices treat alike.
type Oracle interface {
	// Rule returns the forwarding rule a device applies (nil: no route).
	Rule(dev *fwd.Device) *fwd.Rule
	// Permit says whether an ACL of a device permits the traffic, and the
	// ACL rule that decided ("" for the implicit deny).
	Permit(dev *fwd.Device, acl *fwd.ACL) (bool, string)
}

// Trace follows pkt from device start (entering on port in, or "" when
// it starts there) and returns every branch, in a deterministic order.
func Trace(n *fwd.Network, start, in string, pkt fwd.Packet) ([]Path, error) {
	return Walk(n, n.Peers(), start, in, concrete{pkt})
}

// Walk follows the traffic an oracle describes; peers is n.Peers().
func Walk(n *fwd.Network, peers map[fwd.PortRef][]fwd.PortRef, start, in string, o Oracle) ([]Path, error) {
	if n.Devices[start] == nil {
		return nil, fmt.Errorf("no device %q", start)
	}
	t := &tracer{n: n, peers: peers, o: o}
	t.walk(start, in, nil, nil)
	if t.truncated {
		return t.paths, fmt.Errorf("more than %d branches; the trace was cut short", MaxPaths)
	}
	return t.paths, nil
}

// concrete is the oracle of one packet: a plain scan of rules and ACLs.
type concrete struct{ pkt fwd.Packet }

func (c concrete) Rule(dev *fwd.Device) *fwd.Rule { return Lookup(dev, c.pkt.Dst) }

func (c concrete) Permit(dev *fwd.Device, acl *fwd.ACL) (bool, string) {
	rule, permit := Decide(acl, c.pkt)
	if rule == nil {
		return false, ""
	}
	if rule.Text != "" {
		return permit, rule.Text
	}
	return permit, fmt.Sprintf("rule priority %d", rule.Priority)
}

type tracer struct {
	texts     map[*fwd.Rule]string
	n         *fwd.Network
	peers     map[fwd.PortRef][]fwd.PortRef
	o         Oracle
	paths     []Path
	truncated bool
}

func (t *tracer) end(hops []Hop, f Fate, why string) {
	t.endPath(Path{Hops: hops, Fate: f, Why: why})
}

func (t *tracer) endPath(p Path) {
	if len(t.paths) >= MaxPaths {
		t.truncated = true
		return
	}
	p.Hops = append([]Hop(nil), p.Hops...)
	t.paths = append(t.paths, p)
}

// How a path has used a port.
const (
	entered uint8 = 1 << iota
	left
)

// portUse records how a path has used one port.
type portUse struct {
	ref fwd.PortRef
	how uint8
}

// usage returns how the path has used a port (paths are short: a scan).
func usage(used []portUse, ref fwd.PortRef) uint8 {
	var how uint8
	for _, u := range used {
		if u.ref == ref {
			how |= u.how
		}
	}
	return how
}

// walk handles the packet arriving at device dev on port in. used holds
// the (device, port) pairs the packet has entered or left on this path;
// each branch gets its own copy.
func (t *tracer) walk(name, in string, hops []Hop, used []portUse) {
	dev := t.n.Devices[name]
	hop := Hop{Device: name, InPort: in}
	if dev == nil {
		t.end(append(hops, hop), Exited, "reached "+name+", which the model does not describe")
		return
	}
	if in != "" {
		used = append(used[:len(used):len(used)], portUse{fwd.PortRef{Device: name, Port: in}, entered})
		if ok, why := t.acls(dev, dev.Ports[in].In, "in "+in, &hop); !ok {
			t.end(append(hops, hop), DeniedIn, why)
			return
		}
	}
	r := t.o.Rule(dev)
	if r == nil {
		t.end(append(hops, hop), NoRoute, fmt.Sprintf("%s has no route for it", name))
		return
	}
	hop.Rule = t.ruleText(r)
	switch r.Action {
	case fwd.Deliver:
		t.end(append(hops, hop), Delivered, "delivered to "+name)
		return
	case fwd.Drop:
		t.end(append(hops, hop), NullRouted, fmt.Sprintf("%s drops it: %s", name, hop.Rule))
		return
	}
	// ECMP ports are a set: take them in name order.
	ports := append([]string(nil), r.Ports...)
	sort.Strings(ports)
	for _, port := range ports {
		for _, out := range Expand(dev, port, in) {
			h := hop
			h.OutPort = out
			if out == in {
				t.end(append(hops, h), SamePort, fmt.Sprintf("%s would send it back out of %s, where it came in", name, in))
				continue
			}
			ref := fwd.PortRef{Device: name, Port: out}
			if u := usage(used, ref); u != 0 {
				why := fmt.Sprintf("it leaves %s through %s, which it came in by earlier", name, out)
				if u&left != 0 {
					why = fmt.Sprintf("it leaves %s through %s a second time: a forwarding cycle", name, out)
				}
				t.endPath(Path{Hops: append(hops, h), Fate: Loop, Why: why, Cycle: u&left != 0})
				continue
			}
			if ok, why := t.acls(dev, dev.Ports[out].Out, "out "+out, &h); !ok {
				t.end(append(hops, h), DeniedOut, why)
				continue
			}
			peers := t.peers[ref]
			if len(peers) == 0 {
				t.end(append(hops, h), Exited, fmt.Sprintf("it leaves the network through %s %s", name, out))
				continue
			}
			for _, p := range peers {
				next := append(used[:len(used):len(used)], portUse{ref, left})
				t.walk(p.Device, p.Port, append(hops, h), next)
				if t.truncated {
					return
				}
			}
		}
	}
}

// ruleText renders a rule once per trace.
func (t *tracer) ruleText(r *fwd.Rule) string {
	if s, ok := t.texts[r]; ok {
		return s
	}
	if t.texts == nil {
		t.texts = map[*fwd.Rule]string{}
	}
	s := RuleText(r)
	t.texts[r] = s
	return s
}

// Expand turns a VLAN port into its member ports except the incoming one
// (sorted); other ports stand for themselves.
func Expand(dev *fwd.Device, port, in string) []string {
	members, ok := dev.VLANs[port]
	if !ok {
		return []string{port}
	}
	var out []string
	for _, m := range members {
		if m != in {
			out = append(out, m)
		}
	}
	sort.Strings(out)
	return out
}

// acls applies the named ACLs in order; all must permit.
func (t *tracer) acls(dev *fwd.Device, names []string, where string, hop *Hop) (bool, string) {
	for _, name := range names {
		acl := dev.ACLs[name]
		if acl == nil {
			hop.ACLs = append(hop.ACLs, fmt.Sprintf("%s: ACL %s is not defined: denied", where, name))
			return false, fmt.Sprintf("%s %s: ACL %s is applied but not defined", dev.Name, where, name)
		}
		permit, text := t.o.Permit(dev, acl)
		if text == "" {
			text = "no rule matches (implicit deny)"
		}
		verdict := "permit"
		if !permit {
			verdict = "deny"
		}
		hop.ACLs = append(hop.ACLs, fmt.Sprintf("%s: ACL %s %s by %s", where, name, verdict, text))
		if !permit {
			return false, fmt.Sprintf("%s %s: ACL %s denies it (%s)", dev.Name, where, name, text)
		}
	}
	return true, ""
}

// Lookup returns the rule a device applies to a destination: the matching
// rule with the highest priority, then the highest Seq; nil if none.
func Lookup(dev *fwd.Device, dst netip.Addr) *fwd.Rule {
	var best *fwd.Rule
	for i := range dev.Rules {
		r := &dev.Rules[i]
		if !r.Prefix.Contains(dst) {
			continue
		}
		if best == nil || r.Priority > best.Priority || r.Priority == best.Priority && r.Seq > best.Seq {
			best = r
		}
	}
	return best
}

// Decide returns the ACL rule that decides a packet (nil when none
// matches) and whether the packet is permitted.
func Decide(acl *fwd.ACL, p fwd.Packet) (*fwd.ACLRule, bool) {
	rules := acl.Ordered()
	for i := range rules {
		if rules[i].Matches(p) {
			return &rules[i], rules[i].Permit
		}
	}
	return nil, false
}

// RuleText renders a forwarding rule for explanations.
func RuleText(r *fwd.Rule) string {
	s := fmt.Sprintf("%s %s", r.Prefix, r.Action)
	if r.Action == fwd.Forward {
		s += " " + strings.Join(r.Ports, ",")
	}
	if r.Origin != "" {
		s += " (" + r.Origin + ")"
	}
	return s
}
