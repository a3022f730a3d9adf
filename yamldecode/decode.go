// Package yamldecode binds YAML syntax trees to Go structs strictly: every
// unknown field (with a did-you-mean), missing required field, wrong type
// and bad value in a document is reported at once, each with its file, line
// and column. Field names come from the structs' json tags; a field without
// omitempty is required. Values that implement encoding.TextUnmarshaler
// (units, addresses, prefixes) are parsed from their scalar text.
package yamldecode

import (
	"encoding"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/agnivade/levenshtein"
	"github.com/goccy/go-yaml/ast"
)

// Pos is a position in a source file; lines and columns count from 1.
type Pos struct {
	File string `json:"file"`
	Line int    `json:"line"`
	Col  int    `json:"col"`
}

func (p Pos) String() string {
	if p.Line == 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// Error is one problem at one position.
type Error struct {
	Pos Pos
	Msg string
}

func (e Error) Error() string { return e.Pos.String() + ": " + e.Msg }

// ErrorList is every problem found, sorted by position.
type ErrorList []Error

func (l ErrorList) Error() string {
	var b strings.Builder
	for i, e := range l {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Sort orders the list by file, line, column and message, and drops exact
// duplicates.
func (l *ErrorList) Sort() {
	s := *l
	sort.SliceStable(s, func(i, j int) bool {
		a, b := s[i], s[j]
		if a.Pos.File != b.Pos.File {
			return a.Pos.File < b.Pos.File
		}
		if a.Pos.Line != b.Pos.Line {
			return a.Pos.Line < b.Pos.Line
		}
		if a.Pos.Col != b.Pos.Col {
			return a.Pos.Col < b.Pos.Col
		}
		return a.Msg < b.Msg
	})
	out := s[:0]
	for i, e := range s {
		if i > 0 && e == s[i-1] {
			continue
		}
		out = append(out, e)
	}
	*l = out
}

// Err returns the list as an error, or nil when it is empty.
func (l ErrorList) Err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}

// Options controls one decode.
type Options struct {
	// File names the source in positions.
	File string
	// Partial skips the required-field check (for merge patches).
	Partial bool
	// Record, if set, is called with the path and position of every value.
	Record func(path string, p Pos)
	// Skip lists top-level keys the caller handles itself.
	Skip map[string]bool
}

// decoder holds the state of one decode.
type decoder struct {
	opts    Options
	errs    ErrorList
	anchors map[string]ast.Node
}

// Decode binds node to v (a non-nil pointer), merging into what v already
// holds: mappings merge key by key, sequences and scalars are replaced.
func Decode(node ast.Node, v any, opts Options) ErrorList {
	d := &decoder{opts: opts, anchors: map[string]ast.Node{}}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		panic("yamldecode: Decode needs a non-nil pointer")
	}
	d.value(node, rv.Elem(), "", true)
	d.errs.Sort()
	return d.errs
}

// PosOf returns the position of a node in file.
func PosOf(file string, n ast.Node) Pos {
	// A mapping's own token is its first ':'; point at its first key.
	for {
		if m, ok := n.(*ast.MappingNode); ok && len(m.Values) > 0 && m.Values[0].Key != nil && !m.IsFlowStyle {
			n = m.Values[0].Key
			continue
		}
		if mv, ok := n.(*ast.MappingValueNode); ok && mv.Key != nil {
			n = mv.Key
			continue
		}
		break
	}
	if n == nil || n.GetToken() == nil {
		return Pos{File: file}
	}
	tk := n.GetToken()
	return Pos{File: file, Line: tk.Position.Line, Col: tk.Position.Column}
}

func (d *decoder) errorf(n ast.Node, format string, args ...any) {
	d.errs = append(d.errs, Error{Pos: PosOf(d.opts.File, n), Msg: fmt.Sprintf(format, args...)})
}

// Resolve follows anchors and aliases and rejects tags; it returns nil for
// a node it cannot use (after reporting why).
func (d *decoder) resolve(n ast.Node) ast.Node {
	for n != nil {
		switch t := n.(type) {
		case *ast.AnchorNode:
			if t.Name != nil {
				d.anchors[t.Name.String()] = t.Value
			}
			n = t.Value
		case *ast.AliasNode:
			name := ""
			if t.Value != nil {
				name = t.Value.String()
			}
			target, ok := d.anchors[name]
			if !ok {
				d.errorf(n, "alias *%s refers to no anchor defined before it", name)
				return nil
			}
			n = target
		case *ast.TagNode:
			d.errorf(n, "YAML tags such as %s are not supported: remove the tag", t.Start.Value)
			return nil
		case *ast.DocumentNode:
			n = t.Body
		default:
			return n
		}
	}
	return nil
}

var textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()

func (d *decoder) record(path string, n ast.Node) {
	if d.opts.Record != nil {
		d.opts.Record(path, PosOf(d.opts.File, n))
	}
}

func (d *decoder) value(n ast.Node, v reflect.Value, path string, top bool) {
	n = d.resolve(n)
	if n == nil {
		return
	}
	d.record(path, n)
	if _, isNull := n.(*ast.NullNode); isNull {
		v.SetZero()
		return
	}
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.value(n, v.Elem(), path, top)
		return
	}
	if v.CanAddr() && v.Addr().Type().Implements(textUnmarshaler) {
		text, ok := ScalarText(n)
		if !ok {
			d.errorf(n, "%s: expected a single value, found %s", describe(path), nodeKind(n))
			return
		}
		if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(text)); err != nil {
			d.errorf(n, "%s: %s", describe(path), cleanErr(err))
		}
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		m, ok := n.(*ast.MappingNode)
		if !ok {
			d.errorf(n, "%s: expected a mapping of fields, found %s", describe(path), nodeKind(n))
			return
		}
		d.structFields(m, v, path, top)
	case reflect.Map:
		m, ok := n.(*ast.MappingNode)
		if !ok {
			d.errorf(n, "%s: expected a mapping, found %s", describe(path), nodeKind(n))
			return
		}
		if v.IsNil() {
			v.Set(reflect.MakeMap(v.Type()))
		}
		seen := map[string]bool{}
		for _, mv := range m.Values {
			key, ok := d.key(mv)
			if !ok {
				continue
			}
			if seen[key] {
				d.errorf(mv.Key, "%s: key %q appears twice", describe(path), key)
				continue
			}
			seen[key] = true
			mk := reflect.ValueOf(key).Convert(v.Type().Key())
			elem := reflect.New(v.Type().Elem()).Elem()
			if old := v.MapIndex(mk); old.IsValid() {
				elem.Set(old)
			}
			d.value(mv.Value, elem, join(path, key), false)
			v.SetMapIndex(mk, elem)
		}
	case reflect.Slice:
		s, ok := n.(*ast.SequenceNode)
		if !ok {
			d.errorf(n, "%s: expected a list, found %s", describe(path), nodeKind(n))
			return
		}
		out := reflect.MakeSlice(v.Type(), len(s.Values), len(s.Values))
		for i, item := range s.Values {
			d.value(item, out.Index(i), fmt.Sprintf("%s[%d]", path, i), false)
		}
		v.Set(out)
	case reflect.String:
		text, ok := ScalarText(n)
		if !ok {
			d.errorf(n, "%s: expected a string, found %s", describe(path), nodeKind(n))
			return
		}
		v.SetString(text)
	case reflect.Bool:
		b, ok := n.(*ast.BoolNode)
		if !ok {
			d.errorf(n, "%s: expected true or false, found %s", describe(path), nodeKind(n))
			return
		}
		v.SetBool(b.Value)
	case reflect.Int, reflect.Int64, reflect.Int32:
		text, ok := ScalarText(n)
		i, err := strconv.ParseInt(decimal(text), 0, v.Type().Bits())
		if _, isInt := n.(*ast.IntegerNode); !ok || !isInt || err != nil {
			d.errorf(n, "%s: expected a whole number, found %s", describe(path), shown(n, text))
			return
		}
		v.SetInt(i)
	case reflect.Uint32, reflect.Uint64, reflect.Uint:
		text, ok := ScalarText(n)
		u, err := strconv.ParseUint(strings.TrimPrefix(decimal(text), "+"), 0, v.Type().Bits())
		if _, isInt := n.(*ast.IntegerNode); !ok || !isInt || err != nil {
			d.errorf(n, "%s: expected a whole number from 0 to %d, found %s", describe(path), uint64(1)<<v.Type().Bits()-1, shown(n, text))
			return
		}
		v.SetUint(u)
	case reflect.Float64:
		text, ok := ScalarText(n)
		f, err := strconv.ParseFloat(text, 64)
		_, isInt := n.(*ast.IntegerNode)
		_, isFloat := n.(*ast.FloatNode)
		if !ok || !(isInt || isFloat) || err != nil {
			d.errorf(n, "%s: expected a number, found %s", describe(path), shown(n, text))
			return
		}
		v.SetFloat(f)
	default:
		panic("yamldecode: unsupported Go type " + v.Type().String())
	}
}

