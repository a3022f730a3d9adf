package dataplane

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"

	"github.com/preflight-sh/preflight/fwd"
	"github.com/preflight-sh/preflight/tracer"
)

// randomNetwork builds a small random network: devices joined by random
// links, rules over a few nested prefixes (so priorities interact),
// ECMP, null routes, local delivery, unlinked ports, and random ACLs.
func randomNetwork(r *rand.Rand) *fwd.Network {
	nd := 2 + r.IntN(5)
	n := &fwd.Network{Devices: map[string]*fwd.Device{}}
	names := make([]string, nd)
	for i := range names {
		names[i] = fmt.Sprintf("d%d", i)
		n.Devices[names[i]] = &fwd.Device{Name: names[i]}
	}
	ports := map[string][]string{}
	for i := 0; i < nd+r.IntN(nd*2); i++ {
		a, b := names[r.IntN(nd)], names[r.IntN(nd)]
		if a == b {
			continue
		}
		pa, pb := fmt.Sprintf("p%d", len(ports[a])), fmt.Sprintf("p%d", len(ports[b]))
		ports[a], ports[b] = append(ports[a], pa), append(ports[b], pb)
		n.Links = append(n.Links, fwd.Link{From: fwd.PortRef{Device: a, Port: pa}, To: fwd.PortRef{Device: b, Port: pb}},
			fwd.Link{From: fwd.PortRef{Device: b, Port: pb}, To: fwd.PortRef{Device: a, Port: pa}})
	}
	prefixes := []string{"10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "10.1.2.128/25", "10.2.0.0/16", "0.0.0.0/0", "10.1.3.0/24"}
	for _, name := range names {
		d := n.Devices[name]
		all := append(append([]string(nil), ports[name]...), "up")
		for i := 0; i < 1+r.IntN(6); i++ {
			p := netip.MustParsePrefix(prefixes[r.IntN(len(prefixes))])
			rule := fwd.Rule{Prefix: p, Priority: p.Bits(), Seq: i}
			switch r.IntN(6) {
			case 0:
				rule.Action = fwd.Drop
			case 1:
				rule.Action = fwd.Deliver
			default:
				rule.Ports = []string{all[r.IntN(len(all))]}
				if r.IntN(3) == 0 {
					if q := all[r.IntN(len(all))]; q != rule.Ports[0] {
						rule.Ports = append(rule.Ports, q)
					}
				}
			}
			d.Rules = append(d.Rules, rule)
		}
		if r.IntN(2) == 0 && len(ports[name]) > 0 {
			acl := &fwd.ACL{Name: "f"}
			for i := 0; i < 1+r.IntN(4); i++ {
				rule := fwd.ACLRule{Permit: r.IntN(3) > 0, Priority: r.IntN(3), Seq: i, Proto: fwd.AnyProto, SrcPort: fwd.AnyPort, DstPort: fwd.AnyPort}
				switch r.IntN(4) {
				case 0:
					rule.Proto = fwd.Range{Lo: 17, Hi: 17}
				case 1:
					rule.DstPort = fwd.Range{Lo: 400, Hi: 500}
				case 2:
					rule.Dst = fwd.PrefixMatch(netip.MustParsePrefix(prefixes[r.IntN(len(prefixes))]))
				}
				acl.Rules = append(acl.Rules, rule)
			}
			d.ACLs = map[string]*fwd.ACL{"f": acl}
			port := ports[name][r.IntN(len(ports[name]))]
			if r.IntN(2) == 0 {
				d.Ports = map[string]fwd.PortACLs{port: {In: []string{"f"}}}
			} else {
				d.Ports = map[string]fwd.PortACLs{port: {Out: []string{"f"}}}
			}
		}
	}
	return n
}

func randomPacket(r *rand.Rand) fwd.Packet {
	dsts := []string{"10.1.2.5", "10.1.2.200", "10.1.3.9", "10.2.7.7", "10.9.9.9", "192.0.2.1", "10.1.9.9"}
	return fwd.Packet{
		Src:     netip.MustParseAddr("172.16.0.1"),
		Dst:     netip.MustParseAddr(dsts[r.IntN(len(dsts))]),
		Proto:   []uint8{6, 17, 1}[r.IntN(3)],
		SrcPort: uint16(r.IntN(65536)),
		DstPort: []uint16{53, 443, 450, 8080}[r.IntN(4)],
	}
}

func render(paths []tracer.Path) string {
	var out []string
	for _, p := range paths {
		out = append(out, fmt.Sprintf("%s (cycle %v)", p, p.Cycle))
	}
	return strings.Join(out, "\n")
}

// TestAgainstTracer is the differential test: on thousands of seeded
// random networks and packets, the class a packet falls in must behave,
// hop by hop and branch by branch, exactly as the concrete tracer says
// the packet does.
func TestAgainstTracer(t *testing.T) {
	for seed := range uint64(2000) {
		r := rand.New(rand.NewPCG(seed, 7))
		n := randomNetwork(r)
		forwardingOnly := seed%4 == 3
		m, err := Build(n, Options{ForwardingOnly: forwardingOnly})
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		for range 5 {
			p := randomPacket(r)
			atom := m.AtomOf(p)
			if atom < 0 {
				t.Fatalf("seed %d: packet %v is in no class", seed, p)
			}
			start := m.Devices[r.IntN(len(m.Devices))]
			concrete := n
			if forwardingOnly {
				concrete = m.network()
			}
			want, _ := tracer.Trace(concrete, start, "", p)
			got, _ := m.Walk(atom, start)
			if render(got) != render(want) {
				t.Fatalf("seed %d, packet %v from %s:\nsymbolic:\n%s\nconcrete:\n%s", seed, p, start, render(got), render(want))
			}
		}
	}
}

// TestAtomsPartition checks that the classes are disjoint and cover every
// packet.
func TestAtomsPartition(t *testing.T) {
	for seed := range uint64(200) {
		m, err := Build(randomNetwork(rand.New(rand.NewPCG(seed, 1))), Options{})
		if err != nil {
			t.Fatal(err)
		}
		M := m.Space.M
		union := M.False()
		for i, a := range m.Atoms {
			if a.IsFalse() {
				t.Fatalf("seed %d: empty class %d", seed, i)
			}
			if !(M.And(union, a)).IsFalse() {
				t.Fatalf("seed %d: class %d overlaps an earlier one", seed, i)
			}
			union = M.Or(union, a)
		}
		if !union.IsTrue() {
			t.Fatalf("seed %d: the classes do not cover every packet", seed)
		}
	}
}

// FuzzAgainstTracer runs the differential test on networks and packets
// drawn from fuzzer-chosen seeds.
func FuzzAgainstTracer(f *testing.F) {
	for _, s := range []uint64{0, 1, 42, 1000, 1 << 40} {
		f.Add(s, uint64(7), false)
	}
	f.Fuzz(func(t *testing.T, seed, stream uint64, forwardingOnly bool) {
		r := rand.New(rand.NewPCG(seed, stream))
		n := randomNetwork(r)
		m, err := Build(n, Options{ForwardingOnly: forwardingOnly})
		if err != nil {
			t.Fatal(err)
		}
		concrete := n
		if forwardingOnly {
			concrete = m.network()
		}
		for range 5 {
			p := randomPacket(r)
			start := m.Devices[r.IntN(len(m.Devices))]
			want, _ := tracer.Trace(concrete, start, "", p)
			got, _ := m.Walk(m.AtomOf(p), start)
			if render(got) != render(want) {
				t.Fatalf("packet %v from %s:\nsymbolic:\n%s\nconcrete:\n%s", p, start, render(got), render(want))
			}
		}
	})
}
