package failures_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/preflight-sh/preflight/cli"
)

// The command line of `preflight failures` (cli/failures.go), tested here
// so that the command's tests live with the package.

// lineTwin is a - b - c with a second, parallel link a - b.
const lineTwin = `kind: Region
name: r
---
kind: Zone
name: z
region: r
---
kind: Site
name: s1
type: datacenter
region: r
zone: z
---
kind: Device
name: a
site: s1
interfaces:
  - {name: lo0, addresses: [10.0.0.1/32]}
  - {name: e0, addresses: [10.1.0.0/31]}
  - {name: e1, addresses: [10.1.1.0/31]}
---
kind: Device
name: b
site: s1
interfaces:
  - {name: lo0, addresses: [10.0.0.2/32]}
  - {name: e0, addresses: [10.1.0.1/31]}
  - {name: e1, addresses: [10.1.1.1/31]}
  - {name: e2, addresses: [10.1.2.0/31]}
---
kind: Device
name: c
site: s1
interfaces:
  - {name: lo0, addresses: [10.0.0.3/32]}
  - {name: e2, addresses: [10.1.2.1/31]}
---
{kind: Link, name: a--b, a: "a:e0", b: "b:e0", capacity: 100Gbps}
---
{kind: Link, name: a--b-2, a: "a:e1", b: "b:e1", capacity: 100Gbps}
---
{kind: Link, name: b--c, a: "b:e2", b: "c:e2", capacity: 100Gbps}
`

func writeTwin(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "twin.yaml"), []byte(lineTwin), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func run(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := cli.Main(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestCommand(t *testing.T) {
	dir := writeTwin(t)
	for _, tc := range []struct {
		args []string
		code int
		want []string
	}{
		{[]string{"failures", dir}, 1, []string{"FAILS: 1 minimal failing set(s)", "1. link b--c", "4 of 6 demands fail, e.g. tcp 10.0.0.1:49152 → 10.0.0.3:443 from a to c",
			"before: a[e0] → b[e2] → c: delivered", "after:  a: no-route (a has no route for it)", "skipped 1 symmetric"}},
		{[]string{"failures", dir, "--k", "2"}, 1, []string{"FAILS: 2 minimal failing set(s)", "2. link a--b and link a--b-2", "2 not minimal"}},
		{[]string{"failures", dir, "--devices"}, 1, []string{"1. device b"}},
		{[]string{"failures", dir, "--from", "a", "--to", "b", "--k", "1"}, 0, []string{"HOLDS under every set of up to 1 failed links"}},
		{[]string{"failures", dir, "--from", "a", "--to", "b", "--k", "2", "--first"}, 1, []string{"1. link a--b and link a--b-2"}},
		{[]string{"failures", dir, "--from", "a", "--to", "c", "--dst", "10.0.0.3", "--exhaustive"}, 1, []string{"1. link b--c", "none: exhaustive sweep"}},
		{[]string{"failures", "../examples/shop"}, 0, []string{"HOLDS"}},
	} {
		code, out, errs := run(tc.args...)
		if code != tc.code {
			t.Errorf("%v: exit %d, want %d\n%s%s", tc.args, code, tc.code, out, errs)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%v: output lacks %q:\n%s", tc.args, w, out)
			}
		}
		if _, again, _ := run(tc.args...); again != out {
			t.Errorf("%v: output differs between runs", tc.args)
		}
	}
}

func TestCommandJSON(t *testing.T) {
	dir := writeTwin(t)
	code, out, errs := run("failures", dir, "--k", "2", "--format", "json")
	if code != 1 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var doc struct {
		Kind   string `json:"kind"`
		Result struct {
			Holds   bool `json:"holds"`
			Failing []struct {
				Elements []struct{ Kind, Name string }
			} `json:"failing"`
		} `json:"result"`
		Findings []struct {
			ID       string `json:"id"`
			Severity string `json:"severity"`
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Kind != "FailureTolerance" || doc.Result.Holds || len(doc.Result.Failing) != 2 || len(doc.Findings) != 2 {
		t.Fatalf("%+v", doc)
	}
	if doc.Findings[0].Severity != "critical" || !strings.HasPrefix(doc.Findings[0].ID, "failures.k-tolerance/all-pairs/") {
		t.Errorf("findings %+v", doc.Findings)
	}
}

func TestCommandBadInput(t *testing.T) {
	dir := writeTwin(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"failures", dir, "--k", "3"}, "--k 3: give 1 or 2"},
		{[]string{"failures", dir, "--from", "a"}, "give both --from DEVICE and --to DEVICE"},
		{[]string{"failures", dir, "--dst", "10.0.0.0/8"}, "--dst needs --from and --to"},
		{[]string{"failures", dir, "--from", "a", "--to", "x"}, `to "x" is not a device`},
		{[]string{"failures", dir, "--from", "a", "--to", "b", "--dst", "nope"}, `--dst "nope"`},
		{[]string{"failures", dir, "--format", "xml"}, `unknown --format "xml"`},
		{[]string{"failures", filepath.Join(dir, "missing")}, "preflight:"},
	} {
		code, out, errs := run(tc.args...)
		if code != 2 || out != "" || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and %q", tc.args, code, out, errs, tc.want)
		}
	}
}
