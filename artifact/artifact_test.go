package artifact

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/preflight-sh/preflight/change"
	"github.com/preflight-sh/preflight/finding"
	"github.com/preflight-sh/preflight/twin"
)

// testTwin declares one artifact per format, with limits and recorded
// sizes and rows.
const testTwin = `kind: Service
name: edge
instanceCapacity: 1krps
---
kind: Artifact
name: bot-features
consumer: edge
format: lines
size: 8KiB
rows: 200
limits: {maxRows: 200, maxSize: 64KiB, requiredFields: [name, type, weight]}
---
kind: Artifact
name: blocklist
consumer: edge
format: lines
size: 100B
rows: 10
limits: {maxRows: 100, maxSize: 1KiB}
---
kind: Artifact
name: routes
consumer: edge
format: csv
rows: 3
limits: {maxRows: 10, maxSize: 1KiB, requiredFields: [prefix, action]}
---
kind: Artifact
name: waf-rules
consumer: edge
format: json
rows: 4
limits: {maxRows: 10, requiredFields: [id, action]}
---
kind: Artifact
name: feature-flags
consumer: edge
format: yaml
rows: 3
limits: {maxRows: 10, requiredFields: [key, default]}
---
kind: Artifact
name: untyped
consumer: edge
`

func loadTwin(t *testing.T, src string) *twin.Snapshot {
	t.Helper()
	objs, errs := twin.Parse("twin.yaml", []byte(src))
	if len(errs) > 0 {
		t.Fatalf("test twin: %v", errs)
	}
	s := twin.NewSnapshot(objs)
	if errs := twin.Validate(s); len(errs) > 0 {
		t.Fatalf("test twin: %v", errs)
	}
	return s
}

// fakeFS serves files by their resolved path.
type fakeFS map[string]string

func (f fakeFS) read(path string) ([]byte, error) {
	s, ok := f[path]
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: path, Err: fs.ErrNotExist}
	}
	return []byte(s), nil
}

// run applies a change file (written at changes/c.yaml) to the test twin
// and checks its artifacts, reading files (paths relative to changes/).
func run(t *testing.T, changeSrc string, files map[string]string) []finding.Finding {
	t.Helper()
	cs, err := change.ParseFile(filepath.Join("changes", "c.yaml"), []byte(changeSrc))
	if err != nil {
		t.Fatalf("change file: %v", err)
	}
	res, err := change.Apply(loadTwin(t, testTwin), cs)
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	f := fakeFS{}
	for p, s := range files {
		f[filepath.Join("changes", p)] = s
	}
	fs, err := Check(res, f.read)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	return fs
}

// ship is a change file shipping one file as one artifact.
func ship(name, file string) string {
	return fmt.Sprintf("title: ship %s\nartifacts:\n  - name: %s\n    file: %s\n", name, name, file)
}

// want is one expected finding: its ID, severity, and substrings of its
// message and evidence lines.
type want struct {
	id   string
	sev  finding.Severity
	text []string
}

func checkFindings(t *testing.T, got []finding.Finding, wants []want) {
	t.Helper()
	var gotIDs, wantIDs []string
	for _, f := range got {
		gotIDs = append(gotIDs, string(f.Severity)+" "+f.ID)
	}
	for _, w := range wants {
		wantIDs = append(wantIDs, string(w.sev)+" "+w.id)
	}
	slices.Sort(gotIDs)
	slices.Sort(wantIDs)
	if !slices.Equal(gotIDs, wantIDs) {
		t.Errorf("findings:\n  got  %q\n  want %q\n%s", gotIDs, wantIDs, dump(got))
		return
	}
	for _, w := range wants {
		i := slices.IndexFunc(got, func(f finding.Finding) bool { return f.ID == w.id })
		f := got[i]
		all := f.Message + "\n" + strings.Join(f.Evidence.Lines, "\n")
		for _, s := range w.text {
			if !strings.Contains(all, s) {
				t.Errorf("%s lacks %q:\n%s", w.id, s, all)
			}
		}
		if f.Category != "artifact" {
			t.Errorf("%s: category %q", w.id, f.Category)
		}
		if len(f.Objects) == 0 || f.Objects[len(f.Objects)-1].Kind != "Change" || f.Objects[len(f.Objects)-1].Pos.File != filepath.Join("changes", "c.yaml") || f.Objects[len(f.Objects)-1].Pos.Line < 1 {
			t.Errorf("%s: no change-file object with a position: %+v", w.id, f.Objects)
		}
		if !strings.HasPrefix(w.id, "artifact.unknown/") && (len(f.Objects) != 2 || f.Objects[0].Kind != "Artifact" || f.Objects[0].Pos.Line < 1) {
			t.Errorf("%s: no Artifact object with a position: %+v", w.id, f.Objects)
		}
	}
}

