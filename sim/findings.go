package sim

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/preflight-sh/preflight/finding"
	"github.com/preflight-sh/preflight/twin"
	"github.com/preflight-sh/preflight/units"
)

// defaultAvailability is the target judged when an entry point declares
// no SLO.
const defaultAvailability = 0.99

// Findings judges a run of snapshot s: SLO violations per entry point,
// overloaded pools, the cascade that followed the first event, metastable
// failure after the last trigger ended, and recovery after rollbacks. A
// violation the baseline run (the same timeline without the change; nil
// when there is none) shows as well is a warning, not a block.
func Findings(s *twin.Snapshot, r, baseline *Result, o Options) []finding.Finding {
	o = o.withDefaults()
	var out []finding.Finding
	base := map[string]*EntrySeries{}
	if baseline != nil {
		for i := range baseline.Entries {
			base[baseline.Entries[i].Name] = &baseline.Entries[i]
		}
	}
	obj := func(kind, name string) []finding.Object {
		if o := s.Get(kind, name); o != nil {
			return []finding.Object{finding.ObjectOf(o, "")}
		}
		return []finding.Object{{Kind: kind, Name: name}}
	}
	for i := range r.Entries {
		e := &r.Entries[i]
		target, declared := e.Availability, true
		if target == 0 {
			target, declared = defaultAvailability, false
		}
		avail := 1.0
		if e.TotalAttempts > 0 {
			avail = e.TotalSucceeded / e.TotalAttempts
		}
		worst, at := e.worstMinute(r)
		if avail < target {
			// Missed without the change too, and not by a tenth of the
			// error budget less: the change is not what breaks it.
			sev := finding.Critical
			if b := base[e.Name]; b != nil && b.TotalAttempts > 0 {
				if ba := b.TotalSucceeded / b.TotalAttempts; ba < target && avail > ba-(1-target)/10 {
					sev = finding.Warning
				}
			}
			what := "its SLO"
			if !declared {
				what = "the default target (it declares no SLO)"
			}
			out = append(out, finding.Finding{
				ID: "simulation.availability." + e.Name, Category: "simulation", Severity: sev,
				Message: fmt.Sprintf("clients of %s from %s get %s of requests answered over the run, below %s of %s", e.Demand, e.Region, pct(avail), what, pct(target)),
				Objects: obj("Demand", e.Demand),
				Evidence: finding.Evidence{
					Figures: []finding.Figure{{Name: "availability", Value: avail * 100, Unit: "%"}, {Name: "target", Value: target * 100, Unit: "%"}, {Name: "worst minute", Value: worst * 100, Unit: "%"}, {Name: "failed requests", Value: math.Round(e.TotalFailed + e.TotalShed), Unit: "requests"}},
					Lines:   append([]string{fmt.Sprintf("worst minute starts at %v: %s of requests answered", units.Duration(at), pct(worst))}, e.excerpt(r, units.Duration(at+30*time.Second))...),
				},
				Weight: e.TotalFailed + e.TotalShed,
			})
		}
		if e.LatencyP99 > 0 {
			target := e.LatencyP99.Std().Seconds()
			over := slowSteps(e, target)
			dur := time.Duration(over) * r.Step.Std()
			if dur >= time.Minute && float64(over) > 0.01*float64(len(e.P99)) {
				sev := finding.Critical
				if b := base[e.Name]; b != nil && slowSteps(b, target)*100 > len(b.P99) {
					sev = finding.Warning // as slow without the change
				}
				out = append(out, finding.Finding{
					ID: "simulation.latency." + e.Name, Category: "simulation", Severity: sev,
					Message: fmt.Sprintf("p99 latency of %s from %s is above its SLO of %v for %v of the run", e.Demand, e.Region, e.LatencyP99, units.Duration(dur)),
					Objects: obj("Demand", e.Demand),
					Evidence: finding.Evidence{
						Figures: []finding.Figure{{Name: "time above target", Value: dur.Seconds(), Unit: "s"}, {Name: "target", Value: target, Unit: "s"}},
						Lines:   []string{"p99 is judged per step of " + r.Step.String()},
					},
				})
			}
		}
	}
	for _, p := range r.Pools {
		if p.Overloaded.Std() < 10*time.Second {
			continue
		}
		svc, zone, _ := strings.Cut(p.Name, "/")
		sev := finding.Warning
		msg := fmt.Sprintf("%s in %s is overloaded for %v (peak %.0f%% of capacity at %v)", svc, zone, p.Overloaded, p.Peak*100, p.PeakAt)
		if p.Crashes > 0 {
			sev = finding.Critical
			msg += fmt.Sprintf(", and crashes %d time(s)", p.Crashes)
		}
		out = append(out, finding.Finding{
			ID: "simulation.overload." + p.Name, Category: "simulation", Severity: sev, Message: msg,
			Objects: obj("Service", svc),
			Evidence: finding.Evidence{
				Figures: []finding.Figure{{Name: "peak utilisation", Value: p.Peak * 100, Unit: "%"}, {Name: "overloaded", Value: p.Overloaded.Std().Seconds(), Unit: "s"}, {Name: "crashes", Value: float64(p.Crashes)}},
				Lines:   []string{"overloaded: offered more requests per second than its instances serve"},
			},
			Weight: p.Peak,
		})
	}
	out = append(out, congestion(r, baseline, obj)...)
	if c, trigger := cascade(r); len(c) > 0 {
		sev := finding.Critical
		if baseline != nil {
			if b, _ := cascade(baseline); len(b) > 0 {
				sev = finding.Warning // the timeline cascades without the change too
			}
		}
		out = append(out, finding.Finding{
			ID: "simulation.cascade", Category: "simulation", Severity: sev,
			Message:  fmt.Sprintf("a cascade: after %s at %v, %d components failed one after another", trigger.Label, trigger.At, countSubjects(c)),
			Objects:  []finding.Object{{Kind: "Event", Name: trigger.Name}},
			Evidence: finding.Evidence{Lines: c},
		})
	}
	out = append(out, metastable(r, o)...)
	finding.Sort(out)
	return out
}

