// Package webui renders the review service's web UI on the server: the list
// of change requests, the page of one change request with everything a
// reviewer needs to decide on it, and the login page. Pages are
// html/template templates and one hand-written style sheet, embedded in the
// binary: no JavaScript, nothing loaded from elsewhere, and `go build` alone
// builds them.
//
// Everything that comes from users or from the twin (titles, reasons,
// finding messages, evidence, file names) goes through html/template's
// contextual escaping. The only markup taken as is is ChangePage.ChartSVG,
// which the caller vouches for.
//
// The package knows nothing of HTTP sessions or storage: the server
// authenticates the user, loads the request, evaluates it with package
// approval, says which decisions the user may take (ChangePage.CanDecide)
// and hands the page its CSRF token (see CSRF). The pages link to and post
// to the paths below (ListPath, ChangePath, DecisionPath, LoginPath,
// LogoutPath) with the form fields named by the Field constants.
package webui

import (
	"bytes"
	"cmp"
	"embed"
	"fmt"
	"html"
	"html/template"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/preflight-sh/preflight/approval"
	"github.com/preflight-sh/preflight/change"
	"github.com/preflight-sh/preflight/check"
	"github.com/preflight-sh/preflight/finding"
	"github.com/preflight-sh/preflight/policy"
	"github.com/preflight-sh/preflight/report"
	"github.com/preflight-sh/preflight/risk"
	"github.com/preflight-sh/preflight/store"
	"github.com/preflight-sh/preflight/twin"
	"github.com/preflight-sh/preflight/units"
	"github.com/preflight-sh/preflight/verdict"
)

// Paths the pages link and post to. The server mounts its handlers there.
const (
	// ListPath is the list of change requests (GET, with FieldState as an
	// optional query parameter).
	ListPath = "/"
	// LoginPath shows the login page (GET) and takes its form (POST:
	// FieldToken and FieldCSRF).
	LoginPath = "/login"
	// LogoutPath ends the session (POST: FieldCSRF).
	LogoutPath = "/logout"
	// StaticPath is where Static is mounted.
	StaticPath = "/static/"
)

// ChangePath is the page of change request id (GET).
func ChangePath(id int64) string { return fmt.Sprintf("/changes/%d", id) }

// DecisionPath is where the decision forms of change request id post
// (application/x-www-form-urlencoded): FieldCSRF, FieldKind,
// FieldChangeHash, FieldReason, and FieldPolicy, FieldFreeze or
// FieldDuration for the kinds that need them.
func DecisionPath(id int64) string { return fmt.Sprintf("/changes/%d/decisions", id) }

// Names of the form fields.
const (
	// FieldCSRF carries the CSRF token in every POST form.
	FieldCSRF = "csrf"
	// FieldKind is the kind of decision: approve, reject, override-policy,
	// override-freeze, accept-unknown or break-glass (package approval's
	// Kind constants).
	FieldKind = "kind"
	// FieldChangeHash is the hash of the change the reviewer looked at; the
	// server refuses the decision when the request has moved on.
	FieldChangeHash = "change_hash"
	// FieldReason is the reviewer's reason (required by the form for
	// overrides, accept-unknown and break-glass).
	FieldReason = "reason"
	// FieldPolicy is the policy an override-policy overrides.
	FieldPolicy = "policy"
	// FieldFreeze is the freeze an override-freeze overrides.
	FieldFreeze = "freeze"
	// FieldDuration is how long a break-glass lasts, as time.ParseDuration
	// reads it ("30m", "1h", "2h", "4h"); the server sets Until to the time
	// of the decision plus it.
	FieldDuration = "duration"
	// FieldToken is the API token the login form asks for.
	FieldToken = "token"
	// FieldState filters the list by state (a query parameter).
	FieldState = "state"
)

// BreakGlassDurations are the durations the break-glass form offers, none
// longer than approval.DefaultMaxBreakGlass.
var BreakGlassDurations = []string{"30m", "1h", "2h", "4h"}

// ListPage is the list of change requests.
type ListPage struct {
	// User is the name of the signed-in user.
	User    string
	Changes []ListItem
	// Filter is the state the list is filtered by, "" for all.
	Filter string
	// CSRF is the token of the user's session, for the logout form.
	CSRF string
}

