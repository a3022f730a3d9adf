// Package store keeps the review service's state: users and their API
// tokens, change requests and their state machine, review decisions and
// freeze windows. It runs on an embedded SQLite database or on PostgreSQL
// with the same SQL, and records everything it changes in the audit log
// (package audit) within the transaction that makes the change.
package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // the "sqlite" database/sql driver

	"github.com/preflight-sh/preflight/audit"
)

// Errors the store's operations wrap, for callers to tell apart with
// errors.Is.
var (
	// ErrNotFound: no such user, token, change request or freeze window.
	ErrNotFound = errors.New("not found")
	// ErrInvalid: the input breaks a rule of the data model, such as an
	// unknown role or a transition the state machine does not allow.
	ErrInvalid = errors.New("invalid")
	// ErrConflict: the record is not in the state or at the change hash the
	// caller expected, because someone else changed it first.
	ErrConflict = errors.New("conflict")
	// ErrDuplicate: the user already approved this change at this hash.
	ErrDuplicate = errors.New("duplicate")
)

// SQLiteFile is the name of the database file in a SQLite data directory.
const SQLiteFile = "preflight.db"

// Store is an open database. It is safe for concurrent use; writes go one
// at a time, in the order of the audit log.
type Store struct {
	db *sql.DB
}

// Open opens the database dsn names and brings its schema up to date. dsn
// is a postgres:// or postgresql:// URL, or else a data directory, created
// if missing, holding the SQLite database file SQLiteFile.
func Open(ctx context.Context, dsn string) (*Store, error) {
	driver, source := "pgx", dsn
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		if err := os.MkdirAll(dsn, 0o700); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		abs, err := filepath.Abs(filepath.Join(dsn, SQLiteFile))
		if err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		// Every transaction begins IMMEDIATE, taking the write lock at once:
		// a deferred one that read first could not upgrade under
		// contention, and the audit log needs writers in line.
		u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs),
			RawQuery: "_txlock=immediate&_busy_timeout=10000&_journal_mode=WAL&_foreign_keys=1"}
		driver, source = "sqlite", u.String()
	}
	db, err := sql.Open(driver, source)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: %w", err)
	}
	if err := migrate(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: %w", err)
	}
	return &Store{db: db}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// DB is the underlying database, for audit.Verify and audit.Export.
func (s *Store) DB() *sql.DB { return s.db }

// inTx runs fn in one transaction, committed if fn succeeds and rolled
// back otherwise.
func inTx(ctx context.Context, db *sql.DB, fn func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// write runs fn in one transaction that first takes the audit log's head
// (audit.Lock), so that writers go one at a time on both databases, and
// stamps it with the time Lock gives, which the change's rows and its
// audit entry share. Times and ids therefore follow the log's order.
func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx, now time.Time) error) error {
	return inTx(ctx, s.db, func(tx *sql.Tx) error {
		now, err := audit.Lock(ctx, tx)
		if err != nil {
			return err
		}
		return fn(tx, now)
	})
}

// record appends e, with detail as its JSON detail, to the audit log.
func record(ctx context.Context, tx *sql.Tx, now time.Time, e audit.Entry, detail map[string]any) error {
	d, err := json.Marshal(detail)
	if err != nil {
		return err
	}
	e.Time, e.Detail = now, d
	_, err = audit.Append(ctx, tx, e)
	return err
}

// stamp formats a time for the database.
func stamp(t time.Time) string { return t.UTC().Format(audit.TimeLayout) }

// parseStamp reads a time stamp written by stamp.
func parseStamp(s string) (time.Time, error) { return time.Parse(audit.TimeLayout, s) }

// nextID takes the next id from the named counter.
func nextID(ctx context.Context, tx *sql.Tx, counter string) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `UPDATE counters SET value = value + 1 WHERE name = $1 RETURNING value`, counter).Scan(&id)
	return id, err
}

// encodeList stores a list as a JSON array.
func encodeList[T ~string](l []T) string {
	if l == nil {
		l = []T{}
	}
	b, _ := json.Marshal(l) // strings always marshal
	return string(b)
}

// decodeList reads a list stored by encodeList.
func decodeList[T ~string](s string) ([]T, error) {
	var l []T
	err := json.Unmarshal([]byte(s), &l)
	return l, err
}
