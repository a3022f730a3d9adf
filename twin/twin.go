// Package twin is the digital twin of production: the object model for every
// layer (places, network, services, load balancers, DNS, demand, config
// artifacts, propagation and guardrails), its strict YAML loader and its
// semantic validation. A Snapshot is immutable once built.
package twin

import (
	"fmt"
	"reflect"
	"sort"
	"sync"

	"github.com/preflight-sh/preflight/yamldecode"
)

// Pos is a position in a twin or change file.
type Pos = yamldecode.Pos

// Source records where an object was written: the position of the document
// and of each of its fields by path.
type Source struct {
	Pos    Pos
	Fields map[string]Pos
}

// At returns the position of the field at path, falling back to the closest
// enclosing field and then to the document.
func (s *Source) At(path string) Pos {
	if s == nil {
		return Pos{}
	}
	for p := path; p != ""; p = parent(p) {
		if pos, ok := s.Fields[p]; ok {
			return pos
		}
	}
	return s.Pos
}

func parent(path string) string {
	for i := len(path) - 1; i >= 0; i-- {
		if path[i] == '.' || path[i] == '[' {
			return path[:i]
		}
	}
	return ""
}

// Object is any twin document.
type Object interface {
	GetMeta() *Meta
}

// Ref names an object by kind and name.
type Ref struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
}

func (r Ref) String() string { return r.Kind + "/" + r.Name }

// RefOf returns the reference to an object.
func RefOf(o Object) Ref { m := o.GetMeta(); return Ref{m.Kind, m.Name} }

// KindInfo describes one kind of document.
type KindInfo struct {
	Name string
	Type reflect.Type // the struct type
}

// New returns a new zero object of the kind, with its kind set.
func (k KindInfo) New() Object {
	o := reflect.New(k.Type).Interface().(Object)
	o.GetMeta().Kind = k.Name
	return o
}

// Kinds lists every kind in the order the twin is printed: places, then the
// network, then services and traffic, then artifacts and guardrails.
var Kinds = []KindInfo{
	kind[Region]("Region"),
	kind[Zone]("Zone"),
	kind[Site]("Site"),
	kind[Device]("Device"),
	kind[Link]("Link"),
	kind[RoutePolicy]("RoutePolicy"),
	kind[ACL]("ACL"),
	kind[AnycastPrefix]("AnycastPrefix"),
	kind[Service]("Service"),
	kind[Instance]("Instance"),
	kind[LoadBalancer]("LoadBalancer"),
	kind[DNSRecord]("DNSRecord"),
	kind[Demand]("Demand"),
	kind[Artifact]("Artifact"),
	kind[Propagation]("Propagation"),
	kind[BlastRadiusLimit]("BlastRadiusLimit"),
	kind[Policy]("Policy"),
}

func kind[T any](name string) KindInfo { return KindInfo{Name: name, Type: reflect.TypeFor[T]()} }

// KindNames returns the names of all kinds.
func KindNames() []string {
	out := make([]string, len(Kinds))
	for i, k := range Kinds {
		out[i] = k.Name
	}
	return out
}

// LookupKind finds a kind by its exact name.
func LookupKind(name string) (KindInfo, bool) {
	for _, k := range Kinds {
		if k.Name == name {
			return k, true
		}
	}
	return KindInfo{}, false
}

// Snapshot is an immutable twin: every object by kind and name. Build one
// with Load or NewSnapshot; derive changed ones with the change package.
type Snapshot struct {
	byKind map[string]map[string]Object
	sorted map[string][]Object

	instOnce sync.Once
	inst     map[string][]*Instance // instances by service, built on first use
	dcOnce   sync.Once
	dcs      map[string][]*Site // data-centre sites by zone, built on first use
}

// NewSnapshot builds a snapshot from objects. Later objects with the same
// kind and name replace earlier ones; the loader reports such duplicates
// before it gets here.
func NewSnapshot(objs []Object) *Snapshot {
	s := &Snapshot{byKind: map[string]map[string]Object{}, sorted: map[string][]Object{}}
	for _, o := range objs {
		m := o.GetMeta()
		if s.byKind[m.Kind] == nil {
			s.byKind[m.Kind] = map[string]Object{}
		}
		s.byKind[m.Kind][m.Name] = o
	}
	for k := range s.byKind {
		s.sort(k)
	}
	return s
}

func (s *Snapshot) sort(kind string) {
	list := make([]Object, 0, len(s.byKind[kind]))
	for _, o := range s.byKind[kind] {
		list = append(list, o)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].GetMeta().Name < list[j].GetMeta().Name })
	s.sorted[kind] = list
}

// Get returns the object of that kind and name, or nil.
func (s *Snapshot) Get(kind, name string) Object { return s.byKind[kind][name] }

// List returns the objects of a kind sorted by name. Do not modify them.
func (s *Snapshot) List(kind string) []Object { return s.sorted[kind] }

// All returns every object, kinds in Kinds order, names sorted.
func (s *Snapshot) All() []Object {
	var out []Object
	for _, k := range Kinds {
		out = append(out, s.sorted[k.Name]...)
	}
	return out
}

// Len returns the number of objects.
func (s *Snapshot) Len() int {
	n := 0
	for _, l := range s.sorted {
		n += len(l)
	}
	return n
}

// Edit returns a new snapshot in which put objects are added or replaced and
// del references are removed. The receiver is not changed; objects not named
// are shared between the two snapshots.
func (s *Snapshot) Edit(put []Object, del []Ref) *Snapshot {
	n := &Snapshot{byKind: make(map[string]map[string]Object, len(s.byKind)), sorted: make(map[string][]Object, len(s.sorted))}
	for k, v := range s.byKind {
		n.byKind[k] = v
		n.sorted[k] = s.sorted[k]
	}
	touched := map[string]bool{}
	own := func(kind string) map[string]Object {
		if !touched[kind] {
			touched[kind] = true
			m := make(map[string]Object, len(n.byKind[kind])+1)
			for name, o := range n.byKind[kind] {
				m[name] = o
			}
			n.byKind[kind] = m
		}
		return n.byKind[kind]
	}
	for _, r := range del {
		delete(own(r.Kind), r.Name)
	}
	for _, o := range put {
		m := o.GetMeta()
		own(m.Kind)[m.Name] = o
	}
	for k := range touched {
		if len(n.byKind[k]) == 0 {
			delete(n.byKind, k)
			delete(n.sorted, k)
			continue
		}
		n.sort(k)
	}
	return n
}

// kindOfType maps each kind's struct type to its name.
var kindOfType = func() map[reflect.Type]string {
	m := make(map[reflect.Type]string, len(Kinds))
	for _, k := range Kinds {
		m[k.Type] = k.Name
	}
	return m
}()

// Typed returns the objects of kind T sorted by name.
func Typed[T any, PT interface {
	*T
	Object
}](s *Snapshot) []PT {
	kind, ok := kindOfType[reflect.TypeFor[T]()]
	if !ok {
		var zero T
		panic(fmt.Sprintf("twin: %T is not a kind", zero))
	}
	list := s.sorted[kind]
	out := make([]PT, len(list))
	for i, o := range list {
		out[i] = o.(PT)
	}
	return out
}

// Lookup returns the object of kind T with that name, or nil.
func Lookup[T any, PT interface {
	*T
	Object
}](s *Snapshot, name string) PT {
	kind, ok := kindOfType[reflect.TypeFor[T]()]
	if !ok {
		return nil
	}
	o, _ := s.byKind[kind][name].(PT)
	return o
}
