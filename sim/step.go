package sim

import (
	"math"
	"slices"
)

// step advances the simulation by one tick.
func (m *sim) step(t int) {
	w := m.w
	for pi, ps := range m.pools {
		ps.arrivals, ps.dropped = 0, 0
		if t > 0 && t == ps.crashedUntil {
			ps.warmFrom = t
			m.rec.log(t, "restarted", w.pools[pi].key, "")
		}
		if bad := m.poisoned(pi, t); bad != ps.poisoned {
			switch {
			case bad != "":
				m.rec.log(t, "crashed", w.pools[pi].key, "loads the bad artifact "+bad+"; crashes again after every restart")
				m.rec.poolSummary(w.pools[pi].key).Crashes++
			default:
				m.rec.log(t, "restarted", w.pools[pi].key, "the bad artifact is gone")
				ps.warmFrom = t
			}
			ps.poisoned = bad
		}
	}
	m.launches(t)
	for i := range m.lbOffered {
		m.lbOffered[i] = 0
	}
	// Clients: first attempts, retries due, DNS answers from their caches.
	for i, e := range w.entries {
		es := m.entries[i]
		es.fresh = e.peak * m.profile(e.demand, t) * m.demandFactor(e.demand.Name, t)
		es.attempts = es.fresh + es.retr.due(es.fresh)
		switch {
		case e.record != nil:
			m.resolve(i)
			for a, ans := range es.cols {
				if share := es.sum[a] / float64(e.ttl); share > 0 && ans.LoadBalancer != "" {
					if bi := m.lbIndex(ans.LoadBalancer); bi >= 0 {
						m.lbOffered[bi] += es.attempts * share
					}
				}
			}
		case e.service >= 0:
			es.w = m.spread(e.service, e.region, es.w[:0], t)
			for _, s := range es.w {
				// Traffic the network drops never arrives.
				m.pools[s.idx].arrivals += es.attempts * s.frac * w.net.delivered(w.net.pair(e.siteIdx, w.pools[s.idx].siteIdx))
			}
		}
	}
	for bi := range w.lbs {
		m.balance(bi, t)
		accepted := m.lbOffered[bi] * m.lbAccept[bi]
		for _, s := range m.lbW[bi] {
			m.pools[s.idx].arrivals += accepted * s.frac * w.net.delivered(w.net.pair(w.lbs[bi].siteIdx, w.pools[s.idx].siteIdx))
		}
	}
	// Callers before the services they call: queues, then calls out.
	for _, si := range w.order {
		sv := w.services[si]
		for _, pi := range sv.pools {
			ps := m.pools[pi]
			m.serve(pi, t)
			for d, dp := range sv.deps {
				r := m.calls[pi][d]
				first := ps.served * dp.calls
				if ps.capacity > 0 {
					first += float64(m.instances(pi)) * dp.perInst
				}
				total := first + r.due(first)
				ps.depW[d] = m.spread(dp.target, w.pools[pi].region, ps.depW[d][:0], t)
				tb := w.services[dp.target].bytes
				for _, s := range ps.depW[d] {
					m.pools[s.idx].arrivals += total * s.frac * w.net.delivered(w.net.pair(w.pools[pi].siteIdx, w.pools[s.idx].siteIdx))
					if w.net != nil {
						w.net.add(w.net.pair(w.pools[pi].siteIdx, w.pools[s.idx].siteIdx), total*s.frac, tb)
					}
				}
			}
		}
	}
	// The services called before their callers: latency and success.
	for k := len(w.order) - 1; k >= 0; k-- {
		for _, pi := range w.services[w.order[k]].pools {
			m.outcome(pi)
		}
	}
	for i := range w.entries {
		m.answer(i)
	}
	m.netChanged = w.net != nil && w.net.settle()
	m.probe(t)
	m.crashes(t)
	if (t+1)%max(1, int(scaleEvery/m.tick)) == 0 {
		m.autoscale(t)
	}
}

