package svgplot

import (
	"bytes"
	"encoding/xml"
	"errors"
	"flag"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// render writes c and fails the test on error.
func render(t testing.TB, c Chart) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, c); err != nil {
		t.Fatalf("Write: %v", err)
	}
	return b.Bytes()
}

// checkXML decodes the whole document and returns the error of the first
// malformed token, if any.
func checkXML(doc []byte) error {
	d := xml.NewDecoder(bytes.NewReader(doc))
	roots, depth := 0, 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			if roots != 1 {
				return errors.New("want exactly one root element")
			}
			return nil
		}
		if err != nil {
			return err
		}
		switch se := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				roots++
				if se.Name.Local != "svg" {
					return errors.New("root element is <" + se.Name.Local + ">, want <svg>")
				}
			}
			depth++
		case xml.EndElement:
			depth--
		}
	}
}

// texts returns the character data of all <text> elements, unescaped.
func texts(t *testing.T, doc []byte) []string {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(doc))
	var out []string
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "text" {
			var s string
			if err := d.DecodeElement(&s, &se); err != nil {
				t.Fatalf("decode text: %v", err)
			}
			out = append(out, s)
		}
	}
}

var pathTok = regexp.MustCompile(`[MlhvL]|-?[0-9]+(?:\.[0-9]+)?`)

// pathData returns the d attribute of every <path>.
func pathData(doc []byte) []string {
	var out []string
	for _, m := range regexp.MustCompile(`<path [^>]*d="([^"]*)"`).FindAllSubmatch(doc, -1) {
		out = append(out, string(m[1]))
	}
	return out
}

// subpaths decodes path data written by appendPath into absolute points,
// one slice per subpath.
func subpaths(t testing.TB, d string) [][]pt {
	t.Helper()
	toks := pathTok.FindAllString(d, -1)
	var out [][]pt
	var x, y float64
	f := func(i int) float64 {
		if i >= len(toks) {
			t.Fatalf("path %q: truncated", d)
		}
		v, err := strconv.ParseFloat(toks[i], 64)
		if err != nil {
			t.Fatalf("path %q: %v", d, err)
		}
		return v
	}
	for i := 0; i < len(toks); {
		cmd := toks[i]
		switch cmd {
		case "M":
			x, y = f(i+1), f(i+2)
			out = append(out, []pt{{x, y}})
			i += 3
			continue
		case "l":
			x, y = x+f(i+1), y+f(i+2)
			i += 3
		case "h":
			x += f(i + 1)
			i += 2
		case "v":
			y += f(i + 1)
			i += 2
		default:
			t.Fatalf("path %q: unexpected token %q", d, cmd)
		}
		if len(out) == 0 {
			t.Fatalf("path %q: does not start with M", d)
		}
		// Round to tenths to undo float noise of the summation.
		p := pt{math.Round(x*10) / 10, math.Round(y*10) / 10}
		out[len(out)-1] = append(out[len(out)-1], p)
	}
	return out
}

// goldenChart exercises every feature at a size small enough for a golden file.
func goldenChart() Chart {
	const n = 361 // 1h at 10s
	succA, succB, succC := make([]float64, n), make([]float64, n), make([]float64, n)
	rps, inst := make([]float64, n), make([]float64, n)
	for i := range n {
		ts := float64(i) * 10
		succA[i] = 99.95 - 0.03*math.Sin(ts/300)
		succB[i] = 99.9 + 0.05*math.Cos(ts/200)
		succC[i] = succA[i]
		if i >= 150 && i < 180 {
			succC[i] = 96 + float64(i-150)*0.1
		}
		rps[i] = 1200 + 300*math.Sin(ts/900)
		inst[i] = 12
		if i >= 150 {
			inst[i] = 8
		}
		if i >= 240 {
			inst[i] = 10
		}
	}
	for i := 200; i < 215; i++ {
		rps[i] = math.NaN()
	}
	return Chart{
		Title: `Traffic simulation: shop <us-east-1> & "friends"`,
		Step:  10 * time.Second,
		Panels: []Panel{
			{
				Title: "Success rate per entry point", Unit: "%", YMin: 95, YMax: 100,
				Series: []Series{{"api.shop.example", succA}, {"www.shop.example", succB}, {"checkout <beta>", succC}},
				Lines:  []HLine{{"SLO 99.9%", 99.9}},
			},
			{
				Title: "Requests", Unit: "req/s",
				Series: []Series{{"total", rps}, {"empty", nil}, {"all gaps", nanSlice(n)}},
			},
			{
				Title: "Healthy instances", Unit: "instances",
				Series: []Series{{"billing", inst}},
				Lines:  []HLine{{"", 12}},
			},
		},
		Markers: []Marker{
			{10 * time.Minute, "apply change"},
			{11 * time.Minute, "drain zone use1-az2"},
			{25 * time.Minute, "fail zone a"},
			{40 * time.Minute, "roll back"},
			{2 * time.Hour, "outside the range"},
		},
	}
}

