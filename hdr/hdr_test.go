package hdr

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/preflight-sh/preflight/bdd"
	"github.com/preflight-sh/preflight/fwd"
)

// gen makes random matches, ranges, rules and packets, and keeps the
// addresses and numbers they mention so that packets hit rules often.
type gen struct {
	rng   *rand.Rand
	ipv6  bool
	addrs []netip.Addr
	nums  []int
}

func newGen(seed uint64, ipv6 bool) *gen {
	return &gen{rng: rand.New(rand.NewPCG(seed, 99)), ipv6: ipv6}
}

func (g *gen) randomAddr(v6 bool) netip.Addr {
	if v6 {
		var b [16]byte
		for i := range b {
			b[i] = byte(g.rng.IntN(256))
		}
		b[0] = 0x20 // not IPv4-mapped
		return netip.AddrFrom16(b)
	}
	return netip.AddrFrom4([4]byte{byte(g.rng.IntN(256)), byte(g.rng.IntN(256)), byte(g.rng.IntN(256)), byte(g.rng.IntN(256))})
}

// addrMatch returns any, a prefix, or a prefix with don't-care holes.
func (g *gen) addrMatch() fwd.AddrMatch {
	v6 := g.ipv6 && g.rng.IntN(2) == 0
	if g.rng.IntN(5) == 0 {
		return fwd.AddrMatch{}
	}
	a := g.randomAddr(v6)
	bits := g.rng.IntN(a.BitLen() + 1)
	am := fwd.PrefixMatch(netip.PrefixFrom(a, bits))
	if g.rng.IntN(3) == 0 {
		mask := am.Mask.AsSlice()
		for range 1 + g.rng.IntN(4) {
			i := g.rng.IntN(len(mask) * 8)
			mask[i/8] &^= 0x80 >> (i % 8)
		}
		am.Mask, _ = netip.AddrFromSlice(mask)
	}
	// Near it: a matching address, and one that differs in one masked bit.
	val, mask := am.Addr.AsSlice(), am.Mask.AsSlice()
	near := slices.Clone(val)
	for i := range near {
		near[i] = val[i]&mask[i] | byte(g.rng.IntN(256))&^mask[i]
	}
	hit, _ := netip.AddrFromSlice(near)
	i := g.rng.IntN(len(near) * 8)
	near[i/8] ^= 0x80 >> (i % 8)
	miss, _ := netip.AddrFromSlice(near)
	g.addrs = append(g.addrs, hit, miss)
	return am
}

func (g *gen) span(max int) fwd.Range {
	var r fwd.Range
	switch g.rng.IntN(6) {
	case 0:
		r = fwd.Range{Lo: 0, Hi: max}
	case 1:
		v := g.rng.IntN(max + 1)
		r = fwd.Range{Lo: v, Hi: v}
	case 2:
		r = fwd.Range{Lo: g.rng.IntN(max+1) - 3, Hi: max + g.rng.IntN(3)} // clipped
	case 3:
		r = fwd.Range{Lo: 5 + g.rng.IntN(max-4), Hi: g.rng.IntN(5)} // empty
	default:
		lo := g.rng.IntN(max + 1)
		r = fwd.Range{Lo: lo, Hi: min(max, lo+g.rng.IntN(max/8+1))}
	}
	g.nums = append(g.nums, r.Lo-1, r.Lo, r.Hi, r.Hi+1)
	return r
}

func (g *gen) rule() fwd.ACLRule {
	r := fwd.ACLRule{
		Permit:   g.rng.IntN(2) == 0,
		Priority: g.rng.IntN(4),
		Seq:      g.rng.IntN(20),
		Dst:      g.addrMatch(),
		Src:      g.addrMatch(),
		Proto:    fwd.AnyProto,
		SrcPort:  fwd.AnyPort,
		DstPort:  g.span(65535),
	}
	if g.rng.IntN(2) == 0 {
		r.Proto = g.span(255)
	}
	if g.rng.IntN(3) == 0 {
		r.SrcPort = g.span(65535)
	}
	r.Text = fmt.Sprintf("rule %d", g.rng.IntN(1000))
	return r
}

