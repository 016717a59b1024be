package signup

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// browser is an HTTP client that keeps cookies and does not follow
// redirects, so that each answer can be checked.
type browser struct {
	t    testing.TB
	base string
	c    *http.Client
	// header is sent with every request.
	header http.Header
}

func newBrowser(t testing.TB, base string) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, base: base, header: http.Header{}, c: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type page1 struct {
	status int
	header http.Header
	body   string
}

func (b *browser) get(path string) page1 { return b.send("GET", path, nil) }

func (b *browser) post(path string, form url.Values) page1 {
	return b.send("POST", path, form)
}

func (b *browser) send(method, path string, form url.Values) page1 {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, vs := range b.header {
		req.Header[k] = vs
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer func() { _ = resp.Body.Close() }() // read to the end below
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return page1{status: resp.StatusCode, header: resp.Header, body: string(raw)}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf reads the CSRF token of a signed-in page.
func (b *browser) csrf() string {
	b.t.Helper()
	p := b.get("/tenants")
	m := csrfField.FindStringSubmatch(p.body)
	if m == nil {
		b.t.Fatalf("GET /tenants = %d, no CSRF token in:\n%s", p.status, p.body)
	}
	return m[1]
}

func (b *browser) signIn(token string) page1 {
	return b.post("/sign-in", url.Values{"token": {token}, "next": {"/"}})
}

//nolint:paralleltest // newTestServer sets TENANTFLEET_LOCAL_* with t.Setenv (localtest.Images).
func TestConsoleSignIn(t *testing.T) {
	ts := newTestServer(t)
	b := newBrowser(t, ts.srv.URL)

	p := b.get("/tenants?state=ready")
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/sign-in?next="+url.QueryEscape("/tenants?state=ready") {
		t.Fatalf("a page without a session = %d to %q, want 303 to the sign-in page with next", p.status, p.header.Get("Location"))
	}
	if p := b.get("/tenants/acme/live"); p.status != http.StatusUnauthorized {
		t.Errorf("a live stream without a session = %d, want 401", p.status)
	}
	if p := b.get("/sign-in"); p.status != 200 || !strings.Contains(p.body, `<label for="token">Operator token</label>`) {
		t.Fatalf("GET /sign-in = %d:\n%s", p.status, p.body)
	}

	for name, token := range map[string]string{"a wrong token": "not-the-token", "the webhook secret": ts.secret, "no token": ""} {
		if p := b.signIn(token); p.status != http.StatusUnauthorized || p.header.Get("Set-Cookie") != "" {
			t.Errorf("sign-in with %s = %d, Set-Cookie %q; want 401 and no cookie", name, p.status, p.header.Get("Set-Cookie"))
		}
	}
	// A token in the URL never signs in, on the page or in the post.
	if p := b.get("/sign-in?token=" + testToken); p.status != 200 || p.header.Get("Set-Cookie") != "" || !strings.Contains(p.body, "never used to sign in") {
		t.Errorf("GET /sign-in?token= = %d, Set-Cookie %q, want the form with a warning and no cookie", p.status, p.header.Get("Set-Cookie"))
	}
	if p := b.post("/sign-in?token="+testToken, url.Values{}); p.status != http.StatusBadRequest || p.header.Get("Set-Cookie") != "" {
		t.Errorf("POST /sign-in?token= = %d, Set-Cookie %q, want 400 and no cookie", p.status, p.header.Get("Set-Cookie"))
	}
	// A bearer header signs nobody in to the console.
	b.header.Set("Authorization", "Bearer "+testToken)
	if p := b.get("/"); p.status != http.StatusSeeOther {
		t.Errorf("GET / with a bearer token and no session = %d, want 303 to sign in", p.status)
	}
	b.header.Del("Authorization")

	// An open redirect is not taken: next is a path of this site.
	p = b.post("/sign-in", url.Values{"token": {testToken}, "next": {"//evil.example/"}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/" {
		t.Fatalf("sign-in = %d to %q, want 303 to /", p.status, p.header.Get("Location"))
	}
	cookie := p.header.Get("Set-Cookie")
	for _, want := range []string{"tenantfleet_session=", "HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"} {
		if !strings.Contains(cookie, want) {
			t.Errorf("session cookie %q lacks %s", cookie, want)
		}
	}
	if strings.Contains(cookie, "Secure") || strings.Contains(cookie, testToken) {
		t.Errorf("session cookie %q: Secure on plain HTTP, or holds the token", cookie)
	}
	if p := b.get("/"); p.status != 200 || !strings.Contains(p.body, "<h1>Fleet</h1>") {
		t.Fatalf("GET / signed in = %d:\n%s", p.status, p.body)
	}
	if n := ts.countRows("tenantfleet_console_session"); n != 1 {
		t.Errorf("%d sessions stored, want 1", n)
	}

	// Signing out needs the CSRF token; then the session is gone.
	if p := b.post("/sign-out", url.Values{}); p.status != http.StatusForbidden {
		t.Errorf("sign-out without the CSRF token = %d, want 403", p.status)
	}
	if p := b.get("/"); p.status != 200 {
		t.Fatalf("the refused sign-out ended the session: GET / = %d", p.status)
	}
	if p := b.post("/sign-out", url.Values{"csrf": {b.csrf()}}); p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/sign-in") {
		t.Errorf("sign-out = %d to %q", p.status, p.header.Get("Location"))
	}
	if p := b.get("/"); p.status != http.StatusSeeOther {
		t.Errorf("GET / after sign-out = %d, want 303 to sign in", p.status)
	}
	if n := ts.countRows("tenantfleet_console_session"); n != 0 {
		t.Errorf("%d sessions stored after sign-out, want 0", n)
	}

	// Behind TLS the cookie is __Host- and Secure.
	b.header.Set("X-Forwarded-Proto", "https")
	p = b.signIn(testToken)
	cookie = p.header.Get("Set-Cookie")
	if !strings.HasPrefix(cookie, "__Host-tenantfleet_session=") || !strings.Contains(cookie, "Secure") {
		t.Errorf("session cookie behind TLS = %q, want __Host- and Secure", cookie)
	}
}

//nolint:paralleltest // newTestServer sets TENANTFLEET_LOCAL_* with t.Setenv (localtest.Images).
func TestConsoleSessionEnds(t *testing.T) {
	for name, ageSQL := range map[string]string{ //nolint:paralleltest // as above
		"expired": `UPDATE tenantfleet_console_session SET expires_at = 1`,
		"idle":    fmt.Sprintf(`UPDATE tenantfleet_console_session SET last_seen_at = %d`, time.Now().Add(-sessionIdle-time.Minute).UnixMilli()),
		"token no longer accepted": `UPDATE tenantfleet_console_session SET token_sum = '` +
			strings.Repeat("0", 64) + `'`,
	} {
		t.Run(name, func(t *testing.T) {
			ts := newTestServer(t)
			b := newBrowser(t, ts.srv.URL)
			if p := b.signIn(testToken); p.status != http.StatusSeeOther {
				t.Fatalf("sign-in = %d", p.status)
			}
			if _, err := ts.svc.store.DB.Exec(ageSQL); err != nil {
				t.Fatal(err)
			}
			if p := b.get("/"); p.status != http.StatusSeeOther {
				t.Errorf("GET / with an %s session = %d, want 303 to sign in", name, p.status)
			}
			if n := ts.countRows("tenantfleet_console_session"); n != 0 {
				t.Errorf("the %s session is still stored", name)
			}
		})
	}
}

//nolint:paralleltest // newTestServer sets TENANTFLEET_LOCAL_* with t.Setenv (localtest.Images).
func TestConsoleFormsNeedTheirCSRFToken(t *testing.T) {
	ts := newTestServer(t)
	if r := ts.do(request{method: "POST", path: "/v1/tenants", body: `{"id":"acme"}`}); r.status != 202 {
		t.Fatalf("signup = %d %s", r.status, r.body)
	}
	b := newBrowser(t, ts.srv.URL)
	b.signIn(testToken)
	before := decodeTenant(t, ts.do(request{method: "GET", path: "/v1/tenants/acme"}))
	rows := ts.countRows("tenantfleet_tenant")

	forged := url.Values{"confirm": {"acme"}, "mode": {"force"}}
	for name, form := range map[string]url.Values{
		"no token":      forged,
		"a wrong token": {"confirm": {"acme"}, "mode": {"force"}, "csrf": {"forged"}},
	} {
		if p := b.post("/tenants/acme/delete", form); p.status != http.StatusForbidden || !strings.Contains(p.body, "security token") {
			t.Errorf("delete with %s = %d, want 403 naming the security token:\n%s", name, p.status, p.body)
		}
	}
	// In the URL, the token does not count.
	if p := b.post("/tenants/acme/delete?csrf="+url.QueryEscape(b.csrf()), forged); p.status != http.StatusForbidden {
		t.Errorf("delete with the CSRF token in the URL = %d, want 403", p.status)
	}
	// A cross-site post is refused even with the right token.
	withToken := url.Values{"confirm": {"acme"}, "mode": {"force"}, "csrf": {b.csrf()}}
	b.header.Set("Sec-Fetch-Site", "cross-site")
	if p := b.post("/tenants/acme/delete", withToken); p.status != http.StatusForbidden {
		t.Errorf("cross-site delete = %d, want 403", p.status)
	}
	b.header.Del("Sec-Fetch-Site")
	b.header.Set("Origin", "https://evil.example")
	if p := b.post("/tenants/acme/delete", withToken); p.status != http.StatusForbidden {
		t.Errorf("delete from another origin = %d, want 403", p.status)
	}
	b.header.Del("Origin")
	// The wrong confirmation is refused too, naming the field.
	if p := b.post("/tenants/acme/delete", url.Values{"confirm": {"acm"}, "csrf": {b.csrf()}}); p.status != http.StatusBadRequest ||
		!strings.Contains(p.body, "<code>confirm</code>") {
		t.Errorf("delete with the wrong confirmation = %d:\n%s", p.status, p.body)
	}
	after := decodeTenant(t, ts.do(request{method: "GET", path: "/v1/tenants/acme"}))
	if after.Generation != before.Generation || after.State != before.State || ts.countRows("tenantfleet_tenant") != rows {
		t.Errorf("a refused form changed the tenant: %+v, was %+v", after.Tenant, before.Tenant)
	}

	// With its token the form works, through the same Service call as the API.
	p := b.post("/tenants/acme/delete", url.Values{"confirm": {"acme"}, "mode": {"retainDatabase"}, "csrf": {b.csrf()}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/tenants/acme?done=delete" {
		t.Fatalf("delete = %d to %q:\n%s", p.status, p.header.Get("Location"), p.body)
	}
	got, err := ts.svc.Get(t.Context(), "acme")
	if err != nil || got.Desired != DesiredAbsent || !got.DeleteOptions.RetainDatabase {
		t.Errorf("after the delete form: %+v, %v; want desired absent, retaining the database", got, err)
	}
}

// seedConsole records tenants as a running fleet would have them: ready
// with outputs, resources and a provisioning time, some failed or drifted,
// on two clouds, with a timeline for the first.
func seedConsole(tb testing.TB, s *Store, n int) {
	tb.Helper()
	ctx := tb.Context()
	now := time.Now()
	resources := []StackResource{{URN: "urn:pulumi:t::tenantfleet::pulumi:pulumi:Stack::tenantfleet-t", Type: "pulumi:pulumi:Stack"}}
	unit := "urn:pulumi:t::tenantfleet::tenantfleet:index:TenantUnit::t"
	resources = append(resources, StackResource{URN: unit, Type: "tenantfleet:index:TenantUnit", Parent: resources[0].URN})
	for _, part := range []string{"database", "app", "queue", "dlq", "worker", "secret", "role", "policy"} {
		resources = append(resources, StackResource{URN: "urn:pulumi:t::tenantfleet::tenantfleet:index:TenantUnit$aws:x/y:Z::t-" + part,
			Type: "aws:x/y:Z", Parent: unit, Custom: true})
	}
	resJSON, _ := json.Marshal(resources)
	tx, err := s.DB.BeginTx(ctx, nil)
	if err != nil {
		tb.Fatal(err)
	}
	for i := range n {
		id := fmt.Sprintf("tenant-%05d", i)
		state, drift, cloud, lastErr := StateReady, DriftInSync, "aws", ""
		switch {
		case i%50 == 7:
			state, lastErr = StateFailed, "up: the database quota of the account is reached"
		case i%20 == 3:
			drift = DriftDrifted
		}
		if i%3 == 0 {
			cloud = "gcp"
		}
		at := now.Add(-time.Duration(n-i) * time.Minute).UnixMilli()
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO tenantfleet_tenant (id, stack, cloud, region, tier, request, state, desired, generation,
			outputs, last_error, created_at, updated_at, ready_at, template_version, monthly_cost, drift_status, resources,
			provision_started_at, provision_seconds)
			VALUES (?, ?, ?, '', 'small', ?, ?, 'present', 1, ?, ?, ?, ?, ?, 'aaaaaaaaaaaa', 31.5, ?, ?, ?, ?)`),
			id, "tenant-"+id, cloud, fmt.Sprintf(`{"id":%q,"tier":"small","cloud":%q}`, id, cloud), string(state),
			`{"webUrl":"http://127.0.0.1:9/","databasePassword":"[secret]","queueUrl":"nats://127.0.0.1:4222/q"}`, lastErr,
			at, at, at+40_000, string(drift), string(resJSON), at, 30+float64(i%17)); err != nil {
			tb.Fatal(err)
		}
	}
	// A rolling rollout of every tenant in three waves: the first two done
	// or in flight, the last planned.
	spec := `{"selector":{"all":true},"version":"bbbbbbbbbbbb","waves":[1,"10%","100%"],"maxParallel":2,` +
		`"pauseBetweenWaves":"0s","healthTimeout":"2m0s","maxFailures":0,"dryRun":false}`
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO tenantfleet_rollout (state, version, spec, wave, created_at, updated_at)
		VALUES ('rolling', 'bbbbbbbbbbbb', ?, 2, ?, ?)`), spec, now.UnixMilli(), now.UnixMilli()); err != nil {
		tb.Fatal(err)
	}
	for i := range n {
		wave, status := 3, TenantPlanned
		switch {
		case i == 0:
			wave, status = 1, TenantSucceeded
		case i < n/10:
			wave, status = 2, TenantSucceeded
			if i%7 == 0 {
				status = TenantUpdating
			}
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO tenantfleet_rollout_tenant (rollout_id, tenant_id, wave, status, from_version,
			planned, changes, replacements, monthly_before, monthly_after, updated_at) VALUES (1, ?, ?, ?, 'aaaaaaaaaaaa', 1, ?, '[]', 31.5, 33, ?)`),
			fmt.Sprintf("tenant-%05d", i), wave, string(status), `{"update":2,"same":8}`, now.UnixMilli()); err != nil {
			tb.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
	var evs []Event
	evs = append(evs, Event{TenantID: "tenant-00000", At: now, Type: EventOperation, Data: json.RawMessage(`{"operation":"up","phase":"started","attempt":1}`)})
	for _, r := range resources {
		evs = append(evs, Event{TenantID: "tenant-00000", At: now, Type: EventResource,
			Data: json.RawMessage(fmt.Sprintf(`{"urn":%q,"type":%q,"op":"create","status":"done","seconds":1.5}`, r.URN, r.Type))})
	}
	evs = append(evs, Event{TenantID: "tenant-00000", At: now, Type: EventOperation, Data: json.RawMessage(`{"operation":"up","phase":"succeeded","changes":{"create":10},"seconds":41.2}`)},
		stateEvent("tenant-00000", StateReady, ""))
	if err := s.AddEvents(ctx, evs); err != nil {
		tb.Fatal(err)
	}
}

//nolint:paralleltest // newTestServer sets TENANTFLEET_LOCAL_* with t.Setenv (localtest.Images).
func TestConsolePages(t *testing.T) {
	ts := newTestServer(t)
	seedConsole(t, ts.svc.store, 120)
	b := newBrowser(t, ts.srv.URL)
	b.signIn(testToken)

	for _, c := range []struct {
		path string
		want []string
	}{
		{"/", []string{"<h1>Fleet</h1>", "120</span> tenants", `href="/tenants?state=failed"`, "p50 <strong>", "<desc id=\"prov-desc\">",
			"Signups per hour", "<td><a href=\"/tenants?cloud=gcp\">gcp</a></td>", "tenant-00007"}},
		{"/tenants", []string{"<strong>120</strong> tenants match", `href="/tenants/tenant-00000"`, "Next page", "state-failed"}},
		{"/tenants?state=failed", []string{"<strong>3</strong> tenants match", "database quota"}},
		{"/tenants?drift=true&cloud=aws", []string{"tenants match", "drift-drifted"}},
		{"/tenants?after=tenant-00049", []string{"First page", `href="/tenants/tenant-00050"`}},
		{"/tenants/tenant-00000", []string{"Tenant tenant-00000", "••••••• secret", `href="http://127.0.0.1:9/"`, "Resources by component",
			"tenantfleet:index:TenantUnit", "t-database", "up succeeded: 10 create", "41.2s", "up started (attempt 1)", "Delete the tenant…", "Reconcile…",
			`name="mode" value="force"`, `name="mode" value="retainDatabase"`}},
		{"/rollouts", []string{"Start a rollout", `href="/rollouts/1"`, "rolling"}},
		{"/rollouts/1", []string{"Rollout 1", "Wave 1", "Wave 3", "8 same, 2 update", "&#43;$1.50", "passed: /healthz answered", "Pause", "Cancel…"}},
	} {
		p := b.get(c.path)
		if p.status != 200 {
			t.Errorf("GET %s = %d:\n%s", c.path, p.status, p.body)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(p.body, w) {
				t.Errorf("GET %s lacks %q", c.path, w)
			}
		}
		if strings.Contains(p.body, "[secret]") {
			t.Errorf("GET %s shows a secret output's placeholder instead of masking it", c.path)
		}
		for _, h := range []string{"Content-Security-Policy", "X-Frame-Options"} {
			if p.header.Get(h) == "" {
				t.Errorf("GET %s has no %s", c.path, h)
			}
		}
	}
	for path, field := range map[string]string{
		"/tenants?state=happy":     "state",
		"/tenants?tier=huge":       "tier",
		"/tenants?limit=0":         "limit",
		"/tenants?version=nope":    "version",
		"/tenants?after=..%2Fetc":  "after",
		"/tenants?colour=red":      "colour",
		"/tenants/no-such-tenant":  "",
		"/rollouts/99":             "id",
		"/rollouts/x":              "id",
		"/static/../api.go":        "",
		"/static/missing.css":      "",
		"/tenants/no-such/retry/x": "",
	} {
		p := b.get(path)
		if p.status < 400 || p.status >= 500 {
			t.Errorf("GET %s = %d, want a 4xx", path, p.status)
		}
		if field != "" && !strings.Contains(p.body, "<code>"+field+"</code>") {
			t.Errorf("GET %s does not name the field %s:\n%s", path, field, p.body)
		}
	}
	// The JSON API's list takes the same filters.
	r := ts.do(request{method: "GET", path: "/v1/tenants?cloud=gcp&state=failed&limit=500"})
	var list tenantList
	if err := json.Unmarshal(r.body, &list); err != nil || r.status != 200 {
		t.Fatalf("GET /v1/tenants?cloud=gcp&state=failed = %d %s", r.status, r.body)
	}
	for _, tn := range list.Tenants {
		if tn.Cloud != "gcp" || tn.State != StateFailed {
			t.Errorf("the filtered list has %s (%s, %s)", tn.ID, tn.Cloud, tn.State)
		}
	}
	if len(list.Tenants) == 0 {
		t.Error("the filtered list is empty")
	}
	// The fleet summary, from the database's counts, prices each cloud.
	r = ts.do(request{method: "GET", path: "/v1/fleet"})
	var fl Fleet
	if err := json.Unmarshal(r.body, &fl); err != nil || fl.Tenants != 120 || fl.CostByCloud["gcp"] != 31.5*40 || fl.ByCloud["aws"] != 80 {
		t.Errorf("GET /v1/fleet = %s (%v)", r.body, err)
	}
	// Assets come from the binary, revalidated by ETag.
	p := b.get("/static/console.js")
	if p.status != 200 || !strings.HasPrefix(p.header.Get("Content-Type"), "text/javascript") || p.header.Get("ETag") == "" {
		t.Fatalf("GET /static/console.js = %d %v", p.status, p.header)
	}
	b.header.Set("If-None-Match", p.header.Get("ETag"))
	if p := b.get("/static/console.js"); p.status != http.StatusNotModified {
		t.Errorf("a revalidation = %d, want 304", p.status)
	}
}

func TestConsoleCharts(t *testing.T) {
	t.Parallel()
	var ps []Provisioning
	for i := 1; i <= 20; i++ {
		ps = append(ps, Provisioning{Tenant: fmt.Sprint(i), Seconds: float64(i)})
	}
	c := newProvisioningChart(ps)
	if c.P50 != 10 || c.P95 != 19 || c.Max != 20 || len(c.Bars) != 20 {
		t.Errorf("chart of 1..20 s: p50 %v p95 %v max %v, %d bars; want 10, 19, 20, 20", c.P50, c.P95, c.Max, len(c.Bars))
	}
	if c.Bars[19].H != chartHeight || c.Bars[19].Y != 0 {
		t.Errorf("the slowest bar is %v high at %v, want the full height", c.Bars[19].H, c.Bars[19].Y)
	}
	now := time.Date(2026, 12, 3, 10, 30, 0, 0, time.UTC)
	s := newSignupsChart([]int{0, 2, 4}, now)
	if s.Total != 6 || s.Max != 4 || !strings.HasPrefix(s.Bars[0].Label, "Dec 3 08:00–09:00 UTC") || !strings.HasPrefix(s.Bars[2].Label, "Dec 3 10:00") {
		t.Errorf("signups chart = %+v", s)
	}
}

//nolint:paralleltest // newTestServer sets TENANTFLEET_LOCAL_* with t.Setenv (localtest.Images).
func TestConsoleSignupsPerHour(t *testing.T) {
	ts := newTestServer(t)
	now := time.Now()
	for i, ago := range []time.Duration{0, 10 * time.Minute, 2 * time.Hour, 30 * time.Hour} {
		if _, err := ts.svc.store.DB.Exec(`INSERT INTO tenantfleet_tenant (id, stack, cloud, tier, request, state, desired, generation,
			created_at, updated_at, provision_started_at) VALUES (?, 's', 'local', 'small', '{}', 'queued', 'present', 1, 0, 0, ?)`,
			fmt.Sprint("t", i), now.Add(-ago).UnixMilli()); err != nil {
			t.Fatal(err)
		}
	}
	got, err := ts.svc.store.SignupsPerHour(t.Context(), now, 24)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, n := range got {
		total += n
	}
	if len(got) != 24 || got[23]+got[22] < 1 || got[21]+got[20] < 1 || total != 3 {
		t.Errorf("signups per hour = %v; want 3 in the last 24 hours (2 in the last, 1 two hours ago), the one 30 h ago left out", got)
	}
}

// BenchmarkConsolePages renders each page of the console, signed in, with
// 1,000 tenants in the store (SQLite), through the whole HTTP handler.
func BenchmarkConsolePages(b *testing.B) {
	cfg := Config{DataDir: b.TempDir(), Workers: -1, APITokens: []string{testToken}, Logger: slog.New(slog.DiscardHandler)}
	svc, err := Open(b.Context(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer svc.Close()
	seedConsole(b, svc.store, 1000)
	srv := httptest.NewServer(svc.Handler())
	defer srv.Close()
	br := newBrowser(b, srv.URL)
	br.signIn(testToken)
	cookies := br.c.Jar.Cookies(mustURL(b, srv.URL))
	h := svc.Handler()
	for _, path := range []string{"/", "/tenants", "/tenants?state=ready&cloud=aws&limit=500", "/tenants?after=tenant-00900", "/tenants/tenant-00000", "/rollouts", "/rollouts/1"} {
		b.Run(path, func(b *testing.B) {
			for b.Loop() {
				req := httptest.NewRequest("GET", path, nil)
				for _, c := range cookies {
					req.AddCookie(c)
				}
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != 200 {
					b.Fatalf("GET %s = %d", path, w.Code)
				}
			}
		})
	}
}

func mustURL(tb testing.TB, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		tb.Fatal(err)
	}
	return u
}

func TestConsoleSafeNext(t *testing.T) {
	t.Parallel()
	for next, want := range map[string]string{
		"/tenants?state=failed": "/tenants?state=failed",
		"/":                     "/",
		"":                      "/",
		"//evil.example/":       "/",
		"/\\evil.example/":      "/",
		"/\t/evil.example/":     "/",
		"/\n/evil.example/":     "/",
		"/\x0b/evil.example/":   "/",
		"https://evil.example/": "/",
		"tenants":               "/",
		"/%2F/evil.example":     "/%2F/evil.example", // a path of this site
	} {
		if got := safeNext(next); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", next, got, want)
		}
	}
}

func TestConsoleOperationRows(t *testing.T) {
	t.Parallel()
	ev := func(seq int64, data string) Event {
		return Event{Seq: seq, Type: EventOperation, At: time.Unix(seq, 0), Data: json.RawMessage(data)}
	}
	// Newest first: an up that failed in the refresh it ran first, an
	// update interrupted by a crash, a cancelled one, a succeeded one.
	ops := []Event{
		ev(9, `{"operation":"up","phase":"started","attempt":1}`),
		ev(8, `{"operation":"refresh","phase":"failed","error":"the stack is locked"}`),
		ev(7, `{"operation":"up","phase":"started","attempt":2}`),
		ev(6, `{"operation":"up","phase":"started","attempt":1}`),
		ev(5, `{"operation":"up","phase":"cancelled","reason":"cancelled by the operator"}`),
		ev(4, `{"operation":"up","phase":"started","attempt":1}`),
		ev(3, `{"operation":"up","phase":"succeeded","changes":{"create":6},"seconds":3.9}`),
		ev(2, `{"operation":"up","phase":"started","attempt":1}`),
	}
	got := operationRows(ops, false)
	want := []operationRow{
		{Operation: "up", Phase: "running", At: time.Unix(9, 0)},
		{Operation: "up (refresh)", Phase: "failed", At: time.Unix(7, 0), Error: "the stack is locked"},
		{Operation: "up", Phase: "interrupted", At: time.Unix(6, 0)},
		{Operation: "up", Phase: "cancelled", At: time.Unix(4, 0), Error: "cancelled by the operator"},
		{Operation: "up", Phase: "succeeded", At: time.Unix(2, 0), Seconds: "3.9s", Changes: "6 create"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("operationRows =\n%v\nwant\n%v", got, want)
	}
	if got := operationRows(ops, true); got[0].Phase != "interrupted" {
		t.Errorf("a settled tenant's unended operation is %q, want interrupted", got[0].Phase)
	}
}

//nolint:paralleltest // newTestServer sets TENANTFLEET_LOCAL_* with t.Setenv (localtest.Images).
func TestConsoleTenantStates(t *testing.T) {
	ts := newTestServer(t)
	seedConsole(t, ts.svc.store, 3)
	if _, err := ts.svc.store.DB.Exec(`UPDATE tenantfleet_tenant SET state = 'failed', desired = 'absent', last_error = 'the database is deletion-protected' WHERE id = 'tenant-00001'`); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.svc.store.DB.Exec(`UPDATE tenantfleet_tenant SET state = 'deleted', desired = 'absent' WHERE id = 'tenant-00002'`); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, ts.srv.URL)
	b.signIn(testToken)
	p := b.get("/tenants/tenant-00001")
	for _, want := range []string{"Delete again (the last delete failed)…", "deletion-protected"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("a tenant whose delete failed: the page lacks %q", want)
		}
	}
	if strings.Contains(p.body, "Retry provisioning") || strings.Contains(p.body, "No action applies") {
		t.Error("a tenant whose delete failed is offered a retry of its signup, or nothing")
	}
	if p := b.get("/tenants/tenant-00002"); !strings.Contains(p.body, "No action applies to a deleted tenant") {
		t.Errorf("a deleted tenant's page:\n%s", p.body)
	}
	// Deleted tenants are left out of the list unless asked for.
	if p := b.get("/tenants"); !strings.Contains(p.body, "<strong>2</strong> tenants match") || strings.Contains(p.body, `href="/tenants/tenant-00002"`) {
		t.Errorf("the tenant list shows deleted tenants by default:\n%s", p.body)
	}
	if p := b.get("/tenants?state=deleted"); !strings.Contains(p.body, `href="/tenants/tenant-00002"`) {
		t.Error("state=deleted does not list the deleted tenant")
	}
	if p := b.get("/tenants?drift=yes"); p.status != http.StatusBadRequest || !strings.Contains(p.body, "<code>drift</code>") {
		t.Errorf("drift=yes = %d", p.status)
	}
	// An action the tenant's state does not allow is refused with the reason.
	if p := b.post("/tenants/tenant-00000/cancel", url.Values{"csrf": {b.csrf()}}); p.status != http.StatusConflict || !strings.Contains(p.body, "role=\"alert\"") {
		t.Errorf("cancel of a ready tenant = %d:\n%s", p.status, p.body)
	}
}

//nolint:paralleltest // newTestServer sets TENANTFLEET_LOCAL_* with t.Setenv (localtest.Images).
func TestConsoleSignInAgainEndsTheOldSession(t *testing.T) {
	ts := newTestServer(t)
	b := newBrowser(t, ts.srv.URL)
	b.signIn(testToken)
	b.signIn(testToken)
	if n := ts.countRows("tenantfleet_console_session"); n != 1 {
		t.Errorf("%d sessions after signing in twice, want 1", n)
	}
	b.header.Set("Forwarded", `for=192.0.2.1;proto=https`)
	if c := b.signIn(testToken).header.Get("Set-Cookie"); !strings.HasPrefix(c, "__Host-") || !strings.Contains(c, "Secure") {
		t.Errorf("behind a proxy that sends Forwarded: proto=https, the cookie is %q", c)
	}
}

//nolint:paralleltest // newTestServer sets TENANTFLEET_LOCAL_* with t.Setenv (localtest.Images).
func TestConsoleLiveStreamEndsWithTheSession(t *testing.T) {
	ts := newTestServer(t)
	if r := ts.do(request{method: "POST", path: "/v1/tenants", body: `{"id":"acme"}`}); r.status != 202 {
		t.Fatalf("signup = %d", r.status)
	}
	b := newBrowser(t, ts.srv.URL)
	b.signIn(testToken)
	req, err := http.NewRequestWithContext(t.Context(), "GET", ts.srv.URL+"/tenants/acme/live", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := b.c.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /tenants/acme/live = %v, %v", resp, err)
	}
	defer func() { _ = resp.Body.Close() }()
	// The tenant never settles here (no worker runs): only the session's
	// end can end the stream.
	if _, err := ts.svc.store.DB.Exec(`DELETE FROM tenantfleet_console_session`); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := io.Copy(io.Discard, resp.Body); done <- err }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("the stream ended with %v, want a clean end", err)
		}
	case <-t.Context().Done():
		t.Fatal("the live stream outlived its session")
	}
}
