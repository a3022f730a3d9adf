package fibdump

import (
	"github.com/preflight-sh/preflight/internal/datasets"
	"path/filepath"
	"testing"
)

// BenchmarkLoadInternet2 loads the Internet2 dataset: nine FIB files,
// 126,017 rules, two topology files.
func BenchmarkLoadInternet2(b *testing.B) {
	dir := filepath.Join(datasets.Dir(b), "internet2")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := LoadInternet2(dir, true); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoadStanford loads the Stanford dataset: 9,052 update lines
// (4,526 applied), 182 topology edges with 108 ACL nodes, 1,413 VLANs.
func BenchmarkLoadStanford(b *testing.B) {
	dir := filepath.Join(datasets.Dir(b), "stanford")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := LoadStanford(dir); err != nil {
			b.Fatal(err)
		}
	}
}
