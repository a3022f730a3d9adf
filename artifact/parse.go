package artifact

import (
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/goccy/go-yaml/ast"

	"github.com/preflight-sh/preflight/twin"
	"github.com/preflight-sh/preflight/yamldecode"
)

// Formats of an artifact file.
const (
	Lines = "lines" // one row per non-empty line
	CSV   = "csv"   // a header row, then one row per record
	JSON  = "json"  // a list of objects, or an object with one list of objects
	YAML  = "yaml"  // the same shapes as json, in YAML
)

// Table is an artifact file read as rows.
type Table struct {
	Format string
	// Fields are the fields whose values each row's Cells hold, in order.
	Fields []string
	// Header is the header row of a csv file (nil for other formats, and
	// for an empty csv file); HeaderLine is its line.
	Header     []string
	HeaderLine int
	Rows       []Row
}

// Row is one row (line, record or list element) of an artifact.
type Row struct {
	// Line is the line the row starts on, counting from 1.
	Line int
	// Sum identifies the row's content: rows with equal sums are identical
	// (for lines, after trimming surrounding space; for records, field by
	// field, whatever the order of the fields).
	Sum [16]byte
	// Preview is the start of the row, for evidence.
	Preview string
	// Cells are the values of the table's Fields, in order.
	Cells []Cell
}

// Cell is the value of one field of a row.
type Cell struct {
	// Present: the row has the field (for csv, the header has the column;
	// for lines, the line has that many fields).
	Present bool
	// Empty: the value is blank, null, or an empty list or mapping.
	Empty bool
	// Text is the value as text (a list or mapping in a compact form).
	Text string
}

// ParseError is a file that does not parse in its format.
type ParseError struct {
	Line int // from 1
	Msg  string
}

