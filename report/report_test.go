package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/preflight-sh/preflight/change"
	"github.com/preflight-sh/preflight/check"
	"github.com/preflight-sh/preflight/finding"
	"github.com/preflight-sh/preflight/twin"
	"github.com/preflight-sh/preflight/verdict"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// The small twin and change the full reports are made from: service web
// with floors and a peak demand, in two regions, and a blast-radius limit.
var twinFiles = map[string]string{
	"places.yaml": `kind: Region
name: r1
---
kind: Region
name: r2
---
kind: Zone
name: r1-a
region: r1
---
kind: Zone
name: r1-b
region: r1
---
kind: Zone
name: r2-a
region: r2
`,
	"services.yaml": `kind: Service
name: web
instanceCapacity: 100rps
floors:
  total: {instances: 4}
  perZone: {instances: 1}
---
kind: Instance
name: web-1
service: web
zone: r1-a
---
kind: Instance
name: web-2
service: web
zone: r1-a
---
kind: Instance
name: web-3
service: web
zone: r1-b
---
kind: Instance
name: web-4
service: web
zone: r2-a
---
kind: Demand
name: users
service: web
origins:
  - region: r1
    peak: 150rps
`,
	"limits.yaml": `kind: BlastRadiusLimit
name: zone-limit
maxSharePerZone: 50%
`,
}

const changeFile = `title: Drain r1-b for a rack swap
author: alice
ticket: OPS-42
reason: the rack in r1-b is replaced
operations:
  - op: set
    kind: Instance
    name: web-1
    fields:
      labels.canary: "yes"
commands:
  - drain zone r1-b
  - remove instances service=web zone=r2-a count=1
`

// run builds the twin, parses the change and runs the check.
func run(t *testing.T) *check.Report {
	t.Helper()
	files := map[string][]byte{}
	for name, text := range twinFiles {
		files[name] = []byte(text)
	}
	s, err := twin.LoadFiles(files)
	if err != nil {
		t.Fatalf("twin: %v", err)
	}
	cs, err := change.ParseFile("change.yaml", []byte(changeFile))
	if err != nil {
		t.Fatalf("change: %v", err)
	}
	r, err := check.Run("test-twin", s, cs, check.Options{})
	if err != nil {
		t.Fatalf("check.Run: %v", err)
	}
	return r
}

func text(t *testing.T, r *check.Report, st Style) string {
	t.Helper()
	var b bytes.Buffer
	if err := Text(&b, r, st); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// testdata is the directory of the golden files, absolute so that tests
// may change directory.
var testdata, _ = filepath.Abs("testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join(testdata, name)
	if *update {
		if err := os.MkdirAll(testdata, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./report -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test ./report -update rewrites it):\n%s", path, lineDiff(string(want), got))
	}
}

// lineDiff shows the first lines where want and got differ.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < max(len(w), len(g)) && shown < 10; i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n  want %q\n  got  %q\n", i+1, wl, gl)
			shown++
		}
	}
	return b.String()
}

func TestTextGolden(t *testing.T) {
	golden(t, "check.txt", text(t, run(t), Style{}))
}

