package sim

import (
	"math"
	"strconv"
)

// autoscale runs each autoscaled service's scaling decision: the instance
// count that would bring utilisation to its target, within min and max,
// launched after the launch delay, no sooner than the cooldown after the
// last decision that acted.
func (m *sim) autoscale(t int) {
	for si, sv := range m.w.services {
		as := sv.autoscaling
		if as == nil || len(sv.pools) == 0 {
			continue
		}
		ss := m.scaling(sv.name)
		n, desired := m.desired(si)
		pending := 0
		for _, l := range ss.pending {
			pending += l.n
		}
		cool := int(as.Cooldown.Std().Seconds() / m.tick)
		if ss.last >= 0 && t < ss.last+cool {
			continue
		}
		switch {
		case desired > n+pending:
			k := desired - n - pending
			ready := t + max(1, int(as.LaunchDelay.Std().Seconds()/m.tick))
			up := m.upPools(si)
			for i := range k {
				ss.pending = append(ss.pending, launch{ready: ready, pool: up[i%len(up)], n: 1})
			}
			ss.last, m.unsettled = t, true
			m.rec.log(t, "scaling out", sv.name, itoa(n)+" → "+itoa(desired)+" instances")
		case desired < n && pending == 0:
			k := n - desired
			up := m.upPools(si)
			for i := range k {
				m.pools[up[len(up)-1-i%len(up)]].extra--
			}
			ss.last, m.unsettled = t, true
			m.rec.log(t, "scaled in", sv.name, itoa(n)+" → "+itoa(desired)+" instances")
		}
	}
}

// desired is a service's running instance count and the count its
// autoscaling aims for now.
func (m *sim) desired(si int) (n, desired int) {
	sv := m.w.services[si]
	as := sv.autoscaling
	arrivals, capacity := 0.0, 0.0
	for _, pi := range sv.pools {
		n += m.instances(pi)
		arrivals += m.pools[pi].arrivals
		capacity += m.pools[pi].capacity
	}
	target := float64(as.TargetUtilization)
	if target <= 0 {
		target = defaultTargetUtil
	}
	switch {
	case capacity > 0:
		desired = int(math.Ceil(float64(n) * arrivals / capacity / target))
	case arrivals > 0:
		desired = as.Max
	default:
		desired = n
	}
	return n, max(as.Min, min(as.Max, desired))
}

// upPools are the pools of a service whose zones are up, or all its pools.
func (m *sim) upPools(si int) []int {
	var up []int
	for _, pi := range m.w.services[si].pools {
		if m.w.snap.ZoneUp(m.w.pools[pi].zone) {
			up = append(up, pi)
		}
	}
	if len(up) == 0 {
		return m.w.services[si].pools
	}
	return up
}

// launches brings up the instances whose launch delay is over.
func (m *sim) launches(t int) {
	for _, sv := range m.w.services {
		ss := m.st.scaling[sv.name]
		if ss == nil || len(ss.pending) == 0 {
			continue
		}
		kept := ss.pending[:0]
		for _, l := range ss.pending {
			if l.ready > t {
				kept = append(kept, l)
				continue
			}
			if l.pool < len(m.pools) {
				m.pools[l.pool].extra += l.n
			}
		}
		ss.pending = kept
	}
}

func (m *sim) scaling(name string) *scalingState {
	ss := m.st.scaling[name]
	if ss == nil {
		ss = &scalingState{last: -1 << 30}
		m.st.scaling[name] = ss
	}
	return ss
}

// steady reports whether the state is at rest: nothing queued, crashed,
// warming, overloaded, retrying, launching, re-resolving or flipping
// health, and no scaling decision pending. With the same inputs, the next
// tick would then repeat this one exactly.
func (m *sim) steady(t int) bool {
	if m.netChanged || m.unsettled {
		return false
	}
	for pi, ps := range m.pools {
		if ps.queue != 0 || ps.overloadFor != 0 || ps.dropped != 0 || t < ps.crashedUntil || m.warming(pi, t+1) {
			return false
		}
		for _, r := range m.calls[pi] {
			if !r.stationary() {
				return false
			}
		}
	}
	for i, e := range m.w.entries {
		es := m.entries[i]
		if !es.retr.stationary() || (e.record != nil && es.same < e.ttl) {
			return false
		}
	}
	for _, h := range m.st.checks {
		if !h.settled() {
			return false
		}
	}
	for si, sv := range m.w.services {
		if sv.autoscaling == nil {
			continue
		}
		pending := 0
		if ss := m.st.scaling[sv.name]; ss != nil {
			for _, l := range ss.pending {
				pending += l.n
			}
		}
		if n, d := m.desired(si); n+pending != d {
			return false
		}
	}
	return true
}

func itoa(n int) string { return strconv.Itoa(n) }

// wake is the next tick after t at which something scheduled happens
// (instances launched, a crashed pool restarting), or the end of the run.
func (m *sim) wake(t int) int {
	next := m.ticks
	for _, sv := range m.w.services {
		if ss := m.st.scaling[sv.name]; ss != nil {
			for _, l := range ss.pending {
				next = min(next, max(l.ready, t+1))
			}
		}
	}
	for _, ps := range m.pools {
		if ps.crashedUntil > t {
			next = min(next, ps.crashedUntil)
		}
	}
	for _, p := range m.poison {
		for _, w := range p.waves {
			if w.from > t {
				next = min(next, w.from)
			}
		}
	}
	return next
}
