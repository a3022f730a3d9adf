package sim

import (
	"testing"
	"time"

	"github.com/preflight-sh/preflight/twin"
)

func TestSmokeShop(t *testing.T) {
	s, err := twin.Load("../examples/shop")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	r, err := Run(s, Options{Duration: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%v computed=%d imbalance=%g", time.Since(start), r.Computed, r.Imbalance)
	for _, e := range r.Entries {
		t.Logf("%s offered=%.0f succ=%.4f p99=%.3f", e.Name, e.TotalOffered, e.TotalSucceeded/e.TotalAttempts, e.P99[0])
	}
	for _, c := range r.Components {
		t.Logf("%s %s peak=%.2f", c.Kind, c.Name, c.Peak)
	}
	for _, l := range r.Log {
		t.Logf("%v %s %s %s", l.At, l.What, l.Subject, l.Detail)
	}
}