// TestTextSections checks the full report's layout without the golden
// file: what comes first, and what each section holds.
func TestTextSections(t *testing.T) {
	r := run(t)
	out := text(t, r, Style{})
	lines := strings.Split(out, "\n")
	if want := "preflight check: Drain r1-b for a rack swap"; lines[0] != want {
		t.Errorf("line 1 = %q, want %q", lines[0], want)
	}
	if want := "  source change.yaml · author alice · ticket OPS-42 · twin test-twin"; lines[1] != want {
		t.Errorf("line 2 = %q, want %q", lines[1], want)
	}
	// The verdict comes before every section.
	order := []string{"\nVerdict: BLOCK — ", "\nFindings (", "\nOperations (3)\n", "\nBlast radius: 3 object(s) touched\n", "\nSelectors\n", "\nCapacity affected\n", "\nAnalyses\n"}
	last := -1
	for _, s := range order {
		i := strings.Index(out, s)
		if i < 0 {
			t.Errorf("no %q in the report", s)
			continue
		}
		if i < last {
			t.Errorf("%q comes before the section above it", s)
		}
		last = i
	}
	for _, want := range []string{
		"  reason: the rack in r1-b is replaced\n",
		// Findings: severity, message, id, position, evidence.
		"  CRITICAL service web falls below its instances floor in total: 2 serving, the floor is 4\n",
		"    id capacity.floor/web/total=total/instances\n",
		"    at services.yaml:5:10 (Service web)\n",
		"    · web in total: 2 serving < floor 4 (floors.total)\n",
		"  CRITICAL the change affects more than 50% of the capacity of 1 service(s) in zone r1-b (limit zone-limit): web\n",
		// Operations, with their fields and commands.
		"  1. set Instance web-1: labels.canary=yes\n",
		"  2. set Zone r1-b: state=drained   [drain zone r1-b]\n",
		"  3. remove Instance selector service=web,zone=r2-a count=1   [remove instances service=web zone=r2-a count=1]\n",
		// Blast radius with field changes and positions.
		"  ~ Zone r1-b  places.yaml:",
		"      state: (none) → drained\n",
		"  - Instance web-4  services.yaml:",
		"  operation 3: Instance service=web,zone=r2-a matched 1, count=1 chose 1: web-4\n",
		// Analyses, the skipped one with its reason.
		"  selectors  ran, ",
		"  capacity   ran, ",
		"  network    skipped: the twin has no network devices\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if n := strings.Count(out, "\n  CRITICAL "); n != r.Verdict.Counts["critical"] {
		t.Errorf("%d CRITICAL lines, verdict counts %d", n, r.Verdict.Counts["critical"])
	}
	if strings.Contains(out, "\x1b") {
		t.Error("colour codes without Style.Color")
	}
}

func TestTextColor(t *testing.T) {
	r := run(t)
	out := text(t, r, Style{Color: true})
	for _, want := range []string{
		"\x1b[1mpreflight check:\x1b[0m Drain r1-b",
		"\nVerdict: \x1b[1;31mBLOCK\x1b[0m — ",
		"  \x1b[1;31mCRITICAL\x1b[0m service web",
		"    \x1b[2mid capacity.floor/web/total=total/instances\x1b[0m\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("coloured report lacks %q", want)
		}
	}
	// Without the codes it is the plain report.
	plain := text(t, r, Style{})
	if stripped := stripANSI(out); stripped != plain {
		t.Errorf("coloured report differs from the plain one by more than colour:\n%s", lineDiff(plain, stripped))
	}
}

func stripANSI(s string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, "\x1b[")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		s = s[i:]
		j := strings.IndexByte(s, 'm')
		if j < 0 {
			b.WriteString(s)
			return b.String()
		}
		s = s[j+1:]
	}
}

func TestStyleLabels(t *testing.T) {
	cases := []struct {
		got, plain, color string
	}{
		{string(finding.Critical), "CRITICAL", "\x1b[1;31mCRITICAL\x1b[0m"},
		{string(finding.Unknown), "UNKNOWN", "\x1b[1;35mUNKNOWN\x1b[0m"},
		{string(finding.Warning), "WARNING", "\x1b[1;33mWARNING\x1b[0m"},
		{string(finding.Info), "INFO", "\x1b[36mINFO\x1b[0m"},
	}
	for _, c := range cases {
		sev := finding.Severity(c.got)
		if got := (Style{}).severity(sev); got != c.plain {
			t.Errorf("severity(%s) = %q, want %q", sev, got, c.plain)
		}
		if got := (Style{Color: true}).severity(sev); got != c.color {
			t.Errorf("coloured severity(%s) = %q, want %q", sev, got, c.color)
		}
	}
	decisions := []struct {
		d            verdict.Decision
		plain, color string
	}{
		{verdict.Block, "BLOCK", "\x1b[1;31mBLOCK\x1b[0m"},
		{verdict.Unknown, "UNKNOWN", "\x1b[1;35mUNKNOWN\x1b[0m"},
		{verdict.Warn, "WARN", "\x1b[1;33mWARN\x1b[0m"},
		{verdict.Pass, "PASS", "\x1b[1;32mPASS\x1b[0m"},
	}
	for _, c := range decisions {
		if got := (Style{}).decision(c.d); got != c.plain {
			t.Errorf("decision(%s) = %q, want %q", c.d, got, c.plain)
		}
		if got := (Style{Color: true}).decision(c.d); got != c.color {
			t.Errorf("coloured decision(%s) = %q, want %q", c.d, got, c.color)
		}
	}
}

