package cli

import (
	"bufio"
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the expected outputs of the example changes")

// inRepoRoot runs the test from the repository root, where the README's
// commands are meant to be run.
func inRepoRoot(t *testing.T) {
	t.Helper()
	t.Chdir("..")
}

func run(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = Main(args, &out, &errb)
	return code, out.String(), errb.String()
}

// splitShell splits a command line into words, honouring single and
// double quotes (enough for the README's commands).
func splitShell(line string) []string {
	var words []string
	var cur strings.Builder
	quote := rune(0)
	inWord := false
	for _, r := range line {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '"' || r == '\'':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

var exitComment = regexp.MustCompile(`#\s*exit (\d+)\s*$`)

// TestREADMECommands runs every `go run ./cmd/preflight ...` line of the
// README's shell blocks and checks its exit code (0 unless the line ends
// with "# exit N").
func TestREADMECommands(t *testing.T) {
	inRepoRoot(t)
	f, err := os.Open("README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tmp := t.TempDir()
	inBlock, n := false, 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "```") {
			inBlock = !inBlock && strings.TrimPrefix(line, "```") == "sh"
			continue
		}
		if !inBlock || !strings.HasPrefix(line, "go run ./cmd/preflight ") {
			continue
		}
		want := 0
		if m := exitComment.FindStringSubmatch(line); m != nil {
			want, _ = strconv.Atoi(m[1])
		}
		if i := strings.Index(line, "#"); i >= 0 {
			line = line[:i]
		}
		args := splitShell(strings.TrimPrefix(line, "go run ./cmd/preflight "))
		for i, a := range args {
			if strings.HasPrefix(a, "/tmp/") {
				args[i] = filepath.Join(tmp, filepath.Base(a))
			}
		}
		n++
		code, stdout, stderr := run(args...)
		if code != want {
			t.Errorf("README: %s\nexit %d, want %d\nstdout:\n%s\nstderr:\n%s", line, code, want, stdout, stderr)
		}
		if stdout == "" {
			t.Errorf("README: %s printed nothing", line)
		}
	}
	if n < 5 {
		t.Fatalf("found only %d README commands; the parser or the README is off", n)
	}
}

// TestExampleChanges checks every example change against its expected
// output (examples/shop/changes/expected/NAME.txt: the exit code, then the
// text report). Run with -update to rewrite them.
func TestExampleChanges(t *testing.T) {
	inRepoRoot(t)
	files, _ := filepath.Glob("examples/shop/changes/*.yaml")
	if len(files) < 6 {
		t.Fatalf("want at least 6 example changes, found %d", len(files))
	}
	exits := map[int]int{}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		t.Run(name, func(t *testing.T) {
			code, stdout, stderr := run("check", "examples/shop", "--change", f, "--no-color")
			if code != 0 && code != 1 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			exits[code]++
			got := "exit: " + strconv.Itoa(code) + "\n" + stdout
			golden := filepath.Join("examples/shop/changes/expected", name+".txt")
			if *update {
				os.MkdirAll(filepath.Dir(golden), 0o755)
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./cli -run TestExampleChanges -update)", err)
			}
			if got != string(want) {
				t.Errorf("output differs from %s (rerun with -update if the change is intended)\n--- got\n%s", golden, got)
			}
		})
	}
	if exits[0] < 3 || exits[1] < 3 {
		t.Errorf("want at least 3 safe and 3 blocked example changes, got %d safe and %d blocked", exits[0], exits[1])
	}
}

// TestDocumentedCommands plans every example of docs/commands.md on the
// example twin: each one must compile and apply.
func TestDocumentedCommands(t *testing.T) {
	inRepoRoot(t)
	doc, err := os.ReadFile("docs/commands.md")
	if err != nil {
		t.Fatal(err)
	}
	verbs := regexp.MustCompile(`^(drain|undrain|shutdown|restore|remove|add|set|withdraw|announce|scale) `)
	var cmds []string
	inBlock := false
	for _, line := range strings.Split(string(doc), "\n") {
		if strings.HasPrefix(line, "```") {
			inBlock = !inBlock
			continue
		}
		if inBlock && verbs.MatchString(line) && !strings.Contains(line, "NOUN") {
			cmds = append(cmds, strings.TrimSpace(line))
		}
	}
	for _, m := range regexp.MustCompile("`((?:drain|undrain|shutdown|restore|remove|add|set|withdraw|announce|scale) [^`]+)`").FindAllStringSubmatch(string(doc), -1) {
		if !strings.Contains(m[1], "…") {
			cmds = append(cmds, m[1])
		}
	}
	if len(cmds) < 15 {
		t.Fatalf("found only %d documented commands", len(cmds))
	}
	for _, c := range cmds {
		if code, _, stderr := run("plan", "examples/shop", "--command", c); code != 0 {
			t.Errorf("docs/commands.md: %q: exit %d\n%s", c, code, stderr)
		}
	}
}

