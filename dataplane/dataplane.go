// Package dataplane is the exhaustive data-plane verifier. It turns a
// forwarding model into predicates over packet headers (BDDs): for every
// device, the set of packets each forwarding action takes, and for every
// ACL the set it permits. The atoms — the coarsest partition of all
// packets that every predicate respects — are the network's equivalence
// classes: packets in one atom are treated alike everywhere, so checking
// one behaviour per atom checks every packet.
package dataplane

import (
	"fmt"
	"sort"
	"strings"

	"github.com/preflight-sh/preflight/bdd"
	"github.com/preflight-sh/preflight/fwd"
	"github.com/preflight-sh/preflight/hdr"
)

// Options controls how a model is built.
type Options struct {
	// ForwardingOnly ignores ACLs.
	ForwardingOnly bool
}

// ActionKind is what a device does with an atom.
type ActionKind uint8

// Action kinds.
const (
	NoRoute ActionKind = iota
	Forward
	Deliver
	Drop
)

// Action is one distinct behaviour of a device: deliver, drop, no route,
// or forward out of a set of ports (several ports: ECMP).
type Action struct {
	Kind  ActionKind
	Ports []string
	// Rule is an example rule with this action, for explanations.
	Rule *fwd.Rule

	asRule *fwd.Rule
}

// rule returns the action as a rule: its example rule with the action's
// sorted ports (nil for no route).
func (a *Action) rule() *fwd.Rule { return a.asRule }

func (a Action) key() string {
	return fmt.Sprintf("%d:%s", a.Kind, strings.Join(a.Ports, ","))
}

// Model is a network compiled to atoms.
type Model struct {
	Net   *fwd.Network
	Space *hdr.Space
	Opts  Options
	// Atoms are the equivalence classes, as BDDs over the header space.
	Atoms []bdd.Node
	// Devices are the device names, sorted.
	Devices []string

	dev   map[string]*deviceModel
	noACL *fwd.Network
	// fwdClasses counts the classes of the forwarding tables alone;
	// aclPreds are the ACL permit sets.
	fwdClasses int
	aclPreds   []bdd.Node
	// examples caches one packet per atom.
	examples map[int]fwd.Packet
	peerMap  map[fwd.PortRef][]fwd.PortRef
	graph    *portGraph
}

// deviceModel is one device's predicates and, per atom, its behaviour.
type deviceModel struct {
	actions []Action
	// preds holds, per action, the packets it takes; built only when some
	// device's table is not longest-prefix-match (see BuildIn).
	preds []bdd.Node
	// lpm says the table is longest-prefix-match: its rules are in the
	// shared prefix tries, under id (the device's number among those
	// compiled together), and its last action is "no route".
	lpm bool
	id  int32
	// byAtom[atom] is the index of the action the atom takes.
	byAtom []int32
	// acl[name] is the permit set of each ACL; aclAtom[name][atom] says
	// whether the atom is permitted.
	acl     map[string]bdd.Node
	aclAtom map[string][]bool
}

// Build compiles a network in a header space of its own.
func Build(n *fwd.Network, opts Options) (*Model, error) {
	return BuildIn(hdr.NewSpace(HasIPv6(n)), n, opts)
}

// BuildIn compiles a network in a given header space, so that models of
// two versions of a network can be compared class by class.
func BuildIn(space *hdr.Space, n *fwd.Network, opts Options) (*Model, error) {
	ms, err := buildJoint(space, []*fwd.Network{n}, opts)
	if err != nil {
		return nil, err
	}
	return ms[0], nil
}

// BuildPair compiles two versions of a network over one set of classes:
// the joint classes, on which both versions are uniform. Class i of one
// model is class i of the other, so they can be compared class by class.
func BuildPair(space *hdr.Space, a, b *fwd.Network, opts Options) (*Model, *Model, error) {
	ms, err := buildJoint(space, []*fwd.Network{a, b}, opts)
	if err != nil {
		return nil, nil, err
	}
	return ms[0], ms[1], nil
}

