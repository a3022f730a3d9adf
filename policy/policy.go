// Package policy enforces the invariants a twin declares (Policy objects)
// on a change: it adjusts the findings of the analyses that policies
// govern, evaluates CEL expressions and built-in rules over the before and
// after snapshots and the change, applies enforcement levels and
// overrides, and reports what shadow policies would have done.
package policy

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"cel.dev/cel-go/cel"

	"github.com/preflight-sh/preflight/change"
	"github.com/preflight-sh/preflight/finding"
	"github.com/preflight-sh/preflight/twin"
)

// Enforcement levels.
const (
	Advisory      = "advisory"
	SoftMandatory = "soft-mandatory"
	HardMandatory = "hard-mandatory"
)

// Override is a named approver's decision to let a change through a
// soft-mandatory policy, with the reason.
type Override struct {
	Policy   string `json:"policy"`
	Approver string `json:"approver"`
	Reason   string `json:"reason"`
}

// Outcome is what one policy decided about a change.
type Outcome struct {
	Policy      string    `json:"policy"`
	Enforcement string    `json:"enforcement"`
	Shadow      bool      `json:"shadow,omitempty"`
	Violated    bool      `json:"violated"`
	Overridden  *Override `json:"overridden,omitempty"`
	Findings    []string  `json:"findings,omitempty"` // IDs of the findings it governs or raised
	Pos         twin.Pos  `json:"pos"`
	Why         string    `json:"why,omitempty"`
}

// Evaluate applies the twin's policies (from the snapshot before the
// change) to a change's findings. It returns the findings adjusted by
// enforcement (advisory policies never block; overridden soft-mandatory
// ones warn; hard-mandatory ones always block), plus the findings policies
// raise themselves, and one outcome per policy. An override naming a policy
// that does not exist, or a hard-mandatory one, is an error.
func Evaluate(res *change.Result, findings []finding.Finding, overrides []Override) ([]finding.Finding, []Outcome, error) {
	policies := twin.Typed[twin.Policy](res.Before)
	byName := map[string]*twin.Policy{}
	for _, p := range policies {
		byName[p.Name] = p
	}
	over := map[string]*Override{}
	for i, o := range overrides {
		p := byName[o.Policy]
		switch {
		case p == nil:
			return nil, nil, fmt.Errorf("override of policy %q: the twin has no such policy", o.Policy)
		case p.Enforcement == HardMandatory:
			return nil, nil, fmt.Errorf("override of policy %q: it is hard-mandatory and cannot be overridden", o.Policy)
		case p.Enforcement == Advisory:
			return nil, nil, fmt.Errorf("override of policy %q: it is advisory and never blocks; there is nothing to override", o.Policy)
		case strings.TrimSpace(o.Approver) == "" || strings.TrimSpace(o.Reason) == "":
			return nil, nil, fmt.Errorf("override of policy %q needs a named approver and a reason", o.Policy)
		}
		over[o.Policy] = &overrides[i]
	}
	out := slices.Clone(findings)
	var outcomes []Outcome
	env := newInput(res, findings)
	for _, p := range policies {
		oc := Outcome{Policy: p.Name, Enforcement: p.Enforcement, Shadow: p.Shadow, Pos: p.Source().At("")}
		var raised []finding.Finding
		switch {
		case len(p.Findings) > 0:
			for i := range out {
				if !matches(p.Findings, out[i].ID) {
					continue
				}
				oc.Findings = append(oc.Findings, out[i].ID)
				if blocking(out[i].Severity) {
					oc.Violated = true
				}
			}
		case p.Expression != "":
			ok, err := env.eval(p)
			if err != nil {
				return nil, nil, err
			}
			if !ok {
				oc.Violated = true
				msg := p.Message
				if msg == "" {
					msg = "the change fails the expression " + p.Expression
				}
				raised = append(raised, violation(p, msg, []string{"expression: " + p.Expression}))
			}
		case p.Rule != "":
			msg, lines := rule(p.Rule, res)
			if msg != "" {
				oc.Violated = true
				raised = append(raised, violation(p, msg, lines))
			}
		case p.Reach != nil || p.Isolate != nil || p.AllPairs:
			msg, lines, err := intent(p, res.After)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: policy %s: %w", p.Source().At(""), p.Name, err)
			}
			if msg != "" {
				oc.Violated = true
				raised = append(raised, violation(p, msg, lines))
			}
		}
		for _, f := range raised {
			oc.Findings = append(oc.Findings, f.ID)
		}
		if oc.Violated {
			oc.Overridden = over[p.Name]
		}
		out = enforce(p, oc, out, raised)
		outcomes = append(outcomes, oc)
	}
	finding.Sort(out)
	return out, outcomes, nil
}

// enforce applies a policy's level to the findings it governs and adds
// the ones it raised.
func enforce(p *twin.Policy, oc Outcome, out, raised []finding.Finding) []finding.Finding {
	governed := map[string]bool{}
	for _, id := range oc.Findings {
		governed[id] = true
	}
	adjust := func(f *finding.Finding) {
		if !blocking(f.Severity) {
			return
		}
		switch {
		case p.Shadow:
			// A shadow policy changes nothing; what it would have done is
			// said, and a finding it raised is only information.
			if strings.HasPrefix(f.ID, "policy.") {
				f.Severity = finding.Info
				f.Message = "shadow policy " + p.Name + " would have blocked: " + f.Message
			}
		case p.Enforcement == Advisory:
			f.Severity = finding.Warning
			f.Evidence.Lines = append(f.Evidence.Lines, "advisory under policy "+p.Name+": reported, not blocking")
		case p.Enforcement == SoftMandatory && oc.Overridden != nil:
			f.Severity = finding.Warning
			f.Evidence.Lines = append(f.Evidence.Lines, fmt.Sprintf("policy %s overridden by %s: %s", p.Name, oc.Overridden.Approver, oc.Overridden.Reason))
		default:
			f.Evidence.Lines = append(f.Evidence.Lines, p.Enforcement+" under policy "+p.Name)
		}
	}
	for i := range out {
		if governed[out[i].ID] {
			adjust(&out[i])
		}
	}
	for _, f := range raised {
		adjust(&f)
		out = append(out, f)
	}
	return out
}

