package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/preflight-sh/preflight/approval"
	"github.com/preflight-sh/preflight/report"
	"github.com/preflight-sh/preflight/store"
)

// Handler is the HTTP API.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.Handle("GET /metrics", s.m.handler())
	mux.HandleFunc("GET /api/v1/twin", s.auth(s.getTwin))
	mux.HandleFunc("POST /api/v1/changes", s.auth(s.submit))
	mux.HandleFunc("GET /api/v1/changes", s.auth(s.list))
	mux.HandleFunc("GET /api/v1/changes/{id}", s.auth(s.get))
	mux.HandleFunc("GET /api/v1/changes/{id}/report", s.auth(s.getReport))
	mux.HandleFunc("POST /api/v1/changes/{id}/decisions", s.auth(s.decide))
	mux.HandleFunc("POST /api/v1/changes/{id}/apply", s.auth(s.transition(store.Approved, store.Applied)))
	mux.HandleFunc("POST /api/v1/changes/{id}/rollback", s.auth(s.transition(store.Applied, store.RolledBack)))
	s.uiRoutes(mux)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint: %s %s", r.Method, r.URL.Path)
	})
	return s.observe(mux)
}

// reqInfo is what the logging middleware learns from the handlers.
type reqInfo struct{ user string }

type infoKey struct{}

type userKey struct{}

// statusWriter records the status code.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// observe logs every request (never its headers: they carry the token)
// and records its metrics.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		info := &reqInfo{}
		sw := &statusWriter{ResponseWriter: w}
		r = r.WithContext(context.WithValue(r.Context(), infoKey{}, info))
		next.ServeHTTP(sw, r)
		if sw.code == 0 {
			sw.code = http.StatusOK
		}
		d := time.Since(start)
		route := r.Pattern
		if route == "" || route == "/" {
			route = "unmatched"
		}
		s.m.observe(route, r.Method, sw.code, d)
		s.log.Info("request", "method", r.Method, "route", route, "path", r.URL.Path, "code", sw.code,
			"ms", float64(d.Microseconds())/1000, "user", info.user)
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		code, buf = http.StatusInternalServerError, *bytes.NewBufferString(`{"error": "encoding the response"}` + "\n")
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	w.Write(buf.Bytes())
}

func writeError(w http.ResponseWriter, code int, format string, args ...any) {
	writeJSON(w, code, map[string]string{"error": fmt.Sprintf(format, args...)})
}

// storeError answers an error of the store with its status code.
func (s *Server) storeError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "%v", err)
	case errors.Is(err, store.ErrInvalid):
		writeError(w, http.StatusBadRequest, "%v", err)
	case errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrDuplicate):
		writeError(w, http.StatusConflict, "%v", err)
	default:
		s.log.Error("internal error", "path", r.URL.Path, "error", err.Error())
		writeError(w, http.StatusInternalServerError, "internal error")
	}
}