func dump(fs []finding.Finding) string {
	var b strings.Builder
	for _, f := range fs {
		fmt.Fprintf(&b, "  %s %s: %s\n", f.Severity, f.ID, f.Message)
		for _, l := range f.Evidence.Lines {
			fmt.Fprintf(&b, "      %s\n", l)
		}
	}
	return b.String()
}

// featureLines returns n feature lines "feature_i,float,0.5" for i from
// first.
func featureLines(first, n int) string {
	var b strings.Builder
	for i := first; i < first+n; i++ {
		fmt.Fprintf(&b, "feature_%d,float,0.%d\n", i, i%10)
	}
	return b.String()
}

// TestCloudflareFeatureFile is the shape of Cloudflare's outage of
// 18 November 2025: the bot-management feature file doubled (every feature
// twice) past the proxy's hard limit of 200 features.
func TestCloudflareFeatureFile(t *testing.T) {
	doubled := featureLines(0, 200) + featureLines(0, 200)
	got := run(t, ship("bot-features", "features.txt"), map[string]string{"features.txt": doubled})
	checkFindings(t, got, []want{
		{"artifact.rows/bot-features", finding.Critical, []string{
			"has 400 rows, over the 200 its consumer edge accepts",
			"rows 400, limit 200, was 200 (+100%)",
		}},
		{"artifact.duplicates/bot-features", finding.Critical, []string{
			"has 200 duplicate rows, which its consumer edge loads as separate entries",
			"200 of 400 rows are duplicates (200 identical to an earlier row, 0 repeating the name of an earlier row)",
			"changes/features.txt:201 repeats line 1: feature_0,float,0.0",
			"… 195 more",
		}},
	})
	i := slices.IndexFunc(got, func(f finding.Finding) bool { return f.ID == "artifact.rows/bot-features" })
	figs := map[string]float64{}
	for _, fg := range got[i].Evidence.Figures {
		figs[fg.Name] = fg.Value
	}
	if figs["rows"] != 400 || figs["maxRows"] != 200 || figs["recorded rows"] != 200 {
		t.Errorf("rows figures %v", got[i].Evidence.Figures)
	}
	if o := got[i].Objects[0]; o.Name != "bot-features" || o.Pos.Line != 11 {
		t.Errorf("rows finding points at %+v, want the artifact's limits (twin.yaml:11)", o)
	}
	if o := got[i].Objects[1]; o.Name != "features.txt" || o.Pos.String() != filepath.Join("changes", "c.yaml")+":3:5" {
		t.Errorf("rows finding points at %+v, want the artifacts: entry (changes/c.yaml:3:5)", o)
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name   string
		change string // the change file; default ships art as file
		art    string
		file   string
		body   string
		want   []want
	}{
		// lines
		{name: "lines ok", art: "bot-features", file: "f.txt", body: featureLines(0, 199) + "\n\n"},
		{name: "lines crlf and blank lines", art: "bot-features", file: "f.txt", body: "a,float,1\r\n\r\n  \r\nb,float,2\r\n"},
		{name: "lines growth", art: "blocklist", file: "b.txt", body: lines("host", 16), want: []want{
			{"artifact.growth/blocklist", finding.Warning, []string{"grew by more than 50% over what the twin records (rows 16, limit 100, was 10 (+60%))", "rows 16, limit 100, was 10 (+60%)"}},
		}},
		{name: "lines growth of half is fine", art: "blocklist", file: "b.txt", body: lines("host", 15)},
		{name: "lines size growth", art: "blocklist", file: "b.txt", body: lines(strings.Repeat("h", 20), 8), want: []want{
			{"artifact.growth/blocklist", finding.Warning, []string{"size 184B, limit 1KiB, was 100B (+84%)"}},
		}},
		{name: "lines over size", art: "blocklist", file: "b.txt", body: lines(strings.Repeat("h", 200), 10), want: []want{
			{"artifact.size/blocklist", finding.Critical, []string{
				"is 2.0KiB (2030B), over the 1KiB its consumer edge accepts",
				"size 2.0KiB (2030B), limit 1KiB, was 100B (+1930%)",
				"consumer: edge",
			}},
		}},
		{name: "lines missing and empty fields", art: "bot-features", file: "f.txt", body: "a,float,1\nb,float\nc,,0.3\n ,float,2\n", want: []want{
			{"artifact.required-field/bot-features", finding.Critical, []string{
				"lacks required field weight, which its consumer edge needs",
				`field "weight" (field 3 of each line): missing in 1 of 4 rows: changes/f.txt line 2`,
			}},
			{"artifact.empty-field/bot-features", finding.Critical, []string{
				"leaves required fields name, type empty, which its consumer edge needs",
				`field "name" (field 1 of each line): empty in 1 of 4 rows: changes/f.txt line 4`,
				`field "type" (field 2 of each line): empty in 1 of 4 rows: changes/f.txt line 3`,
			}},
		}},
		{name: "lines tab separated", art: "bot-features", file: "f.txt", body: "a\tfloat\t1\nb\tfloat\n", want: []want{
			{"artifact.required-field/bot-features", finding.Critical, []string{"missing in 1 of 2 rows: changes/f.txt line 2"}},
		}},
		{name: "lines space separated", art: "bot-features", file: "f.txt", body: "a  float 1\nb float\n", want: []want{
			{"artifact.required-field/bot-features", finding.Critical, []string{"missing in 1 of 2 rows: changes/f.txt line 2"}},
		}},
		{name: "lines duplicate key", art: "bot-features", file: "f.txt", body: "a,float,1\nb,float,1\na,int,2\n", want: []want{
			{"artifact.duplicates/bot-features", finding.Critical, []string{
				"1 of 3 rows are duplicates (0 identical to an earlier row, 1 repeating the name of an earlier row)",
				`changes/f.txt:3 has name "a", as line 1 does: a,int,2`,
			}},
		}},
		{name: "lines identical up to surrounding space", art: "blocklist", file: "b.txt", body: "a\n  a \nb\n", want: []want{
			{"artifact.duplicates/blocklist", finding.Critical, []string{"changes/b.txt:2 repeats line 1: a"}},
		}},
		{name: "lines NUL byte", art: "blocklist", file: "b.txt", body: "a\nb\x00c\n", want: []want{
			{"artifact.parse/blocklist", finding.Critical, []string{"does not parse as lines: changes/b.txt:2: a NUL byte at column 2"}},
		}},
		{name: "lines many missing", art: "bot-features", file: "f.txt", body: lines("x", 9), want: []want{
			{"artifact.required-field/bot-features", finding.Critical, []string{
				"lacks required fields type, weight",
				`field "type" (field 2 of each line): missing in 9 of 9 rows: changes/f.txt lines 1, 2, 3, 4, 5 (and 4 more)`,
			}},
		}},
		// csv
		{name: "csv ok", art: "routes", file: "r.csv", body: "prefix,action,note\n10.0.0.0/8,permit,\n10.1.0.0/16,deny,\"a, b\"\n"},
		{name: "csv byte order mark and spaced header", art: "routes", file: "r.csv", body: "\ufeff prefix , action\n10.0.0.0/8,permit\n"},
		{name: "csv header lacks a column", art: "routes", file: "r.csv", body: "prefix,verdict\n10.0.0.0/8,permit\n", want: []want{
			{"artifact.required-field/routes", finding.Critical, []string{
				"lacks required field action",
				`changes/r.csv:1: the header has no column "action" (its columns: prefix, verdict)`,
			}},
		}},
		{name: "csv empty file", art: "routes", file: "r.csv", body: "", want: []want{
			{"artifact.required-field/routes", finding.Critical, []string{"changes/r.csv is empty: no header names the columns prefix, action"}},
		}},
		{name: "csv empty values", art: "routes", file: "r.csv", body: "prefix,action\n10.0.0.0/8,permit\n10.1.0.0/16, \n,deny\n10.2.0.0/16,\n", want: []want{
			{"artifact.empty-field/routes", finding.Critical, []string{
				`field "prefix": empty in 1 of 4 rows: changes/r.csv line 4`,
				`field "action": empty in 2 of 4 rows: changes/r.csv lines 3, 5`,
			}},
		}},
		{name: "csv identical records", art: "routes", file: "r.csv", body: "prefix,action\n10.0.0.0/8,permit\n10.1.0.0/16,deny\n10.0.0.0/8,permit\n", want: []want{
			{"artifact.duplicates/routes", finding.Critical, []string{"changes/r.csv:4 repeats line 2: 10.0.0.0/8,permit"}},
		}},
		{name: "csv duplicate key", art: "routes", file: "r.csv", body: "prefix,action\n10.0.0.0/8,permit\n10.0.0.0/8,deny\n", want: []want{
			{"artifact.duplicates/routes", finding.Critical, []string{`changes/r.csv:3 has prefix "10.0.0.0/8", as line 2 does`}},
		}},
		{name: "csv multi-line record keeps its start line", art: "routes", file: "r.csv", body: "prefix,action\n\"10.0.0.0/8\",\"per\nmit\"\n10.0.0.0/8,x\n", want: []want{
			{"artifact.duplicates/routes", finding.Critical, []string{`changes/r.csv:4 has prefix "10.0.0.0/8", as line 2 does`}},
		}},
		{name: "csv bare quote", art: "routes", file: "r.csv", body: "prefix,action\n10.0.0.0/8,permit\n10.1.0.0/16,de\"ny\n", want: []want{
			{"artifact.parse/routes", finding.Critical, []string{"does not parse as csv: changes/r.csv:3: bare \" in non-quoted-field"}},
		}},
		{name: "csv wrong number of fields", art: "routes", file: "r.csv", body: "prefix,action\n10.0.0.0/8,permit,extra\n", want: []want{
			{"artifact.parse/routes", finding.Critical, []string{"changes/r.csv:2: wrong number of fields"}},
		}},
		{name: "csv header names a column twice", art: "routes", file: "r.csv", body: "prefix,action,prefix\n", want: []want{
			{"artifact.parse/routes", finding.Critical, []string{`changes/r.csv:1: the header names column "prefix" twice (columns 1 and 3)`}},
		}},
		{name: "csv over rows", art: "routes", file: "r.csv", body: "prefix,action\n" + numbered("10.%d.0.0/16,permit", 11), want: []want{
			{"artifact.rows/routes", finding.Critical, []string{"rows 11, limit 10, was 3 (+267%)"}},
		}},
		// json
		{name: "json list", art: "waf-rules", file: "w.json", body: `[{"id": "r1", "action": "block", "expression": "x"}, {"id": 2, "action": "log"}]`},
		{name: "json object with one list", art: "waf-rules", file: "w.json", body: `{"version": 3, "meta": {"by": "compiler"}, "rules": [{"id": "r1", "action": "block"}]}`},
		{name: "json empty list", art: "waf-rules", file: "w.json", body: "[]"},
		{name: "json missing and empty fields", art: "waf-rules", file: "w.json", body: "[\n  {\"id\": \"r1\", \"action\": \"block\"},\n  {\"id\": \"r2\"},\n  {\"id\": \"r3\", \"action\": null},\n  {\"id\": \"r4\", \"action\": \"  \"},\n  {\"id\": \"r5\", \"action\": []}\n]\n", want: []want{
			{"artifact.required-field/waf-rules", finding.Critical, []string{`field "action": missing in 1 of 5 rows: changes/w.json line 3`}},
			{"artifact.empty-field/waf-rules", finding.Critical, []string{`field "action": empty in 3 of 5 rows: changes/w.json lines 4, 5, 6`}},
		}},
		{name: "json identical objects in any key order", art: "waf-rules", file: "w.json", body: "[\n{\"id\": \"r1\", \"action\": \"block\"},\n{\"action\": \"block\", \"id\": \"r1\"}\n]", want: []want{
			{"artifact.duplicates/waf-rules", finding.Critical, []string{`changes/w.json:3 repeats line 2: {"action":"block","id":"r1"}`}},
		}},
		{name: "json duplicate id", art: "waf-rules", file: "w.json", body: "[{\"id\": 7, \"action\": \"block\"},\n {\"id\": 7, \"action\": \"log\"}]", want: []want{
			{"artifact.duplicates/waf-rules", finding.Critical, []string{`changes/w.json:2 has id "7", as line 1 does`}},
		}},
		{name: "json syntax error", art: "waf-rules", file: "w.json", body: "[\n  {\"id\": \"r1\", \"action\": \"block\"},\n  {\"id\": \"r2\" \"action\": \"log\"}\n]", want: []want{
			{"artifact.parse/waf-rules", finding.Critical, []string{"does not parse as json: changes/w.json:3: invalid character"}},
		}},
		{name: "json truncated", art: "waf-rules", file: "w.json", body: "[\n  {\"id\": \"r1\", \"action\": \"block\"},\n", want: []want{
			{"artifact.parse/waf-rules", finding.Critical, []string{"changes/w.json:3: unexpected end of file"}},
		}},
		{name: "json row not an object", art: "waf-rules", file: "w.json", body: "[{\"id\": 1, \"action\": \"a\"},\n \"r2\"]", want: []want{
			{"artifact.parse/waf-rules", finding.Critical, []string{"changes/w.json:2: row 2 is a string: each row must be an object"}},
		}},
		{name: "json object with two lists", art: "waf-rules", file: "w.json", body: "{\"rules\": [],\n \"more\": []}", want: []want{
			{"artifact.parse/waf-rules", finding.Critical, []string{`changes/w.json:2: field "more" is a second list`}},
		}},
		{name: "json object without a list", art: "waf-rules", file: "w.json", body: `{"rules": {"a": 1}}`, want: []want{
			{"artifact.parse/waf-rules", finding.Critical, []string{"the object has no list"}},
		}},
		{name: "json scalar", art: "waf-rules", file: "w.json", body: `"rules"`, want: []want{
			{"artifact.parse/waf-rules", finding.Critical, []string{"the file holds a string"}},
		}},
		{name: "json empty file", art: "waf-rules", file: "w.json", body: "\n", want: []want{
			{"artifact.parse/waf-rules", finding.Critical, []string{"the file is empty"}},
		}},
		{name: "json trailing data", art: "waf-rules", file: "w.json", body: "[]\n[]", want: []want{
			{"artifact.parse/waf-rules", finding.Critical, []string{"changes/w.json:2: data after the end of the top-level value"}},
		}},
		{name: "json over rows", art: "waf-rules", file: "w.json", body: "[" + strings.TrimSuffix(numbered(`{"id": %d, "action": "a"},`, 11), ",\n") + "]", want: []want{
			{"artifact.rows/waf-rules", finding.Critical, []string{"rows 11, limit 10, was 4 (+175%)"}},
		}},
		// yaml
		{name: "yaml list", art: "feature-flags", file: "f.yaml", body: "- {key: a, default: true}\n- key: b\n  default: 0\n"},
		{name: "yaml mapping with one list", art: "feature-flags", file: "f.yaml", body: "version: 2\nflags:\n  - {key: a, default: true}\n"},
		{name: "yaml empty", art: "feature-flags", file: "f.yaml", body: "# nothing yet\n"},
		{name: "yaml missing and empty fields", art: "feature-flags", file: "f.yaml", body: "flags:\n  - {key: a, default: on}\n  - key: b\n  - key: c\n    default:\n  - {key: \"\", default: x}\n", want: []want{
			{"artifact.required-field/feature-flags", finding.Critical, []string{`field "default": missing in 1 of 4 rows: changes/f.yaml line 3`}},
			{"artifact.empty-field/feature-flags", finding.Critical, []string{
				`field "key": empty in 1 of 4 rows: changes/f.yaml line 6`,
				`field "default": empty in 1 of 4 rows: changes/f.yaml line 4`,
			}},
		}},
		{name: "yaml identical mappings in any key order", art: "feature-flags", file: "f.yaml", body: "- {key: a, default: 1}\n- {key: b, default: 1}\n- default: 1\n  key: a\n", want: []want{
			{"artifact.duplicates/feature-flags", finding.Critical, []string{`changes/f.yaml:3 repeats line 1: {"default":1,"key":"a"}`}},
		}},
		{name: "yaml duplicate key", art: "feature-flags", file: "f.yaml", body: "- {key: a, default: 1}\n- {key: a, default: 2}\n", want: []want{
			{"artifact.duplicates/feature-flags", finding.Critical, []string{`changes/f.yaml:2 has key "a", as line 1 does`}},
		}},
		{name: "yaml string and number differ", art: "feature-flags", file: "f.yaml", body: "- {key: a, default: 1}\n- {key: b, default: 1}\n- {key: c, default: \"1\"}\n"},
		{name: "yaml syntax error", art: "feature-flags", file: "f.yaml", body: "- {key: a, default: 1}\n- {key: b, default: [}\n", want: []want{
			{"artifact.parse/feature-flags", finding.Critical, []string{"does not parse as yaml: changes/f.yaml:2"}},
		}},
		{name: "yaml alias", art: "feature-flags", file: "f.yaml", body: "- &a {key: a, default: 1}\n- *a\n", want: []want{
			{"artifact.parse/feature-flags", finding.Critical, []string{"changes/f.yaml:2: aliases (*name) are not supported"}},
		}},
		{name: "yaml row not a mapping", art: "feature-flags", file: "f.yaml", body: "- {key: a, default: 1}\n- b\n", want: []want{
			{"artifact.parse/feature-flags", finding.Critical, []string{"changes/f.yaml:2: row 2 is not a mapping"}},
		}},
		{name: "yaml two documents", art: "feature-flags", file: "f.yaml", body: "- {key: a, default: 1}\n---\n- {key: b, default: 1}\n", want: []want{
			{"artifact.parse/feature-flags", finding.Critical, []string{"the file holds 2 documents"}},
		}},
		{name: "yaml scalar", art: "feature-flags", file: "f.yaml", body: "flags\n", want: []want{
			{"artifact.parse/feature-flags", finding.Critical, []string{"the document is a single value"}},
		}},
		// format from the extension when the artifact has none
		{name: "untyped json by extension", art: "untyped", file: "u.json", body: `[{"a": 1}, {"a": 1}]`, want: []want{
			{"artifact.duplicates/untyped", finding.Critical, []string{"changes/u.json:1 repeats line 1"}},
		}},
		{name: "untyped lines otherwise", art: "untyped", file: "u.dat", body: "{\n}\n"},
		// files and names
		{name: "missing file", art: "routes", file: "nope.csv", want: []want{
			{"artifact.missing/routes", finding.Critical, []string{"the file changes/nope.csv does not exist", "file nope.csv, resolved against the change file's directory to changes/nope.csv"}},
		}},
		{name: "unknown artifact", art: "bot-feature", file: "f.txt", body: "a,float,1\n", want: []want{
			{"artifact.unknown/bot-feature", finding.Critical, []string{`which the twin does not declare (did you mean "bot-features"?)`, "artifacts in the twin: blocklist, bot-features, feature-flags, routes, untyped, waf-rules"}},
		}},
		// limits the change itself changes
		{name: "stricter limit declared by the change", file: "b.txt", body: lines("h", 12), change: `artifacts: [{name: blocklist, file: b.txt}]
operations:
  - {op: set, kind: Artifact, name: blocklist, fields: {limits.maxRows: 11}}
`, want: []want{
			{"artifact.rows/blocklist", finding.Critical, []string{"rows 12, limit 11, was 10 (+20%)"}},
		}},
		{name: "looser limit declared by the change does not count", file: "f.txt", body: featureLines(0, 201), change: `artifacts: [{name: bot-features, file: f.txt}]
operations:
  - {op: set, kind: Artifact, name: bot-features, fields: {limits.maxRows: 400, rows: 201}}
`, want: []want{
			{"artifact.rows/bot-features", finding.Critical, []string{"rows 201, limit 200, was 200 (+0.5%)"}},
		}},
		{name: "artifact added by the change", file: "n.txt", body: lines("x", 3), change: `artifacts: [{name: new-list, file: n.txt}]
operations:
  - op: add
    object: {kind: Artifact, name: new-list, consumer: edge, limits: {maxRows: 2}}
`, want: []want{
			{"artifact.rows/new-list", finding.Critical, []string{"rows 3, limit 2 (the artifact is new in this change: no recorded value)"}},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := tc.change
			if src == "" {
				src = ship(tc.art, tc.file)
			}
			files := map[string]string{}
			if tc.body != "" || !strings.HasPrefix(tc.name, "missing") {
				files[tc.file] = tc.body
			}
			checkFindings(t, run(t, src, files), tc.want)
		})
	}
}

