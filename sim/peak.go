package sim

import (
	"time"

	"github.com/preflight-sh/preflight/twin"
)

// PeakHour is the hour of the day whose summed demand (profile factor ×
// peak, over every demand and origin) is largest; 0 when no demand has a
// daily profile. Demands without one count the same every hour.
func PeakHour(s *twin.Snapshot) time.Duration {
	var sum [24]float64
	profiled := false
	for _, d := range twin.Typed[twin.Demand](s) {
		peak := 0.0
		for _, o := range d.Origins {
			peak += float64(o.Peak)
		}
		for h := range sum {
			f := 1.0
			if len(d.Profile) == 24 {
				f, profiled = d.Profile[h], true
			}
			sum[h] += f * peak
		}
	}
	if !profiled {
		return 0
	}
	best := 0
	for h := range sum {
		if sum[h] > sum[best] {
			best = h
		}
	}
	return time.Duration(best) * time.Hour
}
