package units

import (
	"encoding"
	"math"
	"strings"
	"testing"
	"time"
)

// parseCase is one input of a parser: the value it gives, or a fragment of
// the error it reports.
type parseCase struct {
	in      string
	want    float64
	wantErr string
}

func checkParse(t *testing.T, what string, parse func(string) (float64, error), cases []parseCase) {
	t.Helper()
	for _, c := range cases {
		got, err := parse(c.in)
		switch {
		case c.wantErr != "" && err == nil:
			t.Errorf("%s(%q) = %v, want an error containing %q", what, c.in, got, c.wantErr)
		case c.wantErr != "" && !strings.Contains(err.Error(), c.wantErr):
			t.Errorf("%s(%q) error = %q, want it to contain %q", what, c.in, err, c.wantErr)
		case c.wantErr != "" && got != 0:
			t.Errorf("%s(%q) = %v with an error, want 0", what, c.in, got)
		case c.wantErr == "" && err != nil:
			t.Errorf("%s(%q) error: %v", what, c.in, err)
		case c.wantErr == "" && !approx(got, c.want):
			t.Errorf("%s(%q) = %v, want %v", what, c.in, got, c.want)
		}
	}
}

// approx reports whether a and b are equal up to float rounding.
func approx(a, b float64) bool {
	if a == b {
		return true
	}
	return math.Abs(a-b) <= 1e-12*math.Max(math.Abs(a), math.Abs(b))
}

func TestParseRate(t *testing.T) {
	checkParse(t, "ParseRate", func(s string) (float64, error) { r, err := ParseRate(s); return float64(r), err }, []parseCase{
		{in: "2000rps", want: 2000},
		{in: "2.5krps", want: 2500},
		{in: "1Mrps", want: 1e6},
		{in: "0.5Mrps", want: 5e5},
		{in: "0rps", want: 0},
		{in: " 5 krps ", want: 5000},
		{in: "1e3rps", want: 1000},
		{in: "0.001rps", want: 0.001},
		{in: "100", wantErr: `rate "100" has no unit: write it with one, e.g. 2000rps`},
		{in: "1.5", wantErr: "has no unit"},
		{in: "100qps", wantErr: `invalid rate "100qps": unknown unit (write e.g. 2000rps; units: rps, krps, Mrps)`},
		{in: "", wantErr: "unknown unit"},
		{in: "krps", wantErr: `invalid rate "krps": the number before "krps" is not a number`},
		{in: "fastrps", wantErr: "is not a number"},
		{in: "-5rps", wantErr: `invalid rate "-5rps": must not be negative`},
		{in: "-0.1krps", wantErr: "must not be negative"},
		{in: "NaNrps", wantErr: "is not a number"},
		{in: "Infrps", wantErr: "is not a number"},
		{in: "-Infkrps", wantErr: "is not a number"},
		{in: "1e400rps", wantErr: "is not a number"},
		// A finite number that overflows once multiplied by its unit.
		{in: "1e308Mrps", wantErr: "is not a number"},
		{in: "5 rps rps", wantErr: "is not a number"},
	})
}

func TestParseBandwidth(t *testing.T) {
	checkParse(t, "ParseBandwidth", func(s string) (float64, error) { b, err := ParseBandwidth(s); return float64(b), err }, []parseCase{
		{in: "100Gbps", want: 100e9},
		{in: "1Tbps", want: 1e12},
		{in: "2.5Tbps", want: 2.5e12},
		{in: "400Mbps", want: 400e6},
		{in: "64Kbps", want: 64e3},
		{in: "64kbps", want: 64e3},
		{in: "9600bps", want: 9600},
		{in: "100", wantErr: `bandwidth "100" has no unit: write it with one, e.g. 100Gbps`},
		{in: "100GB", wantErr: "unknown unit (write e.g. 100Gbps; units: bps, kbps, Kbps, Mbps, Gbps, Tbps)"},
		{in: "100gbps", wantErr: `the number before "bps" is not a number`},
		{in: "-1Gbps", wantErr: "must not be negative"},
		{in: "NaNGbps", wantErr: "is not a number"},
		{in: "1e300Tbps", wantErr: "is not a number"},
	})
}

