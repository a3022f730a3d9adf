// Package check is the pipeline behind preflight plan and check: apply a
// change to the twin, run the analyses on before and after, and decide.
package check

import (
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/preflight-sh/preflight/artifact"
	"github.com/preflight-sh/preflight/capacity"
	"github.com/preflight-sh/preflight/change"
	"github.com/preflight-sh/preflight/finding"
	"github.com/preflight-sh/preflight/netdiff"
	"github.com/preflight-sh/preflight/policy"
	"github.com/preflight-sh/preflight/risk"
	"github.com/preflight-sh/preflight/rollback"
	"github.com/preflight-sh/preflight/sim"
	"github.com/preflight-sh/preflight/twin"
	"github.com/preflight-sh/preflight/verdict"
)

// APIVersion versions the JSON reports. Fields are only ever added within a
// version.
const APIVersion = "preflight/v1"

// Report is the result of plan or check, the one data model every output
// format renders.
type Report struct {
	APIVersion  string            `json:"apiVersion"`
	Kind        string            `json:"kind"`
	Twin        string            `json:"twin"`
	Change      ChangeSummary     `json:"change"`
	BlastRadius *change.Result    `json:"blastRadius"`
	Analyses    []Analysis        `json:"analyses,omitempty"`
	Findings    []finding.Finding `json:"findings"`
	Verdict     *verdict.Verdict  `json:"verdict,omitempty"`
	// Risk scores the change and says what approvals it needs.
	Risk *risk.Assessment `json:"risk,omitempty"`
	// Policies is what each of the twin's policies decided.
	Policies []policy.Outcome `json:"policies,omitempty"`
	// Rollback is how to undo the change, verified on the twin.
	Rollback   *rollback.Plan     `json:"rollback,omitempty"`
	Operations []change.Operation `json:"operations"`
}

// Options are the inputs of a check beyond the twin and the change.
type Options struct {
	// Overrides are approvers' decisions to let the change through
	// soft-mandatory policies.
	Overrides []policy.Override
	// ReadFile reads the artifacts a change ships (nil: from disk, within
	// the artifact package's size limit).
	ReadFile func(path string) ([]byte, error)
}

// ChangeSummary is the change's metadata.
type ChangeSummary struct {
	Title  string `json:"title,omitempty"`
	Author string `json:"author,omitempty"`
	Ticket string `json:"ticket,omitempty"`
	Reason string `json:"reason,omitempty"`
	Source string `json:"source,omitempty"`
}

// Analysis records one analysis and whether it ran.
type Analysis struct {
	Name     string `json:"name"`
	Ran      bool   `json:"ran"`
	Findings int    `json:"findings"`
	Why      string `json:"why,omitempty"`
}

// Plan applies the change and reports its blast radius, with the findings
// about its selectors.
func Plan(twinName string, s *twin.Snapshot, cs *change.ChangeSet) (*Report, error) {
	res, err := change.Apply(s, cs)
	if err != nil {
		return nil, err
	}
	r := &Report{
		APIVersion:  APIVersion,
		Kind:        "Plan",
		Twin:        twinName,
		Change:      ChangeSummary{Title: cs.Title, Author: cs.Author, Ticket: cs.Ticket, Reason: cs.Reason, Source: cs.Source},
		BlastRadius: res,
		Operations:  cs.Operations,
		Findings:    res.SelectorFindings(),
	}
	finding.Sort(r.Findings)
	return r, nil
}

