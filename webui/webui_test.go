package webui

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"html/template"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/preflight-sh/preflight/approval"
	"github.com/preflight-sh/preflight/change"
	"github.com/preflight-sh/preflight/check"
	"github.com/preflight-sh/preflight/store"
	"github.com/preflight-sh/preflight/svgplot"
	"github.com/preflight-sh/preflight/twin"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const changeFile = "../examples/shop/changes/04-remove-billing-hosts-typo.yaml"

var (
	shopOnce sync.Once
	shopRep  *check.Report
	shopErr  error
)

// shopReport is the check of example change 04 (a selector that removes
// every host of a zone) on the shop twin: a block verdict, two violated
// hard-mandatory policies, high risk.
func shopReport(t *testing.T) *check.Report {
	t.Helper()
	shopOnce.Do(func() {
		s, err := twin.Load("../examples/shop")
		if err != nil {
			shopErr = err
			return
		}
		cs, err := change.LoadFile(changeFile)
		if err != nil {
			shopErr = err
			return
		}
		shopRep, shopErr = check.Run("examples/shop", s, cs, check.Options{})
	})
	if shopErr != nil {
		t.Fatal(shopErr)
	}
	return shopRep
}

// Noon on Friday 14 March 2025; the quarter-end freeze is in force all day.
var (
	noon      = time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC)
	freeze    = approval.Freeze{Name: "quarter-end", Schedule: "@daily", Duration: 23 * time.Hour, OverrideGroups: []string{"team sre-leads"}}
	maria     = approval.User{Name: "maria", Roles: []string{approval.RoleApprover}, Groups: []string{"payments"}}
	liwei     = approval.User{Name: "li.wei", Roles: []string{approval.RoleAuthor, approval.RoleApprover}, Groups: []string{"payments"}}
	sam       = approval.User{Name: "sam", Roles: []string{approval.RoleApprover}, Groups: []string{"storage-sre"}}
	twinVer   = "shop@7f3a9c2"
	fixedTime = noon.Add(-3 * time.Hour)
)

