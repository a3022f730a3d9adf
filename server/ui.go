package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/preflight-sh/preflight/approval"
	"github.com/preflight-sh/preflight/store"
	"github.com/preflight-sh/preflight/webui"
)

// The web UI: server-rendered pages (package webui) behind a login with an
// API token.
//
// Sessions are held in memory by the serving process: a restart signs
// everyone out, and with several serve processes behind one address a
// session only works on the process that made it (use sticky routing, or
// the API with bearer tokens). A session is bound to the token used to
// sign in: revoking the token ends the session at its next request. The
// CSRF key is made at start too.

// Cookie names.
const (
	sessionCookie = "preflight_session"
	// preSessionCookie holds the pre-login session the login form's CSRF
	// token is bound to.
	preSessionCookie = "preflight_login"
)

// DefaultSessionTTL is how long a UI session lasts from sign-in.
const DefaultSessionTTL = 12 * time.Hour

// maxSessions bounds the sessions held in memory; beyond it the oldest go.
const maxSessions = 10000

type session struct {
	user    string
	tokenID string
	expires time.Time
}

// sessions are the UI's signed-in sessions, by ID.
type sessions struct {
	mu sync.Mutex
	m  map[string]session
}

func (ss *sessions) get(id string, now time.Time) (session, bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	se, ok := ss.m[id]
	if ok && !now.Before(se.expires) {
		delete(ss.m, id)
		return session{}, false
	}
	return se, ok
}

func (ss *sessions) put(id string, se session, now time.Time) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.m == nil {
		ss.m = map[string]session{}
	}
	if len(ss.m) >= maxSessions {
		var oldest string
		for k, v := range ss.m {
			if !now.Before(v.expires) {
				delete(ss.m, k)
			} else if oldest == "" || v.expires.Before(ss.m[oldest].expires) {
				oldest = k
			}
		}
		if len(ss.m) >= maxSessions {
			delete(ss.m, oldest)
		}
	}
	ss.m[id] = se
}

func (ss *sessions) drop(id string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.m, id)
}

// randomID is 256 random bits, base64url.
func randomID() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// uiRoutes mounts the web UI on mux.
func (s *Server) uiRoutes(mux *http.ServeMux) {
	mux.Handle("GET "+webui.StaticPath, webui.Static())
	mux.HandleFunc("GET /{$}", s.page(s.listPage))
	mux.HandleFunc("GET "+webui.LoginPath, s.loginPage)
	mux.HandleFunc("POST "+webui.LoginPath, s.login)
	mux.HandleFunc("POST "+webui.LogoutPath, s.logout)
	mux.HandleFunc("GET /changes/{id}", s.page(s.changePage))
	mux.HandleFunc("POST /changes/{id}/decisions", s.page(s.uiDecide))
}

func (s *Server) secure(r *http.Request) bool { return r.TLS != nil || s.cfg.SecureCookies }

func (s *Server) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: s.secure(r)})
}

// uiUser is the signed-in user of a request and its session ID.
type uiUser struct {
	user store.User
	sid  string
}

// session finds the request's session and its user, still holding a valid
// token.
func (s *Server) session(r *http.Request) (uiUser, bool) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil || ck.Value == "" {
		return uiUser{}, false
	}
	se, ok := s.sessions.get(ck.Value, s.cfg.now())
	if !ok {
		return uiUser{}, false
	}
	ts, err := s.st.Tokens(r.Context(), se.user)
	if err != nil || !slices.ContainsFunc(ts, func(t store.Token) bool { return t.ID == se.tokenID && t.Revoked.IsZero() }) {
		s.sessions.drop(ck.Value)
		return uiUser{}, false
	}
	u, err := s.st.User(r.Context(), se.user)
	if err != nil {
		return uiUser{}, false
	}
	return uiUser{user: u, sid: ck.Value}, true
}

// page wraps a handler of signed-in pages: security headers, the session
// (or a redirect to the login page for GET, 403 for POST), the CSRF check
// of every POST, and the body limit.
func (s *Server) page(h func(w http.ResponseWriter, r *http.Request, u uiUser)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		webui.SetSecurityHeaders(w.Header())
		u, ok := s.session(r)
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
			if !ok || !s.csrf.CheckRequest(r, u.sid) {
				uiError(w, http.StatusForbidden, "forbidden: the form is not from a current session of yours (CSRF check failed); reload the page and try again")
				return
			}
		} else if !ok {
			http.Redirect(w, r, webui.LoginPath, http.StatusSeeOther)
			return
		}
		if info, ok := r.Context().Value(infoKey{}).(*reqInfo); ok {
			info.user = u.user.Name
		}
		h(w, r, u)
	}
}

