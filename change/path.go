package change

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/preflight-sh/preflight/yamldecode"
)

// A field path names a value inside an object: field names (the YAML names)
// joined by dots; a list element is chosen by [index], by [key] (the
// element whose name — or site, for anycast announcements — is key) or by
// [field=value]; a map entry by .key. Examples: state, autoscaling.min,
// targets[us-east-1].weight, announcements[site=iad-pop].state, labels.tier.

type segment struct {
	field  string // field or map key
	sel    string // list selector without brackets, or ""
	hasSel bool
}

func parsePath(p string) ([]segment, error) {
	if strings.TrimSpace(p) == "" {
		return nil, fmt.Errorf("empty field path")
	}
	var segs []segment
	rest := p
	for rest != "" {
		var s segment
		end := strings.IndexAny(rest, ".[")
		if end < 0 {
			end = len(rest)
		}
		s.field = rest[:end]
		if s.field == "" {
			return nil, fmt.Errorf("field path %q: empty field name", p)
		}
		rest = rest[end:]
		if strings.HasPrefix(rest, "[") {
			close := strings.IndexByte(rest, ']')
			if close < 0 {
				return nil, fmt.Errorf("field path %q: missing ]", p)
			}
			s.sel, s.hasSel = rest[1:close], true
			if s.sel == "" {
				return nil, fmt.Errorf("field path %q: empty [] selector", p)
			}
			rest = rest[close+1:]
		}
		if strings.HasPrefix(rest, ".") {
			rest = rest[1:]
			if rest == "" {
				return nil, fmt.Errorf("field path %q ends with a dot", p)
			}
		} else if rest != "" {
			return nil, fmt.Errorf("field path %q: expected . or [ after %q", p, s.field)
		}
		segs = append(segs, s)
	}
	return segs, nil
}

// target is where a path ends: either a settable value, or a map entry
// (maps hold values that are not addressable).
type target struct {
	v      reflect.Value // the value, or the map for a map entry
	mapKey string
	isMap  bool
}

// resolvePath walks root (an addressable struct) along p and returns every
// value it names: one, or one per element where the path says [*]. Nil
// pointers and maps on the way are created.
func resolvePath(root reflect.Value, p string) ([]target, error) {
	segs, err := parsePath(p)
	if err != nil {
		return nil, err
	}
	var out []target
	if err := walkPath(root, segs, p, &out); err != nil {
		return nil, err
	}
	return out, nil
}

func walkPath(v reflect.Value, segs []segment, p string, out *[]target) error {
	s := segs[0]
	last := len(segs) == 1
	v = deref(v)
	switch v.Kind() {
	case reflect.Struct:
		f, ok := fieldByName(v, s.field)
		if !ok {
			msg := fmt.Sprintf("no field %q", s.field)
			if sug := yamldecode.Suggest(s.field, yamldecode.FieldNames(v.Type())); sug != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", sug)
			} else {
				msg += " (fields: " + strings.Join(yamldecode.FieldNames(v.Type()), ", ") + ")"
			}
			return fmt.Errorf("field path %q: %s", p, msg)
		}
		v = f
	case reflect.Map:
		if s.hasSel || !last {
			return fmt.Errorf("field path %q: cannot go below map entry %q", p, s.field)
		}
		if v.IsNil() {
			v.Set(reflect.MakeMap(v.Type()))
		}
		*out = append(*out, target{v: v, mapKey: s.field, isMap: true})
		return nil
	default:
		return fmt.Errorf("field path %q: %q is not inside a mapping", p, s.field)
	}
	elems := []reflect.Value{v}
	if s.hasSel {
		v = deref(v)
		if v.Kind() == reflect.Map {
			if !last {
				return fmt.Errorf("field path %q: cannot go below map entry %q", p, s.sel)
			}
			if v.IsNil() {
				v.Set(reflect.MakeMap(v.Type()))
			}
			*out = append(*out, target{v: v, mapKey: s.sel, isMap: true})
			return nil
		}
		if v.Kind() != reflect.Slice {
			return fmt.Errorf("field path %q: %s is not a list", p, s.field)
		}
		elems = elems[:0]
		if s.sel == "*" {
			for i := range v.Len() {
				elems = append(elems, v.Index(i))
			}
		} else {
			idx, err := findElement(v, s.sel)
			if err != nil {
				return fmt.Errorf("field path %q: %w", p, err)
			}
			elems = append(elems, v.Index(idx))
		}
	}
	for _, e := range elems {
		if last {
			*out = append(*out, target{v: e})
			continue
		}
		if err := walkPath(e, segs[1:], p, out); err != nil {
			return err
		}
	}
	return nil
}

