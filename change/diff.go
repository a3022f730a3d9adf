package change

import (
	"bytes"
	"encoding"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"

	"github.com/preflight-sh/preflight/twin"
)

// FieldChange is one value that differs between two versions of an object.
// Before and After are YAML text ("" for absent).
type FieldChange struct {
	Path   string `json:"path"`
	Before string `json:"before"`
	After  string `json:"after"`
	// value is the new Go value, for building set operations.
	value reflect.Value
}

// ObjectChanges lists the field changes from a to b (same kind), deepest
// paths that tell the whole difference, in field order.
func ObjectChanges(a, b twin.Object) []FieldChange {
	var out []FieldChange
	diffValue(reflect.ValueOf(a).Elem(), reflect.ValueOf(b).Elem(), "", &out)
	return out
}

func diffValue(a, b reflect.Value, path string, out *[]FieldChange) {
	if reflect.DeepEqual(a.Interface(), b.Interface()) {
		return
	}
	whole := func() {
		*out = append(*out, FieldChange{Path: path, Before: render(a), After: render(b), value: b})
	}
	if a.Type().Implements(textMarshaler) {
		whole()
		return
	}
	switch a.Kind() {
	case reflect.Struct:
		t := a.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if f.Anonymous && name == "" {
				diffValue(a.Field(i), b.Field(i), path, out)
				continue
			}
			if !f.IsExported() || name == "-" || path == "" && (name == "kind" || name == "name") {
				continue
			}
			diffValue(a.Field(i), b.Field(i), join(path, name), out)
		}
	case reflect.Pointer:
		// A pointer to a scalar is one value: its zero (weight: 0) is
		// set, unlike an absent one, so it is rendered through the pointer.
		if a.IsNil() || b.IsNil() || a.Elem().Kind() != reflect.Struct {
			whole()
			return
		}
		diffValue(a.Elem(), b.Elem(), path, out)
	case reflect.Map:
		keys := map[string]bool{}
		for _, k := range a.MapKeys() {
			keys[k.String()] = true
		}
		for _, k := range b.MapKeys() {
			keys[k.String()] = true
		}
		for _, k := range slices.Sorted(maps.Keys(keys)) {
			av, bv := a.MapIndex(reflect.ValueOf(k)), b.MapIndex(reflect.ValueOf(k))
			p := join(path, k)
			if strings.ContainsAny(k, ".[]") {
				// A key with a dot (app.example.com/name) is written
				// path[key].
				p = path + "[" + k + "]"
			}
			switch {
			case !av.IsValid():
				*out = append(*out, FieldChange{Path: p, After: render(bv), value: bv})
			case !bv.IsValid():
				*out = append(*out, FieldChange{Path: p, Before: render(av)})
			default:
				diffValue(av, bv, p, out)
			}
		}
	case reflect.Slice:
		ka, okA := listKeys(a)
		kb, okB := listKeys(b)
		if !okA || !okB || !reflect.DeepEqual(ka, kb) {
			whole()
			return
		}
		for i := range a.Len() {
			diffValue(a.Index(i), b.Index(i), fmt.Sprintf("%s[%s]", path, ka[i]), out)
		}
	default:
		whole()
	}
}

