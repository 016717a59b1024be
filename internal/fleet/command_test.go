package fleet

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"

	"github.com/tenantfleet/tenantfleet/internal/cli"
)

const fleetDoc = `{"currentVersion":"3f2a9c1b7d4e","updatePolicy":"manual","tenants":8,
 "byState":{"ready":7,"failed":1},"byCloud":{"local":6,"aws":2},"byTier":{"small":8},
 "versions":[{"version":"3f2a9c1b7d4e","current":true,"tenants":6,"source":"examples/signup/template.yaml","build":"v0.16.0","createdAt":"2026-05-01T09:00:00Z"},
             {"version":"aa11bb22cc33","current":false,"tenants":2,"source":"examples/signup/template.yaml","build":"v0.15.0","createdAt":"2026-04-01T09:00:00Z"}],
 "drift":{"in_sync":6,"drifted":2,"error":0,"unchecked":0},
 "monthlyCost":1234.5,"activeRollouts":[3]}`

func TestFleetStatus(t *testing.T) {
	t.Parallel()
	api, srv := newFakeAPI(t, map[string][]reply{"GET /v1/fleet": {ok(fleetDoc)}})
	res := run(t, srv.URL, "status")
	if res.err != nil {
		t.Fatalf("exit %d: %v", res.code(), res.err)
	}
	wantLines(t, "stdout", `Fleet of 8 tenants · current template version 3f2a9c1b7d4e · update policy manual
  by state  ready 7, failed 1
  by cloud  local 6, aws 2
  by tier   small 8

VERSION                 TENANTS  CREATED                  SOURCE
3f2a9c1b7d4e (current)  6        2026-05-01 09:00:00 UTC  examples/signup/template.yaml
aa11bb22cc33            2        2026-04-01 09:00:00 UTC  examples/signup/template.yaml
2 tenants on an older version: `+"`tenantfleet fleet rollout plan --all`"+` shows what updating them changes.

Drift: 6 in sync, 2 drifted, 0 errors, 0 unchecked
Monthly cost: $1,234.50
Active rollouts: 3 (`+"`tenantfleet fleet rollout status 3`"+` shows one)
`, res.stdout)
	if got := api.received("GET /v1/fleet")[0].auth; got != "Bearer "+testToken {
		t.Errorf("Authorization %q", got)
	}
}

// --json prints the service's document as it was sent, indented.
func TestFleetStatusJSON(t *testing.T) {
	t.Parallel()
	_, srv := newFakeAPI(t, map[string][]reply{"GET /v1/fleet": {ok(fleetDoc)}})
	res := run(t, srv.URL, "status", "--json")
	var want bytes.Buffer
	_ = json.Indent(&want, []byte(fleetDoc), "", "  ")
	if res.err != nil || res.stdout != want.String()+"\n" {
		t.Errorf("exit %d, %v; stdout:\n%s\nwant:\n%s", res.code(), res.err, res.stdout, want.String())
	}
}

