package change

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/preflight-sh/preflight/yamldecode"
)

// FuzzCompile feeds the command language arbitrary text: Compile must not
// panic, its errors are positioned on the command, and what it compiles
// applies to the fixture or fails, never panics.
func FuzzCompile(f *testing.F) {
	for _, tc := range commandTests {
		f.Add(tc.cmd)
	}
	for _, tc := range commandErrorTests {
		f.Add(tc.cmd)
	}
	for _, c := range []string{
		"set lb api-lb weight 0=3", "set zone use1-az1 labels={a: b}", "set instance api-1 labels[x.y]=z",
		"withdraw prefix 2001:db8::/32", "withdraw prefix dns-anycast site=a]b", "drain instances region!=us-east-1",
		"add instances service=api zone=use1-az1 count=3 role=\"x\"", "set zone use1-az1 state=\"\\x00\"",
	} {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, cmd string) {
		ops, err := Compile(cmd)
		if err != nil {
			var l yamldecode.ErrorList
			if !errors.As(err, &l) || len(l) == 0 {
				t.Fatalf("Compile(%q) error %T is not an ErrorList: %v", cmd, err, err)
			}
			for _, e := range l {
				if e.Pos.File != "command" || e.Pos.Line != 1 || e.Pos.Col < 1 || e.Pos.Col > len(cmd)+1 {
					t.Fatalf("Compile(%q): error at %s: %v", cmd, e.Pos, e.Msg)
				}
			}
			return
		}
		if len(ops) == 0 {
			t.Fatalf("Compile(%q) gave no operations and no error", cmd)
		}
		if len(ops) > 10 {
			ops = ops[:10] // add instances count=N: N alike operations
		}
		res, err := Apply(fixture(t), &ChangeSet{Source: "command", Operations: ops})
		if err != nil {
			var l yamldecode.ErrorList
			if !errors.As(err, &l) {
				t.Fatalf("Apply of %q: error %T is not an ErrorList: %v", cmd, err, err)
			}
			return
		}
		res.SelectorFindings()
	})
}

// FuzzChangeFile feeds ParseFile arbitrary bytes: it must not panic, its
// errors name the file and a line, and what it parses applies to the
// fixture (or fails) and writes back out without panicking.
func FuzzChangeFile(f *testing.F) {
	paths, _ := filepath.Glob("testdata/changefile/*.txt")
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		input, _, _ := splitGolden(data)
		f.Add(input)
	}
	for _, s := range puritySets {
		f.Add([]byte(s))
	}
	for _, s := range []string{
		"commands: &a [drain zone use1-az1]\n",
		"x: &a [drain zone use1-az1]\ncommands: *a\n",
		"operations: &o [{op: remove, kind: Instance, name: api-1}]\n",
		"operations:\n  - &op {op: remove, kind: Instance, name: api-1}\n  - *op\n",
		"operations: [{op: set, kind: Zone, name: use1-az1, fields: {state: !!str drained}}]\n",
		"operations: [{op: patch, kind: Service, name: billing, patch: {<<: {a: 1}}}]\n",
		"operations: [{op: add, object: {kind: Instance, service: api, zone: use1-az1}}]\n",
		"artifacts: [{name: bot-features, file: features.txt}]\n",
		"artifacts:\n  - name: a\n    file: /abs/a.csv\n  - {name: b, file: ../b.json}\noperations: []\n",
		"artifacts: [{name: a, file: x}, {name: a, file: y}, {name: \"\", file: \" \"}]\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cs, err := ParseFile("fuzz.yaml", data)
		if err != nil {
			var l yamldecode.ErrorList
			if !errors.As(err, &l) || len(l) == 0 {
				t.Fatalf("error %T is not an ErrorList: %v", err, err)
			}
			for _, e := range l {
				if e.Pos.File != "fuzz.yaml" || e.Pos.Line < 1 {
					t.Fatalf("error without a position: %q at %#v", e.Msg, e.Pos)
				}
			}
			return
		}
		if len(cs.Operations) == 0 && len(cs.Artifacts) == 0 {
			t.Fatal("ParseFile gave no operations, no artifacts and no error")
		}
		for _, a := range cs.Artifacts {
			if a.Name == "" || a.File == "" || a.Path == "" || a.Pos.File != "fuzz.yaml" || a.Pos.Line < 1 {
				t.Fatalf("artifact %+v: empty name, file or path, or no position", a)
			}
		}
		if len(cs.Operations) > 20 {
			cs.Operations = cs.Operations[:20]
		}
		_, _ = json.Marshal(cs)
		var buf bytes.Buffer
		_ = WriteYAML(&buf, cs)
		res, err := Apply(fixture(t), cs)
		if err != nil {
			return
		}
		res.SelectorFindings()
	})
}
