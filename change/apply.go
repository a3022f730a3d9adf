package change

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/preflight-sh/preflight/twin"
	"github.com/preflight-sh/preflight/yamldecode"
)

// Result is what applying a change set gives: the new snapshot (the old one
// is untouched) and the exact blast radius.
type Result struct {
	Change *ChangeSet     `json:"-"`
	Before *twin.Snapshot `json:"-"`
	After  *twin.Snapshot `json:"-"`
	// Touched is every object the change adds, removes or modifies.
	Touched []Touched `json:"touched"`
	// Selections is every selector, expanded.
	Selections []Selection `json:"selections"`
	// Services is the share of each service's capacity the change affects.
	Services []ServiceImpact `json:"services"`
}

// Touched is one object the change touches.
type Touched struct {
	Kind    string        `json:"kind"`
	Name    string        `json:"name"`
	Action  string        `json:"action"` // added, removed or modified
	Changes []FieldChange `json:"changes,omitempty"`
	Pos     twin.Pos      `json:"pos"`
	// Ops are the (1-based) operations that touched it.
	Ops []int `json:"ops"`
}

// Selection is one operation's selector expanded against the twin.
type Selection struct {
	Op       int      `json:"op"`
	Kind     string   `json:"kind"`
	Selector string   `json:"selector"`
	Count    int      `json:"count,omitempty"`
	Matched  []string `json:"matched"`
	Chosen   []string `json:"chosen"`
	Pos      twin.Pos `json:"pos"`
}

// Apply applies cs to s. It is pure: s is not changed, and the result shares
// every untouched object with it. An operation that names a missing object,
// a field that does not exist or a value of the wrong type is an error, as
// is a change that leaves the twin invalid.
func Apply(s *twin.Snapshot, cs *ChangeSet) (*Result, error) {
	a := &applier{before: s, work: map[twin.Ref]twin.Object{}, removed: map[twin.Ref]bool{}, order: map[twin.Ref][]int{}}
	res := &Result{Change: cs, Before: s}
	var errs yamldecode.ErrorList
	for i := range cs.Operations {
		op := &cs.Operations[i]
		sel, err := a.apply(i+1, op)
		if err != nil {
			errs = append(errs, asErrors(op.Pos, err)...)
			continue
		}
		if sel != nil {
			res.Selections = append(res.Selections, *sel)
		}
	}
	if len(errs) > 0 {
		errs.Sort()
		return nil, errs
	}
	var put []twin.Object
	var del []twin.Ref
	for r := range a.removed {
		if s.Get(r.Kind, r.Name) != nil {
			del = append(del, r)
		}
	}
	for _, o := range a.work {
		put = append(put, o)
	}
	res.After = s.Edit(put, del)
	if verrs := twin.Validate(res.After); len(verrs) > 0 {
		for i := range verrs {
			verrs[i].Msg = "after the change: " + strings.TrimPrefix(verrs[i].Msg, "\x00")
		}
		verrs.Sort()
		return nil, verrs
	}
	res.Touched = a.touched(s, res.After)
	res.Services = serviceImpacts(s, res.After)
	return res, nil
}

func asErrors(pos twin.Pos, err error) yamldecode.ErrorList {
	if l, ok := err.(yamldecode.ErrorList); ok {
		return l
	}
	return yamldecode.ErrorList{{Pos: pos, Msg: err.Error()}}
}

// applier is the working state of one Apply: copies of the objects changed
// so far, and what was removed.
type applier struct {
	before  *twin.Snapshot
	work    map[twin.Ref]twin.Object
	removed map[twin.Ref]bool
	order   map[twin.Ref][]int
	// next is where freeName starts looking, per prefix; a removal resets
	// it (it may free a smaller number).
	next map[string]int
}

func (a *applier) get(r twin.Ref) twin.Object {
	if a.removed[r] {
		return nil
	}
	if o, ok := a.work[r]; ok {
		return o
	}
	return a.before.Get(r.Kind, r.Name)
}

// list returns the current objects of a kind, sorted by name.
func (a *applier) list(kind string) []twin.Object {
	var out []twin.Object
	for _, o := range a.before.List(kind) {
		if r := twin.RefOf(o); !a.removed[r] {
			out = append(out, a.get(r))
		}
	}
	// The snapshot's list is sorted already; only added objects need
	// sorting in.
	added := false
	for r, o := range a.work {
		if r.Kind == kind && a.before.Get(r.Kind, r.Name) == nil {
			out = append(out, o)
			added = true
		}
	}
	if added {
		sort.Slice(out, func(i, j int) bool { return out[i].GetMeta().Name < out[j].GetMeta().Name })
	}
	return out
}

// mutable returns a private copy of an object to modify.
func (a *applier) mutable(r twin.Ref) twin.Object {
	if o, ok := a.work[r]; ok {
		return o
	}
	orig := a.before.Get(r.Kind, r.Name)
	cp := deepCopy(reflect.ValueOf(orig).Elem())
	o := cp.Addr().Interface().(twin.Object)
	a.work[r] = o
	return o
}

