package main

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func newTestApp() (*webApp, *memStore, *fakeQueue) {
	s, q := &memStore{}, &fakeQueue{}
	info := appInfo{TenantID: "acme", Cloud: "local", Stack: "dev", Image: "registry.example.com/tenant-app:1.4.2", Release: "2026-12-02.1", Workload: roleWeb,
		Env: []shownVar{{"FEATURE_FLAGS", "beta-billing"}, {"LOG_LEVEL", ""}}}
	return &webApp{info: info, store: s, queue: q, log: quietLog()}, s, q
}

func do(h http.Handler, method, target, body string, hdr ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestIndexEscapesEventBodies(t *testing.T) {
	t.Parallel()

	app, s, _ := newTestApp()
	app.info.TenantID = `<b>acme</b>`
	ctx := t.Context()
	_, _ = s.Insert(ctx, "queue.acme", `<script>alert("x")</script>`, map[string]string{"k": `<img src=x onerror=alert(1)>`})
	for i := range 30 {
		_, _ = s.Insert(ctx, "queue.acme", "msg-"+string(rune('A'+i)), nil)
	}
	w := do(app.routes(), "GET", "/", "")
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("GET / = %d %s", w.Code, w.Header().Get("Content-Type"))
	}
	page := w.Body.String()
	for _, bad := range []string{"<script>", "<img", "<b>acme</b>"} {
		if strings.Contains(page, bad) {
			t.Errorf("page contains unescaped %q", bad)
		}
	}
	for _, want := range []string{"&lt;b&gt;acme&lt;/b&gt;", "local", "dev", "ping ok", "Events received: 31"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// The last 20 only, newest first.
	if got := strings.Count(page, "<tr><td>"); got != 20 {
		t.Errorf("%d event rows, want 20", got)
	}
	if !strings.Contains(page, "msg-^") || strings.Contains(page, "alert(&#34;x&#34;)") {
		t.Error("page does not show the newest 20 events")
	}

	// Unknown paths are 404, not the page.
	if w := do(app.routes(), "GET", "/nope", ""); w.Code != 404 {
		t.Errorf("GET /nope = %d", w.Code)
	}
}

func TestIndexShowsDatabaseError(t *testing.T) {
	t.Parallel()

	app, s, _ := newTestApp()
	s.setErr(errors.New("connection refused <x>"))
	w := do(app.routes(), "GET", "/", "")
	if w.Code != 200 {
		t.Fatalf("GET / = %d", w.Code)
	}
	if !strings.Contains(w.Body.String(), "error: connection refused &lt;x&gt;") {
		t.Errorf("page does not show the database error:\n%s", w.Body)
	}
}

func TestIndexShowsRelease(t *testing.T) {
	t.Parallel()

	app, _, _ := newTestApp()
	page := do(app.routes(), "GET", "/", "").Body.String()
	for _, want := range []string{
		"<dt>Release</dt><dd>2026-12-02.1</dd>",
		"<dt>Image</dt><dd><code>registry.example.com/tenant-app:1.4.2</code></dd>",
		"<dt><code>FEATURE_FLAGS</code></dt><dd><code>beta-billing</code></dd>",
		"<dt><code>LOG_LEVEL</code></dt><dd>not set</dd>",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page does not show %s:\n%s", want, page)
		}
	}
	app.info.Release = ""
	if page := do(app.routes(), "GET", "/", "").Body.String(); !strings.Contains(page, "<dt>Release</dt><dd>not set</dd>") {
		t.Errorf("page does not say the release is not set:\n%s", page)
	}
}

