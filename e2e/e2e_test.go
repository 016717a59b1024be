package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tenantfleet/tenantfleet/internal/localcloud"
)

const e2eStack = `config:
  tenantfleet:cloud: local
  tenantfleet:tenants:
    - id: acme
      web: {image: "tenant-app:dev"}
      queue: {maxReceiveCount: 3}
      worker: {image: "tenant-app:dev"}
    - id: globex
      web: {image: "tenant-app:dev"}
      worker: {image: "tenant-app:dev"}
  tenantfleet:fanout:
    name: account-events
    subscribers:
      - {name: acme, tenant: acme}
      - {name: globex, tenant: globex}
      - {name: audit}
`

// event is one row of a tenant app's /api/events.
type event struct {
	Body string `json:"body"`
}

func tenantEvents(webURL string) ([]event, error) {
	code, body, err := getStatus(webURL + "/api/events")
	if err != nil {
		return nil, err
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("GET /api/events: %d %s", code, body)
	}
	var events []event
	if err := json.Unmarshal([]byte(body), &events); err != nil {
		return nil, fmt.Errorf("GET /api/events: %w: %s", err, body)
	}
	return events, nil
}

func countBody(events []event, body string) int {
	n := 0
	for _, e := range events {
		if e.Body == body {
			n++
		}
	}
	return n
}

