package dataplane

import (
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"strings"
	"time"

	"github.com/preflight-sh/preflight/bdd"
	"github.com/preflight-sh/preflight/fibdump"
	"github.com/preflight-sh/preflight/fwd"
	"github.com/preflight-sh/preflight/hdr"
)

// Incremental verification, in the manner of APKeep (Zhang et al., NSDI
// 2020): the model is kept up to date one rule update at a time, and each
// update is checked for the loops and black holes it creates, touching only
// the packets whose treatment it changes.
//
// The model keeps two partitions, each the coarsest one its predicates
// respect, and their common refinement:
//
//   - Forwarding atoms: sets of destinations that every device forwards
//     alike, each with its action at every device (so the packets an
//     action of a device takes are the atoms that take it, as APKeep keeps
//     a port's predicate as a set of atoms). They are indexed by a binary
//     trie of every rule's prefix (see pnode): an update walks the trie
//     under its rule's prefix, leaving out the subtrees of the rules of its
//     device that beat it, and so finds the destinations whose best rule
//     changes, the atoms they lie in and the new action of each, and builds
//     the pieces that move, without looking at any other atom or rule.
//   - ACL atoms: sets of headers that every ACL permits or denies alike. An
//     ACL update finds the headers whose verdict changes from the rule's
//     match, the union of the matches of the rules before it (kept per
//     rule) and the rules after it that meet what it decides.
//   - Classes: the non-empty intersections of a forwarding atom and an ACL
//     atom (each forwarding atom keeps the set of ACL atoms it meets). They
//     are the network's equivalence classes, the atoms of Build.
//
// An update splits the atoms its changed set cuts, and merges each piece
// into the atom that already behaves the way the piece now does, if there
// is one (found by a hash of the behaviour): APKeep's AP merging, done at
// every update, since it costs one union. So the atoms are always the
// coarsest partitions, and their counts are Build's at every step.
//
// The check follows each changed forwarding atom, for all the ACL atoms it
// meets at once, from the updated device (or from every device), before
// and after the update (see walker), and compares.

// IncrementalOptions controls an incremental model.
type IncrementalOptions struct {
	// ForwardingOnly ignores ACLs, and ACL updates.
	ForwardingOnly bool
	// FromAllDevices follows the changed classes from every device when
	// checking an update, instead of from the device the update changed
	// only. A new forwarding cycle always passes that device, so both find
	// the same loops; a black hole is judged from every device instead of
	// from that one.
	FromAllDevices bool
}

// UpdateResult is what one update changed and the problems it created.
type UpdateResult struct {
	// Changed counts the equivalence classes (pieces of them) whose
	// treatment changed at the updated device.
	Changed int `json:"changed"`
	// Loops are the forwarding cycles that changed classes enter after the
	// update and did not before (Classes counts those classes).
	Loops []Loop `json:"loops,omitempty"`
	// BlackHoles are the changed classes that some branch delivered or
	// took out of the network before the update, and none does after.
	BlackHoles []LostTraffic `json:"blackHoles,omitempty"`
	// Elapsed is the time the update and its check took.
	Elapsed time.Duration `json:"elapsedNs"`
}

// LostTraffic is traffic that an update stops delivering: a black hole.
type LostTraffic struct {
	// From is the device the traffic was followed from.
	From string `json:"from"`
	// Classes counts the equivalence classes lost.
	Classes int `json:"classes"`
	// One of them is the packets of Headers whose destination is in Dst
	// (Dst ∧ Headers, in the model's Space), kept apart so that the check
	// builds no set for a report nobody reads.
	Dst     bdd.Node `json:"-"`
	Headers bdd.Node `json:"-"`
}