// changePage is the page of change 04 for sam, an approver, with four
// decisions recorded: one that counts and three void ones.
func changePage(t *testing.T) ChangePage {
	t.Helper()
	rep := shopReport(t)
	body, err := os.ReadFile(changeFile)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	req := approval.Request{ID: "4", Author: "li.wei", ChangeHash: hash, TwinVersion: twinVer, Report: rep}
	ds := []approval.Decision{
		{Kind: approval.KindApprove, User: maria, At: noon.Add(-2 * time.Hour)},
		{Kind: approval.KindApprove, User: liwei, At: noon.Add(-110 * time.Minute)},
		{Kind: approval.KindApprove, User: sam, At: noon.Add(-90 * time.Minute), ChangeHash: "0123456789abcdef", TwinVersion: twinVer},
		{Kind: approval.KindOverridePolicy, User: maria, Policy: "capacity-floors", Reason: "the floors are too strict for billing", At: noon.Add(-1 * time.Hour)},
	}
	for i := range ds {
		if ds[i].ChangeHash == "" {
			ds[i].ChangeHash, ds[i].TwinVersion = hash, twinVer
		}
	}
	st, err := approval.Evaluate(req, ds, []approval.Freeze{freeze}, noon, approval.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var recorded []store.Decision
	for i, d := range ds {
		recorded = append(recorded, store.Decision{ID: int64(i + 1), RequestID: 4, User: d.User.Name, Kind: store.DecisionKind(d.Kind),
			Policy: d.Policy, Reason: d.Reason, ChangeHash: d.ChangeHash, TwinVersion: d.TwinVersion, At: d.At})
	}
	return ChangePage{
		User: "sam",
		Request: store.ChangeRequest{ID: 4, Title: rep.Change.Title, Author: "li.wei", Kind: store.FileChange, Body: string(body),
			ChangeHash: hash, TwinVersion: twinVer, State: store.NeedsApproval, Editors: []string{},
			Created: fixedTime, Updated: noon.Add(-1 * time.Hour)},
		Report:    rep,
		Status:    st,
		Decisions: recorded,
		ChartSVG:  chart(t),
		CanDecide: map[string]string{
			approval.KindApprove:        "",
			approval.KindReject:         "",
			approval.KindOverridePolicy: "",
			approval.KindOverrideFreeze: `sam is not a member of a group that may override freeze "quarter-end" (team sre-leads)`,
			approval.KindBreakGlass:     "",
		},
		CSRF: "csrf-token-for-the-test",
	}
}

// chart is a small simulation chart drawn by svgplot.
func chart(t *testing.T) template.HTML {
	t.Helper()
	n := 40
	ok, bad := make([]float64, n), make([]float64, n)
	for i := range n {
		ok[i] = 99.9 + 0.05*math.Sin(float64(i)/3)
		bad[i] = ok[i]
		if i >= 20 {
			bad[i] = 63 + 2*math.Cos(float64(i)/2)
		}
	}
	c := svgplot.Chart{Title: "Success rate, zone use1-az3 failing at the daily peak", Step: 30 * time.Second,
		Panels: []svgplot.Panel{{Title: "Success rate per entry point", Unit: "%", Series: []svgplot.Series{
			{Name: "without the change", Values: ok}, {Name: "with the change", Values: bad}}, Lines: []svgplot.HLine{{Label: "SLO 99.99%", Y: 99.99}}}},
		Markers: []svgplot.Marker{{At: 5 * time.Minute, Label: "apply change"}, {At: 10 * time.Minute, Label: "zone fails"}}}
	var b bytes.Buffer
	if err := svgplot.Write(&b, c); err != nil {
		t.Fatal(err)
	}
	return template.HTML(b.String())
}

func listPage() ListPage {
	return ListPage{
		User:   "sam",
		Filter: "",
		CSRF:   "csrf-token-for-the-test",
		Changes: []ListItem{
			{ID: 4, Title: "Decommission billing hosts in use1-az1", Author: "li.wei", State: "needs-approval", Verdict: "block", RiskScore: 58, RiskTier: "high", Updated: noon.Add(-time.Hour)},
			{ID: 3, Title: "Remove one billing host", Author: "li.wei", State: "approved", Verdict: "warn", RiskScore: 21, RiskTier: "low", Updated: noon.Add(-26 * time.Hour)},
			{ID: 2, Title: "Drain zone use1-az2 for maintenance", Author: "ana", State: "applied", Verdict: "pass", RiskScore: 34, RiskTier: "medium", Updated: noon.Add(-50 * time.Hour)},
			{ID: 5, Title: "Empty the DNS weights", Author: "ana", State: "verifying", Updated: noon.Add(-5 * time.Minute)},
			{ID: 1, Title: "Scale api", Author: "ana", State: "rejected", Verdict: "unknown", RiskScore: 81, RiskTier: "critical", Updated: noon.Add(-72 * time.Hour)},
		},
	}
}

func render(t *testing.T, f func(io.Writer) error) string {
	t.Helper()
	var b bytes.Buffer
	if err := f(&b); err != nil {
		t.Fatal(err)
	}
	checkHTML(t, b.String())
	return b.String()
}

func renderChange(t *testing.T, p ChangePage) string {
	t.Helper()
	return render(t, func(w io.Writer) error { return RenderChange(w, p) })
}

func renderList(t *testing.T, p ListPage) string {
	t.Helper()
	return render(t, func(w io.Writer) error { return RenderList(w, p) })
}

func wantIn(t *testing.T, page string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(page, w) {
			t.Errorf("the page lacks %q", w)
		}
	}
}

