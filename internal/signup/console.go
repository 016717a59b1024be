package signup

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The console: server-rendered pages over the same Service and store the
// JSON API uses, signed in with an operator's bearer token.

// Console session timing.
const (
	// sessionLifetime is how long a session lasts after sign-in, used or not.
	sessionLifetime = 12 * time.Hour
	// sessionIdle ends a session nobody used for this long.
	sessionIdle = 2 * time.Hour
	// sessionTouchEvery bounds the writes that record a session's use.
	sessionTouchEvery = time.Minute
	// sessionRecheck is how often a live stream checks that its session
	// still holds.
	sessionRecheck = 5 * time.Second
	// maxSignInBody bounds the sign-in form.
	maxSignInBody = 8 << 10
)

// The session cookie: __Host- (Secure, Path=/, no Domain: no other site
// can set it) when the console is served over TLS, which that prefix
// needs; a plain name on plain HTTP (a loopback or a private network).
const (
	sessionCookie       = "tenantfleet_session"
	secureSessionCookie = "__Host-tenantfleet_session"
)

//go:embed console
var consoleFiles embed.FS

// consoleRoute is one route of the console. Signed-in routes answer a
// request without a session with a redirect to the sign-in page (pages) or
// 401 (live streams, forms).
type consoleRoute struct {
	pattern  string
	signedIn bool
	handle   func(*api, *consoleExchange) error
}

func consoleRoutes() []consoleRoute {
	return []consoleRoute{
		{"GET /{$}", true, (*api).overviewPage},
		{"GET /sign-in", false, (*api).signInPage},
		{"POST /sign-in", false, (*api).signIn},
		{"POST /sign-out", true, (*api).signOut},
		{"GET /tenants", true, (*api).tenantsPage},
		{"GET /tenants/{id}", true, (*api).tenantPage},
		{"GET /tenants/{id}/live", true, (*api).tenantLive},
		{"POST /tenants/{id}/retry", true, (*api).tenantAction},
		{"POST /tenants/{id}/reconcile", true, (*api).tenantAction},
		{"POST /tenants/{id}/cancel", true, (*api).tenantAction},
		{"POST /tenants/{id}/delete", true, (*api).tenantAction},
		{"GET /rollouts", true, (*api).rolloutsPage},
		{"POST /rollouts", true, (*api).startRolloutForm},
		{"GET /rollouts/{id}", true, (*api).rolloutPage},
		{"GET /rollouts/{id}/live", true, (*api).rolloutLive},
		{"POST /rollouts/{id}/pause", true, (*api).rolloutFormAction},
		{"POST /rollouts/{id}/resume", true, (*api).rolloutFormAction},
		{"POST /rollouts/{id}/cancel", true, (*api).rolloutFormAction},
		{"POST /drift-checks", true, (*api).startDriftCheckForm},
		{"GET /static/{file}", false, (*api).serveStatic},
	}
}

// consoleExchange is one console request: the exchange and the session.
type consoleExchange struct {
	*exchange
	session consoleSession
}

// console holds what the console's handlers share.
type console struct {
	pages map[string]*template.Template
	// static are the embedded assets with their ETags.
	static map[string]staticFile
	// crossOrigin refuses a form posted from another site (Fetch
	// Metadata, Origin), before any session or CSRF check.
	crossOrigin *http.CrossOriginProtection
}

type staticFile struct {
	body        []byte
	etag        string
	contentType string
}

func newConsole() *console {
	c := &console{pages: map[string]*template.Template{}, static: map[string]staticFile{}, crossOrigin: http.NewCrossOriginProtection()}
	layout := template.Must(template.New("layout.html").Funcs(consoleFuncs).ParseFS(consoleFiles, "console/layout.html"))
	pages, err := fs.Glob(consoleFiles, "console/page_*.html")
	if err != nil {
		panic(err)
	}
	for _, p := range pages {
		name := strings.TrimSuffix(strings.TrimPrefix(p, "console/page_"), ".html")
		c.pages[name] = template.Must(template.Must(layout.Clone()).ParseFS(consoleFiles, p))
	}
	for name, ct := range map[string]string{"console.css": "text/css; charset=utf-8", "console.js": "text/javascript; charset=utf-8"} {
		b, err := consoleFiles.ReadFile("console/static/" + name)
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256(b)
		c.static[name] = staticFile{body: b, etag: `"` + hex.EncodeToString(sum[:8]) + `"`, contentType: ct}
	}
	return c
}