func (e *ParseError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// maxDepth bounds the nesting of json and yaml values.
const maxDepth = 200

// previewLen is how much of a row evidence shows.
const previewLen = 80

// FormatOf is the format of an artifact file: the Artifact's format, or
// when it has none, the one its extension names (.csv, .json, .yaml, .yml;
// lines otherwise).
func FormatOf(format, path string) string {
	if format != "" {
		return format
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv":
		return CSV
	case ".json":
		return JSON
	case ".yaml", ".yml":
		return YAML
	}
	return Lines
}

// Parse reads an artifact file in a format, keeping for each row the
// values of fields. A file that does not parse gives a *ParseError.
//
// lines: every line that is not blank is a row; its fields are positional
// (the first field is fields[0]), separated by commas when the first row
// has one, else by tabs when it has one, else by runs of spaces. csv: the
// first record is the header that names the columns; every record after it
// is a row and has as many fields. json and yaml: a list of objects, or an
// object with exactly one field that is a list of objects (other fields,
// such as a version, may sit beside it); each object is a row.
func Parse(format string, src []byte, fields []string) (*Table, error) {
	t := &Table{Format: format, Fields: fields}
	var err error
	switch format {
	case Lines:
		err = t.parseLines(src)
	case CSV:
		err = t.parseCSV(src)
	case JSON:
		err = t.parseJSON(src)
	case YAML:
		err = t.parseYAML(src)
	default:
		return nil, fmt.Errorf("unknown artifact format %q: formats are lines, csv, json, yaml", format)
	}
	if err != nil {
		return nil, err
	}
	return t, nil
}

func sum(b []byte) [16]byte {
	s := sha256.Sum256(b)
	return [16]byte(s[:16])
}

func preview(s string) string {
	if len(s) <= previewLen {
		return s
	}
	cut := previewLen
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func (t *Table) add(line int, canon []byte, cells []Cell) {
	t.Rows = append(t.Rows, Row{Line: line, Sum: sum(canon), Preview: preview(string(canon)), Cells: cells})
}

// ---- lines ------------------------------------------------------------------

func (t *Table) parseLines(src []byte) error {
	split := func(s string) []string { return strings.Fields(s) }
	line := 0
	for len(src) > 0 {
		line++
		var l []byte
		if i := bytes.IndexByte(src, '\n'); i >= 0 {
			l, src = src[:i], src[i+1:]
		} else {
			l, src = src, nil
		}
		if i := bytes.IndexByte(l, 0); i >= 0 {
			return &ParseError{Line: line, Msg: fmt.Sprintf("a NUL byte at column %d: a lines artifact is text", i+1)}
		}
		text := strings.TrimSpace(string(l))
		if text == "" {
			continue
		}
		if len(t.Rows) == 0 {
			switch {
			case strings.Contains(text, ","):
				split = func(s string) []string { return strings.Split(s, ",") }
			case strings.Contains(text, "\t"):
				split = func(s string) []string { return strings.Split(s, "\t") }
			}
		}
		var cells []Cell
		if len(t.Fields) > 0 {
			parts := split(text)
			cells = make([]Cell, len(t.Fields))
			for i := range cells {
				if i < len(parts) {
					v := strings.TrimSpace(parts[i])
					cells[i] = Cell{Present: true, Empty: v == "", Text: v}
				}
			}
		}
		t.add(line, []byte(text), cells)
	}
	return nil
}

// ---- csv --------------------------------------------------------------------

func (t *Table) parseCSV(src []byte) error {
	src = bytes.TrimPrefix(src, []byte("\ufeff"))
	r := csv.NewReader(bytes.NewReader(src))
	r.ReuseRecord = true
	csvErr := func(err error) error {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return &ParseError{Line: max(pe.Line, 1), Msg: pe.Err.Error()}
		}
		return &ParseError{Line: 1, Msg: err.Error()}
	}
	head, err := r.Read()
	if err == io.EOF {
		return nil
	}
	if err != nil {
		return csvErr(err)
	}
	t.HeaderLine, _ = r.FieldPos(0)
	t.Header = make([]string, len(head))
	column := map[string]int{}
	for i, h := range head {
		h = strings.TrimSpace(h)
		t.Header[i] = h
		if j, dup := column[h]; dup {
			return &ParseError{Line: t.HeaderLine, Msg: fmt.Sprintf("the header names column %q twice (columns %d and %d)", h, j+1, i+1)}
		}
		column[h] = i
	}
	idx := make([]int, len(t.Fields))
	for i, f := range t.Fields {
		j, ok := column[f]
		if !ok {
			j = -1
		}
		idx[i] = j
	}
	var canon bytes.Buffer
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return csvErr(err)
		}
		line, _ := r.FieldPos(0)
		canon.Reset()
		for i, v := range rec {
			if i > 0 {
				canon.WriteByte(',')
			}
			if strings.ContainsAny(v, ",\"\r\n") {
				canon.WriteString(strconv.Quote(v))
			} else {
				canon.WriteString(v)
			}
		}
		var cells []Cell
		if len(idx) > 0 {
			cells = make([]Cell, len(idx))
			for i, j := range idx {
				if j >= 0 {
					v := strings.TrimSpace(rec[j])
					cells[i] = Cell{Present: true, Empty: v == "", Text: v}
				}
			}
		}
		t.add(line, canon.Bytes(), cells)
	}
}

// ---- json -------------------------------------------------------------------

// lineCounter turns increasing byte offsets into line numbers.
type lineCounter struct {
	src  []byte
	off  int
	line int
}

func (c *lineCounter) at(off int) int {
	off = min(max(off, 0), len(c.src))
	if off < c.off {
		c.off, c.line = 0, 1
	}
	c.line += bytes.Count(c.src[c.off:off], []byte{'\n'})
	c.off = off
	return c.line
}

// skipSpace returns the offset of the first byte at or after off that is
// not JSON white space or one of the separators in seps.
func skipSpace(src []byte, off int, seps string) int {
	for off < len(src) {
		switch b := src[off]; {
		case b == ' ' || b == '\t' || b == '\n' || b == '\r':
		case strings.IndexByte(seps, b) >= 0:
		default:
			return off
		}
		off++
	}
	return off
}