func TestChangePage(t *testing.T) {
	p := changePage(t)
	if p.Status.State != approval.StateBlocked {
		t.Fatalf("state %s, want blocked: %+v", p.Status.State, p.Status)
	}
	page := renderChange(t, p)
	wantIn(t, page,
		"<h1>Decommission billing hosts in use1-az1</h1>",
		`<span class="badge verdict-block">BLOCK</span>`,
		"8 critical finding(s)",
		`<strong class="score">58</strong>`,
		`<span class="badge approval-blocked">blocked</span>`,
		"1 of 2 approval(s) counted: maria.",
		// The unmet rules, in their box.
		`<section id="unmet" class="unmet blocked"`,
		"<strong>Blocked:</strong> no decision can let this change through",
		"policy capacity-floors is hard-mandatory and violated: nothing overrides it, not even break-glass",
		"policy primaries-need-flag is hard-mandatory and violated",
		"freeze &#39;quarter-end&#39; in force until 2025-03-14T23:00:00Z: an override, with a reason, by a member of team sre-leads",
		"<li>1 more approval</li>",
		"<li>an approver from team storage-sre</li>",
		// The approval groups, with who met them.
		`<span class="badge ok">met</span> team payments — approved by maria`,
		`<span class="badge pending">waiting</span> team storage-sre`,
		// Every risk factor, with its points and why.
		`<th scope="row" data-label="Factor">blast radius</th><td class="points" data-label="Points"><meter min="0" max="15" low="5" high="10" optimum="0" value="8">8 of 15</meter> <span>8/15</span></td>`,
		`<th scope="row" data-label="Factor">timing</th>`, "5/10", "the change does not say when it is applied",
		"high risk: 2 approver(s); including an owner of each affected service",
		// Decisions, counted and void with why.
		`<span class="badge ok">counts</span>`,
		`<span class="badge void">void</span> separation of duties: li.wei wrote this request and cannot approve it`,
		`<span class="badge void">void</span> made on change 0123456789abcdef`,
		"policy capacity-floors is hard-mandatory and can never be overridden",
		// Findings: ids, severity as text, where, evidence.
		`<code class="f-id">selector.scope/op1/service</code>`,
		`<code class="f-id">capacity.floor/index/zone=use1-az1/instances</code>`,
		`<code class="f-id">rollback.irreversible</code>`,
		`<span class="badge sev-critical">CRITICAL</span>`,
		`<span class="badge sev-warning">WARNING</span>`,
		`<span class="at">at <code>../examples/shop/services.yaml:148</code></span>`,
		"<li>index in zone use1-az1: 0 serving &lt; floor 2 (floors.perZone)</li>",
		`<span class="badge sev-critical">8 critical</span>`,
		// Blast radius: objects and capacity shares.
		"35 object(s) touched (35 removed)",
		`<th scope="rowgroup" rowspan="3">api</th>`,
		"180krps → 150krps", "<span>16.7%</span>",
		"<summary>Objects touched (35)</summary>",
		// Policies, rollback, operations, the chart, the analyses.
		`<th scope="row" data-label="Policy">capacity-floors</th>`,
		`<span class="badge sev-critical">violated</span>`,
		`<span class="badge ok">verified</span> 35 operation(s) restore every touched object`,
		"removes primary instance storage-use1-az1-1 of storage",
		"<code>remove Instance selector zone=use1-az1</code>",
		"<code>remove instances zone=use1-az1</code>",
		`<figure class="chart">`, "<svg ",
		`<th scope="row">network</th>`,
		// The forms: CSRF, kind and change hash in each; disabled with the
		// reason where the user may not or there is nothing to act on.
		`action="/changes/4/decisions"`,
		`<input type="hidden" name="`+FieldCSRF+`" value="csrf-token-for-the-test">`,
		`<input type="hidden" name="`+FieldKind+`" value="approve">`,
		`<input type="hidden" name="`+FieldChangeHash+`" value="`+p.Request.ChangeHash+`">`,
		`<textarea id="reason-approve" name="`+FieldReason+`"`,
		`<button type="submit" class="primary">Approve</button>`,
		`<button type="submit" class="danger">Reject</button>`,
		`<button type="submit" class="primary" disabled aria-describedby="why-override-freeze">Override freeze</button>`,
		`<p class="why-not" id="why-override-freeze"><strong>Not available:</strong> sam is not a member of a group that may override freeze &#34;quarter-end&#34; (team sre-leads)</p>`,
		`<button type="submit" class="primary" disabled aria-describedby="why-override-policy">Override policy</button>`,
		"no soft-mandatory policy is violated: there is nothing to override",
		`<select id="duration-break-glass" name="`+FieldDuration+`" required>`,
		`<textarea id="reason-break-glass" name="reason" rows="3" maxlength="4000" required>`,
		// The layout: sign-out form with CSRF, the style sheet.
		`<form class="signout" method="post" action="/logout">`,
		`<link rel="stylesheet" href="/static/style.css?v=`,
	)
	// Accept-unknown is not in CanDecide: no form.
	if strings.Contains(page, `value="accept-unknown"`) {
		t.Error("the page offers accept-unknown, which CanDecide does not")
	}
	// The approve and reject buttons are enabled.
	for _, kind := range []string{"approve", "reject", "break-glass"} {
		if strings.Contains(page, `aria-describedby="why-`+kind+`"`) {
			t.Errorf("the %s form is disabled", kind)
		}
	}
	// Every finding is there.
	for _, f := range p.Report.Findings {
		if !strings.Contains(page, `<code class="f-id">`+template.HTMLEscapeString(f.ID)+`</code>`) {
			t.Errorf("finding %s is missing", f.ID)
		}
	}
	// Every rule unmet is there.
	for _, u := range p.Status.Unmet {
		if !strings.Contains(page, "<li>"+template.HTMLEscapeString(u)+"</li>") {
			t.Errorf("unmet rule %q is missing", u)
		}
	}
	// The XML declaration of the chart is dropped.
	if strings.Contains(page, "<?xml") {
		t.Error("the chart's XML declaration is in the page")
	}
	golden(t, "change.golden.html", page)
}

