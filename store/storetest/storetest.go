// Package storetest runs tests of packages store and audit against every
// database the store supports: SQLite always, PostgreSQL when the
// environment variable PREFLIGHT_TEST_POSTGRES holds a postgres:// URL
// (.ci/postgres.sh starts a server and prints one).
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/preflight-sh/preflight/store"
)

// EnvPostgres names the environment variable with the PostgreSQL URL.
const EnvPostgres = "PREFLIGHT_TEST_POSTGRES"

// Run runs fn as one subtest per database, "sqlite" and "postgres", each
// with the DSN of a new, empty database of its own. The PostgreSQL subtest
// is skipped, saying why, when PREFLIGHT_TEST_POSTGRES is not set.
func Run(t *testing.T, fn func(t *testing.T, dsn string)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, t.TempDir()) })
	t.Run("postgres", func(t *testing.T) {
		base := os.Getenv(EnvPostgres)
		if base == "" {
			t.Skip(EnvPostgres + " is not set, so the PostgreSQL run is skipped; " +
				"set it to a postgres:// URL (.ci/postgres.sh starts a server and prints one)")
		}
		fn(t, schema(t, base))
	})
}

// schema creates a schema of its own for the test in the database at base,
// dropped when the test ends, and returns base with that schema as the
// search path: tests and packages run in parallel on one database.
func schema(t *testing.T, base string) string {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", EnvPostgres, err)
	}
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	b := make([]byte, 8)
	rand.Read(b)
	name := "preflight_test_" + hex.EncodeToString(b)
	if _, err := db.ExecContext(context.Background(), "CREATE SCHEMA "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := db.ExecContext(context.Background(), "DROP SCHEMA "+name+" CASCADE"); err != nil {
			t.Errorf("dropping schema %s: %v", name, err)
		}
	})
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// Open opens the store at dsn, closed when the test ends.
func Open(t *testing.T, dsn string) *store.Store {
	t.Helper()
	s, err := store.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
