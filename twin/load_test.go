package twin

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the expected output of golden files")

// wantSection names the archive section that holds the expected output.
const wantSection = "want"

// archiveFile is one section of a test archive.
type archiveFile struct {
	name string
	data []byte
}

// parseArchive splits a test archive in the style of txtar: a comment, then
// sections each introduced by a line "-- name --".
func parseArchive(data []byte) (comment []byte, files []archiveFile) {
	cur := &comment
	for line := range bytes.Lines(data) {
		if name, ok := sectionName(line); ok {
			files = append(files, archiveFile{name: name})
			cur = &files[len(files)-1].data
			continue
		}
		*cur = append(*cur, line...)
	}
	return comment, files
}

// sectionName returns the name of a "-- name --" line.
func sectionName(line []byte) (string, bool) {
	s := strings.TrimRight(string(line), "\r\n")
	if !strings.HasPrefix(s, "-- ") || !strings.HasSuffix(s, " --") || len(s) < 7 {
		return "", false
	}
	name := strings.TrimSpace(s[3 : len(s)-3])
	return name, name != ""
}

// formatArchive is the inverse of parseArchive.
func formatArchive(comment []byte, files []archiveFile) []byte {
	var b bytes.Buffer
	b.Write(comment)
	for _, f := range files {
		b.WriteString("-- " + f.name + " --\n")
		b.Write(f.data)
		if len(f.data) > 0 && f.data[len(f.data)-1] != '\n' {
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

// twinFilesOf returns the twin files of an archive (every section but the
// expected output).
func twinFilesOf(files []archiveFile) map[string][]byte {
	out := map[string][]byte{}
	for _, f := range files {
		if f.name != wantSection {
			out[f.name] = f.data
		}
	}
	return out
}

// loadResult is what a golden file expects: "ok" or the error list.
func loadResult(t *testing.T, files map[string][]byte) string {
	t.Helper()
	snap, err := LoadFiles(files)
	if err == nil {
		if snap == nil {
			t.Fatal("LoadFiles returned neither a snapshot nor an error")
		}
		return "ok\n"
	}
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("LoadFiles returned %T, want an ErrorList: %v", err, err)
	}
	return err.Error() + "\n"
}

func TestLoadGolden(t *testing.T) {
	paths, err := filepath.Glob("testdata/load/*.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("no golden files in testdata/load")
	}
	for _, path := range paths {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txt"), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			comment, files := parseArchive(data)
			twin := twinFilesOf(files)
			if len(twin) == 0 {
				t.Fatal("archive holds no twin files")
			}
			got := loadResult(t, twin)
			if *update {
				kept := files[:0]
				for _, f := range files {
					if f.name != wantSection {
						kept = append(kept, f)
					}
				}
				kept = append(kept, archiveFile{wantSection, []byte(got)})
				if err := os.WriteFile(path, formatArchive(comment, kept), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			var want string
			for _, f := range files {
				if f.name == wantSection {
					want = string(f.data)
				}
			}
			if got != want {
				t.Errorf("load result differs (rerun with -update to accept)\n--- got\n%s--- want\n%s", got, want)
			}
		})
	}
}

func TestParseArchive(t *testing.T) {
	in := "comment\n-- a.yaml --\nkind: Region\n-- b.yaml --\n-- want --\nok\n"
	comment, files := parseArchive([]byte(in))
	if string(comment) != "comment\n" {
		t.Errorf("comment = %q", comment)
	}
	names := []string{}
	for _, f := range files {
		names = append(names, f.name)
	}
	if strings.Join(names, ",") != "a.yaml,b.yaml,want" || string(files[0].data) != "kind: Region\n" || len(files[1].data) != 0 {
		t.Errorf("files = %q", files)
	}
	if out := string(formatArchive(comment, files)); out != in {
		t.Errorf("formatArchive = %q, want %q", out, in)
	}
}
