package audit_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/preflight-sh/preflight/audit"
	"github.com/preflight-sh/preflight/store/storetest"
)

// appendOne appends e in a transaction of its own.
func appendOne(ctx context.Context, db *sql.DB, e audit.Entry) (audit.Entry, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return audit.Entry{}, err
	}
	defer tx.Rollback()
	e, err = audit.Append(ctx, tx, e)
	if err != nil {
		return audit.Entry{}, err
	}
	return e, tx.Commit()
}

// fill appends n entries and returns them.
func fill(t *testing.T, db *sql.DB, n int) []audit.Entry {
	t.Helper()
	var es []audit.Entry
	for i := range n {
		e := audit.Entry{Actor: "alice", Action: "change.transition", RequestID: int64(i%3 + 1),
			ChangeHash: fmt.Sprintf("%064x", i), Verdict: "pass", Detail: json.RawMessage(`{"from": "proposed", "to": "verifying"}`)}
		if i%4 == 0 {
			e.RequestID, e.Detail = 0, nil
		}
		e, err := appendOne(t.Context(), db, e)
		if err != nil {
			t.Fatal(err)
		}
		es = append(es, e)
	}
	return es
}

func TestAppendAndVerify(t *testing.T) {
	storetest.Run(t, func(t *testing.T, dsn string) {
		db := storetest.Open(t, dsn).DB()
		head, err := audit.Verify(t.Context(), db)
		if err != nil || head != (audit.Head{}) {
			t.Fatalf("empty log: head %+v, error %v", head, err)
		}
		es := fill(t, db, 10)
		for i, e := range es {
			if e.Seq != int64(i+1) {
				t.Errorf("entry %d has seq %d", i+1, e.Seq)
			}
			if i > 0 && e.PrevHash != es[i-1].Hash {
				t.Errorf("entry %d is not chained to entry %d", e.Seq, i)
			}
		}
		if string(es[1].Detail) != `{"from":"proposed","to":"verifying"}` {
			t.Errorf("detail not compacted: %s", es[1].Detail)
		}
		head, err = audit.Verify(t.Context(), db)
		if err != nil {
			t.Fatal(err)
		}
		if want := (audit.Head{Seq: 10, Hash: es[9].Hash}); head != want {
			t.Errorf("head %+v, want %+v", head, want)
		}
	})
}

func TestAppendRejects(t *testing.T) {
	storetest.Run(t, func(t *testing.T, dsn string) {
		db := storetest.Open(t, dsn).DB()
		for _, tc := range []struct {
			name string
			e    audit.Entry
		}{
			{"no actor", audit.Entry{Action: "x"}},
			{"no action", audit.Entry{Actor: "x"}},
			{"detail not JSON", audit.Entry{Actor: "x", Action: "x", Detail: json.RawMessage("{")}},
		} {
			if _, err := appendOne(t.Context(), db, tc.e); err == nil {
				t.Errorf("%s: appended", tc.name)
			}
		}
		if head, err := audit.Verify(t.Context(), db); err != nil || head.Seq != 0 {
			t.Errorf("head %+v, error %v", head, err)
		}
	})
}

