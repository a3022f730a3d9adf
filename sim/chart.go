package sim

import (
	"math"
	"sort"

	"github.com/preflight-sh/preflight/svgplot"
	"github.com/preflight-sh/preflight/units"
)

// chartComponents is how many components the chart's utilisation and
// health panels show.
const chartComponents = 5

// Chart is the chart of a run a person wants to see, readable without any
// text: success rate and p99 latency per entry point against their SLOs,
// the utilisation of the most loaded components against their capacity,
// and the healthy instances of the services among them, with the run's
// events marked.
func Chart(res *Result, title string) svgplot.Chart {
	scaled := func(v []float64, by float64) []float64 {
		out := make([]float64, len(v))
		for i, x := range v {
			out[i] = x * by
		}
		return out
	}
	success := svgplot.Panel{Title: "Success rate per entry point", Unit: "%"}
	latency := svgplot.Panel{Title: "p99 latency per entry point", Unit: "s"}
	availTargets, latTargets := map[float64]bool{}, map[units.Duration]bool{}
	for _, e := range res.Entries {
		success.Series = append(success.Series, svgplot.Series{Name: e.Name, Values: scaled(e.Success, 100)})
		latency.Series = append(latency.Series, svgplot.Series{Name: e.Name, Values: e.P99})
		if e.Availability > 0 && !availTargets[e.Availability] {
			availTargets[e.Availability] = true
			success.Lines = append(success.Lines, svgplot.HLine{Label: "SLO " + units.Percent(e.Availability).String(), Y: e.Availability * 100})
		}
		if e.LatencyP99 > 0 && !latTargets[e.LatencyP99] {
			latTargets[e.LatencyP99] = true
			latency.Lines = append(latency.Lines, svgplot.HLine{Label: "SLO p99 " + e.LatencyP99.String(), Y: e.LatencyP99.Std().Seconds()})
		}
	}
	util := svgplot.Panel{Title: "Utilisation of the most loaded components", Unit: "%", Lines: []svgplot.HLine{{Label: "capacity", Y: 100}}}
	var services []*ComponentSeries
	for _, c := range TopUtilised(res.Components, chartComponents) {
		util.Series = append(util.Series, svgplot.Series{Name: c.Kind + " " + c.Name, Values: scaled(c.Utilisation, 100)})
		if c.Kind == "service" {
			services = append(services, c)
		}
	}
	if len(services) == 0 {
		services = mostChangedHealthy(res.Components, chartComponents)
	}
	healthy := svgplot.Panel{Title: "Healthy instances", Unit: ""}
	for _, c := range services {
		healthy.Series = append(healthy.Series, svgplot.Series{Name: c.Name, Values: c.Healthy})
	}
	c := svgplot.Chart{Title: title, Step: res.Step.Std(), Panels: []svgplot.Panel{success, latency, util}}
	if len(healthy.Series) > 0 {
		c.Panels = append(c.Panels, healthy)
	}
	for _, m := range res.Events {
		c.Markers = append(c.Markers, svgplot.Marker{At: m.At.Std(), Label: m.Label})
	}
	return c
}

// TopUtilised returns the n components with the highest peak utilisation
// (ties by kind and name).
func TopUtilised(cs []ComponentSeries, n int) []*ComponentSeries {
	out := make([]*ComponentSeries, len(cs))
	for i := range cs {
		out[i] = &cs[i]
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Peak != out[j].Peak {
			return out[i].Peak > out[j].Peak
		}
		if out[i].Kind != out[j].Kind {
			return out[i].Kind < out[j].Kind
		}
		return out[i].Name < out[j].Name
	})
	return out[:min(n, len(out))]
}

// mostChangedHealthy is the n services whose healthy instances changed
// most over the run (ties by name).
func mostChangedHealthy(cs []ComponentSeries, n int) []*ComponentSeries {
	var out []*ComponentSeries
	spread := map[*ComponentSeries]float64{}
	for i := range cs {
		c := &cs[i]
		if c.Kind != "service" || len(c.Healthy) == 0 {
			continue
		}
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, v := range c.Healthy {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
		spread[c] = hi - lo
		out = append(out, c)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if spread[out[i]] != spread[out[j]] {
			return spread[out[i]] > spread[out[j]]
		}
		return out[i].Name < out[j].Name
	})
	return out[:min(n, len(out))]
}
