package twin

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/lexer"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"

	"github.com/preflight-sh/preflight/yamldecode"
)

// ErrorList is every problem found in a twin, sorted by position.
type ErrorList = yamldecode.ErrorList

// MaxFileSize is the largest twin file the loader reads.
const MaxFileSize = 64 << 20

// skippedDirs are subdirectories of a twin directory that hold other inputs
// (change files, scenarios, expected outputs), not twin documents.
var skippedDirs = map[string]bool{"changes": true, "scenarios": true, "testdata": true}

// Load reads a twin from a directory (every *.yaml and *.yml file in it and
// its subdirectories, except changes/, scenarios/, testdata/ and hidden ones)
// or from one file, decodes it strictly and validates it. On any problem it
// returns no snapshot and an ErrorList with every problem found.
func Load(path string) (*Snapshot, error) {
	files, err := twinFiles(path)
	if err != nil {
		return nil, err
	}
	srcs := make(map[string][]byte, len(files))
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("reading twin: %w", err)
		}
		srcs[displayPath(f)] = src
	}
	return LoadFiles(srcs)
}

// LoadFiles decodes and validates a twin given as file names and contents;
// it is Load without the file system.
func LoadFiles(files map[string][]byte) (*Snapshot, error) {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var objs []Object
	var errs ErrorList
	for _, n := range names {
		o, e := Parse(n, files[n])
		objs = append(objs, o...)
		errs = append(errs, e...)
	}
	return build(objs, errs)
}

func build(objs []Object, errs ErrorList) (*Snapshot, error) {
	errs = append(errs, duplicates(objs)...)
	snap := NewSnapshot(objs)
	errs = append(errs, Validate(snap)...)
	errs = dropShadowed(errs)
	errs.Sort()
	if len(errs) > 0 {
		return nil, errs
	}
	return snap, nil
}

// dropShadowed removes semantic errors reported at a position where decoding
// already failed: a value that did not parse is not also "missing".
func dropShadowed(errs ErrorList) ErrorList {
	decodeAt := map[Pos]bool{}
	for _, e := range errs {
		if !strings.HasPrefix(e.Msg, semanticPrefix) {
			decodeAt[e.Pos] = true
		}
	}
	out := errs[:0]
	for _, e := range errs {
		if strings.HasPrefix(e.Msg, semanticPrefix) {
			if decodeAt[e.Pos] {
				continue
			}
			e.Msg = strings.TrimPrefix(e.Msg, semanticPrefix)
		}
		out = append(out, e)
	}
	return out
}

// semanticPrefix marks validation errors until dropShadowed strips it.
const semanticPrefix = "\x00"

func displayPath(p string) string {
	if rel, err := filepath.Rel(".", p); err == nil && !strings.HasPrefix(rel, "..") {
		return filepath.ToSlash(rel)
	}
	return filepath.ToSlash(p)
}

func twinFiles(path string) ([]string, error) {
	info, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("twin %s does not exist: give the path of a twin directory or file", path)
		}
		return nil, fmt.Errorf("reading twin: %w", err)
	}
	if !info.IsDir() {
		return []string{path}, nil
	}
	var files []string
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if p != path && (strings.HasPrefix(name, ".") || skippedDirs[name]) {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading twin: %w", err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("twin %s holds no .yaml or .yml files", path)
	}
	sort.Strings(files)
	return files, nil
}

// Parse decodes the documents of one twin file. It returns the objects it
// could read (possibly partly decoded) and every problem found.
func Parse(file string, src []byte) ([]Object, ErrorList) {
	if len(src) > MaxFileSize {
		return nil, ErrorList{{Pos: Pos{File: file}, Msg: fmt.Sprintf("file is %d bytes; the limit is %d: split the twin into several files", len(src), MaxFileSize)}}
	}
	docs, errs := ParseDocuments(file, src)
	if len(errs) > 0 {
		return nil, errs
	}
	var objs []Object
	for _, body := range docs {
		o, e := DecodeObject(file, body)
		errs = append(errs, e...)
		if o == nil {
			continue
		}
		if o.GetMeta().Name == "" {
			if len(e) == 0 {
				errs = append(errs, yamldecode.Error{Pos: o.GetMeta().Source().At("name"), Msg: "name must not be empty"})
			}
			continue
		}
		objs = append(objs, o)
	}
	return objs, errs
}

// ParseDocuments parses YAML text into the bodies of its non-empty
// documents. The text is split at document markers (a line starting with
// --- or ...; YAML forbids those inside scalars) and each document parsed on
// its own: the parser is quadratic in the documents of one text, and loses
// every document after an empty one.
func ParseDocuments(file string, src []byte) ([]ast.Node, ErrorList) {
	var out []ast.Node
	var errs ErrorList
	for _, c := range splitDocuments(src) {
		f, err := parseYAML(c.text, c.line)
		if err != nil {
			errs = append(errs, syntaxError(file, err))
			continue
		}
		for _, doc := range f.Docs {
			if doc == nil || doc.Body == nil {
				continue
			}
			if _, isComment := doc.Body.(*ast.CommentGroupNode); isComment {
				continue
			}
			out = append(out, doc.Body)
		}
	}
	return out, errs
}