func (t *Table) parseJSON(src []byte) error {
	lc := &lineCounter{src: src, line: 1}
	dec := json.NewDecoder(bytes.NewReader(src))
	dec.UseNumber()
	fail := func(err error) error {
		var pe *ParseError
		if errors.As(err, &pe) {
			return pe
		}
		off := int(dec.InputOffset())
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			off = int(se.Offset)
		case errors.As(err, &te):
			off = int(te.Offset)
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			off = len(src)
			err = errors.New("unexpected end of file")
		}
		lc.off, lc.line = 0, 1
		return &ParseError{Line: lc.at(off), Msg: err.Error()}
	}
	start := skipSpace(src, 0, "")
	if start == len(src) {
		return &ParseError{Line: lc.at(start), Msg: "the file is empty: a json artifact is a list of objects, or an object with one list of objects"}
	}
	tok, err := dec.Token()
	if err != nil {
		return fail(err)
	}
	switch tok {
	case json.Delim('['):
		if err := t.jsonRows(dec, src, lc); err != nil {
			return fail(err)
		}
	case json.Delim('{'):
		lists := 0
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return fail(err)
			}
			key, _ := k.(string)
			v := skipSpace(src, int(dec.InputOffset()), ":")
			if v < len(src) && src[v] == '[' {
				lists++
				if lists > 1 {
					return &ParseError{Line: lc.at(v), Msg: fmt.Sprintf("field %q is a second list: the object must hold exactly one list of rows", key)}
				}
				if _, err := dec.Token(); err != nil {
					return fail(err)
				}
				if err := t.jsonRows(dec, src, lc); err != nil {
					return fail(err)
				}
				continue
			}
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return fail(err)
			}
		}
		if _, err := dec.Token(); err != nil {
			return fail(err)
		}
		if lists == 0 {
			return &ParseError{Line: lc.at(start), Msg: "the object has no list: a json artifact is a list of objects, or an object with one list of objects"}
		}
	default:
		return &ParseError{Line: lc.at(start), Msg: fmt.Sprintf("the file holds %s: a json artifact is a list of objects, or an object with one list of objects", jsonKind(tok))}
	}
	if _, err := dec.Token(); err != io.EOF {
		end := skipSpace(src, int(dec.InputOffset()), "")
		return &ParseError{Line: lc.at(end), Msg: "data after the end of the top-level value"}
	}
	return nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "true/false"
	case []any:
		return "a list"
	}
	return "something else"
}

// jsonRows reads the elements of a list whose '[' has been read, and its ']'.
func (t *Table) jsonRows(dec *json.Decoder, src []byte, lc *lineCounter) error {
	for dec.More() {
		line := lc.at(skipSpace(src, int(dec.InputOffset()), ","))
		var v any
		if err := dec.Decode(&v); err != nil {
			return err
		}
		obj, ok := v.(map[string]any)
		if !ok {
			return &ParseError{Line: line, Msg: fmt.Sprintf("row %d is %s: each row must be an object", len(t.Rows)+1, jsonKind(v))}
		}
		canon, err := json.Marshal(obj)
		if err != nil {
			return &ParseError{Line: line, Msg: err.Error()}
		}
		var cells []Cell
		if len(t.Fields) > 0 {
			cells = make([]Cell, len(t.Fields))
			for i, f := range t.Fields {
				if fv, ok := obj[f]; ok {
					cells[i] = jsonCell(fv)
				}
			}
		}
		t.add(line, canon, cells)
	}
	_, err := dec.Token() // ']'
	return err
}

func jsonCell(v any) Cell {
	c := Cell{Present: true}
	switch x := v.(type) {
	case nil:
		c.Empty = true
	case string:
		c.Text = x
		c.Empty = strings.TrimSpace(x) == ""
	case json.Number:
		c.Text = x.String()
	case bool:
		c.Text = strconv.FormatBool(x)
	case []any:
		c.Empty = len(x) == 0
	case map[string]any:
		c.Empty = len(x) == 0
	}
	if c.Text == "" && !c.Empty {
		b, _ := json.Marshal(v)
		c.Text = string(b)
	}
	return c
}