// listKeys returns the element keys of a list of named elements, if they
// are all present and unique.
func listKeys(l reflect.Value) ([]string, bool) {
	keys := make([]string, l.Len())
	seen := map[string]bool{}
	for i := range l.Len() {
		k, ok := keyOf(l.Index(i))
		_, numeric := strconv.Atoi(k)
		// A numeric key would read back as an index.
		if !ok || k == "" || seen[k] || strings.ContainsAny(k, "[]=.*") || numeric == nil {
			return nil, false
		}
		seen[k] = true
		keys[i] = k
	}
	return keys, true
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// render prints a value as compact one-line YAML.
func render(v reflect.Value) string {
	if !v.IsValid() {
		return ""
	}
	if v.Kind() == reflect.String && v.Len() == 0 {
		return ""
	}
	b, err := yaml.MarshalWithOptions(plain(v), yaml.Flow(true))
	if err != nil {
		return fmt.Sprint(v.Interface())
	}
	return strings.TrimSpace(string(b))
}

// Diff returns the change set that turns twin a into twin b: objects only
// in b are added, objects only in a removed, and objects in both get one
// set operation with the fields that differ.
func Diff(a, b *twin.Snapshot) (*ChangeSet, error) {
	cs := &ChangeSet{Title: "Differences between two twins"}
	for _, k := range twin.Kinds {
		for _, o := range a.List(k.Name) {
			if b.Get(k.Name, o.GetMeta().Name) == nil {
				cs.Operations = append(cs.Operations, Operation{Op: OpRemove, Kind: k.Name, Name: o.GetMeta().Name})
			}
		}
		for _, o := range b.List(k.Name) {
			name := o.GetMeta().Name
			old := a.Get(k.Name, name)
			if old == nil {
				text, err := yaml.Marshal(plain(reflect.ValueOf(o)))
				if err != nil {
					return nil, err
				}
				v, err := ParseValue("diff", string(text))
				if err != nil {
					return nil, err
				}
				cs.Operations = append(cs.Operations, Operation{Op: OpAdd, Kind: k.Name, Object: &v})
				continue
			}
			op := Operation{Op: OpSet, Kind: k.Name, Name: name}
			for _, c := range ObjectChanges(old, o) {
				if !c.value.IsValid() {
					// A map entry that is gone: remove it.
					cs.Operations = append(cs.Operations, Operation{Op: OpRemove, Kind: k.Name, Name: name, Path: c.Path})
					continue
				}
				text := "null"
				switch k := c.value.Kind(); {
				case (k == reflect.Pointer || k == reflect.Slice || k == reflect.Map) && c.value.IsNil():
					// null, so that a nil list stays nil rather than empty
				default:
					t, err := yaml.Marshal(plain(c.value))
					if err != nil {
						return nil, err
					}
					text = string(bytes.TrimSpace(t))
				}
				v, err := ParseValue("diff", text)
				if err != nil {
					return nil, err
				}
				op.Fields = append(op.Fields, FieldSet{Path: c.Path, Value: v})
			}
			if len(op.Fields) > 0 {
				cs.Operations = append(cs.Operations, op)
			}
		}
	}
	return cs, nil
}

// plain converts a twin value to ordered plain data for YAML output: field
// names from json tags, zero optional fields left out, and values that
// print as text (units, addresses, prefixes) as strings.
func plain(v reflect.Value) any {
	if v.Type().Implements(textMarshaler) {
		if v.Kind() == reflect.Pointer && v.IsNil() {
			return nil
		}
		b, _ := v.Interface().(encoding.TextMarshaler).MarshalText()
		return string(b)
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		return plain(v.Elem())
	case reflect.Struct:
		out := yaml.MapSlice{}
		var walk func(v reflect.Value)
		walk = func(v reflect.Value) {
			t := v.Type()
			for i := range t.NumField() {
				f := t.Field(i)
				name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
				if f.Anonymous && name == "" {
					walk(v.Field(i))
					continue
				}
				if !f.IsExported() || name == "-" || strings.Contains(opts, "omitempty") && v.Field(i).IsZero() {
					continue
				}
				out = append(out, yaml.MapItem{Key: name, Value: plain(v.Field(i))})
			}
		}
		walk(v)
		return out
	case reflect.Slice:
		out := make([]any, v.Len())
		for i := range v.Len() {
			out[i] = plain(v.Index(i))
		}
		return out
	case reflect.Map:
		out := yaml.MapSlice{}
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
		for _, k := range keys {
			out = append(out, yaml.MapItem{Key: k.String(), Value: plain(v.MapIndex(k))})
		}
		return out
	}
	return v.Interface()
}
