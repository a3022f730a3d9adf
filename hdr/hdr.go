// Package hdr represents sets of packet headers as BDDs (package bdd): the
// packet sets the exhaustive network verifier reasons about.
//
// A Space lays a header out as BDD variables, most significant bit first,
// in this order: destination address, source address, protocol (8 bits),
// destination port (16), source port (16). An IPv4-only space has 32-bit
// addresses (104 variables). A dual-stack space has 128-bit addresses (296
// variables) and holds IPv4 addresses in the IPv4-mapped range
// ::ffff:0:0/96, which therefore stands for IPv4 only: IPv6 matches and
// prefixes of that space leave it out, as netip and fwd.AddrMatch never
// match an IPv4 address with an IPv6 one. A set in a dual-stack space may
// hold headers that mix the families (an IPv4 source with an IPv6
// destination); Family4 and Family6 exclude them.
//
// Builders that take addresses return an error for an address the space
// cannot hold (IPv6 in an IPv4-only space) or a malformed match.
package hdr

import (
	"bytes"
	"fmt"
	"net/netip"

	"github.com/preflight-sh/preflight/bdd"
	"github.com/preflight-sh/preflight/fwd"
)

// Protocol numbers.
const (
	ICMP   = 1
	TCP    = 6
	UDP    = 17
	ICMPv6 = 58
)

// field is a header field: width variables from off.
type field struct{ off, width int }

// Space is the set of all packet headers of one address layout, with the
// BDD manager its sets live in.
type Space struct {
	// M owns every set of the space.
	M *bdd.Manager

	ipv6                 bool
	dst, src, proto      field
	dport, sport         field
	mappedDst, mappedSrc bdd.Node // address in ::ffff:0:0/96 (true in an IPv4-only space)
}

// NewSpace returns an IPv4-only space, or a dual-stack space when ipv6 is
// set.
func NewSpace(ipv6 bool) *Space {
	bits := 32
	if ipv6 {
		bits = 128
	}
	s := &Space{
		ipv6:  ipv6,
		dst:   field{0, bits},
		src:   field{bits, bits},
		proto: field{2 * bits, 8},
		dport: field{2*bits + 8, 16},
		sport: field{2*bits + 24, 16},
	}
	s.M = bdd.New(2*bits + 40)
	s.mappedDst, s.mappedSrc = s.M.True(), s.M.True()
	if ipv6 {
		mapped := fwd.PrefixMatch(netip.MustParsePrefix("::ffff:0:0/96"))
		val, mask := mapped.Addr.AsSlice(), mapped.Mask.AsSlice()
		s.mappedDst = s.match(s.dst, val, mask)
		s.mappedSrc = s.match(s.src, val, mask)
	}
	return s
}

// IPv6 reports whether the space is dual-stack.
func (s *Space) IPv6() bool { return s.ipv6 }

// match returns the headers whose field f agrees with val on the bits set
// in mask (both f.width/8 bytes). It is built from the last variable up,
// one node a step.
func (s *Space) match(f field, val, mask []byte) bdd.Node {
	m := s.M
	n := m.True()
	for i := f.width - 1; i >= 0; i-- {
		bit := byte(0x80) >> (i % 8)
		switch {
		case mask[i/8]&bit == 0:
		case val[i/8]&bit != 0:
			n = m.MakeNode(f.off+i, m.False(), n)
		default:
			n = m.MakeNode(f.off+i, n, m.False())
		}
	}
	return n
}

// span returns the headers whose field f, read as a number, lies in r
// (clipped to the field; an empty range gives false). It intersects two
// chains of f.width nodes, for at most about 2·f.width nodes.
func (s *Space) span(f field, r fwd.Range) bdd.Node {
	m := s.M
	lo, hi := max(r.Lo, 0), min(r.Hi, 1<<f.width-1)
	if lo > hi {
		return m.False()
	}
	// From the last bit up: the value of the bits so far is ≥ lo (ge), ≤ hi
	// (le).
	ge, le := m.True(), m.True()
	for i := f.width - 1; i >= 0; i-- {
		v, shift := f.off+i, f.width-1-i
		if lo>>shift&1 == 1 {
			ge = m.MakeNode(v, m.False(), ge)
		} else {
			ge = m.MakeNode(v, ge, m.True())
		}
		if hi>>shift&1 == 1 {
			le = m.MakeNode(v, m.True(), le)
		} else {
			le = m.MakeNode(v, le, m.False())
		}
	}
	return m.And(ge, le)
}

