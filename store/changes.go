package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/preflight-sh/preflight/audit"
	"github.com/preflight-sh/preflight/verdict"
)

// Kind is how a change request's body describes the change.
type Kind string

// The kinds of change.
const (
	FileChange    Kind = "file"    // a change file
	CommandChange Kind = "command" // an operator command
	DiffChange    Kind = "diff"    // the diff between two twins
)

// State is where a change request stands in its review.
type State string

// The states.
const (
	Proposed      State = "proposed"
	Verifying     State = "verifying"
	NeedsApproval State = "needs-approval"
	Approved      State = "approved"
	Applied       State = "applied"
	Rejected      State = "rejected"
	RolledBack    State = "rolled-back"
)

// transitions is the state machine: the states each state may move to.
// Rejected and rolled-back are final.
var transitions = map[State][]State{
	Proposed:      {Verifying},
	Verifying:     {NeedsApproval, Approved, Rejected},
	NeedsApproval: {Approved, Rejected},
	Approved:      {Applied, Rejected, RolledBack},
	Applied:       {RolledBack},
}

// CanTransition reports whether the state machine lets a change request
// move from one state to the other.
func CanTransition(from, to State) bool { return slices.Contains(transitions[from], to) }

// final reports whether a change request in the state is closed for good.
func final(s State) bool { return len(transitions[s]) == 0 }

// ChangeRequest is a proposed change and where its review stands.
type ChangeRequest struct {
	ID     int64
	Title  string
	Author string
	Kind   Kind
	Body   string
	// ChangeHash is the hex SHA-256 of Body.
	ChangeHash string
	// TwinVersion identifies the twin the change was proposed on or last
	// verified against.
	TwinVersion string
	State       State
	// Report is the check report as JSON; nil until verified.
	Report json.RawMessage
	// Editors are the users who edited the body after it was proposed, in
	// order of their first edit.
	Editors []string
	Created time.Time
	Updated time.Time
}

// NewChange is what it takes to propose a change.
type NewChange struct {
	Title       string
	Author      string
	Kind        Kind
	Body        string
	TwinVersion string
}

func hashBody(body string) string {
	h := sha256.Sum256([]byte(body))
	return hex.EncodeToString(h[:])
}

// CreateChange proposes a change, as its author.
func (s *Store) CreateChange(ctx context.Context, n NewChange) (ChangeRequest, error) {
	if !slices.Contains([]Kind{FileChange, CommandChange, DiffChange}, n.Kind) {
		return ChangeRequest{}, fmt.Errorf("%w: unknown kind of change %q (file, command or diff)", ErrInvalid, n.Kind)
	}
	if n.Author == "" {
		return ChangeRequest{}, fmt.Errorf("%w: a change needs an author", ErrInvalid)
	}
	c := ChangeRequest{Title: n.Title, Author: n.Author, Kind: n.Kind, Body: n.Body, ChangeHash: hashBody(n.Body),
		TwinVersion: n.TwinVersion, State: Proposed, Editors: []string{}}
	err := s.write(ctx, func(tx *sql.Tx, now time.Time) error {
		c.Created, c.Updated = now, now
		var err error
		if c.ID, err = nextID(ctx, tx, "change_requests"); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO change_requests
			(id, title, author, kind, body, change_hash, twin_version, state, editors, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)`,
			c.ID, c.Title, c.Author, c.Kind, c.Body, c.ChangeHash, c.TwinVersion, c.State, encodeList(c.Editors),
			stamp(now)); err != nil {
			return err
		}
		return record(ctx, tx, now, audit.Entry{Actor: c.Author, Action: "change.create", RequestID: c.ID, ChangeHash: c.ChangeHash},
			map[string]any{"title": c.Title, "kind": c.Kind, "twinVersion": c.TwinVersion})
	})
	if err != nil {
		return ChangeRequest{}, err
	}
	return c, nil
}

const changeColumns = `id, title, author, kind, body, change_hash, twin_version, state, report, editors, created_at, updated_at`

func scanChange(row interface{ Scan(...any) error }) (ChangeRequest, error) {
	var c ChangeRequest
	var report sql.NullString
	var editors, created, updated string
	if err := row.Scan(&c.ID, &c.Title, &c.Author, &c.Kind, &c.Body, &c.ChangeHash, &c.TwinVersion, &c.State,
		&report, &editors, &created, &updated); err != nil {
		return ChangeRequest{}, err
	}
	if report.Valid {
		c.Report = json.RawMessage(report.String)
	}
	var err error
	if c.Editors, err = decodeList[string](editors); err != nil {
		return ChangeRequest{}, fmt.Errorf("change %d: editors: %w", c.ID, err)
	}
	if c.Created, err = parseStamp(created); err != nil {
		return ChangeRequest{}, err
	}
	if c.Updated, err = parseStamp(updated); err != nil {
		return ChangeRequest{}, err
	}
	return c, nil
}

// Change returns the change request with the given ID.
func (s *Store) Change(ctx context.Context, id int64) (ChangeRequest, error) {
	c, err := scanChange(s.db.QueryRowContext(ctx, `SELECT `+changeColumns+` FROM change_requests WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return ChangeRequest{}, fmt.Errorf("%w: change %d", ErrNotFound, id)
	}
	return c, err
}

// Changes lists the change requests in a state, or all of them for "", in
// order of ID.
func (s *Store) Changes(ctx context.Context, state State) ([]ChangeRequest, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+changeColumns+` FROM change_requests
		WHERE $1 = '' OR state = $1 ORDER BY id`, state)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var cs []ChangeRequest
	for rows.Next() {
		c, err := scanChange(rows)
		if err != nil {
			return nil, err
		}
		cs = append(cs, c)
	}
	return cs, rows.Err()
}