func (g *gen) acl(n int) *fwd.ACL {
	acl := &fwd.ACL{Name: "test"}
	for range n {
		acl.Rules = append(acl.Rules, g.rule())
	}
	return acl
}

func (g *gen) num(max int) int {
	if len(g.nums) > 0 && g.rng.IntN(4) != 0 {
		if v := g.nums[g.rng.IntN(len(g.nums))]; 0 <= v && v <= max {
			return v
		}
	}
	return g.rng.IntN(max + 1)
}

func (g *gen) addr(v6 bool) netip.Addr {
	if len(g.addrs) > 0 && g.rng.IntN(4) != 0 {
		if a := g.addrs[g.rng.IntN(len(g.addrs))]; a.Is6() == v6 {
			return a
		}
	}
	return g.randomAddr(v6)
}

// packet returns a packet of one family, mostly made of values the
// generated matches mention.
func (g *gen) packet() Packet {
	v6 := g.ipv6 && g.rng.IntN(2) == 0
	return Packet{
		Dst:     g.addr(v6),
		Src:     g.addr(v6),
		Proto:   uint8(g.num(255)),
		DstPort: uint16(g.num(65535)),
		SrcPort: uint16(g.num(65535)),
	}
}

func spaces() map[string]*Space {
	return map[string]*Space{"ipv4": NewSpace(false), "dual": NewSpace(true)}
}

func TestBuildersAgainstMatches(t *testing.T) {
	for name, s := range spaces() {
		t.Run(name, func(t *testing.T) {
			g := newGen(1, s.IPv6())
			for range 300 {
				am := g.addrMatch()
				dst, err := s.Dst(am)
				if err != nil {
					t.Fatal(err)
				}
				src, err := s.Src(am)
				if err != nil {
					t.Fatal(err)
				}
				proto, dport, sport := g.span(255), g.span(65535), g.span(65535)
				protoN, dportN, sportN := s.Proto(proto), s.DstPort(dport), s.SrcPort(sport)
				for range 100 {
					p := g.packet()
					check := func(what string, n bdd.Node, want bool) {
						t.Helper()
						if got := s.Contains(n, p); got != want {
							t.Fatalf("%s: %v: got %v, want %v", what, p, got, want)
						}
					}
					check(fmt.Sprintf("Dst(%v/%v)", am.Addr, am.Mask), dst, am.Matches(p.Dst))
					check(fmt.Sprintf("Src(%v/%v)", am.Addr, am.Mask), src, am.Matches(p.Src))
					check(fmt.Sprintf("Proto(%v)", proto), protoN, proto.Contains(int(p.Proto)))
					check(fmt.Sprintf("DstPort(%v)", dport), dportN, dport.Contains(int(p.DstPort)))
					check(fmt.Sprintf("SrcPort(%v)", sport), sportN, sport.Contains(int(p.SrcPort)))
				}
			}
		})
	}
}

func TestRangeSize(t *testing.T) {
	s := NewSpace(false)
	for _, r := range []fwd.Range{{Lo: 1, Hi: 65534}, {Lo: 1023, Hi: 49153}, {Lo: 0x5555, Hi: 0xaaaa}} {
		n := s.DstPort(r)
		if got := s.M.SatCount(n); got != float64(r.Hi-r.Lo+1)*math.Ldexp(1, 104-16) {
			t.Errorf("%v: SatCount %v", r, got)
		}
		if c := s.M.NodeCount(n); c > 2*16 {
			t.Errorf("%v: %d nodes, want at most 32", r, c)
		}
	}
}

// decide is the plain first-match loop ACLPermit must agree with.
func decide(acl *fwd.ACL, p Packet) bool {
	for _, r := range acl.Ordered() {
		if r.Matches(fwd.Packet(p)) {
			return r.Permit
		}
	}
	return false
}