// Run applies the change, runs every analysis on before and after, and
// decides.
func Run(twinName string, s *twin.Snapshot, cs *change.ChangeSet, o Options) (*Report, error) {
	r, err := Plan(twinName, s, cs)
	if err != nil {
		return nil, err
	}
	r.Kind = "Check"
	r.Analyses = append(r.Analyses, Analysis{Name: "selectors", Ran: true, Findings: len(r.Findings)})
	capFindings := capacity.Check(r.BlastRadius)
	r.Analyses = append(r.Analyses, Analysis{Name: "capacity", Ran: true, Findings: len(capFindings)})
	r.Findings = append(r.Findings, capFindings...)
	// The artifacts first: the simulation crashes the consumers of those
	// their consumer cannot load.
	art := Analysis{Name: "artifacts"}
	var bad []string
	if len(cs.Artifacts) == 0 {
		art.Why = "the change ships no artifact"
	} else {
		fs, err := artifact.Check(r.BlastRadius, o.ReadFile)
		if err != nil {
			return nil, err
		}
		art.Ran, art.Findings = true, len(fs)
		for _, f := range fs {
			for _, obj := range f.Objects {
				if f.Severity == finding.Critical && obj.Kind == "Artifact" && !slices.Contains(bad, obj.Name) {
					bad = append(bad, obj.Name)
				}
			}
		}
		r.Findings = append(r.Findings, fs...)
	}
	r.Analyses = append(r.Analyses, art)
	// The simulation runs alongside the network analysis.
	simA := Analysis{Name: "simulation"}
	var simFs []finding.Finding
	var simErr error
	var simPanic any
	var wg sync.WaitGroup
	if len(s.List("Demand")) == 0 {
		simA.Why = "the twin has no demand"
	} else {
		wg.Go(func() {
			defer func() {
				if p := recover(); p != nil {
					simPanic = fmt.Sprintf("%v\n%s", p, debug.Stack())
				}
			}()
			simFs, simErr = simulation(s, r.BlastRadius.After, cs, bad)
		})
	}
	net, netFs, netErr := network(s, r.BlastRadius, cs)
	wg.Wait()
	if simPanic != nil {
		panic(simPanic) // here, where the command line recovers it
	}
	for _, err := range []error{netErr, simErr} {
		if err != nil {
			return nil, err
		}
	}
	if simA.Why == "" {
		simA.Ran, simA.Findings = true, len(simFs)
	}
	r.Analyses = append(r.Analyses, net, simA)
	r.Findings = append(append(r.Findings, netFs...), simFs...)

	plan, rbFs, err := rollback.Build(r.BlastRadius)
	if err != nil {
		return nil, err
	}
	r.Rollback = plan
	r.Analyses = append(r.Analyses, Analysis{Name: "rollback", Ran: true, Findings: len(rbFs)})
	r.Findings = append(r.Findings, rbFs...)

	pol := Analysis{Name: "policies"}
	if len(s.List("Policy")) == 0 && len(o.Overrides) == 0 {
		pol.Why = "the twin declares no policy"
	} else {
		before := len(r.Findings)
		r.Findings, r.Policies, err = policy.Evaluate(r.BlastRadius, r.Findings, o.Overrides)
		if err != nil {
			return nil, err
		}
		pol.Ran, pol.Findings = true, len(r.Findings)-before
	}
	r.Analyses = append(r.Analyses, pol)

	finding.Sort(r.Findings)
	v := verdict.Decide(r.Findings)
	r.Verdict = &v
	peak := -1
	if len(s.List("Demand")) > 0 {
		peak = int(sim.PeakHour(s) / time.Hour)
	}
	at, err := cs.Hour()
	if err != nil {
		return nil, err
	}
	a := risk.Assess(risk.Inputs{Result: r.BlastRadius, Findings: r.Findings, Policies: r.Policies, Rollback: plan, Simulated: simA.Ran, PeakHour: peak, At: at})
	r.Risk = &a
	return r, nil
}

// network compares reachability before and after the change when it
// touches the network.
func network(s *twin.Snapshot, res *change.Result, cs *change.ChangeSet) (Analysis, []finding.Finding, error) {
	net := Analysis{Name: "network"}
	var kinds []string
	for _, t := range res.Touched {
		kinds = append(kinds, t.Kind)
	}
	switch {
	case len(s.List("Device")) == 0:
		net.Why = "the twin has no network devices"
		return net, nil, nil
	case !netdiff.Touches(kinds):
		net.Why = "the change touches no network object"
		return net, nil, nil
	}
	fs, err := netdiff.Analyze(s, res.After)
	var tooLarge *netdiff.TooLarge
	switch {
	case errors.As(err, &tooLarge):
		// Not knowing what the change does to reachability is not safe.
		net.Why = err.Error()
		fs = append(fs, finding.Finding{
			ID:       "reachability.not-compared",
			Category: "reachability",
			Severity: finding.Unknown,
			Message:  "the change touches the network, but its effect on reachability was not computed: " + err.Error(),
			Objects:  []finding.Object{{Kind: "Change", Name: cs.Title}},
			Evidence: finding.Evidence{
				Figures: []finding.Figure{{Name: "classes that may have changed", Value: float64(tooLarge.Classes), Unit: "classes"}, {Name: "devices", Value: float64(tooLarge.Devices), Unit: "devices"}},
				Lines:   []string{"the verdict cannot be pass while this is unknown"},
			},
		})
	case err != nil:
		return net, nil, err
	}
	net.Ran, net.Findings = true, len(fs)
	return net, fs, nil
}