// auth authenticates the bearer token; the user is in the context.
func (s *Server) auth(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		token, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || strings.TrimSpace(token) == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="preflight"`)
			writeError(w, http.StatusUnauthorized, "an API token is required: Authorization: Bearer TOKEN")
			return
		}
		u, _, err := s.st.Authenticate(r.Context(), strings.TrimSpace(token))
		if errors.Is(err, store.ErrNotFound) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="preflight", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "the API token is not valid")
			return
		}
		if err != nil {
			s.storeError(w, r, err)
			return
		}
		if info, ok := r.Context().Value(infoKey{}).(*reqInfo); ok {
			info.user = u.Name
		}
		next(w, r.WithContext(context.WithValue(r.Context(), userKey{}, u)))
	}
}

func userOf(r *http.Request) store.User { u, _ := r.Context().Value(userKey{}).(store.User); return u }

func hasRole(u store.User, roles ...store.Role) bool {
	return slices.ContainsFunc(u.Roles, func(r store.Role) bool { return slices.Contains(roles, r) })
}

// need answers 403 unless the user has one of the roles.
func need(w http.ResponseWriter, u store.User, action string, roles ...store.Role) bool {
	if hasRole(u, roles...) {
		return true
	}
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = string(r)
	}
	writeError(w, http.StatusForbidden, "%s may not %s: it takes the role %s", u.Name, action, strings.Join(names, " or "))
	return false
}

// readJSON decodes a capped JSON body into v: 413 beyond the cap, 400 for
// malformed JSON or unknown fields.
func (s *Server) readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, s.maxBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, err2 := dec.Token(); err2 != io.EOF {
			err = errors.New("unexpected data after the JSON object")
			var mb *http.MaxBytesError
			if errors.As(err2, &mb) {
				err = err2
			}
		}
	}
	if err == nil {
		return true
	}
	var mb *http.MaxBytesError
	if errors.As(err, &mb) {
		writeError(w, http.StatusRequestEntityTooLarge, "the request body is larger than %d bytes", s.maxBody)
		return false
	}
	writeError(w, http.StatusBadRequest, "malformed JSON request: %v", err)
	return false
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.st.DB().PingContext(ctx); err != nil {
		writeError(w, http.StatusServiceUnavailable, "database unavailable")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// TwinInfo is the twin the server verifies on.
type TwinInfo struct {
	Dir     string `json:"dir"`
	Version string `json:"version"`
}

func (s *Server) getTwin(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, TwinInfo{Dir: s.cfg.Twin.Dir, Version: s.cfg.Twin.Version})
}

// Submission is the body of POST /api/v1/changes.
type Submission struct {
	Title       string `json:"title"`
	Kind        string `json:"kind"`
	Body        string `json:"body"`
	TwinVersion string `json:"twinVersion"`
}

// Change is a change request as the API shows it.
type Change struct {
	ID          int64           `json:"id"`
	Title       string          `json:"title"`
	Author      string          `json:"author"`
	Kind        string          `json:"kind"`
	Body        string          `json:"body,omitempty"`
	ChangeHash  string          `json:"changeHash"`
	TwinVersion string          `json:"twinVersion"`
	State       string          `json:"state"`
	Editors     []string        `json:"editors,omitempty"`
	Verdict     string          `json:"verdict,omitempty"`
	Created     time.Time       `json:"created"`
	Updated     time.Time       `json:"updated"`
	Report      json.RawMessage `json:"report,omitempty"`
	Decisions   []Decision      `json:"decisions,omitempty"`
	// Approval is where the request stands under the approval rules, once
	// verified.
	Approval *approval.Status `json:"approval,omitempty"`
}

// Decision is a recorded decision as the API shows it.
type Decision struct {
	ID          int64     `json:"id"`
	User        string    `json:"user"`
	Kind        string    `json:"kind"`
	Policy      string    `json:"policy,omitempty"`
	Freeze      string    `json:"freeze,omitempty"`
	Reason      string    `json:"reason,omitempty"`
	ChangeHash  string    `json:"changeHash"`
	TwinVersion string    `json:"twinVersion"`
	At          time.Time `json:"at"`
	Until       time.Time `json:"until,omitzero"`
}

func changeOf(c store.ChangeRequest, full bool) Change {
	out := Change{ID: c.ID, Title: c.Title, Author: c.Author, Kind: string(c.Kind), ChangeHash: c.ChangeHash,
		TwinVersion: c.TwinVersion, State: string(c.State), Editors: c.Editors, Created: c.Created, Updated: c.Updated}
	if rep := decodeReport(c); rep != nil {
		out.Verdict = string(rep.Verdict.Decision)
	}
	if full {
		out.Body, out.Report = c.Body, c.Report
	}
	return out
}

func decisionOf(d store.Decision) Decision {
	return Decision{ID: d.ID, User: d.User, Kind: string(d.Kind), Policy: d.Policy, Freeze: d.Freeze, Reason: d.Reason,
		ChangeHash: d.ChangeHash, TwinVersion: d.TwinVersion, At: d.At, Until: d.Until}
}

func (s *Server) submit(w http.ResponseWriter, r *http.Request) {
	u := userOf(r)
	if !need(w, u, "submit changes", store.Author, store.Admin) {
		return
	}
	var sub Submission
	if !s.readJSON(w, r, &sub) {
		return
	}
	kind := store.Kind(sub.Kind)
	if strings.TrimSpace(sub.Body) == "" {
		writeError(w, http.StatusBadRequest, "the change has no body")
		return
	}
	cs, err := ParseChange(kind, sub.Body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "the change cannot be parsed: %v", err)
		return
	}
	if sub.TwinVersion != s.cfg.Twin.Version {
		writeError(w, http.StatusConflict, "the change targets twin version %q; the server's twin is at %s: rebase the change and submit again",
			sub.TwinVersion, s.cfg.Twin.Version)
		return
	}
	title := strings.TrimSpace(sub.Title)
	if title == "" {
		title = cs.Title
	}
	if title == "" {
		title, _, _ = strings.Cut(strings.TrimSpace(sub.Body), "\n")
	}
	c, err := s.st.CreateChange(r.Context(), store.NewChange{Title: title, Author: u.Name, Kind: kind, Body: sub.Body, TwinVersion: sub.TwinVersion})
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	// Were this lost (a crash right here), Start enqueues it again.
	if err := s.q.enqueue(r.Context(), c.ID); err != nil {
		s.log.Error("enqueueing verification", "request", c.ID, "error", err.Error())
		writeError(w, http.StatusInternalServerError, "change %d was created but its verification could not be queued; it will be queued when the server restarts", c.ID)
		return
	}
	s.log.Info("change submitted", "request", c.ID, "author", u.Name, "kind", kind, "changeHash", c.ChangeHash)
	writeJSON(w, http.StatusCreated, changeOf(c, false))
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	state := store.State(r.URL.Query().Get("state"))
	cs, err := s.st.Changes(r.Context(), state)
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	out := make([]Change, 0, len(cs))
	for _, c := range cs {
		out = append(out, changeOf(c, false))
	}
	writeJSON(w, http.StatusOK, map[string]any{"changes": out})
}

// load reads the request named by the path.
func (s *Server) load(w http.ResponseWriter, r *http.Request) (store.ChangeRequest, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, http.StatusBadRequest, "%q is not a change request id", r.PathValue("id"))
		return store.ChangeRequest{}, false
	}
	c, err := s.st.Change(r.Context(), id)
	if err != nil {
		s.storeError(w, r, err)
		return store.ChangeRequest{}, false
	}
	return c, true
}

// full is a change with its report, decisions and approval status.
func (s *Server) full(ctx context.Context, c store.ChangeRequest) (Change, error) {
	out := changeOf(c, true)
	ds, err := s.st.Decisions(ctx, c.ID)
	if err != nil {
		return Change{}, err
	}
	for _, d := range ds {
		out.Decisions = append(out.Decisions, decisionOf(d))
	}
	if rep := decodeReport(c); rep != nil {
		st, err := evaluate(ctx, s.st, c, rep, ds, s.cfg.now())
		if err != nil {
			return Change{}, err
		}
		out.Approval = &st
	}
	return out, nil
}

func (s *Server) get(w http.ResponseWriter, r *http.Request) {
	c, ok := s.load(w, r)
	if !ok {
		return
	}
	out, err := s.full(r.Context(), c)
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getReport(w http.ResponseWriter, r *http.Request) {
	c, ok := s.load(w, r)
	if !ok {
		return
	}
	if len(c.Report) == 0 {
		writeError(w, http.StatusNotFound, "change %d is %s and has no report yet", c.ID, c.State)
		return
	}
	switch f := r.URL.Query().Get("format"); f {
	case "", "json":
		w.Header().Set("Content-Type", "application/json")
		w.Write(c.Report)
	case "markdown":
		// The stored report is JSON, which keeps what the pages show but not
		// the twins before and after the change that the Markdown's
		// details come from: the check is run again, which gives the same
		// report for the same change on the same twin version.
		if decodeReport(c) == nil {
			writeError(w, http.StatusConflict, "change %d has no check report to render (it could not be checked)", c.ID)
			return
		}
		if c.TwinVersion != s.cfg.Twin.Version {
			writeError(w, http.StatusConflict, "change %d was verified on twin version %s; the server's twin is at %s: the markdown report cannot be rendered again",
				c.ID, c.TwinVersion, s.cfg.Twin.Version)
			return
		}
		rep, err := s.v.check(c)
		if err != nil {
			s.storeError(w, r, err)
			return
		}
		var buf bytes.Buffer
		if err := report.Markdown(&buf, rep); err != nil {
			s.storeError(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
		w.Write(buf.Bytes())
	default:
		writeError(w, http.StatusBadRequest, "unknown format %q: json or markdown", f)
	}
}

// DecisionRequest is the body of POST /api/v1/changes/{id}/decisions.
type DecisionRequest struct {
	Kind   string `json:"kind"`
	Policy string `json:"policy,omitempty"`
	Freeze string `json:"freeze,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Until ends a break-glass (RFC 3339).
	Until time.Time `json:"until,omitzero"`
	// ChangeHash, if given, is the change the reviewer looked at: the
	// decision is refused (409) if the request has changed since.
	ChangeHash string `json:"changeHash,omitempty"`
}