// Incremental is a data-plane model updated one rule at a time. It handles
// IPv4 only. It is not safe for concurrent use.
type Incremental struct {
	// Space holds every set of the model.
	Space *hdr.Space

	opts     IncrementalOptions
	devices  []*incDevice // sorted by name
	devIndex map[string]int32

	// Forwarding atoms: fatoms[i], behaving at device d as action
	// fvec[i*len(devices)+d] of that device.
	fatoms []fatom
	fvec   []int32
	ffree  []int32
	fhash  map[uint64]int32 // behaviour hash → first atom with it
	// The destination trie (node 0 is the root) and its free nodes.
	nodes []pnode
	nfree []int32
	order uint64 // rules inserted so far: the next rule's insertion number

	// ACL atoms, and the ACLs (over every device).
	aatoms []aatom
	afree  []int32
	ahash  map[uint64]int32
	awords int // words of a set of ACL atoms
	acls   []*incACL
	vwords int // words of a set of ACLs

	ports     []incPort
	portIndex map[fwd.PortRef]int32

	// Scratch space reused by every update.
	epoch    uint64 // forwarding updates so far
	path     []int32
	visit    []visitRec
	fgroups  []fgroup
	sets     []pieceSet
	vecBuf   []int32
	startBuf []int32
	agroups  []agroup
	checks   []fcheck
	words    []uint64
	results  []walkResult
	after    walkResult
	walker   walker
}

// incDevice is a device's actions and the packets each takes.
type incDevice struct {
	name  string
	vlans map[string][]string
	// actions[0] is "no route"; outs[k] are the ports action k sends out of
	// (for each of its ports, sorted: the port, or a VLAN's members). The
	// packets an action takes are the forwarding atoms that take it, as
	// APKeep keeps a port's predicate as a set of atoms.
	actions []Action
	outs    [][]outGroup
	index   map[actionKey]int32
	acls    map[string]int32 // name → index in Incremental.acls
}

// outGroup is one port of a forwarding action: the port itself, or the
// member ports of a VLAN (sorted), all but the incoming one taken.
type outGroup struct {
	ports []int32
	vlan  bool
}

type actionKey struct {
	kind  ActionKind
	ports string // sorted, separated by NUL
}

// fatom is a forwarding atom.
type fatom struct {
	set   bdd.Node // destinations only
	hash  uint64   // of its behaviour
	next  int32    // next atom with the same hash, or -1
	pairs []uint64 // the ACL atoms it meets
	live  bool
	// In the update of number epoch, group is its last group (see
	// groupOf).
	epoch uint64
	group int32
}

// aatom is an ACL atom.
type aatom struct {
	set bdd.Node
	// dst is set projected onto the destination: the destinations it has
	// headers for, to test which forwarding atoms it meets.
	dst    bdd.Node
	hash   uint64
	next   int32
	permit []uint64 // the ACLs that permit it
	live   bool
}

// incPort is a port of the model.
type incPort struct {
	dev     int32 // -1: a device the model does not describe
	name    string
	peers   []int32
	in, out []int32 // ACLs applied to traffic entering and leaving
}