func value(t *testing.T, text string) change.Value {
	t.Helper()
	v, err := change.ParseValue("test", text)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestTextParts renders hand-built reports, one feature each.
func TestTextParts(t *testing.T) {
	pos := twin.Pos{File: "t.yaml", Line: 3, Col: 1}
	many := make([]change.Touched, 45)
	for i := range many {
		many[i] = change.Touched{Kind: "Instance", Name: fmt.Sprintf("i-%02d", i), Action: "removed", Pos: pos}
	}
	var chosen []string
	for i := range 10 {
		chosen = append(chosen, fmt.Sprintf("h%d", i))
	}
	pass := verdict.Decide(nil)
	cases := []struct {
		name    string
		r       check.Report
		want    []string
		notWant []string
	}{
		{
			name:    "a plan has no verdict or analyses",
			r:       check.Report{Kind: "Plan", Twin: "tw", BlastRadius: &change.Result{}},
			want:    []string{"preflight plan: (untitled change)\n  twin tw\n", "\nFindings: none\n", "\nOperations (0)\n", "\nBlast radius: 0 object(s) touched\n"},
			notWant: []string{"Verdict", "Analyses", "reason:", "Selectors", "Capacity affected"},
		},
		{
			name: "a passing check",
			r: check.Report{Kind: "Check", Twin: "tw", BlastRadius: &change.Result{}, Verdict: &pass,
				Analyses: []check.Analysis{{Name: "capacity", Ran: true}, {Name: "network", Ran: true, Findings: 2, Why: "partial"}, {Name: "other", Why: "not needed"}}},
			want: []string{
				"\nVerdict: PASS — no findings above info\n",
				"  capacity   ran, 0 finding(s)\n",
				"  network    ran, 2 finding(s); partial\n",
				"  other      skipped: not needed\n",
			},
		},
		{
			name: "findings of every severity, with positions and evidence",
			r: check.Report{Kind: "Check", BlastRadius: &change.Result{}, Findings: []finding.Finding{
				{ID: "a/1", Severity: finding.Unknown, Message: "not decided", Objects: []finding.Object{{Kind: "Change", Name: "c", Pos: pos}}, Evidence: finding.Evidence{Lines: []string{"why"}}},
				{ID: "b/2", Severity: finding.Warning, Message: "careful", Objects: []finding.Object{{Kind: "Zone", Name: "z", Pos: twin.Pos{File: "p.yaml"}}}},
				{ID: "c/3", Severity: finding.Info, Message: "fyi"},
			}},
			want: []string{
				"\nFindings (3)\n  UNKNOWN not decided\n    id a/1\n    at t.yaml:3:1 (Change c)\n    · why\n",
				"  WARNING careful\n    id b/2\n    at p.yaml (Zone z)\n",
				"  INFO fyi\n    id c/3\n",
			},
		},
		{
			name: "operations of every kind",
			r: check.Report{Kind: "Plan", BlastRadius: &change.Result{}, Operations: []change.Operation{
				{Op: change.OpAdd, Kind: "Instance", Object: &change.Value{}},
				{Op: change.OpRemove, Kind: "Instance", Selector: change.Selector{{Key: "zone", Value: "z1"}, {Key: "role", Not: true, Value: "db"}}, Count: 2},
				{Op: change.OpRemove, Kind: "LoadBalancer", Name: "lb", Path: "targets[a]"},
				{Op: change.OpSet, Kind: "Service", Name: "api", Fields: []change.FieldSet{{Path: "autoscaling.min", Value: value(t, "3")}, {Path: "owners", Value: value(t, "[a, b]")}}, Command: "scale service=api min=3"},
				{Op: change.OpPatch, Kind: "Service", Selector: change.Selector{{Key: "tier", Value: "web"}}},
			}},
			want: []string{
				"\nOperations (5)\n",
				"  1. add Instance\n",
				"  2. remove Instance selector zone=z1,role!=db count=2\n",
				"  3. remove LoadBalancer lb path targets[a]\n",
				"  4. set Service api: autoscaling.min=3, owners=[a, b]   [scale service=api min=3]\n",
				"  5. patch Service selector tier=web\n",
			},
		},
		{
			name: "a long blast radius is cut at 40 objects",
			r:    check.Report{Kind: "Plan", BlastRadius: &change.Result{Touched: many}},
			want: []string{
				"\nBlast radius: 45 object(s) touched\n",
				"  - Instance i-00  t.yaml:3:1\n",
				"  - Instance i-39  t.yaml:3:1\n  … and 5 more (see --format json)\n",
			},
			notWant: []string{"i-40"},
		},
		{
			name: "touched objects with their changes",
			r: check.Report{Kind: "Plan", BlastRadius: &change.Result{Touched: []change.Touched{
				{Kind: "Zone", Name: "z", Action: "modified", Pos: pos, Changes: []change.FieldChange{{Path: "state", Before: "", After: "down"}, {Path: "labels.x", Before: "y", After: ""}}},
				{Kind: "Instance", Name: "n", Action: "added", Pos: pos},
			}}},
			want: []string{
				"  ~ Zone z  t.yaml:3:1\n      state: (none) → down\n      labels.x: y → (none)\n",
				"  + Instance n  t.yaml:3:1\n",
			},
		},
		{
			name: "selectors list at most eight names",
			r: check.Report{Kind: "Plan", BlastRadius: &change.Result{Selections: []change.Selection{
				{Op: 1, Kind: "Instance", Selector: "zone=z", Matched: chosen, Chosen: chosen},
				{Op: 2, Kind: "Instance", Selector: "zone=y", Count: 2, Matched: chosen[:5], Chosen: chosen[:2]},
				{Op: 3, Kind: "Instance", Selector: "zone=x", Matched: chosen[:9], Chosen: chosen[:9]},
				{Op: 4, Kind: "Instance", Selector: "zone=w", Matched: chosen[:8], Chosen: chosen[:8]},
			}}},
			want: []string{
				"\nSelectors\n  operation 1: Instance zone=z matched 10: h0, h1, h2, h3, h4, h5, h6, h7, … (10 in all)\n",
				"  operation 2: Instance zone=y matched 5, count=2 chose 2: h0, h1\n",
				"  operation 3: Instance zone=x matched 9: h0, h1, h2, h3, h4, h5, h6, h7, … (9 in all)\n",
				"  operation 4: Instance zone=w matched 8: h0, h1, h2, h3, h4, h5, h6, h7\n",
			},
		},
		{
			name: "capacity affected shows the total and the scopes that changed",
			r: check.Report{Kind: "Plan", BlastRadius: &change.Result{Services: []change.ServiceImpact{{
				Service: "web",
				Total:   change.ScopeImpact{Name: "total", CapacityBefore: 3000, CapacityAfter: 2000, InstancesBefore: 3, InstancesAfter: 2, Affected: 1000, Share: 1.0 / 3},
				Regions: []change.ScopeImpact{{Name: "r1", CapacityBefore: 2000, CapacityAfter: 1000, InstancesBefore: 2, InstancesAfter: 1, Affected: 1000, Share: 0.5}, {Name: "r2", CapacityBefore: 1000, CapacityAfter: 1000, InstancesBefore: 1, InstancesAfter: 1}},
				Zones:   []change.ScopeImpact{{Name: "r1-a", CapacityBefore: 1000, InstancesBefore: 1, Affected: 1000, Share: 1}},
			}}}},
			want: []string{
				"\nCapacity affected\n  service      scope                  before        after  instances  affected\n",
				"  web          total                   3krps        2krps        3→2     33.3%\n",
				"               r1                      2krps        1krps        2→1       50%\n",
				"               r1-a                    1krps         0rps        1→0      100%\n",
			},
			notWant: []string{" r2 "},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := text(t, &c.r, Style{})
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("report lacks %q; it is:\n%s", w, out)
				}
			}
			for _, w := range c.notWant {
				if strings.Contains(out, w) {
					t.Errorf("report has %q; it is:\n%s", w, out)
				}
			}
		})
	}
}