// DecisionResult is the answer to a decision.
type DecisionResult struct {
	Decision Decision        `json:"decision"`
	State    string          `json:"state"`
	Approval approval.Status `json:"approval"`
}

func (s *Server) decide(w http.ResponseWriter, r *http.Request) {
	u := userOf(r)
	var dr DecisionRequest
	if !s.readJSON(w, r, &dr) {
		return
	}
	c, ok := s.load(w, r)
	if !ok {
		return
	}
	res, err := s.takeDecision(r.Context(), u, c, dr)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, res)
}

// requestError is a refusal with its HTTP status code.
type requestError struct {
	code int
	msg  string
}

func (e *requestError) Error() string { return e.msg }

func refuse(code int, format string, args ...any) error {
	return &requestError{code: code, msg: fmt.Sprintf(format, args...)}
}

// fail answers an error of takeDecision (or the store) as JSON.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var re *requestError
	if errors.As(err, &re) {
		writeError(w, re.code, "%s", re.msg)
		return
	}
	s.storeError(w, r, err)
}

// takeDecision records u's decision on request c and advances the
// request: the API's and the web UI's decisions both come here. Refusals
// are *requestError; other errors are the store's.
func (s *Server) takeDecision(ctx context.Context, u store.User, c store.ChangeRequest, dr DecisionRequest) (DecisionResult, error) {
	if dr.ChangeHash != "" && dr.ChangeHash != c.ChangeHash {
		return DecisionResult{}, refuse(http.StatusConflict, "change %d is now at hash %s, not %s: look at it again", c.ID, c.ChangeHash, dr.ChangeHash)
	}
	rep := decodeReport(c)
	if rep == nil || (c.State != store.NeedsApproval && c.State != store.Approved) {
		return DecisionResult{}, refuse(http.StatusConflict, "change %d is %s: decisions are taken on requests that need approval or are approved", c.ID, c.State)
	}
	switch err := approval.CanDecide(approvalUser(u), request(c, rep), dr.Kind); {
	case errors.Is(err, approval.ErrKind):
		return DecisionResult{}, refuse(http.StatusBadRequest, "%v", err)
	case errors.Is(err, approval.ErrRole):
		return DecisionResult{}, refuse(http.StatusForbidden, "%v", err)
	case errors.Is(err, approval.ErrSeparation):
		return DecisionResult{}, refuse(http.StatusConflict, "%v", err)
	case err != nil:
		return DecisionResult{}, err
	}
	d, err := s.st.Decide(ctx, store.Decision{RequestID: c.ID, User: u.Name, Kind: store.DecisionKind(dr.Kind),
		Policy: dr.Policy, Freeze: dr.Freeze, Reason: dr.Reason, ChangeHash: c.ChangeHash, Until: dr.Until}, "")
	if err != nil {
		return DecisionResult{}, err
	}
	st, state, err := s.advance(ctx, c.ID, u.Name)
	if err != nil {
		return DecisionResult{}, err
	}
	s.log.Info("decision", "request", c.ID, "user", u.Name, "kind", dr.Kind, "state", state)
	return DecisionResult{Decision: decisionOf(d), State: string(state), Approval: st}, nil
}

