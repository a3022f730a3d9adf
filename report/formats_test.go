package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	validator "github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/preflight-sh/preflight/change"
	"github.com/preflight-sh/preflight/check"
	"github.com/preflight-sh/preflight/finding"
	"github.com/preflight-sh/preflight/twin"
	"github.com/preflight-sh/preflight/verdict"
)

// The example changes the golden files are made from: one blocked, one
// that passes.
var shopChanges = []string{"04-remove-billing-hosts-typo", "01-scale-api"}

var shopReports = map[string]*check.Report{}

// shopReport checks an example change on the example twin, once per test
// binary (check simulates). It runs the test from the repository root, as
// the README's commands are run, so that the report's paths are theirs.
func shopReport(t *testing.T, name string) *check.Report {
	t.Helper()
	t.Chdir("..")
	if r := shopReports[name]; r != nil {
		return r
	}
	s, err := twin.Load("examples/shop")
	if err != nil {
		t.Fatal(err)
	}
	cs, err := change.LoadFile("examples/shop/changes/" + name + ".yaml")
	if err != nil {
		t.Fatal(err)
	}
	r, err := check.Run("examples/shop", s, cs, check.Options{})
	if err != nil {
		t.Fatal(err)
	}
	shopReports[name] = r
	return r
}

func render(t *testing.T, f func(io.Writer, *check.Report) error, r *check.Report) string {
	t.Helper()
	var b bytes.Buffer
	if err := f(&b, r); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func sarifOut(t *testing.T, r *check.Report, wd string) string {
	t.Helper()
	var b bytes.Buffer
	if err := JSON(&b, sarif(r, wd)); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestFormatsGolden(t *testing.T) {
	for _, name := range shopChanges {
		t.Run(name, func(t *testing.T) {
			r := shopReport(t, name)
			short := name[:2]
			golden(t, "shop-"+short+".md", render(t, Markdown, r))
			golden(t, "shop-"+short+".sarif", render(t, SARIF, r))
			golden(t, "shop-"+short+".junit.xml", render(t, JUnit, r))
			// Deterministic: a second rendering is the same.
			if a, b := render(t, Markdown, r)+render(t, JUnit, r), render(t, Markdown, r)+render(t, JUnit, r); a != b {
				t.Error("two renderings differ")
			}
		})
	}
	if r := shopReport(t, shopChanges[0]); r.Verdict.Decision != verdict.Block {
		t.Errorf("change 04 is %s, want block", r.Verdict.Decision)
	}
	if r := shopReport(t, shopChanges[1]); !r.Verdict.Safe() {
		t.Errorf("change 01 is %s, want pass or warn", r.Verdict.Decision)
	}
}

// sarifDoc is what the tests read back from a SARIF log.
type sarifDoc struct {
	Schema  string `json:"$schema"`
	Version string `json:"version"`
	Runs    []struct {
		Tool struct {
			Driver struct {
				Name  string `json:"name"`
				Rules []struct {
					ID               string `json:"id"`
					ShortDescription struct {
						Text string `json:"text"`
					} `json:"shortDescription"`
				} `json:"rules"`
			} `json:"driver"`
		} `json:"tool"`
		Results []struct {
			RuleID    string `json:"ruleId"`
			RuleIndex *int   `json:"ruleIndex"`
			Level     string `json:"level"`
			Message   struct {
				Text string `json:"text"`
			} `json:"message"`
			Locations []struct {
				PhysicalLocation struct {
					ArtifactLocation struct {
						URI string `json:"uri"`
					} `json:"artifactLocation"`
					Region *struct {
						StartLine   int `json:"startLine"`
						StartColumn int `json:"startColumn"`
					} `json:"region"`
				} `json:"physicalLocation"`
			} `json:"locations"`
			Properties struct {
				ID       string `json:"id"`
				Severity string `json:"severity"`
				Objects  []struct {
					Kind, Name, At string
				} `json:"objects"`
			} `json:"properties"`
		} `json:"results"`
		Properties struct {
			APIVersion string `json:"apiVersion"`
			Verdict    *struct {
				Decision string `json:"decision"`
			} `json:"verdict"`
		} `json:"properties"`
	} `json:"runs"`
}

// validateSARIF validates a log against the SARIF 2.1.0 subset schema.
func validateSARIF(t *testing.T, out string) error {
	t.Helper()
	schemaDoc, err := os.Open(filepath.Join(testdata, "sarif-2.1.0-subset.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer schemaDoc.Close()
	schema, err := validator.UnmarshalJSON(schemaDoc)
	if err != nil {
		t.Fatal(err)
	}
	c := validator.NewCompiler()
	if err := c.AddResource("sarif.json", schema); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("sarif.json")
	if err != nil {
		t.Fatal(err)
	}
	inst, err := validator.UnmarshalJSON(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	return sch.Validate(inst)
}

// TestSARIFSchema checks that the subset schema rejects what SARIF 2.1.0
// does not allow.
func TestSARIFSchema(t *testing.T) {
	valid := `{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "p", "rules": [{"id": "a.b", "shortDescription": {"text": "t"}}]}},
		"results": [{"ruleId": "a.b", "ruleIndex": 0, "level": "error", "message": {"text": "m"},
		"locations": [{"physicalLocation": {"artifactLocation": {"uri": "a/b.yaml"}, "region": {"startLine": 1, "startColumn": 1}}}]}]}]}`
	if err := validateSARIF(t, valid); err != nil {
		t.Fatalf("a valid log does not validate: %v", err)
	}
	for _, bad := range [][2]string{
		{`"version": "2.1.0"`, `"version": "2.0.0"`},
		{`"name": "p", `, ``},
		{`"level": "error"`, `"level": "fatal"`},
		{`"message": {"text": "m"}`, `"message": {}`},
		{`"shortDescription": {"text": "t"}`, `"shortDescription": {}`},
		{`"startLine": 1`, `"startLine": 0`},
		{`"ruleIndex": 0`, `"ruleIndex": -2`},
		{`"uri": "a/b.yaml"`, `"uri": "a b:\\c"`},
	} {
		doc := strings.Replace(valid, bad[0], bad[1], 1)
		if doc == valid {
			t.Fatalf("%q is not in the log", bad[0])
		}
		if validateSARIF(t, doc) == nil {
			t.Errorf("the schema accepts %s", bad[1])
		}
	}
}

// checkSARIF validates a log against the SARIF 2.1.0 subset schema and
// the essentials, and returns it decoded.
func checkSARIF(t *testing.T, out string, r *check.Report) sarifDoc {
	t.Helper()
	if !json.Valid([]byte(out)) {
		t.Fatalf("invalid JSON:\n%s", out)
	}
	if err := validateSARIF(t, out); err != nil {
		t.Errorf("SARIF does not validate: %v", err)
	}

	var doc sarifDoc
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Version != "2.1.0" || doc.Schema != "https://json.schemastore.org/sarif-2.1.0.json" || len(doc.Runs) != 1 {
		t.Fatalf("version %q, $schema %q, %d runs", doc.Version, doc.Schema, len(doc.Runs))
	}
	run := doc.Runs[0]
	if run.Tool.Driver.Name != "preflight" {
		t.Errorf("driver %q", run.Tool.Driver.Name)
	}
	if run.Properties.APIVersion != r.APIVersion {
		t.Errorf("run properties apiVersion %q", run.Properties.APIVersion)
	}
	if (run.Properties.Verdict == nil) != (r.Verdict == nil) || r.Verdict != nil && run.Properties.Verdict.Decision != string(r.Verdict.Decision) {
		t.Errorf("run properties verdict %+v, report %+v", run.Properties.Verdict, r.Verdict)
	}
	rules := run.Tool.Driver.Rules
	used := map[string]bool{}
	for i, rule := range rules {
		if rule.ID == "" || rule.ShortDescription.Text == "" {
			t.Errorf("rule %d: %+v lacks an id or a short description", i, rule)
		}
		if i > 0 && rules[i-1].ID >= rule.ID {
			t.Errorf("rules not sorted and unique: %q then %q", rules[i-1].ID, rule.ID)
		}
	}
	if len(run.Results) != len(r.Findings) {
		t.Fatalf("%d results for %d findings", len(run.Results), len(r.Findings))
	}
	level := map[finding.Severity]string{finding.Critical: "error", finding.Unknown: "warning", finding.Warning: "warning", finding.Info: "note"}
	for i, res := range run.Results {
		f := r.Findings[i]
		if res.RuleID != ruleID(f.ID) || res.Message.Text != f.Message || res.Level != level[f.Severity] || res.Properties.ID != f.ID {
			t.Errorf("result %d: ruleId %q level %q message %q for finding %+v", i, res.RuleID, res.Level, res.Message.Text, f)
		}
		if res.RuleIndex == nil || *res.RuleIndex < 0 || *res.RuleIndex >= len(rules) || rules[*res.RuleIndex].ID != res.RuleID {
			t.Errorf("result %d: ruleIndex %v does not point at rule %q", i, res.RuleIndex, res.RuleID)
		} else {
			used[res.RuleID] = true
		}
		for _, l := range res.Locations {
			uri := l.PhysicalLocation.ArtifactLocation.URI
			if uri == "" || strings.Contains(uri, `\`) || strings.HasPrefix(uri, "/") || strings.HasPrefix(uri, "..") {
				t.Errorf("result %d: uri %q is not relative with forward slashes", i, uri)
			}
			if reg := l.PhysicalLocation.Region; reg != nil && (reg.StartLine < 1 || reg.StartColumn < 0) {
				t.Errorf("result %d: region %+v", i, *reg)
			}
		}
	}
	if len(used) != len(rules) {
		t.Errorf("%d rules, %d used by results", len(rules), len(used))
	}
	return doc
}

func TestSARIF(t *testing.T) {
	for _, name := range shopChanges {
		t.Run(name, func(t *testing.T) {
			r := shopReport(t, name)
			doc := checkSARIF(t, render(t, SARIF, r), r)
			if name != shopChanges[0] {
				return
			}
			// The selector finding points at the operation in the change file.
			for i, res := range doc.Runs[0].Results {
				if res.RuleID != "selector.scope" {
					continue
				}
				if len(res.Locations) != 1 {
					t.Fatalf("result %d: locations %+v", i, res.Locations)
				}
				pl := res.Locations[0].PhysicalLocation
				if pl.ArtifactLocation.URI != "examples/shop/changes/04-remove-billing-hosts-typo.yaml" || pl.Region == nil || pl.Region.StartLine != 10 || pl.Region.StartColumn != 5 {
					t.Errorf("selector.scope located at %+v %+v", pl.ArtifactLocation, pl.Region)
				}
				return
			}
			t.Error("no selector.scope result")
		})
	}
}

// TestSARIFLocations checks results with and without file positions, and
// files inside and outside the working directory.
func TestSARIFLocations(t *testing.T) {
	wd := t.TempDir()
	inside := filepath.Join(wd, "dir", "my twin.yaml")
	outside := filepath.Join(filepath.Dir(wd), "elsewhere", "t.yaml")
	r := &check.Report{APIVersion: check.APIVersion, Kind: "Plan", Change: check.ChangeSummary{Source: "command"}, Findings: []finding.Finding{
		{ID: "a.b/1", Severity: finding.Critical, Message: "inside", Objects: []finding.Object{
			{Kind: "Zone", Name: "z", Pos: twin.Pos{File: inside, Line: 3, Col: 2}},
			{Kind: "Zone", Name: "z2", Pos: twin.Pos{File: inside, Line: 3, Col: 2}},
			{Kind: "Region", Name: "r", Pos: twin.Pos{File: filepath.Join(wd, "p.yaml")}},
		}},
		{ID: "a.c.d", Severity: finding.Unknown, Message: "outside", Objects: []finding.Object{{Kind: "Zone", Name: "z", Pos: twin.Pos{File: outside, Line: 1, Col: 1}}}},
		{ID: "x", Severity: finding.Info, Message: "nowhere", Objects: []finding.Object{{Kind: "Demand", Name: "users"}, {Kind: "Change", Name: "op 1", Pos: twin.Pos{File: "command", Line: 1, Col: 1}}}},
		{ID: "a.b/2", Severity: finding.Warning, Message: "no objects"},
	}}
	out := sarifOut(t, r, wd)
	checkSARIF(t, out, r)
	var doc sarifDoc
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	res := doc.Runs[0].Results
	var uris []string
	for _, l := range res[0].Locations {
		uris = append(uris, l.PhysicalLocation.ArtifactLocation.URI)
	}
	if want := []string{"dir/my%20twin.yaml", "p.yaml"}; fmt.Sprint(uris) != fmt.Sprint(want) {
		t.Errorf("uris %q, want %q (one per position)", uris, want)
	}
	if reg := res[0].Locations[1].PhysicalLocation.Region; reg != nil {
		t.Errorf("a position without a line has region %+v", *reg)
	}
	if got := res[1].Locations[0].PhysicalLocation.ArtifactLocation.URI; !strings.HasPrefix(got, "file:///") || !strings.HasSuffix(got, "/elsewhere/t.yaml") {
		t.Errorf("a file outside the working directory has uri %q", got)
	}
	for _, i := range []int{2, 3} {
		if res[i].Locations != nil {
			t.Errorf("result %d has locations %+v", i, res[i].Locations)
		}
	}
	if objs := res[2].Properties.Objects; len(objs) != 2 || objs[0].Kind != "Demand" || objs[0].Name != "users" || objs[1].At != "command:1:1" {
		t.Errorf("location-less result's objects %+v", objs)
	}
	if res[1].RuleID != "a.c" || res[2].RuleID != "x" || res[3].RuleID != "a.b" {
		t.Errorf("rule ids %q %q %q", res[1].RuleID, res[2].RuleID, res[3].RuleID)
	}
	if !strings.Contains(out, `"text": "preflight finding a.c"`) {
		t.Error("a rule without a description is not described by its id")
	}
	if strings.Contains(out, `"verdict"`) {
		t.Error("a plan's SARIF has a verdict")
	}

	// SARIF resolves relative paths against the working directory.
	t.Chdir(wd)
	rel := &check.Report{Findings: []finding.Finding{{ID: "a", Message: "m", Objects: []finding.Object{{Pos: twin.Pos{File: "rel.yaml", Line: 1}}}}}}
	if b := render(t, SARIF, rel); !strings.Contains(b, `"uri": "rel.yaml"`) {
		t.Errorf("SARIF from the working directory:\n%s", b)
	}
}

func TestRuleID(t *testing.T) {
	for id, want := range map[string]string{
		"capacity.floor/web/total=total/instances": "capacity.floor",
		"blast-radius.objects/data-tier-limit":     "blast-radius.objects",
		"simulation.overload.api-use1-az1":         "simulation.overload",
		"simulation.cascade":                       "simulation.cascade",
		"reachability.dropped/spine.iad-dc1":       "reachability.dropped",
		"failures.k-tolerance/all-pairs/none":      "failures.k-tolerance",
		"plain":                                    "plain",
	} {
		if got := ruleID(id); got != want {
			t.Errorf("ruleID(%q) = %q, want %q", id, got, want)
		}
	}
}

// junitDoc is what the tests read back from a JUnit report.
type junitDoc struct {
	XMLName  xml.Name `xml:"testsuite"`
	Name     string   `xml:"name,attr"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Skipped  int      `xml:"skipped,attr"`
	Cases    []struct {
		ClassName string `xml:"classname,attr"`
		Name      string `xml:"name,attr"`
		Failure   *struct {
			Message string `xml:"message,attr"`
			Type    string `xml:"type,attr"`
			Text    string `xml:",chardata"`
		} `xml:"failure"`
		Skipped *struct {
			Message string `xml:"message,attr"`
		} `xml:"skipped"`
		SystemOut *string `xml:"system-out"`
	} `xml:"testcase"`
}

// checkJUnit reads the whole document token by token (it must be
// well-formed), decodes it and checks the counts against the report.
func checkJUnit(t *testing.T, out string, r *check.Report) junitDoc {
	t.Helper()
	if !strings.HasPrefix(out, xml.Header) {
		t.Errorf("no XML declaration:\n%.100s", out)
	}
	dec := xml.NewDecoder(strings.NewReader(out))
	for {
		_, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed: %v", err)
		}
	}
	var doc junitDoc
	if err := xml.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Name != "preflight "+strings.ToLower(r.Kind) {
		t.Errorf("suite %q", doc.Name)
	}
	if len(doc.Cases) != len(r.Analyses)+len(r.Findings) || doc.Tests != len(doc.Cases) {
		t.Errorf("tests=%d, %d test cases, %d analyses and %d findings", doc.Tests, len(doc.Cases), len(r.Analyses), len(r.Findings))
	}
	failures, skipped := 0, 0
	for _, c := range doc.Cases {
		if c.Failure != nil {
			failures++
		}
		if c.Skipped != nil {
			skipped++
		}
	}
	want := 0
	for _, f := range r.Findings {
		if f.Severity == finding.Critical || f.Severity == finding.Unknown {
			want++
		}
	}
	if doc.Failures != failures || failures != want {
		t.Errorf("failures=%d, %d failure elements, %d critical or unknown findings", doc.Failures, failures, want)
	}
	want = 0
	for _, a := range r.Analyses {
		if !a.Ran {
			want++
		}
	}
	if doc.Skipped != skipped || skipped != want {
		t.Errorf("skipped=%d, %d skipped elements, %d analyses skipped", doc.Skipped, skipped, want)
	}
	for i, a := range r.Analyses {
		c := doc.Cases[i]
		if c.ClassName != "analysis" || c.Name != a.Name || (c.Skipped != nil) == a.Ran || c.Skipped != nil && c.Skipped.Message != a.Why {
			t.Errorf("test case %d: %+v for analysis %+v", i, c, a)
		}
	}
	for i, f := range r.Findings {
		c := doc.Cases[len(r.Analyses)+i]
		if c.Name != f.ID || f.Category != "" && c.ClassName != f.Category {
			t.Errorf("test case %s.%s for finding %s (%s)", c.ClassName, c.Name, f.ID, f.Category)
		}
		switch {
		case c.Failure != nil:
			if c.Failure.Message != xmlText(f.Message) || c.Failure.Type != string(f.Severity) {
				t.Errorf("failure %+v for finding %+v", c.Failure, f)
			}
			for _, l := range f.Evidence.Lines {
				if !strings.Contains(c.Failure.Text, xmlText(l)) {
					t.Errorf("failure of %s lacks the evidence %q", f.ID, l)
				}
			}
		case c.SystemOut == nil || !strings.Contains(*c.SystemOut, f.Message):
			t.Errorf("%s finding %s has no system-out with its message", f.Severity, f.ID)
		}
	}
	return doc
}

func TestJUnit(t *testing.T) {
	for _, name := range shopChanges {
		t.Run(name, func(t *testing.T) {
			r := shopReport(t, name)
			checkJUnit(t, render(t, JUnit, r), r)
		})
	}
	t.Run("characters XML cannot hold", func(t *testing.T) {
		pass := verdict.Decide(nil)
		r := &check.Report{Kind: "Check", Verdict: &pass,
			Analyses: []check.Analysis{{Name: "network", Why: `no "devices" & <none>`}},
			Findings: []finding.Finding{
				{ID: "a.b/<x>", Severity: finding.Critical, Message: "bad \x00 byte & \"quotes\"", Evidence: finding.Evidence{Lines: []string{"ends ]]> early", "bell \x07 and \xff"}}},
				{ID: "c/1", Severity: finding.Info, Message: "no category"},
			},
		}
		doc := checkJUnit(t, render(t, JUnit, r), r)
		if f := doc.Cases[1].Failure; f == nil || !strings.Contains(f.Text, "ends ]]> early") || !strings.Contains(f.Text, "bell \uFFFD and \uFFFD") || f.Message != "bad \uFFFD byte & \"quotes\"" {
			t.Errorf("failure %+v", f)
		}
		if c := doc.Cases[2]; c.ClassName != "c" {
			t.Errorf("a finding without a category has classname %q", c.ClassName)
		}
	})
}

// cells splits a Markdown table row at its unescaped pipes.
func cells(row string) []string {
	var out []string
	var cur strings.Builder
	for i := 0; i < len(row); i++ {
		switch {
		case row[i] == '\\' && i+1 < len(row):
			cur.WriteByte(row[i])
			cur.WriteByte(row[i+1])
			i++
		case row[i] == '|':
			out = append(out, strings.TrimSpace(cur.String()))
			cur.Reset()
		default:
			cur.WriteByte(row[i])
		}
	}
	return out[1:] // before the first pipe
}

func TestMarkdownEscaping(t *testing.T) {
	block := verdict.Decide([]finding.Finding{{Severity: finding.Critical}})
	r := &check.Report{APIVersion: check.APIVersion, Kind: "Check", Twin: "tw", Verdict: &block,
		Change: check.ChangeSummary{Title: "# not a *heading*", Reason: "1. not a list"},
		Findings: []finding.Finding{{
			ID: "cat.x/a|b`c", Severity: finding.Critical,
			Message:  "a | b <script> *bold* _it_ [link](x) `code` & ~strike~ \\ back\nline",
			Objects:  []finding.Object{{Kind: "Zone", Name: "z|1", Pos: twin.Pos{File: "a|b.yaml", Line: 7, Col: 3}}},
			Evidence: finding.Evidence{Lines: []string{"```", "x < y | z"}},
		}},
		Analyses: []check.Analysis{{Name: "net|work", Why: "a | b"}},
	}
	out := render(t, Markdown, r)
	lines := strings.Split(out, "\n")
	if want := "**BLOCK** — 1 critical finding(s)"; lines[0] != want {
		t.Errorf("line 1 = %q, want %q", lines[0], want)
	}
	var row string
	for _, l := range lines {
		if strings.HasPrefix(l, "| CRITICAL |") {
			row = l
		}
	}
	want := []string{
		"CRITICAL",
		"``cat.x/a\\|b`c``",
		"a \\| b \\<script\\> \\*bold\\* \\_it\\_ \\[link\\](x) \\`code\\` \\& \\~strike\\~ \\\\ back line",
		"`a\\|b.yaml:7`",
	}
	if got := cells(row); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("table row %q\ncells %q\nwant  %q", row, got, want)
	}
	for _, s := range []string{
		"\n**\\# not a \\*heading\\***\n",
		"\n- reason: 1\\. not a list\n",
		"<details><summary>CRITICAL cat.x/a|b`c</summary>\n\na \\| b \\<script\\>",
		"- Zone z\\|1 at `a|b.yaml:7:3`\n",
		"\n````text\n```\nx < y | z\n````\n",
		"| net\\|work | skipped: a \\| b |\n",
		"\n---\n<sub>preflight check · apiVersion `preflight/v1`</sub>\n",
	} {
		if !strings.Contains(out, s) {
			t.Errorf("Markdown lacks %q:\n%s", s, out)
		}
	}
	if strings.Contains(out, "<script>") {
		t.Error("HTML is not escaped")
	}
}

func TestMarkdownParts(t *testing.T) {
	plan := &check.Report{APIVersion: check.APIVersion, Kind: "Plan", Twin: "tw", BlastRadius: &change.Result{}}
	out := render(t, Markdown, plan)
	for _, s := range []string{"**PLAN** — 0 finding(s), no verdict\n", "\n**(untitled change)**\n", "- blast radius: 0 object(s) touched · no service capacity affected\n", "\n### Findings: none\n"} {
		if !strings.Contains(out, s) {
			t.Errorf("plan lacks %q:\n%s", s, out)
		}
	}
	for _, s := range []string{"Analyses", "<details>"} {
		if strings.Contains(out, s) {
			t.Errorf("plan has %q:\n%s", s, out)
		}
	}
	svc := func(name string, share float64) change.ServiceImpact {
		return change.ServiceImpact{Service: name, Total: change.ScopeImpact{Share: share}}
	}
	res := &change.Result{Touched: make([]change.Touched, 3), Services: []change.ServiceImpact{svc("a", 0.1), svc("b", 0.5), svc("c", 0.1), svc("d", 0.2), svc("e", 0.3), svc("f", 0.05), svc("g", 0.01)}}
	if got, want := blastLine(res), "3 object(s) touched · 7 service(s) affected, share of total capacity: b 50%, e 30%, d 20%, a 10%, c 10%, 2 more"; got != want {
		t.Errorf("blast line %q, want %q", got, want)
	}
}

// TestMarkdownLimit checks that a report too long for a comment keeps its
// head and tail and leaves out details, saying so.
func TestMarkdownLimit(t *testing.T) {
	long := strings.Repeat("evidence ", 25)
	var fs []finding.Finding
	for i := range 300 {
		var lines []string
		for range 50 {
			lines = append(lines, long)
		}
		fs = append(fs, finding.Finding{ID: fmt.Sprintf("c.k/%03d", i), Severity: finding.Critical, Message: strings.Repeat("m", 400), Evidence: finding.Evidence{Lines: lines}})
	}
	v := verdict.Decide(fs)
	r := &check.Report{APIVersion: check.APIVersion, Kind: "Check", Verdict: &v, Findings: fs, Analyses: []check.Analysis{{Name: "capacity", Ran: true, Findings: 300}}}
	out := render(t, Markdown, r)
	if len(out) > commentLimit {
		t.Errorf("%d bytes, over GitHub's limit %d", len(out), commentLimit)
	}
	shown := strings.Count(out, "<details>")
	if shown == 0 || shown == len(fs) {
		t.Errorf("%d of %d details shown", shown, len(fs))
	}
	for _, s := range []string{
		fmt.Sprintf("\n_The details of %d more finding(s) are left out", len(fs)-shown),
		"\n… and 275 more, in the details below",
		"| capacity | ran, 300 finding(s) |",
		"mmm…",
		"… and 10 more line(s) (see --format json)",
		"<sub>preflight check · apiVersion `preflight/v1`</sub>\n",
	} {
		if !strings.Contains(out, s) {
			t.Errorf("Markdown lacks %q", s)
		}
	}
	if n := strings.Count(out, "\n| CRITICAL |"); n != mdTableRows {
		t.Errorf("%d table rows, want %d", n, mdTableRows)
	}
}
