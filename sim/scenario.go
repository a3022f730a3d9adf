package sim

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"
	"github.com/preflight-sh/preflight/change"
	"github.com/preflight-sh/preflight/twin"
	"github.com/preflight-sh/preflight/units"
	"github.com/preflight-sh/preflight/yamldecode"
)

// Scenario is a timeline of events to simulate, read from a scenario file.
type Scenario struct {
	Title    string
	Duration time.Duration // 0: not set
	Start    time.Duration
	Seed     int64
	Events   []Event
}

type scenarioFile struct {
	Title    string          `json:"title,omitempty"`
	Duration units.Duration  `json:"duration,omitempty"`
	Start    units.Duration  `json:"start,omitempty"`
	Seed     int64           `json:"seed,omitempty"`
	Events   []scenarioEvent `json:"events"`
}

// scenarioEvent is one line of the timeline; exactly one action is set.
type scenarioEvent struct {
	At       units.Duration `json:"at"`
	Name     string         `json:"name,omitempty"`
	Fail     string         `json:"fail,omitempty"`
	Restore  string         `json:"restore,omitempty"`
	Change   string         `json:"change,omitempty"`
	Command  string         `json:"command,omitempty"`
	Rollback string         `json:"rollback,omitempty"`
	Demand   float64        `json:"demand,omitempty"`
	For      units.Duration `json:"for,omitempty"`
	Only     string         `json:"only,omitempty"`
}

// MaxScenarioSize is the largest scenario file read.
const MaxScenarioSize = 1 << 20

// LoadScenario reads a scenario file; change files it names are read
// relative to it.
func LoadScenario(path string) (*Scenario, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading scenario: %w", err)
	}
	return ParseScenario(path, src, func(name string) (*change.ChangeSet, error) {
		return change.Load(filepath.Join(filepath.Dir(path), name))
	})
}

// ParseScenario parses a scenario file. loadChange reads a change file
// an event names. Every problem is reported, each at its line.
func ParseScenario(file string, src []byte, loadChange func(string) (*change.ChangeSet, error)) (*Scenario, error) {
	if len(src) > MaxScenarioSize {
		return nil, yamldecode.ErrorList{{Pos: twin.Pos{File: file}, Msg: fmt.Sprintf("scenario file is %d bytes; the limit is %d", len(src), MaxScenarioSize)}}
	}
	docs, errs := twin.ParseDocuments(file, src)
	if len(errs) > 0 {
		return nil, errs
	}
	if len(docs) != 1 {
		return nil, yamldecode.ErrorList{{Pos: twin.Pos{File: file, Line: 1, Col: 1}, Msg: "a scenario file holds exactly one YAML document with title, duration, start, seed and events"}}
	}
	var f scenarioFile
	var at []twin.Pos
	errs = yamldecode.Decode(docs[0], &f, yamldecode.Options{File: file, Record: func(path string, p twin.Pos) {
		if strings.HasPrefix(path, "events[") && strings.HasSuffix(path, "]") && !strings.Contains(path, ".") {
			at = append(at, p)
		}
	}})
	if _, ok := docs[0].(*ast.MappingNode); !ok && len(errs) == 0 {
		errs = append(errs, yamldecode.Error{Pos: yamldecode.PosOf(file, docs[0]), Msg: "a scenario file must be a mapping with title, duration, start, seed and events"})
	}
	if len(errs) > 0 {
		return nil, errs
	}
	sc := &Scenario{Title: f.Title, Duration: f.Duration.Std(), Start: f.Start.Std(), Seed: f.Seed}
	if sc.Start >= 24*time.Hour {
		errs = append(errs, yamldecode.Error{Pos: twin.Pos{File: file, Line: 1, Col: 1}, Msg: fmt.Sprintf("start %v is not a time of day: use 0s to 23h59m (UTC)", f.Start)})
	}
	names := map[string]bool{}
	changes := map[string]bool{}
	for i, fe := range f.Events {
		pos := twin.Pos{File: file, Line: 1, Col: 1}
		if i < len(at) {
			pos = at[i]
		}
		bad := func(format string, args ...any) {
			errs = append(errs, yamldecode.Error{Pos: pos, Msg: fmt.Sprintf(format, args...)})
		}
		ev, err := fe.event(pos, loadChange)
		if err != nil {
			bad("%v", err)
			continue
		}
		if ev.Name == "" {
			ev.Name = fmt.Sprintf("event %d", i+1)
		}
		if names[ev.Name] {
			bad("two events are named %q: give each a unique name", ev.Name)
		}
		names[ev.Name] = true
		if i > 0 && fe.At < f.Events[i-1].At {
			bad("event at %v comes after one at %v: list events in time order", fe.At, f.Events[i-1].At)
		}
		if ev.Rollback != "" && !changes[ev.Rollback] && ev.Rollback != CLIChange {
			bad("rollback of %q, which is not an earlier change event (name it with name:), nor %q for the change given on the command line", ev.Rollback, CLIChange)
		}
		if ev.Change != nil {
			changes[ev.Name] = true
		}
		sc.Events = append(sc.Events, ev)
	}
	if len(errs) > 0 {
		errs.Sort()
		return nil, errs
	}
	return sc, nil
}

