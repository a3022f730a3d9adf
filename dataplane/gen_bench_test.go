package dataplane

import (
	"testing"

	"github.com/preflight-sh/preflight/gen"
	"github.com/preflight-sh/preflight/routing"
	"github.com/preflight-sh/preflight/twin"
)

// BenchmarkGen2000AllPairs: a generated 2,000-router BGP network — data
// plane from the control plane, equivalence classes, and the outcome of
// every class from every router (all-pairs reachability).
func BenchmarkGen2000AllPairs(b *testing.B) {
	files, err := gen.Generate(gen.Options{Routers: 2000, Regions: 10, Instances: 3000})
	if err != nil {
		b.Fatal(err)
	}
	s, err := twin.LoadFiles(files)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		n := routing.BuildForwarding(s).Network
		m, err := Build(n, Options{})
		if err != nil {
			b.Fatal(err)
		}
		w := m.NewOutcomeWalker()
		for atom := range m.Atoms {
			w.Follow(atom)
		}
		b.ReportMetric(float64(len(m.Atoms)), "classes")
	}
}
