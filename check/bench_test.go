package check_test

import (
	"testing"

	"github.com/preflight-sh/preflight/change"
	"github.com/preflight-sh/preflight/check"
	"github.com/preflight-sh/preflight/gen"
	"github.com/preflight-sh/preflight/twin"
)

// BenchmarkCheckShop is preflight check on the example twin end to end:
// load and validate the twin, parse the change, apply, analyse, decide.
func BenchmarkCheckShop(b *testing.B) {
	for b.Loop() {
		s, err := twin.Load("../examples/shop")
		if err != nil {
			b.Fatal(err)
		}
		cs, err := change.LoadFile("../examples/shop/changes/04-remove-billing-hosts-typo.yaml")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := check.Run("shop", s, cs, check.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidatePlanLarge loads, validates and plans a zone drain on a
// generated twin with 10,000 instances and 1,000 routers.
func BenchmarkValidatePlanLarge(b *testing.B) {
	files, err := gen.Generate(gen.Options{Regions: 3, ZonesPerRegion: 3, Services: 500, Instances: 10000, Routers: 1000, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	ops, err := change.Compile("drain zone r01-az1")
	if err != nil {
		b.Fatal(err)
	}
	cs := &change.ChangeSet{Operations: ops}
	b.ResetTimer()
	for b.Loop() {
		s, err := twin.LoadFiles(files)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := check.Plan("large", s, cs); err != nil {
			b.Fatal(err)
		}
	}
}
