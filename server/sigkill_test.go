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
	"os/exec"
	"path/filepath"
	"strings"
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
	bin := filepath.Join(dir, "preflight")
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
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/preflight").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	twinDir, data := filepath.Join(dir, "twin"), filepath.Join(dir, "data")
	run("gen", twinDir, "--instances", "6000", "--services", "100")
	token := strings.TrimSpace(run("token", "create", "--data", data, "--user", "alice", "--roles", "author"))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	base := "http://" + addr
	var logs bytes.Buffer
	serve := func() *exec.Cmd {
		t.Helper()
		cmd := exec.Command(bin, "serve", "--data", data, "--twin", twinDir, "--addr", addr, "--workers", "1")
		cmd.Stderr = &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if resp, err := http.Get(base + "/healthz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					return cmd
				}
			}
		}
		t.Fatalf("the server did not come up:\n%s", logs.String())
		return nil
	}
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
