// Package artifact checks the generated files a change ships (feature
// lists, rule sets, policy tables) against what their consumers declare in
// the twin: size, row count, duplicate rows, required fields and whether
// the file parses at all. A file over its consumer's limit is a change that
// crashes or wedges every instance it reaches, so these findings are
// critical.
package artifact

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/preflight-sh/preflight/change"
	"github.com/preflight-sh/preflight/finding"
	"github.com/preflight-sh/preflight/twin"
	"github.com/preflight-sh/preflight/units"
	"github.com/preflight-sh/preflight/yamldecode"
)

// Category is the category of every artifact finding.
const Category = "artifact"

// MaxFileSize is the largest artifact file read; a larger one is a
// critical finding and is not parsed.
const MaxFileSize = 256 << 20

// GrowthWarning is the growth over the twin's recorded size or rows above
// which a file within its limits is a warning (0.5: more than 50%).
const GrowthWarning = 0.5

// maxExamples is how many duplicates or line numbers evidence shows.
const maxExamples = 5

// TooLargeError is a file over MaxFileSize. Size is its size when known,
// else -1.
type TooLargeError struct {
	Path string
	Size int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%s is larger than %s", e.Path, fmtSize(MaxFileSize))
}

// ReadFile reads a file of at most MaxFileSize bytes; a larger one is a
// *TooLargeError, found without reading it all. It is the reader to pass to
// Check outside tests.
func ReadFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil {
		if st.IsDir() {
			return nil, fmt.Errorf("%s is a directory", path)
		}
		if st.Mode().IsRegular() && st.Size() > MaxFileSize {
			return nil, &TooLargeError{Path: path, Size: st.Size()}
		}
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFileSize {
		return nil, &TooLargeError{Path: path, Size: -1}
	}
	return data, nil
}

// Check reads each artifact file the change ships with read (nil means
// ReadFile) and checks it against its Artifact in the twin before the
// change. It returns one finding per problem, in the order of the change's
// artifacts; the error is only for a result without a change or twin.
//
// Findings (NAME is the artifact's name):
//
//	artifact.unknown/NAME         critical  the twin has no Artifact NAME
//	artifact.missing/NAME         critical  the file does not exist
//	artifact.unreadable/NAME      critical  the file cannot be read
//	artifact.too-large/NAME       critical  the file is over MaxFileSize; not parsed
//	artifact.size/NAME            critical  over limits.maxSize
//	artifact.parse/NAME           critical  not valid in the artifact's format
//	artifact.rows/NAME            critical  over limits.maxRows
//	artifact.duplicates/NAME      critical  identical rows, or rows repeating the first required field
//	artifact.required-field/NAME  critical  a required field missing (csv: from the header)
//	artifact.empty-field/NAME     critical  a required field blank or null
//	artifact.growth/NAME          warning   rows or size up more than 50% on the twin's record, within limits
func Check(res *change.Result, read func(path string) ([]byte, error)) ([]finding.Finding, error) {
	if res == nil || res.Change == nil || res.Before == nil {
		return nil, errors.New("artifact.Check needs an applied change (its change set and the twin before it)")
	}
	if read == nil {
		read = ReadFile
	}
	var out []finding.Finding
	for _, af := range res.Change.Artifacts {
		out = append(out, checkFile(res, af, read)...)
	}
	return out, nil
}

// subject is the artifact one file is checked against.
type subject struct {
	file  change.ArtifactFile
	art   *twin.Artifact
	lim   twin.ArtifactLimits
	rec   bool // the twin before the change records the artifact (its size and rows are a baseline)
	where finding.Object
	out   []finding.Finding
}

func (s *subject) add(kind string, sev finding.Severity, path, msg string, figs []finding.Figure, lines ...string) {
	s.out = append(s.out, finding.Finding{
		ID:       "artifact." + kind + "/" + s.file.Name,
		Category: Category,
		Severity: sev,
		Message:  msg,
		Objects:  []finding.Object{finding.ObjectOf(s.art, path), s.where},
		Evidence: finding.Evidence{Figures: figs, Lines: lines},
	})
}

