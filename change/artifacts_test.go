package change

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

// TestArtifactsRoundTrip: the artifacts of a change file are written back
// by WriteYAML as given, and read back to the same names, files and paths.
func TestArtifactsRoundTrip(t *testing.T) {
	src := `title: ship features
artifacts:
  - name: bot-features
    file: generated/features.txt
  - {name: waf-rules, file: /srv/waf.json}
operations:
  - {op: remove, kind: Instance, name: api-4}
`
	file := filepath.Join("changes", "ship.yaml")
	cs, err := ParseFile(file, []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := []ArtifactFile{
		{Name: "bot-features", File: "generated/features.txt", Path: filepath.Join("changes", "generated", "features.txt")},
		{Name: "waf-rules", File: "/srv/waf.json", Path: "/srv/waf.json"},
	}
	wantLines := []int{3, 5}
	if len(cs.Artifacts) != len(want) {
		t.Fatalf("got %d artifacts, want %d: %+v", len(cs.Artifacts), len(want), cs.Artifacts)
	}
	for i, a := range cs.Artifacts {
		if a.Name != want[i].Name || a.File != want[i].File || a.Path != want[i].Path {
			t.Errorf("artifact %d = %+v, want %+v", i, a, want[i])
		}
		if a.Pos.File != file || a.Pos.Line != wantLines[i] || a.Pos.Col != 5 {
			t.Errorf("artifact %d at %s, want %s:%d:5", i, a.Pos, file, wantLines[i])
		}
	}
	var buf bytes.Buffer
	if err := WriteYAML(&buf, cs); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "artifacts:") {
		t.Fatalf("WriteYAML wrote no artifacts:\n%s", buf.String())
	}
	back, err := ParseFile(file, buf.Bytes())
	if err != nil {
		t.Fatalf("the written change does not parse: %v\n%s", err, buf.String())
	}
	if len(back.Artifacts) != len(want) {
		t.Fatalf("read back %d artifacts, want %d:\n%s", len(back.Artifacts), len(want), buf.String())
	}
	for i, a := range back.Artifacts {
		if a.Name != want[i].Name || a.File != want[i].File || a.Path != want[i].Path {
			t.Errorf("read back artifact %d = %+v, want %+v", i, a, want[i])
		}
	}
}

// TestArtifactsOnly: a change may ship artifacts without operating on the
// twin; it applies as a change that touches nothing, and writes back.
func TestArtifactsOnly(t *testing.T) {
	cs, err := ParseFile("a.yaml", []byte("artifacts: [{name: bot-features, file: f.txt}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Apply(loadFixture(t), cs)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Touched) != 0 {
		t.Errorf("touched %v", res.Touched)
	}
	var buf bytes.Buffer
	if err := WriteYAML(&buf, cs); err != nil {
		t.Fatal(err)
	}
	back, err := ParseFile("a.yaml", buf.Bytes())
	if err != nil || len(back.Artifacts) != 1 || back.Artifacts[0].Path != "f.txt" {
		t.Fatalf("read back %+v, %v\n%s", back, err, buf.String())
	}
}
