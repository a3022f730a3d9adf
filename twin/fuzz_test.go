package twin

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoad feeds the loader arbitrary twins: a test archive ("-- name --"
// sections, as in testdata/load) or, without sections, one file. Loading
// must not panic, must give a snapshot or a non-empty ErrorList whose every
// entry has a file and a line, and must give the same result twice.
func FuzzLoad(f *testing.F) {
	paths, err := filepath.Glob("testdata/load/*.txt")
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"",
		"kind: Region\nname: r\n",
		"kind: Zone\nname: z\nregion: &a r\nstate: *a\n",
		"kind: Device\nname: d\nsite: s\ninterfaces: [{name: e, addresses: [10.0.0.1/8, '::1/1']}]\n",
		"kind: Service\nname: a\ninstanceCapacity: 1rps\ndependencies: [{service: a}, {service: b}]\n---\nkind: Service\nname: b\ninstanceCapacity: 1rps\ndependencies: [{service: a}]\n",
		"kind: Link\nname: l\na: 'x:y:z'\nb: ':'\ncapacity: 1bps\n",
		"kind: DNSRecord\nname: n\nttl: 1s\npolicy: failover\nanswers: [{name: a, values: []}, null]\n",
		"- [\n{a: b}: c\n",
		"kind: !!str Region\nname: r\n<<: {x: 1}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, sections := parseArchive(data)
		files := twinFilesOf(sections)
		if len(files) == 0 {
			files = map[string][]byte{"twin.yaml": data}
		}
		snap, err := LoadFiles(files)
		if err == nil {
			if snap == nil {
				t.Fatal("LoadFiles returned neither a snapshot nor an error")
			}
		} else {
			checkErrorList(t, err)
		}
		_, again := LoadFiles(files)
		if errString(err) != errString(again) {
			t.Fatalf("two loads differ:\n%v\n---\n%v", err, again)
		}
	})
}

// checkErrorList asserts that err is a non-empty ErrorList of positioned
// errors. Only "file too big" is reported without a line.
func checkErrorList(t *testing.T, err error) {
	t.Helper()
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("error is %T, want an ErrorList: %v", err, err)
	}
	if len(list) == 0 {
		t.Fatal("empty ErrorList returned as an error")
	}
	for _, e := range list {
		if e.Pos.File == "" {
			t.Errorf("error without a file: %v", e)
		}
		if e.Pos.Line < 1 && !strings.HasPrefix(e.Msg, "file is ") {
			t.Errorf("error without a line: %v", e)
		}
		if e.Msg == "" || strings.HasPrefix(e.Msg, semanticPrefix) {
			t.Errorf("error message empty or still marked: %q", e.Msg)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
