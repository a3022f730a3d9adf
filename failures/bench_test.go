package failures

import (
	"testing"

	"github.com/preflight-sh/preflight/gen"
	"github.com/preflight-sh/preflight/twin"
)

// genTwin loads a generated twin of about 200 links: 110 routers in 4
// regions (the services layer is kept small: it plays no part here).
func genTwin(tb testing.TB) *twin.Snapshot {
	tb.Helper()
	files, err := gen.Generate(gen.Options{Routers: 110, Regions: 4, Services: 4, Instances: 200, Seed: 1})
	if err != nil {
		tb.Fatal(err)
	}
	s, err := twin.LoadFiles(files)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// BenchmarkSweepK2 sweeps every set of up to two failed links of a
// generated twin of 110 routers and 200 links for all-pairs loopback
// reachability.
func BenchmarkSweepK2(b *testing.B) {
	s := genTwin(b)
	var r *Result
	for b.Loop() {
		var err error
		r, err = Sweep(s, AllPairs{}, Options{K: 2})
		if err != nil {
			b.Fatal(err)
		}
	}
	st := r.Stats
	b.ReportMetric(float64(st.Elements), "links")
	b.ReportMetric(float64(st.Considered), "sets")
	b.ReportMetric(float64(st.Checked), "checked")
	b.ReportMetric(float64(len(r.Failing)), "failing")
	b.Logf("%+v; reductions %q; holds %v; failing %d", st, r.Reductions, r.Holds, len(r.Failing))
}
