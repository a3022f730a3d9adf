// Package risk scores a change from 0 to 100 by named, explained factors
// (blast radius, criticality of what it touches, reversibility, failure
// tolerance lost, simulated impact, propagation speed, timing against the
// demand peak, and what could not be decided) and maps the score to the
// approvals the change needs.
package risk

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/preflight-sh/preflight/change"
	"github.com/preflight-sh/preflight/finding"
	"github.com/preflight-sh/preflight/policy"
	"github.com/preflight-sh/preflight/rollback"
	"github.com/preflight-sh/preflight/twin"
)

// Factor is one named part of the score.
type Factor struct {
	Name   string `json:"name"`
	Points int    `json:"points"`
	Max    int    `json:"max"`
	Why    string `json:"why"`
}

// Approvals is what a change needs from people before it may proceed.
type Approvals struct {
	// Required is how many distinct approvers, none of them the author.
	Required int `json:"required"`
	// Groups each need at least one of the approvers, such as the owners
	// of an affected service.
	Groups []string `json:"groups,omitempty"`
	Why    string   `json:"why"`
}

// Assessment is a change's risk.
type Assessment struct {
	Score     int       `json:"score"`
	Tier      string    `json:"tier"` // low, medium, high or critical
	Factors   []Factor  `json:"factors"`
	Approvals Approvals `json:"approvals"`
}

// Inputs are what the score is built from.
type Inputs struct {
	Result   *change.Result
	Findings []finding.Finding
	Policies []policy.Outcome
	Rollback *rollback.Plan
	// Simulated says the simulation ran.
	Simulated bool
	// PeakHour is the hour (UTC) of peak demand, or -1 without demand.
	PeakHour int
	// At is when the change is to be applied, as an hour of the day
	// (UTC), or -1 when it is not known.
	At int
}

// Tiers, by score.
var tiers = []struct {
	from     int
	name     string
	approver int
	owners   bool
}{{0, "low", 0, false}, {20, "medium", 1, false}, {45, "high", 2, true}, {70, "critical", 2, true}}

// Assess scores a change.
func Assess(in Inputs) Assessment {
	fs := []Factor{
		blastRadius(in.Result),
		criticality(in.Result),
		reversibility(in.Rollback),
		tolerance(in.Findings),
		simulated(in.Findings, in.Simulated),
		propagation(in.Result),
		timing(in.PeakHour, in.At),
		unknowns(in.Findings),
	}
	a := Assessment{Factors: fs}
	for _, f := range fs {
		a.Score += f.Points
	}
	a.Score = min(100, a.Score)
	t := tiers[0]
	for _, c := range tiers {
		if a.Score >= c.from {
			t = c
		}
	}
	a.Tier = t.name
	a.Approvals = approvals(in, t.name, t.approver, t.owners)
	return a
}

func approvals(in Inputs, tier string, n int, owners bool) Approvals {
	ap := Approvals{Required: n}
	var why []string
	switch n {
	case 0:
		why = append(why, tier+" risk: no approval needed")
	default:
		why = append(why, fmt.Sprintf("%s risk: %d approver(s)", tier, n))
	}
	if owners {
		ap.Groups = append(ap.Groups, affectedOwners(in.Result)...)
		if len(ap.Groups) > 0 {
			why = append(why, "including an owner of each affected service")
		}
	}
	for _, oc := range in.Policies {
		if oc.Overridden != nil {
			ap.Required = max(ap.Required, 1)
			ap.Groups = append(ap.Groups, "approver "+oc.Overridden.Approver+" (overrides policy "+oc.Policy+")")
			why = append(why, "the override of policy "+oc.Policy+" must be approved by "+oc.Overridden.Approver)
		}
	}
	sort.Strings(ap.Groups)
	ap.Why = strings.Join(why, "; ")
	return ap
}

