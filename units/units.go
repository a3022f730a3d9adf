// Package units parses and prints the quantities a twin is written in:
// request rates (2000rps), bandwidths (100Gbps), durations (30s), sizes
// (4MiB) and percentages (25%). A number without its unit is an error, so
// "100" can never silently mean 100 bits when the author meant 100 gigabits.
package units

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// unit is one accepted suffix and its multiplier to the base unit.
type unit struct {
	suffix string
	factor float64
}

// parse splits s into a number and one of the given suffixes (longest
// suffixes must come first) and returns the value in the base unit.
func parse(s, what, example string, table []unit) (float64, error) {
	t := strings.TrimSpace(s)
	for _, u := range table {
		if !strings.HasSuffix(t, u.suffix) {
			continue
		}
		num := strings.TrimSpace(strings.TrimSuffix(t, u.suffix))
		v, err := strconv.ParseFloat(num, 64)
		if err != nil || num == "" || math.IsNaN(v) || math.IsInf(v*u.factor, 0) {
			return 0, fmt.Errorf("invalid %s %q: the number before %q is not a number (write e.g. %s)", what, s, u.suffix, example)
		}
		if v < 0 {
			return 0, fmt.Errorf("invalid %s %q: must not be negative", what, s)
		}
		return v * u.factor, nil
	}
	if _, err := strconv.ParseFloat(t, 64); err == nil {
		return 0, fmt.Errorf("%s %q has no unit: write it with one, e.g. %s", what, s, example)
	}
	return 0, fmt.Errorf("invalid %s %q: unknown unit (write e.g. %s; units: %s)", what, s, example, suffixes(table))
}

func suffixes(table []unit) string {
	var out []string
	for i := len(table) - 1; i >= 0; i-- {
		out = append(out, table[i].suffix)
	}
	return strings.Join(out, ", ")
}

// format prints v with the largest suffix that gives a whole or short number.
func format(v float64, table []unit) string {
	for _, u := range table {
		if v < u.factor {
			continue
		}
		q := v / u.factor
		if q == math.Trunc(q) || u.factor == table[len(table)-1].factor {
			return strconv.FormatFloat(q, 'f', -1, 64) + u.suffix
		}
	}
	last := table[len(table)-1]
	return strconv.FormatFloat(v/last.factor, 'f', -1, 64) + last.suffix
}

var rateUnits = []unit{{"Mrps", 1e6}, {"krps", 1e3}, {"rps", 1}}

// Rate is a request rate in requests per second.
type Rate float64

// ParseRate parses a rate such as "2000rps" or "2.5krps".
func ParseRate(s string) (Rate, error) {
	v, err := parse(s, "rate", "2000rps", rateUnits)
	return Rate(v), err
}

func (r Rate) String() string { return format(float64(r), rateUnits) }

// MarshalText prints the rate with its unit.
func (r Rate) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText parses a rate with its unit.
func (r *Rate) UnmarshalText(b []byte) error {
	v, err := ParseRate(string(b))
	*r = v
	return err
}

var bandwidthUnits = []unit{{"Tbps", 1e12}, {"Gbps", 1e9}, {"Mbps", 1e6}, {"Kbps", 1e3}, {"kbps", 1e3}, {"bps", 1}}

// Bandwidth is a link or device throughput in bits per second.
type Bandwidth float64

// ParseBandwidth parses a bandwidth such as "100Gbps".
func ParseBandwidth(s string) (Bandwidth, error) {
	v, err := parse(s, "bandwidth", "100Gbps", bandwidthUnits)
	return Bandwidth(v), err
}

func (b Bandwidth) String() string { return format(float64(b), bandwidthUnits) }

// MarshalText prints the bandwidth with its unit.
func (b Bandwidth) MarshalText() ([]byte, error) { return []byte(b.String()), nil }

// UnmarshalText parses a bandwidth with its unit.
func (b *Bandwidth) UnmarshalText(t []byte) error {
	v, err := ParseBandwidth(string(t))
	*b = v
	return err
}

var sizeUnits = []unit{
	{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10},
	{"TB", 1e12}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"kB", 1e3}, {"B", 1},
}

// Size is a size in bytes.
type Size int64

// ParseSize parses a size such as "4MiB" or "200KB".
func ParseSize(s string) (Size, error) {
	v, err := parse(s, "size", "4MiB", sizeUnits)
	// 4.1MB is 4099999.9999999995 in floating point: round what is whole
	// to within the precision of the number.
	if r := math.Round(v); math.Abs(v-r) <= 1e-9*math.Max(1, math.Abs(v)) {
		v = r
	}
	if err == nil && v != math.Trunc(v) {
		return 0, fmt.Errorf("invalid size %q: not a whole number of bytes", s)
	}
	if err == nil && v > math.MaxInt64/2 {
		return 0, fmt.Errorf("invalid size %q: too large", s)
	}
	return Size(v), err
}

