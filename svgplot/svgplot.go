// Package svgplot draws time series as a standalone SVG chart: stacked panels
// sharing one time axis, each with its own y axis, legend and event markers.
//
// The output depends only on the input (byte-identical for equal charts), uses
// only the standard library, escapes all text, and stays small for long series:
// each series is reduced to the minimum and maximum of every horizontal pixel
// column, so one-point spikes remain visible.
package svgplot

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Chart is a stack of panels that share one time axis. Every series of every
// panel holds one value per Step, the first at Start.
type Chart struct {
	Title   string
	Step    time.Duration // time between consecutive points (all series share it), > 0
	Start   time.Duration // offset of the first point from the start of the run; axis labels show time since start ("0", "30m", "1h30m")
	Panels  []Panel
	Markers []Marker // vertical dashed lines across all panels, labelled with their time and Label
}

// Panel is one plot area of the chart with its own y axis and legend.
// The y range is fixed when YMax > YMin; otherwise it is chosen from the data
// and the reference lines (including 0 when no value is negative, with a
// little headroom).
type Panel struct {
	Title      string // e.g. "Success rate per entry point"
	Unit       string // "%", "req/s", "instances", "" ...; appended to y tick labels
	YMin, YMax float64
	Series     []Series
	Lines      []HLine // horizontal reference lines, e.g. an SLO target or 100% utilisation
}

// Series is one named line. NaN (or any non-finite value) means no data: the
// line has a gap there. All non-empty series of a chart have the same length;
// an empty or all-NaN series draws nothing but still appears in the legend.
type Series struct {
	Name   string
	Values []float64
}

// HLine is a horizontal reference line at Y, drawn dashed and labelled with
// Label (or with its value when Label is empty).
type HLine struct {
	Label string
	Y     float64
}

// Marker is an event at time At (since the start of the run, like
// Chart.Start). It is drawn as a vertical dashed line across all panels and
// labelled "<time> <Label>", e.g. At 10m, Label "apply change" shows
// "10m apply change". Markers outside the chart's time range are not drawn.
type Marker struct {
	At    time.Duration
	Label string
}

// Layout constants, in SVG user units (pixels).
const (
	chartWidth    = 960
	plotHeight    = 160
	rightMargin   = 28
	minLeftMargin = 44
	maxLeftMargin = 200
	charWidth     = 6.2 // approximate advance of an 11px sans-serif glyph
	maxMarkerRows = 6
	markerRowH    = 13
	legendRowH    = 15
	maxAbsValue   = 1e300 // values are clamped to ±maxAbsValue so range arithmetic stays finite
	minSpan       = 1e-100
)

// palette is the Okabe-Ito colour-blind-safe palette (yellow darkened for
// contrast on white) extended with wine and grey to ten colours. Series
// beyond the tenth reuse the colours with a dash pattern.
var palette = [...]string{
	"#0072B2", // blue
	"#E69F00", // orange
	"#009E73", // bluish green
	"#D55E00", // vermillion
	"#CC79A7", // reddish purple
	"#56B4E9", // sky blue
	"#000000", // black
	"#B59B00", // dark yellow
	"#882255", // wine
	"#999999", // grey
}

// Write renders c as a standalone SVG document to w. It returns an error
// (and writes nothing) when the chart is invalid.
func Write(w io.Writer, c Chart) error {
	n, err := validate(c)
	if err != nil {
		return err
	}
	r := renderer{c: c, n: n}
	r.render()
	_, err = w.Write(r.b.Bytes())
	return err
}

