package report

import (
	"fmt"
	"html"
	"io"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/preflight-sh/preflight/change"
	"github.com/preflight-sh/preflight/check"
	"github.com/preflight-sh/preflight/finding"
	"github.com/preflight-sh/preflight/twin"
	"github.com/preflight-sh/preflight/units"
)

// Limits of the Markdown report. commentLimit is GitHub's limit on a
// comment (counted here in bytes, which are never fewer than characters).
const (
	commentLimit    = 65536
	mdTableRows     = 25
	mdEvidenceLines = 40
	mdServices      = 5
	mdClip          = 300
)

// Markdown writes a plan or check report as a pull-request comment: the
// verdict, a summary, a table of the top findings, each finding's evidence
// in a collapsed block, the analyses and a footer. Details that would take
// it over GitHub's comment limit are left out, with a note saying so.
func Markdown(w io.Writer, r *check.Report) error {
	var head, tail strings.Builder
	mdHead(&head, r)
	mdTail(&tail, r)
	var blocks []string
	for _, f := range r.Findings {
		blocks = append(blocks, mdDetails(f))
	}
	budget := commentLimit - head.Len() - tail.Len() - len(mdNote(len(blocks)))
	var b strings.Builder
	b.WriteString(head.String())
	if len(blocks) > 0 {
		b.WriteString("\n### Details\n")
	}
	for i, d := range blocks {
		if len(d) > budget {
			b.WriteString(mdNote(len(blocks) - i))
			break
		}
		budget -= len(d)
		b.WriteString(d)
	}
	b.WriteString(tail.String())
	_, err := io.WriteString(w, b.String())
	return err
}

// mdHead writes the verdict, the summary and the findings table.
func mdHead(b *strings.Builder, r *check.Report) {
	if r.Verdict != nil {
		fmt.Fprintf(b, "**%s** — %s\n", strings.ToUpper(string(r.Verdict.Decision)), mdText(strings.Join(r.Verdict.Reasons, "; ")))
	} else {
		fmt.Fprintf(b, "**%s** — %d finding(s), no verdict\n", strings.ToUpper(r.Kind), len(r.Findings))
	}
	title := r.Change.Title
	if title == "" {
		title = "(untitled change)"
	}
	fmt.Fprintf(b, "\n**%s**\n\n", mdText(clip(title, mdClip)))
	meta := []string{"twin " + mdCode(r.Twin, false)}
	if r.Change.Source != "" {
		meta = append(meta, "source "+mdCode(r.Change.Source, false))
	}
	for _, kv := range [][2]string{{"author", r.Change.Author}, {"ticket", r.Change.Ticket}} {
		if kv[1] != "" {
			meta = append(meta, kv[0]+" "+mdText(kv[1]))
		}
	}
	fmt.Fprintf(b, "- %s\n", strings.Join(meta, " · "))
	if r.Change.Reason != "" {
		fmt.Fprintf(b, "- reason: %s\n", mdText(clip(r.Change.Reason, mdClip)))
	}
	if r.BlastRadius != nil {
		fmt.Fprintf(b, "- blast radius: %s\n", blastLine(r.BlastRadius))
	}
	if r.Risk != nil {
		fmt.Fprintf(b, "- risk: **%d/100** (%s) — %s\n", r.Risk.Score, r.Risk.Tier, mdText(ApprovalsLine(r.Risk.Approvals)))
	}
	if p := r.Rollback; p != nil && (len(p.Irreversible) > 0 || !p.Verified) {
		what := "not verified: " + p.Why
		if p.Verified {
			what = "cannot be fully undone: " + strings.Join(p.Irreversible, "; ")
		}
		fmt.Fprintf(b, "- rollback: %s\n", mdText(clip(what, mdClip)))
	}
	for _, p := range r.Policies {
		if p.Violated && !p.Shadow {
			state := "violated"
			if p.Overridden != nil {
				state = "overridden by " + p.Overridden.Approver + ": " + p.Overridden.Reason
			}
			fmt.Fprintf(b, "- policy %s (%s): %s\n", mdCode(p.Policy, false), p.Enforcement, mdText(clip(state, mdClip)))
		}
	}
	if len(r.Findings) == 0 {
		b.WriteString("\n### Findings: none\n")
		return
	}
	fmt.Fprintf(b, "\n### Findings (%d)\n\n| severity | id | message | where |\n|---|---|---|---|\n", len(r.Findings))
	for i, f := range r.Findings {
		if i == mdTableRows {
			fmt.Fprintf(b, "\n… and %d more, in the details below and in `--format json`.\n", len(r.Findings)-mdTableRows)
			break
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s |\n", strings.ToUpper(string(f.Severity)), mdCode(clip(f.ID, mdClip), true), mdText(clip(f.Message, mdClip)), mdWhere(f.Objects))
	}
}

// blastLine sums up a blast radius: objects touched and the services whose
// capacity changes, largest share first.
func blastLine(res *change.Result) string {
	line := fmt.Sprintf("%d object(s) touched", len(res.Touched))
	if len(res.Services) == 0 {
		return line + " · no service capacity affected"
	}
	svcs := append([]change.ServiceImpact(nil), res.Services...)
	sort.SliceStable(svcs, func(i, j int) bool {
		if svcs[i].Total.Share != svcs[j].Total.Share {
			return svcs[i].Total.Share > svcs[j].Total.Share
		}
		return svcs[i].Service < svcs[j].Service
	})
	var parts []string
	for i, s := range svcs {
		if i == mdServices {
			parts = append(parts, fmt.Sprintf("%d more", len(svcs)-mdServices))
			break
		}
		parts = append(parts, mdText(s.Service)+" "+units.Percent(s.Total.Share).Short())
	}
	return fmt.Sprintf("%s · %d service(s) affected, share of total capacity: %s", line, len(svcs), strings.Join(parts, ", "))
}

// mdWhere lists the file:line of a finding's objects, at most two.
func mdWhere(objs []finding.Object) string {
	var out []string
	seen := map[string]bool{}
	for _, o := range objs {
		if o.Pos.File == "" {
			continue
		}
		at := fileLine(o.Pos)
		if seen[at] {
			continue
		}
		seen[at] = true
		out = append(out, mdCode(at, true))
	}
	if len(out) > 2 {
		out = append(out[:2], fmt.Sprintf("+%d more", len(out)-2))
	}
	return strings.Join(out, ", ")
}

// fileLine is a position as file:line.
func fileLine(p twin.Pos) string {
	if p.Line == 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d", p.File, p.Line)
}

// mdDetails is one finding's collapsed block: message, objects and
// evidence.
func mdDetails(f finding.Finding) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n<details><summary>%s %s</summary>\n\n%s\n\n", strings.ToUpper(string(f.Severity)), html.EscapeString(f.ID), mdText(f.Message))
	for _, o := range f.Objects {
		obj := mdText(o.Kind + " " + o.Name)
		if o.Pos.File != "" {
			obj += " at " + mdCode(o.Pos.String(), false)
		}
		fmt.Fprintf(&b, "- %s\n", obj)
	}
	if lines := f.Evidence.Lines; len(lines) > 0 {
		if len(lines) > mdEvidenceLines {
			lines = append(lines[:mdEvidenceLines:mdEvidenceLines], fmt.Sprintf("… and %d more line(s) (see --format json)", len(lines)-mdEvidenceLines))
		}
		fence := strings.Repeat("`", max(3, longestRun(strings.Join(lines, "\n"), '`')+1))
		fmt.Fprintf(&b, "\n%stext\n%s\n%s\n", fence, strings.Join(lines, "\n"), fence)
	}
	b.WriteString("\n</details>\n")
	return b.String()
}