func checkFile(res *change.Result, af change.ArtifactFile, read func(string) ([]byte, error)) []finding.Finding {
	where := finding.Object{Kind: "Change", Name: af.File, Pos: af.Pos}
	before := twin.Lookup[twin.Artifact](res.Before, af.Name)
	var after *twin.Artifact
	if res.After != nil {
		after = twin.Lookup[twin.Artifact](res.After, af.Name)
	}
	if before == nil && after == nil {
		return []finding.Finding{unknown(res.Before, af, where)}
	}
	s := &subject{file: af, art: before, rec: before != nil, where: where}
	switch {
	case before == nil:
		// Declared by this very change: its limits apply, there is no
		// recorded baseline.
		s.art, s.lim = after, after.Limits
	case after == nil:
		s.lim = before.Limits
	default:
		s.lim = stricter(before.Limits, after.Limits)
	}
	s.check(read)
	return s.out
}

func unknown(before *twin.Snapshot, af change.ArtifactFile, where finding.Object) finding.Finding {
	var names []string
	for _, a := range twin.Typed[twin.Artifact](before) {
		names = append(names, a.Name)
	}
	msg := fmt.Sprintf("the change ships %s as artifact %q, which the twin does not declare", af.File, af.Name)
	if sg := yamldecode.Suggest(af.Name, names); sg != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", sg)
	}
	line := "the twin declares no artifacts: add an Artifact with its consumer and limits"
	if len(names) > 0 {
		line = "artifacts in the twin: " + list(names, 20)
	}
	return finding.Finding{
		ID: "artifact.unknown/" + af.Name, Category: Category, Severity: finding.Critical,
		Message:  msg + ": its limits are unknown, so it cannot be checked",
		Objects:  []finding.Object{where},
		Evidence: finding.Evidence{Lines: []string{line}},
	}
}

// stricter is what a file must meet to satisfy both the limits before the
// change and those the change declares.
func stricter(a, b twin.ArtifactLimits) twin.ArtifactLimits {
	out := a
	if b.MaxSize > 0 && (out.MaxSize == 0 || b.MaxSize < out.MaxSize) {
		out.MaxSize = b.MaxSize
	}
	if b.MaxRows > 0 && (out.MaxRows == 0 || b.MaxRows < out.MaxRows) {
		out.MaxRows = b.MaxRows
	}
	out.RequiredFields = slices.Clone(a.RequiredFields)
	for _, f := range b.RequiredFields {
		if !slices.Contains(out.RequiredFields, f) {
			out.RequiredFields = append(out.RequiredFields, f)
		}
	}
	return out
}