// buildJoint compiles networks over the classes of all of them together.
func buildJoint(space *hdr.Space, nets []*fwd.Network, opts Options) ([]*Model, error) {
	models := make([]*Model, len(nets))
	var devs []*deviceModel
	allLPM := true
	v4, v6 := newPrefixTries(nets)
	for k, n := range nets {
		m := &Model{Net: n, Space: space, Opts: opts, Devices: n.DeviceNames(), dev: map[string]*deviceModel{}}
		for _, name := range m.Devices {
			dm := &deviceModel{id: int32(len(devs)), acl: map[string]bdd.Node{}, aclAtom: map[string][]bool{}}
			if err := m.compileDevice(n.Devices[name], dm, v4, v6); err != nil {
				return nil, fmt.Errorf("device %s: %w", name, err)
			}
			for k := range dm.actions {
				if a := &dm.actions[k]; a.Rule != nil {
					r := *a.Rule
					r.Ports = a.Ports
					a.asRule = &r
				}
			}
			m.dev[name] = dm
			devs = append(devs, dm)
			allLPM = allLPM && dm.lpm
		}
		models[k] = m
	}
	v4.file()
	v6.file()
	// Forwarding classes: straight from the prefix tries when every table
	// is longest-prefix-match, else by refining the per-action sets.
	first := models[0]
	var atoms []bdd.Node
	var byAtom [][]int32
	if allLPM {
		atoms, byAtom = first.trieAtoms(devs, v4, v6)
	} else {
		var preds []bdd.Node
		for _, dm := range devs {
			if dm.lpm {
				first.lpmPreds(dm, v4, v6)
			}
			preds = append(preds, dm.preds...)
		}
		atoms = refine(space.M, preds)
		for _, dm := range devs {
			byAtom = append(byAtom, actionsByAtom(space.M, atoms, dm))
		}
	}
	fwdClasses := len(atoms)
	// ACLs refine the forwarding classes further.
	var aclPreds []bdd.Node
	for _, m := range models {
		aclPreds = append(aclPreds, m.aclPredicates()...)
	}
	atoms, parent := refineTracked(space.M, atoms, aclPreds)
	row := 0
	for _, m := range models {
		m.Atoms, m.fwdClasses = atoms, fwdClasses
		for _, name := range m.Devices {
			dm := m.dev[name]
			dm.byAtom = byAtom[row]
			if len(atoms) > fwdClasses {
				dm.byAtom = make([]int32, len(atoms))
				for a, p := range parent {
					dm.byAtom[a] = byAtom[row][p]
				}
			}
			row++
			m.classifyACLs(dm)
		}
		m.prepareWalks()
	}
	return models, nil
}

// aclPredicates collects every ACL's permit set, in a fixed order.
func (m *Model) aclPredicates() []bdd.Node {
	var out []bdd.Node
	for _, name := range m.Devices {
		dm := m.dev[name]
		for _, acl := range sortedKeys(dm.acl) {
			out = append(out, dm.acl[acl])
		}
	}
	m.aclPreds = out
	return out
}

// HasIPv6 reports whether a network has IPv6 rules or ACLs (and so needs a
// dual-stack header space).
func HasIPv6(n *fwd.Network) bool {
	for _, d := range n.Devices {
		for _, r := range d.Rules {
			if r.Prefix.Addr().Is6() {
				return true
			}
		}
		for _, a := range d.ACLs {
			for _, r := range a.Rules {
				if r.Src.Addr.Is6() || r.Dst.Addr.Is6() {
					return true
				}
			}
		}
	}
	return false
}