// NewIncremental builds an incremental model of n: its devices, links,
// VLANs and port ACLs, and its rules, inserted one by one without checks.
// Later changes to n are not seen by the model.
func NewIncremental(n *fwd.Network, opts IncrementalOptions) (*Incremental, error) {
	if HasIPv6(n) {
		return nil, errors.New("the incremental model handles IPv4 only, and this network has IPv6 rules or ACLs; use Build")
	}
	x := &Incremental{
		Space:     hdr.NewSpace(false),
		opts:      opts,
		devIndex:  map[string]int32{},
		fhash:     map[uint64]int32{},
		ahash:     map[uint64]int32{},
		portIndex: map[fwd.PortRef]int32{},
		awords:    1,
	}
	M := x.Space.M
	names := n.DeviceNames()
	for i, name := range names {
		x.devIndex[name] = int32(i)
		x.devices = append(x.devices, &incDevice{
			name:    name,
			vlans:   n.Devices[name].VLANs,
			actions: []Action{{Kind: NoRoute}},
			outs:    [][]outGroup{nil},
			index:   map[actionKey]int32{{kind: NoRoute}: 0},
			acls:    map[string]int32{},
		})
	}
	for _, l := range n.Links {
		from, to := x.port(l.From), x.port(l.To)
		x.ports[from].peers = append(x.ports[from].peers, to)
	}
	// One forwarding atom and one ACL atom: everything, routed nowhere and
	// permitted by no ACL (an ACL with no rules denies everything).
	x.fvec = make([]int32, len(names))
	x.fatoms = []fatom{{set: M.True(), pairs: []uint64{1}, next: -1, live: true}}
	x.fatoms[0].hash = fhashOf(x.fvec)
	x.fhash[x.fatoms[0].hash] = 0
	x.aatoms = []aatom{{set: M.True(), dst: M.True(), next: -1, live: true}}
	x.ahash[0] = 0
	x.nodes = []pnode{{}}
	if !opts.ForwardingOnly {
		// ACLs named by ports without being defined deny everything, as an
		// ACL with no rules does: they are declared with no rules.
		for i, name := range names {
			d := n.Devices[name]
			for _, acl := range sortedKeys(d.ACLs) {
				x.declareACL(int32(i), acl)
			}
			for _, port := range sortedKeys(d.Ports) {
				p := x.port(fwd.PortRef{Device: name, Port: port})
				for _, acl := range d.Ports[port].In {
					x.ports[p].in = append(x.ports[p].in, x.declareACL(int32(i), acl))
				}
				for _, acl := range d.Ports[port].Out {
					x.ports[p].out = append(x.ports[p].out, x.declareACL(int32(i), acl))
				}
			}
		}
	}
	for i, name := range names {
		d := n.Devices[name]
		for j := range d.Rules {
			if _, err := x.applyRule(int32(i), &d.Rules[j], true, false); err != nil {
				return nil, fmt.Errorf("device %s: %w", name, err)
			}
		}
		if opts.ForwardingOnly {
			continue
		}
		for _, acl := range sortedKeys(d.ACLs) {
			for j := range d.ACLs[acl].Rules {
				if _, err := x.applyACLRule(int32(i), acl, &d.ACLs[acl].Rules[j], true, false); err != nil {
					return nil, fmt.Errorf("device %s: ACL %s: %w", name, acl, err)
				}
			}
		}
	}
	return x, nil
}

// Apply applies one update (the insert or delete of a forwarding rule or
// of an ACL rule, as fibdump.ApplyUpdate does to a network) and checks the
// classes it changes for new loops and black holes. A delete removes the
// earliest inserted rule equal to the update's (for a forwarding rule: the
// same prefix, priority, and action, ports compared as a set); deleting a
// rule that is not installed is an error, as is an update on a device the
// model does not have. Under ForwardingOnly, ACL updates are ignored.
func (x *Incremental) Apply(u fibdump.Update) (UpdateResult, error) {
	start := time.Now()
	d, ok := x.devIndex[u.Device]
	if !ok {
		return UpdateResult{}, fmt.Errorf("update on device %s, which the model does not have; expected one of its %d devices", u.Device, len(x.devices))
	}
	var res UpdateResult
	var err error
	switch {
	case u.Rule != nil && u.ACLRule == nil:
		res, err = x.applyRule(d, u.Rule, u.Insert, true)
	case u.ACLRule != nil && u.Rule == nil:
		if !x.opts.ForwardingOnly {
			res, err = x.applyACLRule(d, u.ACL, u.ACLRule, u.Insert, true)
		}
	default:
		err = errors.New("update must carry exactly one of a forwarding rule and an ACL rule")
	}
	res.Elapsed = time.Since(start)
	return res, err
}

// Classes returns the number of equivalence classes: packets that every
// forwarding table and every ACL treat alike (Build's atoms).
func (x *Incremental) Classes() int {
	c := 0
	for i := range x.fatoms {
		if x.fatoms[i].live {
			for _, w := range x.fatoms[i].pairs {
				c += bits.OnesCount64(w)
			}
		}
	}
	return c
}

// ForwardingClasses returns the number of forwarding atoms: destinations
// that every forwarding table treats alike.
func (x *Incremental) ForwardingClasses() int { return len(x.fatoms) - len(x.ffree) }

// ACLClasses returns the number of ACL atoms: headers that every ACL
// permits or denies alike (1 when ACLs are ignored).
func (x *Incremental) ACLClasses() int { return len(x.aatoms) - len(x.afree) }