func (s *subject) check(read func(string) ([]byte, error)) {
	a, path := s.art, s.file.Path
	consumer := fmt.Sprintf("consumer: %s (every instance that loads %s)", a.Consumer, a.Name)
	data, err := read(path)
	var tooLarge *TooLargeError
	size := int64(len(data))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		s.add("missing", finding.Critical, "", fmt.Sprintf("artifact %s: the file %s does not exist", a.Name, path), nil,
			fmt.Sprintf("artifacts: entry %s, file %s, resolved against the change file's directory to %s", a.Name, s.file.File, path))
		return
	case errors.As(err, &tooLarge):
		size = tooLarge.Size
	case err != nil:
		s.add("unreadable", finding.Critical, "", fmt.Sprintf("artifact %s: the file %s cannot be read", a.Name, path), nil, err.Error())
		return
	case size > MaxFileSize:
		tooLarge = &TooLargeError{Path: path, Size: size}
	}

	var growth []string
	var growthFigs []finding.Figure
	sizeFigs := []finding.Figure{{Name: "size", Value: float64(size), Unit: "B"}}
	if s.rec && a.Size > 0 {
		sizeFigs = append(sizeFigs, finding.Figure{Name: "recorded size", Value: float64(a.Size), Unit: "B"})
	}
	if s.lim.MaxSize > 0 {
		sizeFigs = append(sizeFigs, finding.Figure{Name: "maxSize", Value: float64(s.lim.MaxSize), Unit: "B"})
	}
	switch {
	case size >= 0 && s.lim.MaxSize > 0 && size > int64(s.lim.MaxSize):
		s.add("size", finding.Critical, "limits.maxSize",
			fmt.Sprintf("artifact %s is %s, over the %s its consumer %s accepts", a.Name, fmtSize(size), fmtSize(int64(s.lim.MaxSize)), a.Consumer),
			sizeFigs, s.sizeLine(size), consumer)
	case size >= 0 && s.grew(size, int64(a.Size)):
		growth = append(growth, s.sizeLine(size))
		growthFigs = append(growthFigs, sizeFigs...)
	}
	if tooLarge != nil {
		shown := "larger than " + fmtSize(MaxFileSize)
		if size >= 0 {
			shown = fmtSize(size) + ", more than the " + fmtSize(MaxFileSize)
		}
		s.add("too-large", finding.Critical, "", fmt.Sprintf("artifact %s: %s is %s preflight reads; its rows, duplicates and fields are not checked", a.Name, path, shown), nil,
			fmt.Sprintf("%s: %s", path, shown), consumer)
		return
	}

	format := FormatOf(a.Format, path)
	t, err := Parse(format, data, s.lim.RequiredFields)
	if err != nil {
		at := path
		var pe *ParseError
		msg := err.Error()
		if errors.As(err, &pe) {
			at = fmt.Sprintf("%s:%d", path, pe.Line)
			msg = pe.Msg
		}
		s.add("parse", finding.Critical, "format",
			fmt.Sprintf("artifact %s does not parse as %s: %s: %s", a.Name, format, at, msg), nil,
			fmt.Sprintf("%s: %s", at, msg), consumer)
		s.growth(growth, growthFigs)
		return
	}

	rows := len(t.Rows)
	rowFigs := []finding.Figure{{Name: "rows", Value: float64(rows), Unit: "rows"}}
	if s.rec && a.Rows > 0 {
		rowFigs = append(rowFigs, finding.Figure{Name: "recorded rows", Value: float64(a.Rows), Unit: "rows"})
	}
	if s.lim.MaxRows > 0 {
		rowFigs = append(rowFigs, finding.Figure{Name: "maxRows", Value: float64(s.lim.MaxRows), Unit: "rows"})
	}
	switch {
	case s.lim.MaxRows > 0 && rows > s.lim.MaxRows:
		s.add("rows", finding.Critical, "limits.maxRows",
			fmt.Sprintf("artifact %s has %d rows, over the %d its consumer %s accepts", a.Name, rows, s.lim.MaxRows, a.Consumer),
			rowFigs, s.rowsLine(rows), consumer)
	case s.grew(int64(rows), int64(a.Rows)):
		growth = append(growth, s.rowsLine(rows))
		growthFigs = append(growthFigs, rowFigs...)
	}
	s.growth(growth, growthFigs)
	s.duplicates(t)
	s.fields(t)
}

// grew reports growth by more than GrowthWarning over a recorded value.
func (s *subject) grew(now, was int64) bool {
	return s.rec && was > 0 && float64(now-was) > GrowthWarning*float64(was)
}

func (s *subject) growth(lines []string, figs []finding.Figure) {
	if len(lines) == 0 {
		return
	}
	path := "size"
	if len(figs) > 0 && figs[len(figs)-1].Unit == "rows" {
		path = "rows"
	}
	s.add("growth", finding.Warning, path,
		fmt.Sprintf("artifact %s grew by more than %.0f%% over what the twin records (%s): within its limits, but a jump like this often means a broken generator", s.art.Name, GrowthWarning*100, strings.Join(lines, "; ")),
		figs, lines...)
}