// registerConsole adds the console's routes to the API's mux.
func (a *api) registerConsole() {
	a.console = newConsole()
	a.console.crossOrigin.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setConsoleHeaders(w.Header())
		x := &consoleExchange{exchange: &exchange{w: w, r: r, maxBody: a.maxBody}}
		a.log.Warn("console: a cross-site form post refused", "request_id", requestID(r.Context()), "path", r.URL.Path)
		a.renderError(x, newProblem(http.StatusForbidden, "Origin",
			"this form was posted from another site; the console takes its forms only from its own pages"))
	}))
	for _, rt := range consoleRoutes() {
		a.mux.Handle(rt.pattern, a.serveConsole(rt))
	}
}

func (a *api) serveConsole(rt consoleRoute) http.Handler {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setConsoleHeaders(w.Header())
		x := &consoleExchange{exchange: &exchange{w: w, r: r, maxBody: a.maxBody}}
		if rt.signedIn {
			cs, err := a.currentSession(r)
			if err != nil {
				a.noSession(x, err)
				return
			}
			x.session = cs
			if r.Method == http.MethodPost && !a.csrfValid(x) {
				a.renderError(x, newProblem(http.StatusForbidden, "csrf",
					"this form is missing its security token or has a stale one; go back, reload the page and submit it again"))
				return
			}
		}
		if err := rt.handle(a, x); err != nil {
			a.renderError(x, a.problemOf(x.exchange, err))
		}
	})
	if strings.HasPrefix(rt.pattern, "POST ") {
		// A cross-site form post is refused before anything else: the
		// session cookie (SameSite=Strict) would not come with it anyway.
		return a.console.crossOrigin.Handler(h)
	}
	return h
}

// setConsoleHeaders keeps the console's pages from being framed, sniffed,
// cached or given to other origins, and lets them load nothing but their
// own embedded assets.
func setConsoleHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
}

// noSession answers a request that needs a session and has none: pages
// redirect to the sign-in page (and back after it), the rest get 401.
func (a *api) noSession(x *consoleExchange, err error) {
	if !errors.Is(err, errNoSession) {
		a.renderError(x, a.problemOf(x.exchange, err))
		return
	}
	if x.r.Method == http.MethodGet && !strings.HasSuffix(x.r.URL.Path, "/live") {
		http.Redirect(x.w, x.r, "/sign-in?next="+url.QueryEscape(x.r.URL.RequestURI()), http.StatusSeeOther)
		return
	}
	a.renderError(x, newProblem(http.StatusUnauthorized, "session", "you are not signed in (or your session ended): sign in again"))
}

// ---- sessions ----

func cookieName(r *http.Request) string {
	if isTLS(r) {
		return secureSessionCookie
	}
	return sessionCookie
}

// isTLS reports whether the browser reached the console over TLS: served
// with TLS here, or through a proxy that says so. A forged header only
// makes this replica set a cookie the browser then keeps to HTTPS.
func isTLS(r *http.Request) bool {
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		return true
	}
	// RFC 7239: Forwarded: for=...;proto=https
	for _, f := range r.Header.Values("Forwarded") {
		for _, part := range strings.FieldsFunc(f, func(r rune) bool { return r == ';' || r == ',' }) {
			if k, v, ok := strings.Cut(strings.TrimSpace(part), "="); ok && strings.EqualFold(k, "proto") && strings.EqualFold(strings.Trim(v, `"`), "https") {
				return true
			}
		}
	}
	return false
}

