package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/preflight-sh/preflight/audit"
	"github.com/preflight-sh/preflight/store"
	"github.com/preflight-sh/preflight/store/storetest"
)

var (
	shopOnce sync.Once
	shop     *Twin
	shopErr  error
)

// shopTwin loads examples/shop once for the whole test binary.
func shopTwin(t testing.TB) *Twin {
	t.Helper()
	shopOnce.Do(func() { shop, shopErr = LoadTwin("../examples/shop") })
	if shopErr != nil {
		t.Fatal(shopErr)
	}
	return shop
}

func readChange(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile("../examples/shop/changes/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// testServer runs a server on dsn behind httptest.
type testServer struct {
	srv    *Server
	ts     *httptest.Server
	tokens map[string]string
}

func start(t testing.TB, cfg Config) *testServer {
	t.Helper()
	cfg.Twin = shopTwin(t)
	switch {
	case cfg.Workers < 0: // none: enqueue only
		cfg.Workers = 0
	case cfg.Workers == 0:
		cfg.Workers = 2
	}
	cfg.retryNow = true
	srv, err := New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	closed := false
	t.Cleanup(func() {
		ts.Close()
		if !closed {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			srv.Close(ctx)
		}
	})
	return &testServer{srv: srv, ts: ts, tokens: map[string]string{}}
}

// users creates the cast: alice and dave write changes, bob, carol and
// erin approve (bob and carol in api-platform), vic only views, root is an
// admin.
func (s *testServer) users(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	for _, u := range []store.User{
		{Name: "alice", Roles: []store.Role{store.Author}, Groups: []string{"storefront"}},
		{Name: "dave", Roles: []store.Role{store.Author}},
		{Name: "bob", Roles: []store.Role{store.Approver}, Groups: []string{"api-platform"}},
		{Name: "carol", Roles: []store.Role{store.Approver}, Groups: []string{"api-platform"}},
		{Name: "erin", Roles: []store.Role{store.Approver}},
		{Name: "vic", Roles: []store.Role{store.Viewer}},
		{Name: "root", Roles: []store.Role{store.Admin}},
	} {
		s.addUser(t, ctx, u)
	}
}

func (s *testServer) addUser(t testing.TB, ctx context.Context, u store.User) {
	t.Helper()
	if err := s.srv.Store().PutUser(ctx, u, "test"); err != nil {
		t.Fatal(err)
	}
	tok, _, err := s.srv.Store().CreateToken(ctx, u.Name, "test", "test")
	if err != nil {
		t.Fatal(err)
	}
	s.tokens[u.Name] = tok
}

// call sends a request as user ("" for none) and decodes a JSON answer.
func (s *testServer) call(t testing.TB, method, path, user string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, s.ts.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.Header.Set("Authorization", "Bearer "+s.tokens[user])
	}
	resp, err := s.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: %d, not JSON: %s", method, path, resp.StatusCode, raw)
		}
	} else {
		out = map[string]any{"text": string(raw)}
	}
	return resp.StatusCode, out
}

func (s *testServer) submit(t testing.TB, user, kind, body string) int64 {
	t.Helper()
	code, out := s.call(t, "POST", "/api/v1/changes", user,
		Submission{Kind: kind, Body: body, TwinVersion: shopTwin(t).Version})
	if code != http.StatusCreated {
		t.Fatalf("submit: %d %v", code, out)
	}
	if out["state"] != "proposed" {
		t.Fatalf("submitted change is %v, want proposed", out["state"])
	}
	return int64(out["id"].(float64))
}