// lines returns n lines "PREFIX-i".
func lines(prefix string, n int) string { return numbered(prefix+"-%d", n) }

// numbered returns n lines of format applied to 0 … n-1.
func numbered(format string, n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, format+"\n", i)
	}
	return b.String()
}

// TestSeveralArtifacts: findings come per artifact, in the change's order.
func TestSeveralArtifacts(t *testing.T) {
	src := `title: two
artifacts:
  - {name: routes, file: r.csv}
  - {name: bot-features, file: gen/f.txt}
`
	got := run(t, src, map[string]string{
		"r.csv":     "prefix\n10.0.0.0/8\n",
		"gen/f.txt": featureLines(0, 201),
	})
	var ids []string
	for _, f := range got {
		ids = append(ids, f.ID)
	}
	if !slices.Equal(ids, []string{"artifact.required-field/routes", "artifact.rows/bot-features"}) {
		t.Fatalf("got %v\n%s", ids, dump(got))
	}
	if p := got[1].Objects[1].Pos; p.Line != 4 {
		t.Errorf("second artifact's entry at %s, want line 4", p)
	}
	if !strings.Contains(got[1].Evidence.Lines[0], "rows 201, limit 200, was 200 (+0.5%)") {
		t.Errorf("evidence %q", got[1].Evidence.Lines)
	}
}

