package hdr

import (
	"net/netip"
	"testing"
)

func benchmarkACLPermit(b *testing.B, ipv6 bool) {
	acl := newGen(1, ipv6).acl(700)
	b.ReportAllocs()
	for b.Loop() {
		s := NewSpace(ipv6)
		if _, err := s.ACLPermit(acl); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(s.M.Size()), "nodes")
	}
}

// BenchmarkACLPermit builds the permit set of a 700-rule IPv4 ACL.
func BenchmarkACLPermit(b *testing.B) { benchmarkACLPermit(b, false) }

// BenchmarkACLPermitDual builds the permit set of a 700-rule ACL of both
// families in a dual-stack space.
func BenchmarkACLPermitDual(b *testing.B) { benchmarkACLPermit(b, true) }

// BenchmarkDstPrefix builds the sets of 14,000 random /8-/32 destination
// prefixes.
func BenchmarkDstPrefix(b *testing.B) {
	g := newGen(1, false)
	prefixes := make([]netip.Prefix, 14000)
	for i := range prefixes {
		prefixes[i] = netip.PrefixFrom(g.randomAddr(false), 8+g.rng.IntN(25)).Masked()
	}
	b.ReportAllocs()
	for b.Loop() {
		s := NewSpace(false)
		for _, p := range prefixes {
			if _, err := s.DstPrefix(p); err != nil {
				b.Fatal(err)
			}
		}
	}
}
