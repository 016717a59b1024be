package signup

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"time"
)

// access is what a route asks of its caller.
type access int

const (
	// public routes (probes, metrics, the spec) need no credentials.
	public access = iota
	// read routes need an operator's bearer token.
	read
	// write routes take a bearer token or a Standard Webhooks signature.
	write
	// operate routes change the fleet (rollouts, drift checks, reconcile):
	// an operator's bearer token only, never a signup provider's webhook.
	operate
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
		{"POST /v1/tenants/{id}/reconcile", operate, (*api).reconcile},
		{"GET /v1/fleet", read, (*api).fleet},
		{"POST /v1/rollouts", operate, (*api).startRollout},
		{"GET /v1/rollouts", read, (*api).listRollouts},
		{"GET /v1/rollouts/{id}", read, (*api).getRollout},
		{"POST /v1/rollouts/{id}/pause", operate, rolloutAction((*Service).PauseRollout)},
		{"POST /v1/rollouts/{id}/resume", operate, rolloutAction((*Service).ResumeRollout)},
		{"POST /v1/rollouts/{id}/cancel", operate, rolloutAction((*Service).CancelRollout)},
		{"GET /v1/rollouts/{id}/events", read, (*api).rolloutEvents},
		{"POST /v1/drift-checks", operate, (*api).startDriftCheck},
		{"GET /v1/drift-checks", read, (*api).listDriftChecks},
		{"GET /v1/drift-checks/{id}", read, (*api).getDriftCheck},
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
	console *console
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
	a.registerConsole()
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

	// allowed, when set, is asked again while an event stream runs: the
	// stream ends when it says no (the console's session ended).
	allowed func() bool
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
			if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
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
	// Probes, scrapes and the console's assets are logged at debug level.
	quiet = !strings.Contains(pattern, " /v1/") && (strings.HasPrefix(pattern, "GET /healthz") || strings.HasPrefix(pattern, "GET /readyz") ||
		strings.HasPrefix(pattern, "GET /metrics") || strings.HasPrefix(pattern, "GET /static/"))
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
