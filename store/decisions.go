package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/preflight-sh/preflight/audit"
)

// DecisionKind is what a reviewer decided. The kinds are those package
// approval judges.
type DecisionKind string

// The kinds of decision.
const (
	Approve        DecisionKind = "approve"
	Reject         DecisionKind = "reject"
	OverridePolicy DecisionKind = "override-policy" // lets the change through a policy (Decision.Policy)
	OverrideFreeze DecisionKind = "override-freeze" // lets the change through a freeze (Decision.Freeze)
	BreakGlass     DecisionKind = "break-glass"     // stands in for the approvals until Decision.Until
	AcceptUnknown  DecisionKind = "accept-unknown"  // accepts what the analyses could not decide
)

// Decision is a reviewer's decision on a change request, bound to the
// change and the twin it was made on.
type Decision struct {
	ID        int64
	RequestID int64
	User      string
	// Roles and Groups are the user's when deciding; Decide sets them.
	Roles  []Role
	Groups []string
	Kind   DecisionKind
	// Policy and Freeze name what an override overrides.
	Policy string
	Freeze string
	Reason string
	// ChangeHash is the change the reviewer decided on; it must be the
	// request's current one.
	ChangeHash string
	// TwinVersion is the request's twin version when deciding; Decide sets
	// it, and At.
	TwinVersion string
	At          time.Time
	// Until is when a break-glass ends; zero for other decisions.
	Until time.Time
}

// Decide records a decision on an open change request and, unless to is
// empty, moves the request to state to, in one transaction. A second
// approval by the same user of the same change is ErrDuplicate, a
// decision on a change that has since been edited or closed is
// ErrConflict. Decide does not judge whether the user may decide: package
// approval does.
func (s *Store) Decide(ctx context.Context, d Decision, to State) (Decision, error) {
	if !slices.Contains([]DecisionKind{Approve, Reject, OverridePolicy, OverrideFreeze, BreakGlass, AcceptUnknown}, d.Kind) {
		return Decision{}, fmt.Errorf("%w: unknown kind of decision %q "+
			"(approve, reject, override-policy, override-freeze, break-glass or accept-unknown)", ErrInvalid, d.Kind)
	}
	if d.User == "" || d.ChangeHash == "" {
		return Decision{}, fmt.Errorf("%w: a decision needs a user and the hash of the change", ErrInvalid)
	}
	d.Until = d.Until.UTC().Truncate(time.Microsecond)
	err := s.write(ctx, func(tx *sql.Tx, now time.Time) error {
		d.At = now
		u, err := scanUser(tx.QueryRowContext(ctx, `SELECT name, roles, member_of FROM users WHERE name = $1`, d.User))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: user %q", ErrNotFound, d.User)
		}
		if err != nil {
			return err
		}
		d.Roles, d.Groups = u.Roles, u.Groups
		var state State
		err = tx.QueryRowContext(ctx, `UPDATE change_requests SET updated_at = $1 WHERE id = $2 AND change_hash = $3
			RETURNING state, twin_version`, stamp(now), d.RequestID, d.ChangeHash).Scan(&state, &d.TwinVersion)
		if errors.Is(err, sql.ErrNoRows) {
			return whyNot(ctx, tx, d.RequestID, "", d.ChangeHash)
		}
		if err != nil {
			return err
		}
		if final(state) {
			return fmt.Errorf("%w: change %d is %s", ErrConflict, d.RequestID, state)
		}
		if to != "" {
			if !CanTransition(state, to) {
				return fmt.Errorf("%w: change %d cannot go from %s to %s", ErrInvalid, d.RequestID, state, to)
			}
			if _, err := tx.ExecContext(ctx, `UPDATE change_requests SET state = $1 WHERE id = $2`, to, d.RequestID); err != nil {
				return err
			}
		}
		if d.ID, err = nextID(ctx, tx, "decisions"); err != nil {
			return err
		}
		var until sql.NullString
		if !d.Until.IsZero() {
			until = sql.NullString{String: stamp(d.Until), Valid: true}
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO decisions (id, request_id, user_name, user_roles, user_groups, kind,
			policy, freeze_name, reason, change_hash, twin_version, decided_at, until_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
			ON CONFLICT (request_id, change_hash, user_name) WHERE kind = 'approve' DO NOTHING`,
			d.ID, d.RequestID, d.User, encodeList(d.Roles), encodeList(d.Groups), d.Kind,
			d.Policy, d.Freeze, d.Reason, d.ChangeHash, d.TwinVersion, stamp(now), until)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("%w: %s already approved change %d at hash %s", ErrDuplicate, d.User, d.RequestID, d.ChangeHash)
		}
		detail := map[string]any{"decision": d.ID, "reason": d.Reason, "twinVersion": d.TwinVersion}
		for k, v := range map[string]string{"policy": d.Policy, "freeze": d.Freeze, "until": until.String} {
			if v != "" {
				detail[k] = v
			}
		}
		if to != "" {
			detail["from"], detail["to"] = state, to
		}
		return record(ctx, tx, now, audit.Entry{Actor: d.User, Action: "decision." + string(d.Kind),
			RequestID: d.RequestID, ChangeHash: d.ChangeHash}, detail)
	})
	if err != nil {
		return Decision{}, err
	}
	return d, nil
}

// Decisions lists the decisions on a change request in the order they
// were recorded, which is also the order of their times.
func (s *Store) Decisions(ctx context.Context, requestID int64) ([]Decision, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, request_id, user_name, user_roles, user_groups, kind,
		policy, freeze_name, reason, change_hash, twin_version, decided_at, until_at
		FROM decisions WHERE request_id = $1 ORDER BY id`, requestID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ds []Decision
	for rows.Next() {
		var d Decision
		var roles, groups, at string
		var until sql.NullString
		if err := rows.Scan(&d.ID, &d.RequestID, &d.User, &roles, &groups, &d.Kind,
			&d.Policy, &d.Freeze, &d.Reason, &d.ChangeHash, &d.TwinVersion, &at, &until); err != nil {
			return nil, err
		}
		if d.Roles, err = decodeList[Role](roles); err != nil {
			return nil, fmt.Errorf("decision %d: roles: %w", d.ID, err)
		}
		if d.Groups, err = decodeList[string](groups); err != nil {
			return nil, fmt.Errorf("decision %d: groups: %w", d.ID, err)
		}
		if d.At, err = parseStamp(at); err != nil {
			return nil, err
		}
		if until.Valid {
			if d.Until, err = parseStamp(until.String); err != nil {
				return nil, err
			}
		}
		ds = append(ds, d)
	}
	return ds, rows.Err()
}
