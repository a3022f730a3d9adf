package capacity_test

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/preflight-sh/preflight/capacity"
	"github.com/preflight-sh/preflight/change"
	"github.com/preflight-sh/preflight/finding"
	"github.com/preflight-sh/preflight/twin"
)

// places is the geography every test twin shares: region r1 with zones
// r1-a and r1-b, region r2 with zone r2-a, region r3 with zone r3-a.
const places = `kind: Region
name: r1
---
kind: Region
name: r2
---
kind: Region
name: r3
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
---
kind: Zone
name: r3-a
region: r3
`

// instances writes one Instance document per "name@zone".
func instances(svc string, at ...string) string {
	var b strings.Builder
	for _, a := range at {
		name, zone, _ := strings.Cut(a, "@")
		fmt.Fprintf(&b, "---\nkind: Instance\nname: %s\nservice: %s\nzone: %s\n", name, svc, zone)
	}
	return b.String()
}

// load builds a twin from file name → YAML text; it must validate.
func load(t *testing.T, files map[string]string) *twin.Snapshot {
	t.Helper()
	m := map[string][]byte{}
	for name, text := range files {
		m[name] = []byte(text)
	}
	s, err := twin.LoadFiles(m)
	if err != nil {
		t.Fatalf("twin does not load:\n%v", err)
	}
	return s
}

// apply compiles operator commands into one change and applies it.
func apply(t *testing.T, s *twin.Snapshot, cmds ...string) *change.Result {
	t.Helper()
	cs := &change.ChangeSet{Title: "test", Source: "command"}
	for _, c := range cmds {
		ops, err := change.Compile(c)
		if err != nil {
			t.Fatalf("Compile(%q): %v", c, err)
		}
		cs.Operations = append(cs.Operations, ops...)
	}
	res, err := change.Apply(s, cs)
	if err != nil {
		t.Fatalf("Apply(%q): %v", cmds, err)
	}
	return res
}

// after loads a twin and returns it as the commands leave it (unchanged
// when there are none).
func after(t *testing.T, files map[string]string, cmds ...string) *twin.Snapshot {
	t.Helper()
	s := load(t, files)
	if len(cmds) == 0 {
		return s
	}
	return apply(t, s, cmds...).After
}

func lookupDNS(t *testing.T, s *twin.Snapshot, name string) *twin.DNSRecord {
	t.Helper()
	rec := twin.Lookup[twin.DNSRecord](s, name)
	if rec == nil {
		t.Fatalf("no DNS record %s", name)
	}
	return rec
}

// summary lists findings as "severity id", in their order.
func summary(fs []finding.Finding) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = string(f.Severity) + " " + f.ID
	}
	return out
}

func find(t *testing.T, fs []finding.Finding, id string) finding.Finding {
	t.Helper()
	for _, f := range fs {
		if f.ID == id {
			return f
		}
	}
	t.Fatalf("no finding %s in %q", id, summary(fs))
	return finding.Finding{}
}

// wellFormed checks what every capacity finding carries: a category that
// starts its ID, a message, evidence lines, and objects positioned in a
// twin file.
func wellFormed(t *testing.T, fs []finding.Finding) {
	t.Helper()
	for _, f := range fs {
		if f.Category == "" || !strings.HasPrefix(f.ID, strings.SplitN(f.Category, ".", 2)[0]) {
			t.Errorf("%s: category %q does not start the ID", f.ID, f.Category)
		}
		if f.Message == "" || len(f.Evidence.Lines) == 0 {
			t.Errorf("%s: message %q, %d evidence lines", f.ID, f.Message, len(f.Evidence.Lines))
		}
		if len(f.Objects) == 0 {
			t.Errorf("%s: no objects", f.ID)
		}
		for _, o := range f.Objects {
			if !strings.HasSuffix(o.Pos.File, ".yaml") || o.Pos.Line == 0 {
				t.Errorf("%s: object %s/%s has no position (%q)", f.ID, o.Kind, o.Name, o.Pos)
			}
		}
	}
	if !sort.SliceIsSorted(fs, func(i, j int) bool {
		if a, b := fs[i].Severity.Rank(), fs[j].Severity.Rank(); a != b {
			return a > b
		}
		return fs[i].ID < fs[j].ID
	}) {
		t.Errorf("findings not sorted most severe first, then by ID: %q", summary(fs))
	}
}

// lineOf returns the line (from 1) on which marker starts in text.
func lineOf(t *testing.T, text, marker string) int {
	t.Helper()
	i := strings.Index(text, marker)
	if i < 0 {
		t.Fatalf("marker %q not in the twin text", marker)
	}
	return strings.Count(text[:i], "\n") + 1
}

// at checks that an object of a finding is written at file, on the line
// where marker starts.
func at(t *testing.T, f finding.Finding, i int, file, text, marker string) {
	t.Helper()
	if i >= len(f.Objects) {
		t.Fatalf("%s has %d objects, want object %d", f.ID, len(f.Objects), i)
	}
	p := f.Objects[i].Pos
	if want := lineOf(t, text, marker); p.File != file || p.Line != want {
		t.Errorf("%s: object %d (%s %s) at %s, want %s:%d (%q)", f.ID, i, f.Objects[i].Kind, f.Objects[i].Name, p, file, want, marker)
	}
}

func sameLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n  %s\nwant:\n  %s", what, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// loadString renders a Load as "service region=rps" lines, sorted.
func loadString(l capacity.Load) []string {
	var out []string
	for svc, regions := range l {
		for r, v := range regions {
			out = append(out, fmt.Sprintf("%s %s=%s", svc, r, num(v)))
		}
	}
	sort.Strings(out)
	return out
}

// num prints a float rounded to 1e-6 so that float noise does not matter.
func num(v float64) string {
	return fmt.Sprintf("%g", math.Round(v*1e6)/1e6)
}