func (a *applier) mark(r twin.Ref, op int) {
	if l := a.order[r]; len(l) == 0 || l[len(l)-1] != op {
		a.order[r] = append(l, op)
	}
}

// targets resolves an operation's name or selector to references.
func (a *applier) targets(n int, op *Operation) ([]twin.Ref, *Selection, error) {
	if op.Name != "" {
		if a.get(twin.Ref{Kind: op.Kind, Name: op.Name}) == nil {
			var names []string
			for _, o := range a.list(op.Kind) {
				names = append(names, o.GetMeta().Name)
			}
			msg := fmt.Sprintf("%s %q does not exist", op.Kind, op.Name)
			if s := yamldecode.Suggest(op.Name, names); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			return nil, nil, fmt.Errorf("%s", msg)
		}
		return []twin.Ref{{Kind: op.Kind, Name: op.Name}}, nil, nil
	}
	sel := &Selection{Op: n, Kind: op.Kind, Selector: op.Selector.String(), Count: op.Count, Pos: op.Pos}
	view := &View{get: func(kind, name string) twin.Object { return a.get(twin.Ref{Kind: kind, Name: name}) }}
	for _, o := range a.list(op.Kind) {
		if view.Matches(o, op.Selector) {
			sel.Matched = append(sel.Matched, o.GetMeta().Name)
		}
	}
	if len(sel.Matched) == 0 {
		return nil, nil, fmt.Errorf("selector %s matches no %s: nothing would change; check the keys and values", sel.Selector, op.Kind)
	}
	sel.Chosen = sel.Matched
	if op.Count > 0 {
		if op.Count > len(sel.Matched) {
			return nil, nil, fmt.Errorf("count=%d but selector %s matches only %d %s objects", op.Count, sel.Selector, len(sel.Matched), op.Kind)
		}
		sel.Chosen = sel.Matched[:op.Count]
	}
	refs := make([]twin.Ref, len(sel.Chosen))
	for i, name := range sel.Chosen {
		refs[i] = twin.Ref{Kind: op.Kind, Name: name}
	}
	return refs, sel, nil
}

func (a *applier) apply(n int, op *Operation) (*Selection, error) {
	if op.Op == OpAdd {
		return nil, a.add(n, op)
	}
	refs, sel, err := a.targets(n, op)
	if err != nil {
		return nil, err
	}
	for _, r := range refs {
		switch {
		case op.Op == OpRemove && op.Path == "":
			delete(a.work, r)
			a.removed[r] = true
			a.next = nil
		case op.Op == OpRemove:
			err = a.removePath(r, op.Path)
		case op.Op == OpSet:
			err = a.set(r, op)
		case op.Op == OpPatch:
			o := a.mutable(r)
			if errs := yamldecode.Decode(op.Patch.Node, o, yamldecode.Options{File: op.Patch.File, Partial: true}); len(errs) > 0 {
				err = errs
			}
			if err == nil && (o.GetMeta().Name != r.Name || o.GetMeta().Kind != r.Kind) {
				err = fmt.Errorf("a patch cannot change kind or name; remove the object and add a new one")
			}
		}
		if err != nil {
			return nil, err
		}
		a.mark(r, n)
	}
	return sel, nil
}

func (a *applier) set(r twin.Ref, op *Operation) error {
	o := a.mutable(r)
	for _, f := range op.Fields {
		if f.Path == "kind" || f.Path == "name" {
			return fmt.Errorf("set cannot change %s; remove the object and add a new one", f.Path)
		}
		targets, err := resolvePath(reflect.ValueOf(o).Elem(), f.Path)
		if err != nil {
			return fmt.Errorf("%s %s: %w", r.Kind, r.Name, err)
		}
		for _, t := range targets {
			var errs yamldecode.ErrorList
			if t.isMap {
				elem := reflect.New(t.v.Type().Elem()).Elem()
				errs = yamldecode.Decode(f.Value.Node, elem.Addr().Interface(), yamldecode.Options{File: f.Value.File})
				t.v.SetMapIndex(reflect.ValueOf(t.mapKey), elem)
			} else {
				t.v.SetZero()
				errs = yamldecode.Decode(f.Value.Node, t.v.Addr().Interface(), yamldecode.Options{File: f.Value.File})
			}
			for i := range errs {
				errs[i].Msg = fmt.Sprintf("%s %s, field %s: %s", r.Kind, r.Name, f.Path, strings.TrimPrefix(errs[i].Msg, "value: "))
			}
			if len(errs) > 0 {
				return errs
			}
		}
	}
	return nil
}