func TestParseSize(t *testing.T) {
	checkParse(t, "ParseSize", func(s string) (float64, error) { z, err := ParseSize(s); return float64(z), err }, []parseCase{
		{in: "4MiB", want: 4 << 20},
		{in: "1KiB", want: 1024},
		{in: "1.5KiB", want: 1536},
		{in: "2GiB", want: 2 << 30},
		{in: "1TiB", want: 1 << 40},
		{in: "200KB", want: 200e3},
		{in: "200kB", want: 200e3},
		{in: "3MB", want: 3e6},
		{in: "3GB", want: 3e9},
		{in: "3TB", want: 3e12},
		{in: "17B", want: 17},
		{in: "0B", want: 0},
		{in: "1.1KB", want: 1100},
		{in: "4096", wantErr: `size "4096" has no unit: write it with one, e.g. 4MiB`},
		{in: "4Mb", wantErr: "unknown unit (write e.g. 4MiB; units: B, kB, KB, MB, GB, TB, KiB, MiB, GiB, TiB)"},
		{in: "4iB", wantErr: `the number before "B" is not a number`},
		{in: "-4MiB", wantErr: "must not be negative"},
		{in: "1.5B", wantErr: `invalid size "1.5B": not a whole number of bytes`},
		{in: "0.1KiB", wantErr: "not a whole number of bytes"},
		{in: "5000000TiB", wantErr: `invalid size "5000000TiB": too large`},
		{in: "1e10TB", wantErr: "too large"},
		{in: "1e300TB", wantErr: "is not a number"},
		{in: "InfB", wantErr: "is not a number"},
		{in: "NaNB", wantErr: "is not a number"},
	})
}

func TestParseDuration(t *testing.T) {
	day := float64(24 * time.Hour)
	checkParse(t, "ParseDuration", func(s string) (float64, error) { d, err := ParseDuration(s); return float64(d), err }, []parseCase{
		{in: "30s", want: float64(30 * time.Second)},
		{in: "500ms", want: float64(500 * time.Millisecond)},
		{in: "5m", want: float64(5 * time.Minute)},
		{in: "2h", want: float64(2 * time.Hour)},
		{in: "2h30m", want: float64(150 * time.Minute)},
		{in: "1.5h", want: float64(90 * time.Minute)},
		{in: "0s", want: 0},
		{in: " 30s ", want: float64(30 * time.Second)},
		{in: "1d", want: day},
		{in: "7d", want: 7 * day},
		{in: "0.5d", want: day / 2},
		{in: "100000d", want: 100000 * day},
		{in: "30", wantErr: `duration "30" has no unit: write it with one, e.g. 30s`},
		{in: "0", wantErr: "has no unit"},
		{in: "30x", wantErr: `invalid duration "30x" (write e.g. 30s, 5m, 2h or 1d)`},
		{in: "", wantErr: "invalid duration"},
		{in: "d", wantErr: "invalid duration"},
		{in: "1dd", wantErr: "invalid duration"},
		{in: "-5s", wantErr: `invalid duration "-5s": must not be negative`},
		{in: "-1d", wantErr: "invalid duration"},
		{in: "100001d", wantErr: "invalid duration"},
		{in: "Infd", wantErr: "invalid duration"},
		{in: "NaNd", wantErr: "invalid duration"},
		{in: "nand", wantErr: "invalid duration"},
		{in: "99999999999h", wantErr: "invalid duration"},
	})
}

func TestParsePercent(t *testing.T) {
	checkParse(t, "ParsePercent", func(s string) (float64, error) { p, err := ParsePercent(s); return float64(p), err }, []parseCase{
		{in: "25%", want: 0.25},
		{in: "0%", want: 0},
		{in: "100%", want: 1},
		{in: "12.5%", want: 0.125},
		{in: " 50 %", want: 0.5},
		{in: "99.99%", want: 0.9999},
		{in: "25", wantErr: `percentage "25" has no % sign: write e.g. 25%`},
		{in: "0.25", wantErr: "has no % sign"},
		{in: "%", wantErr: `invalid percentage "%" (write e.g. 25%)`},
		{in: "abc%", wantErr: "invalid percentage"},
		{in: "NaN%", wantErr: "invalid percentage"},
		{in: "100.5%", wantErr: `invalid percentage "100.5%": must be between 0% and 100%`},
		{in: "150%", wantErr: "must be between 0% and 100%"},
		{in: "-1%", wantErr: "must be between 0% and 100%"},
		{in: "Inf%", wantErr: "must be between 0% and 100%"},
	})
}