func validate(c Chart) (int, error) {
	if c.Step <= 0 {
		return 0, fmt.Errorf("svgplot: Step must be > 0, got %v", c.Step)
	}
	if len(c.Panels) == 0 {
		return 0, errors.New("svgplot: chart has no panels")
	}
	n, firstName, firstPanel := -1, "", 0
	for pi, p := range c.Panels {
		where := fmt.Sprintf("panel %d (%q)", pi+1, p.Title)
		if !finite(p.YMin) || !finite(p.YMax) {
			return 0, fmt.Errorf("svgplot: %s: YMin and YMax must be finite, got %v and %v", where, p.YMin, p.YMax)
		}
		if p.YMax > p.YMin {
			mag := math.Max(math.Abs(p.YMin), math.Abs(p.YMax))
			span := p.YMax - p.YMin
			if mag > maxAbsValue || math.IsInf(span, 0) {
				return 0, fmt.Errorf("svgplot: %s: y range %v..%v is too large (limit ±%g)", where, p.YMin, p.YMax, maxAbsValue)
			}
			if span < minSpan || span < 1e-9*mag {
				return 0, fmt.Errorf("svgplot: %s: y range %v..%v is too narrow to draw", where, p.YMin, p.YMax)
			}
		}
		for _, l := range p.Lines {
			if !finite(l.Y) {
				return 0, fmt.Errorf("svgplot: %s: reference line %q has non-finite Y %v", where, l.Label, l.Y)
			}
		}
		for _, s := range p.Series {
			if len(s.Values) == 0 {
				continue // no data at all: legend entry only
			}
			if n < 0 {
				n, firstName, firstPanel = len(s.Values), s.Name, pi+1
				continue
			}
			if len(s.Values) != n {
				return 0, fmt.Errorf("svgplot: %s: series %q has %d points, but series %q (panel %d) has %d; all series must have the same length",
					where, s.Name, len(s.Values), firstName, firstPanel, n)
			}
		}
	}
	if n < 0 {
		n = 0
	}
	steps := int64(1)
	if n > 1 {
		steps = int64(n - 1)
	}
	if int64(c.Step) > math.MaxInt64/steps || (c.Start > 0 && int64(c.Step)*steps > math.MaxInt64-int64(c.Start)) {
		return 0, fmt.Errorf("svgplot: time range overflows: Start %v + %d steps of %v", c.Start, steps, c.Step)
	}
	return n, nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// yscale is the vertical scale of one panel.
type yscale struct {
	min, max float64
	step     float64
	ticks    []float64
	labels   []string // tick labels including the unit
}

// panelScale chooses the y range and ticks of p.
func panelScale(p Panel) yscale {
	var s yscale
	if p.YMax > p.YMin {
		s.min, s.max = p.YMin, p.YMax
		s.step = fixedStep(s.min, s.max)
		s.ticks = ticksIn(s.min, s.max, s.step)
	} else {
		lo, hi := math.Inf(1), math.Inf(-1)
		see := func(v float64) {
			if !finite(v) {
				return
			}
			v = clampAbs(v)
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
		for _, sr := range p.Series {
			for _, v := range sr.Values {
				see(v)
			}
		}
		for _, l := range p.Lines {
			see(l.Y)
		}
		if lo > hi {
			lo, hi = 0, 1 // no data
		}
		if lo >= 0 {
			lo = 0
		}
		mag := math.Max(math.Abs(lo), math.Abs(hi))
		switch {
		case mag < minSpan:
			if lo < 0 {
				lo, hi = -1, 1
			} else {
				lo, hi = 0, 1
			}
		case hi-lo < 1e-9*mag:
			pad := mag * 0.1
			lo, hi = lo-pad, hi+pad
		}
		s.min, s.max, s.step = autoRange(lo, hi)
		s.ticks = ticksIn(s.min, s.max, s.step)
	}
	s.labels = tickLabels(s.ticks, s.step, s.min, s.max, p.Unit)
	return s
}

func clampAbs(v float64) float64 {
	return math.Max(-maxAbsValue, math.Min(maxAbsValue, v))
}

// autoRange extends [lo, hi] to multiples of a nice step, with headroom
// where the data would touch the frame. Of the steps giving three to six
// intervals it takes the one with the tightest range (the larger step on a
// tie).
func autoRange(lo, hi float64) (bestMin, bestMax, bestStep float64) {
	extend := func(step float64) (float64, float64) {
		a, b := math.Floor(lo/step)*step, math.Ceil(hi/step)*step
		if b <= a {
			b = a + step
		}
		// Headroom: a line drawn on the frame is hard to read.
		if hi > b-0.02*(b-a) {
			b += step
		}
		if lo < 0 && lo < a+0.02*(b-a) {
			a -= step
		}
		return a, b
	}
	bestStep = niceStep((hi - lo) / 4)
	bestMin, bestMax = extend(bestStep)
	best := math.Inf(1)
	k0 := math.Floor(math.Log10((hi - lo) / 6))
	for k := k0; k <= k0+1; k++ {
		for _, m := range []float64{1, 2, 2.5, 5} {
			step := m * math.Pow(10, k)
			a, b := extend(step)
			if iv := (b - a) / step; iv < 3-1e-9 || iv > 6+1e-9 || !finite(b-a) {
				continue
			}
			if b-a < best*(1-1e-9) || (b-a <= best*(1+1e-9) && step > bestStep) {
				best, bestMin, bestMax, bestStep = b-a, a, b, step
			}
		}
	}
	return bestMin, bestMax, bestStep
}

// niceStep returns the smallest of 1, 2, 2.5, 5 × 10^k that is >= raw.
func niceStep(raw float64) float64 {
	if !(raw > 0) || math.IsInf(raw, 0) {
		return 1
	}
	base := math.Pow(10, math.Floor(math.Log10(raw)))
	f := raw / base
	for _, m := range []float64{1, 2, 2.5, 5} {
		if f <= m*(1+1e-9) {
			return m * base
		}
	}
	return 10 * base
}

// fixedStep chooses a nice tick step for a fixed range, preferring steps
// that put ticks on both ends and about four intervals in between
// (0..100 gives 25, 95..100 gives 1, 99..100 gives 0.25).
func fixedStep(lo, hi float64) float64 {
	span := hi - lo
	best, bestScore := niceStep(span/4), math.Inf(1)
	k0 := math.Floor(math.Log10(span))
	for k := k0 - 2; k <= k0; k++ {
		for _, m := range []float64{1, 2, 2.5, 5} {
			step := m * math.Pow(10, k)
			intervals := span / step
			if intervals < 3-1e-9 || intervals > 8+1e-9 {
				continue
			}
			score := math.Abs(intervals - 4)
			if !isInt(intervals) || !isInt(lo/step) {
				score += 10
			}
			if score < bestScore {
				best, bestScore = step, score
			}
		}
	}
	return best
}

func isInt(v float64) bool { return math.Abs(v-math.Round(v)) < 1e-6 }

// ticksIn returns the multiples of step in [a, b].
func ticksIn(a, b, step float64) []float64 {
	i0 := math.Ceil(a/step - 1e-9)
	i1 := math.Floor(b/step + 1e-9)
	if !finite(i0) || !finite(i1) || i1 < i0 {
		return nil
	}
	cnt := int(math.Min(i1-i0, 50))
	ticks := make([]float64, 0, cnt+1)
	for k := 0; k <= cnt; k++ {
		v := (i0 + float64(k)) * step
		if math.Abs(v) < step*1e-9 {
			v = 0 // no "-0"
		}
		ticks = append(ticks, v)
	}
	return ticks
}

// tickLabels formats y ticks with as many decimals as step needs, SI
// suffixes (k, M, G, T) for large values, and the unit.
func tickLabels(ticks []float64, step, lo, hi float64, unit string) []string {
	unit = truncate(unit, 16)
	maxAbs := math.Max(math.Abs(lo), math.Abs(hi))
	scale, suffix := 1.0, ""
	useG := maxAbs >= 1e15
	if !useG && maxAbs >= 1e4 {
		e := int(math.Floor(math.Log10(maxAbs)/3 + 1e-9))
		e = max(1, min(e, 4))
		scale, suffix = math.Pow(1000, float64(e)), string("kMGT"[e-1])
	}
	decimals := 0
	if st := step / scale; !useG {
		k := math.Floor(math.Log10(st) + 1e-9)
		decimals = max(0, int(-k))
		if m := st / math.Pow(10, k); math.Abs(m-2.5) < 1e-6 {
			decimals = max(0, int(-k)+1) // 2.5×10^k has a digit at 10^(k-1)
		}
		if decimals > 12 {
			useG = true
		}
	}
	labels := make([]string, len(ticks))
	for i, v := range ticks {
		var s string
		switch {
		case v == 0:
			s = "0"
		case useG:
			s = strconv.FormatFloat(v, 'g', 4, 64)
		default:
			s = strconv.FormatFloat(v/scale, 'f', decimals, 64) + suffix
		}
		labels[i] = withUnit(s, unit)
	}
	return labels
}

// withUnit appends a unit to a formatted number: "25%", "300 req/s".
func withUnit(s, unit string) string {
	switch unit {
	case "":
		return s
	case "%":
		return s + unit
	default:
		return s + " " + unit
	}
}

// timeInterval returns a round tick interval so that span holds at most
// maxTicks intervals.
func timeInterval(span time.Duration, maxTicks int64) time.Duration {
	var ladder []time.Duration
	for d := time.Duration(1); d < time.Second; d *= 10 {
		ladder = append(ladder, d, 2*d, 5*d)
	}
	ladder = append(ladder,
		time.Second, 2*time.Second, 5*time.Second, 10*time.Second, 15*time.Second, 30*time.Second,
		time.Minute, 2*time.Minute, 5*time.Minute, 10*time.Minute, 15*time.Minute, 30*time.Minute,
		time.Hour, 2*time.Hour, 3*time.Hour, 6*time.Hour, 12*time.Hour, 24*time.Hour, 48*time.Hour)
	for d := 7 * 24 * time.Hour; d <= math.MaxInt64/50; d *= 10 {
		ladder = append(ladder, d, 2*d, 5*d)
	}
	for _, d := range ladder {
		if int64(span/d) <= maxTicks {
			return d
		}
	}
	return ladder[len(ladder)-1]
}

// formatDuration formats d compactly: "0", "45s", "30m", "1h30m", "1.5s",
// "250ms"; with days, "1d6h" instead of "30h".
func formatDuration(d time.Duration, days bool) string {
	if d == 0 {
		return "0"
	}
	var b strings.Builder
	u := uint64(d)
	if d < 0 {
		b.WriteByte('-')
		u = uint64(-(d + 1)) + 1 // no overflow for MinInt64
	}
	const (
		sec  = uint64(time.Second)
		min  = 60 * sec
		hour = 60 * min
		day  = 24 * hour
	)
	for _, part := range []struct {
		unit uint64
		sfx  string
	}{{day, "d"}, {hour, "h"}, {min, "m"}} {
		if part.unit == day && !days {
			continue
		}
		if q := u / part.unit; q > 0 {
			b.WriteString(strconv.FormatUint(q, 10) + part.sfx)
			u %= part.unit
		}
	}
	s, frac := u/sec, u%sec
	switch {
	case frac == 0 && s > 0:
		b.WriteString(strconv.FormatUint(s, 10) + "s")
	case frac != 0 && s == 0 && b.Len() <= 1:
		switch {
		case frac%1e6 == 0:
			b.WriteString(strconv.FormatUint(frac/1e6, 10) + "ms")
		case frac%1e3 == 0:
			b.WriteString(strconv.FormatUint(frac/1e3, 10) + "µs")
		default:
			b.WriteString(strconv.FormatUint(frac, 10) + "ns")
		}
	case frac != 0:
		fs := strings.TrimRight(fmt.Sprintf("%09d", frac), "0")
		b.WriteString(strconv.FormatUint(s, 10) + "." + fs + "s")
	}
	return b.String()
}

// truncate shortens s to at most n runes, ending with an ellipsis.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// textWidth estimates the rendered width of s at the given glyph advance.
func textWidth(s string, adv float64) float64 {
	return float64(utf8.RuneCountInString(s)) * adv
}

type pt struct{ x, y float64 }

type panelLayout struct {
	scale      yscale
	titleY     float64   // baseline of the panel title
	legendRows [][]int   // series indices per legend row
	legendY    float64   // baseline of the first legend row
	top        float64   // top of the plot area
	bottom     float64   // bottom of the plot area
	names      []string  // legend names (truncated)
	hlineYs    []float64 // pixel y per reference line, NaN when outside the range
}

type markerLabel struct {
	x, x0   float64 // line x, text x
	anchor  string
	text    string
	row     int
	visible bool
}

type renderer struct {
	c         Chart
	n         int // points per series
	b         bytes.Buffer
	left      int // left edge of the plot areas
	pw        int // plot width
	height    float64
	start     time.Duration
	end       time.Duration
	panels    []panelLayout
	marks     []markerLabel
	rows      int     // marker label rows
	markerTop float64 // top of the marker label band
	days      bool    // time labels use days ("3d12h"), for runs of three days or more
}

func (r *renderer) layout() {
	c := r.c
	r.start = c.Start
	steps := int64(1)
	if r.n > 1 {
		steps = int64(r.n - 1)
	}
	r.end = c.Start + time.Duration(int64(c.Step)*steps)
	r.days = r.end >= 72*time.Hour || r.start <= -72*time.Hour

	// Y scales first: the widest tick label decides the left margin.
	r.panels = make([]panelLayout, len(c.Panels))
	widest := 0.0
	for i, p := range c.Panels {
		r.panels[i].scale = panelScale(p)
		for _, l := range r.panels[i].scale.labels {
			widest = math.Max(widest, textWidth(l, charWidth))
		}
	}
	r.left = int(math.Ceil(math.Max(minLeftMargin, math.Min(maxLeftMargin, widest+12))))
	r.pw = chartWidth - r.left - rightMargin

	y := 34.0
	if c.Title == "" {
		y = 12
	}
	// Marker labels: in time order, each in the first row where it does not
	// overlap the previous label of that row.
	order := make([]int, len(c.Markers))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return c.Markers[order[a]].At < c.Markers[order[b]].At })
	r.marks = make([]markerLabel, len(c.Markers))
	var rowEnd []float64
	for _, i := range order {
		m := c.Markers[i]
		if m.At < r.start || m.At > r.end {
			continue
		}
		text := formatDuration(m.At, r.days)
		if m.Label != "" {
			text += " " + truncate(m.Label, 60)
		}
		x := r.timeX(m.At)
		w := textWidth(text, charWidth)
		ml := markerLabel{x: x, x0: x + 3, anchor: "start", text: text, visible: true}
		x0, x1 := x+3, x+3+w
		if x1 > chartWidth-4 {
			ml.x0, ml.anchor = x-3, "end"
			x0, x1 = x-3-w, x-3
		}
		ml.row = -1
		for ri, e := range rowEnd {
			if x0 >= e+8 {
				ml.row = ri
				break
			}
		}
		if ml.row < 0 {
			if len(rowEnd) < maxMarkerRows {
				ml.row = len(rowEnd)
				rowEnd = append(rowEnd, math.Inf(-1))
			} else { // all rows taken: use the one that frees up first
				ml.row = 0
				for ri, e := range rowEnd {
					if e < rowEnd[ml.row] {
						ml.row = ri
					}
				}
			}
		}
		rowEnd[ml.row] = math.Max(rowEnd[ml.row], x1)
		r.marks[i] = ml
	}
	r.rows = len(rowEnd)
	r.markerTop = y
	if r.rows > 0 {
		y += float64(r.rows*markerRowH) + 4
	}

	for i, p := range c.Panels {
		pl := &r.panels[i]
		pl.titleY = y + 13
		y += 20
		// Legend rows, wrapped to the plot width.
		cur := []int{}
		x := 0.0
		for si, s := range p.Series {
			name := s.Name
			if name == "" {
				name = "series " + strconv.Itoa(si+1)
			}
			name = truncate(name, 60)
			pl.names = append(pl.names, name)
			w := 20 + textWidth(name, charWidth) + 16
			if x > 0 && x+w > float64(r.pw) {
				pl.legendRows = append(pl.legendRows, cur)
				cur, x = []int{}, 0
			}
			cur = append(cur, si)
			x += w
		}
		if len(cur) > 0 {
			pl.legendRows = append(pl.legendRows, cur)
		}
		pl.legendY = y + 10
		y += float64(len(pl.legendRows)*legendRowH) + 6
		pl.top = y
		pl.bottom = y + plotHeight
		y = pl.bottom + 14
		for _, l := range p.Lines {
			ly := math.NaN()
			if l.Y >= pl.scale.min && l.Y <= pl.scale.max {
				ly = r.valueY(pl, l.Y)
			}
			pl.hlineYs = append(pl.hlineYs, ly)
		}
	}
	r.height = math.Ceil(r.panels[len(r.panels)-1].bottom + 40)
}

