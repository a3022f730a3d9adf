// Package report renders check and plan reports: human text (colour only
// when asked), versioned, stable JSON, Markdown for pull-request comments,
// SARIF for code scanning and JUnit XML for CI test views.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/preflight-sh/preflight/change"
	"github.com/preflight-sh/preflight/check"
	"github.com/preflight-sh/preflight/finding"
	"github.com/preflight-sh/preflight/policy"
	"github.com/preflight-sh/preflight/risk"
	"github.com/preflight-sh/preflight/units"
	"github.com/preflight-sh/preflight/verdict"
)

// JSON writes any report value as indented JSON.
func JSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// Style turns colour on or off.
type Style struct{ Color bool }

func (s Style) wrap(code, text string) string {
	if !s.Color {
		return text
	}
	return "\x1b[" + code + "m" + text + "\x1b[0m"
}

func (s Style) bold(t string) string { return s.wrap("1", t) }
func (s Style) dim(t string) string  { return s.wrap("2", t) }

// severityColour colours labels by how serious they are: critical/block,
// unknown, warning/warn, and the rest.
var severityColour = map[int]string{3: "1;31", 2: "1;35", 1: "1;33"}

func (s Style) severity(sev finding.Severity) string {
	code, ok := severityColour[sev.Rank()]
	if !ok {
		code = "36"
	}
	return s.wrap(code, strings.ToUpper(string(sev)))
}

// decisionRank places a decision on the severity scale.
var decisionRank = map[verdict.Decision]int{verdict.Block: 3, verdict.Unknown: 2, verdict.Warn: 1}

func (s Style) decision(d verdict.Decision) string {
	code, ok := severityColour[decisionRank[d]]
	if !ok {
		code = "1;32"
	}
	return s.wrap(code, strings.ToUpper(string(d)))
}

