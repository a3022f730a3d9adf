package store_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"

	"github.com/preflight-sh/preflight/store"
	"github.com/preflight-sh/preflight/store/storetest"
)

var states = []store.State{store.Proposed, store.Verifying, store.NeedsApproval, store.Approved, store.Applied,
	store.Rejected, store.RolledBack}

func TestCanTransition(t *testing.T) {
	allowed := []string{
		"proposed→verifying",
		"verifying→needs-approval", "verifying→approved", "verifying→rejected",
		"needs-approval→approved", "needs-approval→rejected",
		"approved→applied", "approved→rejected", "approved→rolled-back",
		"applied→rolled-back",
	}
	for _, from := range states {
		for _, to := range states {
			edge := fmt.Sprintf("%s→%s", from, to)
			if got, want := store.CanTransition(from, to), slices.Contains(allowed, edge); got != want {
				t.Errorf("%s: %v, want %v", edge, got, want)
			}
		}
	}
}

// Paths through the state machine that between them take every allowed
// transition; from each end, a transition back is refused.
func TestTransition(t *testing.T) {
	storetest.Run(t, func(t *testing.T, dsn string) {
		s := storetest.Open(t, dsn)
		seed(t, s)
		for _, path := range [][]store.State{
			{store.Verifying, store.NeedsApproval, store.Approved, store.Applied, store.RolledBack},
			{store.Verifying, store.Approved, store.Rejected},
			{store.Verifying, store.Rejected},
			{store.Verifying, store.NeedsApproval, store.Rejected},
			{store.Verifying, store.Approved, store.RolledBack},
		} {
			c := propose(t, s, fmt.Sprint(path))
			walk(t, s, c.ID, path...)
			got, err := s.Change(t.Context(), c.ID)
			if err != nil {
				t.Fatal(err)
			}
			end := path[len(path)-1]
			if got.State != end {
				t.Errorf("%v: ended %s", path, got.State)
			}
			if err := s.Transition(t.Context(), c.ID, end, store.Proposed, "carol"); !errors.Is(err, store.ErrInvalid) {
				t.Errorf("%v: back to proposed: %v", path, err)
			}
		}
		c := propose(t, s, "x")
		for _, tc := range []struct {
			name     string
			id       int64
			from, to store.State
			want     error
		}{
			{"not in from", c.ID, store.Verifying, store.Approved, store.ErrConflict},
			{"no such change", 999, store.Proposed, store.Verifying, store.ErrNotFound},
			{"not allowed", c.ID, store.Proposed, store.Approved, store.ErrInvalid},
			{"unknown state", c.ID, store.Proposed, "merged", store.ErrInvalid},
		} {
			if err := s.Transition(t.Context(), tc.id, tc.from, tc.to, "carol"); !errors.Is(err, tc.want) {
				t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
			}
		}
		if got, err := s.Changes(t.Context(), store.Rejected); err != nil || len(got) != 3 {
			t.Errorf("%d rejected changes, %v; want 3", len(got), err)
		}
		if got, err := s.Changes(t.Context(), ""); err != nil || len(got) != 6 {
			t.Errorf("%d changes, %v; want 6", len(got), err)
		}
	})
}

// Of many concurrent transitions from the same state, exactly one wins.
func TestTransitionRace(t *testing.T) {
	storetest.Run(t, func(t *testing.T, dsn string) {
		s := storetest.Open(t, dsn)
		seed(t, s)
		for _, tc := range []struct {
			name  string
			setup []store.State
			from  store.State
			to    []store.State // goroutine i moves to to[i%len(to)]
		}{
			{"same target", nil, store.Proposed, []store.State{store.Verifying}},
			{"competing targets", []store.State{store.Verifying}, store.Verifying,
				[]store.State{store.NeedsApproval, store.Approved, store.Rejected}},
		} {
			c := propose(t, s, tc.name)
			walk(t, s, c.ID, tc.setup...)
			const n = 24
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() { errs[i] = s.Transition(t.Context(), c.ID, tc.from, tc.to[i%len(tc.to)], fmt.Sprint("r", i)) })
			}
			wg.Wait()
			won := -1
			for i, err := range errs {
				switch {
				case err == nil && won >= 0:
					t.Errorf("%s: goroutines %d and %d both won", tc.name, won, i)
				case err == nil:
					won = i
				case !errors.Is(err, store.ErrConflict):
					t.Errorf("%s: goroutine %d: %v", tc.name, i, err)
				}
			}
			if won < 0 {
				t.Fatalf("%s: nobody won", tc.name)
			}
			got, err := s.Change(t.Context(), c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if want := tc.to[won%len(tc.to)]; got.State != want {
				t.Errorf("%s: state %s, want the winner's %s", tc.name, got.State, want)
			}
		}
		transitions := 0
		for _, a := range actions(t, s) {
			if a == "change.transition" {
				transitions++
			}
		}
		if transitions != 3 { // one set-up, two winners
			t.Errorf("%d transitions audited, want 3", transitions)
		}
	})
}