// ListItem is one change request in the list.
type ListItem struct {
	ID     int64
	Title  string
	Author string
	// State is the request's state (store.State values).
	State string
	// Verdict is the verdict of its check, "" while it is not verified.
	Verdict string
	// RiskScore (0-100) and RiskTier (low, medium, high, critical) are its
	// risk; RiskTier "" when it has not been assessed.
	RiskScore int
	RiskTier  string
	Updated   time.Time
}

// ChangePage is the page of one change request.
type ChangePage struct {
	// User is the name of the signed-in user.
	User    string
	Request store.ChangeRequest
	// Report is the check of the change; nil while it is not verified.
	Report *check.Report
	// Status is where the request stands under the approval rules
	// (approval.Evaluate); ignored when Report is nil.
	Status approval.Status
	// Decisions are the decisions recorded on the request, in the order
	// they were recorded. Each is shown with whether it counts, matched
	// with Status.Counted and Status.Void; decisions of Status that are not
	// among them are shown too.
	Decisions []store.Decision
	// ChartSVG is an optional simulation chart (an inline SVG, such as
	// package svgplot draws), provided by the caller and trusted as is. A
	// leading XML declaration is dropped.
	ChartSVG template.HTML
	// CanDecide says, for each kind of decision (approval.Kind*), whether
	// the user may take it: "" if so, otherwise why not. The page offers a
	// form for each kind in the map, disabled with the reason when it is
	// not empty, and none for kinds not in the map.
	CanDecide map[string]string
	// CSRF is the token of the user's session, put in every form.
	CSRF string
}

// LoginPage is the login form.
type LoginPage struct {
	// Error is why the last attempt failed, shown above the form.
	Error string
	// CSRF is the token of the pre-login session (see CSRF).
	CSRF string
}

//go:embed templates/*.html
var templateFS embed.FS

var (
	listTmpl   = parse("list.html")
	changeTmpl = parse("change.html")
	loginTmpl  = parse("login.html")
)

func parse(page string) *template.Template {
	return template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+page))
}

// layout is what the shared layout needs besides the page's own data.
type layout struct {
	Title string
	User  string
	CSRF  string
	Style string
	Nav   bool
	// CSP is the content attribute of the Content-Security-Policy <meta>.
	CSP template.HTMLAttr
}

// execute renders a page in full before writing it, so that a failure
// writes nothing and the caller can still answer with an error.
func execute(w io.Writer, t *template.Template, data any) error {
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return err
	}
	_, err := w.Write(b.Bytes())
	return err
}

// RenderList writes the list of change requests.
func RenderList(w io.Writer, p ListPage) error {
	return execute(w, listTmpl, struct {
		Layout layout
		ListPage
		States []string
	}{
		Layout:   newLayout("Change requests", p.User, p.CSRF),
		ListPage: p,
		States:   states,
	})
}

// RenderLogin writes the login page.
func RenderLogin(w io.Writer, p LoginPage) error {
	return execute(w, loginTmpl, struct {
		Layout layout
		LoginPage
	}{Layout: newLayout("Sign in", "", p.CSRF), LoginPage: p})
}

// RenderChange writes the page of one change request.
func RenderChange(w io.Writer, p ChangePage) error {
	v := changeView{ChangePage: p, Title: cmp.Or(strings.TrimSpace(p.Request.Title), "(untitled change)")}
	if p.Report != nil {
		if v.Title == "(untitled change)" && p.Report.Change.Title != "" {
			v.Title = p.Report.Change.Title
		}
		v.Counts = severityCounts(p.Report.Findings)
		v.Groups = groupRows(p.Status)
		if p.Report.BlastRadius != nil {
			v.Services = serviceRows(p.Report.BlastRadius.Services)
			v.Touched = touchedSummary(p.Report.BlastRadius.Touched)
		}
	}
	v.Decisions = decisionRows(p.Decisions, p.Status, p.Report != nil && p.Status.State != "")
	v.Forms = forms(p)
	v.Layout = newLayout(v.Title, p.User, p.CSRF)
	return execute(w, changeTmpl, v)
}

func newLayout(title, user, csrf string) layout {
	return layout{Title: title, User: user, CSRF: csrf, Style: stylePath, Nav: user != "",
		CSP: template.HTMLAttr(`content="` + html.EscapeString(metaCSP) + `"`)}
}

// states are the states the list can be filtered by, in review order.
var states = []string{string(store.Proposed), string(store.Verifying), string(store.NeedsApproval), string(store.Approved),
	string(store.Applied), string(store.Rejected), string(store.RolledBack)}