// TestReadErrors: a file too large to read, and one that cannot be read.
func TestReadErrors(t *testing.T) {
	cs, err := change.ParseFile("c.yaml", []byte(ship("blocklist", "b.txt")))
	if err != nil {
		t.Fatal(err)
	}
	s := loadTwin(t, testTwin)
	res := &change.Result{Change: cs, Before: s, After: s}

	huge := func(string) ([]byte, error) { return nil, &TooLargeError{Path: "b.txt", Size: 300 << 20} }
	got, err := Check(res, huge)
	if err != nil {
		t.Fatal(err)
	}
	checkIDs(t, got, "critical artifact.size/blocklist", "critical artifact.too-large/blocklist")
	if !strings.Contains(got[1].Message, "b.txt is 300MiB, more than the 256MiB preflight reads") {
		t.Errorf("too-large message %q", got[1].Message)
	}

	unknownSize := func(string) ([]byte, error) { return nil, &TooLargeError{Path: "b.txt", Size: -1} }
	got, _ = Check(res, unknownSize)
	checkIDs(t, got, "critical artifact.too-large/blocklist")
	if !strings.Contains(got[0].Message, "is larger than 256MiB") {
		t.Errorf("too-large message %q", got[0].Message)
	}

	denied := func(p string) ([]byte, error) { return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrPermission} }
	got, _ = Check(res, denied)
	checkIDs(t, got, "critical artifact.unreadable/blocklist")
	if !strings.Contains(got[0].Evidence.Lines[0], "permission denied") {
		t.Errorf("unreadable evidence %q", got[0].Evidence.Lines)
	}

	if _, err := Check(&change.Result{Change: cs}, nil); err == nil {
		t.Error("Check without a twin gave no error")
	}
}