// wait polls the change until it leaves proposed and verifying.
func (s *testServer) wait(t testing.TB, id int64) map[string]any {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		code, out := s.call(t, "GET", fmt.Sprintf("/api/v1/changes/%d", id), "vic", nil)
		if code != 200 {
			t.Fatalf("get %d: %d %v", id, code, out)
		}
		if st := out["state"]; st != "proposed" && st != "verifying" {
			return out
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("change %d was not verified in 30s", id)
	return nil
}

func want(t testing.TB, what string, code, wantCode int, out map[string]any) {
	t.Helper()
	if code != wantCode {
		t.Fatalf("%s: got %d %v, want %d", what, code, out, wantCode)
	}
	if code >= 400 {
		if msg, _ := out["error"].(string); msg == "" {
			t.Fatalf("%s: %d without a JSON error: %v", what, code, out)
		}
	}
}

// auditEntries exports the audit log.
func auditEntries(t testing.TB, st *store.Store) []map[string]any {
	t.Helper()
	var buf bytes.Buffer
	if err := audit.Export(context.Background(), st.DB(), &buf); err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	dec := json.NewDecoder(&buf)
	for dec.More() {
		var e map[string]any
		if err := dec.Decode(&e); err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

// count counts the audit entries of an action on a request (0: any).
func count(entries []map[string]any, action string, id int64) int {
	n := 0
	for _, e := range entries {
		rid, _ := e["requestId"].(float64)
		if e["action"] == action && (id == 0 || int64(rid) == id) {
			n++
		}
	}
	return n
}

// TestFlow: submit → verified → approvals → approved → applied → rolled
// back, with the checks on the way, on SQLite and PostgreSQL; the audit
// log verifies after the flow and not after tampering.
func TestFlow(t *testing.T) {
	storetest.Run(t, func(t *testing.T, dsn string) {
		s := start(t, Config{DSN: dsn})
		s.users(t)
		id := s.submit(t, "alice", "file", readChange(t, "01-scale-api.yaml"))
		c := s.wait(t, id)
		if c["state"] != "needs-approval" || c["verdict"] != "pass" {
			t.Fatalf("verified change: state %v verdict %v, want needs-approval pass", c["state"], c["verdict"])
		}
		ap := c["approval"].(map[string]any)
		if ap["required"].(float64) != 1 {
			t.Fatalf("approval status %v: want 1 approval required", ap)
		}
		path := fmt.Sprintf("/api/v1/changes/%d", id)

		code, out := s.call(t, "GET", path+"/report?format=markdown", "vic", nil)
		if code != 200 || !strings.Contains(out["text"].(string), "**PASS**") {
			t.Fatalf("markdown report: %d %v", code, out)
		}
		code, out = s.call(t, "GET", path+"/report", "vic", nil)
		want(t, "json report", code, 200, out)
		if out["kind"] != "Check" {
			t.Fatalf("json report kind %v", out["kind"])
		}
		code, out = s.call(t, "GET", path+"/report?format=pdf", "vic", nil)
		want(t, "unknown format", code, 400, out)

		code, out = s.call(t, "POST", path+"/apply", "bob", nil)
		want(t, "apply before approval", code, 409, out)
		code, out = s.call(t, "POST", path+"/decisions", "alice", DecisionRequest{Kind: "approve"})
		want(t, "author approves", code, 403, out) // alice is no approver
		code, out = s.call(t, "POST", path+"/decisions", "vic", DecisionRequest{Kind: "approve"})
		want(t, "viewer approves", code, 403, out)
		code, out = s.call(t, "POST", path+"/decisions", "bob", DecisionRequest{Kind: "approve", ChangeHash: "feed"})
		want(t, "approval of another hash", code, 409, out)
		code, out = s.call(t, "POST", path+"/decisions", "bob", DecisionRequest{Kind: "frobnicate"})
		want(t, "unknown kind", code, 400, out)

		code, out = s.call(t, "POST", path+"/decisions", "bob", DecisionRequest{Kind: "approve", Reason: "looks right"})
		want(t, "approval", code, 201, out)
		if out["state"] != "approved" {
			t.Fatalf("after one approval: %v", out)
		}
		code, out = s.call(t, "POST", path+"/decisions", "bob", DecisionRequest{Kind: "approve"})
		want(t, "second approval by bob", code, 409, out)

		code, out = s.call(t, "POST", path+"/apply", "alice", nil)
		want(t, "apply by an author", code, 403, out)
		code, out = s.call(t, "POST", path+"/rollback", "bob", nil)
		want(t, "rollback before apply", code, 409, out)
		code, out = s.call(t, "POST", path+"/apply", "bob", nil)
		want(t, "apply", code, 200, out)
		if out["state"] != "applied" {
			t.Fatalf("after apply: %v", out)
		}
		code, out = s.call(t, "POST", path+"/rollback", "root", nil)
		want(t, "rollback", code, 200, out)
		if out["state"] != "rolled-back" {
			t.Fatalf("after rollback: %v", out)
		}

		code, out = s.call(t, "GET", "/api/v1/changes", "vic", nil)
		want(t, "list", code, 200, out)
		if n := len(out["changes"].([]any)); n != 1 {
			t.Fatalf("list: %d changes", n)
		}

		// A command, and an author's own change (separation of duties, 409).
		s.addUser(t, context.Background(), store.User{Name: "pat", Roles: []store.Role{store.Author, store.Approver}})
		id2 := s.submit(t, "pat", "command", "drain zone use1-az2")
		if c := s.wait(t, id2); c["state"] != "needs-approval" {
			t.Fatalf("command change: %v", c["state"])
		}
		code, out = s.call(t, "POST", fmt.Sprintf("/api/v1/changes/%d/decisions", id2), "pat", DecisionRequest{Kind: "approve"})
		want(t, "author approves own change", code, 409, out)
		code, out = s.call(t, "POST", fmt.Sprintf("/api/v1/changes/%d/decisions", id2), "erin", DecisionRequest{Kind: "reject", Reason: "not now"})
		want(t, "reject", code, 201, out)
		if out["state"] != "rejected" {
			t.Fatalf("after reject: %v", out)
		}

		// A blocked change is rejected by the verification itself.
		id3 := s.submit(t, "alice", "file", readChange(t, "04-remove-billing-hosts-typo.yaml"))
		if c := s.wait(t, id3); c["state"] != "rejected" || c["verdict"] != "block" {
			t.Fatalf("blocked change: %v %v", c["state"], c["verdict"])
		}
		// A low-risk change needs no approval.
		id4 := s.submit(t, "alice", "file", readChange(t, "03-remove-billing-host.yaml"))
		if c := s.wait(t, id4); c["state"] != "approved" {
			t.Fatalf("low-risk change: %v", c["state"])
		}

		entries := auditEntries(t, s.srv.Store())
		for _, a := range []string{"change.create", "change.verify", "decision.approve", "change.transition"} {
			if count(entries, a, id) == 0 {
				t.Errorf("no %s in the audit log for change %d", a, id)
			}
		}
		if _, err := audit.Verify(context.Background(), s.srv.Store().DB()); err != nil {
			t.Fatalf("audit log after the flow: %v", err)
		}
		if _, err := s.srv.Store().DB().Exec(`UPDATE audit_log SET actor = 'mallory' WHERE seq = 5`); err != nil {
			t.Fatal(err)
		}
		var ce *audit.ChainError
		if _, err := audit.Verify(context.Background(), s.srv.Store().DB()); !errors.As(err, &ce) || ce.Seq != 5 {
			t.Fatalf("audit log after tampering with entry 5: %v", err)
		}
	})
}

// TestBadRequests: 401, 403, 409, 413, 400 and 404, each with a JSON error.
func TestBadRequests(t *testing.T) {
	s := start(t, Config{DSN: t.TempDir(), MaxBody: 64 << 10})
	s.users(t)
	good := Submission{Kind: "command", Body: "drain zone use1-az2", TwinVersion: shopTwin(t).Version}

	code, out := s.call(t, "GET", "/api/v1/changes", "", nil)
	want(t, "no token", code, 401, out)
	s.tokens["mallory"] = "pft_" + strings.Repeat("A", 43)
	code, out = s.call(t, "GET", "/api/v1/changes", "mallory", nil)
	want(t, "unknown token", code, 401, out)
	s.tokens["junk"] = "hello"
	code, out = s.call(t, "GET", "/api/v1/changes", "junk", nil)
	want(t, "malformed token", code, 401, out)

	code, out = s.call(t, "POST", "/api/v1/changes", "vic", good)
	want(t, "viewer submits", code, 403, out)
	code, out = s.call(t, "POST", "/api/v1/changes", "bob", good)
	want(t, "approver submits", code, 403, out)

	stale := good
	stale.TwinVersion = "0000"
	code, out = s.call(t, "POST", "/api/v1/changes", "alice", stale)
	want(t, "stale twin version", code, 409, out)

	big := good
	big.Body = strings.Repeat("# padding\n", 10<<10) + good.Body
	code, out = s.call(t, "POST", "/api/v1/changes", "alice", big)
	want(t, "oversized body", code, 413, out)

	for what, body := range map[string]string{
		"malformed JSON": `{"kind": "command", "body": `,
		"trailing data":  `{"kind": "command", "body": "drain zone use1-az2"} {}`,
		"unknown field":  `{"kind": "command", "body": "drain zone use1-az2", "admin": true}`,
		"wrong type":     `{"kind": 3}`,
		"unknown kind":   fmt.Sprintf(`{"kind": "poem", "body": "roses", "twinVersion": %q}`, good.TwinVersion),
		"empty body":     fmt.Sprintf(`{"kind": "command", "body": "  ", "twinVersion": %q}`, good.TwinVersion),
		"bad command":    fmt.Sprintf(`{"kind": "command", "body": "frobnicate the router", "twinVersion": %q}`, good.TwinVersion),
		"bad file":       fmt.Sprintf(`{"kind": "file", "body": "operations: [", "twinVersion": %q}`, good.TwinVersion),
	} {
		code, out = s.call(t, "POST", "/api/v1/changes", "alice", body)
		want(t, what, code, 400, out)
	}
	code, out = s.call(t, "POST", "/api/v1/changes/1/decisions", "bob", `{"kind": "approve"`)
	want(t, "malformed decision", code, 400, out)
	code, out = s.call(t, "GET", "/api/v1/changes/999", "vic", nil)
	want(t, "unknown change", code, 404, out)
	code, out = s.call(t, "GET", "/api/v1/changes/abc", "vic", nil)
	want(t, "bad id", code, 400, out)
	code, out = s.call(t, "GET", "/nowhere", "", nil)
	want(t, "unknown route", code, 404, out)

	code, out = s.call(t, "GET", "/healthz", "", nil)
	want(t, "healthz", code, 200, out)
	code, out = s.call(t, "GET", "/metrics", "", nil)
	if code != 200 || !strings.Contains(out["text"].(string), `preflight_http_requests_total{code="413",method="POST",route="POST /api/v1/changes"} 1`) ||
		!strings.Contains(out["text"].(string), "preflight_queue_depth") {
		t.Fatalf("metrics: %d\n%v", code, out["text"])
	}
}

// TestConcurrentApprovals: many goroutines approving one change at once,
// as the same person (one approval counts, the others get 409) and as
// different people (every approval is recorded, the change is approved
// exactly once).
func TestConcurrentApprovals(t *testing.T) {
	storetest.Run(t, func(t *testing.T, dsn string) {
		s := start(t, Config{DSN: dsn})
		s.users(t)
		const n = 16
		for i := range n {
			s.addUser(t, context.Background(), store.User{Name: fmt.Sprintf("approver%02d", i), Roles: []store.Role{store.Approver}})
		}
		// The same person, n times at once.
		id := s.submit(t, "alice", "file", readChange(t, "01-scale-api.yaml"))
		if c := s.wait(t, id); c["state"] != "needs-approval" {
			t.Fatalf("state %v", c["state"])
		}
		path := fmt.Sprintf("/api/v1/changes/%d/decisions", id)
		var ok, conflict atomic.Int32
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				code, out := s.call(t, "POST", path, "bob", DecisionRequest{Kind: "approve"})
				switch code {
				case 201:
					ok.Add(1)
				case 409:
					conflict.Add(1)
				default:
					t.Errorf("concurrent approval: %d %v", code, out)
				}
			})
		}
		wg.Wait()
		if ok.Load() != 1 || conflict.Load() != n-1 {
			t.Fatalf("same approver %d times: %d recorded, %d conflicts; want 1 and %d", n, ok.Load(), conflict.Load(), n-1)
		}

		// n different approvers at once on a change that needs one.
		id2 := s.submit(t, "alice", "file", readChange(t, "02-drain-zone-for-maintenance.yaml"))
		if c := s.wait(t, id2); c["state"] != "needs-approval" {
			t.Fatalf("state %v", c["state"])
		}
		path = fmt.Sprintf("/api/v1/changes/%d/decisions", id2)
		ok.Store(0)
		for i := range n {
			wg.Go(func() {
				code, out := s.call(t, "POST", path, fmt.Sprintf("approver%02d", i), DecisionRequest{Kind: "approve"})
				switch code {
				case 201:
					ok.Add(1)
				case 409: // the change was approved (and closed to more) meanwhile? No: approved accepts decisions.
					t.Errorf("approval %d: %d %v", i, code, out)
				default:
					t.Errorf("approval %d: %d %v", i, code, out)
				}
			})
		}
		wg.Wait()
		code, out := s.call(t, "GET", fmt.Sprintf("/api/v1/changes/%d", id2), "vic", nil)
		want(t, "get", code, 200, out)
		if out["state"] != "approved" || int(ok.Load()) != n || len(out["decisions"].([]any)) != n {
			t.Fatalf("after %d approvals: state %v, %d recorded, %d decisions", n, out["state"], ok.Load(), len(out["decisions"].([]any)))
		}
		entries := auditEntries(t, s.srv.Store())
		if got := count(entries, "change.transition", id2); got != 2 { // proposed → verifying, needs-approval → approved
			t.Fatalf("change %d moved %d times, want twice (proposed → verifying, needs-approval → approved)", id2, got)
		}
		if got := count(entries, "decision.approve", id); got != 1 {
			t.Fatalf("bob's approval recorded %d times", got)
		}
		if _, err := audit.Verify(context.Background(), s.srv.Store().DB()); err != nil {
			t.Fatal(err)
		}
	})
}