// CLIChange names the change given to simulate on the command line, so a
// scenario can roll it back.
const CLIChange = "change"

func (fe scenarioEvent) event(pos twin.Pos, loadChange func(string) (*change.ChangeSet, error)) (Event, error) {
	ev := Event{At: fe.At.Std(), Name: fe.Name, Pos: pos}
	set := 0
	for _, s := range []string{fe.Fail, fe.Restore, fe.Change, fe.Command, fe.Rollback} {
		if s != "" {
			set++
		}
	}
	if fe.Demand != 0 {
		set++
	}
	if set != 1 {
		return ev, fmt.Errorf("an event needs exactly one of fail, restore, change, command, rollback or demand (this one has %d)", set)
	}
	if (fe.For != 0 || fe.Only != "") && fe.Demand == 0 {
		return ev, fmt.Errorf("for and only go with demand: they say how long and which demand a surge multiplies")
	}
	command := func(text string) error {
		ops, err := change.CompileAt(text, pos)
		if err != nil {
			return err
		}
		ev.Change = &change.ChangeSet{Title: text, Source: "scenario", Operations: ops}
		ev.Label = text
		return nil
	}
	switch {
	case fe.Fail != "":
		ev.Label = "fail " + fe.Fail
		if err := command("shutdown " + fe.Fail); err != nil {
			return ev, fmt.Errorf("fail %q: %w (write e.g. fail: zone use1-az1)", fe.Fail, err)
		}
		ev.Label = "fail " + fe.Fail
	case fe.Restore != "":
		if err := command("restore " + fe.Restore); err != nil {
			return ev, fmt.Errorf("restore %q: %w (write e.g. restore: zone use1-az1)", fe.Restore, err)
		}
		ev.Label, ev.Ends = "restore "+fe.Restore, true
	case fe.Command != "":
		if err := command(fe.Command); err != nil {
			return ev, err
		}
	case fe.Change != "":
		cs, err := loadChange(fe.Change)
		if err != nil {
			return ev, fmt.Errorf("change %s: %w", fe.Change, err)
		}
		ev.Change, ev.Label = cs, "apply "+fe.Change
	case fe.Rollback != "":
		ev.Rollback, ev.Label, ev.Ends = fe.Rollback, "roll back "+fe.Rollback, true
	default:
		if fe.Demand < 0 || fe.Demand > 1000 {
			return ev, fmt.Errorf("demand ×%g is out of range: give a factor above 0 and at most 1000", fe.Demand)
		}
		ev.DemandFactor, ev.Demand, ev.For = fe.Demand, fe.Only, fe.For.Std()
		ev.Label = fmt.Sprintf("demand ×%g", fe.Demand)
		if fe.Only != "" {
			ev.Label += " on " + fe.Only
		}
		if fe.For != 0 {
			ev.Label += " for " + fe.For.String()
		}
	}
	if ev.Name == "" {
		ev.Name = ev.Label
	}
	return ev, nil
}
