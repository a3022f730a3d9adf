package server

import (
	"bytes"
	"html/template"
	"sync"
	"time"

	"github.com/preflight-sh/preflight/sim"
	"github.com/preflight-sh/preflight/store"
	"github.com/preflight-sh/preflight/svgplot"
	"github.com/preflight-sh/preflight/twin"
)

// The window the change page's chart simulates: as check does, 20 minutes
// from the hour of the daily demand peak, the change at 5m.
const (
	chartDuration = 20 * time.Minute
	chartChangeAt = 5 * time.Minute
	chartCacheMax = 256
)

// charts draws and remembers the simulation chart of each change version.
type charts struct {
	mu   sync.Mutex
	byID map[string]template.HTML
}

// chart is the simulation chart of a request's change on the twin, or ""
// when the twin has no demand or the change does not apply.
func (s *Server) chart(c store.ChangeRequest) template.HTML {
	tw := s.v.tw
	if len(tw.Snapshot.List("Demand")) == 0 {
		return ""
	}
	key := c.ChangeHash + "@" + tw.Version
	s.charts.mu.Lock()
	svg, ok := s.charts.byID[key]
	s.charts.mu.Unlock()
	if ok {
		return svg
	}
	svg = drawChart(tw.Snapshot, c)
	s.charts.mu.Lock()
	if s.charts.byID == nil || len(s.charts.byID) >= chartCacheMax {
		s.charts.byID = map[string]template.HTML{}
	}
	s.charts.byID[key] = svg
	s.charts.mu.Unlock()
	return svg
}

func drawChart(snap *twin.Snapshot, c store.ChangeRequest) template.HTML {
	cs, err := ParseChange(c.Kind, c.Body)
	if err != nil {
		return ""
	}
	o := sim.Options{Duration: chartDuration, Start: sim.PeakHour(snap), Seed: 1,
		Events: []sim.Event{{At: chartChangeAt, Name: sim.CLIChange, Label: "apply " + c.Title, Change: cs}}}
	r, err := sim.Run(snap, o)
	if err != nil {
		return ""
	}
	var b bytes.Buffer
	if err := svgplot.Write(&b, sim.Chart(r, c.Title)); err != nil {
		return ""
	}
	// svgplot escapes every text it writes; the markup is its own.
	return template.HTML(b.String())
}
