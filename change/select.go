package change

import (
	"encoding"
	"reflect"
	"strconv"

	"github.com/preflight-sh/preflight/twin"
)

// View answers attribute questions about objects in a (possibly partly
// changed) twin.
type View struct {
	get func(kind, name string) twin.Object
}

// SnapshotView returns a view of a snapshot.
func SnapshotView(s *twin.Snapshot) *View { return &View{get: s.Get} }

// Matches reports whether an object satisfies every term of a selector.
func (v *View) Matches(o twin.Object, sel Selector) bool {
	for _, t := range sel {
		val, ok := v.Attr(o, t.Key)
		if ok && (val == t.Value) == t.Not {
			return false
		}
		if !ok && !t.Not {
			return false
		}
	}
	return true
}

// Attr returns an object's value for a selector key: its label of that
// name, else its top-level field of that name, else a derived attribute
// (region and zone through the zone or site the object sits in, site of a
// device).
func (v *View) Attr(o twin.Object, key string) (string, bool) {
	m := o.GetMeta()
	if val, ok := m.Labels[key]; ok {
		return val, true
	}
	if key == "name" {
		return m.Name, true
	}
	if f, ok := fieldByName(reflect.ValueOf(o).Elem(), key); ok {
		if s, ok := scalarString(f); ok && s != "" {
			return s, true
		}
	}
	switch key {
	case "region":
		switch t := o.(type) {
		case *twin.Instance:
			return v.zoneRegion(t.Zone)
		case *twin.Device:
			return v.siteAttr(t.Site, "region")
		}
	case "zone":
		if d, ok := o.(*twin.Device); ok {
			return v.siteAttr(d.Site, "zone")
		}
	}
	return "", false
}

func (v *View) zoneRegion(zone string) (string, bool) {
	if z, ok := v.get("Zone", zone).(*twin.Zone); ok {
		return z.Region, z.Region != ""
	}
	return "", false
}

func (v *View) siteAttr(site, key string) (string, bool) {
	s, ok := v.get("Site", site).(*twin.Site)
	if !ok {
		return "", false
	}
	if key == "region" {
		return s.Region, s.Region != ""
	}
	return s.Zone, s.Zone != ""
}

var textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()

// scalarString renders a scalar field as selectors compare it.
func scalarString(f reflect.Value) (string, bool) {
	if f.Type().Implements(textMarshaler) {
		b, err := f.Interface().(encoding.TextMarshaler).MarshalText()
		return string(b), err == nil
	}
	switch f.Kind() {
	case reflect.String:
		return f.String(), true
	case reflect.Int, reflect.Int64, reflect.Int32:
		return strconv.FormatInt(f.Int(), 10), true
	case reflect.Uint, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(f.Uint(), 10), true
	case reflect.Bool:
		return strconv.FormatBool(f.Bool()), true
	}
	return "", false
}
