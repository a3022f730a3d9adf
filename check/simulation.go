package check

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/preflight-sh/preflight/change"
	"github.com/preflight-sh/preflight/finding"
	"github.com/preflight-sh/preflight/sim"
	"github.com/preflight-sh/preflight/twin"
	"github.com/preflight-sh/preflight/units"
)

// The window check simulates: from the hour of the daily demand peak, the
// change at 5m and, in the sweep, each zone failed at 10m. The same runs
// as preflight simulate TWIN --change FILE --duration 20m --sweep zone.
const (
	simDuration = 20 * time.Minute
	simChangeAt = 5 * time.Minute
	simFailAt   = 10 * time.Minute
	simSeed     = 1
)

// maxEntryLines caps the entry points a zone-failure finding lists.
const maxEntryLines = 10

// simulation runs the twin s over the window with the change and without
// it, judges the run against the baseline, then fails each zone with the
// change and without it and reports the zones whose loss the change makes
// worse. after is s with the change applied; badArtifacts are the
// artifacts it ships that their consumer cannot load.
func simulation(s, after *twin.Snapshot, cs *change.ChangeSet, badArtifacts []string) ([]finding.Finding, error) {
	title := cs.Title
	if title == "" {
		title = cs.Source
	}
	base := sim.Options{Duration: simDuration, Start: sim.PeakHour(s), Seed: simSeed, Cache: sim.NewCache(), BadArtifacts: badArtifacts}
	o := base
	o.Events = []sim.Event{{At: simChangeAt, Name: sim.CLIChange, Label: "apply " + title, Change: cs}}
	withChange, err := sim.Run(s, o)
	if err != nil {
		return nil, err
	}
	without, err := sim.Run(s, base)
	if err != nil {
		return nil, err
	}
	cases, err := sim.Sweep(s, o, &base, "zone", simFailAt)
	if err != nil {
		return nil, err
	}
	fs := sim.Findings(s, withChange, without, o)
	return append(fs, zoneFailures(s, after, sim.Outcomes(s, withChange, o), cases)...), nil
}

// zoneFailures is a finding for each zone whose loss, with the change in
// place, misses an SLO that the change alone does not miss, and that the
// same loss without the change meets (critical) or misses by less
// (warning). An entry point counts as missing by less when the change costs
// it at least a tenth of its error budget. When the change itself takes
// another zone of the region out of service, the loss is a region's second
// zone, beyond the one (N-1) the twin is sized for: a warning.
func zoneFailures(s, after *twin.Snapshot, alone []sim.EntryOutcome, cases []sim.SweepCase) []finding.Finding {
	broken := map[string]bool{} // by the change alone
	for _, e := range alone {
		broken[e.Name] = e.Violates
	}
	type hit struct{ with, without sim.EntryOutcome }
	var out []finding.Finding
	for _, c := range cases {
		without := map[string]sim.EntryOutcome{}
		for _, e := range c.Baseline {
			without[e.Name] = e
		}
		sev := finding.Warning
		var hits []hit
		extra := 0.0
		for _, e := range c.Entries {
			b, ok := without[e.Name]
			if !ok || !e.Violates || broken[e.Name] || (b.Violates && e.Availability > b.Availability-(1-e.Target)/10) {
				continue
			}
			if !b.Violates {
				sev = finding.Critical
			}
			hits = append(hits, hit{e, b})
			extra += math.Max(0, e.Lost-b.Lost)
		}
		if len(hits) == 0 {
			continue
		}
		sort.SliceStable(hits, func(i, j int) bool { return hits[i].with.Availability < hits[j].with.Availability })
		worst := hits[0]
		lines := []string{fmt.Sprintf("zone %s fails %v into a %v run from %s UTC, the change goes in at %v; worst entry point %s", c.Failed, units.Duration(simFailAt), units.Duration(simDuration), clock(sim.PeakHour(s)), units.Duration(simChangeAt), worst.with.Name)}
		for i, h := range hits {
			if i == maxEntryLines {
				lines = append(lines, fmt.Sprintf("… and %d more entry point(s)", len(hits)-i))
				break
			}
			lines = append(lines, fmt.Sprintf("%s: %s answered with the change, %s without it (target %s)", h.with.Name, pct(h.with.Availability), pct(h.without.Availability), pct(h.with.Target)))
		}
		region := s.RegionOfZone(c.Failed)
		var taken []string
		for _, z := range twin.Typed[twin.Zone](s) {
			if z.Name != c.Failed && z.Region == region && s.ZoneUp(z.Name) && !after.ZoneUp(z.Name) {
				taken = append(taken, z.Name)
			}
		}
		if len(taken) > 0 {
			sev = finding.Warning
			lines = append(lines, fmt.Sprintf("the change takes %s of %s out of service: losing %s as well is a second zone of the region, beyond the one zone (N-1) the twin is sized to lose, so this warns and does not block", strings.Join(taken, ", "), region, c.Failed))
		}
		msg := fmt.Sprintf("with this change, losing zone %s at the daily peak leaves %s %s of requests answered, against %s without the change: below its target of %s", c.Failed, worst.with.Name, pct(worst.with.Availability), pct(worst.without.Availability), pct(worst.with.Target))
		if len(hits) > 1 {
			msg += fmt.Sprintf(" (and %d more entry point(s))", len(hits)-1)
		}
		var objs []finding.Object
		if z := s.Get("Zone", c.Failed); z != nil {
			objs = append(objs, finding.ObjectOf(z, ""))
		}
		out = append(out, finding.Finding{
			ID: "simulation.zone-failure." + c.Failed, Category: "simulation", Severity: sev, Message: msg, Objects: objs,
			Evidence: finding.Evidence{
				Figures: []finding.Figure{
					{Name: "availability with the change", Value: worst.with.Availability * 100, Unit: "%"},
					{Name: "availability without the change", Value: worst.without.Availability * 100, Unit: "%"},
					{Name: "target", Value: worst.with.Target * 100, Unit: "%"},
					{Name: "requests lost to the change", Value: math.Round(extra), Unit: "requests"},
				},
				Lines: lines,
			},
			Weight: extra,
		})
	}
	return out
}

// pct prints a share as a percentage with up to three decimals, rounded
// down, so that a share below a target never prints as the target.
func pct(f float64) string {
	return strconv.FormatFloat(math.Floor(math.Max(0, f)*1e5+1e-6)/1e3, 'f', -1, 64) + "%"
}

// clock prints a time of day as 19:00.
func clock(d time.Duration) string {
	return fmt.Sprintf("%02d:%02d", int(d/time.Hour), int(d%time.Hour/time.Minute))
}
