package change

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/goccy/go-yaml"

	"github.com/preflight-sh/preflight/twin"
	"github.com/preflight-sh/preflight/yamldecode"
)

var update = flag.Bool("update", false, "rewrite the expected output of golden files")

// fixtureDir holds the small twin the tests change.
const fixtureDir = "testdata/twin"

var fixtureFiles = sync.OnceValues(func() (map[string][]byte, error) {
	paths, err := filepath.Glob(filepath.Join(fixtureDir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		files[filepath.Base(p)] = b
	}
	return files, nil
})

// loadFixture loads a fresh copy of the fixture twin.
func loadFixture(tb testing.TB) *twin.Snapshot {
	tb.Helper()
	files, err := fixtureFiles()
	if err != nil {
		tb.Fatal(err)
	}
	s, err := twin.LoadFiles(files)
	if err != nil {
		tb.Fatalf("fixture does not load:\n%v", err)
	}
	return s
}

// sharedFixture is one fixture snapshot shared by fuzz targets; Apply must
// never change it.
var sharedFixture struct {
	once sync.Once
	s    *twin.Snapshot
}

func fixture(tb testing.TB) *twin.Snapshot {
	tb.Helper()
	sharedFixture.once.Do(func() { sharedFixture.s = loadFixture(tb) })
	if sharedFixture.s == nil {
		tb.Fatal("fixture did not load")
	}
	return sharedFixture.s
}

// canonical renders every object of a snapshot as JSON, one per line, in
// snapshot.All() order.
func canonical(tb testing.TB, s *twin.Snapshot) string {
	tb.Helper()
	var b strings.Builder
	for _, o := range s.All() {
		j, err := json.Marshal(o)
		if err != nil {
			tb.Fatalf("marshal %s: %v", twin.RefOf(o), err)
		}
		b.Write(j)
		b.WriteByte('\n')
	}
	return b.String()
}

// diffLines returns the lines of two canonical renderings that differ.
func diffLines(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	inA, inB := map[string]bool{}, map[string]bool{}
	for _, l := range al {
		inA[l] = true
	}
	for _, l := range bl {
		inB[l] = true
	}
	var out []string
	for _, l := range al {
		if !inB[l] {
			out = append(out, "- "+l)
		}
	}
	for _, l := range bl {
		if !inA[l] {
			out = append(out, "+ "+l)
		}
	}
	return strings.Join(out, "\n")
}

// field renders the value at path in the object ref ("Kind/Name") of s as
// compact YAML; "<absent>" if the object does not exist.
func field(tb testing.TB, s *twin.Snapshot, ref, path string) string {
	tb.Helper()
	kind, name, _ := strings.Cut(ref, "/")
	o := s.Get(kind, name)
	if o == nil {
		return "<absent>"
	}
	if path == "" {
		return "<present>"
	}
	// resolvePath creates nil pointers on its way: walk a copy.
	cp := deepCopy(reflect.ValueOf(o).Elem())
	targets, err := resolvePath(cp, path)
	if err != nil {
		tb.Fatalf("%s: %v", ref, err)
	}
	if len(targets) != 1 {
		tb.Fatalf("%s %s: %d values", ref, path, len(targets))
	}
	t := targets[0]
	if t.isMap {
		v := t.v.MapIndex(reflect.ValueOf(t.mapKey))
		if !v.IsValid() {
			return "<absent>"
		}
		return show(v)
	}
	return show(t.v)
}

// show prints a value as compact one-line YAML, zero values included.
func show(v reflect.Value) string {
	b, err := yaml.MarshalWithOptions(v.Interface(), yaml.Flow(true))
	if err != nil {
		return fmt.Sprintf("<%v>", err)
	}
	return strings.TrimSpace(string(b))
}

// errorList asserts that err is a yamldecode.ErrorList and returns it.
func errorList(tb testing.TB, err error) yamldecode.ErrorList {
	tb.Helper()
	var l yamldecode.ErrorList
	if !errors.As(err, &l) {
		tb.Fatalf("error is %T, want a yamldecode.ErrorList: %v", err, err)
	}
	if len(l) == 0 {
		tb.Fatal("empty ErrorList")
	}
	return l
}

// mustCompile compiles commands into one change set.
func mustCompile(tb testing.TB, cmds ...string) *ChangeSet {
	tb.Helper()
	cs := &ChangeSet{Source: "command"}
	for _, c := range cmds {
		ops, err := Compile(c)
		if err != nil {
			tb.Fatalf("Compile(%q): %v", c, err)
		}
		cs.Operations = append(cs.Operations, ops...)
	}
	return cs
}

// mustParse parses change file text.
func mustParse(tb testing.TB, text string) *ChangeSet {
	tb.Helper()
	cs, err := ParseFile("change.yaml", []byte(text))
	if err != nil {
		tb.Fatalf("ParseFile:\n%v", err)
	}
	return cs
}

func TestFixtureLoads(t *testing.T) {
	s := loadFixture(t)
	if n := len(s.List("Instance")); n < 11 {
		t.Errorf("fixture has %d instances; the selector.count test needs at least 11", n)
	}
}
