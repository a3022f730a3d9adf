package store_test

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/preflight-sh/preflight/audit"
	"github.com/preflight-sh/preflight/store"
	"github.com/preflight-sh/preflight/store/storetest"
)

// seed creates the users the tests act as.
func seed(t *testing.T, s *store.Store) {
	t.Helper()
	for _, u := range []store.User{
		{Name: "alice", Roles: []store.Role{store.Author}, Groups: []string{"web"}},
		{Name: "bob", Roles: []store.Role{store.Approver}, Groups: []string{"sre"}},
		{Name: "carol", Roles: []store.Role{store.Approver, store.Author}, Groups: []string{"sre", "web"}},
		{Name: "root", Roles: []store.Role{store.Admin}},
	} {
		if err := s.PutUser(t.Context(), u, "root"); err != nil {
			t.Fatal(err)
		}
	}
}

// propose creates a change request by alice.
func propose(t *testing.T, s *store.Store, body string) store.ChangeRequest {
	t.Helper()
	c, err := s.CreateChange(t.Context(), store.NewChange{Title: "scale api", Author: "alice", Kind: store.CommandChange,
		Body: body, TwinVersion: "twin-1"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// walk moves change id along path, starting from its current state.
func walk(t *testing.T, s *store.Store, id int64, path ...store.State) {
	t.Helper()
	c, err := s.Change(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	from := c.State
	for _, to := range path {
		if err := s.Transition(t.Context(), id, from, to, "carol"); err != nil {
			t.Fatal(err)
		}
		from = to
	}
}

// actions lists the actions in the audit log, verifying the chain.
func actions(t *testing.T, s *store.Store) []string {
	t.Helper()
	if _, err := audit.Verify(t.Context(), s.DB()); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := audit.Export(t.Context(), s.DB(), &buf); err != nil {
		t.Fatal(err)
	}
	var as []string
	for line := range strings.Lines(buf.String()) {
		var e struct{ Action string }
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatal(err)
		}
		as = append(as, e.Action)
	}
	return as
}

// tables are the store's tables.
var tables = []string{"schema_migrations", "counters", "users", "api_tokens", "change_requests", "decisions",
	"freeze_windows", "audit_head", "audit_log"}

// dump returns every row of every table, as text.
func dump(t *testing.T, db *sql.DB) map[string][]string {
	t.Helper()
	d := map[string][]string{}
	for _, table := range tables {
		rows, err := db.QueryContext(t.Context(), "SELECT * FROM "+table+" ORDER BY 1")
		if err != nil {
			t.Fatal(err)
		}
		cols, err := rows.Columns()
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			for _, v := range vals {
				if bs, ok := v.([]byte); ok {
					v = string(bs)
				}
				fmt.Fprintf(&b, "%v|", v)
			}
			d[table] = append(d[table], b.String())
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

// Opening twice runs the migrations once, and keeps the data.
func TestOpenTwice(t *testing.T) {
	storetest.Run(t, func(t *testing.T, dsn string) {
		s, err := store.Open(t.Context(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		seed(t, s)
		before := dump(t, s.DB())
		s.Close()
		s = storetest.Open(t, dsn)
		if after := dump(t, s.DB()); !reflect.DeepEqual(before, after) {
			t.Errorf("reopening changed the database:\n%v\n%v", before, after)
		}
		if n := len(before["schema_migrations"]); n != 1 {
			t.Errorf("%d migrations recorded, want 1", n)
		}
		if _, err := s.User(t.Context(), "alice"); err != nil {
			t.Error(err)
		}
	})
}

// Opening a new database from many goroutines at once migrates it once.
func TestOpenConcurrently(t *testing.T) {
	storetest.Run(t, func(t *testing.T, dsn string) {
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Go(func() {
				s, err := store.Open(t.Context(), dsn)
				if err == nil {
					err = s.Close()
				}
				errs[i] = err
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		s := storetest.Open(t, dsn)
		if n := len(dump(t, s.DB())["schema_migrations"]); n != 1 {
			t.Errorf("%d migrations recorded, want 1", n)
		}
	})
}

func TestOpenSQLite(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data dir?#%")
	s := storetest.Open(t, dir)
	if _, err := os.Stat(filepath.Join(dir, store.SQLiteFile)); err != nil {
		t.Fatal(err)
	}
	var mode string
	if err := s.DB().QueryRowContext(t.Context(), "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal mode %q, %v; want wal", mode, err)
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Open(t.Context(), file); err == nil {
		t.Error("opened a file as a data directory")
	}
}

// An operation that fails midway, here at its last step (the audit
// append, made to fail by a row already at the next seq), leaves no trace.
func TestFailedOperationLeavesNoTrace(t *testing.T) {
	storetest.Run(t, func(t *testing.T, dsn string) {
		s := storetest.Open(t, dsn)
		ctx := t.Context()
		seed(t, s)
		_, tok, err := s.CreateToken(ctx, "alice", "ci", "root")
		if err != nil {
			t.Fatal(err)
		}
		proposed := propose(t, s, "scale api +2")
		verifying := propose(t, s, "scale api +3")
		walk(t, s, verifying.ID, store.Verifying)
		pending := propose(t, s, "scale api +4")
		walk(t, s, pending.ID, store.Verifying, store.NeedsApproval)
		if err := s.PutFreezeWindow(ctx, store.FreezeWindow{Name: "xmas", Schedule: "0 0 20 12 *", Duration: 14 * 24 * time.Hour}, "root"); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name string
			op   func() error
		}{
			{"put user", func() error {
				return s.PutUser(ctx, store.User{Name: "dave", Roles: []store.Role{store.Viewer}}, "root")
			}},
			{"create token", func() error { _, _, err := s.CreateToken(ctx, "bob", "laptop", "root"); return err }},
			{"revoke token", func() error { return s.RevokeToken(ctx, tok.ID, "root") }},
			{"create change", func() error {
				_, err := s.CreateChange(ctx, store.NewChange{Author: "alice", Kind: store.FileChange, Body: "x"})
				return err
			}},
			{"edit change", func() error { _, err := s.EditChange(ctx, proposed.ID, proposed.ChangeHash, "y", "carol"); return err }},
			{"transition", func() error { return s.Transition(ctx, proposed.ID, store.Proposed, store.Verifying, "carol") }},
			{"record verification", func() error {
				return s.RecordVerification(ctx, verifying.ID, store.Verification{ChangeHash: verifying.ChangeHash,
					TwinVersion: "twin-2", Report: json.RawMessage(`{}`), Verdict: "pass", To: store.NeedsApproval}, "ci")
			}},
			{"decide and transition", func() error {
				_, err := s.Decide(ctx, store.Decision{RequestID: pending.ID, User: "bob", Kind: store.Approve,
					ChangeHash: pending.ChangeHash}, store.Approved)
				return err
			}},
			{"put freeze window", func() error {
				return s.PutFreezeWindow(ctx, store.FreezeWindow{Name: "xmas", Schedule: "0 0 1 1 *", Duration: time.Hour}, "root")
			}},
			{"delete freeze window", func() error { return s.DeleteFreezeWindow(ctx, "xmas", "root") }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				head, err := audit.Verify(ctx, s.DB())
				if err != nil {
					t.Fatal(err)
				}
				if _, err := s.DB().ExecContext(ctx, `INSERT INTO audit_log (seq, at, actor, action, change_hash, verdict, detail, prev_hash, hash)
					VALUES ($1, '', '', '', '', '', '', '', '')`, head.Seq+1); err != nil {
					t.Fatal(err)
				}
				before := dump(t, s.DB())
				if err := tc.op(); err == nil || !strings.Contains(err.Error(), "audit: appending") {
					t.Errorf("error %v, want the audit append's", err)
				}
				if after := dump(t, s.DB()); !reflect.DeepEqual(before, after) {
					t.Errorf("the failed operation left changes:\n%v\n%v", before, after)
				}
				if _, err := s.DB().ExecContext(ctx, `DELETE FROM audit_log WHERE seq = $1`, head.Seq+1); err != nil {
					t.Fatal(err)
				}
				if err := tc.op(); err != nil {
					t.Errorf("with the head back: %v", err)
				}
			})
		}
	})
}

// Every operation that changes something appends one audit entry, and no
// token ever reaches the database.
func TestEveryChangeIsAudited(t *testing.T) {
	storetest.Run(t, func(t *testing.T, dsn string) {
		s := storetest.Open(t, dsn)
		ctx := t.Context()
		seed(t, s)
		token, tok, err := s.CreateToken(ctx, "bob", "laptop", "root")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.RevokeToken(ctx, tok.ID, "root"); err != nil {
			t.Fatal(err)
		}
		c := propose(t, s, "scale api +2")
		if c, err = s.EditChange(ctx, c.ID, c.ChangeHash, "scale api +3", "carol"); err != nil {
			t.Fatal(err)
		}
		walk(t, s, c.ID, store.Verifying)
		if err := s.RecordVerification(ctx, c.ID, store.Verification{ChangeHash: c.ChangeHash, TwinVersion: "twin-2",
			Report: json.RawMessage(`{"verdict":{"decision":"warn"}}`), Verdict: "warn", To: store.NeedsApproval}, "ci"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Decide(ctx, store.Decision{RequestID: c.ID, User: "bob", Kind: store.Approve, ChangeHash: c.ChangeHash}, store.Approved); err != nil {
			t.Fatal(err)
		}
		if err := s.PutFreezeWindow(ctx, store.FreezeWindow{Name: "xmas", Schedule: "0 0 20 12 *", Duration: time.Hour}, "root"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteFreezeWindow(ctx, "xmas", "root"); err != nil {
			t.Fatal(err)
		}
		want := []string{"user.put", "user.put", "user.put", "user.put", "token.create", "token.revoke",
			"change.create", "change.edit", "change.transition", "change.verify", "decision.approve",
			"freeze.put", "freeze.delete"}
		if got := actions(t, s); !reflect.DeepEqual(got, want) {
			t.Errorf("audit actions\n%v\nwant\n%v", got, want)
		}
		secret := strings.TrimPrefix(token, "pft_")
		for table, rows := range dump(t, s.DB()) {
			for _, r := range rows {
				if strings.Contains(r, secret) {
					t.Errorf("table %s holds the token: %s", table, r)
				}
			}
		}
	})
}

// The same $n placeholder may appear twice in a statement (CreateChange
// stamps created_at and updated_at with $10) on both databases.
func TestPlaceholderReuse(t *testing.T) {
	storetest.Run(t, func(t *testing.T, dsn string) {
		s := storetest.Open(t, dsn)
		seed(t, s)
		c := propose(t, s, "x")
		got, err := s.Change(t.Context(), c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Created.IsZero() || !got.Created.Equal(got.Updated) {
			t.Errorf("created %v, updated %v", got.Created, got.Updated)
		}
	})
}
