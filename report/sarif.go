package report

import (
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/preflight-sh/preflight/check"
	"github.com/preflight-sh/preflight/finding"
	"github.com/preflight-sh/preflight/risk"
	"github.com/preflight-sh/preflight/twin"
	"github.com/preflight-sh/preflight/verdict"
)

// The SARIF version written, and the URL of its JSON Schema.
const (
	sarifVersion = "2.1.0"
	sarifSchema  = "https://json.schemastore.org/sarif-2.1.0.json"
)

// The SARIF objects written, with the properties preflight fills.
type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool       sarifTool     `json:"tool"`
	Results    []sarifResult `json:"results"`
	Properties sarifRunProps `json:"properties"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name  string      `json:"name"`
	Rules []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID               string      `json:"id"`
	ShortDescription sarifText   `json:"shortDescription"`
	Properties       sarifTagBag `json:"properties"`
}

type sarifTagBag struct {
	Tags []string `json:"tags"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifResult struct {
	RuleID              string            `json:"ruleId"`
	RuleIndex           int               `json:"ruleIndex"`
	Level               string            `json:"level"`
	Message             sarifText         `json:"message"`
	Locations           []sarifLocation   `json:"locations,omitempty"`
	PartialFingerprints map[string]string `json:"partialFingerprints"`
	Properties          sarifResultProps  `json:"properties"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           *sarifRegion  `json:"region,omitempty"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn,omitempty"`
}

// sarifResultProps is a result's property bag: what SARIF has no field for.
type sarifResultProps struct {
	ID       string           `json:"id"`
	Severity finding.Severity `json:"severity"`
	Category string           `json:"category,omitempty"`
	Weight   float64          `json:"weight,omitempty"`
	Objects  []sarifObject    `json:"objects,omitempty"`
	Evidence finding.Evidence `json:"evidence"`
}

type sarifObject struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
	At   string `json:"at,omitempty"`
}

type sarifRunProps struct {
	APIVersion string              `json:"apiVersion"`
	Kind       string              `json:"kind"`
	Twin       string              `json:"twin"`
	Change     check.ChangeSummary `json:"change"`
	Verdict    *verdict.Verdict    `json:"verdict,omitempty"`
	Risk       *risk.Assessment    `json:"risk,omitempty"`
	Touched    int                 `json:"objectsTouched"`
}

// sarifLevel maps a severity to a SARIF level: an unknown is never safe,
// so it is a warning, not a note.
func sarifLevel(s finding.Severity) string {
	switch s {
	case finding.Critical:
		return "error"
	case finding.Unknown, finding.Warning:
		return "warning"
	}
	return "note"
}

// ruleText describes the rules of the findings the analyses report; a rule
// not listed here is described by its ID.
var ruleText = map[string]string{
	"anycast.no-announcement":       "An anycast prefix is announced from no site",
	"blast-radius.objects":          "The change touches more objects than a blast-radius limit allows",
	"blast-radius.share":            "The change affects a larger share of a service's capacity than a blast-radius limit allows",
	"capacity.floor":                "A service falls below its capacity floor (instances or rps)",
	"capacity.n-1":                  "A service in a region has no N-1 zone headroom at peak",
	"capacity.peak":                 "A service in a region cannot carry its peak load",
	"dns.no-healthy-answer":         "A DNS name gives clients in a region no healthy answer",
	"failures.k-tolerance":          "A set of failures breaks a network invariant",
	"reachability.anycast-lost":     "An anycast prefix is announced from no site after the change",
	"reachability.dropped":          "Traffic that was delivered is now dropped",
	"reachability.elsewhere":        "Traffic now ends somewhere else",
	"reachability.leaves":           "Traffic that was delivered inside the network now leaves it",
	"reachability.loop":             "Traffic is now caught in a forwarding loop",
	"reachability.not-compared":     "The change's effect on reachability was not computed",
	"reachability.rerouted":         "Traffic still arrives, through different devices",
	"reachability.restored":         "Traffic that was dropped is now delivered",
	"routing.anycast-withdrawn":     "A site withdraws an anycast prefix",
	"routing.max-prefix":            "A BGP session is torn down over its max-prefix limit",
	"routing.no-convergence":        "BGP does not converge",
	"routing.policy-invalid":        "A route policy rule is invalid",
	"routing.route-limit":           "A device's forwarding rules are over or near its route limit",
	"routing.session-misconfigured": "A BGP session cannot come up: it is misconfigured",
	"selector.count":                "A selector with count picks a few objects from a far larger set",
	"selector.scope":                "A selector reaches a service, role or region the rest of the change does not name",
	"selector.spread":               "A selector matches several services, roles or regions without saying which",
	"simulation.availability":       "Clients get fewer requests answered than their SLO over the simulated run",
	"simulation.cascade":            "Components fail one after another in the simulated run",
	"simulation.latency":            "p99 latency is above its SLO in the simulated run",
	"simulation.metastable":         "A failure sustains itself after its trigger ended",
	"simulation.overload":           "A service is overloaded in the simulated run",
	"simulation.recovery":           "Clients recover after a trigger ended",
	"simulation.zone-failure":       "With the change, losing a zone at the daily peak misses an SLO that the same loss without the change meets",
}