// affectedOwners are the owner teams ("team NAME") of the services whose
// capacity the change affects, or of services it touches directly.
func affectedOwners(res *change.Result) []string {
	seen := map[string]bool{}
	add := func(name string) {
		if svc := twin.Lookup[twin.Service](res.Before, name); svc != nil {
			for _, o := range svc.Owners {
				seen["team "+o] = true
			}
			if len(svc.Owners) == 0 {
				seen["an owner of "+name+" (none declared)"] = true
			}
		}
	}
	for _, si := range res.Services {
		if si.Total.Share > 0 {
			add(si.Service)
		}
	}
	for _, t := range res.Touched {
		if t.Kind == "Service" {
			add(t.Name)
		}
	}
	out := make([]string, 0, len(seen))
	for o := range seen {
		out = append(out, o)
	}
	sort.Strings(out)
	return out
}

func blastRadius(res *change.Result) Factor {
	f := Factor{Name: "blast radius", Max: 15}
	share, worst := 0.0, ""
	for _, si := range res.Services {
		if si.Total.Share > share {
			share, worst = si.Total.Share, si.Service
		}
	}
	for _, c := range shippedConsumers(res) {
		// Every instance of an artifact's consumer loads the new content.
		if share < 1 {
			share, worst = 1, c
		}
	}
	n := len(res.Touched) + len(res.Change.Artifacts)
	byShare := int(math.Round(float64(f.Max) * math.Min(1, share/0.5)))
	byCount := int(math.Round(float64(f.Max) * math.Min(1, math.Log10(float64(max(1, n)))/3)))
	f.Points = max(byShare, byCount)
	f.Why = fmt.Sprintf("%d object(s) touched or shipped", n)
	if worst != "" {
		f.Why += fmt.Sprintf("; up to %.0f%% of %s's capacity", share*100, worst)
	}
	return f
}

var criticalityPoints = map[string]int{"critical": 15, "high": 10, "medium": 5, "low": 2}

func criticality(res *change.Result) Factor {
	f := Factor{Name: "criticality", Max: 15}
	network := false
	for _, t := range res.Touched {
		switch t.Kind {
		case "Device", "Link", "RoutePolicy", "ACL", "AnycastPrefix", "Site", "Zone", "Region":
			network = true
		}
	}
	names := map[string]bool{}
	for _, si := range res.Services {
		if si.Total.Share > 0 {
			names[si.Service] = true
		}
	}
	for _, t := range res.Touched {
		if t.Kind == "Service" {
			names[t.Name] = true
		}
	}
	for _, c := range shippedConsumers(res) {
		names[c] = true
	}
	if network {
		// The network carries every service.
		for _, s := range twin.Typed[twin.Service](res.Before) {
			names[s.Name] = true
		}
	}
	worst, which := 0, ""
	for _, name := range slices.Sorted(maps.Keys(names)) {
		svc := twin.Lookup[twin.Service](res.Before, name)
		if svc == nil {
			continue
		}
		p, ok := criticalityPoints[svc.Criticality]
		if !ok {
			p = 8 // not declared: unknown raises risk
		}
		if p > worst {
			worst, which = p, name
		}
	}
	f.Points = worst
	switch {
	case which == "":
		f.Why = "touches no service"
	default:
		c := twin.Lookup[twin.Service](res.Before, which).Criticality
		if c == "" {
			c = "undeclared"
		}
		f.Why = fmt.Sprintf("most critical service affected: %s (%s)", which, c)
		if network {
			f.Why += "; the change touches the network, which carries every service"
		}
	}
	return f
}

func reversibility(p *rollback.Plan) Factor {
	f := Factor{Name: "reversibility", Max: 15}
	switch {
	case p == nil:
		f.Points, f.Why = 10, "no rollback plan"
	case len(p.Irreversible) > 0:
		f.Points, f.Why = 15, "cannot be fully undone: "+p.Irreversible[0]
	case !p.Verified:
		f.Points, f.Why = 10, "rollback not verified: "+p.Why
	default:
		f.Why = fmt.Sprintf("verified rollback of %d operation(s)", len(p.Change.Operations))
	}
	return f
}

// worst returns the most severe finding whose ID starts with one of the
// prefixes.
func worst(fs []finding.Finding, prefixes ...string) *finding.Finding {
	var w *finding.Finding
	for i, f := range fs {
		for _, p := range prefixes {
			if strings.HasPrefix(f.ID, p) && (w == nil || f.Severity.Rank() > w.Severity.Rank()) {
				w = &fs[i]
			}
		}
	}
	return w
}

