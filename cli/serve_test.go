package cli

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/preflight-sh/preflight/server"
)

// TestReviewCommands: token create, submit --wait against a running
// server, audit verify and export, and audit verify after tampering.
func TestReviewCommands(t *testing.T) {
	inRepoRoot(t)
	data := t.TempDir()
	code, tok, stderr := run("token", "create", "--data", data, "--user", "alice", "--roles", "author", "--groups", "storefront")
	if code != 0 || !strings.HasPrefix(tok, "pft_") {
		t.Fatalf("token create: %d %q %s", code, tok, stderr)
	}
	tok = strings.TrimSpace(tok)
	if code, _, _ := run("token", "create", "--data", data, "--user", "x", "--roles", "wizard"); code != ExitBadInput {
		t.Fatalf("unknown role: exit %d", code)
	}

	tw, err := server.LoadTwin("examples/shop")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(t.Context(), server.Config{DSN: data, Twin: tw, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	code, out, stderr := run("submit", "--server", ts.URL, "--token", tok, "--change", "examples/shop/changes/01-scale-api.yaml", "--wait")
	if code != 0 || !strings.Contains(out, "change 1: needs-approval (verdict pass)") || !strings.Contains(out, "1 more approval") {
		t.Fatalf("submit --wait: %d %q %s", code, out, stderr)
	}
	code, out, _ = run("submit", "--server", ts.URL, "--token", tok, "--command", "drain zone use1-az2")
	if code != 0 || !strings.HasPrefix(out, "change 2: proposed") {
		t.Fatalf("submit: %d %q", code, out)
	}
	code, _, stderr = run("submit", "--server", ts.URL, "--token", "pft_nope", "--command", "drain zone use1-az2")
	if code != ExitBadInput || !strings.Contains(stderr, "401") {
		t.Fatalf("submit with a bad token: %d %s", code, stderr)
	}
	ts.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Close(ctx); err != nil {
		t.Fatal(err)
	}

	code, out, stderr = run("audit", "verify", "--data", data)
	if code != 0 || !strings.HasPrefix(out, "audit log intact") {
		t.Fatalf("audit verify: %d %q %s", code, out, stderr)
	}
	code, out, _ = run("audit", "export", "--data", data)
	if code != 0 || !strings.Contains(out, `"action":"change.verify"`) || strings.Contains(out, tok) {
		t.Fatalf("audit export: %d %q", code, out)
	}
	st, err := openStore(t.Context(), data)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.DB().Exec(`DELETE FROM audit_log WHERE seq = 2`); err != nil {
		t.Fatal(err)
	}
	st.Close()
	code, _, stderr = run("audit", "verify", "--data", data)
	if code != ExitBlocked || !strings.Contains(stderr, "entry 2") {
		t.Fatalf("audit verify after removing entry 2: %d %s", code, stderr)
	}
	if code, _, _ := run("serve", "--addr", "0.0.0.0:0", "--data", data, "--twin", "examples/shop"); code != ExitBadInput {
		t.Fatalf("serve on a public address: exit %d", code)
	}
}

func TestFreezeCommands(t *testing.T) {
	data := t.TempDir()
	code, out, errOut := run("freeze", "set", "weekend", "--data", data, "--schedule", "0 22 * * FRI", "--duration", "60h", "--override-groups", "sre-leads")
	if code != 0 || !strings.Contains(out, "freeze weekend") {
		t.Fatalf("set: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, _ := run("freeze", "list", "--data", data); code != 0 || !strings.Contains(out, "weekend") || !strings.Contains(out, "sre-leads") {
		t.Fatalf("list: exit %d\n%s", code, out)
	}
	if code, _, errOut := run("freeze", "set", "bad", "--data", data, "--schedule", "nope", "--duration", "1h"); code != 2 || !strings.Contains(errOut, "schedule") {
		t.Errorf("bad schedule: exit %d, %s", code, errOut)
	}
	if code, _, _ := run("freeze", "delete", "weekend", "--data", data); code != 0 {
		t.Errorf("delete: exit %d", code)
	}
	if code, _, errOut := run("freeze", "delete", "weekend", "--data", data); code != 2 || !strings.Contains(errOut, "no freeze window") {
		t.Errorf("delete again: exit %d, %s", code, errOut)
	}
	if code, out, _ := run("audit", "verify", "--data", data); code != 0 || !strings.Contains(out, "intact") {
		t.Errorf("audit: exit %d, %s", code, out)
	}
}