// compileDevice computes a device's actions and the packets that take
// each (a longest-prefix-match table goes into the shared prefix tries),
// and the permit set of each of its ACLs.
func (m *Model) compileDevice(d *fwd.Device, dm *deviceModel, v4, v6 *prefixTrie) error {
	var err error
	if isLPM(d.Rules) {
		err = m.compileLPM(d, dm, v4, v6)
	} else {
		err = m.compileOrdered(d, dm)
	}
	if err != nil {
		return err
	}
	if !m.Opts.ForwardingOnly {
		for name, acl := range d.ACLs {
			p, err := m.Space.ACLPermit(acl)
			if err != nil {
				return fmt.Errorf("ACL %s: %w", name, err)
			}
			dm.acl[name] = p
		}
	}
	return nil
}

// isLPM reports whether every rule's priority is its prefix length, so the
// table is a longest-prefix-match table.
func isLPM(rules []fwd.Rule) bool {
	for i := range rules {
		if rules[i].Priority != rules[i].Prefix.Bits() {
			return false
		}
	}
	return true
}

// compileLPM adds a longest-prefix-match table to the shared prefix tries
// (one per address family); the last action is "no route".
func (m *Model) compileLPM(d *fwd.Device, dm *deviceModel, v4, v6 *prefixTrie) error {
	order := make([]int, len(d.Rules))
	for i := range order {
		order[i] = i
	}
	// Insert in increasing Seq so that, for a prefix listed twice, the
	// later rule replaces the earlier one.
	sort.SliceStable(order, func(a, b int) bool { return d.Rules[order[a]].Seq < d.Rules[order[b]].Seq })
	// Actions by kind and port list ("" for deliver and drop); a rule with
	// one port is looked up without building a key.
	var index [Drop + 1]map[string]int
	dm.lpm = true
	for _, i := range order {
		r := &d.Rules[i]
		kind, ports := actionKind(r), ""
		switch {
		case kind != Forward:
		case len(r.Ports) == 1:
			ports = r.Ports[0]
		default:
			ports = strings.Join(actionOf(r).Ports, ",")
		}
		if index[kind] == nil {
			index[kind] = map[string]int{}
		}
		k, ok := index[kind][ports]
		if !ok {
			k = len(dm.actions)
			index[kind][ports] = k
			dm.actions = append(dm.actions, actionOf(r))
		}
		addr := r.Prefix.Masked().Addr()
		if addr.Is4() {
			b := addr.As4()
			v4.insert(b[:], r.Prefix.Bits(), dm.id, int32(k))
			continue
		}
		if !m.Space.IPv6() {
			return fmt.Errorf("rule %s: IPv6 prefix in an IPv4-only space", r.Prefix)
		}
		b := addr.As16()
		v6.insert(b[:], r.Prefix.Bits(), dm.id, int32(k))
	}
	dm.actions = append(dm.actions, Action{Kind: NoRoute})
	return nil
}

// lpmPreds builds a longest-prefix-match device's per-action sets from the
// shared tries.
func (m *Model) lpmPreds(dm *deviceModel, v4, v6 *prefixTrie) {
	M := m.Space.M
	n := len(dm.actions) - 1
	off := 0
	if m.Space.IPv6() {
		off = 96
	}
	sets := lpmSets(m.Space, v4, dm.id, off, n)
	if m.Space.IPv6() {
		mapped := m.Space.MappedDst()
		other := lpmSets(m.Space, v6, dm.id, 0, n)
		for i := range sets {
			sets[i] = M.Or(M.And(mapped, sets[i]), M.Diff(other[i], mapped))
		}
	}
	dm.preds = sets
}