func nanSlice(n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = math.NaN()
	}
	return s
}

func TestGolden(t *testing.T) {
	got := render(t, goldenChart())
	golden := filepath.Join("testdata", "chart.golden.svg")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./svgplot -run TestGolden -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s; if the change is intended, rerun with -update and inspect the diff", golden)
	}
	if err := checkXML(got); err != nil {
		t.Errorf("golden output is not well-formed XML: %v", err)
	}
}

func TestWellFormedAndReadable(t *testing.T) {
	doc := render(t, goldenChart())
	if err := checkXML(doc); err != nil {
		t.Fatalf("not well-formed XML: %v", err)
	}
	all := strings.Join(texts(t, doc), "\n")
	for _, want := range []string{
		"Success rate per entry point", "Requests", "Healthy instances", // panel titles
		"95%", "96%", "100%", // fixed-range y ticks with unit
		"0 req/s", "12 instances", // auto-range ticks start at 0
		"0", "10m", "30m", "1h", // time ticks
		"10m apply change", "25m fail zone a", "40m roll back", // markers
		"SLO 99.9%", "12 instances", // reference line labels
		"api.shop.example", "empty", "all gaps", // legend, including series without data
		"time since start",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("no text %q in output; texts:\n%s", want, all)
		}
	}
	if strings.Contains(all, "outside the range") {
		t.Errorf("marker outside the time range was drawn")
	}
}

func TestMarkerLabelsStagger(t *testing.T) {
	c := Chart{Step: time.Second, Panels: []Panel{{Series: []Series{{"a", make([]float64, 3601)}}}},
		Markers: []Marker{{600 * time.Second, "apply change"}, {610 * time.Second, "drain zone"}, {3000 * time.Second, "later"}}}
	r := renderer{c: c, n: 3601}
	r.layout()
	if r.marks[0].row == r.marks[1].row {
		t.Errorf("close markers share label row %d", r.marks[0].row)
	}
	if r.marks[2].row != 0 {
		t.Errorf("distant marker in row %d, want 0", r.marks[2].row)
	}
	// A marker near the right edge is labelled to the left of its line.
	c.Markers = []Marker{{3600 * time.Second, "end of run"}}
	r = renderer{c: c, n: 3601}
	r.layout()
	if r.marks[0].anchor != "end" {
		t.Errorf("marker at the right edge anchored %q, want end", r.marks[0].anchor)
	}
}

func TestDeterministic(t *testing.T) {
	c := bigChart(5, 5, 20000)
	a, b := render(t, c), render(t, c)
	if !bytes.Equal(a, b) {
		t.Fatal("two renders of the same chart differ")
	}
}

