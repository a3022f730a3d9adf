package hdr

import (
	"bytes"
	"fmt"
	"net/netip"

	"github.com/preflight-sh/preflight/bdd"
	"github.com/preflight-sh/preflight/fwd"
)

// Packet is one concrete packet header: a fwd.Packet (convert with
// fwd.Packet(p) and Packet(fp)) that prints itself.
type Packet fwd.Packet

// String renders the packet as "tcp 10.0.0.1:1234 → 192.0.2.7:443"; ports
// are left out for a protocol other than TCP and UDP when both are 0.
func (p Packet) String() string {
	name := fmt.Sprintf("proto %d", p.Proto)
	switch p.Proto {
	case ICMP:
		name = "icmp"
	case TCP:
		name = "tcp"
	case UDP:
		name = "udp"
	case ICMPv6:
		name = "icmpv6"
	}
	if p.Proto != TCP && p.Proto != UDP && p.SrcPort == 0 && p.DstPort == 0 {
		return fmt.Sprintf("%s %s → %s", name, p.Src, p.Dst)
	}
	return fmt.Sprintf("%s %s → %s", name, netip.AddrPortFrom(p.Src, p.SrcPort), netip.AddrPortFrom(p.Dst, p.DstPort))
}

// header returns the packet's header as the space lays it out, one bit a
// variable; false when an address is invalid or does not fit the space
// (IPv6, an IPv4-mapped one included, in an IPv4-only space).
func (s *Space) header(p Packet) ([]byte, bool) {
	dst, ok := s.addrBytes(p.Dst)
	if !ok {
		return nil, false
	}
	src, ok := s.addrBytes(p.Src)
	if !ok {
		return nil, false
	}
	h := append(dst, src...)
	return append(h, p.Proto, byte(p.DstPort>>8), byte(p.DstPort), byte(p.SrcPort>>8), byte(p.SrcPort)), true
}

func (s *Space) addrBytes(a netip.Addr) ([]byte, bool) {
	switch {
	case !a.IsValid():
		return nil, false
	case s.ipv6:
		b := a.As16()
		return b[:], true
	case a.Is4():
		b := a.As4()
		return b[:], true
	}
	return nil, false
}

// packet reads a header laid out as the space does.
func (s *Space) packet(h []byte) Packet {
	n := s.dst.width / 8
	addr := func(b []byte) netip.Addr {
		a, _ := netip.AddrFromSlice(b)
		return a.Unmap()
	}
	t := h[2*n:]
	return Packet{
		Dst:     addr(h[:n]),
		Src:     addr(h[n : 2*n]),
		Proto:   t[0],
		DstPort: uint16(t[1])<<8 | uint16(t[2]),
		SrcPort: uint16(t[3])<<8 | uint16(t[4]),
	}
}

// Packet returns the set holding just p; false when p cannot be in the
// space (an invalid address, or IPv6 in an IPv4-only space).
func (s *Space) Packet(p Packet) bdd.Node {
	h, ok := s.header(p)
	if !ok {
		return s.M.False()
	}
	return s.match(field{0, 8 * len(h)}, h, bytes.Repeat([]byte{0xff}, len(h)))
}

// Contains reports whether p is in n, by following p's bits down n.
func (s *Space) Contains(n bdd.Node, p Packet) bool {
	h, ok := s.header(p)
	if !ok {
		return false
	}
	m := s.M
	for !n.IsFalse() && !n.IsTrue() {
		v := m.Level(n)
		if h[v/8]&(0x80>>(v%8)) != 0 {
			n = m.High(n)
		} else {
			n = m.Low(n)
		}
	}
	return n.IsTrue()
}

// Example returns a packet of n, chosen to read well: IPv4 if n has some;
// TCP if it can, else UDP, and then destination port 443, 80 or 53 and
// source port 49152 (the first dynamic port) if n allows them; for every
// field left free, the lowest value n allows, taking the fields in variable
// order (so the lowest destination address first). It returns false when n
// is empty.
func (s *Space) Example(n bdd.Node) (Packet, bool) {
	if n.IsFalse() {
		return Packet{}, false
	}
	if s.ipv6 {
		n, _ = s.prefer(n, s.Family4(), s.Family6())
	}
	n, ok := s.prefer(n, s.Proto(fwd.Range{Lo: TCP, Hi: TCP}), s.Proto(fwd.Range{Lo: UDP, Hi: UDP}))
	if ok {
		n, _ = s.prefer(n, s.DstPort(fwd.Range{Lo: 443, Hi: 443}), s.DstPort(fwd.Range{Lo: 80, Hi: 80}), s.DstPort(fwd.Range{Lo: 53, Hi: 53}))
		n, _ = s.prefer(n, s.SrcPort(fwd.Range{Lo: 49152, Hi: 49152}))
	}
	// AnySat takes the least assignment, don't-cares as 0.
	h := make([]byte, s.M.Vars()/8)
	for v, b := range s.M.AnySat(n) {
		if b == 1 {
			h[v/8] |= 0x80 >> (v % 8)
		}
	}
	return s.packet(h), true
}

// prefer returns n ∧ c for the first choice c that leaves it non-empty, and
// true; or n and false.
func (s *Space) prefer(n bdd.Node, choices ...bdd.Node) (bdd.Node, bool) {
	for _, c := range choices {
		if x := s.M.And(n, c); !x.IsFalse() {
			return x, true
		}
	}
	return n, false
}

// DstPrefixes describes the destinations of n as prefixes, for
// explanations. When n depends on the destination alone, it returns the
// fewest prefixes whose union is n, in address order, and true. When n
// also depends on other fields, it returns prefixes covering exactly the
// destinations of n's packets, not always the fewest, and false. At most
// limit prefixes are returned (no limit when limit ≤ 0); a list cut short
// comes with false. IPv4 destinations of a dual-stack space come out as
// IPv4 prefixes.
func (s *Space) DstPrefixes(n bdd.Node, limit int) ([]netip.Prefix, bool) {
	w := prefixWalk{s: s, limit: limit, exact: true, addr: make([]byte, s.dst.width/8)}
	w.walk(n, 0)
	return w.out, w.exact
}

type prefixWalk struct {
	s     *Space
	limit int
	exact bool
	addr  []byte // the destination bits above the current depth
	out   []netip.Prefix
}

// walk emits the prefixes of n's destinations below the current one, of
// depth bits: a prefix as soon as no destination bit is tested below it.
func (w *prefixWalk) walk(n bdd.Node, depth int) {
	m := w.s.M
	if n.IsFalse() {
		return
	}
	if w.limit > 0 && len(w.out) == w.limit {
		w.exact = false
		return
	}
	if m.Level(n) >= w.s.dst.width {
		w.exact = w.exact && n.IsTrue()
		w.out = append(w.out, w.prefix(depth))
		return
	}
	lo, hi := n, n
	if m.Level(n) == depth {
		lo, hi = m.Low(n), m.High(n)
	}
	bit := byte(0x80) >> (depth % 8)
	w.walk(lo, depth+1)
	w.addr[depth/8] |= bit
	w.walk(hi, depth+1)
	w.addr[depth/8] &^= bit
}

func (w *prefixWalk) prefix(bits int) netip.Prefix {
	a, _ := netip.AddrFromSlice(w.addr)
	if a.Is4In6() && bits >= 96 {
		return netip.PrefixFrom(a.Unmap(), bits-96)
	}
	return netip.PrefixFrom(a, bits)
}