func TestACLPermit(t *testing.T) {
	for name, s := range spaces() {
		t.Run(name, func(t *testing.T) {
			for seed := range uint64(20) {
				g := newGen(seed, s.IPv6())
				acl := g.acl(1 + g.rng.IntN(40))
				permit, err := s.ACLPermit(acl)
				if err != nil {
					t.Fatal(err)
				}
				hits := 0
				for range 2000 {
					p := g.packet()
					want := decide(acl, p)
					if got := s.Contains(permit, p); got != want {
						t.Fatalf("seed %d: %v: permitted %v, want %v", seed, p, got, want)
					}
					if want {
						hits++
					}
				}
				if hits == 0 && !permit.IsFalse() {
					t.Logf("seed %d: no permitted packet drawn", seed)
				}
				if ex, ok := s.Example(permit); ok != !permit.IsFalse() || ok && !decide(acl, ex) {
					t.Fatalf("seed %d: Example %v, %v is not permitted", seed, ex, ok)
				}
			}
		})
	}
}

func TestACLEdgeCases(t *testing.T) {
	s := NewSpace(false)
	if n, err := s.ACLPermit(&fwd.ACL{Name: "empty"}); err != nil || !n.IsFalse() {
		t.Errorf("empty ACL: %v, %v; want false", n, err)
	}
	any := fwd.ACLRule{Permit: true, Proto: fwd.AnyProto, SrcPort: fwd.AnyPort, DstPort: fwd.AnyPort}
	if n, err := s.ACLPermit(&fwd.ACL{Rules: []fwd.ACLRule{any}}); err != nil || !n.IsTrue() {
		t.Errorf("permit any: %v, %v; want true", n, err)
	}
	// The zero Range holds 0 only, as in fwd.
	zero := fwd.ACLRule{Permit: true}
	n, err := s.ACLRule(zero)
	if err != nil || s.M.SatCount(n) != math.Ldexp(1, 64) {
		t.Errorf("zero rule: %v elements, %v", s.M.SatCount(n), err)
	}
	// Equal priority: the higher Seq decides.
	deny := any
	deny.Permit, deny.Seq = false, 2
	any.Seq = 1
	if n, _ := s.ACLPermit(&fwd.ACL{Rules: []fwd.ACLRule{any, deny}}); !n.IsFalse() {
		t.Errorf("deny with the higher Seq should win")
	}
}

func TestErrors(t *testing.T) {
	v4, dual := NewSpace(false), NewSpace(true)
	v6net := netip.MustParsePrefix("2001:db8::/32")
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"v6 prefix in v4 space", second(v4.DstPrefix(v6net)), "IPv6 address 2001:db8:: in an IPv4-only header space"},
		{"invalid prefix", second(dual.SrcPrefix(netip.Prefix{})), "invalid prefix"},
		{"mask of another family", second(dual.Dst(fwd.AddrMatch{Addr: netip.MustParseAddr("10.0.0.0"), Mask: netip.MustParseAddr("ffff::")})), "same family"},
		{"mask missing", second(v4.Src(fwd.AddrMatch{Addr: netip.MustParseAddr("10.0.0.0")})), "same family"},
		{"ACL rule", second(v4.ACLPermit(&fwd.ACL{Name: "edge", Rules: []fwd.ACLRule{{Text: "permit ipv6 any", Src: fwd.PrefixMatch(v6net)}}})), `ACL edge, rule 1 "permit ipv6 any": source: IPv6`},
	} {
		if tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, tc.err, tc.want)
		}
	}
	if n, err := dual.DstPrefix(netip.MustParsePrefix("10.0.0.0/8")); err != nil || dual.M.SatCount(n) != math.Ldexp(1, 296-8-96) {
		t.Errorf("IPv4 prefix in a dual-stack space: %v", err)
	}
}

func second(_ bdd.Node, err error) error { return err }

