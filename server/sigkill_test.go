//go:build unix

package server

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestSIGKILLDuringVerification builds the preflight binary, serves a
// generated twin big enough that a check takes a second or two (no test
// hook: the twin is slow by itself), submits a change, kills the server
// with SIGKILL while the request is verifying, starts it again on the same
// data directory, and checks the request ends verified exactly once and
// the audit log verifies.
func TestSIGKILLDuringVerification(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs it: not in -short")
	}
	dir := t.TempDir()
	bin := buildPreflight(t, dir)
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(bin, args...).Output()
		if err != nil {
			var stderr []byte
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = ee.Stderr
			}
			t.Fatalf("preflight %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr)
		}
		return string(out)
	}
	twinDir, data := filepath.Join(dir, "twin"), filepath.Join(dir, "data")
	run("gen", twinDir, "--instances", "6000", "--services", "100")
	token := strings.TrimSpace(run("token", "create", "--data", data, "--user", "alice", "--roles", "author"))

	addr := freeAddr(t)
	base := "http://" + addr
	var logs bytes.Buffer
	serve := func() *exec.Cmd { return startServe(t, bin, data, twinDir, addr, &logs) }
	call := func(method, path string, body any) map[string]any {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, base+path, rd)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode >= 300 {
			t.Fatalf("%s %s: %d %v %v", method, path, resp.StatusCode, out, err)
		}
		return out
	}

	first := serve()
	tw := call("GET", "/api/v1/twin", nil)
	sub := call("POST", "/api/v1/changes", Submission{Kind: "file", TwinVersion: tw["version"].(string),
		Body: "title: scale svc-001\ncommands:\n  - scale service=svc-001 min=2 max=10\n"})
	id := int64(sub["id"].(float64))
	path := fmt.Sprintf("/api/v1/changes/%d", id)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		st := call("GET", path, nil)["state"]
		if st == "verifying" {
			break
		}
		if st != "proposed" || time.Now().After(deadline) {
			t.Fatalf("the request went to %v before it could be killed mid-verification", st)
		}
	}
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	first.Wait()
	killedAt := logs.Len()

	second := serve()
	var state any
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		state = call("GET", path, nil)["state"]
		if state != "proposed" && state != "verifying" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not verified a minute after the restart:\n%s", logs.String()[killedAt:])
		}
	}
	if state != "needs-approval" && state != "approved" && state != "rejected" {
		t.Fatalf("after the restart the request is %v", state)
	}
	second.Process.Signal(syscall.SIGTERM)
	if err := second.Wait(); err != nil {
		t.Fatalf("graceful stop: %v\n%s", err, logs.String()[killedAt:])
	}

	run("audit", "verify", "--data", data)
	n := 0
	sc := bufio.NewScanner(strings.NewReader(run("audit", "export", "--data", data)))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var e map[string]any
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		if rid, _ := e["requestId"].(float64); e["action"] == "change.verify" && int64(rid) == id {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("the request was recorded verified %d times, want once", n)
	}
	t.Logf("killed mid-verification, verified once after the restart: %v", state)
}

// TestSIGKILLDuringApproval sends twenty approvals of one request at
// once, kills the server with SIGKILL while they are in flight, starts it
// again on the same data directory and checks that nothing was lost or
// half done: every approval the server acknowledged is recorded, the
// request's state agrees with its decisions, and the audit log verifies.
func TestSIGKILLDuringApproval(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs it: not in -short")
	}
	dir := t.TempDir()
	bin := buildPreflight(t, dir)
	data := filepath.Join(dir, "data")
	tokenFor := func(user, roles string) string {
		out, err := exec.Command(bin, "token", "create", "--data", data, "--user", user, "--roles", roles).Output()
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(out))
	}
	author := tokenFor("alice", "author")
	approvers := make([]string, 20)
	for i := range approvers {
		approvers[i] = tokenFor(fmt.Sprintf("approver-%02d", i), "approver")
	}
	addr := freeAddr(t)
	base := "http://" + addr
	serve := func() *exec.Cmd { return startServe(t, bin, data, "../examples/shop", addr, io.Discard) }
	do := func(token, method, path string, body any) (int, map[string]any, error) {
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, base+path, rd)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out, nil
	}

	first := serve()
	_, tw, err := do(author, "GET", "/api/v1/twin", nil)
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("../examples/shop/changes/02-drain-zone-for-maintenance.yaml")
	if err != nil {
		t.Fatal(err)
	}
	code, sub, err := do(author, "POST", "/api/v1/changes", Submission{Kind: "file", TwinVersion: tw["version"].(string), Body: string(src)})
	if err != nil || code >= 300 {
		t.Fatalf("submit: %d %v %v", code, sub, err)
	}
	path := fmt.Sprintf("/api/v1/changes/%d", int64(sub["id"].(float64)))
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		_, c, _ := do(author, "GET", path, nil)
		if c["state"] == "needs-approval" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not waiting for approval: %v", c["state"])
		}
	}

	acked := make([]bool, len(approvers))
	var wg sync.WaitGroup
	for i, tok := range approvers {
		wg.Go(func() {
			code, _, err := do(tok, "POST", path+"/decisions", DecisionRequest{Kind: "approve", Reason: "looks fine"})
			acked[i] = err == nil && code < 300
		})
	}
	time.Sleep(15 * time.Millisecond)
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	first.Wait()
	wg.Wait()

	second := serve()
	_, c, err := do(author, "GET", path, nil)
	if err != nil {
		t.Fatal(err)
	}
	recorded := map[string]bool{}
	ds, _ := c["decisions"].([]any)
	for _, d := range ds {
		recorded[d.(map[string]any)["user"].(string)] = true
	}
	n := 0
	for i, ok := range acked {
		if ok {
			n++
			if !recorded[fmt.Sprintf("approver-%02d", i)] {
				t.Errorf("approver-%02d was acknowledged but its approval is lost", i)
			}
		}
	}
	// One approval is enough for this change: with any recorded, the
	// request must have moved on; with none, it still waits.
	if want := map[bool]string{true: "approved", false: "needs-approval"}[len(recorded) > 0]; c["state"] != want {
		t.Errorf("state %v with %d recorded approvals, want %s", c["state"], len(recorded), want)
	}
	second.Process.Signal(syscall.SIGTERM)
	second.Wait()
	if out, err := exec.Command(bin, "audit", "verify", "--data", data).CombinedOutput(); err != nil {
		t.Fatalf("audit verify: %v\n%s", err, out)
	}
	t.Logf("%d of %d approvals acknowledged before the kill, %d recorded; state %v", n, len(approvers), len(recorded), c["state"])
}

// buildPreflight builds the preflight binary into dir.
func buildPreflight(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "preflight")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/preflight").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// freeAddr is a loopback address with a free port.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startServe runs preflight serve as a child process and waits until it
// answers; logs collects its standard error.
func startServe(t *testing.T, bin, data, twinDir, addr string, logs io.Writer) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--data", data, "--twin", twinDir, "--addr", addr, "--workers", "1")
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return cmd
			}
		}
	}
	t.Fatal("the server did not come up")
	return nil
}
