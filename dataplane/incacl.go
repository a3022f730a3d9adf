package dataplane

import (
	"fmt"
	"slices"
	"sort"

	"github.com/preflight-sh/preflight/bdd"
	"github.com/preflight-sh/preflight/fwd"
)

// incACL is an ACL of the incremental model.
type incACL struct {
	dev   int32
	rules []aclEntry // in evaluation order
	// atoms are the ACL atoms it permits.
	atoms []uint64
}

// aclEntry is an ACL rule with its match and the union of the matches of
// the rules before it. (Rules are mostly added and removed at the end, as
// in the Stanford trace, where the unions before them stay as they are.)
type aclEntry struct {
	rule  fwd.ACLRule
	match bdd.Node
	above bdd.Node
	order uint64 // insertion number
}

// agroup is an ACL atom that an ACL update cuts: piece changes verdict.
// pieceDst and restDst are piece and rest projected onto the destination.
type agroup struct {
	atom              int32
	piece, rest       bdd.Node
	pieceDst, restDst bdd.Node
	whole             bool
	final             int32 // the atom piece is part of after the update
}

// fcheck is a forwarding atom followed to check an ACL update: mask holds
// the ACL atoms whose changed pieces it meets, before holds the index of
// its walks before the update.
type fcheck struct {
	atom   int32
	mask   int // offset in Incremental.words
	before int
}

// declareACL returns the index of ACL name of device d, adding it (with no
// rules: it denies everything) if needed.
func (x *Incremental) declareACL(d int32, name string) int32 {
	if i, ok := x.devices[d].acls[name]; ok {
		return i
	}
	i := int32(len(x.acls))
	x.acls = append(x.acls, &incACL{dev: d, atoms: make([]uint64, x.awords)})
	x.devices[d].acls[name] = i
	if len(x.acls) > 64*x.vwords {
		x.vwords++
		for j := range x.aatoms {
			x.aatoms[j].permit = append(x.aatoms[j].permit, 0)
		}
	}
	return i
}

// applyACLRule inserts or deletes a rule of ACL name of device d and, when
// check is set, checks what it changed.
func (x *Incremental) applyACLRule(d int32, name string, r *fwd.ACLRule, insert, check bool) (UpdateResult, error) {
	if r.Src.Addr.Is6() || r.Dst.Addr.Is6() {
		return UpdateResult{}, fmt.Errorf("ACL %s: the incremental model handles IPv4 only", name)
	}
	id, ok := x.devices[d].acls[name]
	if !ok && !insert {
		return UpdateResult{}, fmt.Errorf("delete of a rule of ACL %s on %s, which has no such ACL; expected an earlier insert", name, x.devices[d].name)
	}
	if !ok {
		id = x.declareACL(d, name)
	}
	acl := x.acls[id]
	pos := -1
	if insert {
		match, err := x.Space.ACLRule(*r)
		if err != nil {
			return UpdateResult{}, fmt.Errorf("ACL %s: %w", name, err)
		}
		// After the rules that come first: higher priority, or equal
		// priority and higher Seq, or equal both and inserted earlier.
		pos = sort.Search(len(acl.rules), func(j int) bool {
			e := &acl.rules[j].rule
			return r.Priority > e.Priority || r.Priority == e.Priority && r.Seq > e.Seq
		})
		acl.rules = slices.Insert(acl.rules, pos, aclEntry{rule: *r, match: match, order: x.order})
		x.order++
	} else {
		for j := range acl.rules {
			if sameACLRule(&acl.rules[j].rule, r) && (pos < 0 || acl.rules[j].order < acl.rules[pos].order) {
				pos = j
			}
		}
		if pos < 0 {
			return UpdateResult{}, fmt.Errorf("delete of a rule of ACL %s on %s, which is not installed; expected an earlier insert of a rule with the same fields", name, x.devices[d].name)
		}
	}
	M := x.Space.M
	if insert {
		acl.rules[pos].above = x.above(acl, pos)
		for j := pos + 1; j < len(acl.rules); j++ {
			acl.rules[j].above = M.Or(acl.rules[j].above, acl.rules[pos].match)
		}
	}
	delta := x.decided(acl, pos)
	if !insert {
		acl.rules = slices.Delete(acl.rules, pos, pos+1)
		for j := pos; j < len(acl.rules); j++ {
			acl.rules[j].above = x.above(acl, j)
		}
	}
	if delta.IsFalse() {
		return UpdateResult{}, nil
	}
	return x.flip(id, delta, check), nil
}