func uiError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	io.WriteString(w, msg+"\n")
}

// render writes a page rendered in full, or a 500.
func (s *Server) render(w http.ResponseWriter, r *http.Request, code int, f func(io.Writer) error) {
	var b bytes.Buffer
	if err := f(&b); err != nil {
		s.log.Error("rendering a page", "path", r.URL.Path, "error", err.Error())
		uiError(w, http.StatusInternalServerError, "internal error")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	w.Write(b.Bytes())
}

func (s *Server) uiStoreError(w http.ResponseWriter, r *http.Request, err error) {
	var re *requestError
	switch {
	case errors.As(err, &re):
		uiError(w, re.code, re.msg)
	case errors.Is(err, store.ErrNotFound):
		uiError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, store.ErrInvalid):
		uiError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrDuplicate):
		uiError(w, http.StatusConflict, err.Error())
	default:
		s.log.Error("internal error", "path", r.URL.Path, "error", err.Error())
		uiError(w, http.StatusInternalServerError, "internal error")
	}
}

// loginPage shows the login form with a pre-session for its CSRF token.
func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	s.showLogin(w, r, http.StatusOK, "")
}

func (s *Server) showLogin(w http.ResponseWriter, r *http.Request, code int, msg string) {
	webui.SetSecurityHeaders(w.Header())
	pre := randomID()
	s.setCookie(w, r, preSessionCookie, pre, 3600)
	s.render(w, r, code, func(out io.Writer) error {
		return webui.RenderLogin(out, webui.LoginPage{Error: msg, CSRF: s.csrf.Token(pre)})
	})
}

// login checks the form's CSRF token against the pre-session, then the API
// token, and starts a session.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	webui.SetSecurityHeaders(w.Header())
	r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
	pre, err := r.Cookie(preSessionCookie)
	if err != nil || !s.csrf.CheckRequest(r, pre.Value) {
		uiError(w, http.StatusForbidden, "forbidden: the sign-in form is not from this browser's session (CSRF check failed); reload the sign-in page and try again")
		return
	}
	token := strings.TrimSpace(r.PostFormValue(webui.FieldToken))
	if token == "" {
		s.showLogin(w, r, http.StatusUnauthorized, "paste an API token")
		return
	}
	u, tok, err := s.st.Authenticate(r.Context(), token)
	if errors.Is(err, store.ErrNotFound) {
		s.log.Info("sign-in refused")
		s.showLogin(w, r, http.StatusUnauthorized, "that token is not valid (unknown or revoked)")
		return
	}
	if err != nil {
		s.uiStoreError(w, r, err)
		return
	}
	if old, err := r.Cookie(sessionCookie); err == nil {
		s.sessions.drop(old.Value)
	}
	sid := randomID()
	ttl := s.cfg.SessionTTL
	s.sessions.put(sid, session{user: u.Name, tokenID: tok.ID, expires: s.cfg.now().Add(ttl)}, s.cfg.now())
	s.setCookie(w, r, sessionCookie, sid, int(ttl/time.Second))
	s.setCookie(w, r, preSessionCookie, "", -1)
	if info, ok := r.Context().Value(infoKey{}).(*reqInfo); ok {
		info.user = u.Name
	}
	s.log.Info("signed in", "user", u.Name)
	http.Redirect(w, r, webui.ListPath, http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	s.page(func(w http.ResponseWriter, r *http.Request, u uiUser) {
		s.sessions.drop(u.sid)
		s.setCookie(w, r, sessionCookie, "", -1)
		http.Redirect(w, r, webui.LoginPath, http.StatusSeeOther)
	})(w, r)
}