// congestion reports links and devices offered more traffic than their
// capacity: the excess is dropped from every flow across them. Congestion
// the baseline shows as well is a warning.
func congestion(r, baseline *Result, obj func(kind, name string) []finding.Object) []finding.Finding {
	before := map[string]bool{}
	if baseline != nil {
		for _, c := range baseline.Components {
			if c.Peak > 1 {
				before[c.Kind+"/"+c.Name] = true
			}
		}
	}
	var out []finding.Finding
	step := r.Step.Std()
	for _, c := range r.Components {
		if (c.Kind != "link" && c.Kind != "device") || c.Peak <= 1 {
			continue
		}
		over, first := 0, -1
		for k, u := range c.Utilisation {
			if u > 1 {
				over++
				if first < 0 {
					first = k
				}
			}
		}
		sev := finding.Critical
		if before[c.Kind+"/"+c.Name] {
			sev = finding.Warning
		}
		kind := map[string]string{"link": "Link", "device": "Device"}[c.Kind]
		dur := units.Duration(time.Duration(over) * step)
		out = append(out, finding.Finding{
			ID: "simulation.congestion." + c.Kind + "/" + c.Name, Category: "simulation", Severity: sev,
			Message: fmt.Sprintf("%s %s is offered %.0f%% of its capacity from %v, for %v: it drops the excess of every flow across it", c.Kind, c.Name, c.Peak*100, units.Duration(time.Duration(first)*step), dur),
			Objects: obj(kind, c.Name),
			Evidence: finding.Evidence{
				Figures: []finding.Figure{{Name: "peak utilisation", Value: c.Peak * 100, Unit: "%"}, {Name: "congested", Value: time.Duration(dur).Seconds(), Unit: "s"}},
				Lines:   []string{fmt.Sprintf("traffic of the services that set bytesPerRequest, along the forwarding paths between sites (ECMP split); %.0f%% of what crosses it is dropped at the peak", (1-1/c.Peak)*100)},
			},
			Weight: c.Peak,
		})
	}
	return out
}

// cascade is the chain of overloads, health-check failures and crashes
// that followed an event, in order, when it spread beyond one component,
// with the event that set it off: the last one before the first failure.
func cascade(r *Result) ([]string, Mark) {
	if len(r.Events) == 0 {
		return nil, Mark{}
	}
	from := r.Events[0].At
	var lines []string
	var trigger Mark
	seen := map[string]bool{}
	for _, l := range r.Log {
		if l.At < from || (l.What != "overloaded" && l.What != "unhealthy" && l.What != "crashed") {
			continue
		}
		if len(lines) == 0 {
			for _, ev := range r.Events {
				if ev.At <= l.At {
					trigger = ev
				}
			}
		}
		key := l.What + " " + l.Subject
		if seen[key] {
			continue
		}
		seen[key] = true
		lines = append(lines, fmt.Sprintf("%v %s %s", l.At, l.Subject, l.What))
		if len(lines) == 50 {
			lines = append(lines, "…")
			break
		}
	}
	if countSubjects(lines) < 2 {
		return nil, Mark{}
	}
	return lines, trigger
}

func countSubjects(lines []string) int {
	subjects := map[string]bool{}
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) >= 3 {
			subjects[strings.Join(f[1:len(f)-1], " ")] = true
		}
	}
	return len(subjects)
}

