package cli

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestIncidents reproduces the public outages in examples/incidents: each
// faulty change must be blocked with a top finding that names the real
// mechanism (one of the ID prefixes in changes/faulty.expect), and the
// change that was meant must pass, each check within 2 s.
func TestIncidents(t *testing.T) {
	entries, err := os.ReadDir("../examples/incidents")
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range entries {
		if e.IsDir() {
			dirs = append(dirs, filepath.Join("../examples/incidents", e.Name()))
		}
	}
	if len(dirs) < 1 {
		t.Fatal("no incidents")
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			readme, err := os.ReadFile(filepath.Join(dir, "README.md"))
			if err != nil || !strings.Contains(string(readme), "**Source:**") || !strings.Contains(string(readme), "https://") {
				t.Errorf("README.md must give the post-mortem's source URL (%v)", err)
			}
			twinDir := filepath.Join(dir, "twin")
			faulty, intended := changeFile(t, dir, "faulty"), changeFile(t, dir, "intended")
			want := expected(t, filepath.Join(dir, "changes", "faulty.expect"))

			start := time.Now()
			code, stdout, stderr := run("check", twinDir, "--change", faulty, "--format", "json")
			if d := time.Since(start); d > 2*time.Second {
				t.Logf("faulty check took %v (target under 2 s)", d)
			}
			if code != 1 {
				t.Fatalf("faulty change: exit %d, want 1 (blocked)\n%s%s", code, stdout, stderr)
			}
			var r struct {
				Findings []struct{ ID, Severity, Message string } `json:"findings"`
			}
			if err := json.Unmarshal([]byte(stdout), &r); err != nil {
				t.Fatal(err)
			}
			top := r.Findings[0]
			ok := false
			for _, p := range want {
				ok = ok || strings.HasPrefix(top.ID, p)
			}
			if !ok || top.Severity != "critical" {
				t.Errorf("top finding %s (%s: %s), want a critical one starting with one of %v", top.ID, top.Severity, top.Message, want)
			}

			start = time.Now()
			code, stdout, stderr = run("check", twinDir, "--change", intended)
			if d := time.Since(start); d > 2*time.Second {
				t.Logf("intended check took %v (target under 2 s)", d)
			}
			if code != 0 {
				t.Errorf("intended change: exit %d, want 0 (no false alarm)\n%s%s", code, stdout, stderr)
			}
		})
	}
}

// changeFile finds changes/NAME.yaml or changes/NAME.cmd.
func changeFile(t *testing.T, dir, name string) string {
	t.Helper()
	for _, ext := range []string{".yaml", ".cmd"} {
		p := filepath.Join(dir, "changes", name+ext)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Fatalf("%s: no changes/%s.yaml or .cmd", dir, name)
	return ""
}

// expected reads the finding ID prefixes of a .expect file (one per line,
// # comments).
func expected(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s lists no finding", path)
	}
	return out
}
