package cli

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/preflight-sh/preflight/sim"
)

var shopEntries = []string{
	"web-users@us-east-1", "web-users@eu-west-1", "web-users@ap-southeast-1",
	"api-clients@us-east-1", "api-clients@eu-west-1", "api-clients@ap-southeast-1",
}

func TestSimulateTwin(t *testing.T) {
	inRepoRoot(t)
	code, stdout, stderr := run("simulate", "examples/shop", "--duration", "20m")
	if code != ExitSafe {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, e := range shopEntries {
		if !strings.Contains(stdout, e) {
			t.Errorf("output does not mention the entry point %s:\n%s", e, stdout)
		}
	}
	// The default start is the hour of the daily demand peak (19:00 UTC
	// for the shop, by traffic.yaml).
	for _, want := range []string{"window 19:00 UTC for 20m", "Verdict: PASS", "Most utilised components", "Log ("} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output does not say %q:\n%s", want, stdout)
		}
	}
}

func TestSimulateCommandWithChart(t *testing.T) {
	inRepoRoot(t)
	svg := filepath.Join(t.TempDir(), "x.svg")
	args := []string{"simulate", "examples/shop", "--command", "shutdown zone use1-az1", "--duration", "30m", "--svg", svg}
	code, stdout, stderr := run(args...)
	if code != ExitSafe && code != ExitBlocked {
		t.Fatalf("exit %d\nstderr:\n%s", code, stderr)
	}
	if !strings.Contains(stdout, "apply shutdown zone use1-az1") || !strings.Contains(stdout, "without change") {
		t.Errorf("text output lacks the change event or the baseline column:\n%s", stdout)
	}
	src, err := os.ReadFile(svg)
	if err != nil {
		t.Fatal(err)
	}
	checkXML(t, src)
	for _, want := range []string{"Success rate per entry point", "p99 latency per entry point", "Utilisation of the most loaded components", "Healthy instances", "apply shutdown zone use1-az1"} {
		if !bytes.Contains(src, []byte(want)) {
			t.Errorf("the chart does not show %q", want)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(svg), ".*")); len(left) > 0 {
		t.Errorf("temporary files left behind: %v", left)
	}

	jcode, js, stderr := run(append(args[:len(args)-2], "--format", "json")...)
	if jcode != code {
		t.Errorf("json: exit %d, text exit %d; stderr:\n%s", jcode, code, stderr)
	}
	var out struct {
		APIVersion string          `json:"apiVersion"`
		Kind       string          `json:"kind"`
		Change     map[string]any  `json:"change"`
		Result     map[string]any  `json:"result"`
		Baseline   map[string]any  `json:"baseline"`
		Findings   []any           `json:"findings"`
		Options    map[string]any  `json:"options"`
		Verdict    json.RawMessage `json:"verdict"`
	}
	if err := json.Unmarshal([]byte(js), &out); err != nil {
		t.Fatalf("json output does not parse: %v\n%s", err, js)
	}
	if !strings.Contains(js, `"Simulation"`) || out.Kind != "Simulation" || out.APIVersion != "preflight/v1" {
		t.Errorf("json: kind %q, apiVersion %q", out.Kind, out.APIVersion)
	}
	if out.Change["title"] != "shutdown zone use1-az1" || out.Result == nil || out.Baseline == nil || out.Findings == nil {
		t.Errorf("json: change %v, result or baseline or findings missing", out.Change)
	}
	if out.Options["changeAt"] != "5m" || out.Options["duration"] != "30m" || out.Options["start"] != "19h" {
		t.Errorf("json: options %v", out.Options)
	}
}

func checkXML(t *testing.T, src []byte) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(src))
	root := ""
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("the chart is not well-formed XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && root == "" {
			root = se.Name.Local
		}
	}
	if root != "svg" {
		t.Fatalf("the chart's root element is %q, want svg", root)
	}
}