// chunk is one document's text and the line it starts on (0-based).
type chunk struct {
	text []byte
	line int
}

func splitDocuments(src []byte) []chunk {
	var out []chunk
	start, startLine, line := 0, 0, 0
	for i := 0; i < len(src); {
		end := bytes.IndexByte(src[i:], '\n')
		next := len(src)
		if end >= 0 {
			next = i + end + 1
		}
		l := src[i:next]
		if i > start && marker(l, "---") {
			out = append(out, chunk{src[start:i], startLine})
			start, startLine = i, line
		}
		if marker(l, "...") {
			out = append(out, chunk{src[start:next], startLine})
			start, startLine = next, line+1
		}
		i = next
		line++
	}
	if start < len(src) {
		out = append(out, chunk{src[start:], startLine})
	}
	return out
}

// marker reports whether line is the document marker m, alone or followed
// by white space.
func marker(line []byte, m string) bool {
	return bytes.HasPrefix(line, []byte(m)) && (len(line) == len(m) || line[len(m)] == ' ' || line[len(m)] == '\t' || line[len(m)] == '\n' || line[len(m)] == '\r')
}

// parseYAML parses one document's text whose first line is line+1 of its
// file, turning the parser's panics (it has had some on hostile input) into
// errors.
func parseYAML(src []byte, line int) (f *ast.File, err error) {
	defer func() {
		if r := recover(); r != nil {
			f, err = nil, fmt.Errorf("the YAML parser could not read this file: %v", r)
		}
	}()
	tokens := lexer.Tokenize(string(src))
	for _, tk := range tokens {
		if tk.Position != nil {
			tk.Position.Line += line
		}
	}
	return parser.Parse(tokens, 0)
}

type positioned interface {
	GetToken() *token.Token
	GetMessage() string
}

func syntaxError(file string, err error) yamldecode.Error {
	var pe positioned
	if errors.As(err, &pe) && pe.GetToken() != nil {
		tk := pe.GetToken()
		return yamldecode.Error{Pos: Pos{File: file, Line: tk.Position.Line, Col: tk.Position.Column}, Msg: "YAML syntax error: " + pe.GetMessage()}
	}
	return yamldecode.Error{Pos: Pos{File: file, Line: 1, Col: 1}, Msg: "YAML syntax error: " + err.Error()}
}

// DecodeObject decodes one document into the object its kind names. It
// returns nil only when the kind cannot be told.
func DecodeObject(file string, body ast.Node) (Object, ErrorList) {
	m, ok := body.(*ast.MappingNode)
	if !ok {
		return nil, ErrorList{{Pos: yamldecode.PosOf(file, body), Msg: "a twin document must be a mapping with kind and name"}}
	}
	kindName, kindNode := "", ast.Node(nil)
	for _, mv := range m.Values {
		if k, ok := yamldecode.ScalarText(mv.Key); ok && k == "kind" {
			kindName, _ = yamldecode.ScalarText(mv.Value)
			kindNode = mv.Value
		}
	}
	if kindNode == nil {
		return nil, ErrorList{{Pos: yamldecode.PosOf(file, body), Msg: "document has no kind: add kind: (one of " + strings.Join(KindNames(), ", ") + ")"}}
	}
	k, ok := LookupKind(kindName)
	if !ok {
		msg := fmt.Sprintf("unknown kind %q", kindName)
		if s := yamldecode.Suggest(kindName, KindNames()); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		} else {
			msg += " (kinds: " + strings.Join(KindNames(), ", ") + ")"
		}
		return nil, ErrorList{{Pos: yamldecode.PosOf(file, kindNode), Msg: msg}}
	}
	obj := k.New()
	src := &Source{Pos: yamldecode.PosOf(file, body), Fields: map[string]Pos{}}
	errs := yamldecode.Decode(body, obj, yamldecode.Options{
		File:   file,
		Record: func(path string, p Pos) { src.Fields[path] = p },
	})
	obj.GetMeta().Kind = k.Name
	obj.GetMeta().SetSource(src)
	return obj, errs
}

func duplicates(objs []Object) ErrorList {
	first := map[Ref]Object{}
	var errs ErrorList
	for _, o := range objs {
		r := RefOf(o)
		if prev, ok := first[r]; ok {
			errs = append(errs, yamldecode.Error{
				Pos: o.GetMeta().Source().At("name"),
				Msg: fmt.Sprintf("duplicate %s %q: first defined at %s; names must be unique within a kind", r.Kind, r.Name, prev.GetMeta().Source().At("name")),
			})
			continue
		}
		first[r] = o
	}
	return errs
}