func TestAPIInfo(t *testing.T) {
	t.Parallel()

	for _, tc := range []struct {
		reason  string
		release string
		dbErr   error
		want    map[string]any
	}{
		{
			reason:  "every field, under the names a platform engineer queries",
			release: "2026-12-02.1",
			want:    map[string]any{"tenant": "acme", "cloud": "local", "stack": "dev", "image": "registry.example.com/tenant-app:1.4.2", "release": "2026-12-02.1", "workload": "web", "env": []any{map[string]any{"name": "FEATURE_FLAGS", "value": "beta-billing"}, map[string]any{"name": "LOG_LEVEL", "value": ""}}},
		},
		{
			reason: "APP_RELEASE not set: the key stays, empty",
			want:   map[string]any{"tenant": "acme", "cloud": "local", "stack": "dev", "image": "registry.example.com/tenant-app:1.4.2", "release": "", "workload": "web", "env": []any{map[string]any{"name": "FEATURE_FLAGS", "value": "beta-billing"}, map[string]any{"name": "LOG_LEVEL", "value": ""}}},
		},
		{
			reason:  "the database plays no part: it answers while the database is down",
			release: "2026-12-02.1",
			dbErr:   errors.New("db down"),
			want:    map[string]any{"tenant": "acme", "cloud": "local", "stack": "dev", "image": "registry.example.com/tenant-app:1.4.2", "release": "2026-12-02.1", "workload": "web", "env": []any{map[string]any{"name": "FEATURE_FLAGS", "value": "beta-billing"}, map[string]any{"name": "LOG_LEVEL", "value": ""}}},
		},
	} {
		app, s, _ := newTestApp()
		app.info.Release = tc.release
		s.setErr(tc.dbErr)
		w := do(app.routes(), "GET", "/api/info", "")
		if w.Code != 200 || w.Header().Get("Content-Type") != "application/json" || w.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("%s: GET /api/info = %d, Content-Type %q, Cache-Control %q", tc.reason, w.Code, w.Header().Get("Content-Type"), w.Header().Get("Cache-Control"))
		}
		var got map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
			t.Fatalf("%s: %v: %q", tc.reason, err, w.Body)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s: GET /api/info (-want +got):\n%s", tc.reason, diff)
		}
	}

	app, _, _ := newTestApp()
	if w := do(app.routes(), "POST", "/api/info", ""); w.Code != 405 {
		t.Errorf("POST /api/info = %d", w.Code)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()

	app, s, _ := newTestApp()
	h := app.routes()
	if w := do(h, "GET", "/healthz", ""); w.Code != 200 || w.Body.String() != "ok\n" {
		t.Errorf("/healthz = %d %q", w.Code, w.Body)
	}
	if w := do(h, "GET", "/readyz", ""); w.Code != 200 || !strings.Contains(w.Body.String(), `"database": "ok"`) {
		t.Errorf("/readyz = %d %q", w.Code, w.Body)
	}

	s.setErr(errors.New("db down"))
	if w := do(h, "GET", "/healthz", ""); w.Code != 200 {
		t.Errorf("/healthz with the database down = %d, want 200 (liveness)", w.Code)
	}
	w := do(h, "GET", "/readyz", "")
	if w.Code != 503 || !strings.Contains(w.Body.String(), `"database": "error: db down"`) {
		t.Errorf("/readyz with the database down = %d %q, want 503", w.Code, w.Body)
	}
	if w := do(h, "GET", "/api/events", ""); w.Code != 503 {
		t.Errorf("/api/events with the database down = %d", w.Code)
	}
}

func TestAPIEvents(t *testing.T) {
	t.Parallel()

	app, s, _ := newTestApp()
	h := app.routes()
	w := do(h, "GET", "/api/events", "")
	if w.Code != 200 || strings.TrimSpace(w.Body.String()) != "[]" {
		t.Errorf("empty /api/events = %d %q", w.Code, w.Body)
	}
	for range 120 {
		_, _ = s.Insert(t.Context(), "queue.acme", "m", map[string]string{"a": "b"})
	}
	w = do(h, "GET", "/api/events", "")
	var evs []Event
	if err := json.Unmarshal(w.Body.Bytes(), &evs); err != nil {
		t.Fatal(err)
	}
	if len(evs) != 100 || evs[0].ID != 120 || !jsonEqual(evs[0].Attributes, `{"a":"b"}`) {
		t.Errorf("got %d events, first %+v", len(evs), evs[0])
	}
}

func TestEnqueue(t *testing.T) {
	t.Parallel()

	app, _, q := newTestApp()
	h := app.routes()
	if w := do(h, "POST", "/api/enqueue", "hello"); w.Code != 202 || !strings.Contains(w.Body.String(), `"id": "42"`) {
		t.Errorf("enqueue = %d %q", w.Code, w.Body)
	}
	do(h, "POST", "/api/enqueue", "doomed", failHeader, "always")
	do(h, "POST", "/api/enqueue?fail=always", "doomed too")
	if len(q.published) != 3 || q.published[0].body != "hello" || len(q.published[0].headers) != 0 ||
		q.published[1].headers[failHeader] != "always" || q.published[2].headers[failHeader] != "always" {
		t.Errorf("published %+v", q.published)
	}
	if w := do(h, "POST", "/api/enqueue", ""); w.Code != 400 {
		t.Errorf("empty body = %d", w.Code)
	}
	if w := do(h, "POST", "/api/enqueue", strings.Repeat("x", maxBodyBytes+1)); w.Code != 413 {
		t.Errorf("oversized body = %d", w.Code)
	}
	if w := do(h, "POST", "/api/enqueue", "publish-error"); w.Code != 502 {
		t.Errorf("publish error = %d", w.Code)
	}
	if w := do(h, "GET", "/api/enqueue", ""); w.Code != 405 {
		t.Errorf("GET /api/enqueue = %d", w.Code)
	}

	app.queue, app.queueErr = nil, errors.New("QUEUE_URL: empty")
	if w := do(h, "POST", "/api/enqueue", "x"); w.Code != 503 || !strings.Contains(w.Body.String(), "no queue client: QUEUE_URL: empty") {
		t.Errorf("no queue client = %d %q", w.Code, w.Body)
	}
}

func jsonEqual(raw []byte, want string) bool {
	var a, b any
	return json.Unmarshal(raw, &a) == nil && json.Unmarshal([]byte(want), &b) == nil && reflect.DeepEqual(a, b)
}