func (s Size) String() string {
	// Binary units print exactly; decimal ones only if they divide evenly.
	for _, u := range sizeUnits {
		if s >= Size(u.factor) && int64(s)%int64(u.factor) == 0 {
			return strconv.FormatInt(int64(s)/int64(u.factor), 10) + u.suffix
		}
	}
	return strconv.FormatInt(int64(s), 10) + "B"
}

// MarshalText prints the size with its unit.
func (s Size) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText parses a size with its unit.
func (s *Size) UnmarshalText(t []byte) error {
	v, err := ParseSize(string(t))
	*s = v
	return err
}

// Duration is a span of time written with a unit: 500ms, 30s, 5m, 2h, 1d.
type Duration time.Duration

// ParseDuration parses a duration; besides Go's units it accepts "d" (24h).
func ParseDuration(s string) (Duration, error) {
	t := strings.TrimSpace(s)
	if _, err := strconv.ParseFloat(t, 64); err == nil {
		return 0, fmt.Errorf("duration %q has no unit: write it with one, e.g. 30s", s)
	}
	if strings.HasSuffix(t, "d") {
		v, err := strconv.ParseFloat(strings.TrimSuffix(t, "d"), 64)
		if err != nil || math.IsNaN(v) || v < 0 || v > 100000 {
			return 0, fmt.Errorf("invalid duration %q (write e.g. 30s, 5m, 2h or 1d)", s)
		}
		return Duration(v * float64(24*time.Hour)), nil
	}
	d, err := time.ParseDuration(t)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q (write e.g. 30s, 5m, 2h or 1d)", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("invalid duration %q: must not be negative", s)
	}
	return Duration(d), nil
}

// Std returns the duration as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

func (d Duration) String() string {
	td := time.Duration(d)
	if td != 0 && td%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(td/(24*time.Hour)), 10) + "d"
	}
	s := td.String()
	// time.Duration prints 5m0s; trim the zero tails for readability.
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// MarshalText prints the duration with its unit.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText parses a duration with its unit.
func (d *Duration) UnmarshalText(t []byte) error {
	v, err := ParseDuration(string(t))
	*d = v
	return err
}

// Percent is a share written as "25%"; the value is the fraction (0.25).
type Percent float64

// ParsePercent parses "25%" into 0.25. Values above 100% are rejected.
func ParsePercent(s string) (Percent, error) {
	t := strings.TrimSpace(s)
	if !strings.HasSuffix(t, "%") {
		return 0, fmt.Errorf("percentage %q has no %% sign: write e.g. 25%%", s)
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(t, "%")), 64)
	if err != nil || math.IsNaN(v) {
		return 0, fmt.Errorf("invalid percentage %q (write e.g. 25%%)", s)
	}
	if v < 0 || v > 100 {
		return 0, fmt.Errorf("invalid percentage %q: must be between 0%% and 100%%", s)
	}
	return Percent(v / 100), nil
}

func (p Percent) String() string {
	return strconv.FormatFloat(math.Round(float64(p)*1e6)/1e4, 'f', -1, 64) + "%"
}

// MarshalText prints the percentage with its sign.
func (p Percent) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText parses a percentage with its sign.
func (p *Percent) UnmarshalText(t []byte) error {
	v, err := ParsePercent(string(t))
	*p = v
	return err
}

// Short prints a rate rounded to three significant digits for reading
// (33.3krps, 950rps); String keeps the exact value.
func (r Rate) Short() string {
	v := float64(r)
	for _, u := range rateUnits {
		if v >= u.factor {
			return strconv.FormatFloat(roundSig(v/u.factor, 3), 'f', -1, 64) + u.suffix
		}
	}
	return strconv.FormatFloat(roundSig(v, 3), 'f', -1, 64) + "rps"
}

func roundSig(v float64, digits int) float64 {
	if v == 0 {
		return 0
	}
	scale := math.Pow(10, float64(digits)-math.Ceil(math.Log10(math.Abs(v))))
	return math.Round(v*scale) / scale
}

// Short prints a percentage with at most one decimal (33.3%).
func (p Percent) Short() string {
	return strconv.FormatFloat(math.Round(float64(p)*1000)/10, 'f', -1, 64) + "%"
}