// Predicates returns a device's actions that take some packets, and the
// packets each takes: the union of the forwarding atoms that take it.
func (x *Incremental) Predicates(device string) ([]Action, []bdd.Node) {
	d, ok := x.devIndex[device]
	if !ok {
		return nil, nil
	}
	M := x.Space.M
	dev := x.devices[d]
	sets := make([]bdd.Node, len(dev.actions))
	for i := range x.fatoms {
		if x.fatoms[i].live {
			k := x.vec(int32(i))[d]
			sets[k] = M.Or(sets[k], x.fatoms[i].set)
		}
	}
	var actions []Action
	var preds []bdd.Node
	for k, p := range sets {
		if !p.IsFalse() {
			actions = append(actions, dev.actions[k])
			preds = append(preds, p)
		}
	}
	return actions, preds
}

// WithoutRules returns a copy of n with its devices, links, VLANs, port
// ACLs and ACL declarations but no forwarding rules and no ACL rules: the
// state a Stanford/APKeep update trace starts from. The copy shares the
// links, VLANs and port ACL maps with n.
func WithoutRules(n *fwd.Network) *fwd.Network {
	out := &fwd.Network{Devices: map[string]*fwd.Device{}, Links: n.Links}
	for name, d := range n.Devices {
		c := *d
		c.Rules = nil
		if d.ACLs != nil {
			c.ACLs = map[string]*fwd.ACL{}
			for acl := range d.ACLs {
				c.ACLs[acl] = &fwd.ACL{Name: acl}
			}
		}
		out.Devices[name] = &c
	}
	return out
}

// port returns the index of a port, adding it if needed.
func (x *Incremental) port(ref fwd.PortRef) int32 {
	if p, ok := x.portIndex[ref]; ok {
		return p
	}
	d, ok := x.devIndex[ref.Device]
	if !ok {
		d = -1
	}
	p := int32(len(x.ports))
	x.ports = append(x.ports, incPort{dev: d, name: ref.Port})
	x.portIndex[ref] = p
	return p
}

// intern returns the index of a rule's action at device d, adding it if
// needed.
func (x *Incremental) intern(d int32, r *fwd.Rule) int32 {
	dev := x.devices[d]
	key := keyOf(r)
	if k, ok := dev.index[key]; ok {
		return k
	}
	rule := *r
	a := actionOf(&rule)
	var outs []outGroup
	for _, p := range a.Ports {
		members, vlan := dev.vlans[p]
		if !vlan {
			members = []string{p}
		}
		g := outGroup{vlan: vlan}
		for _, m := range slices.Sorted(slices.Values(members)) {
			g.ports = append(g.ports, x.port(fwd.PortRef{Device: dev.name, Port: m}))
		}
		outs = append(outs, g)
	}
	k := int32(len(dev.actions))
	dev.actions = append(dev.actions, a)
	dev.outs = append(dev.outs, outs)
	dev.index[key] = k
	return k
}

// keyOf returns the key of a rule's action, without allocating for a rule
// with one port.
func keyOf(r *fwd.Rule) actionKey {
	switch r.Action {
	case fwd.Deliver:
		return actionKey{kind: Deliver}
	case fwd.Drop:
		return actionKey{kind: Drop}
	}
	if len(r.Ports) == 1 {
		return actionKey{kind: Forward, ports: r.Ports[0]}
	}
	return actionKey{kind: Forward, ports: strings.Join(slices.Sorted(slices.Values(r.Ports)), "\x00")}
}