func blocking(s finding.Severity) bool { return s == finding.Critical || s == finding.Unknown }

// matches reports whether a finding ID matches any pattern: the exact ID;
// "*" for every finding; "capacity.floor.*" (or ".../*") for the IDs under
// capacity.floor, whichever of "." and "/" comes next; "dns*" for every ID
// that starts with dns.
func matches(patterns []string, id string) bool {
	for _, p := range patterns {
		switch {
		case p == "*" || p == id:
			return true
		case strings.HasSuffix(p, ".*") || strings.HasSuffix(p, "/*"):
			pre := p[:len(p)-2]
			if len(id) > len(pre) && strings.HasPrefix(id, pre) && (id[len(pre)] == '.' || id[len(pre)] == '/') {
				return true
			}
		case strings.HasSuffix(p, "*"):
			if strings.HasPrefix(id, p[:len(p)-1]) {
				return true
			}
		}
	}
	return false
}

func violation(p *twin.Policy, msg string, lines []string) finding.Finding {
	if p.Description != "" {
		lines = append([]string{p.Description}, lines...)
	}
	return finding.Finding{
		ID:       "policy." + p.Name,
		Category: "policy",
		Severity: finding.Critical,
		Message:  fmt.Sprintf("policy %s: %s", p.Name, msg),
		Objects:  []finding.Object{finding.ObjectOf(p, "")},
		Evidence: finding.Evidence{Lines: lines},
	}
}

// input is what CEL expressions see, built on first use.
type input struct {
	res      *change.Result
	findings []finding.Finding
	vars     map[string]any
}

func newInput(res *change.Result, fs []finding.Finding) *input {
	return &input{res: res, findings: fs}
}

// Env is the CEL environment policies are compiled in: before and after
// (kind → name → object, as in the twin's files), change (title, author,
// ticket, reason, flags, operations, touched) and findings (id, category,
// severity, message).
func Env() (*cel.Env, error) {
	return cel.NewEnv(
		cel.Variable("before", cel.MapType(cel.StringType, cel.MapType(cel.StringType, cel.DynType))),
		cel.Variable("after", cel.MapType(cel.StringType, cel.MapType(cel.StringType, cel.DynType))),
		cel.Variable("change", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("findings", cel.ListType(cel.MapType(cel.StringType, cel.DynType))),
		cel.CrossTypeNumericComparisons(true),
	)
}

// Compile checks a policy expression; errors name the policy's file and
// line.
func Compile(p *twin.Policy) (cel.Program, error) {
	env, err := Env()
	if err != nil {
		return nil, err
	}
	ast, iss := env.Compile(p.Expression)
	if iss.Err() != nil {
		return nil, fmt.Errorf("%s: policy %s: %v", p.Source().At("expression"), p.Name, iss.Err())
	}
	if !ast.OutputType().IsExactType(cel.BoolType) && ast.OutputType() != cel.DynType {
		return nil, fmt.Errorf("%s: policy %s: the expression gives %v; it must give true (allowed) or false", p.Source().At("expression"), p.Name, ast.OutputType())
	}
	return env.Program(ast, cel.CostLimit(10_000_000))
}

func (in *input) eval(p *twin.Policy) (bool, error) {
	prg, err := Compile(p)
	if err != nil {
		return false, err
	}
	if in.vars == nil {
		in.vars = map[string]any{
			"before":   snapshotMap(in.res.Before),
			"after":    snapshotMap(in.res.After),
			"change":   changeMap(in.res),
			"findings": findingsList(in.findings),
		}
	}
	v, _, err := prg.Eval(in.vars)
	if err != nil {
		return false, fmt.Errorf("%s: policy %s: evaluating the expression: %v", p.Source().At("expression"), p.Name, err)
	}
	b, ok := v.Value().(bool)
	if !ok {
		return false, fmt.Errorf("%s: policy %s: the expression gave %v, not true or false", p.Source().At("expression"), p.Name, v)
	}
	return b, nil
}

// snapshotMap is a snapshot as plain data: kind → name → object.
func snapshotMap(s *twin.Snapshot) map[string]any {
	out := map[string]any{}
	for _, k := range twin.Kinds {
		objs := map[string]any{}
		for _, o := range s.List(k.Name) {
			objs[o.GetMeta().Name] = plain(o)
		}
		out[k.Name] = objs
	}
	return out
}

func changeMap(res *change.Result) map[string]any {
	cs := res.Change
	return map[string]any{
		"title": cs.Title, "author": cs.Author, "ticket": cs.Ticket, "reason": cs.Reason,
		"flags":      plain(orEmpty(cs.Flags)),
		"operations": plain(cs.Operations),
		"touched":    plain(res.Touched),
		"services":   plain(res.Services),
	}
}

func findingsList(fs []finding.Finding) []any {
	out := make([]any, 0, len(fs))
	for _, f := range fs {
		out = append(out, map[string]any{"id": f.ID, "category": f.Category, "severity": string(f.Severity), "message": f.Message})
	}
	return out
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// plain converts a value to JSON-like data through its JSON form, the same
// field names the twin's files use.
func plain(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil
	}
	if out == nil {
		return []any{}
	}
	return out
}
