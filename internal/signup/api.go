package signup

import (
	"bytes"
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tenantfleet/tenantfleet/components"
)

// openAPISpec documents the HTTP API; it is served at /openapi.yaml.
//
//go:embed openapi.yaml
var openAPISpec []byte

// access is what a route asks of its caller.
type access int

const (
	// public routes (probes, metrics, the spec) need no credentials.
	public access = iota
	// read routes need an operator's bearer token.
	read
	// write routes take a bearer token or a Standard Webhooks signature.
	write
)

// route is one operation of the HTTP API.
type route struct {
	// pattern is the http.ServeMux pattern: "METHOD /path/{wildcard}".
	pattern string
	access  access
	handle  func(*api, *exchange) error
}

// routes is the whole HTTP surface; openapi.yaml documents each of them
// (TestOpenAPIDocumentsEveryRoute keeps the two in step).
func routes() []route {
	return []route{
		{"GET /healthz", public, (*api).healthz},
		{"GET /readyz", public, (*api).readyz},
		{"GET /metrics", public, (*api).serveMetrics},
		{"GET /openapi.yaml", public, (*api).serveOpenAPI},
		{"POST /v1/tenants", write, (*api).signup},
		{"GET /v1/tenants", read, (*api).list},
		{"GET /v1/tenants/{id}", read, (*api).get},
		{"DELETE /v1/tenants/{id}", write, (*api).delete},
		{"POST /v1/tenants/{id}/cancel", write, (*api).cancel},
		{"GET /v1/tenants/{id}/events", read, (*api).events},
	}
}

// api serves the HTTP surface of a Service.
type api struct {
	svc     *Service
	log     *slog.Logger
	metrics *Metrics
	auth    *authenticator
	maxBody int64
	mux     *http.ServeMux
	prom    http.Handler
}

// Handler returns the service's HTTP API: the /v1 tenant operations (with
// authentication), probes, metrics and the OpenAPI document. Errors are
// RFC 9457 problem details; every request is logged (never its headers or
// body) and counted.
func (s *Service) Handler() http.Handler {
	cfg := s.Config()
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	a := &api{
		svc:     s,
		log:     log,
		metrics: s.Metrics(),
		auth:    newAuthenticator(cfg, log),
		maxBody: cfg.MaxBodyBytes,
		mux:     http.NewServeMux(),
	}
	if a.maxBody <= 0 {
		a.maxBody = 64 << 10
	}
	if a.metrics != nil {
		a.prom = a.metrics.handler(log)
	}
	for _, rt := range routes() {
		a.mux.Handle(rt.pattern, a.serveRoute(rt))
	}
	return a
}

// exchange is one request being served.
type exchange struct {
	w      http.ResponseWriter
	r      *http.Request
	caller caller

	maxBody  int64
	body     []byte
	bodyRead bool
}

// mutation is the webhook message that carried the request, if any.
func (x *exchange) mutation() Mutation {
	if x.caller.webhookID == "" {
		return Mutation{}
	}
	return Mutation{WebhookID: x.caller.webhookID, WebhookRequest: RequestDigest(x.r.Method, x.r.URL.RequestURI(), x.body)}
}

// readBody reads the request body once, up to the size limit.
func (x *exchange) readBody() ([]byte, error) {
	if x.bodyRead {
		return x.body, nil
	}
	x.bodyRead = true
	tooLarge := newProblem(http.StatusRequestEntityTooLarge, "", "the request body is larger than %d bytes", x.maxBody)
	if x.r.ContentLength > x.maxBody {
		return nil, tooLarge
	}
	b, err := io.ReadAll(http.MaxBytesReader(x.w, x.r.Body, x.maxBody))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return nil, tooLarge
	case err != nil:
		return nil, newProblem(http.StatusBadRequest, "", "the request body could not be read")
	}
	x.body = b
	return b, nil
}

