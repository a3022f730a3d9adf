package approval

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// MaxFreezeDuration is the longest a freeze window may last. Longer is not
// a recurring window but a standing ban, which belongs in a policy.
const MaxFreezeDuration = 366 * 24 * time.Hour

// maxMerges bounds how many overlapping windows are merged to find when a
// freeze in force ends; past it, Until is a lower bound.
const maxMerges = 1024

// Freeze is a recurring change freeze: a window opens at every time the
// schedule names and lasts Duration. While it is in force no change may be
// approved or applied unless a member of one of OverrideGroups has
// overridden it with a reason.
type Freeze struct {
	// Name identifies the freeze; overrides name it.
	Name string `json:"name"`
	// Schedule is when each window opens: a standard five-field cron
	// expression (minute hour day-of-month month day-of-week, such as
	// "0 22 * * FRI") or a descriptor (@yearly, @monthly, @weekly, @daily),
	// always in UTC. Time-zone prefixes and @every are refused.
	Schedule string `json:"schedule"`
	// Duration is how long each window lasts, more than zero and at most
	// MaxFreezeDuration.
	Duration time.Duration `json:"duration"`
	// OverrideGroups may override the freeze (same matching as approval
	// groups: "team X" or "X" is satisfied by a member of group X). Empty:
	// nobody may; the change waits for the window to end.
	OverrideGroups []string `json:"overrideGroups,omitempty"`
}

// ActiveFreeze is a freeze in force at the time of an evaluation.
type ActiveFreeze struct {
	Name string `json:"name"`
	// Start is when the earliest window still in force opened.
	Start time.Time `json:"start"`
	// Until is when the freeze ends, overlapping and back-to-back windows
	// merged (up to 1024 of them; past that, Until is a lower bound).
	Until          time.Time `json:"until"`
	OverrideGroups []string  `json:"overrideGroups,omitempty"`
	// Override is the decision that overrides the freeze for this request,
	// nil when none does.
	Override *Decision `json:"override,omitempty"`
}

// schedule parses and checks a freeze's schedule and duration.
func (f Freeze) schedule() (s *cron.SpecSchedule, err error) {
	if strings.TrimSpace(f.Name) == "" {
		return nil, errors.New("freeze has no name")
	}
	if f.Duration <= 0 || f.Duration > MaxFreezeDuration {
		return nil, fmt.Errorf("freeze %q: duration %v must be more than 0 and at most %v", f.Name, f.Duration, MaxFreezeDuration)
	}
	spec := strings.TrimSpace(f.Schedule)
	switch {
	case spec == "":
		return nil, fmt.Errorf("freeze %q has no schedule", f.Name)
	case strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ="):
		// Loading a zone reads the time-zone database: I/O, and answers that
		// differ between machines.
		return nil, fmt.Errorf("freeze %q: schedule %q: schedules are in UTC; time-zone prefixes are not accepted", f.Name, f.Schedule)
	case strings.HasPrefix(spec, "@every"):
		return nil, fmt.Errorf("freeze %q: schedule %q: @every is relative to when it is asked, not a recurring window", f.Name, f.Schedule)
	}
	defer func() {
		// The parser has panicked on malformed input before; a bad schedule
		// is an error, never a crash.
		if p := recover(); p != nil {
			s, err = nil, fmt.Errorf("freeze %q: schedule %q: %v", f.Name, f.Schedule, p)
		}
	}()
	sch, err := parser.Parse(spec)
	if err != nil {
		return nil, fmt.Errorf("freeze %q: schedule %q: %v", f.Name, f.Schedule, err)
	}
	ss, ok := sch.(*cron.SpecSchedule)
	if !ok {
		return nil, fmt.Errorf("freeze %q: schedule %q is not a recurring calendar schedule", f.Name, f.Schedule)
	}
	return ss, nil
}

var parser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Validate reports whether the freeze is well formed: a name, a schedule
// that parses, a duration in range.
func (f Freeze) Validate() error {
	_, err := f.schedule()
	return err
}

// ActiveAt says whether the freeze is in force at t: some window opened
// at or before t and ends after it (windows include their start and
// exclude their end). Times are taken in UTC.
func (f Freeze) ActiveAt(t time.Time) (ActiveFreeze, bool, error) {
	s, err := f.schedule()
	if err != nil {
		return ActiveFreeze{}, false, err
	}
	t = t.UTC()
	// The earliest opening after t-Duration: if it is not after t, its
	// window covers t; if none is, no window does.
	start := s.Next(t.Add(-f.Duration))
	if start.IsZero() || start.After(t) {
		return ActiveFreeze{}, false, nil
	}
	until, last := start.Add(f.Duration), start
	for range maxMerges {
		n := s.Next(last)
		if n.IsZero() || n.After(until) {
			break
		}
		until, last = later(until, n.Add(f.Duration)), n
	}
	return ActiveFreeze{Name: f.Name, Start: start, Until: until, OverrideGroups: sortedCopy(f.OverrideGroups)}, true, nil
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