// sizeLine is "size 5.1MiB (5347737B), limit 4MiB, was 1536KiB (+232%)".
func (s *subject) sizeLine(size int64) string {
	b := "size " + fmtSize(size)
	if s.lim.MaxSize > 0 {
		b += ", limit " + fmtSize(int64(s.lim.MaxSize))
	}
	return b + s.was(size, int64(s.art.Size), func(v int64) string { return fmtSize(v) })
}

// rowsLine is "rows 400, limit 200, was 200 (+100%)".
func (s *subject) rowsLine(rows int) string {
	b := fmt.Sprintf("rows %d", rows)
	if s.lim.MaxRows > 0 {
		b += fmt.Sprintf(", limit %d", s.lim.MaxRows)
	}
	return b + s.was(int64(rows), int64(s.art.Rows), func(v int64) string { return fmt.Sprint(v) })
}

func (s *subject) was(now, was int64, show func(int64) string) string {
	switch {
	case !s.rec:
		return " (the artifact is new in this change: no recorded value)"
	case was <= 0:
		return " (the twin records no previous value)"
	}
	return fmt.Sprintf(", was %s (%s)", show(was), pct(now, was))
}

func pct(now, was int64) string {
	p := float64(now-was) / float64(was) * 100
	if p > -10 && p < 10 && p != float64(int64(p)) {
		return fmt.Sprintf("%+.1f%%", p)
	}
	return fmt.Sprintf("%+.0f%%", p)
}