// changeView is what the change template renders.
type changeView struct {
	Layout layout
	ChangePage
	Title     string
	Counts    []severityCount
	Services  []serviceRow
	Touched   string
	Groups    []groupRow
	Decisions []decisionRow
	Forms     []form
}

// groupRow is a group an approval must come from, and who met it.
type groupRow struct {
	Group string
	By    []string
}

// groupRows says who met each group the approvals must come from, with
// approval.Satisfies; none while a break-glass stands in for the
// approvals.
func groupRows(st approval.Status) []groupRow {
	var out []groupRow
	for _, g := range st.Groups {
		row := groupRow{Group: g}
		if st.BreakGlass == nil {
			for _, d := range st.Counted {
				if d.Kind == approval.KindApprove && approval.Satisfies(d.User, g) && !slices.Contains(row.By, d.User.Name) {
					row.By = append(row.By, d.User.Name)
				}
			}
		}
		out = append(out, row)
	}
	return out
}

// severityCount is how many findings have a severity.
type severityCount struct {
	Severity finding.Severity
	N        int
}

func severityCounts(fs []finding.Finding) []severityCount {
	var out []severityCount
	for _, s := range []finding.Severity{finding.Critical, finding.Unknown, finding.Warning, finding.Info} {
		n := 0
		for _, f := range fs {
			if f.Severity == s {
				n++
			}
		}
		if n > 0 {
			out = append(out, severityCount{s, n})
		}
	}
	return out
}

// serviceRow is one service's capacity impact: the total and the regions
// and zones the change affects.
type serviceRow struct {
	Service string
	Scopes  []change.ScopeImpact
}

// serviceRows orders services by their share of total capacity affected,
// largest first, as the Markdown report does.
func serviceRows(svcs []change.ServiceImpact) []serviceRow {
	sorted := slices.Clone(svcs)
	slices.SortStableFunc(sorted, func(a, b change.ServiceImpact) int {
		return cmp.Or(cmp.Compare(b.Total.Share, a.Total.Share), strings.Compare(a.Service, b.Service))
	})
	var out []serviceRow
	for _, s := range sorted {
		row := serviceRow{Service: s.Service, Scopes: []change.ScopeImpact{s.Total}}
		for _, sc := range append(slices.Clone(s.Regions), s.Zones...) {
			if sc.Affected != 0 {
				row.Scopes = append(row.Scopes, sc)
			}
		}
		out = append(out, row)
	}
	return out
}

// touchedSummary counts the objects touched by action: "35 removed".
func touchedSummary(ts []change.Touched) string {
	var parts []string
	for _, a := range []string{"added", "modified", "removed"} {
		n := 0
		for _, t := range ts {
			if t.Action == a {
				n++
			}
		}
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, a))
		}
	}
	return strings.Join(parts, ", ")
}

// decisionRow is a recorded decision and whether it counts.
type decisionRow struct {
	At      time.Time
	Until   time.Time
	User    string
	Kind    string
	Subject string
	Reason  string
	// Counts: "yes", "void" (with Why) or "" when not evaluated.
	Counts string
	Why    string
}

// decisionRows lists the decisions with their standing in st: those
// recorded, then any that st judged but the caller did not list, in time
// order.
func decisionRows(ds []store.Decision, st approval.Status, evaluated bool) []decisionRow {
	counted := slices.Clone(st.Counted)
	void := slices.Clone(st.Void)
	same := func(d store.Decision, a approval.Decision) bool {
		return strings.EqualFold(strings.TrimSpace(d.User), strings.TrimSpace(a.User.Name)) && string(d.Kind) == a.Kind &&
			d.Policy == a.Policy && d.Freeze == a.Freeze && d.At.Equal(a.At)
	}
	var rows []decisionRow
	for _, d := range ds {
		r := decisionRow{At: d.At, Until: d.Until, User: d.User, Kind: string(d.Kind), Subject: subject(d.Policy, d.Freeze), Reason: d.Reason}
		if i := slices.IndexFunc(counted, func(a approval.Decision) bool { return same(d, a) }); i >= 0 {
			r.Counts = "yes"
			counted = slices.Delete(counted, i, i+1)
		} else if i := slices.IndexFunc(void, func(v approval.Voided) bool { return same(d, v.Decision) }); i >= 0 {
			r.Counts, r.Why = "void", void[i].Why
			void = slices.Delete(void, i, i+1)
		}
		rows = append(rows, r)
	}
	if !evaluated {
		return rows
	}
	var extra []decisionRow
	for _, a := range counted {
		extra = append(extra, decisionRow{At: a.At, Until: a.Until, User: a.User.Name, Kind: a.Kind, Subject: subject(a.Policy, a.Freeze), Reason: a.Reason, Counts: "yes"})
	}
	for _, v := range void {
		a := v.Decision
		extra = append(extra, decisionRow{At: a.At, Until: a.Until, User: a.User.Name, Kind: a.Kind, Subject: subject(a.Policy, a.Freeze), Reason: a.Reason, Counts: "void", Why: v.Why})
	}
	slices.SortStableFunc(extra, func(a, b decisionRow) int { return a.At.Compare(b.At) })
	return append(rows, extra...)
}

