// Package audit is the review service's append-only, hash-chained log of
// every action. Each entry carries the hash of the entry before it, so
// editing, removing, inserting or reordering entries breaks the chain, and
// Verify finds where.
//
// Entries are appended within the transaction of the action they record,
// so an action and its entry commit or vanish together. The tables
// (audit_log and its one-row head, audit_head) are created by package
// store's migrations.
//
// The hash of an entry is the hex SHA-256 of "preflight-audit-v1\n"
// followed by, for each of seq, time, actor, action, request id, change
// hash, verdict, detail and previous hash in that order, the field's
// length in bytes in decimal, a colon, the field and a newline. Fields are
// encoded as stored and exported: seq and request id in decimal (the
// request id empty when there is none), time in TimeLayout, detail as
// compact JSON or empty. The first entry's previous hash is empty.
package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
)

// TimeLayout is the layout of every timestamp the log (and package store)
// keeps: UTC with microseconds, fixed width, so it sorts as text and reads
// back to the same string.
const TimeLayout = "2006-01-02T15:04:05.000000Z"

// Entry is one action in the log.
type Entry struct {
	// Seq numbers the entries from 1 without gaps; Append assigns it.
	Seq int64
	// Time is when the action happened; Append uses the current time when
	// it is zero, and keeps it in UTC to the microsecond.
	Time   time.Time
	Actor  string
	Action string
	// RequestID is the change request the action is about; 0 for none.
	RequestID int64
	// ChangeHash is the hash of the change the action applied to, if any.
	ChangeHash string
	// Verdict is the check verdict the action recorded, if any.
	Verdict string
	// Detail is anything else worth keeping, as JSON.
	Detail json.RawMessage
	// PrevHash and Hash chain the entry; Append computes them.
	PrevHash string
	Hash     string
}