func (d *decoder) key(mv *ast.MappingValueNode) (string, bool) {
	if mv.Key == nil {
		d.errorf(mv, "mapping entry without a key")
		return "", false
	}
	if mv.Key.IsMergeKey() {
		d.errorf(mv.Key, "merge keys (<<) are not supported: write the fields out")
		return "", false
	}
	k := d.resolve(mv.Key)
	text, ok := ScalarText(k)
	if !ok {
		d.errorf(mv.Key, "mapping keys must be plain strings")
		return "", false
	}
	return text, true
}

func (d *decoder) structFields(m *ast.MappingNode, v reflect.Value, path string, top bool) {
	info := structInfoOf(v.Type())
	seen := map[string]bool{}
	for _, mv := range m.Values {
		key, ok := d.key(mv)
		if !ok {
			continue
		}
		if seen[key] {
			d.errorf(mv.Key, "field %q appears twice", join(path, key))
			continue
		}
		seen[key] = true
		if top && d.opts.Skip[key] {
			continue
		}
		f, ok := info.fields[key]
		if !ok {
			msg := fmt.Sprintf("unknown field %q", key)
			if path != "" {
				msg = fmt.Sprintf("unknown field %q in %s", key, path)
			}
			names := info.names
			if top && len(d.opts.Skip) > 0 {
				// The keys the caller reads itself are known fields too.
				names = append([]string(nil), names...)
				for k := range d.opts.Skip {
					names = append(names, k)
				}
				sort.Strings(names[len(info.names):])
			}
			if s := Suggest(key, names); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			} else {
				msg += " (known fields: " + strings.Join(names, ", ") + ")"
			}
			d.errs = append(d.errs, Error{Pos: PosOf(d.opts.File, mv.Key), Msg: msg})
			continue
		}
		d.value(mv.Value, v.FieldByIndex(f), join(path, key), false)
	}
	if d.opts.Partial {
		return
	}
	for _, name := range info.required {
		if !seen[name] && !(top && d.opts.Skip[name]) {
			d.errorf(m, "missing required field %q", join(path, name))
		}
	}
}