func deref(v reflect.Value) reflect.Value {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		v = v.Elem()
	}
	return v
}

// fieldByName finds a struct field by its YAML name, through embedded
// structs.
func fieldByName(v reflect.Value, name string) (reflect.Value, bool) {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && tag == "" {
			if r, ok := fieldByName(v.Field(i), name); ok {
				return r, true
			}
			continue
		}
		if f.IsExported() && tag == name {
			return v.Field(i), true
		}
	}
	return reflect.Value{}, false
}

// keyField is the field that names a list element: name, or site for
// anycast announcements.
func keyOf(elem reflect.Value) (string, bool) {
	elem = reflect.Indirect(elem)
	if elem.Kind() != reflect.Struct {
		return "", false
	}
	for _, k := range []string{"name", "site"} {
		if f, ok := fieldByName(elem, k); ok && f.Kind() == reflect.String {
			return f.String(), true
		}
	}
	return "", false
}

func findElement(list reflect.Value, sel string) (int, error) {
	if n, err := strconv.Atoi(sel); err == nil {
		if n < 0 || n >= list.Len() {
			return 0, fmt.Errorf("index %d out of range (the list has %d elements)", n, list.Len())
		}
		return n, nil
	}
	field, want, byField := strings.Cut(sel, "=")
	var keys []string
	for i := range list.Len() {
		e := reflect.Indirect(list.Index(i))
		if byField {
			if e.Kind() == reflect.Struct {
				if f, ok := fieldByName(e, field); ok && fieldText(f) == want {
					return i, nil
				}
			}
			continue
		}
		if k, ok := keyOf(e); ok {
			if k == sel {
				return i, nil
			}
			keys = append(keys, k)
		}
	}
	msg := fmt.Sprintf("no element [%s]", sel)
	if s := yamldecode.Suggest(sel, keys); s != "" {
		msg += fmt.Sprintf(" (did you mean [%s]?)", s)
	} else if len(keys) > 0 {
		msg += " (elements: " + strings.Join(keys, ", ") + ")"
	}
	return 0, fmt.Errorf("%s", msg)
}

// deepCopy returns a copy of v that shares no maps, slices or pointers
// with it (unexported fields are copied as they are).
func deepCopy(v reflect.Value) reflect.Value {
	out := reflect.New(v.Type()).Elem()
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return out
		}
		p := reflect.New(v.Type().Elem())
		p.Elem().Set(deepCopy(v.Elem()))
		out.Set(p)
	case reflect.Struct:
		out.Set(v)
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				switch v.Field(i).Kind() {
				case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Struct:
					out.Field(i).Set(deepCopy(v.Field(i)))
				}
			}
		}
	case reflect.Slice:
		if v.IsNil() {
			return out
		}
		s := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := range v.Len() {
			s.Index(i).Set(deepCopy(v.Index(i)))
		}
		out.Set(s)
	case reflect.Map:
		if v.IsNil() {
			return out
		}
		m := reflect.MakeMapWithSize(v.Type(), v.Len())
		iter := v.MapRange()
		for iter.Next() {
			m.SetMapIndex(iter.Key(), deepCopy(iter.Value()))
		}
		out.Set(m)
	default:
		out.Set(v)
	}
	return out
}

// fieldText renders a field as [field=value] compares it, through pointers.
func fieldText(f reflect.Value) string {
	for f.Kind() == reflect.Pointer {
		if f.IsNil() {
			return ""
		}
		f = f.Elem()
	}
	if s, ok := scalarString(f); ok {
		return s
	}
	return fmt.Sprint(f.Interface())
}

// indexPath rewrites the [key] and [field=value] selectors of a path into
// the [index] form that source positions are recorded under. Parts it
// cannot resolve are left as they are.
func indexPath(o any, p string) string {
	segs, err := parsePath(p)
	if err != nil {
		return p
	}
	v := reflect.ValueOf(o)
	var b strings.Builder
	for i, s := range segs {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s.field)
		for v.IsValid() && v.Kind() == reflect.Pointer && !v.IsNil() {
			v = v.Elem()
		}
		if v.IsValid() && v.Kind() == reflect.Struct {
			v, _ = fieldByName(v, s.field)
		} else {
			v = reflect.Value{}
		}
		if !s.hasSel {
			continue
		}
		if v.IsValid() && v.Kind() == reflect.Slice && s.sel != "*" {
			if idx, err := findElement(v, s.sel); err == nil {
				fmt.Fprintf(&b, "[%d]", idx)
				v = v.Index(idx)
				continue
			}
		}
		fmt.Fprintf(&b, "[%s]", s.sel)
		v = reflect.Value{}
	}
	return b.String()
}
