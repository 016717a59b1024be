package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// TestConsole drives the web console of `tenantfleet serve` in headless
// Chromium, against the real service on the local cloud: sign-in and its
// refusals, a tenant's live timeline from signup to ready, a delete from
// the tenant's page, a rollout followed wave by wave, forged and
// cross-site form posts refused, and sign-out. It saves a screenshot of
// each page (consoleArtifacts).
//
//nolint:paralleltest // end-to-end: runs the real engine and a browser; serial so the 2-core CI keeps its margins.
func TestConsole(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: runs the real engine and headless Chromium (drop -short to run it)")
	}
	chromium := chromiumPath(t)
	artifacts := consoleArtifacts(t)

	f := newFleet(t, nil)
	f.must(0, "local", "start")
	tpl := filepath.Join(f.projectDir, "tenant-template.yaml")
	f.writeReleaseTemplate(tpl, "1", "dev")
	svc := newSignupService(t, f, "--template", tpl, "--concurrency", "2", "--drain-timeout", "2s")
	svc.start(t)

	b := newConsoleBrowser(t, chromium, svc.url, artifacts)

	// step runs one phase as a subtest; the phases build on each other, so
	// the first that fails ends the test.
	step := func(name string, fn func(t *testing.T)) {
		t.Helper()
		if !t.Run(name, fn) {
			t.FailNow()
		}
	}

	step("without a session every page sends to the sign-in page", func(t *testing.T) {
		b.navigate(t, "/")
		b.wantPath(t, "/sign-in", "next=%2F")
		if h1 := b.text(t, "h1"); h1 != "Sign in" {
			t.Errorf("h1 = %q, want Sign in", h1)
		}
		if b.exists(t, "form.signout") || b.exists(t, "header nav") {
			t.Error("the sign-in page shows the signed-in header (navigation, sign out)")
		}
		b.navigate(t, "/tenants/acme")
		b.wantPath(t, "/sign-in", "next=%2Ftenants%2Facme")
		b.screenshot(t, "sign-in")
	})

	step("only an operator token typed in the form signs in", func(t *testing.T) {
		for _, c := range []struct{ name, token string }{
			{"a wrong token", "operator-not-a-token"},
			{"the webhook secret", svc.secret},
		} {
			b.navigate(t, "/sign-in")
			b.do(t, "type "+c.name, chromedp.SendKeys(chromedp.ID("token"), c.token))
			resp := b.submit(t, "sign in with "+c.name, chromedp.Click(chromedp.CSS(`form[action="/sign-in"] button[type=submit]`)))
			if resp.Status != http.StatusUnauthorized {
				t.Errorf("sign-in with %s: status %d, want 401", c.name, resp.Status)
			}
			b.wantPath(t, "/sign-in", "")
			if msg := b.text(t, "#signin-error"); msg != "That is not an operator token of this service." {
				t.Errorf("sign-in with %s: error %q", c.name, msg)
			}
			b.wantSignedOut(t)
		}

		// A token in the URL is refused, with the warning to rotate it.
		b.navigate(t, "/sign-in?token="+url.QueryEscape(svc.token))
		if msg := b.text(t, "#signin-error"); !strings.Contains(msg, "never used to sign in") || !strings.Contains(msg, "rotate that token") {
			t.Errorf("/sign-in?token=: warning %q", msg)
		}
		b.wantSignedOut(t)

		// The real token, typed: the redirect back lands on the overview.
		b.navigate(t, "/")
		b.wantPath(t, "/sign-in", "next=%2F")
		b.do(t, "type the operator token", chromedp.SendKeys(chromedp.ID("token"), svc.token))
		resp := b.submit(t, "sign in", chromedp.Click(chromedp.CSS(`form[action="/sign-in"] button[type=submit]`)))
		if resp.Status != http.StatusOK {
			t.Errorf("sign-in: the overview answered %d", resp.Status)
		}
		b.wantPath(t, "/", "")
		if h1 := b.text(t, "h1"); h1 != "Fleet" {
			t.Errorf("after sign-in: h1 = %q, want Fleet", h1)
		}
		c := b.sessionCookie(t)
		if c == nil {
			t.Fatal("signed in, yet the browser holds no tenantfleet_session cookie")
		}
		if !c.HTTPOnly || c.SameSite != network.CookieSameSiteStrict || c.Path != "/" {
			t.Errorf("session cookie: HttpOnly %v, SameSite %q, Path %q; want HttpOnly, Strict, /", c.HTTPOnly, c.SameSite, c.Path)
		}
		if jsCookies := evalJS[string](t, b, `document.cookie`); strings.Contains(jsCookies, "tenantfleet_session") {
			t.Errorf("scripts can read the session cookie: %q", jsCookies)
		}
	})

	step("a tenant's page follows its provisioning live to ready", func(t *testing.T) {
		// The local cloud is held until the page is open and marked, so
		// the page is certainly loaded while the tenant is provisioning.
		release := f.holdRuntime(t)
		if code, doc := svc.do(t, "POST", "/v1/tenants", map[string]any{"id": "acme"}); code != http.StatusAccepted {
			t.Fatalf("signup acme: %d %v", code, doc)
		}
		b.navigate(t, "/tenants/acme")
		b.wantPath(t, "/tenants/acme", "")
		if live := evalJS[string](t, b, `document.getElementById('timeline').dataset.live || ''`); !strings.HasPrefix(live, "/tenants/acme/live?after=") {
			t.Fatalf("the page of a provisioning tenant is not live: data-live %q, state %q", live, b.text(t, "#tenant-state"))
		}
		if st := b.text(t, "#tenant-state"); st == "ready" {
			t.Fatalf("acme is ready already while the local cloud is held")
		}
		b.markNoReload(t)
		release()
		// The others sign up meanwhile: charlie is the rollout's, bravo is deleted.
		for _, id := range []string{"bravo", "charlie"} {
			if code, doc := svc.do(t, "POST", "/v1/tenants", map[string]any{"id": id}); code != http.StatusAccepted {
				t.Fatalf("signup %s: %d %v", id, code, doc)
			}
		}
		b.waitFor(t, "acme's page to show it ready, with its timeline and outputs", 3*time.Minute, `(() => {
			const st = document.getElementById('tenant-state'), d = document.getElementById('tenant-details');
			return !!st && st.textContent.trim() === 'ready' &&
				document.querySelectorAll('#timeline tbody tr.ev-resource').length > 0 &&
				!!d && d.textContent.includes('webUrl');
		})()`)
		b.wantNoReload(t)
		_, doc := svc.do(t, "GET", "/v1/tenants/acme", nil)
		outputs, _ := doc["outputs"].(map[string]any)
		webURL, _ := outputs["webUrl"].(string)
		if doc["state"] != "ready" || webURL == "" {
			t.Fatalf("API: acme is %v with webUrl %q", doc["state"], webURL)
		}
		if got := evalJS[string](t, b, `(() => { const a = document.querySelector('#tenant-details a[href^="http"]'); return a ? a.getAttribute('href') : ''; })()`); got != webURL {
			t.Errorf("the page links the web app at %q, want %q", got, webURL)
		}
		if st := b.text(t, "#live-status"); st != "The tenant is ready." {
			t.Errorf("live status %q", st)
		}
		if rows := evalJS[int](t, b, `document.querySelectorAll('#timeline tbody tr.ev-state').length`); rows == 0 {
			t.Error("the timeline shows no state change")
		}
		if b.text(t, "#tenant-details .secret") == "" {
			t.Error("the secret output databaseCredentials is not shown as hidden")
		}
		b.screenshot(t, "tenant-ready")
		svc.waitState(t, "bravo", "ready", 5*time.Minute)
		svc.waitState(t, "charlie", "ready", 5*time.Minute)
	})

	step("a tenant is deleted from its page", func(t *testing.T) {
		b.navigate(t, "/tenants/bravo")
		b.do(t, "open the delete form", chromedp.Click(chromedp.CSS(`details:has(> form[action="/tenants/bravo/delete"]) > summary`), chromedp.NodeVisible))
		b.do(t, "choose force and type a wrong id",
			chromedp.Click(chromedp.ID("mode-force"), chromedp.NodeVisible),
			chromedp.SendKeys(chromedp.ID("confirm-id"), "brav", chromedp.NodeVisible))
		if evalJS[bool](t, b, `document.getElementById('confirm-id').checkValidity()`) {
			t.Error("the confirm field accepts an id that is not the tenant's")
		}
		b.do(t, "type the id", chromedp.SendKeys(chromedp.ID("confirm-id"), "o"))
		if !evalJS[bool](t, b, `document.getElementById('confirm-id').checkValidity()`) {
			t.Fatal("the confirm field refuses the tenant's id")
		}
		// Held again: the page after the delete is certainly live.
		release := f.holdRuntime(t)
		resp := b.submit(t, "delete bravo", chromedp.Click(chromedp.CSS(`form[action="/tenants/bravo/delete"] button[type=submit]`), chromedp.NodeVisible))
		if resp.Status != http.StatusOK {
			t.Fatalf("delete: status %d (%s)", resp.Status, b.text(t, "main"))
		}
		b.wantPath(t, "/tenants/bravo", "done=delete")
		if n := b.text(t, ".notice"); n != "Delete started." {
			t.Errorf("notice %q", n)
		}
		if live := evalJS[string](t, b, `document.getElementById('timeline').dataset.live || ''`); !strings.HasPrefix(live, "/tenants/bravo/live?after=") {
			t.Fatalf("the page of a tenant being deleted is not live: data-live %q, state %q", live, b.text(t, "#tenant-state"))
		}
		b.markNoReload(t)
		release()
		b.waitFor(t, "bravo's page to show it deleted", 3*time.Minute, `(() => {
			const st = document.getElementById('tenant-state');
			return !!st && st.textContent.trim() === 'deleted';
		})()`)
		b.wantNoReload(t)
		svc.waitState(t, "bravo", "deleted", time.Minute)
	})

	step("a rollout's page follows it wave by wave", func(t *testing.T) {
		// A changed template: the service restarted with it records a new
		// version, which acme and charlie are not on.
		_, fleet := svc.do(t, "GET", "/v1/fleet", nil)
		v1, _ := fleet["currentVersion"].(string)
		svc.stop(t, syscall.SIGTERM, time.Minute)
		f.on(t).writeReleaseTemplate(tpl, "2", "dev")
		svc.start(t)
		_, fleet = svc.do(t, "GET", "/v1/fleet", nil)
		v2, _ := fleet["currentVersion"].(string)
		if v2 == v1 || v2 == "" {
			t.Fatalf("the changed template's version is %q (was %q)", v2, v1)
		}

		// The session outlived the restart.
		b.navigate(t, "/rollouts")
		b.wantPath(t, "/rollouts", "")
		if got := b.value(t, "#version"); got != v2 {
			t.Errorf("the form's version is %q, want the current %q", got, v2)
		}
		if !evalJS[bool](t, b, `document.getElementById('dryRun').checked && document.getElementById('sel-all').checked`) {
			t.Error("the form does not default to a dry run of every tenant")
		}
		// Waves 1, 100% (the default) with a pause between them: the
		// page shows wave 1 done while wave 2 waits, for 15 seconds.
		b.do(t, "fill the rollout form",
			chromedp.SetValue(chromedp.ID("waves"), "1, 100%"),
			chromedp.SendKeys(chromedp.ID("pauseBetweenWaves"), "15s"),
			chromedp.Click(chromedp.ID("dryRun")))
		resp := b.submit(t, "start the rollout", chromedp.Click(chromedp.CSS(`form.rollout-form button[type=submit]`)))
		if resp.Status != http.StatusOK {
			t.Fatalf("start rollout: status %d (%s)", resp.Status, b.text(t, "main"))
		}
		loc := b.location(t)
		if !strings.HasPrefix(loc.Path, "/rollouts/") || loc.RawQuery != "done=rollout" {
			t.Fatalf("after starting the rollout: at %s", loc)
		}
		id := strings.TrimPrefix(loc.Path, "/rollouts/")
		if n := b.text(t, ".notice"); n != "Rollout started." {
			t.Errorf("notice %q", n)
		}
		if live := evalJS[string](t, b, `document.getElementById('rollout-head').dataset.live || ''`); live != "/rollouts/"+id+"/live" {
			t.Fatalf("the page of a new rollout is not live: data-live %q", live)
		}
		b.markNoReload(t)
		const waves = `const r = document.getElementById('rollout-head');
			const state = r ? r.querySelector('h1 .state').textContent.trim() : '';
			const waves = Array.from(document.querySelectorAll('#rollout-body h3 .wave'), w => w.textContent.trim());`
		b.waitFor(t, "the page to show wave 1 done and wave 2 waiting", 5*time.Minute, `(() => {
			`+waves+`
			return state === 'rolling' && waves.length === 2 && waves[0] === 'done' && waves[1] !== 'done';
		})()`)
		b.waitFor(t, "the page to show the rollout succeeded", 5*time.Minute, `(() => {
			`+waves+`
			return state === 'succeeded' && waves.join() === 'done,done' && !r.dataset.live &&
				Array.from(document.querySelectorAll('#rollout-body .wave-tenants .phase'), p => p.textContent.trim()).join() === 'succeeded,succeeded';
		})()`)
		b.wantNoReload(t)
		for i, h := range evalJS[[]string](t, b, `Array.from(document.querySelectorAll('#rollout-body h3'), h => h.textContent.replace(/\s+/g, ' ').trim())`) {
			if want := fmt.Sprintf(`^Wave %d done \(1 tenants?\)$`, i+1); !regexp.MustCompile(want).MatchString(h) {
				t.Errorf("wave heading %q, want %s", h, want)
			}
		}
		b.screenshot(t, "rollout")
		doc := waitRollout(t, svc, id, time.Minute, "succeeded")
		if counts, _ := doc["counts"].(map[string]any); counts["succeeded"] != 2.0 {
			t.Errorf("rollout counts %v, want 2 succeeded", counts)
		}
		for _, tenant := range []string{"acme", "charlie"} {
			if got := releaseOf(t, svc, tenant); got != "2" {
				t.Errorf("%s shows release %q after the rollout, want 2", tenant, got)
			}
		}
		b.navigate(t, "/rollouts")
		if row := b.text(t, "table tbody tr"); !strings.Contains(row, "Rollout "+id) || !strings.Contains(row, "2 updated, 0 failed, 2 in all") {
			t.Errorf("the rollout list's first row: %q, want rollout %s, 2 updated, 0 failed, 2 in all", row, id)
		}
		b.screenshot(t, "rollouts")
	})

	step("the overview and the tenant list show the fleet", func(t *testing.T) {
		b.navigate(t, "/")
		if cards := b.text(t, ".cards"); !strings.Contains(cards, "3 tenants") && !strings.Contains(cards, "2 tenants") {
			t.Errorf("overview summary: %q", cards)
		}
		b.screenshot(t, "overview")
		b.navigate(t, "/tenants")
		list := b.text(t, "table.tenants tbody")
		for _, id := range []string{"acme", "charlie"} {
			if !strings.Contains(list, id) {
				t.Errorf("the tenant list does not show %s: %q", id, list)
			}
		}
		if strings.Contains(list, "bravo") {
			t.Errorf("the tenant list shows the deleted bravo by default: %q", list)
		}
		b.screenshot(t, "tenants")
		b.navigate(t, "/tenants?state=deleted")
		if list := b.text(t, "table.tenants tbody"); !strings.Contains(list, "bravo") {
			t.Errorf("state=deleted does not list bravo: %q", list)
		}
	})

	step("forged and cross-site form posts are refused and change nothing", func(t *testing.T) {
		before := tenantSnapshot(t, svc, "acme")
		b.navigate(t, "/tenants/acme")
		for _, csrf := range []string{"", "forged"} {
			// A form the page did not render: no (or a wrong) security token.
			resp := b.submit(t, "a forged delete", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => {
				const f = document.createElement('form');
				f.method = 'post';
				f.action = '/tenants/acme/delete';
				for (const [k, v] of [['mode', 'force'], ['confirm', 'acme'], ['csrf', %q]]) {
					if (k === 'csrf' && v === '') continue;
					const i = document.createElement('input');
					i.type = 'hidden'; i.name = k; i.value = v;
					f.appendChild(i);
				}
				document.body.appendChild(f);
				f.submit();
			})()`, csrf)))
			if resp.Status != http.StatusForbidden {
				t.Errorf("a delete posted with csrf %q: status %d, want 403", csrf, resp.Status)
			}
			if msg := b.text(t, "main"); !strings.Contains(msg, "security token") {
				t.Errorf("a delete posted with csrf %q: page %q", csrf, msg)
			}
			if csrf == "" {
				b.screenshot(t, "forged-post-refused")
			}
			b.navigate(t, "/tenants/acme")
		}

		// Another site's page that posts the delete form at once: on
		// another origin of this host (same site: the cookie would go with
		// it) and on another site (localhost).
		target := svc.url + "/tenants/acme/delete"
		csrfToken := evalJS[string](t, b, `document.querySelector('input[name=csrf]').value`)
		evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = fmt.Fprintf(w, `<!doctype html><title>win a prize</title>
<form id="f" method="post" action="%s">
<input type="hidden" name="csrf" value="%s"><input type="hidden" name="mode" value="force"><input type="hidden" name="confirm" value="acme">
</form>
<script>window.addEventListener('load', function () { document.getElementById('f').submit(); });</script>`, target, csrfToken)
		}))
		t.Cleanup(evil.Close)
		evilURL, _ := url.Parse(evil.URL)
		for _, origin := range []string{evil.URL, "http://localhost:" + evilURL.Port()} {
			status, final := b.followForm(t, origin+"/", target)
			refused := status == http.StatusForbidden || final.Path == "/sign-in"
			if !refused {
				t.Errorf("a post from %s: status %d, ended at %s; want 403 or the sign-in page", origin, status, final)
			}
			t.Logf("a post from %s: %d at %s: %q", origin, status, final, b.text(t, "body"))
		}

		after := tenantSnapshot(t, svc, "acme")
		if after != before {
			t.Errorf("acme changed: before %s\nafter %s", before, after)
		}
		b.navigate(t, "/tenants/acme")
		if st := b.text(t, "#tenant-state"); st != "ready" {
			t.Errorf("acme's page shows it %q", st)
		}
	})

	step("sign out ends the session", func(t *testing.T) {
		resp := b.submit(t, "sign out", chromedp.Click(chromedp.CSS(`form.signout button[type=submit]`)))
		if resp.Status != http.StatusOK {
			t.Errorf("sign out: status %d", resp.Status)
		}
		b.wantPath(t, "/sign-in", "signed-out=1")
		if c := b.sessionCookie(t); c != nil {
			t.Errorf("the session cookie is still there after sign-out: %+v", c)
		}
		b.navigate(t, "/")
		b.wantPath(t, "/sign-in", "next=%2F")
	})

	step("the pages ran without script errors or policy violations", func(t *testing.T) {
		for _, m := range b.consoleMessages() {
			t.Logf("browser console: %s (%s)", m.String(), m.URL)
			if m.IsException() || strings.Contains(m.Text, "Content Security Policy") || strings.Contains(m.Text, "Refused to") {
				t.Errorf("browser console: %s (%s:%d)", m.String(), m.URL, m.Line)
			}
		}
	})
}

// chromiumPath is the browser the console test drives:
// $TENANTFLEET_CHROMIUM, else chromium (or chromium-browser, google-chrome)
// on PATH.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("TENANTFLEET_CHROMIUM"); p != "" {
		if st, err := os.Stat(p); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			t.Fatalf("TENANTFLEET_CHROMIUM=%s is not an executable file", p)
		}
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("the console's browser test needs Chromium: run scripts/setup-browser.sh (it installs Debian's chromium package), " +
		"or set TENANTFLEET_CHROMIUM to a Chromium or Chrome binary")
	return ""
}

// consoleArtifacts is the directory the console test's screenshots go to:
// $TENANTFLEET_TEST_ARTIFACTS/console, else bin/test-artifacts/console.
func consoleArtifacts(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(repoRoot(t), "bin", "test-artifacts", "console")
	if base := os.Getenv("TENANTFLEET_TEST_ARTIFACTS"); base != "" {
		dir = filepath.Join(base, "console")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// tenantSnapshot is what a refused action must leave as it was: the
// tenant's record and the number of its events.
func tenantSnapshot(t *testing.T, svc *signupService, id string) string {
	t.Helper()
	code, doc := svc.do(t, "GET", "/v1/tenants/"+id, nil)
	if code != http.StatusOK {
		t.Fatalf("GET /v1/tenants/%s: %d %v", id, code, doc)
	}
	return fmt.Sprintf("state %v, updated %v, attempts %v, version %v, %d events",
		doc["state"], doc["updatedAt"], doc["attempts"], doc["templateVersion"], len(svc.events(t, id)))
}

// consoleBrowser is one headless Chromium tab on the console.
type consoleBrowser struct {
	ctx       context.Context
	base      string
	artifacts string
	output    *syncBuffer

	mu       sync.Mutex
	messages []chromedp.ConsoleMessage
}

// newConsoleBrowser starts Chromium with a fresh profile; it is stopped at
// cleanup.
func newConsoleBrowser(t *testing.T, chromium, base, artifacts string) *consoleBrowser {
	t.Helper()
	b := &consoleBrowser{base: base, artifacts: artifacts, output: &syncBuffer{}}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox, // the tests run as root
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
		chromedp.CombinedOutput(b.output),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(t.Context(), opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
		if t.Failed() {
			t.Logf("chromium output:\n%s", b.output.String())
		}
	})
	// The first run starts the browser: with no timeout, which would stop it.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v\n%s", chromium, err, b.output.String())
	}
	b.ctx = ctx
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.messages = append(b.messages, m)
			b.mu.Unlock()
		}
	}()
	return b
}

func (b *consoleBrowser) consoleMessages() []chromedp.ConsoleMessage {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]chromedp.ConsoleMessage(nil), b.messages...)
}

// actionTimeout bounds one browser action (a navigation, a click).
const actionTimeout = time.Minute

// do runs actions on the tab; a failure fails the test.
func (b *consoleBrowser) do(t *testing.T, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("browser: %s: %v", what, err)
	}
}

// evalJS evaluates a JavaScript expression in the page.
func evalJS[T any](t *testing.T, b *consoleBrowser, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("browser: evaluate %s: %v", expr, err)
	}
	return v
}

// navigate opens the console's path and waits for the page to load.
func (b *consoleBrowser) navigate(t *testing.T, path string) *network.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(b.base+path))
	if err != nil {
		t.Fatalf("browser: open %s: %v", path, err)
	}
	return resp
}

// submit runs an action that navigates (a click on a submit button) and
// returns the response of the page it lands on, after redirects.
func (b *consoleBrowser) submit(t *testing.T, what string, action chromedp.Action[chromedp.Void]) *network.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, action)
	if err != nil {
		t.Fatalf("browser: %s: %v", what, err)
	}
	if resp == nil {
		t.Fatalf("browser: %s: no response", what)
	}
	return resp
}

// followForm opens a page that posts a form to target by itself, and
// returns the status of target's answer and where the tab ended up.
func (b *consoleBrowser) followForm(t *testing.T, page, target string) (int64, *url.URL) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	responses := chromedp.Events(ctx, network.ResponseReceived)
	if err := chromedp.Do(ctx, chromedp.Navigate(page)); err != nil {
		t.Fatalf("browser: open %s: %v", page, err)
	}
	var status int64
	for ev, err := range responses {
		if err != nil {
			t.Fatalf("browser: no answer to the post from %s to %s: %v", page, target, err)
		}
		if ev.Type == network.ResourceTypeDocument && ev.Response.URL == target {
			status = ev.Response.Status
			break
		}
	}
	b.waitFor(t, "the answer to the post from "+page+" to load", actionTimeout,
		fmt.Sprintf(`document.readyState === 'complete' && location.href !== %q`, page))
	return status, b.location(t)
}

// location is the tab's URL.
func (b *consoleBrowser) location(t *testing.T) *url.URL {
	t.Helper()
	u, err := url.Parse(evalJS[string](t, b, `location.href`))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// wantPath checks that the tab is on the console's path, with the query.
func (b *consoleBrowser) wantPath(t *testing.T, path, query string) {
	t.Helper()
	u := b.location(t)
	if u.Scheme+"://"+u.Host != b.base || u.Path != path || u.RawQuery != query {
		want := b.base + path
		if query != "" {
			want += "?" + query
		}
		t.Fatalf("the browser is at %s, want %s (page: %q)", u, want, clip(b.text(t, "main"), 300))
	}
}

// wantSignedOut checks that the browser has no session: no cookie, and
// the overview sends to the sign-in page. It leaves the tab there.
func (b *consoleBrowser) wantSignedOut(t *testing.T) {
	t.Helper()
	if c := b.sessionCookie(t); c != nil {
		t.Errorf("the browser holds a session cookie: %+v", c)
	}
	b.navigate(t, "/")
	b.wantPath(t, "/sign-in", "next=%2F")
}

// sessionCookie is the console's session cookie in the browser, or nil.
func (b *consoleBrowser) sessionCookie(t *testing.T) *network.Cookie {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{b.base + "/"}})
	if err != nil {
		t.Fatalf("browser: read cookies: %v", err)
	}
	for _, c := range res.Cookies {
		if c.Name == "tenantfleet_session" {
			return c
		}
	}
	return nil
}

// text is the text of the first element sel matches ("" when none), with
// white space collapsed.
func (b *consoleBrowser) text(t *testing.T, sel string) string {
	t.Helper()
	q, _ := json.Marshal(sel)
	s := evalJS[string](t, b, fmt.Sprintf(`(() => { const e = document.querySelector(%s); return e ? e.textContent : ''; })()`, q))
	return strings.Join(strings.Fields(s), " ")
}

// value is the value of the first form field sel matches.
func (b *consoleBrowser) value(t *testing.T, sel string) string {
	t.Helper()
	q, _ := json.Marshal(sel)
	return evalJS[string](t, b, fmt.Sprintf(`(() => { const e = document.querySelector(%s); return e ? e.value : ''; })()`, q))
}

func (b *consoleBrowser) exists(t *testing.T, sel string) bool {
	t.Helper()
	q, _ := json.Marshal(sel)
	return evalJS[bool](t, b, fmt.Sprintf(`document.querySelector(%s) !== null`, q))
}

// markNoReload marks the document; wantNoReload checks the mark is still
// there: the page changed in place, it was not loaded again.
func (b *consoleBrowser) markNoReload(t *testing.T) {
	t.Helper()
	evalJS[chromedp.Void](t, b, `window.__noReload = true`)
}

func (b *consoleBrowser) wantNoReload(t *testing.T) {
	t.Helper()
	if !evalJS[bool](t, b, `window.__noReload === true`) {
		t.Fatalf("the page was loaded again (now at %s)", b.location(t))
	}
}

// waitFor polls a JavaScript condition in the page until it is true, up to
// within. (The page's Content-Security-Policy forbids the eval that
// chromedp.Poll uses, so the polling is done from here.)
func (b *consoleBrowser) waitFor(t *testing.T, what string, within time.Duration, cond string) {
	t.Helper()
	deadline := time.Now().Add(within)
	var lastErr error
	for {
		ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](cond))
		cancel()
		if err == nil && ok {
			return
		}
		lastErr = err
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s (last error: %v); the page at %s says:\n%s",
				within, what, lastErr, b.location(t), clip(b.text(t, "main"), 2000))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// screenshot saves a full-page PNG screenshot of the tab as name.png in the
// artifact directory.
func (b *consoleBrowser) screenshot(t *testing.T, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	// chromedp takes a PNG at quality 100 and a JPEG below it.
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("browser: screenshot %s: %v", name, err)
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("screenshot %s is not a PNG", name)
	}
	path := filepath.Join(b.artifacts, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot of %s: %s", b.location(t), path)
	b.accessible(t, name)
}

// axeViolation is one rule axe-core found broken, with the elements.
type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target []string `json:"target"`
		HTML   string   `json:"html"`
	} `json:"nodes"`
}

// accessible runs axe-core's WCAG 2.1 A and AA rules (contrast, labels,
// names, structure, keyboard reachability, ARIA) on the page as it is
// now, and fails the test on any violation. axe-core is pinned and
// installed into bin/axe-core by scripts/setup-browser.sh.
func (b *consoleBrowser) accessible(t *testing.T, name string) {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(repoRoot(t), "bin", "axe-core", "axe.min.js"))
	if err != nil {
		t.Fatalf("axe-core is missing (make browser installs it): %v", err)
	}
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	// Evaluated through DevTools, the script is not the page's: the
	// console's CSP (script-src 'self') stays as it is.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](string(src)+";\ntypeof axe === 'object'")); err != nil {
		t.Fatalf("browser: load axe-core in %s: %v", name, err)
	}
	violations, err := chromedp.Run(ctx, chromedp.Evaluate[[]axeViolation](`axe.run(document, {
		runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']},
		resultTypes: ['violations'],
	}).then(r => r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
		nodes: v.nodes.map(n => ({target: n.target.map(String), html: n.html}))}))) `, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("browser: run axe-core in %s: %v", name, err)
	}
	for _, v := range violations {
		for _, n := range v.Nodes {
			t.Errorf("accessibility of %s: %s (%s, %s) at %v: %s", name, v.ID, v.Impact, v.Help, n.Target, clip(n.HTML, 200))
		}
	}
	if len(violations) == 0 {
		t.Logf("accessibility of %s: no WCAG 2.1 A/AA violation (axe-core)", name)
	}
}

// clip shortens s to at most n bytes for a message.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
