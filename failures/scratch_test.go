package failures

import (
	"testing"
	"time"

	"github.com/preflight-sh/preflight/gen"
	"github.com/preflight-sh/preflight/routing"
	"github.com/preflight-sh/preflight/twin"
)

func TestScratch(t *testing.T) {
	for _, o := range []gen.Options{{Routers: 80, Regions: 4}, {Routers: 80, Regions: 4, Services: 4, Instances: 200}} {
		files, err := gen.Generate(o)
		if err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		s, err := twin.LoadFiles(files)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("load %v", time.Since(t0))
		t.Logf("devices %d links %d sites %d", len(twin.Typed[twin.Device](s)), len(twin.Typed[twin.Link](s)), len(twin.Typed[twin.Site](s)))
		for range 3 {
			t0 = time.Now()
			r := routing.Build(s)
			t.Logf("build %v rules %d", time.Since(t0), r.Network.RuleCount())
		}
	}
}
