package dataplane

import (
	"fmt"
	"sort"

	"github.com/preflight-sh/preflight/bdd"
	"github.com/preflight-sh/preflight/fwd"
	"github.com/preflight-sh/preflight/tracer"
)

// Outcome is one way traffic from a device ends, with the traffic that
// ends that way.
type Outcome struct {
	// Fate and Where say how and where it ends (the last device, and the
	// port for traffic that leaves the network).
	Fate  tracer.Fate `json:"fate"`
	Where string      `json:"where"`
	Why   string      `json:"why"`
	// Set is the traffic, as a BDD over the header space.
	Set bdd.Node `json:"-"`
	// Example is one packet of Set and Path the way it goes.
	Example fwd.Packet  `json:"example"`
	Path    tracer.Path `json:"path"`
	// Classes counts the equivalence classes in Set.
	Classes int `json:"classes"`
	// Common lists the devices every path of the group crosses (its
	// waypoints), sorted.
	Common []string `json:"common"`
}

// Outcomes follows all traffic in within (a BDD; True for every packet)
// from device start and groups it by how and where it ends. Traffic with
// several branches (ECMP, floods) appears under each of its outcomes.
func (m *Model) Outcomes(start string, within bdd.Node) ([]Outcome, error) {
	if m.Net.Devices[start] == nil {
		return nil, fmt.Errorf("no device %q (devices: %d, e.g. %s)", start, len(m.Devices), m.Devices[0])
	}
	M := m.Space.M
	groups := map[string]*Outcome{}
	common := map[string]map[string]bool{}
	var keys []string
	for atom, a := range m.Atoms {
		set := M.And(a, within)
		if (set).IsFalse() {
			continue
		}
		paths, err := m.Walk(atom, start)
		if err != nil {
			return nil, err
		}
		for _, p := range paths {
			last := p.Hops[len(p.Hops)-1]
			where := last.Device
			if p.Fate == tracer.Exited || p.Fate == tracer.DeniedOut || p.Fate == tracer.SamePort || p.Fate == tracer.Loop {
				where += " " + last.OutPort
			}
			key := string(p.Fate) + "|" + where
			g := groups[key]
			if g == nil {
				ex := m.example(atom, set, within)
				g = &Outcome{Fate: p.Fate, Where: where, Why: p.Why, Set: M.False(), Example: ex, Path: p}
				groups[key] = g
				keys = append(keys, key)
			}
			g.Set = M.Or(g.Set, set)
			g.Classes++
			common[key] = intersect(common[key], p.Hops)
		}
	}
	sort.Strings(keys)
	out := make([]Outcome, len(keys))
	for i, k := range keys {
		out[i] = *groups[k]
		out[i].Common = sortedKeys(common[k])
	}
	return out, nil
}

// intersect keeps the devices of set that hops also crosses (all of hops'
// devices when set is nil).
func intersect(set map[string]bool, hops []tracer.Hop) map[string]bool {
	on := map[string]bool{}
	for _, h := range hops {
		on[h.Device] = true
	}
	if set == nil {
		return on
	}
	for d := range set {
		if !on[d] {
			delete(set, d)
		}
	}
	return set
}

// example returns a packet of set, the part of an atom within a
// constraint; for an unconstrained query it is the atom's example, computed
// once.
func (m *Model) example(atom int, set, within bdd.Node) fwd.Packet {
	if !within.IsTrue() {
		ex, _ := m.Space.Example(set)
		return fwd.Packet(ex)
	}
	if m.examples == nil {
		m.examples = map[int]fwd.Packet{}
	}
	ex, ok := m.examples[atom]
	if !ok {
		e, _ := m.Space.Example(set)
		ex = fwd.Packet(e)
		m.examples[atom] = ex
	}
	return ex
}