// An entry appended in a transaction that rolls back leaves no trace.
func TestRollbackLeavesNoEntry(t *testing.T) {
	storetest.Run(t, func(t *testing.T, dsn string) {
		db := storetest.Open(t, dsn).DB()
		es := fill(t, db, 2)
		tx, err := db.BeginTx(t.Context(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := audit.Append(t.Context(), tx, audit.Entry{Actor: "mallory", Action: "x"}); err != nil {
			t.Fatal(err)
		}
		if err := tx.Rollback(); err != nil {
			t.Fatal(err)
		}
		head, err := audit.Verify(t.Context(), db)
		if err != nil {
			t.Fatal(err)
		}
		if head.Seq != 2 || head.Hash != es[1].Hash {
			t.Errorf("head %+v after a rolled back append", head)
		}
		e, err := appendOne(t.Context(), db, audit.Entry{Actor: "bob", Action: "x"})
		if err != nil || e.Seq != 3 {
			t.Errorf("next append: seq %d, error %v", e.Seq, err)
		}
	})
}

// An entry stamped by a clock ahead of this one's does not make the next
// entry's time go back.
func TestLockKeepsTimesInOrder(t *testing.T) {
	storetest.Run(t, func(t *testing.T, dsn string) {
		db := storetest.Open(t, dsn).DB()
		ahead, err := appendOne(t.Context(), db, audit.Entry{Actor: "elsewhere", Action: "x", Time: time.Now().Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		next, err := appendOne(t.Context(), db, audit.Entry{Actor: "here", Action: "x"})
		if err != nil {
			t.Fatal(err)
		}
		if next.Time.Before(ahead.Time) {
			t.Errorf("entry 2 at %v, before entry 1 at %v", next.Time, ahead.Time)
		}
	})
}

// Every kind of tampering with the rows is caught, at the right entry.
func TestVerifyCatchesTampering(t *testing.T) {
	for _, tc := range []struct {
		name   string
		sql    []string // run in order; $1 is the hash of a forged entry where used
		forge  *audit.Entry
		seq    int64
		reason string
	}{
		{name: "edit actor", sql: []string{`UPDATE audit_log SET actor = 'mallory' WHERE seq = 3`},
			seq: 3, reason: "does not match its contents"},
		{name: "edit detail", sql: []string{`UPDATE audit_log SET detail = '{"from":"proposed","to":"applied"}' WHERE seq = 2`},
			seq: 2, reason: "does not match its contents"},
		{name: "edit time", sql: []string{`UPDATE audit_log SET at = '2001-01-01T00:00:00.000000Z' WHERE seq = 5`},
			seq: 5, reason: "does not match its contents"},
		{name: "edit request id", sql: []string{`UPDATE audit_log SET request_id = 0 WHERE seq = 1`},
			seq: 1, reason: "does not match its contents"},
		{name: "edit verdict and hash", sql: []string{`UPDATE audit_log SET verdict = 'block', hash = 'ff' WHERE seq = 4`},
			seq: 4, reason: "does not match its contents"},
		{name: "delete middle", sql: []string{`DELETE FROM audit_log WHERE seq = 3`},
			seq: 3, reason: "expected entry 3, found entry 4"},
		{name: "delete first", sql: []string{`DELETE FROM audit_log WHERE seq = 1`},
			seq: 1, reason: "expected entry 1, found entry 2"},
		{name: "delete last", sql: []string{`DELETE FROM audit_log WHERE seq = 6`},
			seq: 6, reason: "ends at entry 5 but its head is at entry 6"},
		{name: "delete all", sql: []string{`DELETE FROM audit_log`},
			seq: 1, reason: "ends at entry 0 but its head is at entry 6"},
		{name: "swap seq", sql: []string{
			`UPDATE audit_log SET seq = -seq WHERE seq IN (3, 4)`,
			`UPDATE audit_log SET seq = CASE seq WHEN -3 THEN 4 ELSE 3 END WHERE seq < 0`},
			seq: 3, reason: "previous hash is not the hash of the entry before it"},
		{name: "insert in the middle", sql: []string{
			`UPDATE audit_log SET seq = -seq WHERE seq > 3`,
			`UPDATE audit_log SET seq = -seq + 1 WHERE seq < 0`,
			`INSERT INTO audit_log (seq, at, actor, action, request_id, change_hash, verdict, detail, prev_hash, hash)
			 SELECT 4, at, 'mallory', action, request_id, change_hash, verdict, detail, hash, 'forged' FROM audit_log WHERE seq = 3`},
			seq: 4, reason: "does not match its contents"},
		{name: "insert at the end", sql: []string{
			`INSERT INTO audit_log (seq, at, actor, action, request_id, change_hash, verdict, detail, prev_hash, hash)
			 SELECT 7, at, actor, action, request_id, change_hash, verdict, detail, hash, $1 FROM audit_log WHERE seq = 6`},
			forge: &audit.Entry{}, seq: 7, reason: "ends at entry 7 but its head is at entry 6"},
		{name: "rewind the head", sql: []string{
			`UPDATE audit_head SET seq = 5, hash = (SELECT hash FROM audit_log WHERE seq = 5)`},
			seq: 6, reason: "ends at entry 6 but its head is at entry 5"},
		{name: "edit the head's hash", sql: []string{`UPDATE audit_head SET hash = 'ff'`},
			seq: 6, reason: "not the hash the head records"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T, dsn string) {
				db := storetest.Open(t, dsn).DB()
				es := fill(t, db, 6)
				var args []any
				if tc.forge != nil {
					// A forger who recomputes the hash of an appended copy
					// of entry 6, by the documented encoding.
					f := es[5]
					f.Seq, f.PrevHash = 7, f.Hash
					args = append(args, documentedHash(f))
				}
				for _, q := range tc.sql {
					var a []any
					if strings.Contains(q, "$1") {
						a = args
					}
					if _, err := db.ExecContext(t.Context(), q, a...); err != nil {
						t.Fatalf("%s: %v", q, err)
					}
				}
				_, err := audit.Verify(t.Context(), db)
				var ce *audit.ChainError
				if !errors.As(err, &ce) {
					t.Fatalf("Verify: %v, want a *ChainError", err)
				}
				if ce.Seq != tc.seq || !strings.Contains(ce.Reason, tc.reason) {
					t.Errorf("got %v, want entry %d: ...%s...", err, tc.seq, tc.reason)
				}
			})
		})
	}
}

// documentedHash computes an entry's hash from the package comment's
// description, independently of the package's code.
func documentedHash(e audit.Entry) string {
	req := ""
	if e.RequestID != 0 {
		req = strconv.FormatInt(e.RequestID, 10)
	}
	var b strings.Builder
	b.WriteString("preflight-audit-v1\n")
	for _, f := range []string{strconv.FormatInt(e.Seq, 10), e.Time.UTC().Format(audit.TimeLayout), e.Actor, e.Action, req,
		e.ChangeHash, e.Verdict, string(e.Detail), e.PrevHash} {
		fmt.Fprintf(&b, "%d:%s\n", len(f), f)
	}
	h := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(h[:])
}

// Appends from many goroutines at once keep one linear chain, and Verify
// running meanwhile always sees a consistent snapshot.
func TestConcurrentAppends(t *testing.T) {
	storetest.Run(t, func(t *testing.T, dsn string) {
		db := storetest.Open(t, dsn).DB()
		const writers, each = 32, 4
		var wg sync.WaitGroup
		errs := make(chan error, writers*each+1)
		for w := range writers {
			wg.Go(func() {
				for i := range each {
					if _, err := appendOne(t.Context(), db, audit.Entry{Actor: fmt.Sprintf("w%d", w), Action: "x",
						Detail: json.RawMessage(fmt.Sprintf(`{"i":%d}`, i))}); err != nil {
						errs <- err
					}
				}
			})
		}
		stop, done := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(done)
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := audit.Verify(t.Context(), db); err != nil {
					errs <- fmt.Errorf("Verify during appends: %w", err)
					return
				}
			}
		}()
		wg.Wait()
		close(stop)
		<-done
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		head, err := audit.Verify(t.Context(), db)
		if err != nil {
			t.Fatal(err)
		}
		if head.Seq != writers*each {
			t.Errorf("head at %d, want %d", head.Seq, writers*each)
		}
	})
}