func TestBadInput(t *testing.T) {
	inRepoRoot(t)
	cases := []struct {
		name string
		args []string
		msg  string
	}{
		{"no twin", []string{"validate", "no/such/twin"}, "does not exist"},
		{"no change", []string{"check", "examples/shop"}, "give the change"},
		{"both changes", []string{"check", "examples/shop", "--command", "drain zone use1-az1", "--change", "x.yaml"}, "not both"},
		{"bad format", []string{"plan", "examples/shop", "--command", "drain zone use1-az1", "--format", "xml"}, "unknown --format"},
		{"bad command", []string{"check", "examples/shop", "--command", "drian zone use1-az1"}, `command:1:1: unknown verb "drian" (did you mean "drain"?)`},
		{"missing object", []string{"check", "examples/shop", "--command", "drain zone use1-az7"}, `Zone "use1-az7" does not exist`},
		{"missing change file", []string{"check", "examples/shop", "--change", "no/such/change.yaml"}, "reading change file"},
		{"unknown flag", []string{"check", "--frobnicate"}, "unknown flag"},
		{"unknown command", []string{"frobnicate"}, "unknown command"},
		{"no args", []string{"validate"}, "accepts 1 arg"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := run(c.args...)
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
}

// TestDeterministic runs the same check twice and compares the bytes.
func TestDeterministic(t *testing.T) {
	inRepoRoot(t)
	args := []string{"check", "examples/shop", "--command", "remove instances zone=use1-az1", "--format", "json"}
	_, a, _ := run(args...)
	_, b, _ := run(args...)
	if a != b || a == "" {
		t.Fatal("two runs of the same check differ")
	}
}

// TestReportFormats checks every --format of check and plan: the exit code
// is the verdict's whatever the format, and each output is what it says.
func TestReportFormats(t *testing.T) {
	inRepoRoot(t)
	change := "examples/shop/changes/04-remove-billing-hosts-typo.yaml"
	for _, c := range []struct{ format, start string }{
		{"text", "preflight check: "},
		{"json", "{\n"},
		{"markdown", "**BLOCK** — "},
		{"sarif", "{\n  \"$schema\": \"https://json.schemastore.org/sarif-2.1.0.json\",\n  \"version\": \"2.1.0\","},
		{"junit", "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite name=\"preflight check\""},
	} {
		format, start := c.format, c.start
		t.Run(format, func(t *testing.T) {
			code, stdout, stderr := run("check", "examples/shop", "--change", change, "--format", format, "--no-color")
			if code != ExitBlocked || !strings.HasPrefix(stdout, start) {
				t.Errorf("exit %d, want %d; output starts %.120q, want %q\n%s", code, ExitBlocked, stdout, start, stderr)
			}
		})
	}
	code, stdout, stderr := run("plan", "examples/shop", "--command", "drain zone use1-az2", "--format", "markdown")
	if code != 0 || !strings.HasPrefix(stdout, "**PLAN** — ") {
		t.Errorf("plan --format markdown: exit %d, output %.120q\n%s", code, stdout, stderr)
	}
	if code, _, stderr := run("check", "examples/shop", "--change", change, "--format", "xml"); code != ExitBadInput || !strings.Contains(stderr, "use one of [text json markdown sarif junit]") {
		t.Errorf("--format xml: exit %d\n%s", code, stderr)
	}
}

func TestOverrides(t *testing.T) {
	change := "--change=../examples/shop/changes/04-remove-billing-hosts-typo.yaml"
	for _, c := range []struct {
		override string
		code     int
		want     string
	}{
		{"capacity-floors", 2, "write POLICY=APPROVER:REASON"},
		{"capacity-floors=alice", 2, "write POLICY=APPROVER:REASON"},
		{"no-such-policy=alice:because", 2, "no such policy"},
	} {
		code, _, stderr := run("check", "../examples/shop", change, "--override", c.override)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("--override %q: exit %d, stderr %q; want exit %d mentioning %q", c.override, code, stderr, c.code, c.want)
		}
	}
}
