package failures

import (
	"fmt"
	"strings"

	"github.com/preflight-sh/preflight/finding"
	"github.com/preflight-sh/preflight/tracer"
	"github.com/preflight-sh/preflight/twin"
)

// Category is the category of the findings of a sweep.
const Category = "failures.k-tolerance"

// Findings turns a result into findings: one per minimal failing set, or
// one when the invariant fails with nothing failed. s is the twin the
// sweep ran on; its objects give the findings their positions.
func Findings(s *twin.Snapshot, r *Result) []finding.Finding {
	var out []finding.Finding
	if r.Baseline != nil {
		f := finding.Finding{
			ID:       Category + "/" + r.ID + "/none",
			Category: Category,
			Severity: finding.Critical,
			Message:  fmt.Sprintf("with nothing failed, the invariant does not hold: %s", r.Invariant),
			Evidence: evidence(r.Baseline, nil, "with nothing failed"),
		}
		f.Objects = exampleObjects(s, r.Baseline.Example)
		out = append(out, f)
	}
	checked := map[string]*Violation{}
	for _, fs := range r.Failing {
		if fs.Violation != nil {
			checked[setKey(fs.Elements)] = fs.Violation
		}
	}
	for _, fs := range r.Failing {
		names := make([]string, len(fs.Elements))
		for i, e := range fs.Elements {
			names[i] = e.String()
		}
		set := strings.Join(names, " and ")
		f := finding.Finding{
			ID:       Category + "/" + r.ID + "/" + setKey(fs.Elements),
			Category: Category,
			Severity: finding.Critical,
			Message:  fmt.Sprintf("the failure of %s breaks: %s", set, r.Invariant),
		}
		for _, e := range fs.Elements {
			if o := s.Get(e.Kind, e.Name); o != nil {
				f.Objects = append(f.Objects, finding.ObjectOf(o, ""))
			}
		}
		v := fs.Violation
		if v == nil {
			v = checked[setKey(fs.SameAs)]
		}
		if v == nil { // cannot happen: a symmetric set's stand-in is listed too
			continue
		}
		f.Objects = append(f.Objects, exampleObjects(s, v.Example)...)
		f.Evidence = evidence(v, fs.SameAs, "with "+set+" down")
		f.Evidence.Figures = append([]finding.Figure{{Name: "failed elements", Value: float64(len(fs.Elements))}, {Name: "k", Value: float64(r.K)}}, f.Evidence.Figures...)
		out = append(out, f)
	}
	finding.Sort(out)
	return out
}

// setKey names a failure set in finding IDs: "link:a+link:b".
func setKey(es []Element) string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = strings.ToLower(e.Kind) + ":" + e.Name
	}
	return strings.Join(parts, "+")
}

func exampleObjects(s *twin.Snapshot, ex Example) []finding.Object {
	var out []finding.Object
	for _, name := range []string{ex.From, ex.To} {
		if o := s.Get("Device", name); o != nil && (len(out) == 0 || out[0].Name != name) {
			out = append(out, finding.ObjectOf(o, ""))
		}
	}
	return out
}

// evidence explains a violation in words: how much breaks, the example
// packet, its paths before and after.
func evidence(v *Violation, sameAs []Element, when string) finding.Evidence {
	ev := finding.Evidence{Figures: []finding.Figure{
		{Name: "broken", Value: float64(v.Broken), Unit: "demands"},
		{Name: "demands", Value: float64(v.Demands), Unit: "demands"},
	}}
	if len(sameAs) > 0 {
		names := make([]string, len(sameAs))
		for i, e := range sameAs {
			names[i] = e.String()
		}
		ev.Lines = append(ev.Lines, fmt.Sprintf("symmetric to %s (interchangeable parallel links): that set was checked, and its example below stands for this one", strings.Join(names, " and ")))
	}
	ex := v.Example
	ev.Lines = append(ev.Lines,
		fmt.Sprintf("%s, %d of %d demands (source, destination) fail", when, v.Broken, v.Demands),
		fmt.Sprintf("e.g. %s from %s (to %s)", ex.Packet, ex.From, ex.To))
	ev.Lines = append(ev.Lines, paths("before: ", ex.Before)...)
	ev.Lines = append(ev.Lines, paths("after:  ", ex.After)...)
	return ev
}

// maxPaths bounds the paths of an example shown in evidence.
const maxPaths = 4

// paths renders up to maxPaths paths, failing ones first.
func paths(prefix string, ps []tracer.Path) []string {
	var out []string
	for _, delivered := range []bool{false, true} {
		for _, p := range ps {
			if (p.Fate == tracer.Delivered) == delivered && len(out) < maxPaths {
				out = append(out, prefix+pathWhy(p))
			}
		}
	}
	if len(ps) > maxPaths {
		out = append(out, fmt.Sprintf("%s… and %d more path(s)", prefix, len(ps)-maxPaths))
	}
	return out
}

// pathWhy renders a path with the reason for its fate.
func pathWhy(p tracer.Path) string {
	if p.Fate == tracer.Delivered {
		return p.String()
	}
	return p.String() + " (" + p.Why + ")"
}