func TestListPage(t *testing.T) {
	page := renderList(t, listPage())
	wantIn(t, page,
		`<a href="/changes/4">Decommission billing hosts in use1-az1</a>`,
		`<span class="badge state state-needs-approval">needs approval</span>`,
		`<span class="badge verdict-block">BLOCK</span>`,
		`<span class="score">58</span><span class="muted">/100</span> <span class="badge tier-high">high</span>`,
		`<span class="muted">not verified</span>`,
		`<time datetime="2025-03-14T11:00:00Z">2025-03-14 11:00 UTC</time>`,
		`<option value="" selected>all</option>`,
		`<caption>5 change request(s)</caption>`,
		`<input type="hidden" name="csrf" value="csrf-token-for-the-test">`,
		"Signed in as <strong>sam</strong>",
	)
	golden(t, "list.golden.html", page)

	p := listPage()
	p.Filter, p.Changes = "approved", p.Changes[1:2]
	page = renderList(t, p)
	wantIn(t, page, `<option value="approved" selected>approved</option>`, "<caption>1 change request(s) in state approved</caption>")
	p.Changes = nil
	wantIn(t, renderList(t, p), `<p class="empty">No change requests in state approved.</p>`)
}

func TestLoginPage(t *testing.T) {
	page := render(t, func(w io.Writer) error { return RenderLogin(w, LoginPage{Error: "unknown <token>", CSRF: "pre"}) })
	wantIn(t, page,
		`<form method="post" action="/login">`,
		`<input type="hidden" name="csrf" value="pre">`,
		`<input id="token" name="`+FieldToken+`" type="password"`,
		`<strong>Could not sign in:</strong> unknown &lt;token&gt;`)
	if strings.Contains(page, "Sign out") {
		t.Error("the login page offers to sign out")
	}
}

// An unverified request: no report, a form disabled for the reason the
// server gives.
func TestChangePageUnverified(t *testing.T) {
	p := ChangePage{User: "sam", CSRF: "t",
		Request:   store.ChangeRequest{ID: 9, Title: "Scale api", Author: "ana", Kind: store.CommandChange, Body: "scale service api to 40", ChangeHash: "abc", TwinVersion: "v1", State: store.Verifying},
		CanDecide: map[string]string{approval.KindApprove: "change 9 is verifying: decisions are taken on requests that need approval"}}
	page := renderChange(t, p)
	wantIn(t, page, "<h2 id=\"unverified-h\">Not verified yet</h2>", "<strong>verifying</strong>", "scale service api to 40",
		`disabled aria-describedby="why-approve"`, "No decision has been recorded yet.")
	for _, s := range []string{`id="findings"`, `id="unmet"`, `id="risk"`} {
		if strings.Contains(page, s) {
			t.Errorf("an unverified request's page has %s", s)
		}
	}
	p.CanDecide = nil
	wantIn(t, renderChange(t, p), "No decision is open to you on this request.")
}

