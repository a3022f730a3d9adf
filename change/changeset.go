// Package change is how a twin changes: change sets (from a YAML change
// file, an operator command or the diff of two twins), their pure
// application to a snapshot, and the blast radius that application reports.
package change

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"

	"github.com/preflight-sh/preflight/twin"
	"github.com/preflight-sh/preflight/yamldecode"
)

// Operation kinds.
const (
	OpAdd    = "add"    // add a whole object
	OpRemove = "remove" // remove objects, or one list element / map entry
	OpSet    = "set"    // assign values at field paths
	OpPatch  = "patch"  // merge a mapping into objects (lists are replaced)
)

// ChangeSet is a proposed change: who wants it and why, and the ordered
// operations that make it.
type ChangeSet struct {
	Title  string `json:"title,omitempty"`
	Author string `json:"author,omitempty"`
	Ticket string `json:"ticket,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Flags are the author's explicit acknowledgements, such as
	// allow-primary for a destructive operation on a primary.
	Flags []string `json:"flags,omitempty"`
	// At is when the change is to be applied, as a time of day (UTC),
	// "HH:MM"; empty when not known.
	At         string      `json:"at,omitempty"`
	Operations []Operation `json:"operations"`
	// Artifacts are the generated files (feature lists, rule sets, policy
	// tables) the change ships, each for an Artifact of the twin. Their
	// content is not read here: the artifact analysis reads and checks it.
	Artifacts []ArtifactFile `json:"artifacts,omitempty"`
	// Source names where the change came from (a file or "command").
	Source string `json:"source,omitempty"`
}

// ArtifactFile is one generated file a change ships: the new content of
// the twin's Artifact Name.
type ArtifactFile struct {
	// Name is the Artifact object of the twin.
	Name string `json:"name"`
	// File is the path as written in the change file.
	File string `json:"file"`
	// Path is File resolved against the change file's directory (File
	// itself when it is absolute).
	Path string `json:"path"`
	// Pos is where the entry was written.
	Pos twin.Pos `json:"-"`
}

// Operation is one step of a change set. It addresses objects of one kind
// by name, or by selector (optionally limited to Count of the matches).
type Operation struct {
	Op       string     `json:"op"`
	Kind     string     `json:"kind"`
	Name     string     `json:"name,omitempty"`
	Selector Selector   `json:"selector,omitempty"`
	Count    int        `json:"count,omitempty"`
	Path     string     `json:"path,omitempty"`
	Fields   []FieldSet `json:"fields,omitempty"`
	Patch    *Value     `json:"patch,omitempty"`
	Object   *Value     `json:"object,omitempty"`
	// Command is the operator command this operation was compiled from.
	Command string `json:"command,omitempty"`
	// Pos is where the operation was written.
	Pos twin.Pos `json:"-"`
}

// FieldSet assigns Value at Path.
type FieldSet struct {
	Path  string `json:"path"`
	Value Value  `json:"value"`
}

// Value is a YAML value carried by an operation, kept as a syntax tree so
// it is decoded into the target field's own type (with positions) when the
// change is applied.
type Value struct {
	Node ast.Node
	File string
}

// MarshalJSON renders the value as plain JSON data.
func (v Value) MarshalJSON() ([]byte, error) {
	var out any
	if err := yaml.NodeToValue(v.Node, &out); err != nil {
		return nil, err
	}
	return yaml.MarshalContext(context.Background(), out, yaml.JSON())
}

// UnmarshalJSON rebuilds a value from the JSON MarshalJSON writes, by
// parsing it as YAML (of which JSON is a subset): the value's text, fields
// and Field lookups come back; positions are those within the JSON text,
// under the file name "json".
func (v *Value) UnmarshalJSON(b []byte) error {
	pv, err := ParseValue("json", string(b))
	if err != nil {
		return err
	}
	*v = pv
	return nil
}

// ParseValue parses YAML text (a scalar, list or mapping) into a Value.
func ParseValue(file, text string) (Value, error) {
	docs, errs := twin.ParseDocuments(file, []byte(text))
	if len(errs) > 0 {
		return Value{}, errs
	}
	if len(docs) != 1 {
		return Value{}, fmt.Errorf("%s: expected one value", file)
	}
	return Value{Node: docs[0], File: file}, nil
}

// MaxOperations is the most operations one change may have.
const MaxOperations = 100000

// MaxFileSize is the largest change file read.
const MaxFileSize = 16 << 20

// LoadFile reads a change file.
func LoadFile(path string) (*ChangeSet, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading change file: %w", err)
	}
	return ParseFile(path, src)
}

// fileHeader is the fixed part of a change file. Operations are read by
// hand because their values are kept as syntax trees.
type fileHeader struct {
	Title    string   `json:"title,omitempty"`
	Author   string   `json:"author,omitempty"`
	Ticket   string   `json:"ticket,omitempty"`
	Reason   string   `json:"reason,omitempty"`
	Flags    []string `json:"flags,omitempty"`
	At       string   `json:"at,omitempty"`
	Commands []string `json:"commands,omitempty"`
	// Artifacts are decoded by the strict binder; their positions are
	// recorded while decoding.
	Artifacts []fileArtifact `json:"artifacts,omitempty"`
}

type fileArtifact struct {
	Name string `json:"name"`
	File string `json:"file"`
}

type fileOp struct {
	Op    string `json:"op"`
	Kind  string `json:"kind,omitempty"`
	Name  string `json:"name,omitempty"`
	Count int    `json:"count,omitempty"`
	Path  string `json:"path,omitempty"`
}

// ParseFile parses a change file: metadata (title, author, ticket, reason),
// then operations, and/or commands (operator one-liners compiled to
// operations, applied after the operations). Every problem is reported.
func ParseFile(file string, src []byte) (*ChangeSet, error) {
	if len(src) > MaxFileSize {
		return nil, yamldecode.ErrorList{{Pos: twin.Pos{File: file}, Msg: fmt.Sprintf("change file is %d bytes; the limit is %d", len(src), MaxFileSize)}}
	}
	docs, errs := twin.ParseDocuments(file, src)
	if len(errs) > 0 {
		return nil, errs
	}
	if len(docs) != 1 {
		return nil, yamldecode.ErrorList{{Pos: twin.Pos{File: file, Line: 1, Col: 1}, Msg: "a change file holds exactly one YAML document with title, author, ticket, reason and operations or commands"}}
	}
	root, ok := docs[0].(*ast.MappingNode)
	if !ok {
		return nil, yamldecode.ErrorList{{Pos: yamldecode.PosOf(file, docs[0]), Msg: "a change file must be a mapping with title, author, ticket, reason and operations or commands"}}
	}
	var hdr fileHeader
	at := map[string]twin.Pos{}
	record := func(path string, p twin.Pos) {
		if strings.HasPrefix(path, "artifacts") {
			at[path] = p
		}
	}
	errs = yamldecode.Decode(root, &hdr, yamldecode.Options{File: file, Skip: map[string]bool{"operations": true}, Record: record})
	cs := &ChangeSet{Title: hdr.Title, Author: hdr.Author, Ticket: hdr.Ticket, Reason: hdr.Reason, Flags: hdr.Flags, At: hdr.At, Source: file}
	arts, e := artifactFiles(file, hdr.Artifacts, at, yamldecode.PosOf(file, root))
	errs = append(errs, e...)
	cs.Artifacts = arts
	if _, err := cs.Hour(); err != nil {
		errs = append(errs, yamldecode.Error{Pos: yamldecode.PosOf(file, root), Msg: err.Error()})
	}
	var opsNode ast.Node
	var cmdNodes []ast.Node
	for _, mv := range root.Values {
		k, _ := yamldecode.ScalarText(mv.Key)
		switch k {
		case "operations":
			opsNode = mv.Value
		case "commands":
			v := mv.Value
			if a, ok := v.(*ast.AnchorNode); ok {
				v = a.Value
			}
			if s, ok := v.(*ast.SequenceNode); ok {
				cmdNodes = s.Values
			}
		}
	}
	if opsNode != nil {
		seq, ok := opsNode.(*ast.SequenceNode)
		if !ok {
			errs = append(errs, yamldecode.Error{Pos: yamldecode.PosOf(file, opsNode), Msg: "operations must be a list"})
		} else {
			for _, n := range seq.Values {
				op, e := parseOp(file, n)
				errs = append(errs, e...)
				if op != nil {
					cs.Operations = append(cs.Operations, *op)
				}
			}
		}
	}
	for i, c := range hdr.Commands {
		at := yamldecode.PosOf(file, root)
		if i < len(cmdNodes) {
			at = yamldecode.PosOf(file, cmdNodes[i])
		}
		ops, err := CompileAt(c, at)
		if err != nil {
			// The errors already point at the offending word.
			errs = append(errs, asErrors(at, err)...)
			continue
		}
		cs.Operations = append(cs.Operations, ops...)
		if len(cs.Operations) > MaxOperations {
			errs = append(errs, yamldecode.Error{Pos: at, Msg: fmt.Sprintf("the change has more than %d operations: split it into several changes", MaxOperations)})
			break
		}
	}
	if len(cs.Operations) == 0 && len(cs.Artifacts) == 0 && len(errs) == 0 {
		errs = append(errs, yamldecode.Error{Pos: yamldecode.PosOf(file, root), Msg: "the change has no operations: add operations:, commands: or artifacts:"})
	}
	errs.Sort()
	if len(errs) > 0 {
		return nil, errs
	}
	return cs, nil
}

// MaxArtifacts is the most artifact files one change may ship.
const MaxArtifacts = 1000

// artifactFiles checks the artifacts: entries of a change file and
// resolves their paths against the change file's directory. at holds the
// positions the decoder recorded under "artifacts".
func artifactFiles(file string, list []fileArtifact, at map[string]twin.Pos, root twin.Pos) ([]ArtifactFile, yamldecode.ErrorList) {
	var out []ArtifactFile
	var errs yamldecode.ErrorList
	pos := func(path string) twin.Pos {
		if p, ok := at[path]; ok {
			return p
		}
		if p, ok := at["artifacts"]; ok {
			return p
		}
		return root
	}
	if len(list) > MaxArtifacts {
		return nil, yamldecode.ErrorList{{Pos: pos("artifacts"), Msg: fmt.Sprintf("the change ships %d artifacts; the limit is %d: split it into several changes", len(list), MaxArtifacts)}}
	}
	first := map[string]int{}
	for i, a := range list {
		entry := fmt.Sprintf("artifacts[%d]", i)
		// A missing field or an entry that is not a mapping has been
		// reported by the decoder already; only check what was written.
		_, hasName := at[entry+".name"]
		_, hasFile := at[entry+".file"]
		bad := !hasName || !hasFile
		if hasName && strings.TrimSpace(a.Name) == "" {
			errs = append(errs, yamldecode.Error{Pos: pos(entry + ".name"), Msg: "artifact name must not be empty: name the Artifact of the twin this file is the new content of"})
			bad = true
		}
		if hasFile && strings.TrimSpace(a.File) == "" {
			errs = append(errs, yamldecode.Error{Pos: pos(entry + ".file"), Msg: "artifact file must not be empty: give the path of the generated file, relative to the change file"})
			bad = true
		}
		if strings.TrimSpace(a.Name) == "" {
			continue
		}
		if j, dup := first[a.Name]; dup {
			errs = append(errs, yamldecode.Error{Pos: pos(entry + ".name"), Msg: fmt.Sprintf("artifact %q is already shipped by artifacts[%d]: a change ships one file per artifact", a.Name, j)})
			bad = true
		} else {
			first[a.Name] = i
		}
		if bad {
			continue
		}
		out = append(out, ArtifactFile{Name: a.Name, File: a.File, Path: ResolvePath(file, a.File), Pos: pos(entry)})
	}
	return out, errs
}

// ResolvePath resolves the path of a file named in a change file against
// the change file's directory; an absolute path is kept.
func ResolvePath(changeFile, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(filepath.Dir(changeFile), p)
}

func parseOp(file string, n ast.Node) (*Operation, yamldecode.ErrorList) {
	m, ok := n.(*ast.MappingNode)
	if !ok {
		return nil, yamldecode.ErrorList{{Pos: yamldecode.PosOf(file, n), Msg: "an operation must be a mapping with op, kind and name or selector"}}
	}
	var fo fileOp
	skip := map[string]bool{"selector": true, "fields": true, "patch": true, "object": true}
	errs := yamldecode.Decode(m, &fo, yamldecode.Options{File: file, Skip: skip})
	op := &Operation{Op: fo.Op, Kind: fo.Kind, Name: fo.Name, Count: fo.Count, Path: fo.Path, Pos: yamldecode.PosOf(file, m)}
	bad := func(at ast.Node, format string, args ...any) {
		errs = append(errs, yamldecode.Error{Pos: yamldecode.PosOf(file, at), Msg: fmt.Sprintf(format, args...)})
	}
	present := map[string]ast.Node{}
	for _, mv := range m.Values {
		k, _ := yamldecode.ScalarText(mv.Key)
		present[k] = mv.Value
		switch k {
		case "selector":
			sel, err := selectorFromNode(mv.Value)
			if err != nil {
				bad(mv.Value, "%v", err)
			}
			op.Selector = sel
		case "fields":
			fm, ok := mv.Value.(*ast.MappingNode)
			if !ok {
				bad(mv.Value, "fields must be a mapping of field path to value, e.g. state: drained")
				continue
			}
			for _, f := range fm.Values {
				p, _ := yamldecode.ScalarText(f.Key)
				if _, err := parsePath(p); err != nil {
					bad(f.Key, "%v", err)
				}
				op.Fields = append(op.Fields, FieldSet{Path: p, Value: Value{Node: f.Value, File: file}})
			}
		case "patch":
			if _, ok := mv.Value.(*ast.MappingNode); !ok {
				bad(mv.Value, "patch must be a mapping of fields to merge into the object")
			}
			op.Patch = &Value{Node: mv.Value, File: file}
		case "object":
			if _, ok := mv.Value.(*ast.MappingNode); !ok {
				bad(mv.Value, "object must be a twin document (a mapping with kind and name)")
			}
			op.Object = &Value{Node: mv.Value, File: file}
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	if err := op.check(); err != nil {
		bad(m, "%v", err)
		return nil, errs
	}
	return op, nil
}

// check reports an operation whose parts do not fit its op.
func (op *Operation) check() error {
	switch op.Op {
	case OpAdd:
		if op.Object == nil {
			return fmt.Errorf("op add needs object: (the whole twin document to add)")
		}
		if op.Name != "" || len(op.Selector) > 0 || len(op.Fields) > 0 || op.Patch != nil || op.Count != 0 || op.Path != "" {
			return fmt.Errorf("op add takes only object: (and optionally kind:)")
		}
		if op.Kind != "" {
			if kind, _ := op.Object.Field("kind"); kind != op.Kind {
				return fmt.Errorf("op add says kind %s but the object is of kind %q", op.Kind, kind)
			}
		}
		return nil
	case OpRemove, OpSet, OpPatch:
	default:
		msg := fmt.Sprintf("unknown op %q", op.Op)
		if s := yamldecode.Suggest(op.Op, []string{OpAdd, OpRemove, OpSet, OpPatch}); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		return fmt.Errorf("%s: ops are add, remove, set, patch", msg)
	}
	k, ok := twin.LookupKind(op.Kind)
	if !ok {
		msg := fmt.Sprintf("unknown kind %q", op.Kind)
		if s := yamldecode.Suggest(op.Kind, twin.KindNames()); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		return fmt.Errorf("%s", msg)
	}
	op.Kind = k.Name
	if (op.Name == "") == (len(op.Selector) == 0) {
		return fmt.Errorf("op %s needs exactly one of name: or selector:", op.Op)
	}
	if op.Count < 0 {
		return fmt.Errorf("count must not be negative")
	}
	if op.Count > 0 && len(op.Selector) == 0 {
		return fmt.Errorf("count limits a selector; with name: it has no meaning")
	}
	switch op.Op {
	case OpSet:
		if len(op.Fields) == 0 {
			return fmt.Errorf("op set needs fields: (field path: value)")
		}
		if op.Patch != nil || op.Object != nil || op.Path != "" {
			return fmt.Errorf("op set takes fields: only")
		}
	case OpPatch:
		if op.Patch == nil {
			return fmt.Errorf("op patch needs patch: (a mapping merged into the object)")
		}
		if len(op.Fields) > 0 || op.Object != nil || op.Path != "" {
			return fmt.Errorf("op patch takes patch: only")
		}
	case OpRemove:
		if len(op.Fields) > 0 || op.Patch != nil || op.Object != nil {
			return fmt.Errorf("op remove takes name or selector, and optionally path: (a list element or map entry to remove)")
		}
		if op.Path != "" {
			if _, err := parsePath(op.Path); err != nil {
				return err
			}
		}
	}
	return nil
}

// Term is one condition of a selector: Key compared with Value.
type Term struct {
	Key   string `json:"key"`
	Not   bool   `json:"not,omitempty"`
	Value string `json:"value"`
}

func (t Term) String() string {
	if t.Not {
		return t.Key + "!=" + t.Value
	}
	return t.Key + "=" + t.Value
}

// Selector is a conjunction of terms over object labels and attributes.
type Selector []Term

func (s Selector) String() string {
	parts := make([]string, len(s))
	for i, t := range s {
		parts[i] = t.String()
	}
	return strings.Join(parts, ",")
}

// ParseSelector parses "key=value,key!=value".
func ParseSelector(text string) (Selector, error) {
	var sel Selector
	for _, part := range strings.Split(text, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		t, err := parseTerm(part)
		if err != nil {
			return nil, err
		}
		sel = append(sel, t)
	}
	if len(sel) == 0 {
		return nil, fmt.Errorf("empty selector: write key=value")
	}
	return sel, nil
}

func parseTerm(part string) (Term, error) {
	not := false
	k, v, ok := strings.Cut(part, "!=")
	if ok {
		not = true
	} else if k, v, ok = strings.Cut(part, "="); !ok {
		return Term{}, fmt.Errorf("selector term %q: write key=value or key!=value", part)
	}
	k, v = strings.TrimSpace(k), strings.TrimSpace(v)
	if k == "" || v == "" || strings.ContainsAny(k+v, "= ") {
		return Term{}, fmt.Errorf("selector term %q: write key=value or key!=value", part)
	}
	return Term{Key: k, Not: not, Value: v}, nil
}

func selectorFromNode(n ast.Node) (Selector, error) {
	if text, ok := yamldecode.ScalarText(n); ok {
		return ParseSelector(text)
	}
	m, ok := n.(*ast.MappingNode)
	if !ok {
		return nil, fmt.Errorf("selector must be a mapping (key: value) or a string \"key=value,key!=value\"")
	}
	var sel Selector
	for _, mv := range m.Values {
		k, _ := yamldecode.ScalarText(mv.Key)
		v, ok := yamldecode.ScalarText(mv.Value)
		if !ok || k == "" || v == "" {
			return nil, fmt.Errorf("selector %q: values must be plain strings", k)
		}
		sel = append(sel, Term{Key: k, Value: v})
	}
	sort.Slice(sel, func(i, j int) bool { return sel[i].Key < sel[j].Key })
	if len(sel) == 0 {
		return nil, fmt.Errorf("empty selector: write key: value")
	}
	return sel, nil
}

// scalarOf returns the text of a scalar value.
func scalarOf(v Value) (string, bool) { return yamldecode.ScalarText(v.Node) }

// Text renders the value as compact one-line YAML.
func (v Value) Text() string {
	if v.Node == nil {
		return ""
	}
	if s, ok := yamldecode.ScalarText(v.Node); ok {
		return s
	}
	out, err := generic(v)
	if err != nil {
		return v.Node.String()
	}
	b, err := yaml.MarshalWithOptions(out, yaml.Flow(true))
	if err != nil {
		return v.Node.String()
	}
	return strings.TrimSpace(string(b))
}

// Field returns the scalar text of a top-level field of a mapping value.
func (v Value) Field(key string) (string, bool) {
	m, ok := v.Node.(*ast.MappingNode)
	if !ok {
		return "", false
	}
	for _, mv := range m.Values {
		if k, _ := yamldecode.ScalarText(mv.Key); k == key {
			return yamldecode.ScalarText(mv.Value)
		}
	}
	return "", false
}

// Hour is the hour of day (UTC) the change is to be applied at, or -1 when
// the change does not say.
func (cs *ChangeSet) Hour() (int, error) {
	if cs.At == "" {
		return -1, nil
	}
	t, err := time.Parse("15:04", cs.At)
	if err != nil {
		return -1, fmt.Errorf("at %q is not a time of day: write HH:MM in UTC, e.g. at: \"03:30\"", cs.At)
	}
	return t.Hour(), nil
}
