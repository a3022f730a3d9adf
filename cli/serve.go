package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/preflight-sh/preflight/audit"
	"github.com/preflight-sh/preflight/server"
	"github.com/preflight-sh/preflight/store"
)

// The review service's commands: serve, worker, submit, audit, token.

func serviceCmds(e *env) []*cobra.Command {
	return []*cobra.Command{serveCmd(e), workerCmd(e), submitCmd(e), auditCmd(e), tokenCmd(e), freezeCmd(e)}
}

// openServer loads the twin and opens the server's databases.
func openServer(ctx context.Context, e *env, data, twinDir string, workers int, jobTimeout time.Duration, secureCookies bool) (*server.Server, *slog.Logger, error) {
	if data == "" || twinDir == "" {
		return nil, nil, badInput(errors.New("preflight: give --data DIR|postgres://URL and --twin DIR"))
	}
	tw, err := server.LoadTwin(twinDir)
	if err != nil {
		return nil, nil, badInput(fmt.Errorf("preflight: %w", err))
	}
	log := slog.New(slog.NewJSONHandler(e.stderr, nil))
	srv, err := server.New(ctx, server.Config{DSN: data, Twin: tw, Logger: log, Workers: workers, JobTimeout: jobTimeout,
		SecureCookies: secureCookies})
	if err != nil {
		return nil, nil, badInput(fmt.Errorf("preflight: %w", err))
	}
	log.Info("twin loaded", "dir", twinDir, "version", tw.Version)
	return srv, log, nil
}

func serveCmd(e *env) *cobra.Command {
	var addr, data, twinDir string
	var workers int
	var allowRemote, secureCookies bool
	var jobTimeout time.Duration
	cmd := &cobra.Command{
		Use:   "serve --data DIR|postgres://URL --twin DIR [--addr 127.0.0.1:8080]",
		Short: "Run the change review service: HTTP API, verification jobs, approvals, audit log",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				return badInput(fmt.Errorf("preflight: --addr %q: %w", addr, err))
			}
			if ip := net.ParseIP(host); !allowRemote && host != "localhost" && (ip == nil || !ip.IsLoopback()) {
				return badInput(fmt.Errorf("preflight: --addr %s is not a loopback address; put the service behind a TLS proxy and pass --allow-remote to listen on it", addr))
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			srv, log, err := openServer(ctx, e, data, twinDir, workers, jobTimeout, secureCookies)
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				srv.Close(context.Background())
				return badInput(fmt.Errorf("preflight: %w", err))
			}
			if err := srv.Start(ctx); err != nil {
				ln.Close()
				srv.Close(context.Background())
				return &exitError{code: ExitInternal, err: fmt.Errorf("preflight: %w", err)}
			}
			hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
				WriteTimeout: 60 * time.Second, IdleTimeout: 2 * time.Minute}
			log.Info("serving", "addr", ln.Addr().String(), "data", redact(data))
			served := make(chan error, 1)
			go func() { served <- hs.Serve(ln) }()
			select {
			case <-ctx.Done():
			case err = <-served:
			}
			log.Info("shutting down: no new requests; finishing requests and jobs in flight")
			sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err = errors.Join(ignoreClosed(err), hs.Shutdown(sctx), srv.Close(sctx))
			if err != nil {
				return &exitError{code: ExitInternal, err: fmt.Errorf("preflight: %w", err)}
			}
			log.Info("stopped")
			return nil
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "address to listen on (loopback unless --allow-remote)")
	cmd.Flags().StringVar(&data, "data", "", "data directory (embedded SQLite) or postgres:// URL")
	cmd.Flags().StringVar(&twinDir, "twin", "", "the twin directory changes are verified on")
	cmd.Flags().IntVar(&workers, "workers", 2, "verification jobs run at once in this process (0: none, with PostgreSQL and separate workers)")
	cmd.Flags().BoolVar(&allowRemote, "allow-remote", false, "allow a non-loopback --addr")
	cmd.Flags().BoolVar(&secureCookies, "secure-cookies", false, "mark the web UI's cookies Secure (behind a TLS proxy; they always are over TLS)")
	cmd.Flags().DurationVar(&jobTimeout, "job-timeout", 2*time.Minute, "longest a verification may run")
	return cmd
}

