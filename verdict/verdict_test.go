package verdict

import (
	"maps"
	"slices"
	"testing"

	"github.com/preflight-sh/preflight/finding"
)

func findings(sevs ...finding.Severity) []finding.Finding {
	out := make([]finding.Finding, len(sevs))
	for i, s := range sevs {
		out[i] = finding.Finding{ID: "f" + string(rune('a'+i)), Severity: s}
	}
	return out
}

func TestDecide(t *testing.T) {
	const (
		info     = finding.Info
		warning  = finding.Warning
		unknown  = finding.Unknown
		critical = finding.Critical
	)
	cases := []struct {
		name    string
		in      []finding.Finding
		want    Decision
		reasons []string
		counts  map[string]int
		safe    bool
	}{
		{"no findings", nil, Pass, []string{"no findings above info"}, map[string]int{}, true},
		{"info only", findings(info, info), Pass, []string{"no findings above info"}, map[string]int{"info": 2}, true},
		{"a warning", findings(info, warning), Warn, []string{"1 warning(s)"}, map[string]int{"info": 1, "warning": 1}, true},
		{"warnings", findings(warning, warning, warning), Warn, []string{"3 warning(s)"}, map[string]int{"warning": 3}, true},
		{"unknown beats warnings", findings(warning, unknown, warning), Unknown, []string{"1 finding(s) could not be decided"}, map[string]int{"warning": 2, "unknown": 1}, false},
		{"unknowns", findings(unknown, unknown), Unknown, []string{"2 finding(s) could not be decided"}, map[string]int{"unknown": 2}, false},
		{"critical beats everything", findings(info, warning, unknown, critical), Block, []string{"1 critical finding(s)"}, map[string]int{"info": 1, "warning": 1, "unknown": 1, "critical": 1}, false},
		{"criticals in any order", findings(critical, info, critical), Block, []string{"2 critical finding(s)"}, map[string]int{"info": 1, "critical": 2}, false},
		{"an unrecognised severity counts but does not decide", findings("odd"), Pass, []string{"no findings above info"}, map[string]int{"odd": 1}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := Decide(c.in)
			if v.Decision != c.want {
				t.Errorf("Decision = %q, want %q", v.Decision, c.want)
			}
			if !slices.Equal(v.Reasons, c.reasons) {
				t.Errorf("Reasons = %q, want %q", v.Reasons, c.reasons)
			}
			if !maps.Equal(v.Counts, c.counts) {
				t.Errorf("Counts = %v, want %v", v.Counts, c.counts)
			}
			if v.Safe() != c.safe {
				t.Errorf("Safe() = %v, want %v", v.Safe(), c.safe)
			}
		})
	}
}

func TestSafe(t *testing.T) {
	for d, want := range map[Decision]bool{Pass: true, Warn: true, Unknown: false, Block: false, "": false, "other": false} {
		if got := (Verdict{Decision: d}).Safe(); got != want {
			t.Errorf("Verdict{%q}.Safe() = %v, want %v", d, got, want)
		}
	}
}
