package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/preflight-sh/preflight/audit"
)

// FreezeWindow is a recurring period in which changes are not applied
// unless someone in one of its override groups overrides it.
type FreezeWindow struct {
	Name string
	// Schedule says when the window opens; the store keeps it as given.
	Schedule string
	// Duration is how long the window stays open, in whole seconds.
	Duration       time.Duration
	OverrideGroups []string
}

// PutFreezeWindow creates the freeze window or replaces the one of the
// same name.
func (s *Store) PutFreezeWindow(ctx context.Context, w FreezeWindow, actor string) error {
	if w.Name == "" || w.Schedule == "" {
		return fmt.Errorf("%w: a freeze window needs a name and a schedule", ErrInvalid)
	}
	if w.Duration < time.Second || w.Duration%time.Second != 0 {
		return fmt.Errorf("%w: freeze window %q: duration %s is not a positive number of seconds", ErrInvalid, w.Name, w.Duration)
	}
	return s.write(ctx, func(tx *sql.Tx, now time.Time) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO freeze_windows (name, schedule, duration_seconds, override_groups)
			VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO UPDATE SET schedule = excluded.schedule,
			duration_seconds = excluded.duration_seconds, override_groups = excluded.override_groups`,
			w.Name, w.Schedule, int64(w.Duration/time.Second), encodeList(w.OverrideGroups)); err != nil {
			return err
		}
		return record(ctx, tx, now, audit.Entry{Actor: actor, Action: "freeze.put"}, map[string]any{
			"name": w.Name, "schedule": w.Schedule, "duration": w.Duration.String(), "overrideGroups": w.OverrideGroups})
	})
}

// FreezeWindows lists the freeze windows in order of name.
func (s *Store) FreezeWindows(ctx context.Context) ([]FreezeWindow, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, schedule, duration_seconds, override_groups FROM freeze_windows ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ws []FreezeWindow
	for rows.Next() {
		var w FreezeWindow
		var seconds int64
		var groups string
		if err := rows.Scan(&w.Name, &w.Schedule, &seconds, &groups); err != nil {
			return nil, err
		}
		w.Duration = time.Duration(seconds) * time.Second
		if w.OverrideGroups, err = decodeList[string](groups); err != nil {
			return nil, fmt.Errorf("freeze window %q: override groups: %w", w.Name, err)
		}
		ws = append(ws, w)
	}
	return ws, rows.Err()
}

// DeleteFreezeWindow deletes the named freeze window.
func (s *Store) DeleteFreezeWindow(ctx context.Context, name, actor string) error {
	return s.write(ctx, func(tx *sql.Tx, now time.Time) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM freeze_windows WHERE name = $1`, name)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("%w: freeze window %q", ErrNotFound, name)
		}
		return record(ctx, tx, now, audit.Entry{Actor: actor, Action: "freeze.delete"}, map[string]any{"name": name})
	})
}