// timeX maps a time to a pixel x.
func (r *renderer) timeX(t time.Duration) float64 {
	span := float64(r.end) - float64(r.start)
	return float64(r.left) + (float64(t)-float64(r.start))/span*float64(r.pw)
}

// valueY maps a value to a pixel y, clamped to a band around the plot area
// (the plot is clipped to its area anyway).
func (r *renderer) valueY(pl *panelLayout, v float64) float64 {
	v = clampAbs(v)
	f := (pl.scale.max - v) / (pl.scale.max - pl.scale.min)
	f = math.Max(-1, math.Min(2, f))
	return pl.top + f*plotHeight
}

// segments reduces a series to polylines: one per run of finite values;
// with more points than pixel columns, each column contributes its minimum
// and maximum, in index order.
func (r *renderer) segments(pl *panelLayout, vals []float64) [][]pt {
	n := len(vals)
	down := n-1 > r.pw
	col := func(i int) int {
		if !down {
			return i
		}
		return (2*i*r.pw + (n - 1)) / (2 * (n - 1)) // round(i*pw/(n-1))
	}
	colX := func(c int) float64 {
		switch {
		case down:
			return float64(r.left + c)
		case n == 1:
			return float64(r.left)
		default:
			return float64(r.left) + float64(c)*float64(r.pw)/float64(n-1)
		}
	}
	var segs [][]pt
	var cur []pt
	type agg struct {
		col, cnt   int
		iMin, iMax int
		vMin, vMax float64
	}
	var a agg
	flush := func() {
		if a.cnt == 0 {
			return
		}
		x := colX(a.col)
		first, second := a.vMin, a.vMax
		if a.iMax < a.iMin {
			first, second = a.vMax, a.vMin
		}
		cur = append(cur, pt{x, r.valueY(pl, first)})
		if a.iMin != a.iMax {
			cur = append(cur, pt{x, r.valueY(pl, second)})
		}
		a.cnt = 0
	}
	for i, v := range vals {
		if !finite(v) {
			flush()
			if len(cur) > 0 {
				segs = append(segs, cur)
				cur = nil
			}
			continue
		}
		c := col(i)
		if a.cnt > 0 && c != a.col {
			flush()
		}
		if a.cnt == 0 {
			a = agg{col: c, cnt: 1, iMin: i, iMax: i, vMin: v, vMax: v}
			continue
		}
		a.cnt++
		if v < a.vMin {
			a.vMin, a.iMin = v, i
		}
		if v > a.vMax {
			a.vMax, a.iMax = v, i
		}
	}
	flush()
	if len(cur) > 0 {
		segs = append(segs, cur)
	}
	return segs
}