// serve runs a pool's queue for one tick.
func (m *sim) serve(pi, t int) {
	ps, sv := m.pools[pi], m.w.services[m.w.pools[pi].svc]
	c := m.capacity(pi, t)
	ps.capacity, ps.before = c, ps.queue
	if c <= 0 {
		ps.rejected = ps.arrivals + ps.queue/m.tick
		ps.queue, ps.served = 0, 0
		return
	}
	total := ps.queue + ps.arrivals*m.tick
	served := math.Min(total, c*m.tick)
	q := total - served
	rejected := 0.0
	if limit := c * sv.maxQueue; q > limit {
		rejected, q = q-limit, limit
	}
	ps.queue, ps.served, ps.rejected = q, served/m.tick, rejected/m.tick
}

// outcome computes a pool's latency and the share of its requests that
// succeed, from its queue and the outcomes of the services it called.
func (m *sim) outcome(pi int) {
	w := m.w
	ps, sv := m.pools[pi], w.services[w.pools[pi].svc]
	c := ps.capacity
	ps.util, ps.backlog, ps.mean, ps.depLat = 0, 0, sv.latency, 0
	if c <= 0 {
		ps.success = 0
		for d := range sv.deps {
			m.calls[pi][d].schedule(1)
		}
		return
	}
	ps.util = ps.arrivals / c
	if math.Abs(ps.arrivals-ps.waitFor[0]) > 1e-6*ps.waitFor[0] || ps.waitFor[0] == 0 || c != ps.waitFor[1] {
		// The M/M/c wait is the costly part of a tick; it is computed
		// again when the capacity changes or the load moves by more than
		// one part in a million.
		servers := max(1, int(math.Round(c*sv.latency)))
		service := float64(servers) / c
		ps.wait = service
		if ps.arrivals < c {
			ps.wait += MeanWait(servers, ps.arrivals, service)
		}
		ps.waitFor = [2]float64{ps.arrivals, c}
	}
	ps.mean = ps.wait
	ps.backlog = ps.queue / c
	ok := 1.0
	if ps.arrivals > 0 {
		ok = 1 - math.Min(1, ps.rejected/ps.arrivals)
	}
	for d, dp := range sv.deps {
		r := m.calls[pi][d]
		call, lat := 0.0, 0.0
		for _, s := range ps.depW[d] {
			qs := m.pools[s.idx]
			pass := 1.0
			if w.net != nil {
				pass = w.net.delivered(w.net.pair(w.pools[pi].siteIdx, w.pools[s.idx].siteIdx))
			}
			call += s.frac * qs.success * inTime(qs, dp.timeout) * pass
			lat += s.frac * (qs.backlog + qs.depLat + qs.mean)
		}
		fail := clamp01(1 - call)
		share := r.schedule(fail)
		if !dp.optional {
			ok *= math.Pow(r.success(fail, share), dp.calls)
		}
		// Dependencies are called in parallel: the slowest one counts.
		ps.depLat = math.Max(ps.depLat, math.Min(lat, dp.timeout))
	}
	ps.success = ok
}

// inTime is the chance a request to the pool is answered within timeout:
// it waits out the backlog and its dependencies, then an exponentially
// distributed time with the pool's mean.
func inTime(ps *poolState, timeout float64) float64 {
	d := ps.backlog + ps.depLat
	if d >= timeout {
		return 0
	}
	return 1 - math.Exp(-(timeout-d)/ps.mean)
}

// p99 is a pool's 99th-percentile latency.
func p99(ps *poolState) float64 { return ps.backlog + ps.depLat + ps.mean*math.Log(100) }

