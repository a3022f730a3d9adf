package dataplane

import (
	"fmt"
	"sort"
	"strings"

	"github.com/preflight-sh/preflight/fwd"
	"github.com/preflight-sh/preflight/tracer"
)

// atomOracle answers the tracer's questions for one atom.
type atomOracle struct {
	m    *Model
	atom int
}

func (o atomOracle) Rule(dev *fwd.Device) *fwd.Rule {
	dm := o.m.dev[dev.Name]
	if dm == nil {
		return nil
	}
	k := dm.byAtom[o.atom]
	if k < 0 || dm.actions[k].Kind == NoRoute {
		return nil
	}
	return dm.actions[k].rule()
}

func (o atomOracle) Permit(dev *fwd.Device, acl *fwd.ACL) (bool, string) {
	if o.m.Opts.ForwardingOnly {
		return true, "ACLs ignored"
	}
	permit := o.m.dev[dev.Name].aclAtom[acl.Name][o.atom]
	if permit {
		return true, "the ACL's permit set"
	}
	return false, ""
}

// Walk follows every packet of an atom from a device, like the concrete
// tracer does for one packet.
func (m *Model) Walk(atom int, start string) ([]tracer.Path, error) {
	return tracer.Walk(m.network(), m.peers(), start, "", atomOracle{m, atom})
}

// network returns the model's network, without its ACLs when they are
// ignored.
func (m *Model) network() *fwd.Network {
	if m.noACL != nil {
		return m.noACL
	}
	return m.Net
}

func (m *Model) peers() map[fwd.PortRef][]fwd.PortRef { return m.peerMap }

// prepareWalks makes what walks and outcome walkers read, once, so they
// may run in parallel.
func (m *Model) prepareWalks() {
	m.peerMap = m.Net.Peers()
	if m.Opts.ForwardingOnly {
		m.noACL = withoutACLs(m.Net)
	}
	m.graph = newPortGraph(m, m.network())
}

// withoutACLs returns n without its ACLs, as a forwarding-only model sees
// it.
func withoutACLs(n *fwd.Network) *fwd.Network {
	out := &fwd.Network{Devices: map[string]*fwd.Device{}, Links: n.Links}
	for name, d := range n.Devices {
		c := *d
		c.Ports, c.ACLs = nil, nil
		out.Devices[name] = &c
	}
	return out
}

// Loop is one forwarding cycle and the traffic caught in it.
type Loop struct {
	// Cycle is the devices and exit ports of the cycle, starting at the
	// smallest name.
	Cycle []string `json:"cycle"`
	// Path is an example path that ends in the cycle.
	Path string `json:"path"`
	// Example is one packet caught in it.
	Example string `json:"example"`
	// Classes is how many equivalence classes are caught in it.
	Classes int `json:"classes"`
}

// Loops traces every atom from every device and returns the distinct
// forwarding cycles found, and how many paths leave through a port they
// came in by earlier (which the cycle count leaves out).
func (m *Model) Loops() ([]Loop, int) {
	f := newLoopFinder(m)
	m.walkEvery(f.add)
	return f.result()
}

// loopFinder gathers forwarding cycles from walks.
type loopFinder struct {
	m         *Model
	byCycle   map[string]*Loop
	reflected int
	// seen holds the cycles class cur has been counted in.
	cur  int
	seen map[string]bool
}

func newLoopFinder(m *Model) *loopFinder {
	return &loopFinder{m: m, byCycle: map[string]*Loop{}, cur: -1, seen: map[string]bool{}}
}

func (f *loopFinder) add(atom int, _ string, paths []tracer.Path) {
	if atom != f.cur {
		f.cur = atom
		clear(f.seen)
	}
	for _, p := range paths {
		if p.Fate != tracer.Loop {
			continue
		}
		if !p.Cycle {
			f.reflected++
			continue
		}
		cyc := cycleOf(p)
		key := strings.Join(cyc, " ")
		l := f.byCycle[key]
		if l == nil {
			ex, _ := f.m.Space.Example(f.m.Atoms[atom])
			l = &Loop{Cycle: cyc, Path: p.String(), Example: ex.String()}
			f.byCycle[key] = l
		}
		if !f.seen[key] {
			f.seen[key] = true
			l.Classes++
		}
	}
}

func (f *loopFinder) result() ([]Loop, int) {
	out := make([]Loop, 0, len(f.byCycle))
	for _, l := range f.byCycle {
		out = append(out, *l)
	}
	sort.Slice(out, func(i, j int) bool { return strings.Join(out[i].Cycle, " ") < strings.Join(out[j].Cycle, " ") })
	return out, f.reflected
}

// cycleOf extracts the repeating part of a looping path, as device[port]
// steps rotated to start at the smallest.
func cycleOf(p tracer.Path) []string {
	last := p.Hops[len(p.Hops)-1]
	start := 0
	for i, h := range p.Hops[:len(p.Hops)-1] {
		if h.Device == last.Device && h.OutPort == last.OutPort {
			start = i
			break
		}
	}
	var steps []string
	for _, h := range p.Hops[start : len(p.Hops)-1] {
		steps = append(steps, fmt.Sprintf("%s[%s]", h.Device, h.OutPort))
	}
	min := 0
	for i := range steps {
		if steps[i] < steps[min] {
			min = i
		}
	}
	return append(steps[min:], steps[:min]...)
}

// Summary is what `preflight dataplane` prints.
type Summary struct {
	Devices            int  `json:"devices"`
	Rules              int  `json:"rules"`
	ACLRules           int  `json:"aclRules"`
	ForwardingOnly     bool `json:"forwardingOnly"`
	EquivalenceClasses int  `json:"equivalence_classes"`
	// ForwardingClasses and ACLClasses partition the packets by the
	// forwarding predicates alone and by the ACL predicates alone (the
	// two partitions APKeep keeps; EquivalenceClasses is their common
	// refinement: packets that behave alike everywhere).
	ForwardingClasses int    `json:"forwarding_classes"`
	ACLClasses        int    `json:"acl_classes"`
	Loops             []Loop `json:"loops"`
	// PortReuse counts paths that leave through a port they came in by
	// earlier without cycling.
	PortReuse int `json:"portReusePaths"`
	// BlackHoles are devices that receive traffic and have no route for it.
	BlackHoles []BlackHoleSite `json:"blackHoles"`
	// Inconsistent lists devices whose ECMP branches for some traffic end
	// differently (some arrive, some are dropped).
	Inconsistent []Inconsistency `json:"multipathInconsistent"`
}

// Summarize computes the summary.
func (m *Model) Summarize() Summary {
	s := Summary{Devices: len(m.Devices), Rules: m.Net.RuleCount(), ForwardingOnly: m.Opts.ForwardingOnly, EquivalenceClasses: len(m.Atoms),
		ForwardingClasses: m.fwdClasses, ACLClasses: len(refine(m.Space.M, m.aclPreds))}
	for _, d := range m.Net.Devices {
		for _, a := range d.ACLs {
			s.ACLRules += len(a.Rules)
		}
	}
	// One walk of every class from every device serves both analyses.
	loops, problems := newLoopFinder(m), newProblemFinder(m)
	m.walkEvery(loops.add, problems.add)
	s.Loops, s.PortReuse = loops.result()
	s.BlackHoles, s.Inconsistent = problems.result()
	if s.Loops == nil {
		s.Loops = []Loop{}
	}
	if s.BlackHoles == nil {
		s.BlackHoles = []BlackHoleSite{}
	}
	if s.Inconsistent == nil {
		s.Inconsistent = []Inconsistency{}
	}
	return s
}
