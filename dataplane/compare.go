package dataplane

import (
	"reflect"
	"slices"
)

// Unchanged reports whether class i is handled identically by two models
// built together by BuildPair: every device in both takes the same action,
// every ACL permits it alike, ACL bindings are the same, and every port it
// may leave by has the same peers. Such a class ends the same way from
// every device in both, so comparing the versions can skip following it.
// (A device in only one version can be reached only through a port whose
// peers differ, which this catches.)
func Unchanged(a, b *Model, i int) bool {
	j := i
	pa, pb := a.peers(), b.peers()
	for _, name := range a.Devices {
		da, db := a.dev[name], b.dev[name]
		if db == nil {
			continue
		}
		ka, kb := da.byAtom[i], db.byAtom[j]
		if (ka < 0) != (kb < 0) {
			return false
		}
		var ports []string
		if ka >= 0 {
			xa, xb := da.actions[ka], db.actions[kb]
			if xa.Kind != xb.Kind || !slices.Equal(xa.Ports, xb.Ports) {
				return false
			}
			ports = xa.Ports
		}
		if len(da.aclAtom) != len(db.aclAtom) {
			return false
		}
		for acl, permits := range da.aclAtom {
			other, ok := db.aclAtom[acl]
			if !ok || permits[i] != other[j] {
				return false
			}
		}
		na, nb := a.Net.Devices[name], b.Net.Devices[name]
		if !reflect.DeepEqual(na.Ports, nb.Ports) || !reflect.DeepEqual(na.VLANs, nb.VLANs) {
			return false
		}
		for _, p := range ports {
			for _, phys := range append([]string{p}, na.VLANs[p]...) {
				ref := portRef(name, phys)
				if !slices.Equal(pa[ref], pb[ref]) {
					return false
				}
			}
		}
	}
	return true
}