func subject(policy, freeze string) string {
	switch {
	case policy != "":
		return "policy " + policy
	case freeze != "":
		return "freeze " + freeze
	}
	return ""
}

// form is one decision form.
type form struct {
	Kind   string
	Legend string
	Button string
	Help   string
	// Why is why the form is disabled, "" when it is not.
	Why            string
	ReasonRequired bool
	// Choice is the list the form picks from, if any.
	Choice *choice
	Danger bool
}

// choice is a form's drop-down: a field, its label, the options and the
// one selected at first.
type choice struct {
	Field, Label string
	Options      []string
	Selected     string
}

// decisionKinds are the kinds of decision in the order the forms come.
var decisionKinds = []string{approval.KindApprove, approval.KindReject, approval.KindOverridePolicy,
	approval.KindOverrideFreeze, approval.KindAcceptUnknown, approval.KindBreakGlass}

// forms builds the decision forms p.CanDecide asks for. A form the user
// may use is still disabled when there is nothing for it to act on (no
// violated soft-mandatory policy, no freeze in force, nothing unknown).
func forms(p ChangePage) []form {
	var out []form
	for _, kind := range decisionKinds {
		why, ok := p.CanDecide[kind]
		if !ok {
			continue
		}
		f := form{Kind: kind, Why: why}
		switch kind {
		case approval.KindApprove:
			f.Legend, f.Button = "Approve", "Approve"
			f.Help = "Counts toward the approvals required, for this change hash and twin version only."
		case approval.KindReject:
			f.Legend, f.Button, f.Danger = "Reject", "Reject", true
			f.Help = "One rejection is enough to reject the request."
		case approval.KindOverridePolicy:
			f.Legend, f.Button, f.ReasonRequired = "Override a soft-mandatory policy", "Override policy", true
			f.Help = "Lets the change through one violated soft-mandatory policy. Hard-mandatory policies can never be overridden."
			var names []string
			if p.Report != nil {
				for _, oc := range p.Report.Policies {
					if oc.Violated && !oc.Shadow && oc.Enforcement == policy.SoftMandatory && oc.Overridden == nil {
						names = append(names, oc.Policy)
					}
				}
			}
			if len(names) > 0 {
				f.Choice = &choice{Field: "policy", Label: "Policy", Options: names}
			}
			if len(names) == 0 && f.Why == "" {
				f.Why = "no soft-mandatory policy is violated: there is nothing to override"
			}
		case approval.KindOverrideFreeze:
			f.Legend, f.Button, f.ReasonRequired = "Override a freeze", "Override freeze", true
			f.Help = "Lets the change through a freeze in force; only members of the freeze's override groups may."
			var names []string
			for _, af := range p.Status.Freezes {
				if af.Override == nil {
					names = append(names, af.Name)
				}
			}
			if len(names) > 0 {
				f.Choice = &choice{Field: "freeze", Label: "Freeze", Options: names}
			}
			if len(names) == 0 && f.Why == "" {
				f.Why = "no freeze is in force without an override"
			}
		case approval.KindAcceptUnknown:
			f.Legend, f.Button, f.ReasonRequired = "Accept what could not be decided", "Accept unknown", true
			f.Help = "Accepts an unknown verdict or unknown findings; the approvals are still needed."
			if p.Report != nil && f.Why == "" && !hasUnknown(p.Report) {
				f.Why = "nothing is unknown: there is nothing to accept"
			}
		case approval.KindBreakGlass:
			f.Legend, f.Button, f.ReasonRequired, f.Danger = "Break glass", "Break glass", true, true
			f.Help = "Replaces the approvals (not the policies or freezes) for a limited time, is recorded, and calls for a post-review."
			f.Choice = &choice{Field: "duration", Label: "Lasts", Options: BreakGlassDurations, Selected: "1h"}
		}
		out = append(out, f)
	}
	return out
}