// TestLocalCloudEndToEnd drives the dev-shaped stack through its whole life
// on the local cloud with the real engine.
//
//nolint:paralleltest // end-to-end: runs the real engine, PostgreSQL and NATS; serial so the 2-core CI keeps its timing margins.
func TestLocalCloudEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: runs the real engine, PostgreSQL and NATS (drop -short to run it)")
	}
	ctx := t.Context()
	f := newFleet(t, map[string]string{"e2e": e2eStack})
	// What the phases learn and later ones use.
	var (
		out, healed  stackOutputs
		acme, globex tenantOutputs
		audit        string
		rt           = f.runtime()
		status       localcloud.Status
	)

	if !t.Run("up", func(t *testing.T) {
		f := f.on(t)
		f.must(0, "up", "--stack", "e2e")
		out = f.outputs("e2e")
		if len(out.Tenants) != 2 {
			t.Fatalf("want 2 tenants in the outputs, got %+v", out.Tenants)
		}
	}) {
		return
	}

	// Each web app answers 200.
	if !t.Run("web apps answer", func(t *testing.T) {
		for id, tenant := range out.Tenants {
			eventually(t, 60*time.Second, id+" web app /healthz", func() error {
				code, body, err := getStatus(tenant.WebURL + "/healthz")
				if err == nil && code != http.StatusOK {
					err = fmt.Errorf("status %d: %s", code, body)
				}
				return err
			})
			code, page, err := getStatus(tenant.WebURL + "/")
			if err != nil || code != http.StatusOK || !strings.Contains(page, id) {
				t.Fatalf("%s: GET / = %d, %v; the page must show the tenant id", id, code, err)
			}
		}
	}) {
		return
	}

	// Each tenant database accepts its own credentials and refuses another tenant's.
	if !t.Run("databases isolate tenants", func(t *testing.T) {
		acme, globex = out.Tenants["acme"], out.Tenants["globex"]
		for _, tenant := range []tenantOutputs{acme, globex} {
			conn, err := connectDB(ctx, tenant.DatabaseEndpoint, tenant.DatabaseName, tenant.DatabaseUser, tenant.DatabaseCredentials)
			if err != nil {
				t.Fatalf("%s cannot open its own database: %v", tenant.DatabaseUser, err)
			}
			_ = conn.Close(ctx) // only opening it was the question
		}
		if conn, err := connectDB(ctx, globex.DatabaseEndpoint, globex.DatabaseName, acme.DatabaseUser, acme.DatabaseCredentials); err == nil {
			_ = conn.Close(ctx) // the test fails on the open already
			t.Fatal("acme's role opened globex's database")
		}
	}) {
		return
	}

	// No password in the Pulumi state (only its ciphertext), nor in any log
	// of the runtime, PostgreSQL or the tenants' processes.
	if !t.Run("no password in state or logs", func(t *testing.T) {
		f := f.on(t)
		state := f.exportState(t, "e2e")
		logs, _ := filepath.Glob(filepath.Join(f.dataDir, "logs", "*.log"))
		logs = append(logs, filepath.Join(f.dataDir, "runtime.log"), filepath.Join(f.dataDir, "postgres.log"))
		pgLogs, _ := filepath.Glob(filepath.Join(f.dataDir, "postgres*", "*.log"))
		logs = append(logs, pgLogs...)
		for id, tenant := range out.Tenants {
			if len(tenant.DatabaseCredentials) < 16 {
				t.Fatalf("%s: the database password output is %d characters", id, len(tenant.DatabaseCredentials))
			}
			if strings.Contains(string(state), tenant.DatabaseCredentials) {
				t.Errorf("%s's database password is in the Pulumi state in plaintext", id)
			}
			for _, path := range logs {
				if b, err := os.ReadFile(path); err == nil && strings.Contains(string(b), tenant.DatabaseCredentials) {
					t.Errorf("%s's database password is in %s", id, path)
				}
			}
		}
	}) {
		return
	}

	// One message published to the topic arrives exactly once in every subscriber queue.
	if !t.Run("fanout delivers once", func(t *testing.T) {
		f := f.on(t)
		body := fmt.Sprintf("account.created %d", time.Now().UnixNano())
		f.must(0, "publish", "--stack", "e2e", "--data", body, "--attr", "event_type=account.created")
		for _, id := range []string{"acme", "globex"} {
			web := out.Tenants[id].WebURL
			eventually(t, 60*time.Second, id+" receives the event", func() error {
				events, err := tenantEvents(web)
				if err == nil && countBody(events, body) == 0 {
					err = errors.New("not yet")
				}
				return err
			})
		}
		audit = out.Fanout.QueueURLs["audit"]
		eventually(t, 30*time.Second, "the audit queue holds the event", func() error {
			n, err := streamMessages(ctx, audit)
			if err == nil && n != 1 {
				err = fmt.Errorf("%d messages", n)
			}
			return err
		})
		time.Sleep(2 * time.Second) // a duplicate would have arrived by now
		for _, id := range []string{"acme", "globex"} {
			events, err := tenantEvents(out.Tenants[id].WebURL)
			if err != nil {
				t.Fatal(err)
			}
			if n := countBody(events, body); n != 1 {
				t.Errorf("%s stored the event %d times, want exactly once", id, n)
			}
		}
		if n, err := streamMessages(ctx, audit); err != nil || n != 1 {
			t.Errorf("audit queue holds %d messages (%v), want exactly 1", n, err)
		}
	}) {
		return
	}

	// A message that keeps failing ends in the dead-letter queue after max deliveries.
	if !t.Run("dead letter", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, acme.WebURL+"/api/enqueue?fail=always", strings.NewReader("poison"))
		resp, err := httpClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusAccepted {
			t.Fatalf("enqueue a failing message: %v %v", resp, err)
		}
		_ = resp.Body.Close() // only the status was wanted
		eventually(t, 90*time.Second, "the failing message is dead-lettered", func() error {
			n, err := streamMessages(ctx, acme.DeadLetterQueueURL)
			if err == nil && n != 1 {
				err = fmt.Errorf("%d messages in the dead-letter queue", n)
			}
			return err
		})
		if n, _ := streamMessages(ctx, acme.QueueURL); n != 0 {
			t.Errorf("the work queue still holds %d messages after dead-lettering", n)
		}
	}) {
		return
	}

	// Refresh shows no changes.
	if !t.Run("refresh is clean", func(t *testing.T) {
		f := f.on(t)
		f.must(0, "refresh", "--stack", "e2e", "--expect-no-changes")
	}) {
		return
	}

	// A killed process is restarted by the local cloud's supervisor.
	if !t.Run("supervisor restarts", func(t *testing.T) {
		var err error
		status, err = rt.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var acmeWeb localcloud.Process
		for _, p := range status.Processes {
			if p.URL == acme.WebURL {
				acmeWeb = p
			}
		}
		if acmeWeb.PID == 0 {
			t.Fatalf("no running process serves %s: %+v", acme.WebURL, status.Processes)
		}
		if err := syscall.Kill(acmeWeb.PID, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		eventually(t, 60*time.Second, "the supervisor restarts the killed web process", func() error {
			p, err := rt.GetProcess(ctx, acmeWeb.Name)
			if err == nil && (!p.Running || p.Restarts < 1 || p.PID == acmeWeb.PID) {
				err = fmt.Errorf("%+v", p)
			}
			if err == nil {
				_, _, err = getStatus(acme.WebURL + "/healthz")
			}
			return err
		})
	}) {
		return
	}

	// Drift behind the engine's back: a web process removed and a database
	// dropped. Refresh reports it; up heals it.
	if !t.Run("drift is healed", func(t *testing.T) {
		f := f.on(t)
		var globexWeb string
		for _, p := range status.Processes {
			if p.URL == globex.WebURL {
				globexWeb = p.Name
			}
		}
		if err := rt.DeleteProcess(ctx, globexWeb); err != nil {
			t.Fatal(err)
		}
		if err := rt.DeleteDatabase(ctx, acme.DatabaseName); err != nil {
			t.Fatal(err)
		}
		_, stderr, code := f.run("refresh", "--stack", "e2e", "--expect-no-changes")
		if code != 3 {
			t.Fatalf("refresh after drift: exit %d, want 3 (changes found)\n%s", code, stderr)
		}
		f.must(0, "up", "--stack", "e2e")
		healed = f.outputs("e2e")
		eventually(t, 60*time.Second, "globex's web app is back", func() error {
			code, _, err := getStatus(healed.Tenants["globex"].WebURL + "/healthz")
			if err == nil && code != http.StatusOK {
				err = fmt.Errorf("status %d", code)
			}
			return err
		})
		h := healed.Tenants["acme"]
		conn, err := connectDB(ctx, h.DatabaseEndpoint, h.DatabaseName, h.DatabaseUser, h.DatabaseCredentials)
		if err != nil {
			t.Fatalf("acme's database is not back after up: %v", err)
		}
		_ = conn.Close(ctx) // only opening it was the question
		f.must(0, "preview", "--stack", "e2e", "--expect-no-changes")
	}) {
		return
	}

	// Destroy leaves no process, database, stream or log file; a second destroy is a no-op.
	if !t.Run("destroy leaves nothing", func(t *testing.T) {
		f := f.on(t)
		f.must(0, "destroy", "--stack", "e2e")
		status, err := rt.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(status.Processes) != 0 {
			t.Errorf("processes left after destroy: %+v", status.Processes)
		}
		for _, tenant := range healed.Tenants {
			if _, err := rt.GetDatabase(ctx, tenant.DatabaseName); !errors.Is(err, localcloud.ErrNotFound) {
				t.Errorf("database %s left after destroy (%v)", tenant.DatabaseName, err)
			}
		}
		if n, err := streamCount(ctx, audit); err != nil || n != 0 {
			t.Errorf("%d streams left after destroy (%v)", n, err)
		}
		if logs, _ := os.ReadDir(f.dataDir + "/logs"); len(logs) != 0 {
			t.Errorf("%d process log files left after destroy", len(logs))
		}
		f.must(0, "destroy", "--stack", "e2e")
	}) {
		return
	}
}