type structInfo struct {
	fields   map[string][]int // field index path by name
	names    []string
	required []string
}

var infoCache sync.Map

// FieldNames returns the YAML field names of struct type t, in order.
func FieldNames(t reflect.Type) []string { return structInfoOf(t).names }

func structInfoOf(t reflect.Type) *structInfo {
	if c, ok := infoCache.Load(t); ok {
		return c.(*structInfo)
	}
	info := &structInfo{fields: map[string][]int{}}
	var walk func(t reflect.Type, prefix []int)
	walk = func(t reflect.Type, prefix []int) {
		for i := range t.NumField() {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			name, opts, _ := strings.Cut(tag, ",")
			idx := append(append([]int(nil), prefix...), i)
			if f.Anonymous && name == "" {
				walk(f.Type, idx)
				continue
			}
			if !f.IsExported() || name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			info.fields[name] = idx
			info.names = append(info.names, name)
			if !strings.Contains(opts, "omitempty") {
				info.required = append(info.required, name)
			}
		}
	}
	walk(t, nil)
	infoCache.Store(t, info)
	return info
}

// Suggest returns the candidate closest to word if it is close enough to be
// a likely typo, or "".
func Suggest(word string, candidates []string) string {
	best, bestD := "", 1<<30
	for _, c := range candidates {
		if strings.EqualFold(c, word) {
			return c
		}
		d := levenshtein.ComputeDistance(strings.ToLower(word), strings.ToLower(c))
		if d < bestD || (d == bestD && c < best) {
			best, bestD = c, d
		}
	}
	limit := max(2, len(word)/3)
	if bestD <= limit && bestD < len(word) {
		return best
	}
	return ""
}

// ScalarText returns the text of a scalar node as written (without quotes).
// It does not follow anchors or aliases.
func ScalarText(n ast.Node) (string, bool) {
	switch t := n.(type) {
	case *ast.StringNode:
		return t.Value, true
	case *ast.LiteralNode:
		if t.Value == nil {
			return "", true
		}
		return t.Value.Value, true
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode:
		return n.GetToken().Value, true
	case *ast.NullNode:
		return "", true
	}
	return "", false
}

func nodeKind(n ast.Node) string {
	switch n.(type) {
	case *ast.MappingNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	case *ast.NullNode:
		return "nothing"
	case *ast.BoolNode:
		return "true/false"
	case *ast.IntegerNode, *ast.FloatNode:
		return "a number"
	}
	return "a string"
}

func shown(n ast.Node, text string) string {
	if _, ok := ScalarText(n); ok {
		return strconv.Quote(text)
	}
	return nodeKind(n)
}

func describe(path string) string {
	if path == "" {
		return "value"
	}
	return path
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// cleanErr strips Go package prefixes from library error messages.
func cleanErr(err error) string {
	s := err.Error()
	for _, p := range []string{"netip.ParsePrefix(", "netip.ParseAddr(", "ParseAddr(", "ParsePrefix("} {
		if strings.HasPrefix(s, p) {
			return "invalid address or prefix " + strings.TrimPrefix(s, p[:len(p)-1])
		}
	}
	return s
}

// decimal makes a YAML 1.2 integer readable by strconv with base 0: a
// leading zero does not mean octal (010 is ten; octal is written 0o10).
func decimal(text string) string {
	t := strings.TrimLeft(text, "+-")
	if len(t) > 1 && t[0] == '0' && t[1] >= '0' && t[1] <= '9' {
		sign := text[:len(text)-len(t)]
		t = strings.TrimLeft(t, "0")
		if t == "" {
			t = "0"
		}
		return sign + t
	}
	return text
}