func TestJSON(t *testing.T) {
	r := run(t)
	var b bytes.Buffer
	if err := JSON(&b, r); err != nil {
		t.Fatal(err)
	}
	if !json.Valid(b.Bytes()) {
		t.Fatalf("invalid JSON:\n%s", b.String())
	}
	var doc struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Twin       string `json:"twin"`
		Change     struct {
			Title  string `json:"title"`
			Source string `json:"source"`
		} `json:"change"`
		Verdict struct {
			Decision string         `json:"decision"`
			Counts   map[string]int `json:"counts"`
		} `json:"verdict"`
		Findings []struct {
			ID       string `json:"id"`
			Severity string `json:"severity"`
			Objects  []struct {
				Pos struct {
					File string `json:"file"`
					Line int    `json:"line"`
				} `json:"pos"`
			} `json:"objects"`
		} `json:"findings"`
		Operations []struct {
			Op     string `json:"op"`
			Fields []struct {
				Path  string `json:"path"`
				Value any    `json:"value"`
			} `json:"fields"`
		} `json:"operations"`
		BlastRadius struct {
			Touched []struct {
				Kind, Name, Action string
			} `json:"touched"`
		} `json:"blastRadius"`
		Analyses []struct {
			Name string `json:"name"`
			Ran  bool   `json:"ran"`
			Why  string `json:"why"`
		} `json:"analyses"`
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.APIVersion != "preflight/v1" || doc.Kind != "Check" || doc.Twin != "test-twin" {
		t.Errorf("apiVersion %q kind %q twin %q", doc.APIVersion, doc.Kind, doc.Twin)
	}
	if doc.Change.Title != "Drain r1-b for a rack swap" || doc.Change.Source != "change.yaml" {
		t.Errorf("change %+v", doc.Change)
	}
	if doc.Verdict.Decision != "block" || doc.Verdict.Counts["critical"] == 0 {
		t.Errorf("verdict %+v", doc.Verdict)
	}
	if len(doc.Findings) != len(r.Findings) {
		t.Errorf("%d findings in JSON, %d in the report", len(doc.Findings), len(r.Findings))
	}
	for _, f := range doc.Findings {
		if f.ID == "" || f.Severity == "" || len(f.Objects) == 0 || f.Objects[0].Pos.File == "" {
			t.Errorf("finding %+v lacks id, severity or a positioned object", f)
		}
	}
	if len(doc.Operations) != 3 || doc.Operations[0].Fields[0].Path != "labels.canary" || doc.Operations[0].Fields[0].Value != "yes" {
		t.Errorf("operations %+v", doc.Operations)
	}
	if len(doc.BlastRadius.Touched) != 3 {
		t.Errorf("touched %+v", doc.BlastRadius.Touched)
	}
	if len(doc.Analyses) != 7 || doc.Analyses[3].Name != "network" || doc.Analyses[3].Ran || doc.Analyses[3].Why == "" || doc.Analyses[4].Name != "simulation" || !doc.Analyses[4].Ran {
		t.Errorf("analyses %+v", doc.Analyses)
	}
	if strings.Contains(b.String(), `\u003c`) || !strings.Contains(b.String(), " < floor") || !strings.HasSuffix(b.String(), "}\n") || !strings.Contains(b.String(), "\n  \"apiVersion\"") {
		t.Errorf("JSON is not indented with HTML left unescaped:\n%.200s", b.String())
	}
}
