package change

import (
	"io"

	"github.com/goccy/go-yaml"
)

// WriteYAML writes a change set as a change file that ParseFile reads back.
// Artifact files are written as they were given (File), so they resolve to
// the same paths when the output sits in the directory of the original.
func WriteYAML(w io.Writer, cs *ChangeSet) error {
	doc := yaml.MapSlice{}
	for _, kv := range [][2]string{{"title", cs.Title}, {"author", cs.Author}, {"ticket", cs.Ticket}, {"reason", cs.Reason}} {
		if kv[1] != "" {
			doc = append(doc, yaml.MapItem{Key: kv[0], Value: kv[1]})
		}
	}
	if cs.At != "" {
		doc = append(doc, yaml.MapItem{Key: "at", Value: cs.At})
	}
	if len(cs.Flags) > 0 {
		doc = append(doc, yaml.MapItem{Key: "flags", Value: cs.Flags})
	}
	ops := make([]any, 0, len(cs.Operations))
	for _, op := range cs.Operations {
		m := yaml.MapSlice{{Key: "op", Value: op.Op}}
		if op.Op != OpAdd {
			m = append(m, yaml.MapItem{Key: "kind", Value: op.Kind})
		}
		if op.Name != "" {
			m = append(m, yaml.MapItem{Key: "name", Value: op.Name})
		}
		if len(op.Selector) > 0 {
			m = append(m, yaml.MapItem{Key: "selector", Value: op.Selector.String()})
		}
		if op.Count > 0 {
			m = append(m, yaml.MapItem{Key: "count", Value: op.Count})
		}
		if op.Path != "" {
			m = append(m, yaml.MapItem{Key: "path", Value: op.Path})
		}
		if len(op.Fields) > 0 {
			fields := yaml.MapSlice{}
			for _, f := range op.Fields {
				v, err := generic(f.Value)
				if err != nil {
					return err
				}
				fields = append(fields, yaml.MapItem{Key: f.Path, Value: v})
			}
			m = append(m, yaml.MapItem{Key: "fields", Value: fields})
		}
		for _, kv := range []struct {
			key string
			v   *Value
		}{{"patch", op.Patch}, {"object", op.Object}} {
			if kv.v == nil {
				continue
			}
			v, err := generic(*kv.v)
			if err != nil {
				return err
			}
			m = append(m, yaml.MapItem{Key: kv.key, Value: v})
		}
		ops = append(ops, m)
	}
	doc = append(doc, yaml.MapItem{Key: "operations", Value: ops})
	if len(cs.Artifacts) > 0 {
		arts := make([]any, 0, len(cs.Artifacts))
		for _, a := range cs.Artifacts {
			arts = append(arts, yaml.MapSlice{{Key: "name", Value: a.Name}, {Key: "file", Value: a.File}})
		}
		doc = append(doc, yaml.MapItem{Key: "artifacts", Value: arts})
	}
	b, err := yaml.MarshalWithOptions(doc, yaml.IndentSequence(true))
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// generic converts a value's syntax tree to plain data, keeping the order
// of mapping keys.
func generic(v Value) (any, error) {
	var out any
	err := yaml.NodeToValue(v.Node, &out, yaml.UseOrderedMap())
	return out, err
}