// drift --wait starts a check, follows it and prints each drifted tenant's
// resources and each tenant it could not check.
func TestDriftWait(t *testing.T) {
	t.Parallel()
	api, srv := newFakeAPI(t, map[string][]reply{
		"POST /v1/drift-checks": {accepted(`{"id":5,"state":"running","tenants":3,"checked":0,"inSync":0,"drifted":0,"errors":0,"startedAt":"2026-05-01T10:00:00Z"}`)},
		"GET /v1/drift-checks/5": {
			ok(`{"id":5,"state":"running","tenants":3,"checked":1,"inSync":1,"drifted":0,"errors":0,"startedAt":"2026-05-01T10:00:00Z",
				"results":[{"tenant":"acme","status":"in_sync"},{"tenant":"globex","status":"pending"},{"tenant":"initech","status":"pending"}]}`),
			ok(`{"id":5,"state":"done","tenants":3,"checked":3,"inSync":1,"drifted":1,"errors":1,"startedAt":"2026-05-01T10:00:00Z",
				"finishedAt":"2026-05-01T10:00:12Z","seconds":12.3,
				"results":[{"tenant":"acme","status":"in_sync"},
				 {"tenant":"globex","status":"drifted","resources":[
				  {"urn":"urn:pulumi:tenant-globex::tenantfleet::tenantfleet-local:index:Database::globex-db","type":"tenantfleet-local:index:Database","name":"globex-db","change":"changed","properties":["port","size"]},
				  {"urn":"urn:pulumi:tenant-globex::tenantfleet::tenantfleet-local:index:Queue::globex-queue","type":"tenantfleet-local:index:Queue","name":"globex-queue","change":"deleted"}]},
				 {"tenant":"initech","status":"error","error":"refresh: the stack is locked"}]}`),
		},
	})
	res := run(t, srv.URL, "drift", "--wait")
	if res.err != nil {
		t.Fatalf("exit %d: %v", res.code(), res.err)
	}
	wantLines(t, "stdout", `Drift check 5: done in 12.3s · 3 of 3 tenants checked: 1 in sync, 1 drifted, 1 error

globex  drifted
  ~ globex-db (tenantfleet-local:index:Database) changed: port, size
  - globex-queue (tenantfleet-local:index:Queue) deleted

initech  error: refresh: the stack is locked
`, res.stdout)
	wantLines(t, "stderr", "drift check 5: 1/3 checked\n", res.stderr)
	// No selector flag: the service's default, every ready tenant.
	wantBody(t, api.received("POST /v1/drift-checks")[0], `{}`)

	res = run(t, srv.URL, "drift", "--cloud", "aws", "--tenant", "acme")
	if res.err != nil {
		t.Fatalf("exit %d: %v", res.code(), res.err)
	}
	wantLines(t, "stdout", "Drift check 5 started for 3 tenants: `tenantfleet fleet drift --list` shows the drifted tenants once it is done.\n", res.stdout)
	wantBody(t, api.received("POST /v1/drift-checks")[1], `{"selector":{"ids":["acme"],"clouds":["aws"]}}`)
}

// drift --list reads every page of the drifted tenants; a tenant in sync
// (a next link that lost the filter) is not listed.
func TestDriftList(t *testing.T) {
	t.Parallel()
	const acme = `{"id":"acme","state":"ready","stack":"tenant-acme","cloud":"local","tier":"small","templateVersion":"3f2a9c1b7d4e","templateCurrent":true,"monthlyCost":0,
		"drift":{"status":"drifted","checkedAt":"2026-05-01T10:00:12Z","resources":[{"urn":"urn:pulumi:tenant-acme::tenantfleet::tenantfleet-local:index:Database::acme-db","type":"tenantfleet-local:index:Database","name":"acme-db","change":"changed","properties":["port"]}]},
		"createdAt":"2026-04-01T10:00:00Z","updatedAt":"2026-05-01T10:00:12Z","links":{"self":"/v1/tenants/acme","events":"/v1/tenants/acme/events"}}`
	const globex = `{"id":"globex","state":"ready","stack":"tenant-globex","cloud":"aws","tier":"large","templateVersion":"aa11bb22cc33","templateCurrent":false,"monthlyCost":183.6,
		"drift":{"status":"drifted","checkedAt":"2026-05-01T10:00:12Z","resources":[{"urn":"urn:x","type":"aws:sqs/queue:Queue","name":"globex-queue","change":"deleted"}]},
		"createdAt":"2026-04-01T10:00:00Z","updatedAt":"2026-05-01T10:00:12Z","links":{"self":"/v1/tenants/globex","events":"/v1/tenants/globex/events"}}`
	const initech = `{"id":"initech","state":"ready","stack":"tenant-initech","cloud":"local","tier":"small","templateVersion":"3f2a9c1b7d4e","templateCurrent":true,"monthlyCost":0,
		"drift":{"status":"in_sync","checkedAt":"2026-05-01T10:00:12Z"},"createdAt":"2026-04-01T10:00:00Z","updatedAt":"2026-05-01T10:00:12Z"}`
	_, srv := newFakeAPI(t, map[string][]reply{
		"GET /v1/tenants?drift=true":                    {ok(`{"tenants":[` + acme + `],"next":"/v1/tenants?after=acme&drift=true&limit=1"}`)},
		"GET /v1/tenants?after=acme&drift=true&limit=1": {ok(`{"tenants":[` + globex + "," + initech + `]}`)},
	})
	res := run(t, srv.URL, "drift", "--list")
	if res.err != nil {
		t.Fatalf("exit %d: %v", res.code(), res.err)
	}
	wantLines(t, "stdout", `acme  drifted · checked 2026-05-01 10:00:12 UTC · local, small · version 3f2a9c1b7d4e
  ~ acme-db (tenantfleet-local:index:Database) changed: port

globex  drifted · checked 2026-05-01 10:00:12 UTC · aws, large · version aa11bb22cc33
  - globex-queue (aws:sqs/queue:Queue) deleted

2 tenants drifted.
`, res.stdout)

	res = run(t, srv.URL, "drift", "--list", "--json")
	var got, want any
	if err := json.Unmarshal([]byte(res.stdout), &got); err != nil {
		t.Fatalf("--json: %v\n%s", err, res.stdout)
	}
	_ = json.Unmarshal([]byte(`{"tenants":[`+acme+","+globex+`]}`), &want)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("--json (-want +got):\n%s", d)
	}

	_, empty := newFakeAPI(t, map[string][]reply{"GET /v1/tenants?drift=true": {ok(`{"tenants":[]}`)}})
	res = run(t, empty.URL, "drift", "--list", "--json")
	wantLines(t, "--json of no tenant", "{\n  \"tenants\": []\n}\n", res.stdout)
}