func (s *Server) listPage(w http.ResponseWriter, r *http.Request, u uiUser) {
	filter := r.URL.Query().Get(webui.FieldState)
	cs, err := s.st.Changes(r.Context(), store.State(filter))
	if err != nil {
		s.uiStoreError(w, r, err)
		return
	}
	p := webui.ListPage{User: u.user.Name, Filter: filter, CSRF: s.csrf.Token(u.sid)}
	for _, c := range cs {
		it := webui.ListItem{ID: c.ID, Title: c.Title, Author: c.Author, State: string(c.State), Updated: c.Updated}
		if rep := decodeReport(c); rep != nil {
			it.Verdict = string(rep.Verdict.Decision)
			it.RiskScore, it.RiskTier = rep.Risk.Score, string(rep.Risk.Tier)
		}
		p.Changes = append(p.Changes, it)
	}
	s.render(w, r, http.StatusOK, func(out io.Writer) error { return webui.RenderList(out, p) })
}

// uiLoad reads the request named by the path.
func (s *Server) uiLoad(w http.ResponseWriter, r *http.Request) (store.ChangeRequest, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		uiError(w, http.StatusNotFound, "no such change request")
		return store.ChangeRequest{}, false
	}
	c, err := s.st.Change(r.Context(), id)
	if err != nil {
		s.uiStoreError(w, r, err)
		return store.ChangeRequest{}, false
	}
	return c, true
}

// uiKinds are the kinds of decision the change page offers forms for.
var uiKinds = []string{approval.KindApprove, approval.KindReject, approval.KindOverridePolicy,
	approval.KindOverrideFreeze, approval.KindAcceptUnknown, approval.KindBreakGlass}

func (s *Server) changePage(w http.ResponseWriter, r *http.Request, u uiUser) {
	c, ok := s.uiLoad(w, r)
	if !ok {
		return
	}
	p, err := s.changeView(r.Context(), c, u)
	if err != nil {
		s.uiStoreError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, func(out io.Writer) error { return webui.RenderChange(out, p) })
}

// changeView is the change page's data.
func (s *Server) changeView(ctx context.Context, c store.ChangeRequest, u uiUser) (webui.ChangePage, error) {
	ds, err := s.st.Decisions(ctx, c.ID)
	if err != nil {
		return webui.ChangePage{}, err
	}
	p := webui.ChangePage{User: u.user.Name, Request: c, Decisions: ds, CSRF: s.csrf.Token(u.sid)}
	rep := fullReport(c)
	if rep == nil {
		return p, nil
	}
	p.Report = rep
	p.ChartSVG = s.chart(c)
	if p.Status, err = evaluate(ctx, s.st, c, rep, ds, s.cfg.now()); err != nil {
		return webui.ChangePage{}, err
	}
	if c.State == store.NeedsApproval || c.State == store.Approved {
		p.CanDecide = map[string]string{}
		au, req := approvalUser(u.user), request(c, rep)
		for _, kind := range uiKinds {
			switch err := approval.CanDecide(au, req, kind); {
			case err == nil:
				p.CanDecide[kind] = ""
			case errors.Is(err, approval.ErrRole), errors.Is(err, approval.ErrKind):
				// A viewer sees the page without forms it could never use.
			default:
				p.CanDecide[kind] = err.Error()
			}
		}
	}
	return p, nil
}

// uiDecide takes a decision form (already CSRF-checked by page) through
// the API's decision logic and goes back to the change page.
func (s *Server) uiDecide(w http.ResponseWriter, r *http.Request, u uiUser) {
	c, ok := s.uiLoad(w, r)
	if !ok {
		return
	}
	dr := DecisionRequest{Kind: r.PostFormValue(webui.FieldKind), Policy: r.PostFormValue(webui.FieldPolicy),
		Freeze: r.PostFormValue(webui.FieldFreeze), Reason: strings.TrimSpace(r.PostFormValue(webui.FieldReason)),
		ChangeHash: r.PostFormValue(webui.FieldChangeHash)}
	if dr.ChangeHash == "" {
		uiError(w, http.StatusBadRequest, "the form has no change hash")
		return
	}
	if dr.Kind == approval.KindBreakGlass {
		d, err := time.ParseDuration(r.PostFormValue(webui.FieldDuration))
		if err != nil || d <= 0 {
			uiError(w, http.StatusBadRequest, "a break-glass needs a duration such as 1h")
			return
		}
		dr.Until = s.cfg.now().Add(d)
	}
	if _, err := s.takeDecision(r.Context(), u.user, c, dr); err != nil {
		s.uiStoreError(w, r, err)
		return
	}
	http.Redirect(w, r, webui.ChangePath(c.ID), http.StatusSeeOther)
}