// Lock takes the log's head for the rest of tx and returns the time to
// stamp tx's action with: the current time, or the last entry's if the
// clock is behind it. Called first in every writing transaction, it puts
// writers in line (on PostgreSQL by the row lock; on SQLite, where tx must
// be an IMMEDIATE transaction, they already are), so that the times and
// numbers they give follow the order of the log, even from machines whose
// clocks differ a little.
func Lock(ctx context.Context, tx *sql.Tx) (time.Time, error) {
	var seq int64
	if err := tx.QueryRowContext(ctx, `UPDATE audit_head SET seq = seq WHERE id = 1 RETURNING seq`).Scan(&seq); err != nil {
		return time.Time{}, fmt.Errorf("audit: taking the head: %w", err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	var at string
	err := tx.QueryRowContext(ctx, `SELECT at FROM audit_log WHERE seq = $1`, seq).Scan(&at)
	if errors.Is(err, sql.ErrNoRows) { // an empty log
		return now, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("audit: reading entry %d: %w", seq, err)
	}
	last, err := time.Parse(TimeLayout, at)
	if err != nil {
		return time.Time{}, fmt.Errorf("audit: entry %d: %w", seq, err)
	}
	if last.After(now) {
		return last, nil
	}
	return now, nil
}

// Append adds e to the log within tx and returns it as stored. Without a
// time, e gets Lock's; either way Append takes the head, which serializes
// concurrent appends as Lock says.
func Append(ctx context.Context, tx *sql.Tx, e Entry) (Entry, error) {
	if e.Actor == "" || e.Action == "" {
		return Entry{}, errors.New("audit: an entry needs an actor and an action")
	}
	if e.Time.IsZero() {
		t, err := Lock(ctx, tx)
		if err != nil {
			return Entry{}, err
		}
		e.Time = t
	}
	e.Time = e.Time.UTC().Truncate(time.Microsecond)
	if len(e.Detail) > 0 {
		var b bytes.Buffer
		if err := json.Compact(&b, e.Detail); err != nil {
			return Entry{}, fmt.Errorf("audit: detail: %w", err)
		}
		e.Detail = b.Bytes()
	}
	err := tx.QueryRowContext(ctx,
		`UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash`).Scan(&e.Seq, &e.PrevHash)
	if err != nil {
		return Entry{}, fmt.Errorf("audit: taking the head: %w", err)
	}
	r := record{
		Seq: e.Seq, Time: e.Time.Format(TimeLayout), Actor: e.Actor, Action: e.Action,
		ChangeHash: e.ChangeHash, Verdict: e.Verdict, Detail: string(e.Detail), PrevHash: e.PrevHash,
	}
	if e.RequestID != 0 {
		r.RequestID = sql.NullInt64{Int64: e.RequestID, Valid: true}
	}
	e.Hash = r.hash()
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO audit_log (seq, at, actor, action, request_id, change_hash, verdict, detail, prev_hash, hash)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		r.Seq, r.Time, r.Actor, r.Action, r.RequestID, r.ChangeHash, r.Verdict, r.Detail, r.PrevHash, e.Hash); err != nil {
		return Entry{}, fmt.Errorf("audit: appending: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE audit_head SET hash = $1 WHERE id = 1`, e.Hash); err != nil {
		return Entry{}, fmt.Errorf("audit: moving the head: %w", err)
	}
	return e, nil
}

// record is an entry as stored: what the hash covers, byte for byte.
type record struct {
	Seq        int64
	Time       string
	Actor      string
	Action     string
	RequestID  sql.NullInt64
	ChangeHash string
	Verdict    string
	Detail     string
	PrevHash   string
	Hash       string
}

// hash computes the entry's hash by the encoding in the package comment.
func (r record) hash() string {
	req := ""
	if r.RequestID.Valid {
		req = strconv.FormatInt(r.RequestID.Int64, 10)
	}
	h := sha256.New()
	io.WriteString(h, "preflight-audit-v1\n")
	for _, f := range []string{strconv.FormatInt(r.Seq, 10), r.Time, r.Actor, r.Action, req,
		r.ChangeHash, r.Verdict, r.Detail, r.PrevHash} {
		fmt.Fprintf(h, "%d:%s\n", len(f), f)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Head is the end of the chain: the last entry's sequence number and hash
// (0 and empty for an empty log). Publishing it elsewhere lets a later
// Verify show that the log was not rewritten as a whole since.
type Head struct {
	Seq  int64
	Hash string
}

// ChainError says where the chain breaks: the first entry that is not what
// the chain requires, and why.
type ChainError struct {
	Seq    int64
	Reason string
}

func (e *ChainError) Error() string {
	return fmt.Sprintf("audit log broken at entry %d: %s", e.Seq, e.Reason)
}

// Verify walks the whole chain and returns its head, or a *ChainError for
// the first entry that was edited, removed, inserted or moved.
func Verify(ctx context.Context, db *sql.DB) (Head, error) {
	var prev record
	head, err := walk(ctx, db, func(r record) error {
		if r.Seq != prev.Seq+1 {
			return &ChainError{Seq: prev.Seq + 1, Reason: fmt.Sprintf(
				"expected entry %d, found entry %d: entries were removed, inserted or renumbered", prev.Seq+1, r.Seq)}
		}
		if r.PrevHash != prev.Hash {
			return &ChainError{Seq: r.Seq, Reason: "its previous hash is not the hash of the entry before it"}
		}
		if r.hash() != r.Hash {
			return &ChainError{Seq: r.Seq, Reason: "its hash does not match its contents"}
		}
		prev = r
		return nil
	})
	if err != nil {
		return Head{}, err
	}
	if head.Seq != prev.Seq {
		return Head{}, &ChainError{Seq: min(head.Seq, prev.Seq) + 1, Reason: fmt.Sprintf(
			"the log ends at entry %d but its head is at entry %d", prev.Seq, head.Seq)}
	}
	if head.Hash != prev.Hash {
		return Head{}, &ChainError{Seq: prev.Seq, Reason: "its hash is not the hash the head records"}
	}
	return head, nil
}

// exported is the JSON line Export writes for an entry: the fields as
// stored, so the hash can be recomputed from it.
type exported struct {
	Seq        int64           `json:"seq"`
	Time       string          `json:"time"`
	Actor      string          `json:"actor"`
	Action     string          `json:"action"`
	RequestID  *int64          `json:"requestId,omitempty"`
	ChangeHash string          `json:"changeHash,omitempty"`
	Verdict    string          `json:"verdict,omitempty"`
	Detail     json.RawMessage `json:"detail,omitempty"`
	PrevHash   string          `json:"prevHash"`
	Hash       string          `json:"hash"`
}

// Export writes the log to w as JSON lines, one entry per line in sequence
// order, as one consistent snapshot. It does not verify the chain.
func Export(ctx context.Context, db *sql.DB, w io.Writer) error {
	enc := json.NewEncoder(w)
	_, err := walk(ctx, db, func(r record) error {
		x := exported{Seq: r.Seq, Time: r.Time, Actor: r.Actor, Action: r.Action, ChangeHash: r.ChangeHash,
			Verdict: r.Verdict, Detail: json.RawMessage(r.Detail), PrevHash: r.PrevHash, Hash: r.Hash}
		if r.RequestID.Valid {
			x.RequestID = &r.RequestID.Int64
		}
		if err := enc.Encode(x); err != nil {
			return fmt.Errorf("audit: exporting entry %d: %w", r.Seq, err)
		}
		return nil
	})
	return err
}

// walk reads the head and then every entry in sequence order, all from one
// snapshot, so concurrent appends are either wholly in it or not at all.
func walk(ctx context.Context, db *sql.DB, fn func(record) error) (Head, error) {
	tx, err := db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return Head{}, err
	}
	defer tx.Rollback()
	var head Head
	if err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&head.Seq, &head.Hash); err != nil {
		return Head{}, fmt.Errorf("audit: reading the head: %w", err)
	}
	rows, err := tx.QueryContext(ctx,
		`SELECT seq, at, actor, action, request_id, change_hash, verdict, detail, prev_hash, hash
		 FROM audit_log ORDER BY seq`)
	if err != nil {
		return Head{}, fmt.Errorf("audit: reading the log: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r record
		if err := rows.Scan(&r.Seq, &r.Time, &r.Actor, &r.Action, &r.RequestID, &r.ChangeHash,
			&r.Verdict, &r.Detail, &r.PrevHash, &r.Hash); err != nil {
			return Head{}, fmt.Errorf("audit: reading the log: %w", err)
		}
		if err := fn(r); err != nil {
			return Head{}, err
		}
	}
	if err := rows.Err(); err != nil {
		return Head{}, fmt.Errorf("audit: reading the log: %w", err)
	}
	return head, nil
}
