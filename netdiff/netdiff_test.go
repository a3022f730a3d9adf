package netdiff

import (
	"strings"
	"testing"

	"github.com/preflight-sh/preflight/change"
	"github.com/preflight-sh/preflight/finding"
	"github.com/preflight-sh/preflight/twin"
)

func analyze(t *testing.T, cmd string) []finding.Finding {
	t.Helper()
	s, err := twin.Load("../examples/shop")
	if err != nil {
		t.Fatal(err)
	}
	ops, err := change.Compile(cmd)
	if err != nil {
		t.Fatal(err)
	}
	res, err := change.Apply(s, &change.ChangeSet{Operations: ops})
	if err != nil {
		t.Fatal(err)
	}
	fs, err := Analyze(s, res.After)
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

func ids(fs []finding.Finding, sev finding.Severity) []string {
	var out []string
	for _, f := range fs {
		if f.Severity == sev {
			out = append(out, f.ID)
		}
	}
	return out
}

func TestBackboneDown(t *testing.T) {
	fs := analyze(t, "shutdown devices role=backbone")
	crit := strings.Join(ids(fs, finding.Critical), " ")
	for _, want := range []string{"reachability.anycast-lost/dns-anycast-v4", "reachability.anycast-lost/web-anycast-v4", "reachability.dropped/"} {
		if !strings.Contains(crit, want) {
			t.Errorf("no critical %s among %s", want, crit)
		}
	}
	for _, f := range fs {
		if f.Category == "reachability" && !strings.HasPrefix(f.ID, "reachability.anycast-lost") && len(f.Evidence.Lines) < 3 {
			t.Errorf("%s has no example: %v", f.ID, f.Evidence.Lines)
		}
	}
}

func TestRedundantLinksDown(t *testing.T) {
	// The core links inside each region have parallel paths through the
	// data-centre spines: traffic reroutes, nothing is lost.
	fs := analyze(t, "shutdown links type=core")
	if c := ids(fs, finding.Critical); len(c) > 0 {
		t.Errorf("critical findings for a redundant change: %v", c)
	}
	if len(fs) == 0 {
		t.Error("no finding at all: rerouting should be reported as information")
	}
}

func TestNoNetworkChange(t *testing.T) {
	fs := analyze(t, "set zone use1-az1 labels.maintenance=true")
	if len(fs) != 0 {
		t.Errorf("findings for a change that leaves the network alone: %v", ids(fs, finding.Info))
	}
}

func TestRankedByDemandBehindLoadBalancers(t *testing.T) {
	// The spine of iad-dc1 carries the data-centre prefixes of zone
	// use1-az1, where load balancers send part of both demands.
	fs := analyze(t, "shutdown device spine.iad-dc1")
	found := false
	for _, f := range fs {
		if f.Category != "reachability" || f.Weight == 0 {
			continue
		}
		found = true
		text := strings.Join(f.Evidence.Lines, "\n")
		if !strings.Contains(text, "carries client demand: api-clients, web-users") {
			t.Errorf("%s: weight %g, evidence %s", f.ID, f.Weight, text)
		}
	}
	if !found {
		t.Fatalf("no finding carries demand: %v", fs)
	}
}