// tenths rounds a pixel coordinate to tenths of a pixel.
func tenths(v float64) int64 { return int64(math.Round(v * 10)) }

// appendTenths appends t/10 with at most one decimal ("12", "-3.5", ".5" is written "0.5").
func appendTenths(b []byte, t int64) []byte {
	if t < 0 {
		b = append(b, '-')
		t = -t
	}
	b = strconv.AppendInt(b, t/10, 10)
	if d := t % 10; d != 0 {
		b = append(b, '.', byte('0'+d))
	}
	return b
}

// num formats a coordinate with at most one decimal.
func num(v float64) string { return string(appendTenths(nil, tenths(v))) }

// appendPath encodes polylines as SVG path data with relative commands,
// which keeps long series small. An isolated point becomes a 3px dash.
func appendPath(b []byte, segs [][]pt) []byte {
	for _, s := range segs {
		mark := len(b)
		x, y := tenths(s[0].x), tenths(s[0].y)
		b = append(b, 'M')
		b = appendTenths(b, x)
		b = append(b, ',')
		b = appendTenths(b, y)
		moved := false
		for _, p := range s[1:] {
			px, py := tenths(p.x), tenths(p.y)
			dx, dy := px-x, py-y
			switch {
			case dx == 0 && dy == 0:
				continue
			case dx == 0:
				b = append(b, 'v')
				b = appendTenths(b, dy)
			case dy == 0:
				b = append(b, 'h')
				b = appendTenths(b, dx)
			default:
				b = append(b, 'l')
				b = appendTenths(b, dx)
				if dy >= 0 {
					b = append(b, ',')
				}
				b = appendTenths(b, dy)
			}
			x, y, moved = px, py, true
		}
		if !moved { // an isolated point: a short dash centred on it
			b = append(b[:mark], 'M')
			b = appendTenths(b, tenths(s[0].x)-15)
			b = append(b, ',')
			b = appendTenths(b, y)
			b = append(b, 'h', '3')
		}
	}
	return b
}

