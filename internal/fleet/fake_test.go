package fleet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenantfleet/tenantfleet/internal/cli"
)

// testToken is the operators' token the fake service takes.
const testToken = "test-token-0123456789abcdef"

// reply is one scripted answer of the fake service.
type reply struct {
	status int
	body   string
}

func ok(body string) reply       { return reply{http.StatusOK, body} }
func accepted(body string) reply { return reply{http.StatusAccepted, body} }

// problemReply is an RFC 9457 answer shaped as internal/signup/problems.go
// writes one.
func problemReply(status int, field, detail string) reply {
	f := ""
	if field != "" {
		f = fmt.Sprintf(`,"field":%q`, field)
	}
	return reply{status, fmt.Sprintf(`{"type":"about:blank","title":%q,"status":%d,"detail":%q%s,"requestId":"r-1"}`,
		http.StatusText(status), status, detail, f)}
}

// request is what the fake service received.
type request struct {
	method, target, auth, contentType, body string
}

// fakeAPI is the service's fleet API as notes/api16.md specifies it, with
// scripted answers: each "METHOD /path?query" answers its replies in turn,
// then repeats the last. A rollout's progression is a list of readings, one
// per GET, so a test does not depend on timing.
type fakeAPI struct {
	mu       sync.Mutex
	replies  map[string][]reply
	served   map[string]int
	requests []request
	// after is called with the number of requests served so far, before
	// the answer to the last one is sent.
	after func(n int)
}

// onRequest sets f.after.
func (f *fakeAPI) onRequest(after func(n int)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.after = after
}