// approvalUser is a user as package approval sees it.
func approvalUser(u store.User) approval.User {
	roles := make([]string, len(u.Roles))
	for i, role := range u.Roles {
		roles[i] = string(role)
	}
	return approval.User{Name: u.Name, Roles: roles, Groups: u.Groups}
}

// advance re-evaluates a request after a decision and moves it to
// approved or rejected when the rules say so. Concurrent deciders race on
// the store's compare-and-swap: one moves it, the others find it moved.
// The last decision to commit sees all the others, so none is missed.
func (s *Server) advance(ctx context.Context, id int64, actor string) (approval.Status, store.State, error) {
	for range 3 {
		c, err := s.st.Change(ctx, id)
		if err != nil {
			return approval.Status{}, "", err
		}
		rep := decodeReport(c)
		if rep == nil {
			return approval.Status{}, c.State, nil
		}
		st, err := evaluate(ctx, s.st, c, rep, nil, s.cfg.now())
		if err != nil {
			return approval.Status{}, "", err
		}
		var to store.State
		switch {
		case st.State == approval.StateApproved && c.State == store.NeedsApproval:
			to = store.Approved
		case st.State == approval.StateRejected && (c.State == store.NeedsApproval || c.State == store.Approved):
			to = store.Rejected
		default:
			return st, c.State, nil
		}
		err = s.st.Transition(ctx, id, c.State, to, actor)
		if err == nil {
			return st, to, nil
		}
		if !errors.Is(err, store.ErrConflict) {
			return approval.Status{}, "", err
		}
		// Someone moved it first: look again.
	}
	c, err := s.st.Change(ctx, id)
	if err != nil {
		return approval.Status{}, "", err
	}
	st, err := evaluate(ctx, s.st, c, decodeReport(c), nil, s.cfg.now())
	return st, c.State, err
}