// above returns the union of the matches of the rules of an ACL before
// rule pos, from the union before the rule before it.
func (x *Incremental) above(acl *incACL, pos int) bdd.Node {
	if pos == 0 {
		return x.Space.M.False()
	}
	return x.Space.M.Or(acl.rules[pos-1].above, acl.rules[pos-1].match)
}

// decided returns the headers whose verdict rule pos of an ACL decides
// and the rules after it would decide otherwise: what inserting or
// deleting the rule changes. Of the rules after it, only those that meet
// what it decides take part.
func (x *Incremental) decided(acl *incACL, pos int) bdd.Node {
	M := x.Space.M
	r := &acl.rules[pos]
	eff := M.Diff(r.match, r.above)
	// The verdict of the later rules over eff.
	later, rest := M.False(), eff
	for j := pos + 1; j < len(acl.rules) && !rest.IsFalse(); j++ {
		e := &acl.rules[j]
		if !M.Intersects(rest, e.match) {
			continue
		}
		hit := M.And(rest, e.match)
		if e.rule.Permit {
			later = M.Or(later, hit)
		}
		rest = M.Diff(rest, hit)
	}
	if r.rule.Permit {
		return M.Diff(eff, later)
	}
	return later
}

// sameACLRule reports whether two ACL rules have the same fields (Seq and
// Text aside), as fibdump.ApplyUpdate matches a delete.
func sameACLRule(a, b *fwd.ACLRule) bool {
	return a.Permit == b.Permit && a.Priority == b.Priority && a.Proto == b.Proto &&
		a.Src == b.Src && a.Dst == b.Dst && a.SrcPort == b.SrcPort && a.DstPort == b.DstPort
}

// flip updates the model after the verdict of ACL id changed over delta:
// the ACL atoms delta cuts are split, and each piece joins the atom that
// behaves as it now does, or becomes one. When check is set, the classes
// of the changed pieces are followed through the network before and after,
// for new loops and black holes.
func (x *Incremental) flip(id int32, delta bdd.Node, check bool) UpdateResult {
	M := x.Space.M
	groups := x.agroups[:0]
	for i := range x.aatoms {
		a := &x.aatoms[i]
		if !a.live {
			continue
		}
		// (And makes no node when the result is empty.)
		if piece := M.And(a.set, delta); !piece.IsFalse() {
			rest := M.Diff(a.set, piece)
			groups = append(groups, agroup{atom: int32(i), piece: piece, rest: rest,
				pieceDst: x.dstOf(piece), restDst: x.dstOf(rest)})
		}
	}
	x.agroups = groups
	var res UpdateResult

	// The forwarding atoms that meet a changed piece, and which pieces.
	W := x.awords
	x.words = x.words[:0]
	checks := x.checks[:0]
	for f := range x.fatoms {
		fa := &x.fatoms[f]
		if !fa.live {
			continue
		}
		var mask []uint64
		for _, g := range groups {
			if hasBit(fa.pairs, g.atom) && M.Intersects(fa.set, g.pieceDst) {
				if mask == nil {
					checks = append(checks, fcheck{atom: int32(f), mask: len(x.words)})
					x.words = append(x.words, make([]uint64, W)...)
					mask = x.words[len(x.words)-W:]
				}
				setBit(mask, g.atom)
			}
		}
	}
	x.checks = checks
	dev := x.acls[id].dev
	starts := x.starts(dev)
	x.results = x.results[:0]
	if check {
		for i := range checks {
			c := &checks[i]
			c.before = len(x.results)
			for _, s := range starts {
				x.follow(s, x.vec(c.atom), x.words[c.mask:c.mask+W], x.newResult())
			}
		}
	}

	// Cut the pieces off their atoms and put each where it now belongs.
	for i := range groups {
		g := &groups[i]
		g.whole = g.rest.IsFalse()
		if g.whole {
			x.removeAHash(g.atom)
		} else {
			x.aatoms[g.atom].set, x.aatoms[g.atom].dst = g.rest, g.restDst
		}
	}
	permit := make([]uint64, x.vwords)
	for i := range groups {
		g := &groups[i]
		copy(permit, x.aatoms[g.atom].permit)
		permit[id>>6] ^= 1 << (id & 63)
		h := x.aatoms[g.atom].hash ^ az(int(id))
		switch t := x.findA(h, permit); {
		case t >= 0:
			a := &x.aatoms[t]
			a.set, a.dst = M.Or(a.set, g.piece), M.Or(a.dst, g.pieceDst)
			g.final = t
		case g.whole:
			a := &x.aatoms[g.atom]
			a.set, a.hash = g.piece, h
			copy(a.permit, permit)
			x.addAHash(g.atom)
			x.acls[id].atoms[g.atom>>6] ^= 1 << (g.atom & 63)
			g.final = g.atom
		default:
			g.final = x.newAAtom(g.piece, g.pieceDst, permit, h)
		}
	}
	// Which ACL atoms each forwarding atom meets: pieces moved out of
	// their atoms first, then into their new ones.
	old := make([]uint64, x.awords)
	for f := range x.fatoms {
		fa := &x.fatoms[f]
		if !fa.live {
			continue
		}
		copy(old, fa.pairs)
		for _, g := range groups {
			if hasBit(old, g.atom) && (g.whole || !M.Intersects(fa.set, g.restDst)) {
				clearBit(fa.pairs, g.atom)
			}
		}
		for _, g := range groups {
			if hasBit(old, g.atom) && (g.whole || M.Intersects(fa.set, g.pieceDst)) {
				setBit(fa.pairs, g.final)
			}
		}
	}
	for _, g := range groups {
		if g.whole && g.final != g.atom {
			x.freeAAtom(g.atom)
		}
	}
	for _, c := range checks {
		res.Changed += count(x.words[c.mask : c.mask+W])
	}
	if !check {
		return res
	}

	// Follow the classes again and compare. (A new ACL atom may have
	// widened the sets of ACL atoms: the masks of checks are W words.)
	now := make([]uint64, x.awords)
	for _, c := range checks {
		mask := x.words[c.mask : c.mask+W]
		clear(now)
		forBits(mask, func(a int32) { setBit(now, x.finalOf(a)) })
		for si, s := range starts {
			x.follow(s, x.vec(c.atom), now, x.after.reset(x.awords))
			before := &x.results[c.before+si]
			lost, first := 0, int32(0)
			forBits(mask, func(a int32) {
				set := func() bdd.Node { return M.And(x.fatoms[c.atom].set, x.pieceOf(a)) }
				if x.judge(&res, before, &x.after, a, x.finalOf(a), set) {
					if lost == 0 {
						first = a
					}
					lost++
				}
			})
			if lost > 0 {
				res.BlackHoles = append(res.BlackHoles, LostTraffic{From: x.devices[s].name, Classes: lost, Dst: x.fatoms[c.atom].set, Headers: x.pieceOf(first)})
			}
		}
	}
	return res
}

