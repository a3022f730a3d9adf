package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"time"
)

// migrationFiles are the schema's migrations, NNNN_name.sql, applied in
// order of NNNN. Each runs on both databases as written.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrate applies the migrations the database has not had yet, each in a
// transaction of its own, and records them in schema_migrations.
func migrate(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`); err != nil {
		// Two PostgreSQL sessions creating the table at once: the loser
		// fails, and finds the table there.
		if _, err2 := db.ExecContext(ctx, `SELECT 1 FROM schema_migrations`); err2 != nil {
			return fmt.Errorf("creating schema_migrations: %w", err)
		}
	}
	names, err := fs.Glob(migrationFiles, "migrations/*.sql") // sorted
	if err != nil {
		return err
	}
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		version, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migration %s: no version number", base)
		}
		text, err := migrationFiles.ReadFile(name)
		if err != nil {
			return err
		}
		err = inTx(ctx, db, func(tx *sql.Tx) error {
			// Claiming the version first makes a concurrent Open wait here
			// until this one commits, and then find it applied.
			res, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at)
				VALUES ($1, $2, $3) ON CONFLICT (version) DO NOTHING`,
				version, base, stamp(time.Now().UTC()))
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil || n == 0 {
				return err
			}
			_, err = tx.ExecContext(ctx, string(text))
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %s: %w", base, err)
		}
	}
	return nil
}