func bySeverity(f *Factor, w *finding.Finding, crit, warn int, none string) {
	switch {
	case w == nil || w.Severity == finding.Info:
		f.Why = none
	case w.Severity == finding.Warning:
		f.Points, f.Why = warn, w.Message
	default:
		f.Points, f.Why = crit, w.Message
	}
}

func tolerance(fs []finding.Finding) Factor {
	f := Factor{Name: "failure tolerance", Max: 15}
	bySeverity(&f, worst(fs, "capacity.n-", "simulation.zone-failure", "failures."), 15, 8, "no loss of failure tolerance found")
	return f
}

func simulated(fs []finding.Finding, ran bool) Factor {
	f := Factor{Name: "simulated impact", Max: 15}
	if !ran {
		f.Points, f.Why = 5, "not simulated: the twin has no demand to simulate"
		return f
	}
	var sim []finding.Finding
	for _, x := range fs {
		if strings.HasPrefix(x.ID, "simulation.") && !strings.HasPrefix(x.ID, "simulation.zone-failure") {
			sim = append(sim, x)
		}
	}
	bySeverity(&f, worst(sim, "simulation."), 15, 7, "the simulation found no impact")
	return f
}

func propagation(res *change.Result) Factor {
	f := Factor{Name: "propagation speed", Max: 10}
	regions, zones := map[string]bool{}, map[string]bool{}
	var artifacts []string
	for _, t := range res.Touched {
		if t.Kind == "Artifact" && t.Action != "removed" {
			artifacts = append(artifacts, t.Name)
		}
	}
	for _, a := range res.Change.Artifacts {
		artifacts = append(artifacts, a.Name)
	}
	for _, name := range artifacts {
		if a := twin.Lookup[twin.Artifact](res.After, name); a != nil {
			if p := twin.Lookup[twin.Propagation](res.After, a.Propagation); p == nil || p.Mode != "waves" {
				f.Points, f.Why = 10, "artifact "+name+" reaches every consumer at once"
				return f
			}
		}
	}
	for _, si := range res.Services {
		for _, r := range si.Regions {
			if r.Share > 0 {
				regions[r.Name] = true
			}
		}
		for _, z := range si.Zones {
			if z.Share > 0 {
				zones[z.Name] = true
			}
		}
	}
	switch {
	case len(regions) >= 2:
		f.Points, f.Why = 6, fmt.Sprintf("applied to %d regions at once", len(regions))
	case len(zones) >= 2:
		f.Points, f.Why = 3, fmt.Sprintf("applied to %d zones of one region at once", len(zones))
	default:
		f.Why = "confined to one zone or less"
	}
	return f
}

func timing(peak, at int) Factor {
	f := Factor{Name: "timing", Max: 10}
	switch {
	case peak < 0:
		f.Why = "the twin has no demand profile"
	case at < 0:
		f.Points, f.Why = 5, fmt.Sprintf("the change does not say when it is applied (demand peaks at %02d:00 UTC)", peak)
	default:
		d := min((at-peak+24)%24, (peak-at+24)%24)
		switch {
		case d <= 1:
			f.Points = 10
		case d <= 3:
			f.Points = 6
		default:
			f.Points = 2
		}
		f.Why = fmt.Sprintf("applied at %02d:00 UTC, %d hour(s) from the demand peak at %02d:00", at, d, peak)
	}
	return f
}

func unknowns(fs []finding.Finding) Factor {
	f := Factor{Name: "unknowns", Max: 5}
	n := 0
	for _, x := range fs {
		if x.Severity == finding.Unknown {
			n++
		}
	}
	if n > 0 {
		f.Points, f.Why = 5, fmt.Sprintf("%d question(s) the analyses could not decide", n)
	} else {
		f.Why = "every analysis decided"
	}
	return f
}

// shippedConsumers are the consumer services of the artifacts whose new
// content the change ships.
func shippedConsumers(res *change.Result) []string {
	var out []string
	for _, f := range res.Change.Artifacts {
		if a := twin.Lookup[twin.Artifact](res.After, f.Name); a != nil {
			out = append(out, a.Consumer)
		}
	}
	return out
}
