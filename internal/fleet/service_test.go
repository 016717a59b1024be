package fleet

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tenantfleet/tenantfleet/internal/cli"
	"github.com/tenantfleet/tenantfleet/internal/signup"
	"github.com/tenantfleet/tenantfleet/providers/local/localtest"
)

// The commands against the real service's API (package signup), in its
// insert-only mode: requests are recorded and answered, no engine runs, so
// a rollout stays where an operator puts it. This checks the client reads
// the documents the service writes, not only those of the fake.
//
//nolint:paralleltest // localtest.Images sets the process's environment (t.Setenv).
func TestAgainstTheService(t *testing.T) {
	// The built-in template's image: a signup is checked against it.
	localtest.Images(t, "tenant-app/dev/entrypoint")
	svc, err := signup.Open(t.Context(), signup.Config{
		DataDir:   t.TempDir(),
		Workers:   -1,
		APITokens: []string{testToken},
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	srv := httptest.NewServer(svc.Handler())
	t.Cleanup(func() {
		srv.Close()
		svc.Close()
	})
	must := func(t *testing.T, res result, want ...string) {
		t.Helper()
		if res.err != nil {
			t.Fatalf("exit %d: %v\n%s", res.code(), res.err, res.stdout)
		}
		for _, w := range want {
			if !strings.Contains(res.stdout, w) {
				t.Errorf("stdout lacks %q:\n%s", w, res.stdout)
			}
		}
	}
	fails := func(t *testing.T, res result, code int, want string) {
		t.Helper()
		if res.code() != code || res.err == nil || res.err.Error() != want {
			t.Errorf("exit %d, %v; want %d, %s", res.code(), res.err, code, want)
		}
	}

	t.Run("an empty fleet", func(t *testing.T) {
		must(t, run(t, srv.URL, "status"), "Fleet of 0 tenants · current template version ", "Active rollouts: none\n")
		must(t, run(t, srv.URL, "rollout", "status"), "No rollouts yet")
		must(t, run(t, srv.URL, "drift", "--list"), "No tenant has drifted")
	})
	t.Run("signups", func(t *testing.T) {
		for _, id := range []string{"acme", "globex"} {
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+"/v1/tenants", strings.NewReader(`{"id":"`+id+`","tier":"small"}`))
			req.Header.Set("Authorization", "Bearer "+testToken)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted {
				t.Fatalf("sign up %s: %s", id, resp.Status)
			}
		}
		must(t, run(t, srv.URL, "status"), "Fleet of 2 tenants", "  by tier   small 2\n")
	})
	t.Run("start a rollout", func(t *testing.T) {
		must(t, run(t, srv.URL, "rollout", "start", "--tier", "small", "--waves", "1,100%", "--detach"),
			"Rollout 1 started (planning): `tenantfleet fleet rollout status 1 --watch` follows it.\n")
		must(t, run(t, srv.URL, "rollout", "status", "1"), "Rollout 1: planning · version ", " · tier small\n",
			"  waves    1 pending (1 tenant) · 2 pending (1 tenant)\n", "  tenants  2 pending\n",
			"  plan     0 of 2 tenants planned · no changes · monthly $0.00 → $0.00 ($0.00)\n", "acme    1     pending  -     -        ")
		must(t, run(t, srv.URL, "rollout", "status"), "1   planning")
		must(t, run(t, srv.URL, "status"), "Active rollouts: 1 (")
	})
	t.Run("the service refuses", func(t *testing.T) {
		res := run(t, srv.URL, "rollout", "pause", "1")
		if res.code() != cli.ExitUsage || !strings.Contains(res.err.Error(), "(field state)") {
			t.Errorf("pause a rollout still planning: exit %d, %v; want %d naming the field state", res.code(), res.err, cli.ExitUsage)
		}
		res = run(t, srv.URL, "rollout", "plan", "--all")
		if res.code() != cli.ExitUsage || !strings.Contains(res.err.Error(), "(field selector)") {
			t.Errorf("plan tenants another rollout holds: exit %d, %v; want %d naming the field selector", res.code(), res.err, cli.ExitUsage)
		}
		fails(t, run(t, srv.URL, "rollout", "status", "9"), cli.ExitUsage, "rollout 9 does not exist (field id)")
		fails(t, run(t, srv.URL, "rollout", "plan", "--tier", "huge"), cli.ExitUsage,
			"not a tier; valid tiers are small, medium, large (field selector.tiers[0])")
	})
	t.Run("cancel", func(t *testing.T) {
		must(t, run(t, srv.URL, "rollout", "cancel", "1"), "Rollout 1: cancelled · version ")
		res := run(t, srv.URL, "rollout", "status", "1", "--watch")
		fails(t, res, cli.ExitFailed, "rollout 1 cancelled: cancelled by an operator")
		if !strings.Contains(res.stdout, "acme    1     skipped") {
			t.Errorf("status --watch does not show the skipped tenants:\n%s", res.stdout)
		}
	})
	t.Run("drift", func(t *testing.T) {
		// No tenant is ready (nothing provisions them here): none to check.
		fails(t, run(t, srv.URL, "drift"), cli.ExitUsage, "no ready tenant to check: drift checks refresh ready tenants only (field selector)")
	})
}