// fmtSize is a size as the twin writes it when exact ("4MiB"), else
// rounded with the exact bytes ("5.1MiB (5347737B)").
func fmtSize(n int64) string {
	exact := units.Size(n).String()
	if n >= 1024 && isDigits(strings.TrimSuffix(exact, "B")) {
		return approx(n) + " (" + exact + ")"
	}
	return exact
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

func approx(n int64) string {
	v, unit := float64(n), "B"
	for _, u := range []string{"KiB", "MiB", "GiB", "TiB"} {
		if v < 1024 {
			break
		}
		v, unit = v/1024, u
	}
	return fmt.Sprintf("%.1f%s", v, unit)
}

// duplicates reports rows identical to an earlier row, and rows whose first
// required field repeats an earlier row's (the field is the row's key).
func (s *subject) duplicates(t *Table) {
	seen := make(map[[16]byte]int, len(t.Rows))
	keys := map[string]int{}
	var examples []string
	identical, sameKey := 0, 0
	key := ""
	if len(t.Fields) > 0 {
		key = t.Fields[0]
	}
	for i, r := range t.Rows {
		if j, ok := seen[r.Sum]; ok {
			identical++
			if len(examples) < maxExamples {
				examples = append(examples, fmt.Sprintf("%s:%d repeats line %d: %s", s.file.Path, r.Line, t.Rows[j].Line, r.Preview))
			}
			continue
		}
		seen[r.Sum] = i
		if len(r.Cells) == 0 || !r.Cells[0].Present || r.Cells[0].Empty {
			continue
		}
		if j, ok := keys[r.Cells[0].Text]; ok {
			sameKey++
			if len(examples) < maxExamples {
				examples = append(examples, fmt.Sprintf("%s:%d has %s %q, as line %d does: %s", s.file.Path, r.Line, key, preview(r.Cells[0].Text), t.Rows[j].Line, r.Preview))
			}
			continue
		}
		keys[r.Cells[0].Text] = i
	}
	n := identical + sameKey
	if n == 0 {
		return
	}
	what := fmt.Sprintf("%d identical to an earlier row", identical)
	if key != "" {
		what += fmt.Sprintf(", %d repeating the %s of an earlier row", sameKey, key)
	}
	lines := append([]string{fmt.Sprintf("%d of %d rows are duplicates (%s)", n, len(t.Rows), what)}, examples...)
	if n > len(examples) {
		lines = append(lines, fmt.Sprintf("… %d more", n-len(examples)))
	}
	s.add("duplicates", finding.Critical, "",
		fmt.Sprintf("artifact %s has %d duplicate %s, which its consumer %s loads as separate entries", s.art.Name, n, plural(n, "row", "rows"), s.art.Consumer),
		[]finding.Figure{{Name: "duplicates", Value: float64(n), Unit: "rows"}, {Name: "rows", Value: float64(len(t.Rows)), Unit: "rows"}}, lines...)
}

// fields reports required fields missing from rows (or from a csv header)
// and required fields left empty.
func (s *subject) fields(t *Table) {
	if len(t.Fields) == 0 {
		return
	}
	var missing, empty []string
	var missingNames, emptyNames []string
	if t.Format == CSV {
		switch {
		case t.Header == nil:
			missing = append(missing, fmt.Sprintf("%s is empty: no header names the columns %s", s.file.Path, strings.Join(t.Fields, ", ")))
			missingNames = t.Fields
		default:
			for _, f := range t.Fields {
				if !slices.Contains(t.Header, f) {
					missingNames = append(missingNames, f)
					missing = append(missing, fmt.Sprintf("%s:%d: the header has no column %q (its columns: %s)", s.file.Path, t.HeaderLine, f, list(t.Header, 20)))
				}
			}
		}
	}
	for i, f := range t.Fields {
		var miss, blank []int
		for _, r := range t.Rows {
			switch c := r.Cells[i]; {
			case !c.Present:
				miss = append(miss, r.Line)
			case c.Empty:
				blank = append(blank, r.Line)
			}
		}
		name := fmt.Sprintf("field %q", f)
		if t.Format == Lines {
			name = fmt.Sprintf("field %q (field %d of each line)", f, i+1)
		}
		if len(miss) > 0 && t.Format != CSV {
			missingNames = append(missingNames, f)
			missing = append(missing, fmt.Sprintf("%s: missing in %d of %d rows: %s", name, len(miss), len(t.Rows), s.lineList(miss)))
		}
		if len(blank) > 0 {
			emptyNames = append(emptyNames, f)
			empty = append(empty, fmt.Sprintf("%s: empty in %d of %d rows: %s", name, len(blank), len(t.Rows), s.lineList(blank)))
		}
	}
	if len(missing) > 0 {
		s.add("required-field", finding.Critical, "limits.requiredFields",
			fmt.Sprintf("artifact %s lacks required %s %s, which its consumer %s needs", s.art.Name, plural(len(missingNames), "field", "fields"), strings.Join(missingNames, ", "), s.art.Consumer),
			nil, missing...)
	}
	if len(empty) > 0 {
		s.add("empty-field", finding.Critical, "limits.requiredFields",
			fmt.Sprintf("artifact %s leaves required %s %s empty, which its consumer %s needs", s.art.Name, plural(len(emptyNames), "field", "fields"), strings.Join(emptyNames, ", "), s.art.Consumer),
			nil, empty...)
	}
}

// lineList is "f.csv lines 3, 7, 9 (and 12 more)".
func (s *subject) lineList(lines []int) string {
	parts := make([]string, 0, maxExamples)
	for _, l := range lines[:min(len(lines), maxExamples)] {
		parts = append(parts, fmt.Sprint(l))
	}
	word := "lines"
	if len(lines) == 1 {
		word = "line"
	}
	out := fmt.Sprintf("%s %s %s", s.file.Path, word, strings.Join(parts, ", "))
	if len(lines) > maxExamples {
		out += fmt.Sprintf(" (and %d more)", len(lines)-maxExamples)
	}
	return out
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// list joins names, showing at most n.
func list(names []string, n int) string {
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:n], ", ") + fmt.Sprintf(", … %d more", len(names)-n)
}