// transition is apply (approved → applied) and rollback (applied →
// rolled-back), by an approver or admin. Apply is refused while the rules
// do not approve the change now, such as during a freeze nobody overrode.
func (s *Server) transition(from, to store.State) http.HandlerFunc {
	verb := map[store.State]string{store.Applied: "apply", store.RolledBack: "roll back"}[to]
	return func(w http.ResponseWriter, r *http.Request) {
		u := userOf(r)
		if !need(w, u, verb+" changes", store.Approver, store.Admin) {
			return
		}
		c, ok := s.load(w, r)
		if !ok {
			return
		}
		if c.State != from {
			writeError(w, http.StatusConflict, "change %d is %s; only a change that is %s can be %s", c.ID, c.State, from, to)
			return
		}
		if to == store.Applied {
			st, err := evaluate(r.Context(), s.st, c, decodeReport(c), nil, s.cfg.now())
			if err != nil {
				s.storeError(w, r, err)
				return
			}
			if st.State != approval.StateApproved {
				writeJSON(w, http.StatusConflict, map[string]any{"error": fmt.Sprintf("change %d cannot be applied now: %s", c.ID, strings.Join(st.Unmet, "; ")),
					"approval": st})
				return
			}
		}
		if err := s.st.Transition(r.Context(), c.ID, from, to, u.Name); err != nil {
			s.storeError(w, r, err)
			return
		}
		c, err := s.st.Change(r.Context(), c.ID)
		if err != nil {
			s.storeError(w, r, err)
			return
		}
		s.log.Info("transition", "request", c.ID, "user", u.Name, "from", from, "to", to)
		writeJSON(w, http.StatusOK, changeOf(c, false))
	}
}