// finalOf returns the atom that the changed piece of ACL atom a is part of
// after the current update.
func (x *Incremental) finalOf(a int32) int32 {
	for _, g := range x.agroups {
		if g.atom == a {
			return g.final
		}
	}
	return a
}

// pieceOf returns the changed piece of ACL atom a in the current update.
func (x *Incremental) pieceOf(a int32) bdd.Node {
	for _, g := range x.agroups {
		if g.atom == a {
			return g.piece
		}
	}
	return x.Space.M.False()
}

// newAAtom returns a new ACL atom with verdicts permit; dst is set
// projected onto the destination.
func (x *Incremental) newAAtom(set, dst bdd.Node, permit []uint64, h uint64) int32 {
	var i int32
	if n := len(x.afree); n > 0 {
		i = x.afree[n-1]
		x.afree = x.afree[:n-1]
		copy(x.aatoms[i].permit, permit)
	} else {
		i = int32(len(x.aatoms))
		x.aatoms = append(x.aatoms, aatom{permit: slices.Clone(permit)})
		if len(x.aatoms) > 64*x.awords {
			x.growAtomSets()
		}
	}
	a := &x.aatoms[i]
	a.set, a.dst, a.hash, a.live = set, dst, h, true
	x.addAHash(i)
	forBits(permit, func(acl int32) { setBit(x.acls[acl].atoms, i) })
	return i
}

func (x *Incremental) freeAAtom(i int32) {
	a := &x.aatoms[i]
	forBits(a.permit, func(acl int32) { clearBit(x.acls[acl].atoms, i) })
	a.live, a.set, a.dst = false, x.Space.M.False(), x.Space.M.False()
	x.afree = append(x.afree, i)
}

// growAtomSets adds a word to every set of ACL atoms.
func (x *Incremental) growAtomSets() {
	x.awords++
	for i := range x.fatoms {
		x.fatoms[i].pairs = append(x.fatoms[i].pairs, 0)
	}
	for _, acl := range x.acls {
		acl.atoms = append(acl.atoms, 0)
	}
}

// dstOf returns a set of headers projected onto the destination.
func (x *Incremental) dstOf(set bdd.Node) bdd.Node {
	return x.Space.M.ExistsFrom(set, x.Space.DstBits())
}
