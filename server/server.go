// Package server is the change review service: an HTTP JSON API and the
// web UI of package webui (ui.go) over
// package store (change requests, decisions, freeze windows, tokens),
// package approval (the decision rules) and package check (verification
// on the twin), with verification run as River jobs that survive crashes.
// It is a thin layer: the rules live in those packages.
package server

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/preflight-sh/preflight/store"
	"github.com/preflight-sh/preflight/webui"
)

// DefaultMaxBody is the largest request body accepted (413 beyond).
const DefaultMaxBody = 1 << 20

// Config is what a server needs.
type Config struct {
	// DSN is the store: a SQLite data directory or a postgres:// URL.
	DSN string
	// Twin is the twin changes are verified on.
	Twin *Twin
	// Logger gets structured logs; nil discards them.
	Logger *slog.Logger
	// Workers is how many verification jobs this process runs at once; 0
	// runs none (jobs are only enqueued, for `preflight worker`s to run:
	// PostgreSQL only).
	Workers int
	// MaxBody caps request bodies; 0 means DefaultMaxBody.
	MaxBody int64
	// JobTimeout bounds one verification (default 2m); RescueAfter is when
	// River retries a job left running by a process that died (PostgreSQL;
	// default JobTimeout+1m; on SQLite such jobs are retried at start).
	JobTimeout  time.Duration
	RescueAfter time.Duration
	// SessionTTL is how long a web UI session lasts (default
	// DefaultSessionTTL). SecureCookies marks the UI's cookies Secure even
	// when the request did not come over TLS (set it behind a TLS proxy).
	SessionTTL    time.Duration
	SecureCookies bool

	// For tests: retry failed jobs at once, and a hook between the check
	// and recording it.
	retryNow bool
	hook     func(ctx context.Context, id int64) error
	now      func() time.Time
}

// Server is a running review service (or worker).
type Server struct {
	cfg     Config
	st      *store.Store
	q       queue
	m       *metrics
	log     *slog.Logger
	v       *verifier
	lock    *os.File
	maxBody int64
	// The web UI's CSRF tokens and sessions (see ui.go).
	csrf     *webui.CSRF
	sessions sessions
	charts   charts // the change page's simulation charts
}

// New opens the store and River's queue and brings both schemas up to
// date. It does not start processing jobs: Start does.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Twin == nil {
		return nil, errors.New("server: no twin")
	}
	if cfg.Workers < 0 {
		return nil, errors.New("server: negative number of workers")
	}
	if cfg.Workers == 0 && !isPostgres(cfg.DSN) {
		return nil, errors.New("server: with SQLite the server must run the verification jobs itself (workers > 0)")
	}
	s := &Server{cfg: cfg, log: cfg.Logger, maxBody: cfg.MaxBody}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.maxBody == 0 {
		s.maxBody = DefaultMaxBody
	}
	if cfg.JobTimeout == 0 {
		cfg.JobTimeout = 2 * time.Minute
	}
	if cfg.RescueAfter == 0 {
		cfg.RescueAfter = cfg.JobTimeout + time.Minute
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = DefaultSessionTTL
	}
	key := make([]byte, 32)
	rand.Read(key) // never fails (crypto/rand)
	s.csrf = webui.NewCSRF(key)
	if cfg.now == nil {
		cfg.now = time.Now
	}
	s.cfg = cfg
	if !isPostgres(cfg.DSN) {
		lock, err := lockDir(cfg.DSN)
		if err != nil {
			return nil, err
		}
		s.lock = lock
	}
	st, err := store.Open(ctx, cfg.DSN)
	if err != nil {
		s.unlock()
		return nil, err
	}
	s.st = st
	s.v = &verifier{st: st, tw: cfg.Twin, log: s.log, now: cfg.now, hook: cfg.hook}
	q, err := openQueue(ctx, cfg.DSN, queueConfig{workers: cfg.Workers, jobTimeout: cfg.JobTimeout, rescue: cfg.RescueAfter,
		logger: s.log.With("component", "river"), retryNow: cfg.retryNow}, s.v)
	if err != nil {
		st.Close()
		s.unlock()
		return nil, err
	}
	s.q = q
	s.m = newMetrics(q.depth)
	s.v.metrics = s.m
	return s, nil
}

// Store is the server's store.
func (s *Server) Store() *store.Store { return s.st }

// Start starts processing jobs, and enqueues a job for every request still
// proposed or verifying (one whose enqueue was lost in a crash between
// creating it and enqueueing it); River keeps one job per request. It also
// evaluates again every request waiting for approval, so a decision
// recorded just before a crash still moves its request on.
func (s *Server) Start(ctx context.Context) error {
	if err := s.q.start(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	waiting, err := s.st.Changes(ctx, store.NeedsApproval)
	if err != nil {
		return err
	}
	for _, c := range waiting {
		if _, _, err := s.advance(ctx, c.ID, "server:restart"); err != nil {
			return err
		}
	}
	for _, state := range []store.State{store.Proposed, store.Verifying} {
		cs, err := s.st.Changes(ctx, state)
		if err != nil {
			return err
		}
		for _, c := range cs {
			if err := s.q.enqueue(ctx, c.ID); err != nil {
				return err
			}
		}
	}
	return nil
}

// Close stops processing jobs (waiting for running ones until ctx ends,
// then cancelling them, which leaves them to be retried) and closes the
// databases.
func (s *Server) Close(ctx context.Context) error {
	err := s.q.stop(ctx)
	s.q.close()
	err = errors.Join(err, s.st.Close())
	s.unlock()
	return err
}

func (s *Server) unlock() {
	if s.lock != nil {
		s.lock.Close() // releases the flock
		s.lock = nil
	}
}

// lockDir takes an exclusive lock on the SQLite data directory: one
// process owns an embedded database.
func lockDir(dir string) (*os.File, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "serve.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("server: the data directory %s is in use by another preflight process: %w", dir, err)
	}
	return f, nil
}
