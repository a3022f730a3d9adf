package policy

import (
	"fmt"
	"slices"
	"strings"

	"github.com/preflight-sh/preflight/change"
	"github.com/preflight-sh/preflight/twin"
)

// AllowPrimary is the change flag that acknowledges a destructive
// operation on a primary.
const AllowPrimary = "allow-primary"

// rule evaluates a built-in rule; it returns the violation's message and
// evidence, or an empty message when the change complies.
func rule(name string, res *change.Result) (string, []string) {
	switch name {
	case "primary-needs-flag":
		return primaryNeedsFlag(res)
	case "staged-propagation":
		return stagedPropagation(res)
	}
	return "", nil
}

// primaryNeedsFlag: removing, shutting down or draining an object whose
// role is primary needs the allow-primary flag on the change.
func primaryNeedsFlag(res *change.Result) (string, []string) {
	if slices.Contains(res.Change.Flags, AllowPrimary) {
		return "", nil
	}
	var lines []string
	for _, t := range res.Touched {
		if role(res.Before.Get(t.Kind, t.Name)) != "primary" {
			continue
		}
		switch {
		case t.Action == "removed":
			lines = append(lines, fmt.Sprintf("removes %s/%s (role primary) at %s", t.Kind, t.Name, t.Pos))
		case t.Action == "modified":
			for _, c := range t.Changes {
				if c.Path == "state" && (c.After == string(twin.Down) || c.After == string(twin.Drained)) {
					lines = append(lines, fmt.Sprintf("sets %s/%s (role primary) %s at %s", t.Kind, t.Name, c.After, t.Pos))
				}
			}
		}
	}
	if len(lines) == 0 {
		return "", nil
	}
	return fmt.Sprintf("the change takes %d primary object(s) out of service without the %s flag; add flags: [%s] to the change file if that is meant", len(lines), AllowPrimary, AllowPrimary), lines
}

func role(o twin.Object) string {
	switch o := o.(type) {
	case *twin.Instance:
		return o.Role
	case *twin.Device:
		return o.Role
	}
	return ""
}

// stagedPropagation: a change to an artifact must roll out in waves, never
// to every region at once.
func stagedPropagation(res *change.Result) (string, []string) {
	var lines []string
	// The artifacts the change edits in the twin, and those whose new
	// content it ships.
	var names []string
	seen := map[string]bool{}
	for _, t := range res.Touched {
		if t.Kind == "Artifact" && t.Action != "removed" && !seen[t.Name] {
			names, seen[t.Name] = append(names, t.Name), true
		}
	}
	for _, f := range res.Change.Artifacts {
		if !seen[f.Name] && twin.Lookup[twin.Artifact](res.After, f.Name) != nil {
			names, seen[f.Name] = append(names, f.Name), true
		}
	}
	for _, name := range names {
		a := twin.Lookup[twin.Artifact](res.After, name)
		p := twin.Lookup[twin.Propagation](res.After, a.Propagation)
		switch {
		case p == nil && a.Propagation == "":
			lines = append(lines, fmt.Sprintf("artifact %s declares no propagation: it reaches every consumer at once", name))
		case p == nil:
			lines = append(lines, fmt.Sprintf("artifact %s names propagation %q, which the twin does not define", name, a.Propagation))
		case p.Mode != "waves" || len(p.Waves) < 2:
			lines = append(lines, fmt.Sprintf("artifact %s propagates %s (%s): every region gets it within seconds", name, p.Name, strings.TrimSpace(p.Mode)))
		}
	}
	if len(lines) == 0 {
		return "", nil
	}
	return "config data must roll out in waves with a bake time, never globally at once", lines
}