// answer computes what clients of entry i got this tick, and schedules
// their retries.
func (m *sim) answer(i int) {
	w, e, es := m.w, m.w.entries[i], m.entries[i]
	success, shed, worst := 0.0, 0.0, 0.0
	via := func(share float64, ws []share, accept float64) {
		shed += share * (1 - accept)
		for _, s := range ws {
			ps, p := m.pools[s.idx], w.pools[s.idx]
			pass := 1.0
			if w.net != nil {
				k := w.net.pair(e.siteIdx, p.siteIdx)
				pass = w.net.delivered(k)
				w.net.add(k, es.attempts*share*accept*s.frac, w.services[p.svc].bytes)
			}
			success += share * accept * s.frac * ps.success * inTime(ps, e.timeout) * pass
			if ps.arrivals > 0 {
				shed += share * accept * s.frac * math.Min(1, ps.rejected/ps.arrivals)
			}
			if share*accept*s.frac >= 0.01 {
				worst = math.Max(worst, math.Min(p99(ps), e.timeout))
			}
		}
	}
	switch {
	case e.record != nil:
		answered := 0.0
		for a, ans := range es.cols {
			share := es.sum[a] / float64(e.ttl)
			if share <= 0 {
				continue
			}
			answered += share
			switch {
			case ans.LoadBalancer != "":
				if bi := m.lbIndex(ans.LoadBalancer); bi >= 0 {
					via(share, m.lbW[bi], m.lbAccept[bi])
				} else {
					shed += share
				}
			case ans.Anycast != "" || len(ans.Values) > 0:
				if m.answerProbe(ans) {
					success += share
				}
			}
		}
		shed += 1 - math.Min(1, answered)
	case e.service >= 0:
		via(1, es.w, 1)
	default:
		shed = 1
	}
	es.success, es.shed, es.p99 = clamp01(success), math.Min(1, shed), worst
	es.retr.schedule(1 - es.success)
}

// resolve refreshes the answers one TTL's worth of clients hold: each tick
// 1/TTL of them resolve again, so a change of answer reaches every client
// exactly one TTL after it is published.
func (m *sim) resolve(i int) {
	e, es := m.w.entries[i], m.entries[i]
	answers := es.answers
	// The resolution only changes with the answers' health.
	key := make([]bool, 0, 64)[:0]
	for a := range e.record.Answers {
		key = append(key, m.dnsHealthy(i, a))
	}
	if !es.resolved || !slices.Equal(key, es.health) {
		// Answers the record no longer has are never handed out again.
		clear(answers)
		resolveShares(e, m.w.regions[e.region], func(a int) bool { return key[a] }, answers[:len(e.record.Answers)])
		es.health, es.resolved = append(es.health[:0], key...), true
	}
	if es.same < 0 {
		for j := range es.ring {
			copy(es.ring[j], answers)
		}
		for a := range es.sum {
			es.sum[a] = answers[a] * float64(e.ttl)
		}
		es.same = e.ttl
	}
	old := es.ring[es.pos]
	same := true
	for a := range answers {
		if old[a] != answers[a] {
			same = false
		}
		es.sum[a] += answers[a] - old[a]
		old[a] = answers[a]
	}
	es.pos = (es.pos + 1) % e.ttl
	if same && es.same >= 0 {
		es.same++
	} else {
		es.same = 0
	}
	if es.same >= e.ttl {
		// Settled: recompute the sums exactly, so rounding cannot drift.
		for a := range es.sum {
			es.sum[a] = answers[a] * float64(e.ttl)
		}
	}
}

// dnsHealthy is the health a record's health check gives answer a (an
// answer that is not health-checked counts as healthy).
func (m *sim) dnsHealthy(i, a int) bool {
	e := m.w.entries[i]
	ans := e.record.Answers[a]
	if !ans.HealthChecked {
		return m.answerProbe(ans)
	}
	return m.dnsHC[i][a].healthy
}

// lbIndex finds a load balancer by name, or -1.
func (m *sim) lbIndex(name string) int {
	if i, ok := m.w.lbByName[name]; ok {
		return i
	}
	return -1
}

// lbSuccess is the share of a load balancer's traffic its targets answer.
func (m *sim) lbSuccess(bi int) float64 {
	if len(m.lbW[bi]) == 0 {
		return 0
	}
	s := 0.0
	for _, sh := range m.lbW[bi] {
		s += sh.frac * m.pools[sh.idx].success
	}
	return s * m.lbAccept[bi]
}

