package webui

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"regexp"
	"strings"
	"time"

	"github.com/preflight-sh/preflight/svgplot"
)

//go:embed static/*
var staticFS embed.FS

// stylePath is the style sheet's address, with a version that changes with
// its content so browsers may cache it for long.
var stylePath = StaticPath + "style.css?v=" + contentVersion("static/style.css")

func contentVersion(name string) string {
	b, err := staticFS.ReadFile(name)
	if err != nil {
		panic(err)
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:6])
}

// Static serves the embedded style sheet (and any other embedded static
// file) under StaticPath. Mount it there:
//
//	mux.Handle("GET /static/", webui.Static())
//
// Only files are served, never a directory listing; the pages ask for them
// with a version in the query, so they may be cached for a day.
func Static() http.Handler {
	root, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		rel, ok := cutStatic(r.URL.Path)
		if !ok {
			http.NotFound(w, r)
			return
		}
		b, err := fs.ReadFile(root, rel)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "public, max-age=86400")
		// The modification time is that of the binary's build, which embed
		// does not record: none is sent, and ServeContent sets the type
		// from the name.
		http.ServeContent(w, r, rel, time.Time{}, bytes.NewReader(b))
	})
}

// cutStatic is the embedded file a request path names, if any.
func cutStatic(p string) (string, bool) {
	rel, ok := strings.CutPrefix(p, StaticPath)
	if !ok || rel == "" || path.Clean(rel) != rel || !fs.ValidPath(rel) {
		return "", false
	}
	return rel, true
}

// ContentSecurityPolicy is the Content-Security-Policy the pages are made
// for: no script at all, style only from the embedded sheet (and the one
// <style> element svgplot puts in its charts, allowed by its hash), images
// only from the server or inline, forms posting only to the server, no
// framing. The pages also carry it (without frame-ancestors, which a
// <meta> element cannot set) so they are protected even when a handler
// forgets the header. SetSecurityHeaders sends it.
var ContentSecurityPolicy = "default-src 'none'; style-src 'self'" + chartStyles +
	"; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// metaCSP is ContentSecurityPolicy as a <meta> element may carry it.
var metaCSP = "default-src 'none'; style-src 'self'" + chartStyles +
	"; img-src 'self' data:; form-action 'self'; base-uri 'none'"

// SetSecurityHeaders sets the headers every page of the UI should be sent
// with: the Content-Security-Policy, no MIME sniffing, no framing, no
// referrer leaving the site, and no caching of pages that show a user's
// data and CSRF token.
func SetSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
}

var chartStyles = chartStyleHashes()

var styleElement = regexp.MustCompile(`(?s)<style>(.*?)</style>`)

// chartStyleHashes is " 'sha256-…'" for each <style> element svgplot puts
// in a chart, found by drawing a small one, so the policy follows svgplot.
func chartStyleHashes() string {
	var b bytes.Buffer
	c := svgplot.Chart{Step: time.Minute, Panels: []svgplot.Panel{{Series: []svgplot.Series{{Name: "x", Values: []float64{0, 1}}}}}}
	if err := svgplot.Write(&b, c); err != nil {
		panic("webui: drawing a chart: " + err.Error())
	}
	out := ""
	for _, m := range styleElement.FindAllSubmatch(b.Bytes(), -1) {
		h := sha256.Sum256(m[1])
		out += " 'sha256-" + base64.StdEncoding.EncodeToString(h[:]) + "'"
	}
	return out
}