// compileOrdered handles any priorities: rules in decision order
// (priority, then Seq, highest first), each taking what no earlier rule
// took.
func (m *Model) compileOrdered(d *fwd.Device, dm *deviceModel) error {
	M := m.Space.M
	order := make([]int, len(d.Rules))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		ra, rb := &d.Rules[order[a]], &d.Rules[order[b]]
		if ra.Priority != rb.Priority {
			return ra.Priority > rb.Priority
		}
		return ra.Seq > rb.Seq
	})
	index := map[string]int{}
	covered := M.False()
	for _, i := range order {
		r := &d.Rules[i]
		match, err := m.Space.DstPrefix(r.Prefix)
		if err != nil {
			return fmt.Errorf("rule %s: %w", r.Prefix, err)
		}
		hit := M.Diff(match, covered)
		if hit.IsFalse() {
			continue
		}
		covered = M.Or(covered, match)
		a := actionOf(r)
		key := a.key()
		k, ok := index[key]
		if !ok {
			k = len(dm.actions)
			index[key] = k
			dm.actions = append(dm.actions, a)
			dm.preds = append(dm.preds, M.False())
		}
		dm.preds[k] = M.Or(dm.preds[k], hit)
	}
	if rest := M.Not(covered); !rest.IsFalse() {
		dm.actions = append(dm.actions, Action{Kind: NoRoute})
		dm.preds = append(dm.preds, rest)
	}
	return nil
}

func actionKind(r *fwd.Rule) ActionKind {
	switch r.Action {
	case fwd.Deliver:
		return Deliver
	case fwd.Drop:
		return Drop
	}
	return Forward
}

func actionOf(r *fwd.Rule) Action {
	switch r.Action {
	case fwd.Deliver:
		return Action{Kind: Deliver, Rule: r}
	case fwd.Drop:
		return Action{Kind: Drop, Rule: r}
	}
	ports := append([]string(nil), r.Ports...)
	sort.Strings(ports)
	return Action{Kind: Forward, Ports: ports, Rule: r}
}

// refine returns the atoms of a set of predicates: the non-empty
// intersections of each predicate or its complement, over all predicates.
func refine(M *bdd.Manager, preds []bdd.Node) []bdd.Node {
	atoms, _ := refineTracked(M, []bdd.Node{M.True()}, preds)
	return atoms
}

// refineTracked splits atoms by every predicate and says, for each new
// atom, which of the given atoms it came from.
func refineTracked(M *bdd.Manager, atoms []bdd.Node, preds []bdd.Node) ([]bdd.Node, []int) {
	parent := make([]int, len(atoms))
	for i := range parent {
		parent[i] = i
	}
	for _, p := range preds {
		if p.IsTrue() || p.IsFalse() {
			continue
		}
		next, nextParent := atoms[:0:0], parent[:0:0]
		for i, a := range atoms {
			in := M.And(a, p)
			if in.IsFalse() || in == a {
				next, nextParent = append(next, a), append(nextParent, parent[i])
				continue
			}
			next, nextParent = append(next, in, M.Diff(a, p)), append(nextParent, parent[i], parent[i])
		}
		atoms, parent = next, nextParent
	}
	return atoms, parent
}

// actionsByAtom says, for every atom, which action of the device takes it.
func actionsByAtom(M *bdd.Manager, atoms []bdd.Node, dm *deviceModel) []int32 {
	out := make([]int32, len(atoms))
	for i, a := range atoms {
		out[i] = -1
		for k, p := range dm.preds {
			if !M.And(a, p).IsFalse() {
				out[i] = int32(k)
				break
			}
		}
	}
	return out
}

// classifyACLs records which atoms each ACL of the device permits.
func (m *Model) classifyACLs(dm *deviceModel) {
	M := m.Space.M
	for name, p := range dm.acl {
		permit := make([]bool, len(m.Atoms))
		for i, a := range m.Atoms {
			permit[i] = !M.And(a, p).IsFalse()
		}
		dm.aclAtom[name] = permit
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// AtomOf returns the index of the class a packet is in (-1 if none, which
// cannot happen for a packet of the space's families).
func (m *Model) AtomOf(p fwd.Packet) int {
	for i, a := range m.Atoms {
		if m.Space.Contains(a, hdr.Packet(p)) {
			return i
		}
	}
	return -1
}
