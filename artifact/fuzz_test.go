package artifact

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/preflight-sh/preflight/change"
	"github.com/preflight-sh/preflight/finding"
	"github.com/preflight-sh/preflight/twin"
)

var fuzzFormats = []string{Lines, CSV, JSON, YAML}

// FuzzParse feeds the artifact parser arbitrary files in every format: it
// must not panic; an error is a *ParseError on a line of the file; rows are
// on lines of the file, in order, with one cell per field asked for; a
// lines file has one row per non-blank line; and the checks that run on
// the rows do not panic.
func FuzzParse(f *testing.F) {
	seeds := []struct {
		format int
		src    string
		fields string
	}{
		{0, "feature_0,float,0.5\nfeature_1,int,1\n\nfeature_0,float,0.5\n", "name,type,weight"},
		{0, "a\tb\n c \r\nd\n", "x"},
		{0, "a b  c\nd\x00e\n", ""},
		{1, "prefix,action\n10.0.0.0/8,permit\n\"10.1.0.0/16\",\"de\nny\"\n", "prefix,action"},
		{1, "\ufeffa,b\n1,2,3\n", "a"},
		{1, "a,a\n", ""},
		{1, "a,\"b\n", "b"},
		{2, "[{\"id\": \"r1\", \"action\": \"block\"}, {\"id\": 2, \"action\": null}]", "id,action"},
		{2, "{\"version\": 3, \"rules\": [{\"id\": [1]}, {}], \"x\": {}}", "id"},
		{2, "{\"a\": [], \"b\": []}", ""},
		{2, "[1, \"x\"]", ""},
		{2, "[{\"a\": 1}]\n[]", "a"},
		{2, "[[[[[[[[[[]]]]]]]]]]", ""},
		{3, "- {key: a, default: 1}\n- key: b\n  default: [x]\n", "key,default"},
		{3, "flags:\n  - &x {key: a}\n  - *x\n", "key"},
		{3, "v: 1\nrows:\n  - {<<: {a: 1}}\n", "a"},
		{3, "- !!str {a: b}\n- {? [x] : y}\n", "a"},
		{3, "a\n---\nb\n", ""},
		{3, "- {a: [[[[[[[[[[[[1]]]]]]]]]]]]}\n", "a"},
	}
	for _, s := range seeds {
		f.Add(uint8(s.format), []byte(s.src), s.fields)
	}
	f.Fuzz(func(t *testing.T, fi uint8, src []byte, fieldList string) {
		format := fuzzFormats[int(fi)%len(fuzzFormats)]
		var fields []string
		if fieldList != "" {
			fields = strings.Split(fieldList, ",")
			if len(fields) > 4 {
				fields = fields[:4]
			}
		}
		nlines := bytes.Count(src, []byte{'\n'}) + 1
		if format == YAML {
			// YAML also breaks lines at a lone CR.
			nlines += bytes.Count(src, []byte{'\r'}) - bytes.Count(src, []byte("\r\n"))
		}
		tab, err := Parse(format, src, fields)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("%s: error %T is not a *ParseError: %v", format, err, err)
			}
			if pe.Line < 1 || pe.Line > nlines {
				t.Fatalf("%s: error on line %d of a %d-line file: %v", format, pe.Line, nlines, err)
			}
			return
		}
		prev := 0
		for i, r := range tab.Rows {
			if r.Line < 1 || r.Line > nlines || r.Line < prev {
				t.Fatalf("%s: row %d on line %d (previous %d) of a %d-line file", format, i, r.Line, prev, nlines)
			}
			prev = r.Line
			if len(r.Cells) != len(fields) {
				t.Fatalf("%s: row %d has %d cells for %d fields", format, i, len(r.Cells), len(fields))
			}
			for _, c := range r.Cells {
				if !c.Present && (c.Empty || c.Text != "") {
					t.Fatalf("%s: row %d: an absent cell with a value: %+v", format, i, c)
				}
			}
			if utf8.RuneCountInString(r.Preview) > previewLen+1 {
				t.Fatalf("%s: row %d: preview of %d characters", format, i, utf8.RuneCountInString(r.Preview))
			}
		}
		if format == Lines {
			want := 0
			for l := range bytes.SplitSeq(src, []byte{'\n'}) {
				if len(bytes.TrimSpace(l)) > 0 {
					want++
				}
			}
			if len(tab.Rows) != want {
				t.Fatalf("lines: %d rows for %d non-blank lines", len(tab.Rows), want)
			}
		}
		if format == CSV && len(tab.Rows) > 0 && tab.Header == nil {
			t.Fatal("csv: rows without a header")
		}
		a := &twin.Artifact{Meta: twin.Meta{Kind: "Artifact", Name: "fuzz"}, Consumer: "edge", Format: format, Rows: 1, Size: 1}
		s := &subject{file: change.ArtifactFile{Name: "fuzz", File: "f", Path: "f"}, art: a, rec: true,
			lim: twin.ArtifactLimits{MaxRows: 1, RequiredFields: fields}, where: finding.Object{Kind: "Change", Name: "f"}}
		s.duplicates(tab)
		s.fields(tab)
		for _, fd := range s.out {
			if fd.Severity != finding.Critical || len(fd.Evidence.Lines) == 0 {
				t.Fatalf("finding %s: severity %s, %d evidence lines", fd.ID, fd.Severity, len(fd.Evidence.Lines))
			}
		}
	})
}