func checkIDs(t *testing.T, got []finding.Finding, want ...string) {
	t.Helper()
	var ids []string
	for _, f := range got {
		ids = append(ids, string(f.Severity)+" "+f.ID)
	}
	if !slices.Equal(ids, want) {
		t.Errorf("got %q, want %q\n%s", ids, want, dump(got))
	}
}

// TestReadFile: the bounded reader reads small files, refuses large ones
// without reading them, and reports missing files as fs.ErrNotExist.
func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small.txt")
	if err := os.WriteFile(small, []byte("a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := ReadFile(small); err != nil || string(b) != "a\n" {
		t.Errorf("ReadFile(small) = %q, %v", b, err)
	}
	big := filepath.Join(dir, "big.txt")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	// A sparse file: large, but nothing to write.
	if err := f.Truncate(MaxFileSize + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	var tl *TooLargeError
	if _, err := ReadFile(big); !errors.As(err, &tl) || tl.Size != MaxFileSize+1 {
		t.Errorf("ReadFile(big) error %v, want a TooLargeError of %d bytes", err, MaxFileSize+1)
	}
	if _, err := ReadFile(filepath.Join(dir, "none")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadFile(none) error %v, want ErrNotExist", err)
	}
	if _, err := ReadFile(dir); err == nil {
		t.Error("ReadFile(dir) gave no error")
	}
}

// TestCheckOnDisk: Check with the default reader, on files next to the
// change file.
func TestCheckOnDisk(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "features.txt"), []byte(featureLines(0, 200)+featureLines(0, 200)), 0o644); err != nil {
		t.Fatal(err)
	}
	cs, err := change.ParseFile(filepath.Join(dir, "c.yaml"), []byte(ship("bot-features", "features.txt")))
	if err != nil {
		t.Fatal(err)
	}
	s := loadTwin(t, testTwin)
	got, err := Check(&change.Result{Change: cs, Before: s, After: s}, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkIDs(t, got, "critical artifact.rows/bot-features", "critical artifact.duplicates/bot-features")
}

