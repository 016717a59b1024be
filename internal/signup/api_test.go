package signup

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	svix "github.com/svix/svix-webhooks/go"
	"gopkg.in/yaml.v3"

	"github.com/tenantfleet/tenantfleet/providers/local/localtest"
)

const testToken = "test-token"

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testServer is a real Service (insert-only: jobs are queued, none runs)
// behind an httptest server. It remembers every response body and every
// signature it made, and at cleanup checks that neither the responses nor
// the log hold a credential.
type testServer struct {
	t      *testing.T
	svc    *Service
	srv    *httptest.Server
	logs   *syncBuffer
	secret string
	wh     *svix.Webhook

	mu         sync.Mutex
	bodies     []string
	signatures []string
}

func newTestServer(t *testing.T) *testServer {
	t.Helper()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	secret := "whsec_" + base64.StdEncoding.EncodeToString(key)
	// The built-in template's image, as `make build` leaves it: the signup
	// check refuses a tenant whose image the local cloud lacks.
	localtest.Images(t, "tenant-app/dev/entrypoint")
	logs := &syncBuffer{}
	cfg := Config{
		DataDir:        t.TempDir(),
		Workers:        -1,
		APITokens:      []string{testToken},
		WebhookSecrets: []string{secret},
		Logger:         slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	svc, err := Open(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	wh, err := svix.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{t: t, svc: svc, srv: httptest.NewServer(svc.Handler()), logs: logs, secret: secret, wh: wh}
	t.Cleanup(func() {
		ts.srv.Close()
		svc.Close()
		ts.assertNoCredentials(key)
	})
	return ts
}

func (ts *testServer) assertNoCredentials(key []byte) {
	t := ts.t
	ts.mu.Lock()
	defer ts.mu.Unlock()
	creds := map[string]string{
		"token":       testToken,
		"secret":      ts.secret,
		"secret key":  strings.TrimPrefix(ts.secret, "whsec_"),
		"raw key hex": fmt.Sprintf("%x", key),
	}
	for i, sig := range ts.signatures {
		creds[fmt.Sprintf("signature %d", i)] = strings.TrimPrefix(sig, "v1,")
	}
	logs := ts.logs.String()
	for name, c := range creds {
		if strings.Contains(logs, c) {
			t.Errorf("the service log contains the %s", name)
		}
		for _, b := range ts.bodies {
			if strings.Contains(b, c) {
				t.Errorf("a response body contains the %s: %s", name, b)
			}
		}
	}
}

// request describes one call; the zero auth is the bearer token.
type request struct {
	method, path, body string
	header             map[string]string
	// noAuth sends no credentials; signed signs the body as a webhook.
	noAuth, signed bool
	// msgID and at set the webhook's id and timestamp (default: fresh, now).
	msgID string
	at    time.Time
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (ts *testServer) do(r request) response {
	ts.t.Helper()
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	req, err := http.NewRequest(r.method, ts.srv.URL+r.path, body)
	if err != nil {
		ts.t.Fatal(err)
	}
	if r.method == http.MethodPost && r.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	switch {
	case r.signed:
		for k, v := range ts.sign(r.msgID, r.at, []byte(r.body)) {
			req.Header.Set(k, v)
		}
	case !r.noAuth:
		req.Header.Set("Authorization", "Bearer "+testToken)
	}
	for k, v := range r.header {
		if v == "" {
			req.Header.Del(k)
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := ts.srv.Client().Do(req)
	if err != nil {
		ts.t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	defer func() { _ = resp.Body.Close() }() // read to the end below: a close error loses nothing
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		ts.t.Fatal(err)
	}
	ts.mu.Lock()
	ts.bodies = append(ts.bodies, string(b))
	ts.mu.Unlock()
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// sign returns the Standard Webhooks headers for body.
func (ts *testServer) sign(msgID string, at time.Time, body []byte) map[string]string {
	if msgID == "" {
		msgID = "msg_" + strconv.FormatInt(time.Now().UnixNano(), 36)
	}
	if at.IsZero() {
		at = time.Now()
	}
	sig, err := ts.wh.Sign(msgID, at, body)
	if err != nil {
		ts.t.Fatal(err)
	}
	ts.mu.Lock()
	ts.signatures = append(ts.signatures, sig)
	ts.mu.Unlock()
	return map[string]string{
		"webhook-id":        msgID,
		"webhook-timestamp": strconv.FormatInt(at.Unix(), 10),
		"webhook-signature": sig,
	}
}

func (ts *testServer) countRows(table string) int {
	ts.t.Helper()
	var n int
	if err := ts.svc.Store().DB.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
		ts.t.Fatalf("count %s: %v", table, err)
	}
	return n
}

func decodeTenant(t *testing.T, r response) tenantView {
	t.Helper()
	var v tenantView
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("decode tenant %s: %v", r.body, err)
	}
	return v
}

func decodeProblem(t *testing.T, r response) problem {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type = %q, want application/problem+json (body %s)", ct, r.body)
	}
	var p problem
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatalf("decode problem %s: %v", r.body, err)
	}
	if p.Status != r.status || p.Type != "about:blank" || p.Title != http.StatusText(r.status) || p.Detail == "" {
		t.Fatalf("problem %s does not describe the %d response", r.body, r.status)
	}
	return p
}

// TestAPIBadInputCorpus sends requests that must be refused, each with a
// 4xx problem naming the culprit, and checks that none of them created a
// tenant or a job.
//
//nolint:paralleltest // newTestServer sets TENANTFLEET_LOCAL_* with t.Setenv (localtest.Images).
func TestAPIBadInputCorpus(t *testing.T) {
	ts := newTestServer(t)
	// A webhook-id the service has seen with another request: reusing it must be refused.
	if _, err := ts.svc.Store().DB.Exec(`INSERT INTO tenantfleet_webhook_message (id, received_at, tenant_id, request_hash)
		VALUES ('msg_seen', ?, 'other', 'another request')`, time.Now().UnixMilli()); err != nil {
		t.Fatal(err)
	}
	post := func(body string) request { return request{method: "POST", path: "/v1/tenants", body: body} }
	with := func(r request, h map[string]string) request { r.header = h; return r }
	signedPost := func(body string) request { r := post(body); r.signed = true; return r }
	big := `{"id":"acme","region":"` + strings.Repeat("a", 70<<10) + `"}`

	cases := []struct {
		name   string
		req    request
		status int
		field  string
	}{
		// Malformed bodies.
		{"truncated JSON", post(`{"id": "acme"`), 400, ""},
		{"unquoted value", post(`{"id": acme}`), 400, ""},
		{"not JSON", post(`id=acme`), 400, ""},
		{"empty body", with(post(""), map[string]string{"Content-Type": "application/json"}), 400, ""},
		{"null body", post(`null`), 400, ""},
		{"array body", post(`[{"id":"acme"}]`), 400, ""},
		{"string body", post(`"acme"`), 400, ""},
		{"number body", post(`42`), 400, ""},
		{"trailing garbage", post(`{"id":"acme"} x`), 400, ""},
		{"two objects", post(`{"id":"acme"}{"id":"beta"}`), 400, ""},
		{"unknown field", post(`{"id":"acme","name":"Acme Inc"}`), 400, "name"},
		{"field of another case", post(`{"ID":"acme"}`), 400, "ID"},
		{"duplicate field", post(`{"id":"acme","id":"beta"}`), 400, "id"},
		{"id a number", post(`{"id":42}`), 400, "id"},
		{"id an array", post(`{"id":["acme"]}`), 400, "id"},
		{"tier a number", post(`{"id":"acme","tier":1}`), 400, "tier"},
		{"region an object", post(`{"id":"acme","region":{}}`), 400, "region"},
		{"id null", post(`{"id":null}`), 400, "id"},
		// Bad ids in the body.
		{"id missing", post(`{"tier":"small"}`), 400, "id"},
		{"id empty", post(`{"id":""}`), 400, "id"},
		{"id dot dot", post(`{"id":".."}`), 400, "id"},
		{"id traversal", post(`{"id":"../etc"}`), 400, "id"},
		{"id encoded traversal", post(`{"id":"%2e%2e%2fetc"}`), 400, "id"},
		{"id upper case", post(`{"id":"Acme"}`), 400, "id"},
		{"id double hyphen", post(`{"id":"a--b"}`), 400, "id"},
		{"id unicode", post(`{"id":"acmé"}`), 400, "id"},
		{"id unicode escape", post(`{"id":"acm\u00e9"}`), 400, "id"},
		{"id NUL", post(`{"id":"ac\u0000me"}`), 400, "id"},
		{"id 33 chars", post(`{"id":"` + strings.Repeat("a", 33) + `"}`), 400, "id"},
		{"id starts with digit", post(`{"id":"1acme"}`), 400, "id"},
		{"id ends with hyphen", post(`{"id":"acme-"}`), 400, "id"},
		{"id with space", post(`{"id":"ac me"}`), 400, "id"},
		{"id reserved", post(`{"id":"shared"}`), 400, "id"},
		// Bad fields.
		{"tier unknown", post(`{"id":"acme","tier":"huge"}`), 400, "tier"},
		{"tier capitalised", post(`{"id":"acme","tier":"Small"}`), 400, "tier"},
		{"cloud capitalised", post(`{"id":"acme","cloud":"AWS"}`), 400, "cloud"},
		{"cloud not offered", post(`{"id":"acme","cloud":"gcp"}`), 422, "cloud"},
		{"region with space", post(`{"id":"acme","region":"eu west"}`), 400, "region"},
		{"region too long", post(`{"id":"acme","region":"` + strings.Repeat("a", 65) + `"}`), 400, "region"},
		// Bad ids in the path.
		{"path dot dot", request{method: "GET", path: "/v1/tenants/.."}, 400, "id"},
		{"path traversal", request{method: "GET", path: "/v1/tenants/../../etc/passwd"}, 400, "id"},
		{"path encoded slash", request{method: "GET", path: "/v1/tenants/..%2Fetc"}, 400, "id"},
		{"path encoded traversal", request{method: "GET", path: "/v1/tenants/%2e%2e%2fetc"}, 400, "id"},
		{"path upper case", request{method: "GET", path: "/v1/tenants/Acme"}, 400, "id"},
		{"path unicode", request{method: "GET", path: "/v1/tenants/acm%C3%A9"}, 400, "id"},
		{"path 33 chars", request{method: "GET", path: "/v1/tenants/" + strings.Repeat("a", 33)}, 400, "id"},
		{"path double slash", request{method: "GET", path: "/v1/tenants//acme"}, 400, "id"},
		{"delete traversal", request{method: "DELETE", path: "/v1/tenants/..%2F..%2Fetc"}, 400, "id"},
		{"cancel bad id", request{method: "POST", path: "/v1/tenants/a--b/cancel"}, 400, "id"},
		{"events bad id", request{method: "GET", path: "/v1/tenants/-x/events"}, 400, "id"},
		{"unknown tenant", request{method: "GET", path: "/v1/tenants/nobody"}, 404, ""},
		{"cancel unknown tenant", request{method: "POST", path: "/v1/tenants/nobody/cancel"}, 404, ""},
		{"delete unknown tenant", request{method: "DELETE", path: "/v1/tenants/nobody?force=true"}, 404, ""},
		// Authentication.
		{"no credentials", request{method: "POST", path: "/v1/tenants", body: `{"id":"acme"}`, noAuth: true}, 401, "Authorization"},
		{"no credentials to read", request{method: "GET", path: "/v1/tenants", noAuth: true}, 401, "Authorization"},
		{"wrong bearer token", with(post(`{"id":"acme"}`), map[string]string{"Authorization": "Bearer test-tokeN"}), 401, "Authorization"},
		{"token prefix", with(post(`{"id":"acme"}`), map[string]string{"Authorization": "Bearer test"}), 401, "Authorization"},
		{"empty bearer", with(post(`{"id":"acme"}`), map[string]string{"Authorization": "Bearer "}), 401, "Authorization"},
		{"basic auth", with(post(`{"id":"acme"}`), map[string]string{"Authorization": "Basic dGVzdC10b2tlbg=="}), 401, "Authorization"},
		{"token without scheme", with(post(`{"id":"acme"}`), map[string]string{"Authorization": testToken}), 401, "Authorization"},
		{"webhook missing signature", with(signedPost(`{"id":"acme"}`), map[string]string{"webhook-signature": ""}), 401, "webhook-signature"},
		{"webhook missing id", with(signedPost(`{"id":"acme"}`), map[string]string{"webhook-id": ""}), 401, "webhook-id"},
		{"webhook missing timestamp", with(signedPost(`{"id":"acme"}`), map[string]string{"webhook-timestamp": ""}), 401, "webhook-timestamp"},
		{"webhook invalid signature", with(signedPost(`{"id":"acme"}`),
			map[string]string{"webhook-signature": "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4="}), 401, "webhook-signature"},
		{"webhook signature of another version", with(signedPost(`{"id":"acme"}`),
			map[string]string{"webhook-signature": "v2,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4="}), 401, "webhook-signature"},
		{"webhook body changed after signing", func() request {
			r := post(`{"id":"acme","tier":"large"}`)
			r.noAuth = true
			r.header = ts.sign("msg_changed", time.Now(), []byte(`{"id":"acme"}`))
			return r
		}(), 401, "webhook-signature"},
		{"webhook timestamp not a number", with(signedPost(`{"id":"acme"}`), map[string]string{"webhook-timestamp": "yesterday"}), 401, "webhook-timestamp"},
		{"webhook expired", func() request {
			r := signedPost(`{"id":"acme"}`)
			r.at = time.Now().Add(-10 * time.Minute)
			return r
		}(), 401, "webhook-timestamp"},
		{"webhook from the future", func() request {
			r := signedPost(`{"id":"acme"}`)
			r.at = time.Now().Add(10 * time.Minute)
			return r
		}(), 401, "webhook-timestamp"},
		{"webhook-id reused for another request", func() request {
			r := signedPost(`{"id":"acme"}`)
			r.msgID = "msg_seen"
			return r
		}(), 409, "webhook-id"},
		{"webhook-signed read", request{method: "GET", path: "/v1/tenants", signed: true}, 401, "Authorization"},
		// Headers and sizes.
		{"text/plain", with(post(`{"id":"acme"}`), map[string]string{"Content-Type": "text/plain"}), 415, "Content-Type"},
		{"form", with(post(`id=acme`), map[string]string{"Content-Type": "application/x-www-form-urlencoded"}), 415, "Content-Type"},
		{"no content type", with(post(`{"id":"acme"}`), map[string]string{"Content-Type": ""}), 415, "Content-Type"},
		{"json lookalike", with(post(`{"id":"acme"}`), map[string]string{"Content-Type": "application/jsonp"}), 415, "Content-Type"},
		{"oversized body", post(big), 413, ""},
		{"oversized signed body", signedPost(big), 413, ""},
		{"idempotency key too long", with(post(`{"id":"acme"}`), map[string]string{"Idempotency-Key": strings.Repeat("k", 256)}), 400, "Idempotency-Key"},
		{"idempotency key not ASCII", with(post(`{"id":"acme"}`), map[string]string{"Idempotency-Key": "ключ"}), 400, "Idempotency-Key"},
		{"query on signup", request{method: "POST", path: "/v1/tenants?dryRun=true", body: `{"id":"acme"}`}, 400, "dryRun"},
		// Query parameters.
		{"both delete flags", request{method: "DELETE", path: "/v1/tenants/acme?force=true&retainDatabase=true"}, 400, "force"},
		{"force not boolean", request{method: "DELETE", path: "/v1/tenants/acme?force=yes"}, 400, "force"},
		{"retainDatabase not boolean", request{method: "DELETE", path: "/v1/tenants/acme?retainDatabase=1"}, 400, "retainDatabase"},
		{"misspelt delete flag", request{method: "DELETE", path: "/v1/tenants/acme?retainDb=true"}, 400, "retainDb"},
		{"repeated flag", request{method: "DELETE", path: "/v1/tenants/acme?force=true&force=false"}, 400, "force"},
		{"unknown state", request{method: "GET", path: "/v1/tenants?state=running"}, 400, "state"},
		{"limit zero", request{method: "GET", path: "/v1/tenants?limit=0"}, 400, "limit"},
		{"limit too big", request{method: "GET", path: "/v1/tenants?limit=501"}, 400, "limit"},
		{"limit not a number", request{method: "GET", path: "/v1/tenants?limit=ten"}, 400, "limit"},
		{"limit negative", request{method: "GET", path: "/v1/tenants?limit=-1"}, 400, "limit"},
		{"after not an id", request{method: "GET", path: "/v1/tenants?after=Bad"}, 400, "after"},
		{"Last-Event-ID not a number", request{method: "GET", path: "/v1/tenants/acme/events", header: map[string]string{"Last-Event-ID": "x"}}, 400, "Last-Event-ID"},
		{"after negative", request{method: "GET", path: "/v1/tenants/acme/events?after=-1"}, 400, "after"},
		// Routing.
		{"unknown route", request{method: "GET", path: "/v1/accounts"}, 404, ""},
		{"wrong method", request{method: "PUT", path: "/v1/tenants/acme"}, 405, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := ts.do(tc.req)
			if got.status != tc.status {
				t.Fatalf("status = %d, want %d (body %s)", got.status, tc.status, got.body)
			}
			p := decodeProblem(t, got)
			if p.Field != tc.field {
				t.Errorf("field = %q, want %q (detail %q)", p.Field, tc.field, p.Detail)
			}
			if tc.status == 401 && got.header.Get("WWW-Authenticate") == "" {
				t.Errorf("401 without WWW-Authenticate")
			}
			if tc.status == 405 && got.header.Get("Allow") == "" {
				t.Errorf("405 without Allow")
			}
		})
	}

	list := ts.do(request{method: "GET", path: "/v1/tenants"})
	if list.status != 200 || !strings.Contains(string(list.body), `"tenants":[]`) {
		t.Errorf("after the corpus, GET /v1/tenants = %d %s, want an empty list", list.status, list.body)
	}
	for _, table := range []string{"tenantfleet_tenant", "river_job", "tenantfleet_event", "tenantfleet_idempotency_key"} {
		if n := ts.countRows(table); n != 0 {
			t.Errorf("after the corpus, %s has %d rows, want 0", table, n)
		}
	}
	if n := ts.countRows("tenantfleet_webhook_message"); n != 1 {
		t.Errorf("after the corpus, %d webhook ids are recorded, want only the one seen before", n)
	}
}

// TestAPISignupWithBearer signs up, repeats the signup and changes it.
//
//nolint:paralleltest // newTestServer sets TENANTFLEET_LOCAL_* with t.Setenv (localtest.Images).
func TestAPISignupWithBearer(t *testing.T) {
	ts := newTestServer(t)
	first := ts.do(request{method: "POST", path: "/v1/tenants", body: `{"id":"acme"}`})
	if first.status != http.StatusAccepted {
		t.Fatalf("signup = %d %s, want 202", first.status, first.body)
	}
	if loc := first.header.Get("Location"); loc != "/v1/tenants/acme" {
		t.Errorf("Location = %q, want /v1/tenants/acme", loc)
	}
	created := decodeTenant(t, first)
	want := tenantLinks{Self: "/v1/tenants/acme", Events: "/v1/tenants/acme/events"}
	if created.ID != "acme" || created.State != StateQueued || created.Tier != "small" || created.Links != want {
		t.Errorf("signup answered %s", first.body)
	}

	again := ts.do(request{method: "POST", path: "/v1/tenants", body: `{"id":"acme","tier":"small"}`,
		header: map[string]string{"Content-Type": "application/json; charset=utf-8"}})
	if again.status != http.StatusOK {
		t.Fatalf("the same signup again = %d %s, want 200", again.status, again.body)
	}
	if got := decodeTenant(t, again); !got.CreatedAt.Equal(created.CreatedAt) || got.Links != want {
		t.Errorf("the same signup again answered %s, want the record of %s", again.body, first.body)
	}
	if n := ts.countRows("river_job"); n != 1 {
		t.Errorf("river_job has %d rows, want 1: a repeated signup must not queue a job", n)
	}

	changed := ts.do(request{method: "POST", path: "/v1/tenants", body: `{"id":"acme","tier":"large"}`})
	if changed.status != http.StatusConflict || decodeProblem(t, changed).Field != "tier" {
		t.Errorf("a signup with another tier = %d %s, want 409 naming tier", changed.status, changed.body)
	}

	get := ts.do(request{method: "GET", path: "/v1/tenants/acme"})
	if get.status != 200 || decodeTenant(t, get).Links != want {
		t.Errorf("GET = %d %s", get.status, get.body)
	}
	for _, forbidden := range []string{`"Desired"`, `"desired"`, `"generation"`, `"request"`, `"jobId"`} {
		if strings.Contains(string(get.body), forbidden) {
			t.Errorf("GET shows internal field %s: %s", forbidden, get.body)
		}
	}
}

// TestAPISignupWithWebhook signs a signup, then redelivers it as a
// Standard Webhooks sender does after a timeout or a 5xx: the same
// webhook-id with a new timestamp and signature. Each redelivery gets a 2xx
// with the tenant and starts nothing (a sender that sees a non-2xx keeps
// retrying, then disables the endpoint); the same id with another request
// is refused naming webhook-id.
//
//nolint:paralleltest // newTestServer sets TENANTFLEET_LOCAL_* with t.Setenv (localtest.Images).
func TestAPISignupWithWebhook(t *testing.T) {
	ts := newTestServer(t)
	body := `{"id":"globex","tier":"medium"}`
	headers := ts.sign("msg_1", time.Now(), []byte(body))
	first := ts.do(request{method: "POST", path: "/v1/tenants", body: body, noAuth: true, header: headers})
	if first.status != http.StatusAccepted {
		t.Fatalf("signed signup = %d %s, want 202", first.status, first.body)
	}
	for name, h := range map[string]map[string]string{
		"the same delivery again": headers,
		"a redelivery":            ts.sign("msg_1", time.Now().Add(time.Minute), []byte(body)),
	} {
		again := ts.do(request{method: "POST", path: "/v1/tenants", body: body, noAuth: true, header: h})
		if again.status != http.StatusOK || decodeTenant(t, again).ID != "globex" {
			t.Errorf("%s = %d %s, want 200 with the tenant", name, again.status, again.body)
		}
	}
	if n := ts.countRows("river_job"); n != 1 {
		t.Errorf("river_job has %d rows after redeliveries, want 1", n)
	}
	other := `{"id":"initech"}`
	reused := ts.do(request{method: "POST", path: "/v1/tenants", body: other, noAuth: true, header: ts.sign("msg_1", time.Now(), []byte(other))})
	if reused.status != http.StatusConflict || decodeProblem(t, reused).Field != "webhook-id" {
		t.Errorf("msg_1 with another body = %d %s, want 409 naming webhook-id", reused.status, reused.body)
	}
	if got := ts.do(request{method: "GET", path: "/v1/tenants/initech"}); got.status != http.StatusNotFound {
		t.Errorf("the refused message created initech: GET = %d", got.status)
	}
	// A new message with the same signup is the same signup.
	again := ts.do(request{method: "POST", path: "/v1/tenants", body: body, signed: true, msgID: "msg_2"})
	if again.status != http.StatusOK {
		t.Errorf("the same signup in a new message = %d %s, want 200", again.status, again.body)
	}
	// A signed cancel signs the empty body; its redelivery changes nothing.
	cancel := ts.do(request{method: "POST", path: "/v1/tenants/globex/cancel", signed: true, msgID: "msg_3"})
	if cancel.status != http.StatusAccepted || decodeTenant(t, cancel).ID != "globex" {
		t.Errorf("signed cancel = %d %s, want 202", cancel.status, cancel.body)
	}
	recancel := ts.do(request{method: "POST", path: "/v1/tenants/globex/cancel", signed: true, msgID: "msg_3"})
	if recancel.status != http.StatusOK || decodeTenant(t, recancel).ID != "globex" {
		t.Errorf("redelivered cancel = %d %s, want 200 with the tenant", recancel.status, recancel.body)
	}
	// The same id on another route is another request.
	deleteReuse := ts.do(request{method: "DELETE", path: "/v1/tenants/globex?force=true", signed: true, msgID: "msg_3"})
	if deleteReuse.status != http.StatusConflict || decodeProblem(t, deleteReuse).Field != "webhook-id" {
		t.Errorf("msg_3 reused for a delete = %d %s, want 409 naming webhook-id", deleteReuse.status, deleteReuse.body)
	}
	if n := ts.countRows("river_job"); n != 1 {
		t.Errorf("river_job has %d rows, want 1", n)
	}
	// A signed read is refused: reads need the operator token.
	read := ts.do(request{method: "GET", path: "/v1/tenants/globex", signed: true})
	if read.status != http.StatusUnauthorized || !strings.Contains(decodeProblem(t, read).Detail, "bearer token") {
		t.Errorf("signed read = %d %s, want 401 saying reads need the bearer token", read.status, read.body)
	}
}

// TestAPIIdempotencyKey reuses a key with the same and another body.
//
//nolint:paralleltest // newTestServer sets TENANTFLEET_LOCAL_* with t.Setenv (localtest.Images).
func TestAPIIdempotencyKey(t *testing.T) {
	ts := newTestServer(t)
	key := map[string]string{"Idempotency-Key": "signup-7d9c4f52"}
	first := ts.do(request{method: "POST", path: "/v1/tenants", body: `{"id":"initech"}`, header: key})
	if first.status != http.StatusAccepted {
		t.Fatalf("signup = %d %s, want 202", first.status, first.body)
	}
	same := ts.do(request{method: "POST", path: "/v1/tenants", body: `{"id":"initech"}`, header: key})
	if same.status != http.StatusOK || decodeTenant(t, same).ID != "initech" {
		t.Errorf("same key, same body = %d %s, want 200 with the tenant", same.status, same.body)
	}
	other := ts.do(request{method: "POST", path: "/v1/tenants", body: `{"id":"hooli"}`, header: key})
	if other.status != http.StatusConflict && other.status != http.StatusUnprocessableEntity {
		t.Fatalf("same key, other body = %d %s, want 409 or 422", other.status, other.body)
	}
	if p := decodeProblem(t, other); p.Field != "Idempotency-Key" {
		t.Errorf("field = %q, want Idempotency-Key", p.Field)
	}
	if n := ts.countRows("tenantfleet_tenant"); n != 1 {
		t.Errorf("%d tenants, want 1", n)
	}
}

// TestAPIDeleteAndCancel walks a tenant through cancel and delete.
//
//nolint:paralleltest // newTestServer sets TENANTFLEET_LOCAL_* with t.Setenv (localtest.Images).
func TestAPIDeleteAndCancel(t *testing.T) {
	ts := newTestServer(t)
	if r := ts.do(request{method: "POST", path: "/v1/tenants", body: `{"id":"umbrella"}`}); r.status != 202 {
		t.Fatalf("signup = %d %s", r.status, r.body)
	}
	if r := ts.do(request{method: "POST", path: "/v1/tenants/umbrella/cancel"}); r.status != 202 {
		t.Errorf("cancel = %d %s, want 202", r.status, r.body)
	}
	if r := ts.do(request{method: "DELETE", path: "/v1/tenants/umbrella"}); r.status != http.StatusConflict || decodeProblem(t, r).Field != "force" {
		t.Errorf("delete of a protected database without force = %d %s, want 409 naming force", r.status, r.body)
	}
	del := ts.do(request{method: "DELETE", path: "/v1/tenants/umbrella?force=true"})
	if del.status != http.StatusAccepted || decodeTenant(t, del).State != StateDeprovisioning {
		t.Fatalf("delete = %d %s, want 202 deprovisioning", del.status, del.body)
	}
	if r := ts.do(request{method: "DELETE", path: "/v1/tenants/umbrella?force=true"}); r.status != http.StatusOK {
		t.Errorf("the same delete again = %d %s, want 200", r.status, r.body)
	}
	if n := ts.countRows("river_job"); n != 2 {
		t.Errorf("river_job has %d rows, want 2 (signup, delete)", n)
	}
	// Settled: nothing to cancel.
	if _, err := ts.svc.Store().Update(t.Context(), "umbrella", decodeGeneration(t, ts, "umbrella"),
		Progress{State: StateDeleted, Deleted: true}); err != nil {
		t.Fatal(err)
	}
	if r := ts.do(request{method: "POST", path: "/v1/tenants/umbrella/cancel"}); r.status != http.StatusConflict {
		t.Errorf("cancel of a deleted tenant = %d %s, want 409", r.status, r.body)
	}
}

func decodeGeneration(t *testing.T, ts *testServer, id string) int64 {
	t.Helper()
	tn, err := ts.svc.Store().Get(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return tn.Generation
}

// TestAPIListPaging follows next links through the tenants and filters by state.
//
//nolint:paralleltest // newTestServer sets TENANTFLEET_LOCAL_* with t.Setenv (localtest.Images).
func TestAPIListPaging(t *testing.T) {
	ts := newTestServer(t)
	ids := []string{"e-corp", "acme", "dunder", "cyberdyne", "blue-sun"}
	for _, id := range ids {
		if r := ts.do(request{method: "POST", path: "/v1/tenants", body: `{"id":"` + id + `"}`}); r.status != 202 {
			t.Fatalf("signup %s = %d %s", id, r.status, r.body)
		}
	}
	var (
		got   []string
		pages int
	)
	for next := "/v1/tenants?limit=2"; next != ""; pages++ {
		r := ts.do(request{method: "GET", path: next})
		if r.status != 200 {
			t.Fatalf("GET %s = %d %s", next, r.status, r.body)
		}
		var page struct {
			Tenants []tenantView `json:"tenants"`
			Next    *string      `json:"next"`
		}
		if err := json.Unmarshal(r.body, &page); err != nil {
			t.Fatal(err)
		}
		for _, tn := range page.Tenants {
			got = append(got, tn.ID)
			if tn.Links.Self != "/v1/tenants/"+tn.ID {
				t.Errorf("tenant %s links = %+v", tn.ID, tn.Links)
			}
		}
		next = ""
		if page.Next != nil {
			next = *page.Next
			if !strings.Contains(next, "limit=2") {
				t.Errorf("next %q lost the limit", next)
			}
		}
		if pages > 5 {
			t.Fatal("paging does not end")
		}
	}
	want := slices.Clone(ids)
	sort.Strings(want)
	if !slices.Equal(got, want) || pages != 3 {
		t.Errorf("paged through %v in %d pages, want %v in 3", got, pages, want)
	}

	r := ts.do(request{method: "GET", path: "/v1/tenants?state=queued&limit=500"})
	if r.status != 200 || strings.Count(string(r.body), `"state":"queued"`) != len(ids) || strings.Contains(string(r.body), `"next"`) {
		t.Errorf("state=queued = %d %s, want all %d and no next", r.status, r.body, len(ids))
	}
	r = ts.do(request{method: "GET", path: "/v1/tenants?state=ready"})
	if r.status != 200 || !strings.Contains(string(r.body), `"tenants":[]`) {
		t.Errorf("state=ready = %d %s, want an empty list", r.status, r.body)
	}
}

// parsedEvent is one parsed Server-Sent Event.
type parsedEvent struct {
	id, event, data string
}

// readEvents reads events from an SSE stream until n arrive or the stream
// ends (ended); comments are skipped. A read error (the request's deadline)
// fails the test.
func readEvents(t *testing.T, r *bufio.Reader, n int) (events []parsedEvent, ended bool) {
	t.Helper()
	var cur parsedEvent
	for len(events) < n {
		line, err := r.ReadString('\n')
		if err == io.EOF {
			return events, true
		}
		if err != nil {
			t.Errorf("read the event stream: %v", err)
			return events, false
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			if cur != (parsedEvent{}) {
				events = append(events, cur)
			}
			cur = parsedEvent{}
		case strings.HasPrefix(line, ":"):
		case strings.HasPrefix(line, "id: "):
			cur.id = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "event: "):
			cur.event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			cur.data += strings.TrimPrefix(line, "data: ")
		default:
			t.Errorf("unexpected SSE line %q", line)
		}
	}
	return events, false
}

func (ts *testServer) openEvents(ctx context.Context, t *testing.T, path string, header map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, "GET", ts.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := ts.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s = %d %s %s", path, resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	return resp
}

// TestAPIEventsStream replays a tenant's events, resumes after
// Last-Event-ID, follows new events live and ends once the tenant settles.
//
//nolint:paralleltest // newTestServer sets TENANTFLEET_LOCAL_* with t.Setenv (localtest.Images).
func TestAPIEventsStream(t *testing.T) {
	ts := newTestServer(t)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if r := ts.do(request{method: "POST", path: "/v1/tenants", body: `{"id":"acme"}`}); r.status != 202 {
		t.Fatalf("signup = %d %s", r.status, r.body)
	}
	store := ts.svc.Store()
	if err := store.AddEvents(ctx, []Event{
		{TenantID: "acme", At: time.Now(), Type: EventOperation, Data: json.RawMessage(`{"operation":"up","phase":"started"}`)},
		{TenantID: "acme", At: time.Now(), Type: EventResource, Data: json.RawMessage(`{"urn":"urn:pulumi:x::y::z","type":"t","op":"create","status":"done"}`)},
	}); err != nil {
		t.Fatal(err)
	}

	// Replay from the start.
	resp := ts.openEvents(ctx, t, "/v1/tenants/acme/events", nil)
	events, ended := readEvents(t, bufio.NewReader(resp.Body), 3)
	_ = resp.Body.Close() // done with the replay: closing ends the stream, nothing to report
	if ended || len(events) != 3 {
		t.Fatalf("replay gave %d events (ended %v), want 3: %+v", len(events), ended, events)
	}
	wantTypes := []string{EventState, EventOperation, EventResource}
	for i, e := range events {
		var ev Event
		if err := json.Unmarshal([]byte(e.data), &ev); err != nil {
			t.Fatalf("event %d data %q: %v", i, e.data, err)
		}
		if e.event != wantTypes[i] || ev.Type != e.event || strconv.FormatInt(ev.Seq, 10) != e.id || ev.TenantID != "acme" {
			t.Errorf("event %d = %+v, want a %s event whose id is its seq", i, e, wantTypes[i])
		}
	}
	if !strings.Contains(events[0].data, `"state":"queued"`) {
		t.Errorf("first event %s is not the queued state", events[0].data)
	}

	// Resume after the first event; then a new event arrives live, then
	// the tenant settles and the stream ends after its state event.
	resp = ts.openEvents(ctx, t, "/v1/tenants/acme/events", map[string]string{"Last-Event-ID": events[0].id})
	defer func() { _ = resp.Body.Close() }() // the stream was read to its end
	body := bufio.NewReader(resp.Body)
	resumed, _ := readEvents(t, body, 2)
	if len(resumed) != 2 || resumed[0].id != events[1].id || resumed[1].id != events[2].id {
		t.Fatalf("resumed after %s with %+v, want events %s and %s", events[0].id, resumed, events[1].id, events[2].id)
	}
	if err := store.AddEvents(ctx, []Event{{TenantID: "acme", At: time.Now(), Type: EventDiagnostic,
		Data: json.RawMessage(`{"severity":"info","message":"hello"}`)}}); err != nil {
		t.Fatal(err)
	}
	live, _ := readEvents(t, body, 1)
	if len(live) != 1 || live[0].event != EventDiagnostic {
		t.Fatalf("live event = %+v, want the diagnostic", live)
	}
	if _, err := store.Update(ctx, "acme", decodeGeneration(t, ts, "acme"), Progress{State: StateReady, Attempts: 1, Ready: true}); err != nil {
		t.Fatal(err)
	}
	last, ended := readEvents(t, body, 2)
	if len(last) != 1 || !strings.Contains(last[0].data, `"state":"ready"`) || !ended {
		t.Errorf("after settling got %+v (ended %v), want the ready state event and the end of the stream", last, ended)
	}

	// The ?after= parameter, on a settled tenant: the rest, then the end.
	resp2 := ts.openEvents(ctx, t, "/v1/tenants/acme/events?after="+events[2].id, nil)
	defer func() { _ = resp2.Body.Close() }() // the stream was read to its end
	rest, ended := readEvents(t, bufio.NewReader(resp2.Body), 10)
	if len(rest) != 2 || !ended {
		t.Errorf("after=%s on a settled tenant gave %+v (ended %v), want 2 events and the end", events[2].id, rest, ended)
	}
	if r := ts.do(request{method: "GET", path: "/v1/tenants/nobody/events"}); r.status != 404 {
		t.Errorf("events of an unknown tenant = %d, want 404", r.status)
	}
}

// TestAPIProbesAndMetrics checks the unauthenticated routes.
//
//nolint:paralleltest // newTestServer sets TENANTFLEET_LOCAL_* with t.Setenv (localtest.Images).
func TestAPIProbesAndMetrics(t *testing.T) {
	ts := newTestServer(t)
	if r := ts.do(request{method: "GET", path: "/healthz", noAuth: true}); r.status != 200 || strings.TrimSpace(string(r.body)) != `{"status":"ok"}` {
		t.Errorf("/healthz = %d %s", r.status, r.body)
	}
	if r := ts.do(request{method: "GET", path: "/readyz", noAuth: true}); r.status != 200 {
		t.Errorf("/readyz = %d %s", r.status, r.body)
	}
	if r := ts.do(request{method: "POST", path: "/healthz", noAuth: true}); r.status != 405 || r.header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /healthz = %d Allow %q", r.status, r.header.Get("Allow"))
	}

	// Something to count in each family.
	ts.do(request{method: "POST", path: "/v1/tenants", body: `{"id":"acme"}`})
	ts.do(request{method: "GET", path: "/v1/tenants", noAuth: true})
	m := ts.svc.Metrics()
	m.OperationDone("up", "succeeded", 90*time.Second)
	m.EngineError("up", "transient")
	m.JobStarted()
	m.JobEnded()

	r := ts.do(request{method: "GET", path: "/metrics", noAuth: true})
	if r.status != 200 {
		t.Fatalf("/metrics = %d %s", r.status, r.body)
	}
	for _, want := range []string{
		`tenantfleet_signup_tenants{state="queued"} 1`,
		`tenantfleet_signup_tenants{state="ready"} 0`,
		`tenantfleet_signup_jobs{state="available"} 1`,
		`tenantfleet_signup_jobs_running 0`,
		`tenantfleet_signup_operation_duration_seconds_count{operation="up",result="succeeded"} 1`,
		`tenantfleet_signup_engine_errors_total{kind="transient",operation="up"} 1`,
		`tenantfleet_signup_http_requests_total{code="202",route="POST /v1/tenants"} 1`,
		`tenantfleet_signup_http_request_duration_seconds_count{route="POST /v1/tenants"} 1`,
		`tenantfleet_signup_auth_failures_total{reason="missing"} 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(string(r.body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestOpenAPIDocumentsEveryRoute keeps openapi.yaml and the mux in step:
// every route is documented with its method, every documented operation is
// served, every $ref resolves, and /openapi.yaml serves the document.
//
//nolint:paralleltest // newTestServer sets TENANTFLEET_LOCAL_* with t.Setenv (localtest.Images).
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	var doc map[string]any
	if err := yaml.Unmarshal(openAPISpec, &doc); err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	if doc["openapi"] != "3.1.0" {
		t.Errorf("openapi = %v, want 3.1.0", doc["openapi"])
	}
	paths, _ := doc["paths"].(map[string]any)
	documented := map[string]bool{}
	for p, item := range paths {
		ops, _ := item.(map[string]any)
		for method, op := range ops {
			switch method {
			case "get", "put", "post", "delete", "patch", "head", "options", "trace":
			default:
				continue
			}
			documented[strings.ToUpper(method)+" "+p] = true
			responses, _ := op.(map[string]any)["responses"].(map[string]any)
			if len(responses) == 0 {
				t.Errorf("%s %s documents no response", method, p)
			}
		}
	}
	served := map[string]bool{}
	for _, rt := range routes() {
		served[rt.pattern] = true
		if !documented[rt.pattern] {
			t.Errorf("route %s is served but not in openapi.yaml", rt.pattern)
		}
	}
	for op := range documented {
		if !served[op] {
			t.Errorf("openapi.yaml documents %s, which is not served", op)
		}
	}

	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if ref, ok := x.(string); ok && k == "$ref" {
					if !resolves(doc, ref) {
						t.Errorf("$ref %s does not resolve", ref)
					}
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(doc)

	ts := newTestServer(t)
	r := ts.do(request{method: "GET", path: "/openapi.yaml", noAuth: true})
	if r.status != 200 || r.header.Get("Content-Type") != "application/yaml" || !bytes.Equal(r.body, openAPISpec) {
		t.Errorf("/openapi.yaml = %d %q, want the embedded document as application/yaml", r.status, r.header.Get("Content-Type"))
	}
}

func resolves(doc map[string]any, ref string) bool {
	if !strings.HasPrefix(ref, "#/") {
		return false
	}
	var cur any = doc
	for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return false
		}
		if cur, ok = m[part]; !ok {
			return false
		}
	}
	return true
}

// TestAPINoCredentialsInLogsOrResponses makes requests that fail in every
// way a credential could be echoed; newTestServer's cleanup checks the
// bodies and the log, and this test also checks a wrong token is not echoed.
//
//nolint:paralleltest // newTestServer sets TENANTFLEET_LOCAL_* with t.Setenv (localtest.Images).
func TestAPINoCredentialsInLogsOrResponses(t *testing.T) {
	ts := newTestServer(t)
	wrong := "Wrong_Token.d2f1c9a7"
	bodies := []response{
		ts.do(request{method: "POST", path: "/v1/tenants", body: `{"id":"acme"}`, header: map[string]string{"Authorization": "Bearer " + wrong}}),
		ts.do(request{method: "POST", path: "/v1/tenants", body: `{"id":"acme","x":"` + wrong + `"}`}),
		ts.do(request{method: "POST", path: "/v1/tenants", body: `{"id":"` + wrong + `"}`}),
		ts.do(request{method: "POST", path: "/v1/tenants", body: `{"id":"acme"}`, signed: true}),
		ts.do(request{method: "POST", path: "/v1/tenants", body: `{"id":"acme"}`, signed: true, at: time.Now().Add(-time.Hour)}),
		ts.do(request{method: "GET", path: "/v1/tenants/acme", signed: true}),
		ts.do(request{method: "GET", path: "/v1/tenants/acme/events?after=" + wrong}),
	}
	for _, b := range bodies {
		if strings.Contains(string(b.body), wrong) {
			t.Errorf("a response echoes what was sent: %s", b.body)
		}
	}
	if strings.Contains(ts.logs.String(), wrong) {
		t.Error("the log holds the wrong token")
	}
	if !strings.Contains(ts.logs.String(), `"route":"POST /v1/tenants"`) {
		t.Errorf("requests are not logged with their route: %s", ts.logs.String())
	}
}
