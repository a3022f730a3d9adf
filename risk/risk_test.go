package risk

import (
	"strings"
	"testing"

	"github.com/preflight-sh/preflight/change"
	"github.com/preflight-sh/preflight/finding"
	"github.com/preflight-sh/preflight/rollback"
	"github.com/preflight-sh/preflight/twin"
)

func assess(t *testing.T, cmd string, fs []finding.Finding, peak, at int) Assessment {
	t.Helper()
	s, err := twin.Load("../examples/shop")
	if err != nil {
		t.Fatal(err)
	}
	ops, err := change.Compile(cmd)
	if err != nil {
		t.Fatal(err)
	}
	res, err := change.Apply(s, &change.ChangeSet{Title: cmd, Operations: ops})
	if err != nil {
		t.Fatal(err)
	}
	plan, _, err := rollback.Build(res)
	if err != nil {
		t.Fatal(err)
	}
	return Assess(Inputs{Result: res, Findings: fs, Rollback: plan, Simulated: true, PeakHour: peak, At: at})
}

func factor(a Assessment, name string) Factor {
	for _, f := range a.Factors {
		if f.Name == name {
			return f
		}
	}
	return Factor{}
}

func TestScoresAreExplainedAndAddUp(t *testing.T) {
	a := assess(t, "drain instance api-use1-az1-1", nil, 19, 3)
	sum, max := 0, 0
	for _, f := range a.Factors {
		if f.Why == "" || f.Points < 0 || f.Points > f.Max {
			t.Errorf("factor %+v", f)
		}
		sum += f.Points
		max += f.Max
	}
	if max != 100 || sum != a.Score {
		t.Errorf("factors sum to %d of %d, score %d", sum, max, a.Score)
	}
	if a.Tier != "low" || a.Approvals.Required != 0 {
		t.Errorf("draining one API instance off-peak: %+v", a)
	}
}

func TestRiskGrowsWithWhatIsAtStake(t *testing.T) {
	small := assess(t, "drain instance api-use1-az1-1", nil, 19, 3)
	crit := []finding.Finding{{ID: "capacity.floor/billing/total", Severity: finding.Critical, Message: "billing below floor"},
		{ID: "simulation.availability.web-users@us-east-1", Severity: finding.Critical, Message: "SLO"},
		{ID: "capacity.n-1/billing/region=us-east-1", Severity: finding.Critical, Message: "no N-1"}}
	big := assess(t, "remove instances service=billing", crit, 19, 19)
	if big.Score <= small.Score || big.Tier != "critical" {
		t.Fatalf("removing all of billing at peak: %d (%s), one instance off-peak: %d", big.Score, big.Tier, small.Score)
	}
	if big.Approvals.Required != 2 || len(big.Approvals.Groups) == 0 || !strings.Contains(strings.Join(big.Approvals.Groups, ","), "team ") {
		t.Errorf("approvals %+v", big.Approvals)
	}
	if f := factor(big, "timing"); f.Points != 10 {
		t.Errorf("at the peak: %+v", f)
	}
	if f := factor(big, "simulated impact"); f.Points != 15 {
		t.Errorf("simulated impact %+v", f)
	}
	if f := factor(big, "failure tolerance"); f.Points != 15 {
		t.Errorf("failure tolerance %+v", f)
	}
}

func TestNetworkChangesTouchEveryService(t *testing.T) {
	a := assess(t, "shutdown link bb1.iad--bb1.dub", nil, 19, -1)
	if f := factor(a, "criticality"); f.Points != 15 || !strings.Contains(f.Why, "network") {
		t.Errorf("criticality %+v", f)
	}
	if f := factor(a, "timing"); f.Points != 5 {
		t.Errorf("unknown timing must raise risk: %+v", f)
	}
}

func TestUnknownsRaiseRisk(t *testing.T) {
	a := assess(t, "drain instance api-use1-az1-1", []finding.Finding{{ID: "reachability.not-compared", Severity: finding.Unknown}}, 19, 3)
	b := assess(t, "drain instance api-use1-az1-1", nil, 19, 3)
	if a.Score <= b.Score {
		t.Errorf("an unknown finding did not raise the score: %d vs %d", a.Score, b.Score)
	}
}
