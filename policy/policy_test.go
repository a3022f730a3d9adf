package policy

import (
	"fmt"
	"strings"
	"testing"

	"github.com/preflight-sh/preflight/change"
	"github.com/preflight-sh/preflight/finding"
	"github.com/preflight-sh/preflight/twin"
)

const base = `kind: Region
name: r1
---
kind: Region
name: r2
---
kind: Zone
name: z1
region: r1
---
kind: Service
name: db
instanceCapacity: 100rps
---
{kind: Instance, name: db-1, service: db, zone: z1, role: primary}
---
{kind: Instance, name: db-2, service: db, zone: z1, role: replica}
---
kind: Propagation
name: global
mode: instant
---
kind: Propagation
name: staged
mode: waves
waves: [{name: one, regions: [r1], bake: 10m}, {name: two, regions: [r2], bake: 10m}]
---
kind: Artifact
name: features
consumer: db
propagation: global
rows: 10
`

func apply(t *testing.T, policies, command string, flags ...string) *change.Result {
	t.Helper()
	s, err := twin.LoadFiles(map[string][]byte{"twin.yaml": []byte(base + policies)})
	if err != nil {
		t.Fatal(err)
	}
	ops, err := change.Compile(command)
	if err != nil {
		t.Fatal(err)
	}
	res, err := change.Apply(s, &change.ChangeSet{Title: command, Operations: ops, Flags: flags})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

var floorFinding = finding.Finding{ID: "capacity.floor/db/total", Category: "capacity", Severity: finding.Critical, Message: "db below its floor"}

func severityOf(fs []finding.Finding, id string) finding.Severity {
	for _, f := range fs {
		if f.ID == id {
			return f.Severity
		}
	}
	return ""
}

func TestFindingsPolicyLevels(t *testing.T) {
	for _, c := range []struct {
		level     string
		overrides []Override
		want      finding.Severity
		err       string
	}{
		{Advisory, nil, finding.Warning, ""},
		{SoftMandatory, nil, finding.Critical, ""},
		{SoftMandatory, []Override{{Policy: "floors", Approver: "alice", Reason: "replacing hardware"}}, finding.Warning, ""},
		{SoftMandatory, []Override{{Policy: "floors", Approver: "", Reason: "x"}}, "", "named approver"},
		{HardMandatory, nil, finding.Critical, ""},
		{HardMandatory, []Override{{Policy: "floors", Approver: "alice", Reason: "x"}}, "", "cannot be overridden"},
		{HardMandatory, []Override{{Policy: "nope", Approver: "alice", Reason: "x"}}, "", "no such policy"},
	} {
		res := apply(t, "---\nkind: Policy\nname: floors\nenforcement: "+c.level+"\nfindings: [capacity.floor.*]\n", "drain instance db-2")
		fs, outs, err := Evaluate(res, []finding.Finding{floorFinding}, c.overrides)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s %v: error %v, want %q", c.level, c.overrides, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if got := severityOf(fs, floorFinding.ID); got != c.want {
			t.Errorf("%s %v: severity %s, want %s", c.level, c.overrides, got, c.want)
		}
		if len(outs) != 1 || !outs[0].Violated || outs[0].Findings[0] != floorFinding.ID {
			t.Errorf("outcome %+v", outs)
		}
	}
}

func TestFindingPatterns(t *testing.T) {
	for _, c := range []struct {
		pattern, id string
		want        bool
	}{
		{"capacity.floor.*", "capacity.floor.db.total", true},
		{"capacity.*", "capacity.floor.db.total", true},
		{"capacity.*", "capacityx.floor", false},
		{"simulation.availability.*", "simulation.overload.web/z1", false},
		{"*", "anything", true},
		{"capacity.floor.db.total", "capacity.floor.db.total", true},
		{"capacity.floor.*", "capacity.floor/billing/total/capacity", true},
		{"capacity.floor.*", "capacity.floors/x", false},
		{"dns*", "dns.no-healthy-answer/www/region=r1", true},
	} {
		if got := matches([]string{c.pattern}, c.id); got != c.want {
			t.Errorf("matches(%q, %q) = %v", c.pattern, c.id, got)
		}
	}
}