func sum(s string) string {
	b := sha256.Sum256([]byte(s))
	return hex.EncodeToString(b[:])
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// currentSession returns the request's live session, or errNoSession.
func (a *api) currentSession(r *http.Request) (consoleSession, error) {
	c, err := r.Cookie(cookieName(r))
	if err != nil || c.Value == "" {
		return consoleSession{}, errNoSession
	}
	idSum := sum(c.Value)
	cs, err := a.svc.store.session(r.Context(), idSum)
	if err != nil {
		return cs, err
	}
	now := time.Now()
	if !now.Before(cs.expiresAt) || now.Sub(cs.lastSeen) >= sessionIdle || !a.auth.acceptsTokenSum(cs.tokenSum) {
		// Expired, idle, or signed in with a token the service no longer
		// takes (rotated out of --api-token-file): the session is over.
		_ = a.svc.store.deleteSession(context.WithoutCancel(r.Context()), idSum)
		return consoleSession{}, errNoSession
	}
	if now.Sub(cs.lastSeen) >= sessionTouchEvery {
		if err := a.svc.store.touchSession(r.Context(), idSum, now); err != nil {
			return cs, err
		}
	}
	return cs, nil
}

// csrfValid reports whether a signed-in form post carries its session's
// CSRF token (from the form body only, never the URL).
func (a *api) csrfValid(x *consoleExchange) bool {
	x.r.Body = http.MaxBytesReader(x.w, x.r.Body, a.maxBody)
	if err := x.r.ParseForm(); err != nil {
		return false
	}
	got := x.r.PostForm.Get("csrf")
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(x.session.csrf)) == 1
}

func (a *api) signInPage(x *consoleExchange) error {
	if _, err := a.currentSession(x.r); err == nil {
		http.Redirect(x.w, x.r, "/", http.StatusSeeOther)
		return nil
	}
	view := signInView{Next: safeNext(x.r.URL.Query().Get("next")), NoTokens: len(a.auth.tokenSums) == 0}
	if x.r.URL.Query().Has("token") {
		view.Error = "A token in the URL is never used to sign in: paste it in the form. " +
			"The URL may have been recorded in browser history or logs, so rotate that token."
	}
	return a.render(x, http.StatusOK, "sign-in", "Sign in", view)
}

// signIn checks the operator token posted in the form body (a token in the
// URL is refused) and starts a session.
func (a *api) signIn(x *consoleExchange) error {
	x.r.Body = http.MaxBytesReader(x.w, x.r.Body, maxSignInBody)
	if err := x.r.ParseForm(); err != nil {
		return newProblem(http.StatusBadRequest, "token", "the sign-in form could not be read")
	}
	view := signInView{Next: safeNext(x.r.PostForm.Get("next")), NoTokens: len(a.auth.tokenSums) == 0}
	if x.r.URL.Query().Has("token") {
		view.Error = "A token in the URL is never used to sign in: paste it in the form. " +
			"The URL may have been recorded in browser history or logs, so rotate that token."
		return a.render(x, http.StatusBadRequest, "sign-in", "Sign in", view)
	}
	token := strings.TrimSpace(x.r.PostForm.Get("token"))
	if token == "" || a.auth.bearer([]string{"Bearer " + token}) != nil {
		a.metrics.authFailure("console_sign_in")
		a.log.Warn("console sign-in refused", "request_id", requestID(x.r.Context()), "reason", "the token is not an operator token")
		view.Error = "That is not an operator token of this service."
		if token == "" {
			view.Error = "Enter an operator token."
		}
		return a.render(x, http.StatusUnauthorized, "sign-in", "Sign in", view)
	}
	if old, err := x.r.Cookie(cookieName(x.r)); err == nil && old.Value != "" {
		// Signing in again ends the session the browser had.
		if err := a.svc.store.deleteSession(x.r.Context(), sum(old.Value)); err != nil {
			return err
		}
	}
	now := time.Now()
	id := randomToken()
	cs := consoleSession{idSum: sum(id), csrf: randomToken(), tokenSum: hex.EncodeToString(sha256Sum(token)),
		createdAt: now, expiresAt: now.Add(sessionLifetime), lastSeen: now}
	if err := a.svc.store.createSession(x.r.Context(), cs); err != nil {
		return err
	}
	a.log.Info("console sign-in", "request_id", requestID(x.r.Context()), "session", cs.idSum[:12])
	http.SetCookie(x.w, &http.Cookie{Name: cookieName(x.r), Value: id, Path: "/", MaxAge: int(sessionLifetime.Seconds()),
		HttpOnly: true, Secure: isTLS(x.r), SameSite: http.SameSiteStrictMode})
	http.Redirect(x.w, x.r, view.Next, http.StatusSeeOther)
	return nil
}

func sha256Sum(s string) []byte {
	b := sha256.Sum256([]byte(s))
	return b[:]
}