// esc escapes s for use as XML character data or attribute value.
func esc(s string) string {
	var sb strings.Builder
	_ = xml.EscapeText(&sb, []byte(s)) // strings.Builder never fails
	return sb.String()
}

func (r *renderer) printf(format string, args ...any) { fmt.Fprintf(&r.b, format, args...) }

func (r *renderer) render() {
	r.layout()
	c := r.c
	right := float64(r.left + r.pw)
	r.printf("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
	r.printf("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%s\" viewBox=\"0 0 %d %s\" font-family=\"sans-serif\" font-size=\"11\">\n",
		chartWidth, num(r.height), chartWidth, num(r.height))
	r.printf("<style>.h{paint-order:stroke;stroke:#fff;stroke-width:3px;stroke-linejoin:round}</style>\n")
	r.printf("<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>\n")
	r.printf("<defs>\n")
	for i, pl := range r.panels {
		r.printf("<clipPath id=\"plot%d\"><rect x=\"%d\" y=\"%s\" width=\"%d\" height=\"%d\"/></clipPath>\n",
			i, r.left-2, num(pl.top-2), r.pw+4, plotHeight+4)
	}
	r.printf("</defs>\n")
	if c.Title != "" {
		r.printf("<text x=\"%d\" y=\"22\" text-anchor=\"middle\" font-size=\"16\" font-weight=\"bold\">%s</text>\n",
			chartWidth/2, esc(truncate(c.Title, 110)))
	}

	// Time ticks: at most one label per ~70px.
	iv := timeInterval(r.end-r.start, int64(max(2, r.pw/70)))
	var tticks []time.Duration
	q := r.start / iv
	if r.start%iv != 0 && r.start > 0 {
		q++
	}
	for t := q * iv; t <= r.end; t += iv {
		tticks = append(tticks, t)
		if t > r.end-iv {
			break
		}
	}

	// Grids and frames.
	for _, pl := range r.panels {
		r.printf("<g stroke=\"#e4e4e4\" stroke-width=\"1\">\n")
		for _, t := range tticks {
			x := num(r.timeX(t))
			r.printf("<line x1=\"%s\" y1=\"%s\" x2=\"%s\" y2=\"%s\"/>\n", x, num(pl.top), x, num(pl.bottom))
		}
		for _, v := range pl.scale.ticks {
			y := num(r.valueY(&pl, v))
			r.printf("<line x1=\"%d\" y1=\"%s\" x2=\"%s\" y2=\"%s\"/>\n", r.left, y, num(right), y)
		}
		r.printf("</g>\n")
		r.printf("<rect x=\"%d\" y=\"%s\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#888\" stroke-width=\"1\"/>\n",
			r.left, num(pl.top), r.pw, plotHeight)
	}

	// Marker lines, from their label down to the bottom of the last panel.
	bottom := r.panels[len(r.panels)-1].bottom
	if r.rows > 0 {
		r.printf("<g stroke=\"#555\" stroke-width=\"1\" stroke-dasharray=\"5 3\">\n")
		for _, m := range r.marks {
			if m.visible {
				x := num(m.x)
				r.printf("<line x1=\"%s\" y1=\"%s\" x2=\"%s\" y2=\"%s\"/>\n", x, num(r.markerRowY(m.row)-9), x, num(bottom))
			}
		}
		r.printf("</g>\n")
	}

	for i, p := range c.Panels {
		pl := &r.panels[i]
		// Reference lines.
		for _, ly := range pl.hlineYs {
			if !math.IsNaN(ly) {
				r.printf("<line x1=\"%d\" y1=\"%s\" x2=\"%s\" y2=\"%s\" stroke=\"#333\" stroke-width=\"1\" stroke-dasharray=\"2 3\"/>\n",
					r.left, num(ly), num(right), num(ly))
			}
		}
		// Series.
		r.printf("<g clip-path=\"url(#plot%d)\" fill=\"none\" stroke-width=\"1.5\" stroke-linejoin=\"round\" stroke-linecap=\"round\">\n", i)
		for si, s := range p.Series {
			segs := r.segments(pl, s.Values)
			if len(segs) == 0 {
				continue
			}
			r.printf("<path stroke=\"%s\"%s d=\"", palette[si%len(palette)], dash(si))
			r.b.Write(appendPath(nil, segs))
			r.printf("\"/>\n")
		}
		r.printf("</g>\n")

		// Texts: title, legend, y tick labels, reference line labels.
		r.printf("<text class=\"h\" x=\"%d\" y=\"%s\" font-size=\"13\" font-weight=\"bold\">%s</text>\n",
			r.left, num(pl.titleY), esc(truncate(p.Title, 110)))
		for row, idx := range pl.legendRows {
			y := pl.legendY + float64(row*legendRowH)
			x := float64(r.left)
			for _, si := range idx {
				r.printf("<line x1=\"%s\" y1=\"%s\" x2=\"%s\" y2=\"%s\" stroke=\"%s\"%s stroke-width=\"3\"/>",
					num(x), num(y-4), num(x+16), num(y-4), palette[si%len(palette)], dash(si))
				r.printf("<text class=\"h\" x=\"%s\" y=\"%s\">%s</text>\n", num(x+20), num(y), esc(pl.names[si]))
				x += 20 + textWidth(pl.names[si], charWidth) + 16
			}
		}
		r.printf("<g text-anchor=\"end\" fill=\"#333\">\n")
		for ti, v := range pl.scale.ticks {
			r.printf("<text x=\"%d\" y=\"%s\">%s</text>\n", r.left-5, num(r.valueY(pl, v)+4), esc(pl.scale.labels[ti]))
		}
		for li, ly := range pl.hlineYs {
			if math.IsNaN(ly) {
				continue
			}
			label := truncate(p.Lines[li].Label, 60)
			if label == "" {
				label = withUnit(strconv.FormatFloat(p.Lines[li].Y, 'g', 6, 64), truncate(p.Unit, 16))
			}
			// Above the line, unless that leaves the plot area.
			ty := ly - 3
			if ty < pl.top+11 {
				ty = ly + 11
			}
			r.printf("<text class=\"h\" x=\"%s\" y=\"%s\" font-size=\"10\">%s</text>\n", num(right-4), num(ty), esc(label))
		}
		r.printf("</g>\n")
	}

	// Time axis under the last panel.
	r.printf("<g text-anchor=\"middle\" fill=\"#333\">\n")
	for _, t := range tticks {
		r.printf("<text x=\"%s\" y=\"%s\">%s</text>\n", num(r.timeX(t)), num(bottom+14), esc(formatDuration(t, r.days)))
	}
	r.printf("<text x=\"%s\" y=\"%s\" fill=\"#666\">time since start</text>\n", num(float64(r.left)+float64(r.pw)/2), num(bottom+30))
	r.printf("</g>\n")

	// Marker labels last, on top of everything.
	for _, m := range r.marks {
		if m.visible {
			r.printf("<text class=\"h\" x=\"%s\" y=\"%s\" text-anchor=\"%s\" fill=\"#222\">%s</text>\n",
				num(m.x0), num(r.markerRowY(m.row)), m.anchor, esc(m.text))
		}
	}
	r.printf("</svg>\n")
}

// markerRowY is the baseline of marker label row i.
func (r *renderer) markerRowY(i int) float64 {
	return r.markerTop + 10 + float64(i*markerRowH)
}

// dash returns the stroke-dasharray attribute for series beyond the palette.
func dash(si int) string {
	if si < len(palette) {
		return ""
	}
	return ` stroke-dasharray="6 3"`
}