// The service's problem documents are the error, with the field; a 4xx is
// a usage error, anything else a failure.
func TestProblems(t *testing.T) {
	t.Parallel()
	_, srv := newFakeAPI(t, map[string][]reply{
		"POST /v1/rollouts": {problemReply(http.StatusBadRequest, "waves[1]", `the last wave must reach every selected tenant: make it "100%" (it is 50%)`)},
		"GET /v1/fleet":     {problemReply(http.StatusInternalServerError, "", "the service failed to handle the request; its log has the details under request id r-1")},
		"GET /v1/rollouts":  {{http.StatusBadGateway, "<html>bad gateway</html>"}},
	})
	cases := []struct {
		reason string
		args   []string
		code   int
		want   string
	}{
		{"a refused request", []string{"rollout", "start", "--all", "--waves", "1,50%"}, cli.ExitUsage,
			`the last wave must reach every selected tenant: make it "100%" (it is 50%) (field waves[1])`},
		{"the service's failure", []string{"status"}, cli.ExitFailed,
			"the service failed to handle the request; its log has the details under request id r-1"},
		{"a proxy's page (a problem+json body that is not one)", []string{"rollout", "status"}, cli.ExitFailed,
			"GET /v1/rollouts: 502 Bad Gateway: <html>bad gateway</html>"},
		{"a route the service does not have (an older tenantfleet)", []string{"drift"}, cli.ExitUsage,
			"there is no such route; the API is described at /openapi.yaml"},
	}
	for _, c := range cases {
		res := run(t, srv.URL, c.args...)
		if res.code() != c.code || res.err == nil || res.err.Error() != c.want {
			t.Errorf("%s: fleet %v: exit %d, %v; want %d, %s", c.reason, c.args, res.code(), res.err, c.code, c.want)
		}
	}
}