func TestString(t *testing.T) {
	cases := []struct {
		name string
		v    interface{ String() string }
		want string
	}{
		{"rate whole krps", Rate(2000), "2krps"},
		{"rate whole Mrps", Rate(3e6), "3Mrps"},
		{"rate not whole in krps", Rate(2500), "2500rps"},
		{"rate whole krps not Mrps", Rate(1.5e6), "1500krps"},
		{"rate below one", Rate(0.5), "0.5rps"},
		{"rate zero", Rate(0), "0rps"},
		{"rate fraction", Rate(33333.5), "33333.5rps"},
		{"bandwidth Gbps", Bandwidth(100e9), "100Gbps"},
		{"bandwidth Tbps", Bandwidth(2e12), "2Tbps"},
		{"bandwidth fraction of Tbps", Bandwidth(2.5e12), "2500Gbps"},
		{"bandwidth Kbps", Bandwidth(64e3), "64Kbps"},
		{"bandwidth bps", Bandwidth(1500), "1500bps"},
		{"bandwidth zero", Bandwidth(0), "0bps"},
		{"size MiB", Size(4 << 20), "4MiB"},
		{"size binary before decimal", Size(1 << 40), "1TiB"},
		{"size KiB multiple", Size(1024000), "1000KiB"},
		{"size MB", Size(1e6), "1MB"},
		{"size KB", Size(3000), "3KB"},
		{"size bytes", Size(1023), "1023B"},
		{"size zero", Size(0), "0B"},
		{"duration seconds", Duration(30 * time.Second), "30s"},
		{"duration minutes", Duration(5 * time.Minute), "5m"},
		{"duration hours", Duration(2 * time.Hour), "2h"},
		{"duration hours and minutes", Duration(150 * time.Minute), "2h30m"},
		{"duration keeps inner zero", Duration(time.Hour + 30*time.Second), "1h0m30s"},
		{"duration day", Duration(24 * time.Hour), "1d"},
		{"duration days", Duration(7 * 24 * time.Hour), "7d"},
		{"duration day and a half", Duration(36 * time.Hour), "36h"},
		{"duration ms", Duration(500 * time.Millisecond), "500ms"},
		{"duration zero", Duration(0), "0s"},
		{"percent", Percent(0.25), "25%"},
		{"percent full", Percent(1), "100%"},
		{"percent zero", Percent(0), "0%"},
		{"percent third", Percent(1.0 / 3), "33.3333%"},
		{"percent small", Percent(0.00001), "0.001%"},
	}
	for _, c := range cases {
		if got := c.v.String(); got != c.want {
			t.Errorf("%s: String() = %q, want %q", c.name, got, c.want)
		}
		m, ok := c.v.(encoding.TextMarshaler)
		if !ok {
			t.Errorf("%s: %T is not a TextMarshaler", c.name, c.v)
			continue
		}
		if b, err := m.MarshalText(); err != nil || string(b) != c.want {
			t.Errorf("%s: MarshalText() = %q, %v; want %q", c.name, b, err, c.want)
		}
	}
}

func TestShort(t *testing.T) {
	cases := []struct {
		v    interface{ Short() string }
		want string
	}{
		{Rate(33333.33), "33.3krps"},
		{Rate(950), "950rps"},
		{Rate(2000), "2krps"},
		{Rate(2500), "2.5krps"},
		{Rate(1234567), "1.23Mrps"},
		{Rate(12.345), "12.3rps"},
		{Rate(0.5), "0.5rps"},
		{Rate(0), "0rps"},
		{Percent(1.0 / 3), "33.3%"},
		{Percent(0.25), "25%"},
		{Percent(0.12345), "12.3%"},
		{Percent(0.99999), "100%"},
		{Percent(0), "0%"},
	}
	for _, c := range cases {
		if got := c.v.Short(); got != c.want {
			t.Errorf("%T(%v).Short() = %q, want %q", c.v, c.v, got, c.want)
		}
	}
}

