package twin_test

import (
	"testing"

	"github.com/preflight-sh/preflight/gen"
	"github.com/preflight-sh/preflight/twin"
)

// BenchmarkLoadLarge loads a synthetic twin of 10,000 instances, 500
// services and 1,000 routers; MB/s counts the YAML text read.
func BenchmarkLoadLarge(b *testing.B) {
	files, err := gen.Generate(gen.Options{Services: 500, Instances: 10000, Routers: 1000})
	if err != nil {
		b.Fatal(err)
	}
	size := 0
	for _, f := range files {
		size += len(f)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := twin.LoadFiles(files); err != nil {
			b.Fatal(err)
		}
	}
}