// A request that meets every rule, with a decision the caller did not
// list (it is still shown) and a break-glass.
func TestChangePageApproved(t *testing.T) {
	p := changePage(t)
	p.Status = approval.Status{State: approval.StateApproved, Required: 2, Groups: []string{"team payments"},
		Approvers: []string{"maria"}, PostReview: true,
		Counted: []approval.Decision{{Kind: approval.KindApprove, User: maria, At: noon.Add(-2 * time.Hour)},
			{Kind: approval.KindBreakGlass, User: sam, Reason: "outage", At: noon.Add(-time.Hour), Until: noon.Add(time.Hour)}}}
	p.Status.BreakGlass = &p.Status.Counted[1]
	p.Decisions = p.Decisions[:1]
	page := renderChange(t, p)
	wantIn(t, page, `<section id="unmet" class="met"`, "Every rule is met", "<strong>Post-review required:</strong>",
		"<strong>Break-glass in effect</strong> until", "<strong>break-glass</strong> until",
		`<span class="badge pending">waiting</span> team payments`)
}

// A report without an evaluation of the approval rules does not pass for
// one that meets them all.
func TestChangePageNotEvaluated(t *testing.T) {
	p := changePage(t)
	p.Status = approval.Status{}
	page := renderChange(t, p)
	wantIn(t, page, "Approval rules not evaluated", `<span class="badge">not evaluated</span>`, `<span class="muted">not evaluated</span>`)
	if strings.Contains(page, "Every rule is met") {
		t.Error("an unevaluated request is shown as meeting every rule")
	}
}

// A report with only what approval rules read, as a server decoding its
// stored JSON partly may have.
func TestChangePagePartialReport(t *testing.T) {
	p := changePage(t)
	p.Report = &check.Report{Findings: p.Report.Findings, Verdict: p.Report.Verdict, Risk: p.Report.Risk, Policies: p.Report.Policies}
	p.ChartSVG = ""
	page := renderChange(t, p)
	wantIn(t, page, "No blast radius was computed.", "No rollback plan was made.", "The report lists no operation; the change as submitted is below.",
		"The report lists no analysis.", `<span class="badge verdict-block">BLOCK</span>`)
	if strings.Contains(page, `href="#simulation"`) {
		t.Error("the page links to a simulation it does not have")
	}
}

func TestDecisionRows(t *testing.T) {
	st := approval.Status{
		Counted: []approval.Decision{{Kind: "approve", User: approval.User{Name: "Maria"}, At: noon}},
		Void:    []approval.Voided{{Decision: approval.Decision{Kind: "approve", User: approval.User{Name: "bob"}, At: noon.Add(-time.Hour)}, Why: "late"}},
	}
	rows := decisionRows([]store.Decision{{User: "maria", Kind: "approve", At: noon}, {User: "zed", Kind: "reject", At: noon}}, st, true)
	got := []string{}
	for _, r := range rows {
		got = append(got, r.User+":"+r.Counts+":"+r.Why)
	}
	want := "maria:yes: zed:: bob:void:late"
	if strings.Join(got, " ") != want {
		t.Errorf("rows %v, want %s", got, want)
	}
}

func TestNumber(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 62.776: "62.78", 99.447: "99.45", 100: "100", 2.81e7: "28,100,000",
		-1234.6: "-1,235", 0.000123: "0.000123", 1e-9: "0", 999.4: "999.4", 1000: "1,000", 20: "20", 0.5: "0.5"} {
		if got := number(v); got != want {
			t.Errorf("number(%v) = %q, want %q", v, got, want)
		}
	}
}

const evil = `<script>alert("x")</script>`