// ---- yaml -------------------------------------------------------------------

// In YAML a lone CR is a line break too (as in YAML 1.2): lines are
// counted that way, as the YAML parser does.

func (t *Table) parseYAML(src []byte) error {
	docs, errs := twin.ParseDocuments("", src)
	if len(errs) > 0 {
		return &ParseError{Line: max(errs[0].Pos.Line, 1), Msg: errs[0].Msg}
	}
	if len(docs) == 0 {
		return nil
	}
	if len(docs) > 1 {
		return &ParseError{Line: lineOf(docs[1]), Msg: fmt.Sprintf("the file holds %d documents: a yaml artifact is one document", len(docs))}
	}
	body, err := unwrap(docs[0])
	if err != nil {
		return err
	}
	var list *ast.SequenceNode
	switch n := body.(type) {
	case *ast.NullNode:
		return nil
	case *ast.SequenceNode:
		list = n
	case *ast.MappingNode, *ast.MappingValueNode:
		entries, err := entriesOf(n)
		if err != nil {
			return err
		}
		for _, mv := range entries {
			v, err := unwrap(mv.Value)
			if err != nil {
				return err
			}
			if s, ok := v.(*ast.SequenceNode); ok {
				if list != nil {
					key, _ := yamldecode.ScalarText(mv.Key)
					return &ParseError{Line: lineOf(mv.Key), Msg: fmt.Sprintf("field %q is a second list: the mapping must hold exactly one list of rows", key)}
				}
				list = s
			}
		}
		if list == nil {
			return &ParseError{Line: lineOf(n), Msg: "the mapping has no list: a yaml artifact is a list of mappings, or a mapping with one list of mappings"}
		}
	default:
		return &ParseError{Line: lineOf(body), Msg: "the document is a single value: a yaml artifact is a list of mappings, or a mapping with one list of mappings"}
	}
	var canon bytes.Buffer
	for i, item := range list.Values {
		n, err := unwrap(item)
		if err != nil {
			return err
		}
		line := lineOf(item)
		if !isMapping(n) {
			return &ParseError{Line: line, Msg: fmt.Sprintf("row %d is not a mapping: each row must be a mapping of fields", i+1)}
		}
		entries, err := entriesOf(n)
		if err != nil {
			return err
		}
		canon.Reset()
		if err := writeYAML(&canon, n, 0); err != nil {
			return err
		}
		var cells []Cell
		if len(t.Fields) > 0 {
			cells = make([]Cell, len(t.Fields))
			for _, mv := range entries {
				key, _ := yamldecode.ScalarText(mv.Key)
				if j := slices.Index(t.Fields, key); j >= 0 {
					cells[j], err = yamlCell(mv.Value)
					if err != nil {
						return err
					}
				}
			}
		}
		t.add(line, canon.Bytes(), cells)
	}
	return nil
}

func lineOf(n ast.Node) int {
	if p := yamldecode.PosOf("", n); p.Line > 0 {
		return p.Line
	}
	return 1
}

func isMapping(n ast.Node) bool {
	switch n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		return true
	}
	return false
}

// unwrap looks through anchors and tags; aliases are refused (an alias
// repeated inside aliases grows exponentially when expanded).
func unwrap(n ast.Node) (ast.Node, error) {
	for {
		switch x := n.(type) {
		case *ast.AnchorNode:
			n = x.Value
		case *ast.TagNode:
			n = x.Value
		case *ast.DocumentNode:
			n = x.Body
		case *ast.AliasNode:
			return nil, &ParseError{Line: lineOf(x), Msg: "aliases (*name) are not supported in artifacts: write the value out"}
		case nil:
			return &ast.NullNode{}, nil
		default:
			return n, nil
		}
	}
}