// TestParseRows: rows and their lines, per format.
func TestParseRows(t *testing.T) {
	for _, tc := range []struct {
		format, src string
		lines       []int
	}{
		{Lines, "a\n\nb\n  \nc", []int{1, 3, 5}},
		{CSV, "h\n1\n\n2\n", []int{2, 4}},
		{JSON, "[\n{},\n\n  {\"a\": [\n1]},{}]", []int{2, 4, 5}},
		{JSON, "{\"x\": 1, \"rows\":\n[{}, \n{}]}", []int{2, 3}},
		{YAML, "- {}\n-\n  a: 1\n- a: 2\n", []int{1, 3, 4}},
	} {
		tab, err := Parse(tc.format, []byte(tc.src), nil)
		if err != nil {
			t.Errorf("%s %q: %v", tc.format, tc.src, err)
			continue
		}
		var got []int
		for _, r := range tab.Rows {
			got = append(got, r.Line)
		}
		if !slices.Equal(got, tc.lines) {
			t.Errorf("%s %q: rows on lines %v, want %v", tc.format, tc.src, got, tc.lines)
		}
	}
	if _, err := Parse("xml", nil, nil); err == nil {
		t.Error("Parse of an unknown format gave no error")
	}
}

func TestFormatOf(t *testing.T) {
	for _, tc := range []struct{ format, path, want string }{
		{"csv", "x.json", "csv"},
		{"", "x.CSV", "csv"},
		{"", "x.json", "json"},
		{"", "x.yml", "yaml"},
		{"", "x.yaml", "yaml"},
		{"", "x.txt", "lines"},
		{"", "x", "lines"},
	} {
		if got := FormatOf(tc.format, tc.path); got != tc.want {
			t.Errorf("FormatOf(%q, %q) = %q, want %q", tc.format, tc.path, got, tc.want)
		}
	}
}