func TestEscaping(t *testing.T) {
	p := changePage(t)
	rep := *p.Report
	rep.Findings = append(rep.Findings[:0:0], rep.Findings...)
	rep.Findings[0].Message = evil + " message"
	rep.Findings[0].ID = `id"><script>alert(2)</script>`
	rep.Findings[0].Evidence.Lines = append([]string{`<img src=x onerror=alert(3)>`}, rep.Findings[0].Evidence.Lines...)
	rep.Change.Reason = evil
	p.Report = &rep
	p.Request.Title = evil + " title"
	p.Request.Author = `"><script>alert(4)</script>`
	p.Request.Body = "</code></pre>" + evil
	p.Status.Unmet = append([]string{evil}, p.Status.Unmet...)
	p.CanDecide[approval.KindApprove] = evil
	p.User = evil
	p.CSRF = `"><script>alert(5)</script>`
	page := renderChange(t, p)
	list := listPage()
	list.Changes[0].Title, list.Changes[0].Author, list.Changes[0].State = evil, evil, `x" onclick="alert(1)`
	list.User, list.Filter = evil, evil
	login := render(t, func(w io.Writer) error { return RenderLogin(w, LoginPage{Error: evil, CSRF: evil}) })
	for name, out := range map[string]string{"change": page, "list": renderList(t, list), "login": login} {
		if strings.Contains(strings.ToLower(out), "<script") {
			t.Errorf("the %s page has a <script> element", name)
		}
		if strings.Contains(out, "<img") || strings.Contains(out, `onclick="`) {
			t.Errorf("the %s page has injected markup", name)
		}
		if !strings.Contains(out, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") {
			t.Errorf("the %s page does not show the escaped text", name)
		}
	}
	wantIn(t, page, "<h1>&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; title</h1>",
		`<span class="f-msg">&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; message</span>`,
		"<li>&lt;img src=x onerror=alert(3)&gt;</li>")
}