// The token comes from $TENANTFLEET_API_TOKEN only and is never shown; the
// URL from --url, else $TENANTFLEET_URL.
func TestTokenAndURL(t *testing.T) {
	t.Parallel()
	_, srv := newFakeAPI(t, map[string][]reply{"GET /v1/fleet": {ok(fleetDoc)}})

	res := runEnv(t, map[string]string{EnvURL: srv.URL}, "status")
	if res.code() != cli.ExitUsage || !strings.Contains(res.err.Error(), "$TENANTFLEET_API_TOKEN is not set") {
		t.Errorf("no token: exit %d, %v", res.code(), res.err)
	}

	const wrong = "wrong-token-that-must-not-show"
	res = runEnv(t, map[string]string{EnvURL: srv.URL, EnvAPIToken: wrong}, "status")
	if res.code() != cli.ExitUsage || res.err.Error() != "the bearer token is not one of the service's API tokens (field Authorization)" {
		t.Errorf("a wrong token: exit %d, %v", res.code(), res.err)
	}
	if strings.Contains(res.stdout+res.stderr+res.err.Error(), wrong) {
		t.Errorf("the token shows in the output")
	}

	// serve's variable may list several tokens: the first is used.
	res = runEnv(t, map[string]string{EnvURL: srv.URL, EnvAPIToken: " " + testToken + ",another-token-0123456789"}, "status")
	if res.err != nil {
		t.Errorf("a token list: exit %d, %v", res.code(), res.err)
	}

	// --url wins over $TENANTFLEET_URL; nothing listens there.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	_ = ln.Close()
	res = run(t, srv.URL, "status", "--url", closed)
	want := "no tenantfleet service at " + closed + " (connection refused): start it with `tenantfleet serve`, or point --url or $TENANTFLEET_URL at it"
	if res.code() != cli.ExitFailed || res.err.Error() != want {
		t.Errorf("connection refused: exit %d, %v; want %d, %s", res.code(), res.err, cli.ExitFailed, want)
	}

	res = run(t, srv.URL, "status", "--url", "127.0.0.1:8080")
	if res.code() != cli.ExitUsage || !strings.Contains(res.err.Error(), `--url: "127.0.0.1:8080" is not an http:// or https:// URL`) {
		t.Errorf("a URL without a scheme: exit %d, %v", res.code(), res.err)
	}
}

func TestParseWaveSize(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in, json, err string
	}{
		{"1", `1`, ""},
		{" 25 ", `25`, ""},
		{"10%", `"10%"`, ""},
		{"12.5%", `"12.5%"`, ""},
		{"100%", `"100%"`, ""},
		{"0", "", "neither a count"},
		{"-1", "", "neither a count"},
		{"0%", "", "not a percentage"},
		{"101%", "", "not a percentage"},
		{"1e1%", "", "not a percentage"},
		{"half", "", "neither a count"},
	}
	for _, c := range cases {
		w, err := ParseWaveSize(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: error %v, want %q", c.in, err, c.err)
			}
			continue
		}
		b, merr := json.Marshal(w)
		if err != nil || merr != nil || string(b) != c.json {
			t.Errorf("%q: %s, %v, %v; want %s", c.in, b, err, merr, c.json)
			continue
		}
		var back WaveSize
		if err := json.Unmarshal(b, &back); err != nil || back != w {
			t.Errorf("%q: read back %q, %v", c.in, back, err)
		}
	}
}

// Every command has a real description and examples in its --help.
func TestHelp(t *testing.T) {
	t.Parallel()
	var walk func(cmd *cobra.Command)
	walk = func(cmd *cobra.Command) {
		if len(cmd.Long) < 80 || cmd.Example == "" {
			t.Errorf("%s: --help needs a description (Long, %d characters) and examples", cmd.CommandPath(), len(cmd.Long))
		}
		for _, sub := range cmd.Commands() {
			walk(sub)
		}
	}
	walk(Command(nil))

	res := runEnv(t, nil, "rollout", "start", "--help")
	for _, want := range []string{"--all", "--tenant", "--state", "--cloud", "--tier", "--version", "--waves", "--max-parallel", "--pause",
		"--health-timeout", "--max-failures", "--detach", "--url", "--json", "Examples:"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("rollout start --help lacks %q:\n%s", want, res.stdout)
		}
	}
}