// Text writes a plan or check report for people: the verdict first, then
// the findings with their evidence, then the blast radius and the diff.
func Text(w io.Writer, r *check.Report, st Style) error {
	var b strings.Builder
	title := r.Change.Title
	if title == "" {
		title = "(untitled change)"
	}
	fmt.Fprintf(&b, "%s %s\n", st.bold("preflight "+strings.ToLower(r.Kind)+":"), title)
	var meta []string
	for _, kv := range [][2]string{{"source", r.Change.Source}, {"author", r.Change.Author}, {"ticket", r.Change.Ticket}} {
		if kv[1] != "" {
			meta = append(meta, kv[0]+" "+kv[1])
		}
	}
	meta = append(meta, "twin "+r.Twin)
	fmt.Fprintf(&b, "  %s\n", st.dim(strings.Join(meta, " · ")))
	if r.Change.Reason != "" {
		fmt.Fprintf(&b, "  reason: %s\n", r.Change.Reason)
	}
	if r.Verdict != nil {
		Verdict(&b, *r.Verdict, st)
	}
	if r.Risk != nil {
		fmt.Fprintf(&b, "Risk: %d/100 (%s) — %s\n", r.Risk.Score, r.Risk.Tier, ApprovalsLine(r.Risk.Approvals))
	}
	writeFindings(&b, r.Findings, st)
	writeRisk(&b, r)
	writeOperations(&b, r.Operations)
	writeBlastRadius(&b, r.BlastRadius, st)
	if len(r.Analyses) > 0 {
		fmt.Fprintf(&b, "\nAnalyses\n")
		for _, a := range r.Analyses {
			fmt.Fprintf(&b, "  %-10s %s\n", a.Name, analysisState(a))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// analysisState says whether an analysis ran and what it found, or why
// it was skipped.
func analysisState(a check.Analysis) string {
	state := fmt.Sprintf("ran, %d finding(s)", a.Findings)
	switch {
	case !a.Ran:
		state = "skipped: " + a.Why
	case a.Why != "":
		state += "; " + a.Why
	}
	return state
}

// ApprovalsLine says what approvals a change needs, in one line: "needs 2
// approval(s), including one from each of: team a, team b".
func ApprovalsLine(a risk.Approvals) string {
	switch {
	case a.Required == 0:
		return "no approval needed"
	case len(a.Groups) == 0:
		return fmt.Sprintf("needs %d approval(s)", a.Required)
	}
	return fmt.Sprintf("needs %d approval(s), including one from each of: %s", a.Required, strings.Join(a.Groups, ", "))
}

// writeRisk writes the factors of the risk score, what the policies
// decided and the rollback plan.
func writeRisk(b *strings.Builder, r *check.Report) {
	if r.Risk != nil {
		fmt.Fprintf(b, "\nRisk %d/100 (%s)\n", r.Risk.Score, r.Risk.Tier)
		for _, f := range r.Risk.Factors {
			fmt.Fprintf(b, "  %-18s %2d/%-2d  %s\n", f.Name, f.Points, f.Max, f.Why)
		}
		fmt.Fprintf(b, "  approvals: %s\n", r.Risk.Approvals.Why)
	}
	if len(r.Policies) > 0 {
		fmt.Fprintf(b, "\nPolicies (%d)\n", len(r.Policies))
		for _, p := range r.Policies {
			fmt.Fprintf(b, "  %-24s %-15s %s  %s\n", p.Policy, p.Enforcement, PolicyState(p), p.Pos)
		}
	}
	if p := r.Rollback; p != nil {
		state := fmt.Sprintf("verified: %d operation(s) restore every touched object", len(p.Change.Operations))
		if !p.Verified {
			state = "not verified: " + p.Why
		}
		fmt.Fprintf(b, "\nRollback: %s\n", state)
		for _, line := range p.Irreversible {
			fmt.Fprintf(b, "  cannot be undone: %s\n", line)
		}
	}
}

// Findings writes findings with their evidence as Text does, for commands
// that judge something other than a change report (simulate).
func Findings(w io.Writer, fs []finding.Finding, st Style) error {
	var b strings.Builder
	writeFindings(&b, fs, st)
	_, err := io.WriteString(w, b.String())
	return err
}

// Verdict writes the verdict line as Text does.
func Verdict(w io.Writer, v verdict.Verdict, st Style) error {
	_, err := fmt.Fprintf(w, "\nVerdict: %s — %s\n", st.decision(v.Decision), strings.Join(v.Reasons, "; "))
	return err
}

func writeFindings(b *strings.Builder, fs []finding.Finding, st Style) {
	if len(fs) == 0 {
		fmt.Fprintf(b, "\nFindings: none\n")
		return
	}
	fmt.Fprintf(b, "\nFindings (%d)\n", len(fs))
	for _, f := range fs {
		writeFinding(b, f, st)
	}
}

// writeFinding writes one finding: severity and message, ID, objects and
// evidence lines.
func writeFinding(b *strings.Builder, f finding.Finding, st Style) {
	fmt.Fprintf(b, "  %s %s\n", st.severity(f.Severity), f.Message)
	fmt.Fprintf(b, "    %s\n", st.dim("id "+f.ID))
	for _, o := range f.Objects {
		if o.Pos.File == "" {
			fmt.Fprintf(b, "    %s %s\n", o.Kind, o.Name)
			continue
		}
		fmt.Fprintf(b, "    at %s (%s %s)\n", o.Pos, o.Kind, o.Name)
	}
	for _, l := range f.Evidence.Lines {
		fmt.Fprintf(b, "    · %s\n", l)
	}
}

func writeOperations(b *strings.Builder, ops []change.Operation) {
	fmt.Fprintf(b, "\nOperations (%d)\n", len(ops))
	for i, op := range ops {
		line := operationText(op)
		if op.Command != "" {
			line += "   [" + op.Command + "]"
		}
		fmt.Fprintf(b, "  %d. %s\n", i+1, strings.TrimSpace(line))
	}
}

// OperationLine is one operation of a change in words, as the text report
// lists it (without the command it came from): "remove Instance selector
// zone=use1-az1", "set Service api: replicas=6".
func OperationLine(op change.Operation) string { return strings.TrimSpace(operationText(op)) }

// operationText is OperationLine before trimming.
func operationText(op change.Operation) string {
	target := op.Name
	if target == "" && len(op.Selector) > 0 {
		target = "selector " + op.Selector.String()
		if op.Count > 0 {
			target += fmt.Sprintf(" count=%d", op.Count)
		}
	}
	line := fmt.Sprintf("%s %s %s", op.Op, op.Kind, target)
	if op.Op == change.OpAdd {
		line = "add " + op.Kind
		if op.Object != nil {
			switch name, ok := op.Object.Field("name"); {
			case name != "":
				line += " " + name
			case ok:
				line += " (named when applied; see the blast radius)"
			}
		}
	}
	if op.Path != "" {
		line += " path " + op.Path
	}
	var sets []string
	for _, f := range op.Fields {
		sets = append(sets, f.Path+"="+f.Value.Text())
	}
	if len(sets) > 0 {
		line += ": " + strings.Join(sets, ", ")
	}
	return line
}

// PolicyState says what a policy decided, in words: "holds", "violated",
// "shadow: would have been violated" or "violated, overridden by NAME:
// REASON".
func PolicyState(p policy.Outcome) string {
	switch {
	case p.Violated && p.Shadow:
		return "shadow: would have been violated"
	case p.Violated && p.Overridden != nil:
		return fmt.Sprintf("violated, overridden by %s: %s", p.Overridden.Approver, p.Overridden.Reason)
	case p.Violated:
		return "violated"
	}
	return "holds"
}

var actionMark = map[string]string{"added": "+", "removed": "-", "modified": "~"}

func writeBlastRadius(b *strings.Builder, res *change.Result, st Style) {
	if res == nil {
		return
	}
	fmt.Fprintf(b, "\nBlast radius: %d object(s) touched\n", len(res.Touched))
	const maxShown = 40
	for i, t := range res.Touched {
		if i == maxShown {
			fmt.Fprintf(b, "  … and %d more (see --format json)\n", len(res.Touched)-maxShown)
			break
		}
		fmt.Fprintf(b, "  %s %s %s  %s\n", actionMark[t.Action], t.Kind, t.Name, st.dim(t.Pos.String()))
		for _, c := range t.Changes {
			fmt.Fprintf(b, "      %s: %s → %s\n", c.Path, orNone(c.Before), orNone(c.After))
		}
	}
	if len(res.Selections) > 0 {
		fmt.Fprintf(b, "\nSelectors\n")
		for _, s := range res.Selections {
			chose := ""
			if s.Count > 0 {
				chose = fmt.Sprintf(", count=%d chose %d", s.Count, len(s.Chosen))
			}
			fmt.Fprintf(b, "  operation %d: %s %s matched %d%s: %s\n", s.Op, s.Kind, s.Selector, len(s.Matched), chose, names(s.Chosen))
		}
	}
	if len(res.Services) > 0 {
		fmt.Fprintf(b, "\nCapacity affected\n")
		fmt.Fprintf(b, "  %-12s %-16s %12s %12s %10s %9s\n", "service", "scope", "before", "after", "instances", "affected")
		for _, si := range res.Services {
			rows := append([]change.ScopeImpact{si.Total}, si.Regions...)
			rows = append(rows, si.Zones...)
			for i, sc := range rows {
				if i > 0 && sc.Affected == 0 {
					continue
				}
				svc := si.Service
				if i > 0 {
					svc = ""
				}
				fmt.Fprintf(b, "  %-12s %-16s %12s %12s %10s %9s\n", svc, sc.Name, units.Rate(sc.CapacityBefore).Short(), units.Rate(sc.CapacityAfter).Short(),
					fmt.Sprintf("%d→%d", sc.InstancesBefore, sc.InstancesAfter), units.Percent(sc.Share).Short())
			}
		}
	}
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func names(list []string) string {
	if len(list) <= 8 {
		return strings.Join(list, ", ")
	}
	return fmt.Sprintf("%s, … (%d in all)", strings.Join(list[:8], ", "), len(list))
}