func (a *api) serveRoute(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		x := &exchange{w: w, r: r, maxBody: a.maxBody}
		err := func() error {
			if rt.access != public {
				c, err := a.auth.authenticate(r, rt.access == write, x.readBody)
				if err != nil {
					return err
				}
				x.caller = c
			}
			return rt.handle(a, x)
		}()
		if err != nil {
			a.writeError(x, err)
		}
	})
}

// ServeHTTP routes the request, turning the mux's plain-text 404 and 405
// into problem details, and logs and counts it.
func (a *api) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rid := newRequestID()
	w.Header().Set("X-Request-Id", rid)
	r = r.WithContext(context.WithValue(r.Context(), requestIDKey{}, rid))
	sw := &statusWriter{ResponseWriter: w}
	routeName := "unmatched"
	quiet := false
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			a.log.Error("panic serving a request", "route", routeName, "request_id", rid, "panic", fmt.Sprint(v))
			if !sw.wroteHeader {
				writeProblem(sw, internalProblem(rid))
			}
		}
		d := time.Since(start)
		a.metrics.request(routeName, sw.status(), d)
		level := slog.LevelInfo
		if quiet && sw.status() < 400 {
			level = slog.LevelDebug
		}
		a.log.LogAttrs(r.Context(), level, "http request",
			slog.String("method", r.Method), slog.String("route", routeName), slog.Int("status", sw.status()),
			slog.Duration("duration", d), slog.String("request_id", rid))
	}()

	if p := nonCanonicalPath(r); p != nil {
		writeProblem(sw, p)
		return
	}
	h, pattern := a.mux.Handler(r)
	if pattern == "" {
		writeProblem(sw, unrouted(h, r))
		return
	}
	routeName = pattern
	quiet = !strings.Contains(pattern, " /v1/") // probes and scrapes
	a.mux.ServeHTTP(sw, r)
}

// nonCanonicalPath refuses a path the mux would redirect to its cleaned
// form (dot segments, double slashes): under /v1/tenants/ it is a bad
// tenant id (path traversal), elsewhere no route.
func nonCanonicalPath(r *http.Request) *problem {
	p := r.URL.EscapedPath()
	clean := path.Clean(p)
	if strings.HasSuffix(p, "/") && clean != "/" {
		clean += "/"
	}
	if p != "" && p[0] == '/' && clean == p {
		return nil
	}
	if strings.HasPrefix(p, "/v1/tenants/") {
		return newProblem(http.StatusBadRequest, "id", "the tenant id in the path must be %s", tenantIDRule)
	}
	return newProblem(http.StatusNotFound, "", "there is no such route; the API is described at /openapi.yaml")
}

// unrouted runs the mux's handler for a request it has no route for, to
// learn whether the path exists with other methods (405 and Allow).
func unrouted(h http.Handler, r *http.Request) *problem {
	rec := &headerRecorder{header: http.Header{}}
	h.ServeHTTP(rec, r)
	if rec.code == http.StatusMethodNotAllowed {
		allow := rec.header.Get("Allow")
		p := newProblem(http.StatusMethodNotAllowed, "", "this route does not take %s; it allows %s", r.Method, allow)
		p.header = http.Header{"Allow": {allow}}
		return p
	}
	return newProblem(http.StatusNotFound, "", "there is no such route; the API is described at /openapi.yaml")
}

// headerRecorder keeps the status and headers a handler writes, not its body.
type headerRecorder struct {
	header http.Header
	code   int
}