func TestFamilies(t *testing.T) {
	v4, dual := NewSpace(false), NewSpace(true)
	if !v4.Family4().IsTrue() || !v4.Family6().IsFalse() {
		t.Error("IPv4-only space: Family4 must be everything, Family6 nothing")
	}
	f4, f6 := dual.Family4(), dual.Family6()
	if !dual.M.And(f4, f6).IsFalse() {
		t.Error("Family4 and Family6 overlap")
	}
	if got := dual.M.SatCount(f4); got != math.Ldexp(1, 104) {
		t.Errorf("Family4 has %v headers, want 2^104", got)
	}
	a4, b4 := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("198.51.100.7")
	a6, b6 := netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2")
	for _, tc := range []struct {
		p      Packet
		in4    bool
		in6    bool
		inAny6 bool // in DstPrefix(::/0)
	}{
		{Packet{Src: a4, Dst: b4}, true, false, false},
		{Packet{Src: a6, Dst: b6}, false, true, true},
		{Packet{Src: a4, Dst: b6}, false, false, true},
	} {
		all6, _ := dual.DstPrefix(netip.MustParsePrefix("::/0"))
		if dual.Contains(f4, tc.p) != tc.in4 || dual.Contains(f6, tc.p) != tc.in6 || dual.Contains(all6, tc.p) != tc.inAny6 {
			t.Errorf("%v: Family4 %v, Family6 %v, dst in ::/0 %v", tc.p, dual.Contains(f4, tc.p), dual.Contains(f6, tc.p), dual.Contains(all6, tc.p))
		}
	}
}

func TestPacketRoundTrip(t *testing.T) {
	for name, s := range spaces() {
		t.Run(name, func(t *testing.T) {
			g := newGen(3, s.IPv6())
			for range 500 {
				p := g.packet()
				n := s.Packet(p)
				if s.M.SatCount(n) != 1 || !s.Contains(n, p) {
					t.Fatalf("Packet(%v) is not that one packet", p)
				}
				if ex, ok := s.Example(n); !ok || ex != p {
					t.Fatalf("Example(Packet(%v)) = %v, %v", p, ex, ok)
				}
			}
		})
	}
	v4 := NewSpace(false)
	p := Packet{Src: netip.MustParseAddr("2001:db8::1"), Dst: netip.MustParseAddr("192.0.2.1")}
	if !v4.Packet(p).IsFalse() || v4.Contains(v4.M.True(), p) {
		t.Error("an IPv6 packet in an IPv4-only space must be in no set")
	}
	if !v4.Packet(Packet{}).IsFalse() {
		t.Error("a packet without addresses must be in no set")
	}
}

func TestExample(t *testing.T) {
	for name, s := range spaces() {
		t.Run(name, func(t *testing.T) {
			m := s.M
			dst, _ := s.DstPrefix(netip.MustParsePrefix("192.0.2.128/25"))
			src, _ := s.SrcPrefix(netip.MustParsePrefix("10.1.0.0/16"))
			udp := s.Proto(fwd.Range{Lo: UDP, Hi: UDP})
			icmp := s.Proto(fwd.Range{Lo: ICMP, Hi: ICMP})
			high := s.DstPort(fwd.Range{Lo: 8080, Hi: 8090})
			for _, tc := range []struct {
				set  bdd.Node
				want string
			}{
				{m.True(), "tcp 0.0.0.0:49152 → 0.0.0.0:443"},
				{m.AndN(dst, src), "tcp 10.1.0.0:49152 → 192.0.2.128:443"},
				{m.AndN(dst, udp, high), "udp 0.0.0.0:49152 → 192.0.2.128:8080"},
				{m.AndN(dst, m.Diff(high, s.DstPort(fwd.Range{Lo: 8080, Hi: 8080}))), "tcp 0.0.0.0:49152 → 192.0.2.128:8081"},
				{m.AndN(dst, icmp), "icmp 0.0.0.0 → 192.0.2.128"},
				{m.AndN(dst, s.Proto(fwd.Range{Lo: 47, Hi: 50})), "proto 47 0.0.0.0 → 192.0.2.128"},
				{m.Diff(m.True(), s.SrcPort(fwd.Range{Lo: 49152, Hi: 49152})), "tcp 0.0.0.0:0 → 0.0.0.0:443"},
			} {
				ex, ok := s.Example(tc.set)
				if !ok || ex.String() != tc.want || !s.Contains(tc.set, ex) {
					t.Errorf("Example = %v, %v; want %s", ex, ok, tc.want)
				}
			}
			if _, ok := s.Example(m.False()); ok {
				t.Error("Example of the empty set")
			}
		})
	}
	dual := NewSpace(true)
	dst6, _ := dual.DstPrefix(netip.MustParsePrefix("2001:db8::/32"))
	if ex, _ := dual.Example(dst6); ex.String() != "tcp [2001:db8::]:49152 → [2001:db8::]:443" && ex.String() != "tcp [::]:49152 → [2001:db8::]:443" {
		t.Errorf("IPv6 example: %v", ex)
	}
}

