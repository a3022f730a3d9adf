package webui

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
)

// CSRF makes and checks the tokens that protect the UI's forms against
// cross-site request forgery. A token is bound to a session: it is the
// HMAC-SHA256, under a server secret, of the session's ID, so it needs no
// storage and cannot be made without the secret.
//
// How the server uses it:
//
//   - The session ID lives in a cookie that is HttpOnly, SameSite=Strict,
//     Path=/, and Secure whenever the service is served over TLS. It is
//     random (at least 128 bits from crypto/rand), made anew at login, and
//     never logged. Before login, the login form gets a pre-session cookie
//     of its own the same way, so the login form is protected too.
//   - Every page that has a form gets Token(sessionID) in its CSRF field;
//     the templates put it in a hidden input named FieldCSRF.
//   - Every POST (login, logout, decisions) is refused with 403 unless
//     Valid(sessionID, r.PostFormValue(FieldCSRF)) holds — CheckRequest does
//     exactly that — before anything else is done with the request. GET
//     requests change nothing.
//   - The key is at least 32 random bytes, kept with the server's other
//     secrets (or made at start, which signs everyone out on restart).
//
// SameSite=Strict already keeps browsers from sending the cookie with
// cross-site POSTs; the token is the second, browser-independent line.
// API clients authenticating with a bearer token send no cookie and need no
// CSRF token.
type CSRF struct {
	key []byte
}

// csrfContext separates these MACs from any other use of the same key.
const csrfContext = "preflight webui csrf v1\x00"

// NewCSRF returns a CSRF keyed with key, which must be a secret of at least
// 16 random bytes (32 are recommended); it panics on a shorter key, which is
// a programming error.
func NewCSRF(key []byte) *CSRF {
	if len(key) < 16 {
		panic("webui: a CSRF key needs at least 16 bytes")
	}
	return &CSRF{key: append([]byte(nil), key...)}
}

// Token is the CSRF token of a session: the HMAC-SHA256 of the session ID
// (after a fixed context string), base64url without padding. An empty
// session ID has no token ("").
func (c *CSRF) Token(sessionID string) string {
	if sessionID == "" {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(c.mac(sessionID))
}

func (c *CSRF) mac(sessionID string) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte(csrfContext))
	m.Write([]byte(sessionID))
	return m.Sum(nil)
}

// Valid reports whether token is the CSRF token of the session, comparing
// in constant time. An empty session ID or token is never valid.
func (c *CSRF) Valid(sessionID, token string) bool {
	if sessionID == "" || token == "" {
		return false
	}
	got, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return false
	}
	return hmac.Equal(got, c.mac(sessionID))
}

// CheckRequest reports whether r carries the session's CSRF token in its
// form field FieldCSRF. It parses the form (call it after limiting the
// body with http.MaxBytesReader).
func (c *CSRF) CheckRequest(r *http.Request, sessionID string) bool {
	return c.Valid(sessionID, r.PostFormValue(FieldCSRF))
}