// TestStopMidJob stops the server while a verification runs (the job's
// context is cancelled, as on a shutdown that runs out of patience) and
// starts a new one on the same database: the job is retried and the
// verification recorded exactly once. It covers a stop in-process, not a
// SIGKILL: TestKillMidJob in cmd covers that.
func TestStopMidJob(t *testing.T) {
	storetest.Run(t, func(t *testing.T, dsn string) {
		reached := make(chan struct{}, 1)
		hook := func(ctx context.Context, id int64) error {
			select {
			case reached <- struct{}{}:
			default:
			}
			<-ctx.Done() // hang until stopped
			return ctx.Err()
		}
		cfg := Config{DSN: dsn, Twin: shopTwin(t), Workers: 1, retryNow: true, hook: hook}
		srv, err := New(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		ts := &testServer{srv: srv, ts: httptest.NewServer(srv.Handler()), tokens: map[string]string{}}
		ts.users(t)
		id := ts.submit(t, "alice", "file", readChange(t, "01-scale-api.yaml"))
		select {
		case <-reached:
		case <-time.After(20 * time.Second):
			t.Fatal("the job never ran")
		}
		ts.ts.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		srv.Close(ctx) // runs out of patience: the job is cancelled
		cancel()

		s2 := start(t, Config{DSN: dsn, Workers: 1})
		s2.tokens = ts.tokens
		c := s2.wait(t, id)
		if c["state"] != "needs-approval" {
			t.Fatalf("after restart: %v", c["state"])
		}
		entries := auditEntries(t, s2.srv.Store())
		if got := count(entries, "change.verify", id); got != 1 {
			t.Fatalf("verification recorded %d times, want once", got)
		}
		if got := count(entries, "change.transition", id); got != 1 {
			t.Fatalf("proposed → verifying recorded %d times, want once", got)
		}
	})
}

// TestTwoWorkers runs two workers on one PostgreSQL database and N jobs:
// each is verified exactly once.
func TestTwoWorkers(t *testing.T) {
	base := os.Getenv(storetest.EnvPostgres)
	if base == "" {
		t.Skip(storetest.EnvPostgres + " is not set, so the two-worker test on PostgreSQL is skipped; .ci/postgres.sh starts a server and prints a URL")
	}
	storetest.Run(t, func(t *testing.T, dsn string) {
		if !isPostgres(dsn) {
			t.Skip("two workers share a PostgreSQL database only")
		}
		front := start(t, Config{DSN: dsn, Workers: -1})
		front.users(t)
		w1 := start(t, Config{DSN: dsn, Workers: 2})
		w2 := start(t, Config{DSN: dsn, Workers: 2})
		const n = 12
		ids := make([]int64, n)
		cmds := []string{"drain zone use1-az2", "scale service=api min=12", "set lb api-lb weight us-east-1=0"}
		for i := range n {
			ids[i] = front.submit(t, "alice", "command", cmds[i%len(cmds)]+"\n# job "+fmt.Sprint(i))
		}
		for _, id := range ids {
			front.wait(t, id)
		}
		entries := auditEntries(t, front.srv.Store())
		for _, id := range ids {
			if got := count(entries, "change.verify", id); got != 1 {
				t.Errorf("change %d verified %d times, want once", id, got)
			}
		}
		p1, p2 := counterValue(w1.srv.m.jobsProcessed), counterValue(w2.srv.m.jobsProcessed)
		t.Logf("worker 1 ran %v jobs, worker 2 ran %v", p1, p2)
		if p1+p2 != n {
			t.Errorf("workers ran %v jobs in all, want %d", p1+p2, n)
		}
	})
}

func counterValue(c interface{ Write(*dto.Metric) error }) float64 {
	var m dto.Metric
	c.Write(&m)
	return m.GetCounter().GetValue()
}
