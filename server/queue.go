package server

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"
)

// RiverFile is the SQLite database River keeps its jobs in, in the data
// directory next to the store's.
const RiverFile = "river.db"

// VerifyArgs is the verification job: check change request RequestID.
type VerifyArgs struct {
	RequestID int64 `json:"requestId"`
}

// Kind is River's name for the job.
func (VerifyArgs) Kind() string { return "preflight.verify" }

// InsertOpts makes at most one live job per request: enqueueing a request
// again while a job for it is queued, running or done is a no-op.
func (VerifyArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

type verifyWorker struct {
	river.WorkerDefaults[VerifyArgs]
	v *verifier
}

func (w *verifyWorker) Work(ctx context.Context, job *river.Job[VerifyArgs]) error {
	return w.v.run(ctx, job.Args.RequestID, job.Attempt)
}

// queue is River on either database.
type queue interface {
	enqueue(ctx context.Context, id int64) error
	start(ctx context.Context) error
	// stop waits for running jobs until ctx ends, then cancels them: a
	// cancelled job is left retryable.
	stop(ctx context.Context) error
	// depth counts the jobs not yet done (available, scheduled, retryable,
	// running).
	depth(ctx context.Context) (int, error)
	close()
}

type riverQueue[TTx any] struct {
	client *river.Client[TTx]
	// works: the client works jobs (else it only inserts them).
	works, started bool
	countFn        func(ctx context.Context) (int, error)
	closeFn        func()
}

func (q *riverQueue[TTx]) enqueue(ctx context.Context, id int64) error {
	_, err := q.client.Insert(ctx, VerifyArgs{RequestID: id}, nil)
	return err
}

func (q *riverQueue[TTx]) start(ctx context.Context) error {
	if !q.works {
		return nil // insert only
	}
	q.started = true
	return q.client.Start(ctx)
}

func (q *riverQueue[TTx]) stop(ctx context.Context) error {
	if !q.started {
		return nil
	}
	err := q.client.Stop(ctx)
	if err == nil {
		return nil
	}
	// Out of patience: cancel the running jobs, which River records as
	// retryable, and give it a moment to do so.
	cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return errors.Join(err, q.client.StopAndCancel(cctx))
}

func (q *riverQueue[TTx]) depth(ctx context.Context) (int, error) { return q.countFn(ctx) }
func (q *riverQueue[TTx]) close()                                 { q.closeFn() }

const depthQuery = `SELECT COUNT(*) FROM river_job WHERE state IN ('available', 'scheduled', 'retryable', 'running', 'pending')`

// queueConfig tunes River.
type queueConfig struct {
	workers    int // 0: enqueue only, run no jobs
	jobTimeout time.Duration
	rescue     time.Duration
	logger     *slog.Logger
	retryNow   bool
}

// immediateRetry retries a failed job at once (tests).
type immediateRetry struct{}

func (immediateRetry) NextRetry(*rivertype.JobRow) time.Time { return time.Now() }

// backoffRetry retries after 1s, 2s, 4s... up to a minute.
type backoffRetry struct{}

func (backoffRetry) NextRetry(j *rivertype.JobRow) time.Time {
	d := time.Second << min(len(j.Errors), 6)
	return time.Now().Add(d)
}

func riverConfig(qc queueConfig, v *verifier) *river.Config {
	c := &river.Config{
		Logger:               qc.logger,
		JobTimeout:           qc.jobTimeout,
		RescueStuckJobsAfter: qc.rescue,
		MaxAttempts:          10,
		FetchPollInterval:    200 * time.Millisecond,
		FetchCooldown:        20 * time.Millisecond,
		RetryPolicy:          backoffRetry{},
	}
	if qc.retryNow {
		c.RetryPolicy = immediateRetry{}
	}
	if qc.workers > 0 {
		workers := river.NewWorkers()
		river.AddWorker(workers, &verifyWorker{v: v})
		c.Workers = workers
		c.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: qc.workers}}
	}
	return c
}

// isPostgres says whether dsn is a PostgreSQL URL.
func isPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// openQueue opens River on the database dsn names (a SQLite data
// directory, or a PostgreSQL URL) and brings River's schema up to date.
func openQueue(ctx context.Context, dsn string, qc queueConfig, v *verifier) (queue, error) {
	if isPostgres(dsn) {
		return openPostgresQueue(ctx, dsn, qc, v)
	}
	return openSQLiteQueue(ctx, dsn, qc, v)
}

func openSQLiteQueue(ctx context.Context, dir string, qc queueConfig, v *verifier) (queue, error) {
	abs, err := filepath.Abs(filepath.Join(dir, RiverFile))
	if err != nil {
		return nil, err
	}
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs),
		RawQuery: "_busy_timeout=10000&_journal_mode=WAL&_txlock=immediate"}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		return nil, err
	}
	// River's SQLite driver advises one connection: SQLite runs one writer
	// at a time and River runs several things at once.
	db.SetMaxOpenConns(1)
	fail := func(err error) (queue, error) { db.Close(); return nil, fmt.Errorf("river (sqlite): %w", err) }
	driver := riversqlite.New(db)
	if err := migrateRiver(ctx, driver); err != nil {
		return fail(err)
	}
	// The embedded database belongs to one server process (the data
	// directory is locked): a job still marked running was running in a
	// process that died, so it is made available again at once rather
	// than after River's rescue delay.
	if qc.workers > 0 {
		if _, err := db.ExecContext(ctx, `UPDATE river_job SET state = 'available', scheduled_at = CURRENT_TIMESTAMP
			WHERE state = 'running'`); err != nil {
			return fail(err)
		}
	}
	client, err := river.NewClient(driver, riverConfig(qc, v))
	if err != nil {
		return fail(err)
	}
	return &riverQueue[*sql.Tx]{client: client, works: qc.workers > 0,
		countFn: func(ctx context.Context) (int, error) {
			var n int
			err := db.QueryRowContext(ctx, depthQuery).Scan(&n)
			return n, err
		},
		closeFn: func() { db.Close() }}, nil
}

func openPostgresQueue(ctx context.Context, dsn string, qc queueConfig, v *verifier) (queue, error) {
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("river (postgres): %w", err)
	}
	fail := func(err error) (queue, error) { pool.Close(); return nil, fmt.Errorf("river (postgres): %w", err) }
	driver := riverpgxv5.New(pool)
	// Servers and workers starting together take turns migrating.
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fail(err)
	}
	const lockKey = 0x70666c7276 // "pflrv"
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, lockKey); err != nil {
		conn.Release()
		return fail(err)
	}
	err = migrateRiver(ctx, driver)
	_, uerr := conn.Exec(context.Background(), `SELECT pg_advisory_unlock($1)`, lockKey)
	conn.Release()
	if err := errors.Join(err, uerr); err != nil {
		return fail(err)
	}
	client, err := river.NewClient(driver, riverConfig(qc, v))
	if err != nil {
		return fail(err)
	}
	return &riverQueue[pgxTx]{client: client, works: qc.workers > 0,
		countFn: func(ctx context.Context) (int, error) {
			var n int
			err := pool.QueryRow(ctx, depthQuery).Scan(&n)
			return n, err
		},
		closeFn: pool.Close}, nil
}

func migrateRiver[TTx any](ctx context.Context, driver riverdriver.Driver[TTx]) error {
	m, err := rivermigrate.New(driver, nil)
	if err != nil {
		return err
	}
	_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	return err
}

type pgxTx = pgx.Tx