func (h *headerRecorder) Header() http.Header         { return h.header }
func (h *headerRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (h *headerRecorder) WriteHeader(code int) {
	if h.code == 0 {
		h.code = code
	}
}

// statusWriter remembers the status written; Unwrap lets
// http.ResponseController reach the connection (flush, deadlines).
type statusWriter struct {
	http.ResponseWriter
	code        int
	wroteHeader bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wroteHeader {
		w.code, w.wroteHeader = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Flush implements http.Flusher for code that asserts it.
func (w *statusWriter) Flush() { _ = http.NewResponseController(w.ResponseWriter).Flush() }

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) status() int {
	if !w.wroteHeader {
		return http.StatusOK
	}
	return w.code
}

type requestIDKey struct{}

func newRequestID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// --- problems ---

// problem is an RFC 9457 problem details document; it is also the error a
// handler returns to answer with it.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	// Detail is a sentence naming the problem, safe to show to the caller.
	Detail string `json:"detail"`
	// Field names the body field, query parameter or header at fault.
	Field string `json:"field,omitempty"`
	// header is added to the response (Allow, WWW-Authenticate).
	header http.Header
}

func newProblem(status int, field, format string, args ...any) *problem {
	return &problem{
		Type:   "about:blank",
		Title:  http.StatusText(status),
		Status: status,
		Detail: fmt.Sprintf(format, args...),
		Field:  field,
	}
}

func (p *problem) Error() string { return p.Detail }

func internalProblem(rid string) *problem {
	return newProblem(http.StatusInternalServerError, "",
		"the service failed to handle the request; its log has the details under request id %s", rid)
}

func writeProblem(w http.ResponseWriter, p *problem) {
	for k, vs := range p.header {
		w.Header()[k] = vs
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// writeError answers with the problem err stands for. Errors of the
// caller's making are named; any other is logged and answered with a 500
// that says nothing of it.
func (a *api) writeError(x *exchange, err error) {
	var (
		af  *authFailure
		p   *problem
		ce  *ConflictError
		re  *RequestError
		te  *TemplateError
		rid = requestID(x.r.Context())
	)
	switch {
	case errors.As(err, &af):
		a.metrics.authFailure(af.reason)
		p = af.problem
	case errors.As(err, &p):
	case errors.Is(err, ErrNotFound):
		p = newProblem(http.StatusNotFound, "", "tenant %s does not exist", x.r.PathValue("id"))
	case errors.As(err, &ce):
		p = newProblem(http.StatusConflict, ce.Field, "%s", ce.Reason)
	case errors.As(err, &re):
		p = newProblem(http.StatusUnprocessableEntity, re.Field, "%s", re.Error())
	case errors.As(err, &te):
		a.log.Error("the tenant template is invalid", "request_id", rid, "error", te.Error())
		p = newProblem(http.StatusInternalServerError, "", "%s (request id %s)", te.Error(), rid)
	case x.r.Context().Err() != nil:
		// The caller went away (or the server is stopping): nobody reads this.
		p = newProblem(http.StatusServiceUnavailable, "", "the request was cancelled before it completed")
	default:
		a.log.Error("request failed", "request_id", rid, "error", err.Error())
		p = internalProblem(rid)
	}
	writeProblem(x.w, p)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// --- tenants ---

// tenantView is a tenant as the API shows it: the record and its links.
type tenantView struct {
	Tenant
	Links tenantLinks `json:"links"`
}

type tenantLinks struct {
	Self   string `json:"self"`
	Events string `json:"events"`
}

func tenantPath(id string) string { return "/v1/tenants/" + id }

func viewOf(t Tenant) tenantView {
	return tenantView{Tenant: t, Links: tenantLinks{Self: tenantPath(t.ID), Events: tenantPath(t.ID) + "/events"}}
}

// tenantList is a page of GET /v1/tenants.
type tenantList struct {
	Tenants []tenantView `json:"tenants"`
	// Next is the next page's URL, absent on the last page.
	Next string `json:"next,omitempty"`
}

// writeTenant answers with a tenant: 202 and its Location when an
// operation started, else 200.
func writeTenant(w http.ResponseWriter, t Tenant, started bool) {
	if started {
		w.Header().Set("Location", tenantPath(t.ID))
		writeJSON(w, http.StatusAccepted, viewOf(t))
		return
	}
	writeJSON(w, http.StatusOK, viewOf(t))
}

func (a *api) signup(x *exchange) error {
	if _, err := queryParams(x.r); err != nil {
		return err
	}
	key, err := idempotencyKey(x.r.Header)
	if err != nil {
		return err
	}
	if err := requireJSON(x.r.Header); err != nil {
		return err
	}
	body, err := x.readBody()
	if err != nil {
		return err
	}
	req, err := decodeSignup(body)
	if err != nil {
		return err
	}
	if err := validateSignup(req); err != nil {
		return err
	}
	m := x.mutation()
	m.IdempotencyKey = key
	t, started, err := a.svc.Signup(x.r.Context(), req, m)
	if err != nil {
		return err
	}
	writeTenant(x.w, t, started)
	return nil
}

func (a *api) get(x *exchange) error {
	id, err := pathID(x.r)
	if err != nil {
		return err
	}
	if _, err := queryParams(x.r); err != nil {
		return err
	}
	t, err := a.svc.Get(x.r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(x.w, http.StatusOK, viewOf(t))
	return nil
}

const (
	defaultPageSize = 50
	maxPageSize     = 500
)

func (a *api) list(x *exchange) error {
	q, err := queryParams(x.r, "state", "limit", "after")
	if err != nil {
		return err
	}
	var state State
	if v, ok := q["state"]; ok {
		state = State(v)
		if !slices.Contains(States(), state) {
			return newProblem(http.StatusBadRequest, "state", "state is not a tenant state; valid states are %s", joinStates())
		}
	}
	limit := defaultPageSize
	if v, ok := q["limit"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageSize {
			return newProblem(http.StatusBadRequest, "limit", "limit must be a whole number from 1 to %d", maxPageSize)
		}
		limit = n
	}
	after, hasAfter := q["after"]
	if hasAfter {
		if err := checkTenantID("after", after); err != nil {
			return err
		}
	}
	ts, err := a.svc.List(x.r.Context(), state, after, limit+1)
	if err != nil {
		return err
	}
	out := tenantList{Tenants: make([]tenantView, 0, min(len(ts), limit))}
	if len(ts) > limit {
		ts = ts[:limit]
		next := url.Values{"limit": {strconv.Itoa(limit)}, "after": {ts[limit-1].ID}}
		if state != "" {
			next.Set("state", string(state))
		}
		out.Next = "/v1/tenants?" + next.Encode()
	}
	for _, t := range ts {
		out.Tenants = append(out.Tenants, viewOf(t))
	}
	writeJSON(x.w, http.StatusOK, out)
	return nil
}

func joinStates() string {
	names := make([]string, 0, len(States()))
	for _, s := range States() {
		names = append(names, string(s))
	}
	return strings.Join(names, ", ")
}

func (a *api) delete(x *exchange) error {
	id, err := pathID(x.r)
	if err != nil {
		return err
	}
	q, err := queryParams(x.r, "force", "retainDatabase")
	if err != nil {
		return err
	}
	var opts DeleteOptions
	if opts.Force, err = boolParam(q, "force"); err != nil {
		return err
	}
	if opts.RetainDatabase, err = boolParam(q, "retainDatabase"); err != nil {
		return err
	}
	if opts.Force && opts.RetainDatabase {
		return newProblem(http.StatusBadRequest, "force",
			"force and retainDatabase exclude each other: force deletes the database with its data, retainDatabase keeps it; choose one")
	}
	if _, err := x.readBody(); err != nil {
		return err
	}
	t, started, err := a.svc.Delete(x.r.Context(), id, opts, x.mutation())
	if err != nil {
		return err
	}
	writeTenant(x.w, t, started)
	return nil
}

func (a *api) cancel(x *exchange) error {
	id, err := pathID(x.r)
	if err != nil {
		return err
	}
	if _, err := queryParams(x.r); err != nil {
		return err
	}
	if _, err := x.readBody(); err != nil {
		return err
	}
	t, cancelled, err := a.svc.Cancel(x.r.Context(), id, x.mutation())
	if err != nil {
		return err
	}
	// A redelivered cancel changes nothing: 200 with the tenant as it is.
	writeTenant(x.w, t, cancelled)
	return nil
}

// --- probes, metrics, spec ---

func (a *api) healthz(x *exchange) error {
	writeJSON(x.w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

func (a *api) readyz(x *exchange) error {
	ctx, cancel := context.WithTimeout(x.r.Context(), 5*time.Second)
	defer cancel()
	if err := a.svc.Ready(ctx); err != nil {
		return newProblem(http.StatusServiceUnavailable, "", "not ready: %s", err.Error())
	}
	writeJSON(x.w, http.StatusOK, map[string]string{"status": "ready"})
	return nil
}

func (a *api) serveMetrics(x *exchange) error {
	if a.prom == nil {
		return newProblem(http.StatusServiceUnavailable, "", "metrics are not set up")
	}
	a.prom.ServeHTTP(x.w, x.r)
	return nil
}

func (a *api) serveOpenAPI(x *exchange) error {
	x.w.Header().Set("Content-Type", "application/yaml")
	x.w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = x.w.Write(openAPISpec)
	return nil
}

// --- input ---

var (
	tenantIDPattern = regexp.MustCompile(`^[a-z]([a-z0-9-]*[a-z0-9])?$`)
	slugPattern     = regexp.MustCompile(`^[a-z0-9-]+$`)
)

const (
	tenantIDRule = "a lowercase DNS label: a-z, 0-9 and single hyphens, starting with a letter and not ending with a hyphen"
	maxSlugLen   = 64
)

// checkTenantID applies components' tenant id rule to a value of field.
// The value is never quoted back: it is the caller's, of any size.
func checkTenantID(field, id string) error {
	switch {
	case id == "":
		return newProblem(http.StatusBadRequest, field, "%s is required: the tenant id, %s", field, tenantIDRule)
	case len(id) > components.MaxTenantIDLength:
		return newProblem(http.StatusBadRequest, field, "%s must be at most %d characters", field, components.MaxTenantIDLength)
	case !tenantIDPattern.MatchString(id) || strings.Contains(id, "--"):
		return newProblem(http.StatusBadRequest, field, "%s must be %s", field, tenantIDRule)
	case id == components.SharedTenant:
		return newProblem(http.StatusBadRequest, field, "%s %q is reserved for resources shared by all tenants", field, id)
	}
	return nil
}

func pathID(r *http.Request) (string, error) {
	id := r.PathValue("id")
	return id, checkTenantID("id", id)
}

// queryParams returns the request's query parameters, refusing any not in
// allowed (a misspelt flag must not be ignored) and repeated ones.
func queryParams(r *http.Request, allowed ...string) (map[string]string, error) {
	values, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, newProblem(http.StatusBadRequest, "", "the query string is malformed")
	}
	out := make(map[string]string, len(values))
	for k, vs := range values {
		switch {
		case !slices.Contains(allowed, k) && len(allowed) == 0:
			return nil, newProblem(http.StatusBadRequest, truncate(k), "this operation takes no query parameters")
		case !slices.Contains(allowed, k):
			return nil, newProblem(http.StatusBadRequest, truncate(k), "unknown query parameter; this operation takes %s", strings.Join(allowed, ", "))
		case len(vs) > 1:
			return nil, newProblem(http.StatusBadRequest, k, "%s is given %d times; give it once", k, len(vs))
		}
		out[k] = vs[0]
	}
	return out, nil
}

// boolParam reads a flag: absent is false; only true and false are accepted.
func boolParam(q map[string]string, name string) (bool, error) {
	switch v, ok := q[name]; {
	case !ok || v == "false":
		return false, nil
	case v == "true":
		return true, nil
	}
	return false, newProblem(http.StatusBadRequest, name, "%s must be true or false", name)
}

// idempotencyKey reads the Idempotency-Key header ("" when absent).
func idempotencyKey(h http.Header) (string, error) {
	const name = "Idempotency-Key"
	values := h.Values(name)
	switch {
	case len(values) == 0:
		return "", nil
	case len(values) > 1:
		return "", newProblem(http.StatusBadRequest, name, "send one %s header, not %d", name, len(values))
	case !printableASCII(values[0], maxHeaderTokenLen):
		return "", newProblem(http.StatusBadRequest, name, "%s must be 1 to %d printable ASCII characters", name, maxHeaderTokenLen)
	}
	return values[0], nil
}

func requireJSON(h http.Header) error {
	ct := h.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil || mt != "application/json" {
		return newProblem(http.StatusUnsupportedMediaType, "Content-Type", "the request body must be JSON: send Content-Type: application/json")
	}
	return nil
}

// decodeSignup parses a signup body strictly: one JSON object whose keys
// are exactly SignupRequest's (case-sensitive, each once), string values
// (null for an optional one is as good as absent), and nothing after it.
func decodeSignup(body []byte) (SignupRequest, error) {
	var req SignupRequest
	fields := map[string]*string{"id": &req.ID, "tier": &req.Tier, "cloud": &req.Cloud, "region": &req.Region}
	const known = "id, tier, cloud, region"

	trimmed := bytes.TrimLeft(body, " \t\r\n")
	switch {
	case len(trimmed) == 0:
		return req, newProblem(http.StatusBadRequest, "", `the request body is empty; send a JSON object such as {"id": "acme"}`)
	case trimmed[0] != '{':
		return req, newProblem(http.StatusBadRequest, "", "the request body must be a JSON object (fields %s), not %s", known, jsonKind(trimmed[0]))
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if _, err := dec.Token(); err != nil {
		return req, malformed(err)
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return req, malformed(err)
		}
		key, _ := tok.(string)
		dst, ok := fields[key]
		if !ok {
			return req, newProblem(http.StatusBadRequest, truncate(key), "unknown field; a signup has the fields %s", known)
		}
		if seen[key] {
			return req, newProblem(http.StatusBadRequest, key, "%s is given twice", key)
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return req, malformed(err)
		}
		switch {
		case string(raw) == "null":
		case raw[0] != '"':
			return req, newProblem(http.StatusBadRequest, key, "%s must be a string, not %s", key, jsonKind(raw[0]))
		default:
			if err := json.Unmarshal(raw, dst); err != nil {
				return req, malformed(err)
			}
		}
	}
	if _, err := dec.Token(); err != nil {
		return req, malformed(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return req, newProblem(http.StatusBadRequest, "", "the request body has data after the JSON object; send one object")
	}
	return req, nil
}

func malformed(err error) error {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return newProblem(http.StatusBadRequest, "", "the request body is not valid JSON: %s (at byte %d)", se.Error(), se.Offset)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return newProblem(http.StatusBadRequest, "", "the request body is not valid JSON: it ends before the object does")
	}
	return newProblem(http.StatusBadRequest, "", "the request body is not valid JSON")
}

func jsonKind(first byte) string {
	switch {
	case first == '{':
		return "an object"
	case first == '[':
		return "an array"
	case first == '"':
		return "a string"
	case first == 'n':
		return "null"
	case first == 't' || first == 'f':
		return "a boolean"
	case first == '-' || (first >= '0' && first <= '9'):
		return "a number"
	}
	return "JSON"
}

// validateSignup checks what can be checked without the template: the id
// rule, the tier, and the shape of cloud and region (the service checks
// them against the template).
func validateSignup(req SignupRequest) error {
	if err := checkTenantID("id", req.ID); err != nil {
		return err
	}
	if req.Tier != "" && !slices.Contains(components.Tiers(), components.Tier(req.Tier)) {
		return newProblem(http.StatusBadRequest, "tier", "tier must be small, medium or large (default small)")
	}
	for _, f := range []struct{ name, value string }{{"cloud", req.Cloud}, {"region", req.Region}} {
		if f.value != "" && (len(f.value) > maxSlugLen || !slugPattern.MatchString(f.value)) {
			return newProblem(http.StatusBadRequest, f.name, "%s must be at most %d characters of a-z, 0-9 and hyphens", f.name, maxSlugLen)
		}
	}
	return nil
}

// truncate bounds a caller's string quoted back as a field name.
func truncate(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}