func TestSpikeSurvivesDownsampling(t *testing.T) {
	const n = 86400
	vals := make([]float64, n)
	for i := range vals {
		vals[i] = 10
	}
	vals[43210] = 90
	c := Chart{Step: time.Second, Panels: []Panel{{YMin: 0, YMax: 100, Series: []Series{{"s", vals}}}}}
	doc := render(t, c)
	r := renderer{c: c, n: n}
	r.layout()
	spike := math.Round(r.valueY(&r.panels[0], 90)*10) / 10
	base := math.Round(r.valueY(&r.panels[0], 10)*10) / 10
	ds := pathData(doc)
	if len(ds) != 1 {
		t.Fatalf("got %d paths, want 1", len(ds))
	}
	var pts int
	found := false
	for _, sp := range subpaths(t, ds[0]) {
		for _, p := range sp {
			pts++
			if p.y == spike {
				found = true
			} else if p.y != base {
				t.Errorf("unexpected y %v (base %v, spike %v)", p.y, base, spike)
			}
		}
	}
	if !found {
		t.Errorf("spike at y=%v not in downsampled path", spike)
	}
	if pts > 2*(r.pw+1) {
		t.Errorf("%d points for %d pixel columns: not downsampled", pts, r.pw)
	}
}

func TestNaNGapSplitsLine(t *testing.T) {
	for _, n := range []int{20, 50000} { // drawn point by point, and downsampled
		vals := make([]float64, n)
		for i := range vals {
			vals[i] = float64(i % 7)
		}
		for i := n / 2; i < n/2+n/10; i++ {
			vals[i] = math.NaN()
		}
		vals[n/4] = math.NaN() // a one-point gap
		c := Chart{Step: time.Second, Panels: []Panel{{Series: []Series{{"s", vals}}}}}
		ds := pathData(render(t, c))
		if len(ds) != 1 {
			t.Fatalf("n=%d: got %d paths, want 1", n, len(ds))
		}
		if got := len(subpaths(t, ds[0])); got != 3 {
			t.Errorf("n=%d: got %d subpaths, want 3 (two gaps)", n, got)
		}
	}
}

func TestIsolatedPointIsDrawn(t *testing.T) {
	c := Chart{Step: time.Second, Panels: []Panel{{Series: []Series{{"s", []float64{math.NaN(), 5, math.NaN()}}}}}}
	ds := pathData(render(t, c))
	if len(ds) != 1 || !strings.HasSuffix(ds[0], "h3") {
		t.Errorf("isolated point: paths %q, want one zero-length subpath", ds)
	}
}

func TestEscaping(t *testing.T) {
	const evil = `<b>&"quoted"'</b>`
	c := Chart{
		Title: evil, Step: time.Second,
		Panels: []Panel{{
			Title: evil, Unit: evil,
			Series: []Series{{evil, []float64{1, 2, 3}}},
			Lines:  []HLine{{evil, 2}},
		}},
		Markers: []Marker{{time.Second, evil}},
	}
	doc := render(t, c)
	if err := checkXML(doc); err != nil {
		t.Fatalf("not well-formed: %v", err)
	}
	if bytes.Contains(doc, []byte("<b>")) {
		t.Errorf("raw markup from a name leaked into the output")
	}
	count := 0
	for _, s := range texts(t, doc) {
		if strings.Contains(s, `<b>&"quoted"'`) {
			count++
		}
	}
	if count < 5 { // title, panel title, legend, line label, marker label (+ tick units, truncated)
		t.Errorf("escaped text round-tripped %d times, want >= 5", count)
	}
	// Control characters and invalid UTF-8 must not break the document.
	c.Title = "bad\x00\x01\xff\ufffe"
	if err := checkXML(render(t, c)); err != nil {
		t.Errorf("control characters: %v", err)
	}
}