// Export writes every entry as stored, one JSON object a line, and the
// hashes can be recomputed from the lines by the documented encoding.
func TestExport(t *testing.T) {
	storetest.Run(t, func(t *testing.T, dsn string) {
		db := storetest.Open(t, dsn).DB()
		es := fill(t, db, 5)
		var buf bytes.Buffer
		if err := audit.Export(t.Context(), db, &buf); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(&buf)
		n := 0
		for sc.Scan() {
			var line struct {
				Seq        int64           `json:"seq"`
				Time       string          `json:"time"`
				Actor      string          `json:"actor"`
				Action     string          `json:"action"`
				RequestID  int64           `json:"requestId"`
				ChangeHash string          `json:"changeHash"`
				Verdict    string          `json:"verdict"`
				Detail     json.RawMessage `json:"detail"`
				PrevHash   string          `json:"prevHash"`
				Hash       string          `json:"hash"`
			}
			if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
				t.Fatalf("line %d: %v", n+1, err)
			}
			at, err := time.Parse(audit.TimeLayout, line.Time)
			if err != nil {
				t.Fatalf("line %d: %v", n+1, err)
			}
			e := audit.Entry{Seq: line.Seq, Time: at, Actor: line.Actor, Action: line.Action, RequestID: line.RequestID,
				ChangeHash: line.ChangeHash, Verdict: line.Verdict, Detail: line.Detail, PrevHash: line.PrevHash}
			if got := documentedHash(e); got != line.Hash || line.Hash != es[n].Hash {
				t.Errorf("line %d: hash %s, recomputed %s, appended %s", n+1, line.Hash, got, es[n].Hash)
			}
			n++
		}
		if n != len(es) {
			t.Errorf("%d lines, want %d", n, len(es))
		}
	})
}
