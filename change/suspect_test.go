package change

import (
	"sort"
	"strings"
	"testing"

	"github.com/preflight-sh/preflight/finding"
)

func TestSelectorFindings(t *testing.T) {
	tests := []struct {
		name string
		cmds []string
		want []string // finding ID and severity
		msg  string   // part of the first finding's message
	}{
		{
			name: "zone selector spreads over services",
			cmds: []string{"drain instances zone=use1-az1"},
			want: []string{"selector.spread/op1/service critical"},
			msg:  "does not say which service, and matches 3 of them",
		},
		{
			name: "selector reaches a service the change does not name",
			cmds: []string{"scale service=billing min=1", "drain instances zone=use1-az1"},
			want: []string{"selector.scope/op2/service critical"},
			msg:  "reaches service api, db, which the rest of the change does not name (it names billing)",
		},
		{
			name: "not destructive is a warning",
			cmds: []string{"scale service=billing min=1", "undrain instances zone=use1-az2"},
			want: []string{"selector.scope/op2/service warning"},
		},
		{
			name: "count takes a sliver of a large match",
			cmds: []string{"drain instances env=prod count=1"},
			want: []string{"selector.count/op1 warning"},
			msg:  "matches 11 Instance objects but count=1 takes only 1",
		},
		{
			name: "spread over regions and roles",
			cmds: []string{"remove instances service=db"},
			want: []string{"selector.spread/op1/region critical", "selector.spread/op1/role critical"},
		},
		{
			name: "tight selector",
			cmds: []string{"drain instances service=billing zone=use1-az1"},
		},
		{
			name: "tight selector with a count",
			cmds: []string{"remove instances service=db role=replica count=1"},
		},
		{
			name: "selector that names the service it spreads over",
			cmds: []string{"drain instances service=billing region=us-east-1"},
		},
		{
			name: "names only",
			cmds: []string{"drain zone use1-az1", "set lb api-lb weight az1=0"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Apply(loadFixture(t), mustCompile(t, tc.cmds...))
			if err != nil {
				t.Fatal(err)
			}
			fs := res.SelectorFindings()
			var got []string
			for _, f := range fs {
				got = append(got, f.ID+" "+string(f.Severity))
				if len(f.Evidence.Lines) == 0 {
					t.Errorf("%s has no evidence", f.ID)
				}
				if len(f.Objects) != 1 || f.Objects[0].Kind != "Change" {
					t.Errorf("%s objects %+v", f.ID, f.Objects)
				}
			}
			sort.Strings(got)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			if tc.msg != "" && len(fs) > 0 && !strings.Contains(fs[0].Message, tc.msg) {
				t.Errorf("message %q does not contain %q", fs[0].Message, tc.msg)
			}
		})
	}
}

// TestSelectorFindingsEvidence checks the evidence of a spread finding:
// one line per value, with the objects it matched.
func TestSelectorFindingsEvidence(t *testing.T) {
	res, err := Apply(loadFixture(t), mustCompile(t, "drain instances zone=use1-az1"))
	if err != nil {
		t.Fatal(err)
	}
	fs := res.SelectorFindings()
	if len(fs) != 1 {
		t.Fatalf("%d findings", len(fs))
	}
	want := []string{"service=api: 1 matched (api-1)", "service=billing: 1 matched (billing-1)", "service=db: 1 matched (db-1)"}
	if got := fs[0].Evidence.Lines; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("evidence %q, want %q", got, want)
	}
	if fs[0].Severity != finding.Critical {
		t.Errorf("severity %s", fs[0].Severity)
	}
	if p := fs[0].Objects[0].Pos; p.File != "command" || p.Line != 1 {
		t.Errorf("position %s", p)
	}
}

// TestSelectorFindingsIntentFromTitle checks that a service named in the
// change's title counts as what the change means.
func TestSelectorFindingsIntentFromTitle(t *testing.T) {
	cs := mustCompile(t, "drain instances zone=use1-az1")
	cs.Title = "Drain billing in use1-az1 for the rack swap"
	res, err := Apply(loadFixture(t), cs)
	if err != nil {
		t.Fatal(err)
	}
	fs := res.SelectorFindings()
	if len(fs) != 1 || fs[0].ID != "selector.scope/op1/service" {
		var ids []string
		for _, f := range fs {
			ids = append(ids, f.ID)
		}
		t.Errorf("findings %v, want selector.scope/op1/service", ids)
	}
}

func TestShort(t *testing.T) {
	names := []string{"a", "b", "c", "d", "e", "f", "g", "h"}
	if got := short(names[:6]); got != "a, b, c, d, e, f" {
		t.Errorf("short(6) = %q", got)
	}
	if got := short(names); got != "a, b, c, d, … 3 more …, h" {
		t.Errorf("short(8) = %q", got)
	}
}