func TestErrors(t *testing.T) {
	ok := func() Chart {
		return Chart{Step: time.Second, Panels: []Panel{{Series: []Series{{"a", []float64{1, 2}}}}}}
	}
	cases := []struct {
		name string
		mod  func(*Chart)
		want string
	}{
		{"zero step", func(c *Chart) { c.Step = 0 }, "Step"},
		{"negative step", func(c *Chart) { c.Step = -time.Second }, "Step"},
		{"no panels", func(c *Chart) { c.Panels = nil }, "no panels"},
		{"length mismatch", func(c *Chart) {
			c.Panels = append(c.Panels, Panel{Series: []Series{{"b", []float64{1, 2, 3}}}})
		}, "same length"},
		{"NaN YMax", func(c *Chart) { c.Panels[0].YMax = math.NaN() }, "finite"},
		{"Inf YMin", func(c *Chart) { c.Panels[0].YMin = math.Inf(-1) }, "finite"},
		{"huge range", func(c *Chart) { c.Panels[0].YMin, c.Panels[0].YMax = -math.MaxFloat64, math.MaxFloat64 }, "too large"},
		{"narrow range", func(c *Chart) { c.Panels[0].YMin, c.Panels[0].YMax = 1, 1+1e-15 }, "too narrow"},
		{"NaN line", func(c *Chart) { c.Panels[0].Lines = []HLine{{"x", math.NaN()}} }, "non-finite"},
		{"time overflow", func(c *Chart) { c.Step = math.MaxInt64 / 2; c.Start = math.MaxInt64/2 + 2 }, "overflows"},
	}
	for _, tc := range cases {
		c := ok()
		tc.mod(&c)
		var b bytes.Buffer
		err := Write(&b, c)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got error %v, want one mentioning %q", tc.name, err, tc.want)
		}
		if b.Len() != 0 {
			t.Errorf("%s: wrote %d bytes despite the error", tc.name, b.Len())
		}
	}
	// Allowed: empty and all-NaN series, a panel without series, infinities in data.
	c := ok()
	c.Panels = append(c.Panels, Panel{Series: []Series{{"nan", nanSlice(2)}, {"inf", []float64{math.Inf(1), 1}}}}, Panel{})
	render(t, c)
	render(t, Chart{Step: time.Second, Panels: []Panel{{Series: []Series{{"e", nil}}}}})
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0", 30 * time.Minute: "30m", 90 * time.Minute: "1h30m", 6 * time.Hour: "6h",
		45 * time.Second: "45s", 1500 * time.Millisecond: "1.5s", 250 * time.Millisecond: "250ms",
		30 * time.Hour: "30h", -5 * time.Minute: "-5m", 3 * time.Microsecond: "3µs",
	} {
		if got := formatDuration(d, false); got != want {
			t.Errorf("formatDuration(%v) = %q, want %q", time.Duration(d), got, want)
		}
	}
	for d, want := range map[time.Duration]string{
		30 * time.Hour: "1d6h", 72 * time.Hour: "3d", math.MinInt64: "-106751d23h47m16.854775808s",
	} {
		if got := formatDuration(d, true); got != want {
			t.Errorf("formatDuration(%v) = %q, want %q", time.Duration(d), got, want)
		}
	}
}

func TestTicks(t *testing.T) {
	s := panelScale(Panel{Series: []Series{{"a", []float64{3, 97}}}})
	if got := strings.Join(s.labels, " "); got != "0 25 50 75 100" {
		t.Errorf("ticks for 3..97: %s", got)
	}
	s = panelScale(Panel{Unit: "req/s", Series: []Series{{"a", []float64{0, 12000}}}})
	if got := strings.Join(s.labels, ","); got != "0 req/s,2.5k req/s,5.0k req/s,7.5k req/s,10.0k req/s,12.5k req/s" {
		t.Errorf("ticks for 0..12000: %s", got)
	}
	s = panelScale(Panel{Unit: "%", YMin: 99, YMax: 100})
	if got := strings.Join(s.labels, " "); got != "99.00% 99.25% 99.50% 99.75% 100.00%" {
		t.Errorf("ticks for 99..100: %s", got)
	}
	for span, want := range map[time.Duration]time.Duration{
		10 * time.Second: time.Second, time.Hour: 5 * time.Minute, 24 * time.Hour: 2 * time.Hour, 6 * time.Hour: 30 * time.Minute,
		90 * time.Millisecond: 10 * time.Millisecond, 30 * 24 * time.Hour: 7 * 24 * time.Hour,
	} {
		if got := timeInterval(span, 12); got != want {
			t.Errorf("timeInterval(%v) = %v, want %v", span, got, want)
		}
	}
}

