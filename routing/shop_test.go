package routing

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/preflight-sh/preflight/fwd"
	"github.com/preflight-sh/preflight/gen"
	"github.com/preflight-sh/preflight/twin"
)

func shop(tb testing.TB) *twin.Snapshot {
	tb.Helper()
	s, err := twin.Load("../examples/shop")
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// loopbacks returns the addresses of every device's lo0, by device.
func loopbacks(s *twin.Snapshot) map[string][]netip.Prefix {
	out := map[string][]netip.Prefix{}
	for _, d := range twin.Typed[twin.Device](s) {
		for _, f := range d.Interfaces {
			if f.Name == "lo0" {
				out[d.Name] = f.Addresses
			}
		}
	}
	return out
}

// wantReachable checks that every device of the role (every device if
// role is empty) forwards towards every other device's loopback.
func wantReachable(t *testing.T, s *twin.Snapshot, res *Result, role string) {
	t.Helper()
	lo := loopbacks(s)
	for _, d := range twin.Typed[twin.Device](s) {
		if role != "" && d.Role != role {
			continue
		}
		for other, addrs := range lo {
			for _, a := range addrs {
				r := lookup(res, d.Name, a.String())
				if other != d.Name && (r == nil || r.Action != fwd.Forward) {
					t.Errorf("%s has no route to the loopback %s of %s: %+v", d.Name, a, other, r)
				}
			}
		}
	}
}

func TestShop(t *testing.T) {
	s := shop(t)
	res := Build(s)
	if !res.Converged || res.Iterations > 5 {
		t.Errorf("converged %v after %d rounds", res.Converged, res.Iterations)
	}
	for _, f := range res.Findings {
		t.Errorf("finding %s: %s", f.ID, f.Message)
	}
	for _, se := range res.Sessions {
		if se.State != Established {
			t.Errorf("session %s/%s: %s %s", se.A.Device, se.A.Neighbor, se.State, se.Reason)
		}
	}
	wantReachable(t, s, res, "backbone")
	for _, ap := range twin.Typed[twin.AnycastPrefix](s) {
		for _, d := range twin.Typed[twin.Device](s) {
			if d.Role != "backbone" {
				continue
			}
			r := lookup(res, d.Name, ap.Prefix.String())
			if r == nil || r.Action != fwd.Forward || !strings.HasPrefix(r.Origin, "bgp via edge1.") {
				t.Errorf("%s: rule for anycast %s: %+v", d.Name, ap.Prefix, r)
			}
		}
	}
	// The edge routers send transit only the anycast prefixes (fra-pop,
	// the backup, prepended), and receive nothing from outside the twin.
	for _, se := range res.Sessions {
		if strings.HasPrefix(se.A.Neighbor, "transit-") && (se.B.Received != 2 && strings.HasSuffix(se.A.Neighbor, "v4") || se.B.Received != 1 && strings.HasSuffix(se.A.Neighbor, "v6") || se.A.Received != 0) {
			t.Errorf("session %s/%s: %+v", se.A.Device, se.A.Neighbor, se)
		}
	}
}

func TestGenerated(t *testing.T) {
	files, err := gen.Generate(gen.Options{Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	s, err := twin.LoadFiles(files)
	if err != nil {
		t.Fatal(err)
	}
	res := Build(s)
	if !res.Converged || len(res.Findings) > 0 {
		t.Errorf("converged %v, findings %+v", res.Converged, res.Findings)
	}
	for _, se := range res.Sessions {
		if se.State != Established {
			t.Errorf("session %s/%s: %s %s", se.A.Device, se.A.Neighbor, se.State, se.Reason)
		}
	}
	wantReachable(t, s, res, "")
}

// BenchmarkBuildGen2000 builds the data plane of a generated twin of 2,000
// routers in 10 regions (11,180 IGP prefixes, 22 million forwarding rules).
func BenchmarkBuildGen2000(b *testing.B) {
	files, err := gen.Generate(gen.Options{Routers: 2000, Regions: 10, Instances: 3000})
	if err != nil {
		b.Fatal(err)
	}
	s, err := twin.LoadFiles(files)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		build func(*twin.Snapshot) *Result
	}{{"with-ribs", Build}, {"forwarding", BuildForwarding}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				res := c.build(s)
				if !res.Converged {
					b.Fatal("not converged")
				}
			}
		})
	}
}
