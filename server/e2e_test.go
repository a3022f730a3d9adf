package server

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/preflight-sh/preflight/webui"
)

// TestE2EBrowser drives the web UI of a real server (SQLite on a temp
// data dir, loopback port) with headless Chromium, over the DevTools
// protocol on a pipe (--remote-debugging-pipe: no driver library, no
// WebSocket). In the browser: the login page (the token typed into the
// form and the form submitted), the list, the page of shop change 04
// (verdict, unmet rules, decision forms) and of change 01, whose Approve
// button is clicked, ending on the page showing it approved; sign-out
// too. Over plain HTTP: the setup (users, tokens, submissions through the
// API) and the CSRF checks (a decision form posted with the session cookie
// but without a valid token gets 403). Screenshots go to
// $PREFLIGHT_E2E_SCREENSHOTS, or a temp dir.
func TestE2EBrowser(t *testing.T) {
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed (apt-get install chromium; .ci/chromium.sh): skipping the browser end-to-end test")
	}
	if runtime.GOOS == "windows" {
		t.Skip("the DevTools pipe needs extra file descriptors")
	}
	shots := os.Getenv("PREFLIGHT_E2E_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}

	s := start(t, Config{DSN: t.TempDir()})
	s.users(t)
	id4 := s.submit(t, "alice", "file", readChange(t, "04-remove-billing-hosts-typo.yaml"))
	id1 := s.submit(t, "alice", "file", readChange(t, "01-scale-api.yaml"))
	c4, c1 := s.wait(t, id4), s.wait(t, id1)
	if c1["state"] != "needs-approval" {
		t.Fatalf("change 01 is %v, want needs-approval", c1["state"])
	}
	t.Logf("change 04: %v %v; change 01: %v %v", c4["state"], c4["verdict"], c1["state"], c1["verdict"])

	b := newBrowser(t, bin)
	shot := func(name string) {
		t.Helper()
		p := filepath.Join(shots, name+".png")
		if err := os.WriteFile(p, b.screenshot(t), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot %s", p)
	}

	// Not signed in: the list sends the browser to the login page.
	b.navigate(t, s.ts.URL+"/")
	if u := b.eval(t, "location.pathname"); u != "/login" {
		t.Fatalf("not signed in, / ends at %v, want /login", u)
	}
	dom := b.dom(t)
	mustContain(t, "login page", dom, "Sign in", `name="token"`, `name="csrf"`)
	shot("e2e-login")

	// A wrong token: the login page again, with the error.
	b.submit(t, `document.getElementById("token").value = "pf_nope"; document.querySelector("form[action='/login'] button").click()`)
	mustContain(t, "refused login", b.dom(t), "Could not sign in", "not valid")

	// Bob signs in by typing his token into the form.
	b.submit(t, fmt.Sprintf(`document.getElementById("token").value = %q; document.querySelector("form[action='/login'] button").click()`, s.tokens["bob"]))
	if u := b.eval(t, "location.pathname"); u != "/" {
		t.Fatalf("after signing in the browser is at %v, want /", u)
	}
	dom = b.dom(t)
	mustContain(t, "list", dom, "bob", webui.ChangePath(id4), webui.ChangePath(id1), "needs approval")
	shot("e2e-list")

	// Change 04: the verdict, the unmet rules and the decision forms.
	b.navigate(t, s.ts.URL+webui.ChangePath(id4))
	dom = b.dom(t)
	// 04 takes a whole zone out: blocked, so rejected, and the page says
	// which rules stay unmet and offers no decision.
	mustContain(t, "change 04", dom, "BLOCK", "use1-az1", `id="unmet"`, "Still unmet", "billing")
	if c4["state"] != "rejected" || strings.Contains(dom, `name="kind"`) {
		t.Errorf("change 04 is %v and offers decision forms: %v", c4["state"], strings.Contains(dom, `name="kind"`))
	}
	shot("e2e-change-04")

	// Change 01: bob clicks Approve; the page comes back approved.
	b.navigate(t, s.ts.URL+webui.ChangePath(id1))
	dom = b.dom(t)
	mustContain(t, "change 01", dom, "PASS", "Still unmet", "needs 1 approval(s)", webui.DecisionPath(id1),
		`name="kind" value="approve"`, `name="kind" value="reject"`, `name="kind" value="break-glass"`)
	shot("e2e-change-01")
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(dom)
	if csrf == nil {
		t.Fatal("no CSRF token on the change page")
	}
	b.submit(t, `document.querySelector("form.decide-approve button[type=submit]").click()`)
	if u := b.eval(t, "location.pathname"); u != webui.ChangePath(id1) {
		t.Fatalf("after approving the browser is at %v", u)
	}
	dom = b.dom(t)
	mustContain(t, "approved change 01", dom, "approved", "bob", "Every rule is met")
	shot("e2e-change-01-approved")
	if _, out := s.call(t, "GET", fmt.Sprintf("/api/v1/changes/%d", id1), "vic", nil); out["state"] != "approved" {
		t.Fatalf("after the click change 01 is %v, want approved", out["state"])
	}

	// CSRF, over HTTP with bob's session cookie from the browser.
	cookies := b.cookies(t)
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(s.ts.URL)
	jar.SetCookies(u, cookies)
	hc := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	post := func(path string, form url.Values) int {
		t.Helper()
		resp, err := hc.PostForm(s.ts.URL+path, form)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	form := url.Values{"kind": {"reject"}, "change_hash": {fmt.Sprint(c4["changeHash"])}}
	if code := post(webui.DecisionPath(id4), form); code != http.StatusForbidden {
		t.Errorf("decision without a CSRF token: %d, want 403", code)
	}
	form.Set("csrf", "bm9wZQ")
	if code := post(webui.DecisionPath(id4), form); code != http.StatusForbidden {
		t.Errorf("decision with a forged CSRF token: %d, want 403", code)
	}
	if code := post(webui.LogoutPath, url.Values{}); code != http.StatusForbidden {
		t.Errorf("logout without a CSRF token: %d, want 403", code)
	}
	if code := post(webui.LoginPath, url.Values{"token": {s.tokens["bob"]}}); code != http.StatusForbidden {
		t.Errorf("login without a CSRF token: %d, want 403", code)
	}
	// The same token from the page is accepted (the form works outside
	// the browser too), and a viewer sees no forms.
	if code := post(webui.DecisionPath(id1), url.Values{"csrf": {csrf[1]}, "kind": {"approve"}, "change_hash": {fmt.Sprint(c1["changeHash"])}}); code != http.StatusConflict {
		t.Errorf("a second approval by bob with a valid CSRF token: %d, want 409", code)
	}

	// Sign out in the browser: the session is gone.
	b.navigate(t, s.ts.URL+"/")
	b.submit(t, `document.querySelector("form.signout button").click()`)
	if u := b.eval(t, "location.pathname"); u != "/login" {
		t.Fatalf("after signing out the browser is at %v", u)
	}
	resp, err := hc.Get(s.ts.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("the old session after sign-out: %d, want a redirect to the login page", resp.StatusCode)
	}
}

// TestUIViewer: a viewer sees the change page without decision forms, and
// a form posted with the viewer's valid CSRF token is still refused.
func TestUIViewer(t *testing.T) {
	s := start(t, Config{DSN: t.TempDir()})
	s.users(t)
	id := s.submit(t, "alice", "file", readChange(t, "01-scale-api.yaml"))
	c := s.wait(t, id)
	hc := uiLogin(t, s, "vic")
	resp, err := hc.Get(s.ts.URL + webui.ChangePath(id))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Security-Policy") == "" {
		t.Fatalf("change page: %d, CSP %q", resp.StatusCode, resp.Header.Get("Content-Security-Policy"))
	}
	page := string(body)
	// The page carries the simulation chart of the change.
	mustContain(t, "viewer's change page", page, "PASS", "vic", "<svg", "Success rate per entry point")
	if strings.Contains(page, `name="kind"`) {
		t.Error("a viewer is offered decision forms")
	}
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)
	if csrf == nil {
		t.Fatal("no CSRF token (sign-out form)")
	}
	resp, err = hc.PostForm(s.ts.URL+webui.DecisionPath(id), url.Values{"csrf": {csrf[1]}, "kind": {"approve"}, "change_hash": {fmt.Sprint(c["changeHash"])}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("a viewer's approval: %d, want 403", resp.StatusCode)
	}
}

// uiLogin signs user in through the login form over HTTP.
func uiLogin(t *testing.T, s *testServer, user string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Get(s.ts.URL + webui.LoginPath)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(body)
	if csrf == nil {
		t.Fatal("no CSRF token on the login page")
	}
	resp, err = hc.PostForm(s.ts.URL+webui.LoginPath, url.Values{"csrf": {string(csrf[1])}, "token": {s.tokens[user]}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login as %s: %d", user, resp.StatusCode)
	}
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookie && (!c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.MaxAge <= 0) {
			t.Errorf("session cookie %+v: want HttpOnly, SameSite=Strict, an expiry", c)
		}
	}
	return hc
}

func mustContain(t *testing.T, what, page string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(page, s) {
			t.Errorf("%s: %q not found", what, s)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

// browser is headless Chromium driven over the DevTools protocol on a
// pipe: messages are JSON, each ended by a NUL byte, on file descriptors 3
// (to the browser) and 4 (from it).
type browser struct {
	cmd     *exec.Cmd
	out     *os.File
	mu      sync.Mutex
	next    int
	waiting map[int]chan cdpMessage
	events  chan cdpMessage
	session string
}

type cdpMessage struct {
	ID        int             `json:"id,omitempty"`
	Method    string          `json:"method,omitempty"`
	Params    any             `json:"params,omitempty"`
	SessionID string          `json:"sessionId,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
	Error     *struct {
		Message string `json:"message"`
	} `json:"error,omitempty"`
}

func newBrowser(t *testing.T, bin string) *browser {
	t.Helper()
	toBrowserR, toBrowserW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	fromBrowserR, fromBrowserW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
		"--remote-debugging-pipe", "--user-data-dir="+t.TempDir(), "--window-size=1280,2000", "about:blank")
	cmd.ExtraFiles = []*os.File{toBrowserR, fromBrowserW}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	toBrowserR.Close()
	fromBrowserW.Close()
	b := &browser{cmd: cmd, out: toBrowserW, waiting: map[int]chan cdpMessage{}, events: make(chan cdpMessage, 256)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		rd := bufio.NewReader(fromBrowserR)
		for {
			raw, err := rd.ReadBytes(0)
			if err != nil {
				return
			}
			var m cdpMessage
			if json.Unmarshal(raw[:len(raw)-1], &m) != nil {
				continue
			}
			if m.ID != 0 {
				b.mu.Lock()
				ch := b.waiting[m.ID]
				delete(b.waiting, m.ID)
				b.mu.Unlock()
				if ch != nil {
					ch <- m
				}
				continue
			}
			select {
			case b.events <- m:
			default:
			}
		}
	}()
	t.Cleanup(func() {
		b.call(nil, "Browser.close", nil, nil)
		toBrowserW.Close()
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		<-done
		if t.Failed() {
			t.Logf("chromium's stderr:\n%s", stderr.String())
		}
	})
	var target struct {
		TargetID string `json:"targetId"`
	}
	b.call(t, "Target.createTarget", map[string]any{"url": "about:blank"}, &target)
	var att struct {
		SessionID string `json:"sessionId"`
	}
	b.call(t, "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &att)
	b.session = att.SessionID
	b.call(t, "Page.enable", nil, nil)
	return b
}

// call sends a command (to the page's session once attached) and decodes
// its result into out; t nil ignores failures.
func (b *browser) call(t *testing.T, method string, params, out any) {
	if t != nil {
		t.Helper()
	}
	b.mu.Lock()
	b.next++
	id := b.next
	ch := make(chan cdpMessage, 1)
	b.waiting[id] = ch
	b.mu.Unlock()
	msg := cdpMessage{ID: id, Method: method, Params: params, SessionID: b.session}
	if method == "Browser.close" || strings.HasPrefix(method, "Target.") {
		msg.SessionID = ""
	}
	raw, _ := json.Marshal(msg)
	if _, err := b.out.Write(append(raw, 0)); err != nil {
		if t != nil {
			t.Fatalf("%s: %v", method, err)
		}
		return
	}
	select {
	case m := <-ch:
		if t == nil {
			return
		}
		if m.Error != nil {
			t.Fatalf("%s: %s", method, m.Error.Message)
		}
		if out != nil {
			if err := json.Unmarshal(m.Result, out); err != nil {
				t.Fatalf("%s: %v", method, err)
			}
		}
	case <-time.After(10 * time.Second):
		if t != nil {
			t.Fatalf("%s: no answer from chromium in 10s", method)
		}
	}
}

// loads runs f and waits for the page it leads to to load.
func (b *browser) loads(t *testing.T, f func()) {
	t.Helper()
	for len(b.events) > 0 {
		<-b.events
	}
	f()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case m := <-b.events:
			if m.Method == "Page.loadEventFired" && m.SessionID == b.session {
				return
			}
		case <-deadline:
			t.Fatal("the page did not load in 10s")
		}
	}
}

func (b *browser) navigate(t *testing.T, u string) {
	t.Helper()
	b.loads(t, func() { b.call(t, "Page.navigate", map[string]any{"url": u}, nil) })
}

// submit runs script, which submits a form, and waits for the answer page.
func (b *browser) submit(t *testing.T, script string) {
	t.Helper()
	b.loads(t, func() { b.eval(t, script) })
}

func (b *browser) eval(t *testing.T, expr string) any {
	t.Helper()
	var res struct {
		Result struct {
			Value any `json:"value"`
		} `json:"result"`
		ExceptionDetails any `json:"exceptionDetails"`
	}
	b.call(t, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true}, &res)
	if res.ExceptionDetails != nil {
		t.Fatalf("%s: %v", expr, res.ExceptionDetails)
	}
	return res.Result.Value
}

func (b *browser) dom(t *testing.T) string {
	t.Helper()
	s, _ := b.eval(t, "document.documentElement.outerHTML").(string)
	return s
}

func (b *browser) screenshot(t *testing.T) []byte {
	t.Helper()
	var res struct {
		Data string `json:"data"`
	}
	b.call(t, "Page.captureScreenshot", map[string]any{"format": "png", "captureBeyondViewport": true}, &res)
	png, err := base64.StdEncoding.DecodeString(res.Data)
	if err != nil {
		t.Fatal(err)
	}
	return png
}

// cookies are the browser's cookies, HttpOnly ones included.
func (b *browser) cookies(t *testing.T) []*http.Cookie {
	t.Helper()
	var res struct {
		Cookies []struct {
			Name     string `json:"name"`
			Value    string `json:"value"`
			HTTPOnly bool   `json:"httpOnly"`
			SameSite string `json:"sameSite"`
		} `json:"cookies"`
	}
	b.call(t, "Network.getCookies", nil, &res)
	var out []*http.Cookie
	for _, c := range res.Cookies {
		if c.Name == sessionCookie && (!c.HTTPOnly || c.SameSite != "Strict") {
			t.Errorf("the session cookie in the browser: HttpOnly %v, SameSite %q", c.HTTPOnly, c.SameSite)
		}
		out = append(out, &http.Cookie{Name: c.Name, Value: c.Value})
	}
	return out
}