func TestSimulateScenario(t *testing.T) {
	inRepoRoot(t)
	const sc = "examples/shop/scenarios/zone-failure.yaml"
	code, stdout, stderr := run("simulate", "examples/shop", "--scenario", sc)
	if code != ExitSafe && code != ExitBlocked {
		t.Fatalf("exit %d\nstderr:\n%s", code, stderr)
	}
	for _, want := range []string{"for 40m", "zone down", "fail zone use1-az1", "zone back", "restore zone use1-az1"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output does not say %q:\n%s", want, stdout)
		}
	}
	// A flag given wins over the scenario.
	_, js, _ := run("simulate", "examples/shop", "--scenario", sc, "--duration", "30m", "--start", "14:30", "--seed", "7", "--format", "json")
	var out struct {
		Options map[string]any `json:"options"`
	}
	if err := json.Unmarshal([]byte(js), &out); err != nil {
		t.Fatal(err)
	}
	if out.Options["duration"] != "30m" || out.Options["start"] != "14h30m" || out.Options["seed"] != 7.0 {
		t.Errorf("options %v: flags should win over the scenario", out.Options)
	}
	// A change and a scenario that rolls it back.
	dir := t.TempDir()
	rb := filepath.Join(dir, "rollback.yaml")
	writeFile(t, rb, "duration: 20m\nevents:\n  - at: 10m\n    rollback: change\n")
	code, stdout, stderr = run("simulate", "examples/shop", "--scenario", rb, "--command", "set lb api-lb weight us-east-1=0")
	if code != ExitSafe {
		t.Fatalf("rollback: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "roll back change") {
		t.Errorf("rollback: the log does not show the rollback:\n%s", stdout)
	}
}