func ignoreClosed(err error) error {
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// redact hides a password in a database URL.
func redact(dsn string) string {
	if i := strings.Index(dsn, "://"); i >= 0 {
		if at := strings.LastIndex(dsn, "@"); at > i {
			return dsn[:i+3] + "***@" + dsn[at+1:]
		}
	}
	return dsn
}

func workerCmd(e *env) *cobra.Command {
	var data, twinDir string
	var workers int
	var jobTimeout time.Duration
	cmd := &cobra.Command{
		Use:   "worker --data postgres://URL --twin DIR",
		Short: "Run verification jobs from the review service's PostgreSQL database",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !strings.HasPrefix(data, "postgres://") && !strings.HasPrefix(data, "postgresql://") {
				return badInput(errors.New("preflight: worker needs --data postgres://URL (an embedded SQLite database belongs to its serve process)"))
			}
			if workers < 1 {
				return badInput(errors.New("preflight: --workers must be at least 1"))
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			srv, log, err := openServer(ctx, e, data, twinDir, workers, jobTimeout, false)
			if err != nil {
				return err
			}
			if err := srv.Start(ctx); err != nil {
				srv.Close(context.Background())
				return &exitError{code: ExitInternal, err: fmt.Errorf("preflight: %w", err)}
			}
			log.Info("worker running", "data", redact(data), "workers", workers)
			<-ctx.Done()
			log.Info("shutting down: finishing running jobs")
			sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := srv.Close(sctx); err != nil {
				return &exitError{code: ExitInternal, err: fmt.Errorf("preflight: %w", err)}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&data, "data", "", "postgres:// URL of the review service's database")
	cmd.Flags().StringVar(&twinDir, "twin", "", "the twin directory (the same twin as the server's)")
	cmd.Flags().IntVar(&workers, "workers", 2, "verification jobs run at once")
	cmd.Flags().DurationVar(&jobTimeout, "job-timeout", 2*time.Minute, "longest a verification may run")
	return cmd
}

func submitCmd(e *env) *cobra.Command {
	var url, token, file, command, title string
	var wait bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "submit --server URL --token TOKEN (--change FILE | --command \"...\") [--title T] [--wait]",
		Short: "Submit a change to the review service",
		Long: `Submit a change to the review service; prints the request's id and state.
With --wait, waits for its verification and prints the state it reached.
The token may also be given in PREFLIGHT_TOKEN.

Exit codes: 0 submitted (with --wait: verified and not rejected), 1 rejected,
2 bad input or refused by the server, 3 internal error.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if token == "" {
				token = os.Getenv("PREFLIGHT_TOKEN")
			}
			if url == "" || token == "" {
				return badInput(errors.New("preflight: give --server URL and --token TOKEN (or PREFLIGHT_TOKEN)"))
			}
			sub := server.Submission{Title: title}
			switch {
			case (file == "") == (command == ""):
				return badInput(errors.New("preflight: give --change FILE or --command \"...\", one of them"))
			case command != "":
				sub.Kind, sub.Body = string(store.CommandChange), command
			default:
				b, err := os.ReadFile(file)
				if err != nil {
					return badInput(fmt.Errorf("preflight: %w", err))
				}
				sub.Kind, sub.Body = string(store.FileChange), string(b)
				if strings.HasSuffix(file, ".cmd") {
					sub.Kind = string(store.CommandChange)
				}
			}
			c := &client{base: strings.TrimRight(url, "/"), token: token, http: &http.Client{Timeout: 30 * time.Second}}
			var tw server.TwinInfo
			if err := c.do("GET", "/api/v1/twin", nil, &tw); err != nil {
				return err
			}
			sub.TwinVersion = tw.Version
			var ch server.Change
			if err := c.do("POST", "/api/v1/changes", sub, &ch); err != nil {
				return err
			}
			if wait {
				deadline := time.Now().Add(timeout)
				for ch.State == "proposed" || ch.State == "verifying" {
					if time.Now().After(deadline) {
						return &exitError{code: ExitInternal, err: fmt.Errorf("preflight: change %d is still %s after %v", ch.ID, ch.State, timeout)}
					}
					time.Sleep(200 * time.Millisecond)
					if err := c.do("GET", fmt.Sprintf("/api/v1/changes/%d", ch.ID), nil, &ch); err != nil {
						return err
					}
				}
			}
			err := e.emit(func(w io.Writer) error {
				line := fmt.Sprintf("change %d: %s", ch.ID, ch.State)
				if ch.Verdict != "" {
					line += " (verdict " + ch.Verdict + ")"
				}
				if ch.Approval != nil && len(ch.Approval.Unmet) > 0 {
					line += "\n  waiting for: " + strings.Join(ch.Approval.Unmet, "\n  waiting for: ")
				}
				_, err := fmt.Fprintln(w, line)
				return err
			})
			if err == nil && ch.State == "rejected" {
				return &exitError{code: ExitBlocked}
			}
			return err
		},
	}
	cmd.Flags().StringVar(&url, "server", "", "the review service's URL, e.g. http://127.0.0.1:8080")
	cmd.Flags().StringVar(&token, "token", "", "API token (or PREFLIGHT_TOKEN)")
	cmd.Flags().StringVar(&file, "change", "", "change file (YAML), or a .cmd file of commands")
	cmd.Flags().StringVar(&command, "command", "", `operator command, e.g. "drain zone use1-az2"`)
	cmd.Flags().StringVar(&title, "title", "", "title of the change request")
	cmd.Flags().BoolVar(&wait, "wait", false, "wait for the verification")
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Minute, "how long --wait waits")
	return cmd
}

// client calls the review service's API.
type client struct {
	base, token string
	http        *http.Client
}

func (c *client) do(method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		return badInput(fmt.Errorf("preflight: --server: %w", err))
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return badInput(fmt.Errorf("preflight: %w", err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return badInput(fmt.Errorf("preflight: %w", err))
	}
	if resp.StatusCode >= 400 {
		var e struct{ Error string }
		if json.Unmarshal(raw, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(raw))
		}
		return badInput(fmt.Errorf("preflight: %s %s: %s: %s", method, path, resp.Status, e.Error))
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return &exitError{code: ExitInternal, err: fmt.Errorf("preflight: %s %s: %w", method, path, err)}
	}
	return nil
}

func auditCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Verify or export the review service's audit log"}
	var data string
	verify := &cobra.Command{
		Use:   "verify --data DIR|postgres://URL",
		Short: "Check the audit log's hash chain: exit 0 intact, 1 at the first bad entry",
		Args:  cobra.NoArgs,
		RunE: withStore(&data, func(cmd *cobra.Command, args []string, st *store.Store) error {
			head, err := audit.Verify(cmd.Context(), st.DB())
			var ce *audit.ChainError
			if errors.As(err, &ce) {
				return &exitError{code: ExitBlocked, err: fmt.Errorf("preflight: %w", err)}
			}
			if err != nil {
				return &exitError{code: ExitInternal, err: fmt.Errorf("preflight: %w", err)}
			}
			return e.emit(func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "audit log intact: %d entries, head %s\n", head.Seq, head.Hash)
				return err
			})
		}),
	}
	export := &cobra.Command{
		Use:   "export --data DIR|postgres://URL",
		Short: "Write the audit log as JSON lines",
		Args:  cobra.NoArgs,
		RunE: withStore(&data, func(cmd *cobra.Command, args []string, st *store.Store) error {
			return e.emit(func(w io.Writer) error { return audit.Export(cmd.Context(), st.DB(), w) })
		}),
	}
	for _, c := range []*cobra.Command{verify, export} {
		c.Flags().StringVar(&data, "data", "", "data directory (embedded SQLite) or postgres:// URL")
	}
	cmd.AddCommand(verify, export)
	return cmd
}

func openStore(ctx context.Context, data string) (*store.Store, error) {
	if data == "" {
		return nil, badInput(errors.New("preflight: give --data DIR|postgres://URL"))
	}
	st, err := store.Open(ctx, data)
	if err != nil {
		return nil, badInput(fmt.Errorf("preflight: %w", err))
	}
	return st, nil
}

func tokenCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Manage the review service's users and API tokens"}
	var data, user, name string
	var roles, groups []string
	create := &cobra.Command{
		Use:   "create --data DIR|postgres://URL --user NAME --roles author,approver [--groups team-a]",
		Short: "Create or update a user and print a new API token for it (shown only this once)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if user == "" || len(roles) == 0 {
				return badInput(errors.New("preflight: give --user NAME and --roles (viewer, author, approver, admin)"))
			}
			st, err := openStore(cmd.Context(), data)
			if err != nil {
				return err
			}
			defer st.Close()
			u := store.User{Name: user, Groups: groups}
			for _, r := range roles {
				u.Roles = append(u.Roles, store.Role(strings.TrimSpace(r)))
			}
			const actor = "cli:token-create"
			if err := st.PutUser(cmd.Context(), u, actor); err != nil {
				return badInput(fmt.Errorf("preflight: %w", err))
			}
			token, _, err := st.CreateToken(cmd.Context(), user, name, actor)
			if err != nil {
				return badInput(fmt.Errorf("preflight: %w", err))
			}
			return e.emit(func(w io.Writer) error { _, err := fmt.Fprintln(w, token); return err })
		},
	}
	create.Flags().StringVar(&data, "data", "", "data directory (embedded SQLite) or postgres:// URL")
	create.Flags().StringVar(&user, "user", "", "user name")
	create.Flags().StringSliceVar(&roles, "roles", nil, "roles: viewer, author, approver, admin (comma-separated)")
	create.Flags().StringSliceVar(&groups, "groups", nil, "groups, e.g. api-platform (comma-separated)")
	create.Flags().StringVar(&name, "name", "cli", "a name for the token")
	cmd.AddCommand(create)
	return cmd
}