// bigChart is panels × series series of n points at 1s: smooth load with
// noise, occasional spikes and gaps, the shape a traffic simulation produces.
func bigChart(panels, series, n int) Chart {
	seed := uint64(1)
	rnd := func() float64 { // xorshift, deterministic
		seed ^= seed << 13
		seed ^= seed >> 7
		seed ^= seed << 17
		return float64(seed>>11) / (1 << 53)
	}
	c := Chart{Title: "big", Step: time.Second, Markers: []Marker{{3 * time.Hour, "apply"}, {9 * time.Hour, "fail zone a"}}}
	for p := range panels {
		pn := Panel{Title: "panel " + strconv.Itoa(p), Unit: "req/s"}
		for s := range series {
			v := make([]float64, n)
			for i := range v {
				ts := float64(i)
				v[i] = 1000*float64(s+1) + 400*math.Sin(ts/7200+float64(s)) + 30*rnd()
				if rnd() < 0.0005 {
					v[i] *= 2
				}
				if i%20000 < 30 && s == p {
					v[i] = math.NaN()
				}
			}
			pn.Series = append(pn.Series, Series{"series " + strconv.Itoa(s), v})
		}
		c.Panels = append(c.Panels, pn)
	}
	return c
}

func TestSizeBound(t *testing.T) {
	doc := render(t, bigChart(5, 5, 86400))
	t.Logf("5 panels x 5 series x 86400 points: %d bytes", len(doc))
	if len(doc) > 300_000 {
		t.Errorf("SVG is %d bytes, want <= 300000", len(doc))
	}
	if err := checkXML(doc); err != nil {
		t.Errorf("not well-formed: %v", err)
	}
}

func BenchmarkWrite(b *testing.B) {
	c := bigChart(5, 5, 86400)
	b.ReportAllocs()
	for b.Loop() {
		if err := Write(io.Discard, c); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzWrite(f *testing.F) {
	f.Add("title", "name<&\"", "%", int64(time.Second), int64(0), 0.0, 100.0, 1.0, 2.0, math.NaN(), 50.0, uint8(3), int64(time.Minute))
	f.Add("", "", "", int64(1), int64(-5), 0.0, 0.0, math.Inf(1), -1e308, 1e308, 0.0, uint8(40), int64(0))
	f.Add("t", "\xff\x00", "req/s", int64(time.Hour), int64(math.MaxInt64/4), 1e-300, 2e-300, 1e-310, 5e-324, math.Copysign(0, -1), 3.0, uint8(0), int64(math.MinInt64))
	f.Fuzz(func(t *testing.T, title, name, unit string, step, start int64, ymin, ymax, a, b, c, d float64, n uint8, marker int64) {
		base := []float64{a, b, c, d}
		vals := make([]float64, int(n))
		for i := range vals {
			vals[i] = base[i%4] * float64(1+i%3)
		}
		ch := Chart{
			Title: title, Step: time.Duration(step), Start: time.Duration(start),
			Panels: []Panel{
				{Title: title, Unit: unit, YMin: ymin, YMax: ymax,
					Series: []Series{{name, vals}, {title, vals}},
					Lines:  []HLine{{name, c}}},
				{Unit: unit, Series: []Series{{unit, vals}}, Lines: []HLine{{unit, d}}},
			},
			Markers: []Marker{{time.Duration(marker), name}, {time.Duration(start), title}, {time.Duration(start) + time.Duration(step), unit}},
		}
		var buf bytes.Buffer
		if err := Write(&buf, ch); err != nil {
			if buf.Len() != 0 {
				t.Fatalf("wrote output despite error %v", err)
			}
			return
		}
		if err := checkXML(buf.Bytes()); err != nil {
			t.Fatalf("malformed XML: %v\n%s", err, buf.Bytes())
		}
	})
}
