package dataplane

import (
	"path/filepath"
	"testing"

	"github.com/preflight-sh/preflight/fibdump"
	"github.com/preflight-sh/preflight/internal/datasets"
)

// BenchmarkStanfordReplay replays the Stanford update trace (9,052
// updates: 686 ACL rule inserts, 3,840 forwarding rule inserts, then their
// deletes) on an incremental model that starts with no rules, checking
// every update for new loops and black holes; ns/update is the time per
// update. The trace is parsed before the clock starts. Sub-benchmarks:
// with ACLs, checked from the updated device (the default) or from every
// device, and forwarding only (the ACL updates are skipped but counted).
func BenchmarkStanfordReplay(b *testing.B) {
	dir := filepath.Join(datasets.Dir(b), "stanford")
	n, err := fibdump.LoadStanford(dir)
	if err != nil {
		b.Fatal(err)
	}
	ups, err := fibdump.ReadStanfordUpdates(filepath.Join(dir, "updates"))
	if err != nil {
		b.Fatal(err)
	}
	empty := WithoutRules(n)
	for _, c := range []struct {
		name string
		opts IncrementalOptions
	}{
		{"acl", IncrementalOptions{}},
		{"acl-from-all-devices", IncrementalOptions{FromAllDevices: true}},
		{"forwarding-only", IncrementalOptions{ForwardingOnly: true}},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				x, err := NewIncremental(empty, c.opts)
				if err != nil {
					b.Fatal(err)
				}
				for _, u := range ups {
					if _, err := x.Apply(u); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(ups)), "ns/update")
		})
	}
}
