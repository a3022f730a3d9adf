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
	f := newProblemFinder(m)
	m.walkEvery(f.add)
	return f.result()
}

// walkEvery walks every class from every device, classes in order, and
// hands each walk's paths to visit.
func (m *Model) walkEvery(visit ...func(atom int, from string, paths []tracer.Path)) {
	for atom := range m.Atoms {
		for _, d := range m.Devices {
			paths, _ := m.Walk(atom, d)
			for _, v := range visit {
				v(atom, d, paths)
			}
		}
	}
}

// problemFinder gathers black holes and inconsistencies from walks.
type problemFinder struct {
	m      *Model
	holes  map[string]*BlackHoleSite
	incons map[string]*Inconsistency
	// seenHole holds the black holes class cur has been counted in.
	cur      int
	seenHole map[string]bool
}

func newProblemFinder(m *Model) *problemFinder {
	return &problemFinder{m: m, holes: map[string]*BlackHoleSite{}, incons: map[string]*Inconsistency{}, cur: -1, seenHole: map[string]bool{}}
}

func (f *problemFinder) add(atom int, d string, paths []tracer.Path) {
	m := f.m
	if atom != f.cur {
		f.cur = atom
		clear(f.seenHole)
	}
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
		h := f.holes[at]
		if h == nil {
			ex, _ := m.Space.Example(m.Atoms[atom])
			h = &BlackHoleSite{Device: at, Example: ex.String(), Path: p.String()}
			f.holes[at] = h
		}
		if !f.seenHole[at] {
			f.seenHole[at] = true
			h.Classes++
		}
	}
	if arrives && dropped {
		in := f.incons[d]
		if in == nil {
			ex, _ := m.Space.Example(m.Atoms[atom])
			in = &Inconsistency{From: d, Example: ex.String()}
			for _, p := range paths {
				in.Paths = append(in.Paths, p.String())
			}
			f.incons[d] = in
		}
		in.Classes++
	}
}

func (f *problemFinder) result() ([]BlackHoleSite, []Inconsistency) {
	holes, incons := f.holes, f.incons
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
