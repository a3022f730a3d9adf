// Package rollback plans how to undo a change: the reverse change set,
// whether applying it to the twin restores exactly what the change
// touched, and which parts of the change no rollback can undo.
package rollback

import (
	"fmt"
	"slices"

	"github.com/preflight-sh/preflight/change"
	"github.com/preflight-sh/preflight/finding"
	"github.com/preflight-sh/preflight/twin"
)

// OneWay is the change flag an author sets on a change that cannot be
// undone by design, such as a schema migration.
const OneWay = "one-way"

// Plan is how to undo a change.
type Plan struct {
	// Change is the reverse change set.
	Change *change.ChangeSet `json:"change"`
	// Verified says applying Change to the twin after the change gives
	// back every touched object exactly as it was.
	Verified bool `json:"verified"`
	// Irreversible lists what the rollback cannot bring back.
	Irreversible []string `json:"irreversible,omitempty"`
	// Why explains a plan that is not verified.
	Why string `json:"why,omitempty"`
}

// Build plans the rollback of a change and returns it with its findings:
// rollback.irreversible for data the change destroys or a one-way change,
// rollback.unverified when the reverse change does not restore the twin.
func Build(res *change.Result) (*Plan, []finding.Finding, error) {
	rev, err := change.Reverse(res)
	if err != nil {
		return nil, nil, err
	}
	p := &Plan{Change: rev}
	back, err := change.Apply(res.After, rev)
	switch {
	case err != nil:
		p.Why = "the reverse change does not apply to the twin after the change: " + err.Error()
	default:
		ok, err := change.Restores(res, back)
		if err != nil {
			return nil, nil, err
		}
		p.Verified = ok
		if !ok {
			p.Why = "applying the reverse change does not give back the objects as they were"
		}
	}
	p.Irreversible = irreversible(res)
	var fs []finding.Finding
	if len(p.Irreversible) > 0 {
		fs = append(fs, finding.Finding{
			ID: "rollback.irreversible", Category: "rollback", Severity: finding.Warning,
			Message:  fmt.Sprintf("%d part(s) of the change cannot be undone by a rollback", len(p.Irreversible)),
			Objects:  []finding.Object{{Kind: "Change", Name: res.Change.Title}},
			Evidence: finding.Evidence{Lines: p.Irreversible},
		})
	}
	if !p.Verified {
		fs = append(fs, finding.Finding{
			ID: "rollback.unverified", Category: "rollback", Severity: finding.Unknown,
			Message:  "no verified rollback: " + p.Why,
			Objects:  []finding.Object{{Kind: "Change", Name: res.Change.Title}},
			Evidence: finding.Evidence{Lines: []string{fmt.Sprintf("reverse change: %d operation(s)", len(rev.Operations))}},
		})
	}
	return p, fs, nil
}

// irreversible lists what a rollback cannot restore: instances of stateful
// services or primaries that the change removes (their data goes with
// them), stateful services removed, and a change flagged one-way.
func irreversible(res *change.Result) []string {
	var out []string
	if slices.Contains(res.Change.Flags, OneWay) {
		out = append(out, "the change is flagged "+OneWay+" by its author")
	}
	for _, t := range res.Touched {
		if t.Action != "removed" {
			continue
		}
		switch o := res.Before.Get(t.Kind, t.Name).(type) {
		case *twin.Instance:
			svc := twin.Lookup[twin.Service](res.Before, o.Service)
			switch {
			case svc != nil && svc.Stateful:
				out = append(out, fmt.Sprintf("removes instance %s of stateful service %s (%s): its data is destroyed", o.Name, o.Service, t.Pos))
			case o.Role == "primary":
				out = append(out, fmt.Sprintf("removes primary instance %s of %s (%s): its data is destroyed", o.Name, o.Service, t.Pos))
			}
		case *twin.Service:
			if o.Stateful {
				out = append(out, fmt.Sprintf("removes stateful service %s (%s): its data is destroyed", o.Name, t.Pos))
			}
		}
	}
	return out
}