func hasUnknown(r *check.Report) bool {
	if r.Verdict != nil && r.Verdict.Decision == verdict.Unknown {
		return true
	}
	return slices.ContainsFunc(r.Findings, func(f finding.Finding) bool { return f.Severity == finding.Unknown })
}

var funcs = template.FuncMap{
	"upper":        func(s any) string { return strings.ToUpper(fmt.Sprint(s)) },
	"join":         strings.Join,
	"stamp":        stamp,
	"iso":          func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"where":        where,
	"rate":         func(v float64) string { return units.Rate(v).Short() },
	"pct":          func(v float64) string { return units.Percent(v).Short() },
	"num":          number,
	"short":        shortHash,
	"opLine":       report.OperationLine,
	"approvals":    approvalsLine,
	"policyDetail": policyDetail,
	"fraction":     func(n, num, den int) float64 { return float64(n*num) / float64(den) },
	"changePath":   ChangePath,
	"decidePath":   DecisionPath,
	"inlineSVG":    inlineSVG,
	"sevRank":      func(s finding.Severity) int { return s.Rank() },
	"mark":         func(action string) string { return actionMark[action] },
	"add":          func(a, b int) int { return a + b },
	"verdictWord":  verdictWord,
	"uniqueWhere":  uniqueWhere,
	"stateLabel":   func(s any) string { return strings.ReplaceAll(fmt.Sprint(s), "-", " ") },
	"lines":        func(s string) int { return strings.Count(strings.TrimRight(s, "\n"), "\n") + 1 },
}

// number is a figure for people: 4 significant digits below 1000, whole
// and grouped in thousands above ("28,113,456"), never in exponent form.
func number(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) >= 1e15 {
		return fmt.Sprint(v)
	}
	if math.Abs(v) < 1000 {
		s := strconv.FormatFloat(v, 'f', decimals(v), 64)
		if strings.Contains(s, ".") {
			s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
		}
		return s
	}
	digits := strconv.FormatInt(int64(math.Round(math.Abs(v))), 10)
	var b strings.Builder
	if v < 0 {
		b.WriteByte('-')
	}
	for i, d := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(d)
	}
	return b.String()
}

// decimals is how many decimals give v (below 1000) 4 significant digits,
// at most 6.
func decimals(v float64) int {
	a := math.Abs(v)
	if a == 0 {
		return 0
	}
	return min(6, max(0, 3-int(math.Floor(math.Log10(a)))))
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// where is a position as file:line.
func where(p twin.Pos) string {
	if p.Line == 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d", p.File, p.Line)
}

// uniqueWhere lists the distinct file:line of a finding's objects.
func uniqueWhere(objs []finding.Object) []string {
	var out []string
	for _, o := range objs {
		if at := where(o.Pos); at != "" && !slices.Contains(out, at) {
			out = append(out, at)
		}
	}
	return out
}

func shortHash(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

var actionMark = map[string]string{"added": "+", "removed": "−", "modified": "~"}

// verdictWord is a verdict for a badge: "PASS", or "not verified".
func verdictWord(d verdict.Decision) string {
	if d == "" {
		return "not verified"
	}
	return strings.ToUpper(string(d))
}

// inlineSVG drops the XML declaration svgplot starts its documents with,
// which has no place inside HTML.
func inlineSVG(h template.HTML) template.HTML {
	s := strings.TrimSpace(string(h))
	if strings.HasPrefix(s, "<?xml") {
		if i := strings.Index(s, "?>"); i >= 0 {
			s = strings.TrimSpace(s[i+2:])
		}
	}
	return template.HTML(s)
}

// approvalsLine says what approvals a change needs, in one line, as the
// reports do.
func approvalsLine(required int, groups []string) string {
	return report.ApprovalsLine(risk.Approvals{Required: required, Groups: groups})
}

// policyDetail says more of what a policy decided than its badge
// (violated, overridden, shadow, holds) does: the reports' words for a
// shadow or overridden violation, nothing otherwise.
func policyDetail(p policy.Outcome) string {
	if p.Violated && (p.Shadow || p.Overridden != nil) {
		return report.PolicyState(p)
	}
	return ""
}
