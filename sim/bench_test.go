package sim

import (
	"testing"
	"time"

	"github.com/preflight-sh/preflight/gen"
	"github.com/preflight-sh/preflight/twin"
)

var benchDuration = 24 * time.Hour

// BenchmarkDay24hLarge simulates 24 hours at 1 s resolution on a generated
// twin with 10,000 instances and 500 services, losing a zone at noon.
func BenchmarkDay24hLarge(b *testing.B) {
	files, err := gen.Generate(gen.Options{Services: 500, Instances: 10000, Routers: 1000})
	if err != nil {
		b.Fatal(err)
	}
	s, err := twin.LoadFiles(files)
	if err != nil {
		b.Fatal(err)
	}
	zone := twin.Typed[twin.Zone](s)[0].Name
	o := Options{Duration: benchDuration, Events: []Event{command(b, "zone down", "shutdown zone "+zone, benchDuration/2, false), command(b, "zone back", "restore zone "+zone, benchDuration/2+time.Hour, true)}}
	b.ResetTimer()
	for b.Loop() {
		r, err := Run(s, o)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(r.Computed), "computed-ticks")
	}
}
