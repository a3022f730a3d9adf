package dataplane

import (
	"slices"

	"github.com/preflight-sh/preflight/fwd"
)

// Unchanged reports whether class i is handled identically by two models
// built together by BuildPair: every device in both takes the same action
// on it and every ACL permits it alike, and every port it may leave by has
// the same members, peers and ACL bindings (outbound there, inbound at the
// peers). Such a class ends the same way from every device in both, so
// comparing the versions can skip following it. (A device in only one
// version can be reached only through a port whose peers differ, which
// this catches.)
func Unchanged(a, b *Model, i int) bool {
	pa, pb := a.peers(), b.peers()
	for _, name := range a.Devices {
		da, db := a.dev[name], b.dev[name]
		if db == nil {
			continue
		}
		ka, kb := da.byAtom[i], db.byAtom[i]
		if (ka < 0) != (kb < 0) {
			return false
		}
		for acl, permits := range da.aclAtom {
			if other, ok := db.aclAtom[acl]; !ok || permits[i] != other[i] {
				return false
			}
		}
		if ka < 0 {
			continue
		}
		xa, xb := da.actions[ka], db.actions[kb]
		if xa.Kind != xb.Kind || !slices.Equal(xa.Ports, xb.Ports) {
			return false
		}
		na, nb := a.Net.Devices[name], b.Net.Devices[name]
		for _, p := range xa.Ports {
			if !slices.Equal(na.VLANs[p], nb.VLANs[p]) {
				return false
			}
			for _, phys := range append([]string{p}, na.VLANs[p]...) {
				ref := fwd.PortRef{Device: name, Port: phys}
				if !slices.Equal(pa[ref], pb[ref]) || !slices.Equal(na.Ports[phys].Out, nb.Ports[phys].Out) {
					return false
				}
				for _, q := range pa[ref] {
					qa, qb := a.Net.Devices[q.Device], b.Net.Devices[q.Device]
					if qa == nil || qb == nil || !slices.Equal(qa.Ports[q.Port].In, qb.Ports[q.Port].In) {
						return false
					}
				}
			}
		}
	}
	return true
}