func TestCSRF(t *testing.T) {
	c := NewCSRF([]byte("0123456789abcdef0123456789abcdef"))
	tok := c.Token("session-1")
	if tok == "" || strings.ContainsAny(tok, "+/=") {
		t.Fatalf("token %q is not base64url without padding", tok)
	}
	if tok != c.Token("session-1") {
		t.Error("the token of a session changes")
	}
	cases := []struct {
		name, session, token string
		want                 bool
	}{
		{"valid", "session-1", tok, true},
		{"wrong session", "session-2", tok, false},
		{"tampered", "session-1", tamper(tok), false},
		{"truncated", "session-1", tok[:len(tok)-1], false},
		{"not base64", "session-1", "!!" + tok[2:], false},
		{"padded", "session-1", tok + "=", false},
		{"empty token", "session-1", "", false},
		{"empty session", "", tok, false},
		{"empty both", "", "", false},
		{"token of the empty session", "", c.Token(""), false},
	}
	for _, tc := range cases {
		if got := c.Valid(tc.session, tc.token); got != tc.want {
			t.Errorf("%s: Valid = %v, want %v", tc.name, got, tc.want)
		}
	}
	other := NewCSRF([]byte("another key, 32 bytes long......"))
	if other.Valid("session-1", tok) {
		t.Error("a token is valid under another key")
	}
	r := httptest.NewRequest("POST", "/changes/4/decisions", strings.NewReader(url.Values{FieldCSRF: {tok}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if !c.CheckRequest(r, "session-1") {
		t.Error("CheckRequest refuses the form's token")
	}
	r = httptest.NewRequest("POST", "/changes/4/decisions", strings.NewReader("kind=approve"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if c.CheckRequest(r, "session-1") {
		t.Error("CheckRequest accepts a form without a token")
	}
	defer func() {
		if recover() == nil {
			t.Error("NewCSRF accepts a short key")
		}
	}()
	NewCSRF([]byte("short"))
}

// tamper flips one bit of the MAC.
func tamper(tok string) string {
	b := []byte(tok)
	if b[3] == 'A' {
		b[3] = 'B'
	} else {
		b[3] = 'A'
	}
	return string(b)
}

func TestStatic(t *testing.T) {
	srv := httptest.NewServer(http.StripPrefix("", Static()))
	defer srv.Close()
	for path, want := range map[string]int{
		stylePath:                   200,
		"/static/style.css":         200,
		"/static/":                  404,
		"/static":                   404,
		"/static/missing.css":       404,
		"/static/../webui.go":       404,
		"/static/%2e%2e/webui.go":   404,
		"/static//style.css":        404,
		"/static/./style.css":       404,
		"/templates/change.html":    404,
		"/static/templates/x.html":  404,
		"/static/style.css/":        404,
		"/static/style.css?x=<a>":   200,
		"/static/STYLE.css":         404,
		"/static/style.css%00.html": 404,
	} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, want)
			continue
		}
		if want == 200 {
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/css") {
				t.Errorf("GET %s: Content-Type %q", path, ct)
			}
			if resp.Header.Get("X-Content-Type-Options") != "nosniff" || !bytes.Contains(body, []byte(".badge")) {
				t.Errorf("GET %s: headers %v, %d bytes", path, resp.Header, len(body))
			}
		}
	}
	resp, err := http.Post(srv.URL+"/static/style.css", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", resp.StatusCode)
	}
}

// Nothing is loaded from elsewhere, and there is no script.
func TestSelfContained(t *testing.T) {
	pages := map[string]string{"change": renderChange(t, changePage(t)), "list": renderList(t, listPage()),
		"login": render(t, func(w io.Writer) error { return RenderLogin(w, LoginPage{}) })}
	css, err := staticFS.ReadFile("static/style.css")
	if err != nil {
		t.Fatal(err)
	}
	pages["style.css"] = string(css)
	external := regexp.MustCompile(`(?i)(src|href|action)\s*=\s*"(https?:)?//|@import|url\(\s*['"]?(https?:)?//`)
	for name, s := range pages {
		if m := external.FindString(s); m != "" {
			t.Errorf("%s loads from elsewhere: %s", name, m)
		}
		if strings.Contains(strings.ToLower(s), "<script") || strings.Contains(s, "javascript:") {
			t.Errorf("%s has script", name)
		}
	}
	h := http.Header{}
	SetSecurityHeaders(h)
	if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "'sha256-") ||
		!strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("CSP %q", csp)
	}
	if !strings.Contains(pages["change"], `<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;; style-src &#39;self&#39; &#39;sha256-`) {
		t.Error("the page does not carry its CSP")
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./webui -update to write it)", err)
	}
	if string(want) != got {
		wl, gl := strings.Split(string(want), "\n"), strings.Split(got, "\n")
		for i := 0; i < len(wl) || i < len(gl); i++ {
			var w, g string
			if i < len(wl) {
				w = wl[i]
			}
			if i < len(gl) {
				g = gl[i]
			}
			if w != g {
				t.Fatalf("%s differs at line %d:\nwant %q\ngot  %q\n(run go test ./webui -update if the change is meant)", path, i+1, w, g)
			}
		}
	}
}

// voidElements have no end tag in HTML.
var voidElements = map[string]bool{"area": true, "base": true, "br": true, "col": true, "embed": true, "hr": true, "img": true,
	"input": true, "link": true, "meta": true, "source": true, "track": true, "wbr": true}

// blockElements close an open <p> in an HTML parser: a page that opens one
// inside a <p> does not have the structure its source shows.
var blockElements = map[string]bool{"address": true, "article": true, "aside": true, "details": true, "div": true, "dl": true,
	"fieldset": true, "figure": true, "footer": true, "form": true, "h1": true, "h2": true, "h3": true, "h4": true, "header": true,
	"main": true, "nav": true, "ol": true, "p": true, "pre": true, "section": true, "table": true, "ul": true}