// mix is the finaliser of SplitMix64: a bijection that spreads every input
// bit over the output.
func mix(z uint64) uint64 {
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// fz is the hash term of action k at device d; a forwarding behaviour's
// hash is the XOR of the terms of its devices.
func fz(d, k int32) uint64 { return mix(uint64(d)<<32 | uint64(uint32(k))) }

// az is the hash term of ACL i permitting; an ACL behaviour's hash is the
// XOR of the terms of the ACLs that permit.
func az(i int) uint64 { return mix(uint64(i) | 1<<63) }

// fhashOf returns the hash of a forwarding behaviour.
func fhashOf(vec []int32) uint64 {
	h := uint64(0)
	for d, k := range vec {
		h ^= fz(int32(d), k)
	}
	return h
}

// vec returns forwarding atom i's behaviour.
func (x *Incremental) vec(i int32) []int32 {
	n := int32(len(x.devices))
	return x.fvec[i*n : (i+1)*n]
}

// findF returns the forwarding atom with behaviour vec (of hash h), or -1.
func (x *Incremental) findF(h uint64, vec []int32) int32 {
	i, ok := x.fhash[h]
	if !ok {
		return -1
	}
	for ; i >= 0; i = x.fatoms[i].next {
		if slices.Equal(x.vec(i), vec) {
			return i
		}
	}
	return -1
}

func (x *Incremental) addFHash(i int32) {
	addChained(x.fhash, i, x.fatoms[i].hash, func(j int32) *int32 { return &x.fatoms[j].next })
}

func (x *Incremental) removeFHash(i int32) {
	removeChained(x.fhash, i, x.fatoms[i].hash, func(j int32) *int32 { return &x.fatoms[j].next })
}

// addChained puts atom i first in the chain of atoms with hash h; next
// gives an atom's link to the following one (-1 ends the chain).
func addChained(head map[uint64]int32, i int32, h uint64, next func(int32) *int32) {
	*next(i) = -1
	if j, ok := head[h]; ok {
		*next(i) = j
	}
	head[h] = i
}

// removeChained unlinks atom i from the chain of atoms with hash h.
func removeChained(head map[uint64]int32, i int32, h uint64, next func(int32) *int32) {
	j := head[h]
	if j == i {
		if n := *next(i); n >= 0 {
			head[h] = n
		} else {
			delete(head, h)
		}
		return
	}
	for *next(j) != i {
		j = *next(j)
	}
	*next(j) = *next(i)
}

// newFAtom returns a new forwarding atom, behaving as vec.
func (x *Incremental) newFAtom(set bdd.Node, vec []int32, h uint64, pairs []uint64) int32 {
	var i int32
	if n := len(x.ffree); n > 0 {
		i = x.ffree[n-1]
		x.ffree = x.ffree[:n-1]
		copy(x.vec(i), vec)
		copy(x.fatoms[i].pairs, pairs)
	} else {
		i = int32(len(x.fatoms))
		x.fatoms = append(x.fatoms, fatom{pairs: slices.Clone(pairs)})
		x.fvec = append(x.fvec, vec...)
	}
	a := &x.fatoms[i]
	a.set, a.hash, a.live = set, h, true
	x.addFHash(i)
	return i
}

func (x *Incremental) freeFAtom(i int32) {
	a := &x.fatoms[i]
	a.live, a.set = false, x.Space.M.False()
	clear(a.pairs)
	x.ffree = append(x.ffree, i)
}

// findA returns the ACL atom with behaviour permit (of hash h), or -1.
func (x *Incremental) findA(h uint64, permit []uint64) int32 {
	i, ok := x.ahash[h]
	if !ok {
		return -1
	}
	for ; i >= 0; i = x.aatoms[i].next {
		if slices.Equal(x.aatoms[i].permit, permit) {
			return i
		}
	}
	return -1
}

func (x *Incremental) addAHash(i int32) {
	addChained(x.ahash, i, x.aatoms[i].hash, func(j int32) *int32 { return &x.aatoms[j].next })
}

func (x *Incremental) removeAHash(i int32) {
	removeChained(x.ahash, i, x.aatoms[i].hash, func(j int32) *int32 { return &x.aatoms[j].next })
}

// Sets of small integers (ACL atoms, ACLs) are bit sets.

func hasBit(s []uint64, i int32) bool { return s[i>>6]&(1<<(i&63)) != 0 }
func setBit(s []uint64, i int32)      { s[i>>6] |= 1 << (i & 63) }
func clearBit(s []uint64, i int32)    { s[i>>6] &^= 1 << (i & 63) }

func isEmpty(s []uint64) bool {
	for _, w := range s {
		if w != 0 {
			return false
		}
	}
	return true
}

func count(s []uint64) int {
	c := 0
	for _, w := range s {
		c += bits.OnesCount64(w)
	}
	return c
}

// forBits calls f with each element of s, in increasing order.
func forBits(s []uint64, f func(int32)) {
	for i, w := range s {
		for w != 0 {
			f(int32(i*64 + bits.TrailingZeros64(w)))
			w &= w - 1
		}
	}
}