// addrMatch returns the headers whose address field f matches am.
func (s *Space) addrMatch(f field, am fwd.AddrMatch) (bdd.Node, error) {
	if am.Any() {
		return s.M.True(), nil
	}
	if am.Mask.BitLen() != am.Addr.BitLen() {
		return 0, fmt.Errorf("address %v with mask %v: the mask must be an address of the same family", am.Addr, am.Mask)
	}
	val, mask := am.Addr.AsSlice(), am.Mask.AsSlice()
	switch {
	case len(val) == 16 && !s.ipv6:
		return 0, fmt.Errorf("IPv6 address %v in an IPv4-only header space: build a dual-stack space", am.Addr)
	case len(val) == 4 && s.ipv6:
		// The IPv4-mapped address, with the ::ffff: part matched too.
		v := am.Addr.As16()
		return s.match(f, v[:], append(bytes.Repeat([]byte{0xff}, 12), mask...)), nil
	case len(val) == 16:
		return s.M.Diff(s.match(f, val, mask), s.mapped(f)), nil
	}
	return s.match(f, val, mask), nil
}

// mapped returns the headers whose address field f is IPv4.
func (s *Space) mapped(f field) bdd.Node {
	if f == s.dst {
		return s.mappedDst
	}
	return s.mappedSrc
}

func (s *Space) prefix(f field, p netip.Prefix) (bdd.Node, error) {
	if !p.IsValid() {
		return 0, fmt.Errorf("invalid prefix %v", p)
	}
	return s.addrMatch(f, fwd.PrefixMatch(p))
}

// DstPrefix returns the headers whose destination is in p.
func (s *Space) DstPrefix(p netip.Prefix) (bdd.Node, error) { return s.prefix(s.dst, p) }

// SrcPrefix returns the headers whose source is in p.
func (s *Space) SrcPrefix(p netip.Prefix) (bdd.Node, error) { return s.prefix(s.src, p) }

// Dst returns the headers whose destination matches am (every header for
// the zero AddrMatch).
func (s *Space) Dst(am fwd.AddrMatch) (bdd.Node, error) { return s.addrMatch(s.dst, am) }

// Src returns the headers whose source matches am (every header for the
// zero AddrMatch).
func (s *Space) Src(am fwd.AddrMatch) (bdd.Node, error) { return s.addrMatch(s.src, am) }

// Proto returns the headers whose protocol is in r.
func (s *Space) Proto(r fwd.Range) bdd.Node { return s.span(s.proto, r) }

// DstPort returns the headers whose destination port is in r.
func (s *Space) DstPort(r fwd.Range) bdd.Node { return s.span(s.dport, r) }

// SrcPort returns the headers whose source port is in r.
func (s *Space) SrcPort(r fwd.Range) bdd.Node { return s.span(s.sport, r) }

// Family4 returns the IPv4 headers: every header of an IPv4-only space.
func (s *Space) Family4() bdd.Node { return s.M.And(s.mappedDst, s.mappedSrc) }

// Family6 returns the IPv6 headers: none in an IPv4-only space.
func (s *Space) Family6() bdd.Node {
	m := s.M
	return m.Diff(m.Not(s.mappedDst), s.mappedSrc)
}

// ACLRule returns the headers an ACL rule matches.
func (s *Space) ACLRule(r fwd.ACLRule) (bdd.Node, error) {
	dst, err := s.Dst(r.Dst)
	if err != nil {
		return 0, fmt.Errorf("destination: %w", err)
	}
	src, err := s.Src(r.Src)
	if err != nil {
		return 0, fmt.Errorf("source: %w", err)
	}
	return s.M.AndN(dst, src, s.Proto(r.Proto), s.DstPort(r.DstPort), s.SrcPort(r.SrcPort)), nil
}

// ACLPermit returns the headers an ACL permits: the first matching rule in
// acl.Ordered() decides, and a header no rule matches is denied.
func (s *Space) ACLPermit(acl *fwd.ACL) (bdd.Node, error) {
	m := s.M
	rules := acl.Ordered()
	// From the last rule up, each rule overrides the rules after it.
	permit := m.False()
	for i := len(rules) - 1; i >= 0; i-- {
		r := rules[i]
		match, err := s.ACLRule(r)
		if err != nil {
			return 0, fmt.Errorf("ACL %s, rule %d %q: %w", acl.Name, i+1, r.Text, err)
		}
		if r.Permit {
			permit = m.Or(match, permit)
		} else {
			permit = m.Diff(permit, match)
		}
	}
	return permit, nil
}

// DstVar returns the BDD variable of destination address bit i (0 is the
// most significant bit of the address field: of the IPv4 address in an
// IPv4-only space, of the 128-bit address in a dual-stack one).
func (s *Space) DstVar(i int) int { return s.dst.off + i }

// DstBits returns the width of the destination address field.
func (s *Space) DstBits() int { return s.dst.width }

// MappedDst returns the headers whose destination is IPv4 (every header in
// an IPv4-only space).
func (s *Space) MappedDst() bdd.Node { return s.mappedDst }