// entriesOf returns the entries of a mapping, refusing merge keys and keys
// that are not scalars.
func entriesOf(n ast.Node) ([]*ast.MappingValueNode, error) {
	var entries []*ast.MappingValueNode
	switch m := n.(type) {
	case *ast.MappingNode:
		entries = m.Values
	case *ast.MappingValueNode:
		entries = []*ast.MappingValueNode{m}
	default:
		return nil, &ParseError{Line: lineOf(n), Msg: "expected a mapping"}
	}
	for _, mv := range entries {
		if mv.Key == nil {
			return nil, &ParseError{Line: lineOf(mv), Msg: "a mapping entry without a key"}
		}
		if mv.Key.IsMergeKey() {
			return nil, &ParseError{Line: lineOf(mv.Key), Msg: "merge keys (<<) are not supported in artifacts: write the fields out"}
		}
		k, err := unwrap(mv.Key)
		if err != nil {
			return nil, err
		}
		if _, ok := yamldecode.ScalarText(k); !ok {
			return nil, &ParseError{Line: lineOf(mv.Key), Msg: "mapping keys must be plain values"}
		}
	}
	return entries, nil
}

// writeYAML writes a canonical, compact form of a value: mappings with
// their keys sorted, strings quoted, other scalars as written.
func writeYAML(b *bytes.Buffer, n ast.Node, depth int) error {
	if depth > maxDepth {
		return &ParseError{Line: lineOf(n), Msg: fmt.Sprintf("values nest more than %d deep", maxDepth)}
	}
	n, err := unwrap(n)
	if err != nil {
		return err
	}
	switch x := n.(type) {
	case *ast.NullNode:
		b.WriteString("null")
	case *ast.StringNode, *ast.LiteralNode:
		s, _ := yamldecode.ScalarText(x)
		b.WriteString(strconv.Quote(s))
	case *ast.SequenceNode:
		b.WriteByte('[')
		for i, v := range x.Values {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeYAML(b, v, depth+1); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case *ast.MappingNode, *ast.MappingValueNode:
		entries, err := entriesOf(x)
		if err != nil {
			return err
		}
		type kv struct {
			k string
			v []byte
		}
		kvs := make([]kv, 0, len(entries))
		for _, mv := range entries {
			k, _ := unwrap(mv.Key)
			key, _ := yamldecode.ScalarText(k)
			var vb bytes.Buffer
			if err := writeYAML(&vb, mv.Value, depth+1); err != nil {
				return err
			}
			kvs = append(kvs, kv{key, vb.Bytes()})
		}
		slices.SortStableFunc(kvs, func(a, b kv) int { return strings.Compare(a.k, b.k) })
		b.WriteByte('{')
		for i, e := range kvs {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Quote(e.k))
			b.WriteByte(':')
			b.Write(e.v)
		}
		b.WriteByte('}')
	default:
		s, ok := yamldecode.ScalarText(x)
		if !ok {
			return &ParseError{Line: lineOf(x), Msg: fmt.Sprintf("unsupported YAML value %q", preview(x.String()))}
		}
		b.WriteString(s)
	}
	return nil
}

func yamlCell(n ast.Node) (Cell, error) {
	n, err := unwrap(n)
	if err != nil {
		return Cell{}, err
	}
	c := Cell{Present: true}
	switch x := n.(type) {
	case *ast.NullNode:
		c.Empty = true
	case *ast.SequenceNode:
		c.Empty = len(x.Values) == 0
	case *ast.MappingNode:
		c.Empty = len(x.Values) == 0
	default:
		if s, ok := yamldecode.ScalarText(x); ok {
			c.Text = s
			c.Empty = strings.TrimSpace(s) == ""
			return c, nil
		}
	}
	if !c.Empty {
		var b bytes.Buffer
		if err := writeYAML(&b, n, 0); err != nil {
			return Cell{}, err
		}
		c.Text = b.String()
	}
	return c, nil
}
