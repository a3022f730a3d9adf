package sim

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/preflight-sh/preflight/change"
)

func noChanges(name string) (*change.ChangeSet, error) {
	return nil, errors.New("no change files in this test")
}

func TestParseScenario(t *testing.T) {
	src := `title: zone failure and rollback
duration: 1h
start: 14h
seed: 3
events:
  - {at: 10m, fail: zone z1}
  - {at: 20m, command: "set service web instanceCapacity=200rps", name: bigger}
  - {at: 25m, demand: 2, for: 5m, only: users}
  - {at: 30m, restore: zone z1}
  - {at: 40m, rollback: bigger}
`
	sc, err := ParseScenario("s.yaml", []byte(src), noChanges)
	if err != nil {
		t.Fatal(err)
	}
	if sc.Duration != time.Hour || sc.Start != 14*time.Hour || sc.Seed != 3 || len(sc.Events) != 5 {
		t.Fatalf("parsed %+v", sc)
	}
	if ev := sc.Events[0]; ev.Change == nil || ev.Label != "fail zone z1" || ev.Pos.Line != 6 {
		t.Errorf("fail event %+v", ev)
	}
	if ev := sc.Events[2]; ev.DemandFactor != 2 || ev.For != 5*time.Minute || ev.Demand != "users" {
		t.Errorf("surge %+v", ev)
	}
	if !sc.Events[3].Ends || !sc.Events[4].Ends || sc.Events[4].Rollback != "bigger" {
		t.Errorf("restore and rollback must end triggers: %+v", sc.Events[3:])
	}
}

func TestParseScenarioErrors(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{"events:\n  - {at: 1m, fail: zone a, demand: 2}\n", "s.yaml:2:5: an event needs exactly one of"},
		{"events:\n  - {at: 1m}\n", "exactly one of"},
		{"events:\n  - {at: 1m, fial: zone a}\n", "fail"},
		{"events:\n  - {at: 2m, demand: 2}\n  - {at: 1m, demand: 3}\n", "time order"},
		{"events:\n  - {at: 1m, rollback: nothing}\n", "not an earlier change event"},
		{"events:\n  - {at: 1m, fail: planet earth}\n", "fail \"planet earth\""},
		{"events:\n  - {at: 1m, demand: 2000}\n", "out of range"},
		{"events:\n  - {at: 1m, change: x.yaml}\n", "no change files"},
		{"start: 30h\nevents: []\n", "time of day"},
		{"events:\n  - {at: 1m, demand: 2, name: a}\n  - {at: 2m, demand: 2, name: a}\n", "two events are named"},
		{"- 1\n", "mapping"},
	} {
		_, err := ParseScenario("s.yaml", []byte(c.src), noChanges)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.src, err, c.want)
		}
	}
}

func FuzzParseScenario(f *testing.F) {
	f.Add("events:\n  - {at: 10m, fail: zone z1}\n  - {at: 20m, restore: zone z1}\n")
	f.Add("duration: 2h\nstart: 14h\nseed: 1\nevents:\n  - {at: 1m, demand: 3, for: 2m, only: users}\n  - {at: 2m, rollback: change}\n")
	f.Add("events:\n  - {at: 1m, command: \"drain zone a\", name: d}\n  - {at: 2m, rollback: d}\n")
	f.Fuzz(func(t *testing.T, src string) {
		sc, err := ParseScenario("fuzz.yaml", []byte(src), noChanges)
		if err == nil && sc == nil {
			t.Fatal("no scenario and no error")
		}
	})
}
