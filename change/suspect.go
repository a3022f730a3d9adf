package change

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/preflight-sh/preflight/finding"
	"github.com/preflight-sh/preflight/twin"
)

// spreadKeys are the attributes along which a selector that reaches further
// than the rest of the change is suspicious.
var spreadKeys = []string{"service", "role", "region"}

// SelectorFindings flags selectors that match more than their author
// probably meant: objects of a different service, role or region than the
// rest of the change names, several of them when the selector does not say
// which, or far more objects than the count it takes.
func (r *Result) SelectorFindings() []finding.Finding {
	view := SnapshotView(r.Before)
	intent := r.intent(view)
	var out []finding.Finding
	for _, sel := range r.Selections {
		op := r.Change.Operations[sel.Op-1]
		sev := finding.Warning
		if destructive(op) {
			sev = finding.Critical
		}
		where := finding.Object{Kind: "Change", Name: fmt.Sprintf("operation %d", sel.Op), Pos: sel.Pos}
		for _, key := range spreadKeys {
			vals := map[string][]string{}
			for _, name := range sel.Chosen {
				if o := r.Before.Get(sel.Kind, name); o != nil {
					if v, ok := view.Attr(o, key); ok {
						vals[v] = append(vals[v], name)
					}
				}
			}
			if len(vals) == 0 {
				continue
			}
			named := constrains(op.Selector, key)
			var extra []string
			for v := range vals {
				if len(intent[key]) > 0 && !intent[key][v] {
					extra = append(extra, v)
				}
			}
			sort.Strings(extra)
			switch {
			case len(extra) > 0:
				f := finding.Finding{
					ID:       fmt.Sprintf("selector.scope/op%d/%s", sel.Op, key),
					Category: "selector",
					Severity: sev,
					Message:  fmt.Sprintf("selector %s (operation %d) reaches %s %s, which the rest of the change does not name (it names %s)", sel.Selector, sel.Op, key, strings.Join(extra, ", "), strings.Join(slices.Sorted(maps.Keys(intent[key])), ", ")),
					Objects:  []finding.Object{where},
				}
				for _, v := range extra {
					f.Evidence.Lines = append(f.Evidence.Lines, fmt.Sprintf("%s=%s: %d matched (%s)", key, v, len(vals[v]), short(vals[v])))
				}
				out = append(out, f)
			case !named && len(vals) > 1:
				f := finding.Finding{
					ID:       fmt.Sprintf("selector.spread/op%d/%s", sel.Op, key),
					Category: "selector",
					Severity: sev,
					Message:  fmt.Sprintf("selector %s (operation %d) does not say which %s, and matches %d of them: did you mean to add %s=...?", sel.Selector, sel.Op, key, len(vals), key),
					Objects:  []finding.Object{where},
				}
				for _, v := range slices.Sorted(maps.Keys(vals)) {
					f.Evidence.Lines = append(f.Evidence.Lines, fmt.Sprintf("%s=%s: %d matched (%s)", key, v, len(vals[v]), short(vals[v])))
				}
				out = append(out, f)
			}
		}
		if sel.Count > 0 && len(sel.Matched) >= 10*sel.Count && len(sel.Matched) >= sel.Count+10 {
			out = append(out, finding.Finding{
				ID:       fmt.Sprintf("selector.count/op%d", sel.Op),
				Category: "selector",
				Severity: finding.Warning,
				Message:  fmt.Sprintf("selector %s (operation %d) matches %d %s objects but count=%d takes only %d: which ones is an accident of naming; narrow the selector", sel.Selector, sel.Op, len(sel.Matched), sel.Kind, sel.Count, sel.Count),
				Objects:  []finding.Object{where},
				Evidence: finding.Evidence{
					Figures: []finding.Figure{{Name: "matched", Value: float64(len(sel.Matched)), Unit: "objects"}, {Name: "count", Value: float64(sel.Count), Unit: "objects"}},
					Lines:   []string{fmt.Sprintf("chosen: %s", short(sel.Chosen))},
				},
			})
		}
	}
	return out
}

// intent collects, per spread key, the values the change names: services
// and regions its title or reason mention, selector terms, and the objects
// it addresses by name.
func (r *Result) intent(view *View) map[string]map[string]bool {
	out := map[string]map[string]bool{}
	add := func(k, v string) {
		if out[k] == nil {
			out[k] = map[string]bool{}
		}
		out[k][v] = true
	}
	// Service, role and region names the title or reason mention.
	words := map[string]bool{}
	for _, w := range strings.FieldsFunc(strings.ToLower(r.Change.Title+" "+r.Change.Reason), func(c rune) bool {
		return !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_')
	}) {
		words[strings.Trim(w, ".")] = true
	}
	for _, o := range r.Before.List("Service") {
		if words[strings.ToLower(o.GetMeta().Name)] {
			add("service", o.GetMeta().Name)
		}
	}
	for _, o := range r.Before.List("Region") {
		if words[strings.ToLower(o.GetMeta().Name)] {
			add("region", o.GetMeta().Name)
		}
	}
	for _, op := range r.Change.Operations {
		for _, t := range op.Selector {
			if !t.Not {
				add(t.Key, t.Value)
			}
		}
		if op.Name == "" {
			continue
		}
		switch op.Kind {
		case "Service":
			add("service", op.Name)
		case "Region":
			add("region", op.Name)
		}
		if o := r.Before.Get(op.Kind, op.Name); o != nil {
			for _, k := range spreadKeys {
				if v, ok := view.Attr(o, k); ok {
					add(k, v)
				}
			}
		}
	}
	return out
}

func constrains(sel Selector, key string) bool {
	for _, t := range sel {
		if t.Key == key && !t.Not {
			return true
		}
	}
	return false
}

// destructive reports whether an operation removes objects or takes them
// out of service.
func destructive(op Operation) bool {
	if op.Op == OpRemove {
		return true
	}
	for _, f := range op.Fields {
		if f.Path == "state" {
			if v, ok := scalarOf(f.Value); ok && (v == string(twin.Drained) || v == string(twin.Down)) {
				return true
			}
		}
	}
	return false
}

// short lists names, eliding the middle of long lists.
func short(names []string) string {
	if len(names) <= 6 {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s, … %d more …, %s", strings.Join(names[:4], ", "), len(names)-5, names[len(names)-1])
}