// whyNot explains why a compare-and-swap on change request id matched no
// row: it does not exist (ErrNotFound), or it is not in the state or at
// the hash the caller expected (ErrConflict).
func whyNot(ctx context.Context, tx *sql.Tx, id int64, state State, hash string) error {
	var st State
	var h string
	err := tx.QueryRowContext(ctx, `SELECT state, change_hash FROM change_requests WHERE id = $1`, id).Scan(&st, &h)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("%w: change %d", ErrNotFound, id)
	case err != nil:
		return err
	case state != "" && st != state:
		return fmt.Errorf("%w: change %d is %s, not %s", ErrConflict, id, st, state)
	case hash != "" && h != hash:
		return fmt.Errorf("%w: change %d is at hash %s, not %s", ErrConflict, id, h, hash)
	}
	return fmt.Errorf("%w: change %d changed meanwhile", ErrConflict, id)
}

// EditChange replaces the body of a proposed change, compare-and-swap on
// its current hash, and adds the editor to its editors.
func (s *Store) EditChange(ctx context.Context, id int64, oldHash, body, editor string) (ChangeRequest, error) {
	if editor == "" {
		return ChangeRequest{}, fmt.Errorf("%w: an edit needs an editor", ErrInvalid)
	}
	var c ChangeRequest
	err := s.write(ctx, func(tx *sql.Tx, now time.Time) error {
		res, err := tx.ExecContext(ctx, `UPDATE change_requests SET body = $1, change_hash = $2, updated_at = $3
			WHERE id = $4 AND state = $5 AND change_hash = $6`,
			body, hashBody(body), stamp(now), id, Proposed, oldHash)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return whyNot(ctx, tx, id, Proposed, oldHash)
		}
		if c, err = scanChange(tx.QueryRowContext(ctx, `SELECT `+changeColumns+` FROM change_requests WHERE id = $1`, id)); err != nil {
			return err
		}
		if !slices.Contains(c.Editors, editor) {
			c.Editors = append(c.Editors, editor)
			if _, err := tx.ExecContext(ctx, `UPDATE change_requests SET editors = $1 WHERE id = $2`,
				encodeList(c.Editors), id); err != nil {
				return err
			}
		}
		return record(ctx, tx, now, audit.Entry{Actor: editor, Action: "change.edit", RequestID: id, ChangeHash: c.ChangeHash},
			map[string]any{"previousHash": oldHash})
	})
	if err != nil {
		return ChangeRequest{}, err
	}
	return c, nil
}

// Transition moves a change request from one state to another, if the
// state machine allows it and the request is still in from: a
// compare-and-swap, so of concurrent transitions from the same state
// exactly one succeeds and the others get ErrConflict.
func (s *Store) Transition(ctx context.Context, id int64, from, to State, actor string) error {
	if !CanTransition(from, to) {
		return fmt.Errorf("%w: a change cannot go from %s to %s", ErrInvalid, from, to)
	}
	return s.write(ctx, func(tx *sql.Tx, now time.Time) error {
		var hash string
		err := tx.QueryRowContext(ctx, `UPDATE change_requests SET state = $1, updated_at = $2
			WHERE id = $3 AND state = $4 RETURNING change_hash`, to, stamp(now), id, from).Scan(&hash)
		if errors.Is(err, sql.ErrNoRows) {
			return whyNot(ctx, tx, id, from, "")
		}
		if err != nil {
			return err
		}
		return record(ctx, tx, now, audit.Entry{Actor: actor, Action: "change.transition", RequestID: id, ChangeHash: hash},
			map[string]any{"from": from, "to": to})
	})
}

// Verification is the outcome of checking a change request on the twin.
type Verification struct {
	// ChangeHash is the hash of the change that was checked; it must still
	// be the request's.
	ChangeHash  string
	TwinVersion string
	// Report is the check report as JSON.
	Report  json.RawMessage
	Verdict verdict.Decision
	// To is the state the request moves to from verifying.
	To State
}

// RecordVerification stores a verifying change request's check report and
// twin version and moves it on to v.To, in one transaction.
func (s *Store) RecordVerification(ctx context.Context, id int64, v Verification, actor string) error {
	if !CanTransition(Verifying, v.To) {
		return fmt.Errorf("%w: a change cannot go from %s to %s", ErrInvalid, Verifying, v.To)
	}
	if !json.Valid(v.Report) {
		return fmt.Errorf("%w: the report is not JSON", ErrInvalid)
	}
	return s.write(ctx, func(tx *sql.Tx, now time.Time) error {
		res, err := tx.ExecContext(ctx, `UPDATE change_requests SET state = $1, report = $2, twin_version = $3, updated_at = $4
			WHERE id = $5 AND state = $6 AND change_hash = $7`,
			v.To, string(v.Report), v.TwinVersion, stamp(now), id, Verifying, v.ChangeHash)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return whyNot(ctx, tx, id, Verifying, v.ChangeHash)
		}
		return record(ctx, tx, now, audit.Entry{Actor: actor, Action: "change.verify", RequestID: id,
			ChangeHash: v.ChangeHash, Verdict: string(v.Verdict)},
			map[string]any{"from": Verifying, "to": v.To, "twinVersion": v.TwinVersion})
	})
}
