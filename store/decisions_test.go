package store_test

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/preflight-sh/preflight/approval"
	"github.com/preflight-sh/preflight/store"
	"github.com/preflight-sh/preflight/store/storetest"
)

func TestDecide(t *testing.T) {
	storetest.Run(t, func(t *testing.T, dsn string) {
		s := storetest.Open(t, dsn)
		seed(t, s)
		c := propose(t, s, "scale api +2")
		first := c.ChangeHash
		// An approval of the first version, then an edit: a new hash.
		if _, err := s.Decide(t.Context(), store.Decision{RequestID: c.ID, User: "bob", Kind: store.Approve, ChangeHash: first}, ""); err != nil {
			t.Fatal(err)
		}
		c, err := s.EditChange(t.Context(), c.ID, first, "scale api +3", "alice")
		if err != nil {
			t.Fatal(err)
		}
		walk(t, s, c.ID, store.Verifying, store.NeedsApproval)
		d := func(user string, kind store.DecisionKind) store.Decision {
			return store.Decision{RequestID: c.ID, User: user, Kind: kind, Reason: "looks fine", ChangeHash: c.ChangeHash}
		}
		until := time.Now().Add(time.Hour)
		glass := d("carol", store.BreakGlass)
		glass.Until = until
		override := d("bob", store.OverridePolicy)
		override.Policy = "capacity"
		freeze := d("bob", store.OverrideFreeze)
		freeze.Freeze = "xmas"
		for _, tc := range []struct {
			name      string
			decision  store.Decision
			to        store.State
			want      error
			wantState store.State
		}{
			{name: "approve the new version", decision: d("bob", store.Approve)},
			{name: "approve it again", decision: d("bob", store.Approve), want: store.ErrDuplicate},
			{name: "approve the old version", decision: store.Decision{RequestID: c.ID, User: "carol", Kind: store.Approve, ChangeHash: first},
				want: store.ErrConflict},
			{name: "override a policy", decision: override},
			{name: "override it again", decision: override},
			{name: "override a freeze", decision: freeze},
			{name: "accept the unknown", decision: d("carol", store.AcceptUnknown)},
			{name: "unknown kind", decision: d("bob", "veto"), want: store.ErrInvalid},
			{name: "no user", decision: d("", store.Approve), want: store.ErrInvalid},
			{name: "unknown user", decision: d("mallory", store.Approve), want: store.ErrNotFound},
			{name: "no such change", decision: store.Decision{RequestID: 999, User: "bob", Kind: store.Approve, ChangeHash: first},
				want: store.ErrNotFound},
			{name: "transition not allowed", decision: d("carol", store.Approve), to: store.Applied, want: store.ErrInvalid},
			{name: "approve and move on", decision: d("carol", store.Approve), to: store.Approved, wantState: store.Approved},
			{name: "break glass", decision: glass},
			{name: "reject and close", decision: d("bob", store.Reject), to: store.Rejected, wantState: store.Rejected},
			{name: "decide on a closed change", decision: d("carol", store.Reject), want: store.ErrConflict},
		} {
			got, err := s.Decide(t.Context(), tc.decision, tc.to)
			if !errors.Is(err, tc.want) {
				t.Fatalf("%s: %v, want %v", tc.name, err, tc.want)
			}
			if err == nil && (got.ID == 0 || got.TwinVersion != "twin-1" || got.At.IsZero() || len(got.Roles) == 0) {
				t.Errorf("%s: recorded %+v", tc.name, got)
			}
			if tc.wantState != "" {
				if now, err := s.Change(t.Context(), c.ID); err != nil || now.State != tc.wantState {
					t.Errorf("%s: state %s, %v; want %s", tc.name, now.State, err, tc.wantState)
				}
			}
		}
		ds, err := s.Decisions(t.Context(), c.ID)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for i, d := range ds {
			got = append(got, fmt.Sprintf("%s %s %s%s%s", d.User, d.Kind, d.ChangeHash[:4], d.Policy, d.Freeze))
			if i > 0 && d.At.Before(ds[i-1].At) {
				t.Errorf("decision %d at %v, before decision %d at %v", d.ID, d.At, ds[i-1].ID, ds[i-1].At)
			}
		}
		h1, h2 := first[:4], c.ChangeHash[:4]
		want := []string{"bob approve " + h1, "bob approve " + h2, "bob override-policy " + h2 + "capacity",
			"bob override-policy " + h2 + "capacity", "bob override-freeze " + h2 + "xmas", "carol accept-unknown " + h2,
			"carol approve " + h2, "carol break-glass " + h2, "bob reject " + h2}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("decisions\n%v\nwant\n%v", got, want)
		}
		b := ds[7]
		if !b.Until.Equal(until.Truncate(time.Microsecond)) || !reflect.DeepEqual(b.Roles, []store.Role{store.Approver, store.Author}) ||
			!reflect.DeepEqual(b.Groups, []string{"sre", "web"}) || b.Reason != "looks fine" {
			t.Errorf("break-glass read back as %+v", b)
		}
	})
}

// Concurrent approvals by one user record one; by different users, all.
func TestApprovalRace(t *testing.T) {
	storetest.Run(t, func(t *testing.T, dsn string) {
		s := storetest.Open(t, dsn)
		seed(t, s)
		for _, tc := range []struct {
			name  string
			users []string // goroutine i approves as users[i%len(users)]
			want  int
		}{
			{"same user", []string{"bob"}, 1},
			{"different users", []string{"bob", "carol", "root"}, 3},
		} {
			c := propose(t, s, tc.name)
			walk(t, s, c.ID, store.Verifying, store.NeedsApproval)
			const n = 24
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					_, errs[i] = s.Decide(t.Context(), store.Decision{RequestID: c.ID, User: tc.users[i%len(tc.users)],
						Kind: store.Approve, ChangeHash: c.ChangeHash}, "")
				})
			}
			wg.Wait()
			ok := 0
			for i, err := range errs {
				if err == nil {
					ok++
				} else if !errors.Is(err, store.ErrDuplicate) {
					t.Errorf("%s: goroutine %d: %v", tc.name, i, err)
				}
			}
			ds, err := s.Decisions(t.Context(), c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if ok != tc.want || len(ds) != tc.want {
				t.Errorf("%s: %d succeeded, %d recorded; want %d", tc.name, ok, len(ds), tc.want)
			}
		}
		approvals := 0
		for _, a := range actions(t, s) {
			if a == "decision.approve" {
				approvals++
			}
		}
		if approvals != 4 {
			t.Errorf("%d approvals audited, want 4", approvals)
		}
	})
}

// The store keeps what package approval judges: the same kinds of
// decision, roles and review states.
func TestVocabularyOfApproval(t *testing.T) {
	for _, tc := range [][2]string{
		{string(store.Approve), approval.KindApprove},
		{string(store.Reject), approval.KindReject},
		{string(store.OverridePolicy), approval.KindOverridePolicy},
		{string(store.OverrideFreeze), approval.KindOverrideFreeze},
		{string(store.BreakGlass), approval.KindBreakGlass},
		{string(store.AcceptUnknown), approval.KindAcceptUnknown},
		{string(store.Viewer), approval.RoleViewer},
		{string(store.Author), approval.RoleAuthor},
		{string(store.Approver), approval.RoleApprover},
		{string(store.Admin), approval.RoleAdmin},
		{string(store.NeedsApproval), approval.StateNeedsApproval},
		{string(store.Approved), approval.StateApproved},
		{string(store.Rejected), approval.StateRejected},
	} {
		if tc[0] != tc[1] {
			t.Errorf("store says %q, approval %q", tc[0], tc[1])
		}
	}
}