// balance decides where a load balancer sends traffic this tick: to the
// targets its health checks consider healthy (to all of them when fewer
// than its panic threshold are), by target weight, then by algorithm
// within a target; without cross-zone balancing each zone's share stays in
// the zone.
func (m *sim) balance(bi, t int) {
	w, b := m.w, m.w.lbs[bi]
	m.lbAccept[bi] = 1
	if b.capacity > 0 && m.lbOffered[bi] > b.capacity {
		m.lbAccept[bi] = b.capacity / m.lbOffered[bi]
	}
	healthy := func(pi int) bool { return m.lbHC[bi][pi].healthy }
	all, ok := 0, 0
	for _, g := range b.groups {
		for _, pi := range g.pools {
			n := w.pools[pi].hosts + m.pools[pi].extra
			all += n
			if healthy(pi) {
				ok += n
			}
		}
	}
	// Below the panic threshold, and always when no target is healthy, a
	// load balancer fails open: it sends to every registered instance.
	panicking := all > 0 && (ok == 0 || float64(ok) < b.panic*float64(all))
	usable := func(pi int) bool { return panicking || healthy(pi) }
	// Traffic goes to registered instances the checks consider healthy,
	// including ones that failed and are not yet detected.
	size := func(pi int) float64 {
		if b.spec.Algorithm == "least-request" {
			return m.registeredCapacity(pi)
		}
		return float64(w.pools[pi].hosts + m.pools[pi].extra)
	}
	out := m.lbW[bi][:0]
	// Nodes: one per zone without cross-zone balancing, else one.
	type node struct {
		zone  string
		share float64
	}
	nodes := []node{{"", 1}}
	if !b.crossZone {
		nodes = nodes[:0]
		seen := map[string]bool{}
		for _, g := range b.groups {
			for _, pi := range g.pools {
				if z := w.pools[pi].zone; !seen[z] && usable(pi) && size(pi) > 0 {
					seen[z] = true
					nodes = append(nodes, node{zone: z})
				}
			}
		}
		for i := range nodes {
			nodes[i].share = 1 / float64(len(nodes))
		}
	}
	for _, nd := range nodes {
		gw := 0.0
		for _, g := range b.groups {
			if groupSize(g, nd.zone, w, usable, size) > 0 {
				gw += g.weight
			}
		}
		if gw == 0 {
			continue
		}
		for _, g := range b.groups {
			gs := groupSize(g, nd.zone, w, usable, size)
			if gs == 0 || g.weight == 0 {
				continue
			}
			for _, pi := range g.pools {
				if (nd.zone == "" || w.pools[pi].zone == nd.zone) && usable(pi) {
					if f := nd.share * g.weight / gw * size(pi) / gs; f > 0 {
						out = append(out, share{pi, f})
					}
				}
			}
		}
	}
	m.lbW[bi] = out
}

func groupSize(g group, zone string, w *world, usable func(int) bool, size func(int) float64) float64 {
	s := 0.0
	for _, pi := range g.pools {
		if (zone == "" || w.pools[pi].zone == zone) && usable(pi) {
			s += size(pi)
		}
	}
	return s
}

// registeredCapacity is what a pool's registered instances serve when up;
// traffic is spread by it until health checks notice a failure.
func (m *sim) registeredCapacity(pi int) float64 {
	p := m.w.pools[pi]
	return math.Max(0, p.regCap+float64(m.pools[pi].extra)*m.w.services[p.svc].instCap)
}

