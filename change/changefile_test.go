package change

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A change file golden test (testdata/changefile/NAME.txt) is the change
// file text, a line "-- want --", and what ParseFile gives: the parsed
// change as JSON, the position of each operation and the blast radius of
// applying it to the fixture; or the error list.
const wantSeparator = "-- want --\n"

// splitGolden returns the input and expected output of a golden file.
func splitGolden(data []byte) (input, want []byte, ok bool) {
	if bytes.HasPrefix(data, []byte(wantSeparator)) {
		return nil, data[len(wantSeparator):], true
	}
	i := bytes.Index(data, []byte("\n"+wantSeparator))
	if i < 0 {
		return nil, nil, false
	}
	return data[:i+1], data[i+1+len(wantSeparator):], true
}

// describeParse renders what ParseFile and Apply give for a change file.
func describeParse(t *testing.T, name string, src []byte) string {
	t.Helper()
	cs, err := ParseFile(name, src)
	if err != nil {
		errorList(t, err)
		return "error:\n" + err.Error() + "\n"
	}
	var b strings.Builder
	j, err := json.MarshalIndent(cs, "", "  ")
	if err != nil {
		t.Fatalf("marshal change set: %v", err)
	}
	b.Write(j)
	b.WriteString("\npositions:\n")
	for i, op := range cs.Operations {
		fmt.Fprintf(&b, "  operation %d: %s\n", i+1, op.Pos)
	}
	for i, a := range cs.Artifacts {
		fmt.Fprintf(&b, "  artifact %d: %s\n", i+1, a.Pos)
	}
	res, err := Apply(loadFixture(t), cs)
	if err != nil {
		b.WriteString("apply error:\n" + err.Error() + "\n")
		return b.String()
	}
	b.WriteString("applied to the fixture:\n")
	for _, tc := range res.Touched {
		fmt.Fprintf(&b, "  %s %s/%s by %v at %s\n", tc.Action, tc.Kind, tc.Name, tc.Ops, tc.Pos)
		for _, c := range tc.Changes {
			fmt.Fprintf(&b, "    %s: %q -> %q\n", c.Path, c.Before, c.After)
		}
	}
	for _, s := range res.Selections {
		fmt.Fprintf(&b, "  operation %d selects %s %s count=%d: matched %v, chosen %v\n", s.Op, s.Kind, s.Selector, s.Count, s.Matched, s.Chosen)
	}
	return b.String()
}

func TestChangeFileGolden(t *testing.T) {
	paths, err := filepath.Glob("testdata/changefile/*.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("no golden files in testdata/changefile")
	}
	for _, path := range paths {
		name := strings.TrimSuffix(filepath.Base(path), ".txt")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			input, want, ok := splitGolden(data)
			if !ok && *update {
				// A new test: all of it is input.
				input, ok = data, true
			}
			if !ok {
				t.Fatalf("%s has no %q line", path, strings.TrimSpace(wantSeparator))
			}
			got := describeParse(t, name+".yaml", input)
			if *update {
				out := append(append(input, wantSeparator...), got...)
				if err := os.WriteFile(path, out, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if got != string(want) {
				t.Errorf("result differs (rerun with -update to accept)\n--- got\n%s--- want\n%s", got, want)
			}
		})
	}
}

func TestSplitGolden(t *testing.T) {
	for _, tc := range []struct{ in, input, want string }{
		{"a: 1\n-- want --\nok\n", "a: 1\n", "ok\n"},
		{"-- want --\nerror\n", "", "error\n"},
		{"a: 1\n-- want --\n", "a: 1\n", ""},
	} {
		input, want, ok := splitGolden([]byte(tc.in))
		if !ok || string(input) != tc.input || string(want) != tc.want {
			t.Errorf("splitGolden(%q) = %q, %q, %v", tc.in, input, want, ok)
		}
	}
	if _, _, ok := splitGolden([]byte("a: 1\n")); ok {
		t.Error("splitGolden found a separator in a file without one")
	}
}

// TestParseFileErrorPositions checks that every error of a bad change file
// has a file, a line and a column.
func TestParseFileErrorPositions(t *testing.T) {
	paths, _ := filepath.Glob("testdata/changefile/*.txt")
	for _, path := range paths {
		data, _ := os.ReadFile(path)
		input, _, _ := splitGolden(data)
		_, err := ParseFile("f.yaml", input)
		if err == nil {
			continue
		}
		for _, e := range errorList(t, err) {
			if e.Pos.File != "f.yaml" || e.Pos.Line < 1 || e.Pos.Col < 1 {
				t.Errorf("%s: error without a full position: %v", path, e)
			}
		}
	}
}