// metastable finds entry points still failing MetastableAfter after the
// last trigger ended, and reports recovery times after rollbacks.
func metastable(r *Result, o Options) []finding.Finding {
	var ends []Mark
	for _, m := range r.Events {
		if m.Ends {
			ends = append(ends, m)
		}
	}
	for _, ev := range o.Events {
		if ev.DemandFactor > 0 && ev.For > 0 && ev.At+ev.For < o.Duration {
			ends = append(ends, Mark{At: units.Duration(ev.At + ev.For), Name: ev.Name, Label: "end of " + ev.Label, Ends: true})
		}
	}
	if len(ends) == 0 {
		return nil
	}
	last := ends[0]
	for _, m := range ends {
		if m.At > last.At {
			last = m
		}
	}
	var out []finding.Finding
	tick := r.Tick.Std()
	for i := range r.Entries {
		e := &r.Entries[i]
		target := e.Availability
		if target == 0 {
			target = defaultAvailability
		}
		from := int(last.At.Std() / tick)
		minute := int(time.Minute / tick)
		if from < minute || windowMean(e.success[from-minute:from]) >= target {
			continue // not failing when the trigger ended
		}
		rec := -1
		for t := from; t+minute <= len(e.success); t++ {
			if windowMean(e.success[t:t+minute]) >= target {
				rec = t
				break
			}
		}
		check := from + int(o.MetastableAfter/tick)
		if check >= len(e.success) {
			continue
		}
		switch {
		case rec < 0 || rec > check:
			out = append(out, finding.Finding{
				ID: "simulation.metastable." + e.Name, Category: "simulation", Severity: finding.Critical,
				Message: fmt.Sprintf("%s from %s is still failing %v after %s: the failure sustains itself (metastable)", e.Demand, e.Region, units.Duration(o.MetastableAfter), last.Label),
				Objects: []finding.Object{{Kind: "Demand", Name: e.Demand}},
				Evidence: finding.Evidence{
					Figures: []finding.Figure{{Name: "availability after the trigger ended", Value: windowMean(e.success[check:]) * 100, Unit: "%"}, {Name: "target", Value: target * 100, Unit: "%"}},
					Lines:   append([]string{"the trigger ended at " + last.At.String() + " (" + last.Label + ")"}, e.excerpt(r, units.Duration(time.Duration(check)*tick))...),
				},
			})
		default:
			out = append(out, finding.Finding{
				ID: "simulation.recovery." + e.Name, Category: "simulation", Severity: finding.Info,
				Message: fmt.Sprintf("%s from %s recovers %v after %s", e.Demand, e.Region, units.Duration(time.Duration(rec-from)*tick), last.Label),
				Objects: []finding.Object{{Kind: "Demand", Name: e.Demand}},
				Evidence: finding.Evidence{
					Figures: []finding.Figure{{Name: "recovery time", Value: (time.Duration(rec-from) * tick).Seconds(), Unit: "s"}},
					Lines:   []string{"recovered: a whole minute at or above the availability target of " + pct(target)},
				},
			})
		}
	}
	return out
}

// worstMinute is the lowest one-minute availability and when it starts.
func (e *EntrySeries) worstMinute(r *Result) (float64, time.Duration) {
	tick := r.Tick.Std()
	n := max(1, int(time.Minute/tick))
	worst, at := 1.0, 0
	if len(e.success) < n {
		return windowMean(e.success), 0
	}
	sum := 0.0
	for t, v := range e.success {
		sum += v
		if t >= n {
			sum -= e.success[t-n]
		}
		if t >= n-1 && sum/float64(n) < worst-1e-12 {
			worst, at = sum/float64(n), t-n+1
		}
	}
	return worst, time.Duration(at) * tick
}

// excerpt is a few points of the success series around a time.
func (e *EntrySeries) excerpt(r *Result, at units.Duration) []string {
	step := r.Step.Std()
	k := int(at.Std() / step)
	var lines []string
	for j := max(0, k-2); j < min(len(e.Success), k+5); j++ {
		lines = append(lines, fmt.Sprintf("  %v: %s answered, %.0f req/s offered, p99 %v", units.Duration(time.Duration(j)*step), pct(e.Success[j]), e.Attempts[j], units.Duration(time.Duration(e.P99[j]*float64(time.Second)).Round(time.Millisecond))))
	}
	return lines
}

func windowMean(v []float64) float64 {
	if len(v) == 0 {
		return 1
	}
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// pct prints a share as a percentage with the decimals that matter for
// availability (99.95%, 12.3%).
func pct(f float64) string {
	v := strconv.FormatFloat(math.Max(0, math.Min(1, f))*100, 'f', 3, 64)
	v = strings.TrimRight(strings.TrimRight(v, "0"), ".")
	return v + "%"
}

// slowSteps counts the steps whose p99 latency is above target seconds.
func slowSteps(e *EntrySeries, target float64) int {
	n := 0
	for _, v := range e.P99 {
		if v > target {
			n++
		}
	}
	return n
}