func (a *api) signOut(x *consoleExchange) error {
	if err := a.svc.store.deleteSession(x.r.Context(), x.session.idSum); err != nil {
		return err
	}
	http.SetCookie(x.w, &http.Cookie{Name: cookieName(x.r), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: isTLS(x.r), SameSite: http.SameSiteStrictMode})
	http.Redirect(x.w, x.r, "/sign-in?signed-out=1", http.StatusSeeOther)
	return nil
}

// safeNext is where to go after signing in: a path of this site, else /.
// Browsers drop tabs and newlines from URLs and read \ as /, so "/\t/x"
// or "/\\x" would lead to another site: anything but a plain path is /.
func safeNext(next string) string {
	bad := next == "" || next[0] != '/' || strings.HasPrefix(next, "//") || strings.ContainsRune(next, '\\') ||
		strings.IndexFunc(next, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0
	if u, err := url.Parse(next); bad || err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	return next
}

// acceptsTokenSum reports whether the token with this hex SHA-256 is still
// an operator token of the service.
func (a *authenticator) acceptsTokenSum(hexSum string) bool {
	want, err := hex.DecodeString(hexSum)
	if err != nil || len(want) != sha256.Size {
		return false
	}
	match := 0
	for i := range a.tokenSums {
		match |= subtle.ConstantTimeCompare(want, a.tokenSums[i][:])
	}
	return match == 1
}

// ---- rendering ----

// page is what the layout renders around a page's own content.
type page struct {
	Title string
	// Nav is the section the page belongs to (overview, tenants, rollouts).
	Nav      string
	CSRF     string
	SignedIn bool
	Notice   string
	Data     any
}

func (a *api) render(x *consoleExchange, status int, name, title string, data any) error {
	t, ok := a.console.pages[name]
	if !ok {
		return errors.New("console: no page " + name)
	}
	nav := name
	switch name {
	case "tenant":
		nav = "tenants"
	case "rollout":
		nav = "rollouts"
	}
	p := page{Title: title, Nav: nav, CSRF: x.session.csrf, SignedIn: x.session.idSum != "", Data: data,
		Notice: noticeText(x.r.URL.Query().Get("done"))}
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, "layout.html", p); err != nil {
		return err
	}
	x.w.Header().Set("Content-Type", "text/html; charset=utf-8")
	x.w.WriteHeader(status)
	_, _ = x.w.Write(b.Bytes())
	return nil
}

// noticeText is the notice a page shows after an action redirected to it.
func noticeText(done string) string {
	return map[string]string{
		"retry":     "Another try of the tenant's provisioning started.",
		"reconcile": "Reconcile started: the stack is refreshed and updated to its template.",
		"cancel":    "Cancel asked: the running operation stops at its next safe point.",
		"delete":    "Delete started.",
		"pause":     "Rollout paused: updates in flight finish, no new ones start.",
		"resume":    "Rollout resumed.",
		"rollout":   "Rollout started.",
		"drift":     "Drift check started.",
		"nothing":   "Nothing was started: the tenant is already where that action would take it.",
	}[done]
}

// renderError answers with an error page (the problem's status and
// detail, which never hold a secret).
func (a *api) renderError(x *consoleExchange, p *problem) {
	for k, vs := range p.header {
		if k != "Www-Authenticate" {
			x.w.Header()[k] = vs
		}
	}
	if err := a.render(x, p.Status, "error", p.Title, p); err != nil {
		a.log.Error("render the console's error page", "request_id", requestID(x.r.Context()), "error", err.Error())
		writeProblem(x.w, p)
	}
}

func (a *api) serveStatic(x *consoleExchange) error {
	f, ok := a.console.static[x.r.PathValue("file")]
	if !ok {
		return newProblem(http.StatusNotFound, "", "there is no such file")
	}
	h := x.w.Header()
	h.Set("Content-Type", f.contentType)
	h.Set("ETag", f.etag)
	h.Set("Cache-Control", "no-cache") // revalidate: the ETag changes with the build
	if x.r.Header.Get("If-None-Match") == f.etag {
		x.w.WriteHeader(http.StatusNotModified)
		return nil
	}
	h.Set("Content-Length", strconv.Itoa(len(f.body)))
	_, _ = x.w.Write(f.body)
	return nil
}

// signInView is the sign-in page's data.
type signInView struct {
	Next  string
	Error string
	// NoTokens says the service has no operator token: nobody can sign in.
	NoTokens bool
}
