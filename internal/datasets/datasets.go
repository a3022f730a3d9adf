// Package datasets locates the published data-plane datasets for tests and
// benchmarks: PREFLIGHT_DATASETS, or ../../shared/datasets from a package
// directory of this repository.
package datasets

import (
	"os"
	"path/filepath"
	"testing"
)

// Dir returns the datasets directory, or skips the test saying where it
// looked.
func Dir(tb testing.TB) string {
	tb.Helper()
	dir := os.Getenv("PREFLIGHT_DATASETS")
	if dir == "" {
		dir = filepath.Join("..", "..", "shared", "datasets")
	}
	if _, err := os.Stat(filepath.Join(dir, "README.md")); err != nil {
		abs, _ := filepath.Abs(dir)
		tb.Skipf("datasets not found at %s (set PREFLIGHT_DATASETS to the datasets directory): %v", abs, err)
	}
	return dir
}