// checkHTML checks that a page is well formed: every element closed in
// order, no block element inside a paragraph, ids unique, and every label,
// aria-describedby and in-page link pointing at an id that exists.
func checkHTML(t *testing.T, page string) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(page))
	d.Strict = false
	d.Entity = xml.HTMLEntity
	var stack []string
	ids := map[string]bool{}
	var refs []string
	for {
		tok, err := d.RawToken()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("line %d: %v", line(page, d.InputOffset()), err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			name := tok.Name.Local
			if blockElements[name] && len(stack) > 0 && stack[len(stack)-1] == "p" {
				t.Errorf("line %d: <%s> inside <p>", line(page, d.InputOffset()), name)
			}
			for _, a := range tok.Attr {
				switch a.Name.Local {
				case "id":
					if ids[a.Value] {
						t.Errorf("line %d: id %q twice", line(page, d.InputOffset()), a.Value)
					}
					ids[a.Value] = true
				case "for", "aria-describedby", "aria-labelledby":
					refs = append(refs, a.Value)
				case "href":
					if strings.HasPrefix(a.Value, "#") {
						refs = append(refs, a.Value[1:])
					}
				}
			}
			if !voidElements[name] {
				stack = append(stack, name)
			}
		case xml.EndElement:
			name := tok.Name.Local
			if voidElements[name] {
				continue
			}
			if len(stack) == 0 || stack[len(stack)-1] != name {
				t.Fatalf("line %d: </%s> closes %v", line(page, d.InputOffset()), name, stack)
			}
			stack = stack[:len(stack)-1]
		}
	}
	if len(stack) > 0 {
		t.Fatalf("unclosed at the end: %v", stack)
	}
	for _, r := range refs {
		if !ids[r] {
			t.Errorf("a reference to id %q, which no element has", r)
		}
	}
	if !strings.HasPrefix(page, "<!DOCTYPE html>\n<html lang=\"en\">") {
		t.Error("the page does not start with the doctype and the language")
	}
}

func line(s string, off int64) int { return strings.Count(s[:min(int(off), len(s))], "\n") + 1 }

// TestScreenshots renders the pages through a real HTTP server with the
// security headers and has headless Chromium screenshot them at 1280 and
// 390 pixels wide, failing on any console error (a style the Content
// Security Policy blocked, for one). It runs when PREFLIGHT_WEBUI_SCREENSHOTS
// names a directory for the screenshots and chromium is installed.
func TestScreenshots(t *testing.T) {
	dir := os.Getenv("PREFLIGHT_WEBUI_SCREENSHOTS")
	if dir == "" {
		t.Skip("set PREFLIGHT_WEBUI_SCREENSHOTS=DIR to screenshot the pages with headless Chromium")
	}
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("no chromium: apt-get install chromium")
	}
	cp, lp := changePage(t), listPage()
	mux := http.NewServeMux()
	mux.Handle("GET /static/", Static())
	page := func(f func(io.Writer) error) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			SetSecurityHeaders(w.Header())
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			if err := f(w); err != nil {
				t.Error(err)
			}
		}
	}
	mux.HandleFunc("GET /{$}", page(func(w io.Writer) error { return RenderList(w, lp) }))
	mux.HandleFunc("GET /changes/4", page(func(w io.Writer) error { return RenderChange(w, cp) }))
	mux.HandleFunc("GET /login", page(func(w io.Writer) error { return RenderLogin(w, LoginPage{Error: "that token is not known", CSRF: "x"}) }))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	shots := []struct {
		name, path string
		width      int
		height     int
	}{
		{"webui-list", "/", 1280, 800},
		{"webui-change", "/changes/4", 1280, 2000},
		{"webui-change-full", "/changes/4", 1280, 9000},
		{"webui-change-narrow", "/changes/4", 390, 14000},
		{"webui-list-narrow", "/", 390, 1200},
		{"webui-login", "/login", 1280, 600},
	}
	for _, s := range shots {
		out := filepath.Join(dir, s.name+".png")
		cmd := exec.Command(bin, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--enable-logging=stderr", "--v=0",
			"--user-data-dir="+t.TempDir(), "--screenshot="+out, fmt.Sprintf("--window-size=%d,%d", s.width, s.height), srv.URL+s.path)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s: %v\n%s", s.name, err, stderr.String())
		}
		for _, l := range strings.Split(stderr.String(), "\n") {
			// "[DOM]" lines are Chromium's suggestions (a username field
			// next to a password), not errors.
			if (strings.Contains(l, "CONSOLE") || strings.Contains(l, "Content Security Policy")) && !strings.Contains(l, "[DOM]") {
				t.Errorf("%s: %s", s.name, l)
			}
		}
		t.Logf("wrote %s", out)
	}
	// The pages as served, to look at.
	for name, path := range map[string]string{"webui-list.html": "/", "webui-change.html": "/changes/4", "webui-login.html": "/login"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
