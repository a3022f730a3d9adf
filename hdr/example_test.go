package hdr_test

import (
	"fmt"
	"net/netip"

	"github.com/preflight-sh/preflight/fwd"
	"github.com/preflight-sh/preflight/hdr"
)

func ExampleSpace() {
	s := hdr.NewSpace(false)
	acl := &fwd.ACL{Name: "edge", Rules: []fwd.ACLRule{
		{Priority: 2, Proto: fwd.Range{Lo: hdr.TCP, Hi: hdr.TCP}, Dst: fwd.PrefixMatch(netip.MustParsePrefix("10.0.0.0/8")),
			SrcPort: fwd.AnyPort, DstPort: fwd.Range{Lo: 22, Hi: 22}, Text: "deny tcp any 10.0.0.0/8 eq 22"},
		{Permit: true, Priority: 1, Proto: fwd.AnyProto, SrcPort: fwd.AnyPort, DstPort: fwd.AnyPort, Text: "permit ip any any"},
	}}
	permit, err := s.ACLPermit(acl)
	if err != nil {
		panic(err)
	}
	denied := s.M.Not(permit)
	ex, _ := s.Example(denied)
	fmt.Println("denied, for example:", ex)
	fmt.Println(s.DstPrefixes(denied, 10))
	// Output:
	// denied, for example: tcp 0.0.0.0:49152 → 10.0.0.0:22
	// [10.0.0.0/8] false
}
