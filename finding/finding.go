// Package finding is what every analysis returns: a typed, stable,
// explained result with the objects it involves and the evidence behind it.
package finding

import (
	"sort"
	"strings"

	"github.com/preflight-sh/preflight/twin"
)

// Severity ranks findings. Unknown means an analysis could not decide
// because the twin lacks a value; it ranks above warning because an unknown
// is never treated as safe.
type Severity string

// Severities, from least to most serious.
const (
	Info     Severity = "info"
	Warning  Severity = "warning"
	Unknown  Severity = "unknown"
	Critical Severity = "critical"
)

// Rank orders severities: info 0 … critical 3.
func (s Severity) Rank() int {
	switch s {
	case Warning:
		return 1
	case Unknown:
		return 2
	case Critical:
		return 3
	}
	return 0
}

// Object is a twin object a finding involves, with where it is written.
type Object struct {
	Kind string   `json:"kind"`
	Name string   `json:"name"`
	Pos  twin.Pos `json:"pos"`
}

// ObjectOf returns the finding reference to a twin object, positioned at the
// given field path (or at the document if path is empty).
func ObjectOf(o twin.Object, path string) Object {
	m := o.GetMeta()
	return Object{Kind: m.Kind, Name: m.Name, Pos: m.Source().At(path)}
}

// Figure is one number of the evidence.
type Figure struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Unit  string  `json:"unit,omitempty"`
}

// Evidence is why a finding holds: the numbers, and the calculation or
// facts in words.
type Evidence struct {
	Figures []Figure `json:"figures,omitempty"`
	Lines   []string `json:"lines"`
}

// Finding is one result of an analysis.
type Finding struct {
	// ID is stable across runs: category, then the subject.
	ID       string   `json:"id"`
	Category string   `json:"category"`
	Severity Severity `json:"severity"`
	Message  string   `json:"message"`
	Objects  []Object `json:"objects"`
	Evidence Evidence `json:"evidence"`
	// Weight is how much is at stake (for example the client demand the
	// affected traffic carries, in requests per second); findings of equal
	// severity rank by it.
	Weight float64 `json:"weight,omitempty"`
}

// Sort orders findings most severe first; at equal severity, causes
// before consequences (what the change does to the twin, then what the
// simulation shows it leads to: congested links and devices, overloaded
// services, and last what clients see), then by weight (heaviest first),
// then by ID.
func Sort(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		if a, b := fs[i].Severity.Rank(), fs[j].Severity.Rank(); a != b {
			return a > b
		}
		if a, b := consequence(fs[i]), consequence(fs[j]); a != b {
			return a < b
		}
		if fs[i].Weight != fs[j].Weight {
			return fs[i].Weight > fs[j].Weight
		}
		return fs[i].ID < fs[j].ID
	})
}

// consequence ranks how far down the chain from cause to symptom a
// finding is.
func consequence(f Finding) int {
	switch {
	case f.Category != "simulation":
		return 0
	case strings.HasPrefix(f.ID, "simulation.congestion."):
		return 1
	case strings.HasPrefix(f.ID, "simulation.overload."):
		return 2
	}
	return 3
}