func TestPacketString(t *testing.T) {
	a, b := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("192.0.2.7")
	for _, tc := range []struct {
		p    Packet
		want string
	}{
		{Packet{Src: a, Dst: b, Proto: TCP, SrcPort: 1234, DstPort: 443}, "tcp 10.0.0.1:1234 → 192.0.2.7:443"},
		{Packet{Src: a, Dst: b, Proto: UDP, DstPort: 53}, "udp 10.0.0.1:0 → 192.0.2.7:53"},
		{Packet{Src: a, Dst: b, Proto: ICMP}, "icmp 10.0.0.1 → 192.0.2.7"},
		{Packet{Src: a, Dst: b, Proto: 47, DstPort: 1}, "proto 47 10.0.0.1:0 → 192.0.2.7:1"},
		{Packet{Src: netip.MustParseAddr("2001:db8::1"), Dst: netip.MustParseAddr("2001:db8::2"), Proto: ICMPv6}, "icmpv6 2001:db8::1 → 2001:db8::2"},
		{Packet{Src: netip.MustParseAddr("2001:db8::1"), Dst: netip.MustParseAddr("2001:db8::2"), Proto: TCP, SrcPort: 1, DstPort: 22}, "tcp [2001:db8::1]:1 → [2001:db8::2]:22"},
	} {
		if got := tc.p.String(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}

// union returns the union of the destination prefixes.
func union(t *testing.T, s *Space, ps []netip.Prefix) bdd.Node {
	t.Helper()
	u := s.M.False()
	for _, p := range ps {
		n, err := s.DstPrefix(p)
		if err != nil {
			t.Fatal(err)
		}
		u = s.M.Or(u, n)
	}
	return u
}

func TestDstPrefixes(t *testing.T) {
	for name, s := range spaces() {
		t.Run(name, func(t *testing.T) {
			m := s.M
			g := newGen(5, s.IPv6())
			for range 50 {
				var in []netip.Prefix
				for range 1 + g.rng.IntN(20) {
					a := g.randomAddr(s.IPv6() && g.rng.IntN(2) == 0)
					bits := a.BitLen() - g.rng.IntN(12)
					in = append(in, netip.PrefixFrom(a, bits).Masked())
				}
				u := union(t, s, in)
				out, exact := s.DstPrefixes(u, 0)
				if !exact || union(t, s, out) != u {
					t.Fatalf("DstPrefixes(%v) = %v, %v", in, out, exact)
				}
				// Fewest: no prefix's parent is in the set.
				for _, p := range out {
					parent, _ := s.DstPrefix(netip.PrefixFrom(p.Addr(), p.Bits()-1))
					if p.Bits() > 0 && m.Diff(parent, u).IsFalse() {
						t.Fatalf("%v: %v could be merged with its sibling", in, p)
					}
				}
				// Other fields: the destinations, flagged.
				tcp := m.And(u, s.Proto(fwd.Range{Lo: TCP, Hi: TCP}))
				if got, exact := s.DstPrefixes(tcp, 0); exact || !slices.Equal(got, out) {
					t.Fatalf("with a protocol: %v, %v; want %v, false", got, exact, out)
				}
				if len(out) > 1 {
					if got, exact := s.DstPrefixes(u, 1); exact || !slices.Equal(got, out[:1]) {
						t.Fatalf("limit 1: %v, %v", got, exact)
					}
				}
			}
			if got, exact := s.DstPrefixes(m.False(), 0); len(got) != 0 || !exact {
				t.Errorf("empty set: %v, %v", got, exact)
			}
		})
	}
	dual := NewSpace(true)
	if got, _ := dual.DstPrefixes(dual.Family4(), 0); !slices.Equal(got, []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}) {
		t.Errorf("IPv4 in a dual-stack space: %v", got)
	}
}
