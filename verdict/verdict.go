// Package verdict turns findings into the decision on a change: pass, warn,
// block or unknown, with the reasons that make it up.
package verdict

import (
	"fmt"

	"github.com/preflight-sh/preflight/finding"
)

// Decision is the outcome for a change.
type Decision string

// Decisions. Unknown means an analysis could not decide; it is never
// treated as safe.
const (
	Pass    Decision = "pass"
	Warn    Decision = "warn"
	Unknown Decision = "unknown"
	Block   Decision = "block"
)

// Verdict is the decision and why.
type Verdict struct {
	Decision Decision       `json:"decision"`
	Reasons  []string       `json:"reasons"`
	Counts   map[string]int `json:"counts"`
}

// Safe reports whether the change may proceed without a human looking at a
// blocking or undecided finding.
func (v Verdict) Safe() bool { return v.Decision == Pass || v.Decision == Warn }

// Decide derives the verdict from findings: any critical finding blocks;
// else any unknown leaves the verdict unknown; else any warning warns.
func Decide(fs []finding.Finding) Verdict {
	v := Verdict{Decision: Pass, Counts: map[string]int{}}
	for _, f := range fs {
		v.Counts[string(f.Severity)]++
	}
	switch {
	case v.Counts[string(finding.Critical)] > 0:
		v.Decision = Block
		v.Reasons = append(v.Reasons, fmt.Sprintf("%d critical finding(s)", v.Counts[string(finding.Critical)]))
	case v.Counts[string(finding.Unknown)] > 0:
		v.Decision = Unknown
		v.Reasons = append(v.Reasons, fmt.Sprintf("%d finding(s) could not be decided", v.Counts[string(finding.Unknown)]))
	case v.Counts[string(finding.Warning)] > 0:
		v.Decision = Warn
		v.Reasons = append(v.Reasons, fmt.Sprintf("%d warning(s)", v.Counts[string(finding.Warning)]))
	default:
		v.Reasons = append(v.Reasons, "no findings above info")
	}
	return v
}