func TestEditChange(t *testing.T) {
	storetest.Run(t, func(t *testing.T, dsn string) {
		s := storetest.Open(t, dsn)
		seed(t, s)
		c := propose(t, s, "scale api +2")
		first := c.ChangeHash
		sum := sha256.Sum256([]byte("scale api +2"))
		if first != hex.EncodeToString(sum[:]) || len(c.Editors) != 0 {
			t.Fatalf("proposed %+v", c)
		}
		for _, tc := range []struct {
			name, hash, body, editor string
			wantEditors              []string
			wantErr                  error
		}{
			{name: "by another", body: "scale api +3", editor: "carol", wantEditors: []string{"carol"}},
			{name: "by the author", body: "scale api +4", editor: "alice", wantEditors: []string{"carol", "alice"}},
			{name: "by the other again", body: "scale api +5", editor: "carol", wantEditors: []string{"carol", "alice"}},
			{name: "stale hash", hash: first, body: "scale api +6", editor: "carol", wantErr: store.ErrConflict},
			{name: "no editor", body: "scale api +6", wantErr: store.ErrInvalid},
		} {
			hash := tc.hash
			if hash == "" {
				hash = c.ChangeHash
			}
			got, err := s.EditChange(t.Context(), c.ID, hash, tc.body, tc.editor)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("%s: %v, want %v", tc.name, err, tc.wantErr)
			}
			if err != nil {
				continue
			}
			sum := sha256.Sum256([]byte(tc.body))
			if got.Body != tc.body || got.ChangeHash != hex.EncodeToString(sum[:]) || !reflect.DeepEqual(got.Editors, tc.wantEditors) {
				t.Errorf("%s: got %+v", tc.name, got)
			}
			stored, err := s.Change(t.Context(), c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(stored, got) {
				t.Errorf("%s: stored %+v, returned %+v", tc.name, stored, got)
			}
			c = got
		}
		walk(t, s, c.ID, store.Verifying)
		if _, err := s.EditChange(t.Context(), c.ID, c.ChangeHash, "y", "carol"); !errors.Is(err, store.ErrConflict) {
			t.Errorf("edit while verifying: %v", err)
		}
		if _, err := s.EditChange(t.Context(), 999, c.ChangeHash, "y", "carol"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("edit of no change: %v", err)
		}
	})
}

func TestRecordVerification(t *testing.T) {
	storetest.Run(t, func(t *testing.T, dsn string) {
		s := storetest.Open(t, dsn)
		seed(t, s)
		c := propose(t, s, "scale api +2")
		walk(t, s, c.ID, store.Verifying)
		report := json.RawMessage(`{"kind":"Check","verdict":{"decision":"block"}}`)
		ok := store.Verification{ChangeHash: c.ChangeHash, TwinVersion: "twin-2", Report: report, Verdict: "block", To: store.Rejected}
		for _, tc := range []struct {
			name   string
			change func(*store.Verification)
			want   error
		}{
			{"stale hash", func(v *store.Verification) { v.ChangeHash = "ff" }, store.ErrConflict},
			{"not from verifying", func(v *store.Verification) { v.To = store.Applied }, store.ErrInvalid},
			{"report not JSON", func(v *store.Verification) { v.Report = json.RawMessage("{") }, store.ErrInvalid},
			{"recorded", func(*store.Verification) {}, nil},
			{"no longer verifying", func(*store.Verification) {}, store.ErrConflict},
		} {
			v := ok
			tc.change(&v)
			if err := s.RecordVerification(t.Context(), c.ID, v, "ci"); !errors.Is(err, tc.want) {
				t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
			}
		}
		got, err := s.Change(t.Context(), c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != store.Rejected || got.TwinVersion != "twin-2" || string(got.Report) != string(report) {
			t.Errorf("got %+v", got)
		}
	})
}