// mdNote says that the details of the last left findings are left out.
func mdNote(left int) string {
	return fmt.Sprintf("\n_The details of %d more finding(s) are left out to stay within GitHub's comment limit; run with `--format json` for all of them._\n", left)
}

// mdTail writes the analyses and the footer.
func mdTail(b *strings.Builder, r *check.Report) {
	if len(r.Analyses) > 0 {
		b.WriteString("\n### Analyses\n\n| analysis | result |\n|---|---|\n")
		for _, a := range r.Analyses {
			fmt.Fprintf(b, "| %s | %s |\n", mdText(a.Name), mdText(clip(analysisState(a), mdClip)))
		}
	}
	fmt.Fprintf(b, "\n---\n<sub>preflight %s · apiVersion %s</sub>\n", strings.ToLower(r.Kind), mdCode(r.APIVersion, false))
}

// mdText escapes text for Markdown: the characters that start emphasis,
// code, links, HTML, entities and table cells anywhere, and those that start
// a heading, list or quote at the beginning. Newlines become spaces.
func mdText(s string) string {
	var b strings.Builder
	digits := true // only digits so far: "1." or "1)" would start a list
	for i, r := range s {
		switch {
		case r == '\n' || r == '\r':
			b.WriteByte(' ')
			digits = false
			continue
		case strings.ContainsRune("\\`*_[]<>|~&", r),
			i == 0 && strings.ContainsRune("#+-", r),
			digits && i > 0 && (r == '.' || r == ')'):
			b.WriteByte('\\')
		}
		digits = digits && r >= '0' && r <= '9'
		b.WriteRune(r)
	}
	return b.String()
}

// mdCode is s as a code span. In a table cell, | is escaped, as GitHub
// requires even inside code.
func mdCode(s string, inTable bool) string {
	s = strings.NewReplacer("\n", " ", "\r", " ").Replace(s)
	if inTable {
		s = strings.ReplaceAll(s, "|", `\|`)
	}
	fence := strings.Repeat("`", longestRun(s, '`')+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	return fence + s + fence
}

// longestRun is the length of the longest run of c in s.
func longestRun(s string, c byte) int {
	best, n := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] != c {
			n = 0
			continue
		}
		n++
		best = max(best, n)
	}
	return best
}

// clip shortens s to at most n characters, marking the cut with "…".
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}