func TestSimulateSweep(t *testing.T) {
	inRepoRoot(t)
	// The drain of 02 with each zone failed: losing another zone of
	// eu-west-1 is worst.
	args := []string{"simulate", "examples/shop", "--change", "examples/shop/changes/02-drain-zone-for-maintenance.yaml", "--duration", "20m", "--sweep", "zone"}
	code, stdout, stderr := run(args...)
	if code != ExitSafe {
		t.Fatalf("exit %d, want 0 (the verdict is the main run's)\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	table := stdout[strings.Index(stdout, "\nSweep: each zone failed at 10m (9 cases, worst first)\n")+1:]
	lines := strings.Split(table, "\n")
	if len(lines) < 3 || !strings.Contains(lines[1], "without change") || !strings.HasPrefix(strings.TrimSpace(lines[2]), "euw1-") {
		t.Errorf("sweep table:\n%s", table)
	}
	_, js, _ := run(append(args, "--format", "json")...)
	var out struct {
		Sweep struct {
			Kind  string          `json:"kind"`
			At    string          `json:"at"`
			Cases []sim.SweepCase `json:"cases"`
		} `json:"sweep"`
	}
	if err := json.Unmarshal([]byte(js), &out); err != nil {
		t.Fatal(err)
	}
	if out.Sweep.Kind != "zone" || out.Sweep.At != "10m" || len(out.Sweep.Cases) != 9 || out.Sweep.Cases[0].Baseline == nil {
		t.Errorf("json sweep: %s at %s, %d cases", out.Sweep.Kind, out.Sweep.At, len(out.Sweep.Cases))
	}
}

func writeFile(t *testing.T, path, src string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestSimulateBadInput(t *testing.T) {
	inRepoRoot(t)
	dir := t.TempDir()
	unknownKey := filepath.Join(dir, "unknown-key.yaml")
	writeFile(t, unknownKey, "title: x\nduration: 10m\nevents:\n  - at: 1m\n    fial: zone use1-az1\n")
	twoActions := filepath.Join(dir, "two-actions.yaml")
	writeFile(t, twoActions, "duration: 10m\nevents:\n  - at: 1m\n    fail: zone use1-az1\n  - at: 2m\n    fail: zone use1-az2\n    restore: zone use1-az1\n")
	late := filepath.Join(dir, "late.yaml")
	writeFile(t, late, "duration: 10m\nevents:\n  - at: 1m\n    fail: zone use1-az1\n  - at: 20m\n    restore: zone use1-az1\n")
	noSuchZone := filepath.Join(dir, "no-such-zone.yaml")
	writeFile(t, noSuchZone, "events:\n  - at: 1m\n    fail: zone use1-az9\n")
	rollback := filepath.Join(dir, "rollback.yaml")
	writeFile(t, rollback, "events:\n  - at: 1m\n    rollback: change\n")
	named := filepath.Join(dir, "named.yaml")
	writeFile(t, named, "events:\n  - at: 1m\n    name: change\n    fail: zone use1-az1\n")
	chartInMissingDir := filepath.Join(dir, "no", "such", "dir", "x.svg")

	cases := []struct {
		name string
		args []string
		msg  string
	}{
		{"unknown key", []string{"--scenario", unknownKey}, unknownKey + ":5:5"},
		{"two actions", []string{"--scenario", twoActions}, twoActions + ":5:5: an event needs exactly one of"},
		{"event after the end", []string{"--scenario", late}, late + ":5:5: event \"restore zone use1-az1\" at 20m is outside the run (0 to 10m)"},
		{"no such zone", []string{"--scenario", noSuchZone}, noSuchZone + ":2:5"},
		{"rollback without a change", []string{"--scenario", rollback}, rollback + ":2:5: event \"roll back change\" rolls back the change given on the command line, but none is given"},
		{"event named like the change", []string{"--scenario", named, "--command", "drain zone use1-az2"}, named + ":2:5: an event is named \"change\""},
		{"missing scenario", []string{"--scenario", filepath.Join(dir, "nope.yaml")}, "reading scenario"},
		{"change after the end", []string{"--command", "drain zone use1-az1", "--duration", "10m", "--change-at", "10m"}, "--change-at 10m is outside the run (0 to 10m)"},
		{"change-at without a change", []string{"--change-at", "1m"}, "no change is given"},
		{"change that does not apply", []string{"--command", "drain zone use1-az7"}, `Zone "use1-az7" does not exist`},
		{"bad command", []string{"--command", "drian zone use1-az1"}, "unknown verb"},
		{"bad format", []string{"--format", "xml"}, "unknown --format"},
		{"bad duration", []string{"--duration", "ten minutes"}, "--duration: invalid duration"},
		{"bad start", []string{"--start", "25h"}, "not a time of day"},
		{"bad clock", []string{"--start", "7:75"}, "invalid time of day"},
		{"bad tick", []string{"--tick", "2m"}, "tick 2m is out of range"},
		{"tick longer than the run", []string{"--tick", "1m", "--duration", "30s"}, "shorter than the tick"},
		{"chart in a missing directory", []string{"--duration", "1m", "--svg", chartInMissingDir}, "writing the chart to " + chartInMissingDir},
		{"unknown sweep", []string{"--sweep", "region"}, `unknown --sweep "region"`},
		{"sweep-at without a sweep", []string{"--sweep-at", "1m"}, "no sweep is asked for"},
		{"sweep after the end", []string{"--sweep", "zone", "--duration", "10m"}, "--sweep-at 10m is outside the run (0 to 10m)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := run(append([]string{"simulate", "examples/shop"}, c.args...)...)
			if code != ExitBadInput {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, ExitBadInput, stderr)
			}
			if stdout != "" {
				t.Errorf("bad input wrote output:\n%s", stdout)
			}
			if !strings.Contains(stderr, c.msg) {
				t.Errorf("stderr does not say %q:\n%s", c.msg, stderr)
			}
		})
	}
	if _, err := os.Stat(filepath.Dir(chartInMissingDir)); err == nil {
		t.Error("the missing directory was created")
	}
}

// TestSimulateDeterministic runs the same simulation twice and compares
// the bytes.
func TestSimulateDeterministic(t *testing.T) {
	inRepoRoot(t)
	args := []string{"simulate", "examples/shop", "--command", "remove instances service=api zone=use1-az1", "--scenario", "examples/shop/scenarios/zone-failure.yaml", "--seed", "42", "--format", "json"}
	_, a, errA := run(args...)
	_, b, _ := run(args...)
	if a == "" {
		t.Fatalf("no output: %s", errA)
	}
	if a != b {
		t.Fatal("two runs of the same simulation differ")
	}
}

func TestPeakHour(t *testing.T) {
	inRepoRoot(t)
	s, err := loadTwin("examples/shop")
	if err != nil {
		t.Fatal(err)
	}
	if got := sim.PeakHour(s); got.Hours() != 19 {
		t.Errorf("peak hour of the shop %v, want 19h (traffic.yaml)", got)
	}
}

func TestTimeOfDay(t *testing.T) {
	for in, want := range map[string]string{"14h": "14h0m0s", "14h30m": "14h30m0s", "14:30": "14h30m0s", "0:00:15": "15s", "23:59": "23h59m0s", "0s": "0s"} {
		got, err := timeOfDayFlag(in)
		if err != nil || got.String() != want {
			t.Errorf("%q: %v, %v; want %s", in, got, err, want)
		}
	}
	for _, in := range []string{"24h", "24:00", "12:60", "1:2:3:4", "-1h", "noon", "1:-5"} {
		if _, err := timeOfDayFlag(in); err == nil {
			t.Errorf("%q: accepted", in)
		}
	}
}
