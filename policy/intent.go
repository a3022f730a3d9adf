package policy

import (
	"fmt"
	"strings"

	"github.com/preflight-sh/preflight/failures"
	"github.com/preflight-sh/preflight/twin"
)

// intent decides a network intent on the twin after the change, for every
// packet, and under every failure set the policy's tolerance asks for. It
// returns the violation's message and evidence, or an empty message.
func intent(p *twin.Policy, after *twin.Snapshot) (string, []string, error) {
	var inv failures.Invariant
	switch {
	case p.Reach != nil:
		inv = failures.Reach{From: p.Reach.From, To: p.Reach.To, Dst: p.Reach.Dst}
	case p.Isolate != nil:
		inv = failures.Isolation{From: p.Isolate.From, To: p.Isolate.Dst}
	default:
		inv = failures.AllPairs{}
	}
	o := failures.Options{NoFailures: true}
	if t := p.Tolerate; t != nil {
		o = failures.Options{K: t.K}
		for _, f := range t.Fail {
			switch f {
			case "link":
				o.Links = true
			case "device":
				o.Devices = true
			case "site":
				o.Sites = true
			}
		}
	}
	res, err := failures.Sweep(after, inv, o)
	if err != nil {
		return "", nil, err
	}
	if res.Holds {
		return "", nil, nil
	}
	if v := res.Baseline; v != nil {
		return fmt.Sprintf("after the change, %s fails: %d of %d demand(s) broken", res.Invariant, v.Broken, v.Demands), example(v), nil
	}
	lines := []string{fmt.Sprintf("%d minimal failing set(s) of up to %d %s", len(res.Failing), res.K, strings.Join(res.Kinds, ", "))}
	for i, fs := range res.Failing {
		if i == 3 {
			lines = append(lines, fmt.Sprintf("… and %d more", len(res.Failing)-i))
			break
		}
		var names []string
		for _, e := range fs.Elements {
			names = append(names, e.String())
		}
		lines = append(lines, "fails with "+strings.Join(names, " and ")+" down")
		if fs.Violation != nil {
			lines = append(lines, example(fs.Violation)...)
		}
	}
	first := res.Failing[0]
	var names []string
	for _, e := range first.Elements {
		names = append(names, e.String())
	}
	return fmt.Sprintf("after the change, %s does not survive %s failing", res.Invariant, strings.Join(names, " and ")), lines, nil
}

// example is a violation's counterexample packet and its paths.
func example(v *failures.Violation) []string {
	e := v.Example
	lines := []string{fmt.Sprintf("e.g. %s from %s (towards %s)", e.Packet, e.From, e.To)}
	for _, p := range e.Before {
		lines = append(lines, "  with nothing failed: "+p.String())
	}
	for _, p := range e.After {
		lines = append(lines, "  now: "+p.String())
	}
	return lines
}
