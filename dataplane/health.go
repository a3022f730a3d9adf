package dataplane

import (
	"sort"

	"github.com/preflight-sh/preflight/tracer"
)

// BlackHoleSite is a device that receives traffic from another device and has
// no route for it.
type BlackHoleSite struct {
	Device string `json:"device"`
	// Classes counts the equivalence classes dropped there.
	Classes int    `json:"classes"`
	Example string `json:"example"`
	Path    string `json:"path"`
}

// Inconsistency is traffic from one device whose ECMP or flood branches
// end differently: some arrive, some are dropped.
type Inconsistency struct {
	From    string   `json:"from"`
	Classes int      `json:"classes"`
	Example string   `json:"example"`
	Paths   []string `json:"paths"`
}

// Problems traces every class from every device and returns the black
// holes and multipath inconsistencies, sorted by device.
func (m *Model) Problems() ([]BlackHoleSite, []Inconsistency) {
	holes := map[string]*BlackHoleSite{}
	incons := map[string]*Inconsistency{}
	for atom := range m.Atoms {
		seenHole := map[string]bool{}
		for _, d := range m.Devices {
			paths, _ := m.Walk(atom, d)
			arrives, dropped := false, false
			for _, p := range paths {
				if p.Fate.Dropped() {
					dropped = true
				} else {
					arrives = true
				}
				if p.Fate != tracer.NoRoute || len(p.Hops) < 2 {
					continue
				}
				at := p.Hops[len(p.Hops)-1].Device
				h := holes[at]
				if h == nil {
					ex, _ := m.Space.Example(m.Atoms[atom])
					h = &BlackHoleSite{Device: at, Example: ex.String(), Path: p.String()}
					holes[at] = h
				}
				if !seenHole[at] {
					seenHole[at] = true
					h.Classes++
				}
			}
			if arrives && dropped {
				in := incons[d]
				if in == nil {
					ex, _ := m.Space.Example(m.Atoms[atom])
					in = &Inconsistency{From: d, Example: ex.String()}
					for _, p := range paths {
						in.Paths = append(in.Paths, p.String())
					}
					incons[d] = in
				}
				in.Classes++
			}
		}
	}
	var hs []BlackHoleSite
	for _, k := range sortedKeys(holes) {
		hs = append(hs, *holes[k])
	}
	var is []Inconsistency
	for _, k := range sortedKeys(incons) {
		is = append(is, *incons[k])
	}
	sort.SliceStable(hs, func(i, j int) bool { return hs[i].Classes > hs[j].Classes })
	return hs, is
}