// removePath deletes a list element or map entry inside an object.
func (a *applier) removePath(r twin.Ref, path string) error {
	segs, err := parsePath(path)
	if err != nil {
		return err
	}
	lastSeg := segs[len(segs)-1]
	o := a.mutable(r)
	if !lastSeg.hasSel {
		// A map entry: labels.tier.
		targets, err := resolvePath(reflect.ValueOf(o).Elem(), path)
		if err != nil {
			return fmt.Errorf("%s %s: %w", r.Kind, r.Name, err)
		}
		for _, t := range targets {
			if !t.isMap {
				return fmt.Errorf("%s %s: path %q is a field, not a list element or map entry; use set to change it", r.Kind, r.Name, path)
			}
			if !t.v.MapIndex(reflect.ValueOf(t.mapKey)).IsValid() {
				return fmt.Errorf("%s %s: %s has no entry %q", r.Kind, r.Name, strings.TrimSuffix(path, "."+t.mapKey), t.mapKey)
			}
			t.v.SetMapIndex(reflect.ValueOf(t.mapKey), reflect.Value{})
		}
		return nil
	}
	listPath := strings.TrimSuffix(path, "["+lastSeg.sel+"]")
	lists, err := resolvePath(reflect.ValueOf(o).Elem(), listPath)
	if err != nil {
		return fmt.Errorf("%s %s: %w", r.Kind, r.Name, err)
	}
	for _, l := range lists {
		v := l.v
		if l.isMap {
			return fmt.Errorf("%s %s: %s is a map; remove its entry with a dotted path", r.Kind, r.Name, listPath)
		}
		if v.Kind() == reflect.Map {
			// A map entry written path[key] (keys with dots).
			key := reflect.ValueOf(lastSeg.sel)
			if !v.MapIndex(key).IsValid() {
				return fmt.Errorf("%s %s: %s has no entry %q", r.Kind, r.Name, listPath, lastSeg.sel)
			}
			v.SetMapIndex(key, reflect.Value{})
			continue
		}
		if v.Kind() != reflect.Slice {
			return fmt.Errorf("%s %s: %s is not a list", r.Kind, r.Name, listPath)
		}
		if lastSeg.sel == "*" {
			v.Set(reflect.MakeSlice(v.Type(), 0, 0))
			continue
		}
		idx, err := findElement(v, lastSeg.sel)
		if err != nil {
			return fmt.Errorf("%s %s: %s: %w", r.Kind, r.Name, listPath, err)
		}
		out := reflect.AppendSlice(v.Slice(0, idx), v.Slice(idx+1, v.Len()))
		fresh := reflect.MakeSlice(v.Type(), out.Len(), out.Len())
		reflect.Copy(fresh, out)
		v.Set(fresh)
	}
	return nil
}

func (a *applier) add(n int, op *Operation) error {
	o, errs := twin.DecodeObject(op.Object.File, op.Object.Node)
	if len(errs) > 0 {
		return errs
	}
	if o == nil {
		return fmt.Errorf("the object to add has no kind")
	}
	m := o.GetMeta()
	if m.Name == "" {
		in, ok := o.(*twin.Instance)
		if !ok {
			return fmt.Errorf("the object to add needs a name")
		}
		m.Name = a.freeName(in.Service + "-" + in.Zone + "-")
	}
	r := twin.RefOf(o)
	if a.get(r) != nil {
		return fmt.Errorf("%s %q already exists; use set or patch to change it", r.Kind, r.Name)
	}
	delete(a.removed, r)
	if old := a.before.Get(r.Kind, r.Name); old != nil {
		// Removed earlier in this change and added again: a replacement.
		o.GetMeta().SetSource(old.GetMeta().Source())
	}
	a.work[r] = o
	a.mark(r, n)
	return nil
}

// freeName returns prefix followed by the smallest number not yet taken.
func (a *applier) freeName(prefix string) string {
	for i := max(a.next[prefix], 1); ; i++ {
		name := fmt.Sprintf("%s%d", prefix, i)
		if a.get(twin.Ref{Kind: "Instance", Name: name}) == nil {
			if a.next == nil {
				a.next = map[string]int{}
			}
			a.next[prefix] = i + 1
			return name
		}
	}
}

// touched lists every object the change touched, with its field changes, in
// twin order.
func (a *applier) touched(before, after *twin.Snapshot) []Touched {
	var out []Touched
	for r, ops := range a.order {
		b, aft := before.Get(r.Kind, r.Name), after.Get(r.Kind, r.Name)
		t := Touched{Kind: r.Kind, Name: r.Name, Ops: ops}
		switch {
		case b == nil && aft == nil:
			continue
		case b == nil:
			t.Action = "added"
			t.Pos = aft.GetMeta().Source().Pos
		case aft == nil:
			t.Action = "removed"
			t.Pos = b.GetMeta().Source().Pos
		default:
			t.Action = "modified"
			t.Changes = ObjectChanges(b, aft)
			if len(t.Changes) == 0 {
				continue
			}
			t.Pos = b.GetMeta().Source().At(indexPath(b, t.Changes[0].Path))
		}
		out = append(out, t)
	}
	rank := map[string]int{}
	for i, k := range twin.Kinds {
		rank[k.Name] = i
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return rank[out[i].Kind] < rank[out[j].Kind]
		}
		return out[i].Name < out[j].Name
	})
	return out
}