func newFakeAPI(t *testing.T, replies map[string][]reply) (*fakeAPI, *httptest.Server) {
	t.Helper()
	f := &fakeAPI{replies: replies, served: map[string]int{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	key := r.Method + " " + r.URL.RequestURI()
	f.mu.Lock()
	f.requests = append(f.requests, request{r.Method, r.URL.RequestURI(), r.Header.Get("Authorization"), r.Header.Get("Content-Type"), string(body)})
	var rep reply
	switch rs, found := f.replies[key]; {
	case r.Header.Get("Authorization") != "Bearer "+testToken:
		rep = problemReply(http.StatusUnauthorized, "Authorization", "the bearer token is not one of the service's API tokens")
	case !found:
		rep = problemReply(http.StatusNotFound, "", "there is no such route; the API is described at /openapi.yaml")
	default:
		rep = rs[min(f.served[key], len(rs)-1)]
		f.served[key]++
	}
	after, n := f.after, len(f.requests)
	f.mu.Unlock()
	if after != nil {
		after(n)
	}
	w.Header().Set("Content-Type", "application/json")
	if rep.status >= 400 {
		w.Header().Set("Content-Type", "application/problem+json")
	}
	w.WriteHeader(rep.status)
	_, _ = io.WriteString(w, rep.body+"\n") // as json.Encoder ends a document
}

// received returns the requests whose method and target start with prefix
// ("POST /v1/rollouts").
func (f *fakeAPI) received(prefix string) []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []request
	for _, r := range f.requests {
		if strings.HasPrefix(r.method+" "+r.target, prefix) {
			out = append(out, r)
		}
	}
	return out
}

// result is one run of a fleet command.
type result struct {
	stdout, stderr string
	err            error
}

// code is the exit code the run maps to (cli.Main's mapping: an
// *cli.ExitError's code, anything else a usage error).
func (r result) code() int {
	if r.err == nil {
		return cli.ExitOK
	}
	var e *cli.ExitError
	if errors.As(r.err, &e) {
		return e.Code
	}
	return cli.ExitUsage
}

// run runs `tenantfleet fleet args...` against the service at url with the
// test token, polling every millisecond.
func run(t *testing.T, url string, args ...string) result {
	t.Helper()
	return runEnv(t, map[string]string{EnvURL: url, EnvAPIToken: testToken}, args...)
}

func runEnv(t *testing.T, vars map[string]string, args ...string) result {
	t.Helper()
	return runCtx(t.Context(), t, vars, args...)
}

func runCtx(ctx context.Context, t *testing.T, vars map[string]string, args ...string) result {
	t.Helper()
	cmd := newCommand(env{getenv: func(k string) string { return vars[k] }, poll: time.Millisecond})
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	var stdout, stderr bytes.Buffer
	cmd.SetOut(&stdout)
	cmd.SetErr(&stderr)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(ctx)
	return result{stdout.String(), stderr.String(), err}
}

// The documents below are written out as notes/api16.md gives them, not
// produced from this package's types, so that a field the client misreads
// shows.

const (
	version    = "3f2a9c1b7d4e"
	oldVersion = "aa11bb22cc33"
)

// tenantRow is one tenant of a rollout document; extra is more JSON
// fields ("changes", "error", ...), without braces.
type tenantRow struct {
	name   string
	wave   int
	status string
	extra  string
}

// rolloutDoc is a rollout document: id, state, the current wave, the waves'
// states (their sizes are counted from the tenants), the tenants, the plan
// totals (JSON) and more top-level fields (JSON, without braces).
func rolloutDoc(id int, spec, state string, wave int, waveStates []string, tenants []tenantRow, plan, extra string) string {
	counts := map[string]int{}
	perWave := map[int]int{}
	rows := make([]string, len(tenants))
	for i, t := range tenants {
		counts[t.status]++
		perWave[t.wave]++
		x := ""
		if t.extra != "" {
			x = "," + t.extra
		}
		rows[i] = fmt.Sprintf(`{"tenant":%q,"wave":%d,"status":%q,"fromVersion":%q,"planned":%t,"monthlyBefore":10,"monthlyAfter":12,"monthlyDelta":2,"updatedAt":"2026-05-01T10:00:00Z"%s}`,
			t.name, t.wave, t.status, oldVersion, t.status != "pending" && t.status != "failed", x)
	}
	waves := make([]string, len(waveStates))
	for i, s := range waveStates {
		waves[i] = fmt.Sprintf(`{"wave":%d,"tenants":%d,"state":%q}`, i+1, perWave[i+1], s)
	}
	var cs []string
	for _, s := range []string{"pending", "planned", "updating", "verifying", "succeeded", "failed", "skipped"} {
		cs = append(cs, fmt.Sprintf("%q:%d", s, counts[s]))
	}
	if extra != "" {
		extra = "," + extra
	}
	return fmt.Sprintf(`{"id":%d,"state":%q,"version":%q,"spec":%s,"wave":%d,"waves":[%s],"counts":{%s},"plan":%s,"failures":%d,`+
		`"createdAt":"2026-05-01T09:59:00Z","updatedAt":"2026-05-01T10:00:00Z","tenants":[%s],"links":{"self":"/v1/rollouts/%d","events":"/v1/rollouts/%d/events"}%s}`,
		id, state, version, spec, wave, strings.Join(waves, ","), strings.Join(cs, ","), plan, counts["failed"], strings.Join(rows, ","), id, id, extra)
}

// specDoc is a rollout's spec with the service's defaults filled in.
func specDoc(dryRun bool, waves string) string {
	return fmt.Sprintf(`{"selector":{"all":true},"version":%q,"waves":%s,"maxParallel":4,"pauseBetweenWaves":"30s","healthTimeout":"2m0s","maxFailures":0,"dryRun":%t}`,
		version, waves, dryRun)
}

// planDoc is a plan's totals.
func planDoc(tenants, planned, errs, update, replace, same, dbReplacements int) string {
	return fmt.Sprintf(`{"tenants":%d,"planned":%d,"errors":%d,"create":0,"update":%d,"replace":%d,"delete":0,"same":%d,`+
		`"databaseReplacements":%d,"monthlyBefore":%d,"monthlyAfter":%d,"monthlyDelta":%d}`,
		tenants, planned, errs, update, replace, same, dbReplacements, 10*planned, 12*planned, 2*planned)
}

const changes = `"changes":{"create":0,"update":1,"replace":0,"delete":0,"same":15}`