func TestExpressionPolicy(t *testing.T) {
	pol := "---\nkind: Policy\nname: one-object\nenforcement: hard-mandatory\nexpression: size(change.touched) <= 1 && !('features' in after.Artifact && after.Artifact['features'].rows > 100)\nmessage: touch one object at a time\n"
	res := apply(t, pol, "drain instances service=db")
	fs, _, err := Evaluate(res, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := severityOf(fs, "policy.one-object"); got != finding.Critical {
		t.Fatalf("severity %q, findings %+v", got, fs)
	}
	res = apply(t, pol, "drain instance db-2")
	if fs, _, err := Evaluate(res, nil, nil); err != nil || len(fs) != 0 {
		t.Fatalf("a complying change: %v %+v", err, fs)
	}
	// The same expression in shadow mode only informs.
	res = apply(t, strings.Replace(pol, "enforcement: hard-mandatory", "enforcement: hard-mandatory\nshadow: true", 1), "drain instances service=db")
	fs, outs, err := Evaluate(res, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := severityOf(fs, "policy.one-object"); got != finding.Info || !outs[0].Violated || !outs[0].Shadow {
		t.Fatalf("shadow: severity %q, outcome %+v", got, outs)
	}
	// Findings are visible to expressions.
	res = apply(t, "---\nkind: Policy\nname: no-critical\nenforcement: soft-mandatory\nexpression: \"!findings.exists(f, f.severity == 'critical' && f.id.startsWith('capacity.'))\"\n", "drain instance db-2")
	fs, _, err = Evaluate(res, []finding.Finding{floorFinding}, nil)
	if err != nil || severityOf(fs, "policy.no-critical") != finding.Critical {
		t.Fatalf("%v %+v", err, fs)
	}
}

func TestExpressionErrorsNameTheLine(t *testing.T) {
	for _, c := range []struct{ expr, want string }{
		{"size(change.touched) <=", fmt.Sprintf("twin.yaml:%d:13: policy broken: ERROR", strings.Count(base, "\n")+5)},
		{"change.title", "not true or false"}, {"1 + 2", "must give true"},
		{"before.Zone['nope'].region == 'x'", "evaluating"},
	} {
		res := apply(t, "---\nkind: Policy\nname: broken\nenforcement: advisory\nexpression: \""+c.expr+"\"\n", "drain instance db-2")
		_, _, err := Evaluate(res, nil, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.expr, err, c.want)
		}
	}
}

func TestPrimaryNeedsFlag(t *testing.T) {
	pol := "---\nkind: Policy\nname: primaries\nenforcement: soft-mandatory\nrule: primary-needs-flag\n"
	for _, c := range []struct {
		cmd   string
		flags []string
		want  bool
	}{
		{"remove instance db-1", nil, true},
		{"shutdown instance db-1", nil, true},
		{"drain instance db-2", nil, false},
		{"remove instance db-1", []string{AllowPrimary}, false},
	} {
		res := apply(t, pol, c.cmd, c.flags...)
		_, outs, err := Evaluate(res, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if outs[0].Violated != c.want {
			t.Errorf("%s %v: violated %v, want %v", c.cmd, c.flags, outs[0].Violated, c.want)
		}
	}
}

func TestStagedPropagation(t *testing.T) {
	pol := "---\nkind: Policy\nname: waves\nenforcement: hard-mandatory\nrule: staged-propagation\n"
	res := apply(t, pol, "set artifact features rows=20")
	fs, _, err := Evaluate(res, nil, nil)
	if err != nil || severityOf(fs, "policy.waves") != finding.Critical {
		t.Fatalf("instant propagation passed: %v %+v", err, fs)
	}
	res = apply(t, pol, "set artifact features propagation=staged")
	if fs, _, err := Evaluate(res, nil, nil); err != nil || len(fs) != 0 {
		t.Fatalf("waves: %v %+v", err, fs)
	}
	// A change that only ships the artifact's new content is judged too.
	res = apply(t, pol, "set zone z1 labels.note=x")
	res.Change.Artifacts = []change.ArtifactFile{{Name: "features", File: "features.txt"}}
	if fs, _, err := Evaluate(res, nil, nil); err != nil || severityOf(fs, "policy.waves") != finding.Critical {
		t.Fatalf("shipped artifact: %v %+v", err, fs)
	}
}
