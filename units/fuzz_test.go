package units

import (
	"math"
	"strings"
	"testing"
)

// FuzzParse feeds every parser the same text: none may panic, and whatever
// one accepts must print (String, Short) and parse back from String to the
// same value, within the rounding String does.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"2000rps", "2.5krps", "1Mrps", "100Gbps", "64kbps", "9600bps", "4MiB", "200KB", "1.5KiB", "0B",
		"30s", "1h0m30s", "1.5d", "100000d", "25%", "33.3333%", "100%", "0%", "100", "-5rps", "NaNd",
		"1e308Mrps", "Inf%", "1e-300rps", "0x1p3rps", " 5 krps ", "5000000TiB",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if r, err := ParseRate(s); err == nil {
			checkFloat(t, "rate", s, float64(r), r.String(), func(x string) (float64, error) { v, err := ParseRate(x); return float64(v), err }, 0)
			if short := r.Short(); !strings.HasSuffix(short, "rps") {
				t.Fatalf("Rate(%v).Short() = %q: no rps unit", float64(r), short)
			}
		}
		if b, err := ParseBandwidth(s); err == nil {
			checkFloat(t, "bandwidth", s, float64(b), b.String(), func(x string) (float64, error) { v, err := ParseBandwidth(x); return float64(v), err }, 0)
		}
		if z, err := ParseSize(s); err == nil {
			if z < 0 {
				t.Fatalf("ParseSize(%q) = %d: negative", s, z)
			}
			back, err := ParseSize(z.String())
			if err != nil || back != z {
				t.Fatalf("ParseSize(%q) = %d; String %q parses to %d, %v", s, z, z.String(), back, err)
			}
		}
		if d, err := ParseDuration(s); err == nil {
			if d < 0 {
				t.Fatalf("ParseDuration(%q) = %d: negative", s, d)
			}
			back, err := ParseDuration(d.String())
			if err != nil || back != d {
				t.Fatalf("ParseDuration(%q) = %d; String %q parses to %d, %v", s, d, d.String(), back, err)
			}
		}
		if p, err := ParsePercent(s); err == nil {
			if p < 0 || p > 1 {
				t.Fatalf("ParsePercent(%q) = %v: outside 0..1", s, float64(p))
			}
			// String keeps four decimals of the percentage: it may be off by
			// half of 0.0001% (and float noise).
			checkFloat(t, "percent", s, float64(p), p.String(), func(x string) (float64, error) { v, err := ParsePercent(x); return float64(v), err }, 5e-7+1e-12)
			if short := p.Short(); !strings.HasSuffix(short, "%") {
				t.Fatalf("Percent(%v).Short() = %q: no %% sign", float64(p), short)
			}
		}
	})
}

// checkFloat checks one accepted value: finite, not negative, and its
// printed form parses back to it (relative 1e-12, or absolute abs).
func checkFloat(t *testing.T, what, in string, v float64, printed string, parse func(string) (float64, error), abs float64) {
	t.Helper()
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		t.Fatalf("%s %q parsed to %v", what, in, v)
	}
	back, err := parse(printed)
	if err != nil {
		t.Fatalf("%s %q = %v prints as %q, which does not parse: %v", what, in, v, printed, err)
	}
	if d := math.Abs(back - v); d > abs && d > 1e-12*math.Abs(v) {
		t.Fatalf("%s %q = %v prints as %q, which parses to %v", what, in, v, printed, back)
	}
}