// TestRoundTrip checks that what String prints parses back to the value.
func TestRoundTrip(t *testing.T) {
	for _, r := range []Rate{0, 0.5, 1, 999, 1000, 2500, 1e6, 1.5e6, 33333.333, 1e-9, 123456789.125} {
		got, err := ParseRate(r.String())
		if err != nil || !approx(float64(got), float64(r)) {
			t.Errorf("ParseRate(%q) = %v, %v; want %v", r.String(), float64(got), err, float64(r))
		}
	}
	for _, b := range []Bandwidth{0, 1, 1500, 64e3, 1e9, 2.5e12, 400e9, 1e15} {
		got, err := ParseBandwidth(b.String())
		if err != nil || !approx(float64(got), float64(b)) {
			t.Errorf("ParseBandwidth(%q) = %v, %v; want %v", b.String(), float64(got), err, float64(b))
		}
	}
	for _, s := range []Size{0, 1, 1023, 1024, 1536, 1000, 4 << 20, 1e12, 1 << 40, 3 << 41, 1e15 + 1} {
		got, err := ParseSize(s.String())
		if err != nil || got != s {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", s.String(), got, err, s)
		}
	}
	for _, d := range []Duration{0, 1, Duration(time.Millisecond), Duration(90 * time.Second), Duration(5 * time.Minute), Duration(36 * time.Hour), Duration(48 * time.Hour), Duration(time.Hour + time.Nanosecond)} {
		got, err := ParseDuration(d.String())
		if err != nil || got != d {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", d.String(), got.Std(), err, d.Std())
		}
	}
	for _, p := range []Percent{0, 0.25, 1, 1.0 / 3, 0.123456, 0.999999} {
		got, err := ParsePercent(p.String())
		if err != nil || math.Abs(float64(got-p)) > 5e-7 {
			t.Errorf("ParsePercent(%q) = %v, %v; want %v", p.String(), float64(got), err, float64(p))
		}
	}
}

// TestUnmarshalText checks the TextUnmarshaler methods the YAML decoder
// calls: the value on success, the error (and zero) on failure.
func TestUnmarshalText(t *testing.T) {
	type target interface {
		encoding.TextUnmarshaler
		String() string
	}
	cases := []struct {
		v       target
		in      string
		want    string
		wantErr string
	}{
		{new(Rate), "2.5krps", "2500rps", ""},
		{new(Rate), "12", "0rps", "has no unit"},
		{new(Bandwidth), "10Gbps", "10Gbps", ""},
		{new(Bandwidth), "10GB", "0bps", "unknown unit"},
		{new(Size), "1024KiB", "1MiB", ""},
		{new(Size), "0.5B", "0B", "not a whole number"},
		{new(Duration), "1d", "1d", ""},
		{new(Duration), "-1s", "0s", "must not be negative"},
		{new(Percent), "50%", "50%", ""},
		{new(Percent), "101%", "0%", "between 0% and 100%"},
	}
	for _, c := range cases {
		err := c.v.UnmarshalText([]byte(c.in))
		if c.wantErr == "" && err != nil {
			t.Errorf("%T.UnmarshalText(%q): %v", c.v, c.in, err)
		}
		if c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)) {
			t.Errorf("%T.UnmarshalText(%q) error = %v, want it to contain %q", c.v, c.in, err, c.wantErr)
		}
		if got := c.v.String(); got != c.want {
			t.Errorf("%T.UnmarshalText(%q) gave %q, want %q", c.v, c.in, got, c.want)
		}
	}
}

func TestDurationStd(t *testing.T) {
	d, err := ParseDuration("1d")
	if err != nil {
		t.Fatal(err)
	}
	if d.Std() != 24*time.Hour {
		t.Errorf("Std() = %v, want 24h", d.Std())
	}
}

// TestParseSizeDecimalFraction: a decimal size that is a whole number of
// bytes is accepted even when the float product of its number and unit is
// not exactly whole.
func TestParseSizeDecimalFraction(t *testing.T) {
	for in, want := range map[string]Size{"4.1MB": 4_100_000, "2.3GB": 2_300_000_000, "0.7KB": 700} {
		got, err := ParseSize(in)
		if err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
}