// spread decides where calls to service si from a region go: to its
// pools there that service discovery sees healthy, by capacity; else to
// its healthy pools anywhere.
func (m *sim) spread(si, region int, out []share, t int) []share {
	sv := m.w.services[si]
	pick := func(pools []int) []share {
		total := 0.0
		for _, pi := range pools {
			if m.meshHC[pi].healthy {
				total += m.registeredCapacity(pi)
			}
		}
		if total == 0 {
			return out
		}
		for _, pi := range pools {
			if m.meshHC[pi].healthy {
				if c := m.registeredCapacity(pi); c > 0 {
					out = append(out, share{pi, c / total})
				}
			}
		}
		return out
	}
	if out = pick(sv.inRegion[region]); len(out) > 0 {
		return out
	}
	return pick(sv.pools)
}

// probe runs the health checks due this tick, and notes whether any check
// would now see something other than its last probe did.
func (m *sim) probe(t int) {
	w := m.w
	m.unsettled = false
	run := func(c *checker, pass bool, why string) {
		if (uint64(t)+c.phase)%c.every != 0 {
			m.unsettled = m.unsettled || pass != c.lastPass
			return
		}
		if c.observe(pass, c.spec) {
			m.unsettled = true // routing changes next tick
			if c.healthy {
				why = "healthy"
			}
			m.rec.log(t, why, c.subject, c.detail)
		}
	}
	// check probes pool pi from site from (an index in the network); when
	// it fails, why says how: out of service (no capacity), unreachable
	// (the network drops the probe) or unhealthy (overloaded).
	check := func(pi, from int, c checkSpec) (bool, string) {
		p, ps := w.pools[pi], m.pools[pi]
		switch {
		case ps.capacity <= 0:
			return false, "out of service"
		case w.net.delivered(w.net.pair(from, p.siteIdx)) < 0.5:
			return false, "unreachable"
		case ps.backlog+ps.mean >= c.timeout || (ps.arrivals > 0 && ps.rejected/ps.arrivals >= 0.5):
			return false, "unhealthy"
		}
		return true, ""
	}
	for bi, b := range w.lbs {
		for _, g := range b.groups {
			for _, pi := range g.pools {
				// The checks cross the network from the balancer (a global
				// one checks from each target's region).
				from := b.siteIdx
				if from < 0 {
					from = w.regionSite[w.pools[pi].region]
				}
				ok, why := check(pi, from, b.hc)
				run(m.lbHC[bi][pi], ok, why)
			}
		}
	}
	for pi, c := range m.meshHC {
		ok, why := check(pi, w.regionSite[w.pools[pi].region], c.spec)
		run(c, ok, why)
	}
	for i, e := range w.entries {
		for a, c := range m.dnsHC[i] {
			if c != nil {
				run(c, m.answerProbe(e.record.Answers[a]), "unhealthy")
			}
		}
	}
}

// crashes crashes pools overloaded for longer than their service survives.
func (m *sim) crashes(t int) {
	for pi, ps := range m.pools {
		p := m.w.pools[pi]
		over := ps.capacity > 0 && ps.arrivals > ps.capacity
		// Overloaded from the first tick over capacity until ten ticks in a
		// row below it, so the log does not flap.
		switch {
		case over:
			ps.under = 0
			if !ps.overloaded {
				ps.overloaded = true
				m.rec.log(t, "overloaded", p.key, "")
			}
		case ps.overloaded:
			ps.under++
			if ps.under >= 10 {
				ps.overloaded, ps.under = false, 0
				m.rec.log(t, "recovered", p.key, "")
			}
		}
		crash := m.w.services[p.svc].spec.Crash
		if crash == nil || !over {
			ps.overloadFor = 0
			continue
		}
		ps.overloadFor += m.tick
		if ps.overloadFor >= crash.Overload.Std().Seconds() {
			ps.overloadFor = 0
			ps.crashedUntil = t + 1 + max(1, int(math.Round(crash.Restart.Std().Seconds()/m.tick)))
			ps.dropped += ps.queue / m.tick
			ps.queue = 0
			ps.overloaded = false
			m.unsettled = true
			m.rec.log(t, "crashed", p.key, "after sustained overload")
			m.rec.poolSummary(p.key).Crashes++
		}
	}
}