// ruleID is the rule a finding belongs to: the first two dot-separated
// parts of its ID, up to the first slash ("capacity.floor" for
// "capacity.floor/web/total=total/instances", "simulation.overload" for
// "simulation.overload.api").
func ruleID(id string) string {
	head, _, _ := strings.Cut(id, "/")
	parts := strings.SplitN(head, ".", 3)
	return strings.Join(parts[:min(2, len(parts))], ".")
}

// SARIF writes a check or plan report as a SARIF 2.1.0 log for code
// scanning: one run, a rule per kind of finding, a result per finding
// located at its objects' files (relative to the working directory where
// possible). The verdict is in the run's properties.
func SARIF(w io.Writer, r *check.Report) error {
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	return JSON(w, sarif(r, wd))
}

// sarif builds the log, with file URIs relative to wd.
func sarif(r *check.Report, wd string) sarifLog {
	index := map[string]int{}
	var ids []string
	for _, f := range r.Findings {
		if id := ruleID(f.ID); !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	rules := make([]sarifRule, len(ids))
	for i, id := range ids {
		index[id] = i
		text, ok := ruleText[id]
		if !ok {
			text = "preflight finding " + id
		}
		category, _, _ := strings.Cut(id, ".")
		rules[i] = sarifRule{ID: id, ShortDescription: sarifText{text}, Properties: sarifTagBag{Tags: []string{"preflight", category}}}
	}
	results := make([]sarifResult, 0, len(r.Findings))
	for _, f := range r.Findings {
		res := sarifResult{
			RuleID:              ruleID(f.ID),
			RuleIndex:           index[ruleID(f.ID)],
			Level:               sarifLevel(f.Severity),
			Message:             sarifText{f.Message},
			PartialFingerprints: map[string]string{"preflightFindingId/v1": f.ID},
			Properties:          sarifResultProps{ID: f.ID, Severity: f.Severity, Category: f.Category, Weight: f.Weight, Evidence: f.Evidence},
		}
		seen := map[string]bool{}
		for _, o := range f.Objects {
			res.Properties.Objects = append(res.Properties.Objects, sarifObject{Kind: o.Kind, Name: o.Name, At: o.Pos.String()})
			uri := artifactURI(r, o.Pos, wd)
			if uri == "" || seen[o.Pos.String()] {
				continue
			}
			seen[o.Pos.String()] = true
			loc := sarifLocation{PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifact{URI: uri}}}
			if o.Pos.Line > 0 {
				loc.PhysicalLocation.Region = &sarifRegion{StartLine: o.Pos.Line, StartColumn: o.Pos.Col}
			}
			res.Locations = append(res.Locations, loc)
		}
		results = append(results, res)
	}
	props := sarifRunProps{APIVersion: r.APIVersion, Kind: r.Kind, Twin: r.Twin, Change: r.Change, Verdict: r.Verdict, Risk: r.Risk}
	if r.BlastRadius != nil {
		props.Touched = len(r.BlastRadius.Touched)
	}
	return sarifLog{
		Schema:  sarifSchema,
		Version: sarifVersion,
		Runs: []sarifRun{{
			Tool:       sarifTool{Driver: sarifDriver{Name: "preflight", Rules: rules}},
			Results:    results,
			Properties: props,
		}},
	}
}

// artifactURI is the URI of the file a position is in: relative to wd with
// forward slashes when the file is under wd, else an absolute file URI. It
// is empty for a position in no file, or in a --command change.
func artifactURI(r *check.Report, p twin.Pos, wd string) string {
	if p.File == "" || (r.Change.Source == "command" && p.File == "command") {
		return ""
	}
	abs, err := filepath.Abs(p.File)
	if err != nil {
		return ""
	}
	if rel, err := filepath.Rel(wd, abs); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return (&url.URL{Path: filepath.ToSlash(rel)}).String()
	}
	path := filepath.ToSlash(abs)
	if !strings.HasPrefix(path, "/") {
		path = "/" + path // a Windows drive: file:///C:/...
	}
	return (&url.URL{Scheme: "file", Path: path}).String()
}
