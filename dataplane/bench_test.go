package dataplane

import (
	"github.com/preflight-sh/preflight/internal/datasets"
	"path/filepath"
	"testing"

	"github.com/preflight-sh/preflight/fibdump"
)

// BenchmarkInternet2AllPairs builds the forwarding-only model of Internet2
// (126,017 rules, already parsed) and computes where all traffic from
// every router ends: reachability between all router pairs.
func BenchmarkInternet2AllPairs(b *testing.B) {
	n, _, err := fibdump.Load(filepath.Join(datasets.Dir(b), "internet2"))
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		m, err := Build(n, Options{ForwardingOnly: true})
		if err != nil {
			b.Fatal(err)
		}
		for _, d := range m.Devices {
			if _, err := m.Outcomes(d, m.Space.M.True()); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkStanfordBuild builds the Stanford model with ACLs.
func BenchmarkStanfordBuild(b *testing.B) {
	n, _, err := fibdump.Load(filepath.Join(datasets.Dir(b), "stanford"))
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := Build(n, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
