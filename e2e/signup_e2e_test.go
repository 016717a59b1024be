package e2e

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tenantfleet/tenantfleet/internal/localcloud"
	"github.com/tenantfleet/tenantfleet/providers/naming"
)

// TestSignupService drives `tenantfleet serve` on the local cloud with the
// real engine: a signup becomes a live tenant, 20 concurrent signups with
// duplicates become exactly the distinct tenants, a service killed mid-update
// (engine included) resumes and clears only its own stale lock, a graceful
// stop interrupts nothing, DELETE leaves nothing, and no generated password
// reaches a response, an event or a log.
//
//nolint:paralleltest // end-to-end: runs the real engine, PostgreSQL and NATS; serial so the 2-core CI keeps its timing margins.
func TestSignupService(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: runs the real engine, PostgreSQL and NATS (drop -short to run it)")
	}
	f := newFleet(t, nil)
	f.must(0, "local", "start")
	svc := newSignupService(t, f, "--concurrency", "4", "--drain-timeout", "2s")
	svc.start(t)

	// A signed webhook signs acme up; the tenant's web app then answers.
	body := []byte(`{"id":"acme","tier":"small"}`)
	code, doc := svc.webhook(t, "POST", "/v1/tenants", body)
	if code != http.StatusAccepted {
		t.Fatalf("webhook signup: %d %v", code, doc)
	}
	ready := svc.waitState(t, "acme", "ready", 5*time.Minute)
	outputs, _ := ready["outputs"].(map[string]any)
	webURL, _ := outputs["webUrl"].(string)
	if webURL == "" {
		t.Fatalf("ready tenant without webUrl: %v", ready)
	}
	// Ready means the update started the app's process, not that it
	// listens yet: wait for it to answer, then check what it serves.
	eventually(t, 2*time.Minute, "acme's web app to answer", func() error {
		_, _, err := getStatus(webURL + "/healthz")
		return err
	})
	codeGet, page, err := getStatus(webURL + "/")
	if err != nil || codeGet != http.StatusOK || !strings.Contains(page, "acme") {
		t.Fatalf("acme's web app: GET / = %d %v", codeGet, err)
	}
	if outputs["databaseCredentials"] != "[secret]" {
		t.Errorf("databaseCredentials in the API = %v, want [secret]", outputs["databaseCredentials"])
	}
	// The event stream replays the whole provisioning and ends once settled.
	evs := svc.events(t, "acme")
	var created, states []string
	for _, e := range evs {
		var data map[string]any
		raw, _ := json.Marshal(e["data"])
		_ = json.Unmarshal(raw, &data)
		switch e["type"] {
		case "resource":
			if data["op"] == "create" && data["status"] == "done" {
				created = append(created, fmt.Sprint(data["type"]))
			}
		case "state":
			states = append(states, fmt.Sprint(data["state"]))
		}
	}
	if len(created) < 4 || !slices.Contains(states, "queued") || states[len(states)-1] != "ready" {
		t.Errorf("events: created %v, states %v", created, states)
	}
	// The same signup again is answered with the record, no second stack.
	if code, doc := svc.do(t, "POST", "/v1/tenants", map[string]any{"id": "acme", "tier": "small"}); code != http.StatusOK || doc["state"] != "ready" {
		t.Errorf("repeated signup: %d %v, want 200 ready", code, doc)
	}

	t.Run("20 concurrent signups with duplicates", func(t *testing.T) {
		start := time.Now()
		var wg sync.WaitGroup
		codes := make(chan int, 20)
		for i := 0; i < 20; i++ {
			id := fmt.Sprintf("c%02d", i%15) // c00..c04 are sent twice
			wg.Add(1)
			go func() {
				defer wg.Done()
				code, _ := svc.do(t, "POST", "/v1/tenants", map[string]any{"id": id})
				codes <- code
			}()
		}
		wg.Wait()
		close(codes)
		accepted := 0
		for c := range codes {
			switch c {
			case http.StatusAccepted:
				accepted++
			case http.StatusOK:
			default:
				t.Errorf("signup answered %d", c)
			}
		}
		if accepted != 15 {
			t.Errorf("%d signups started an operation, want 15 (one per distinct id)", accepted)
		}
		for i := 0; i < 15; i++ {
			svc.waitState(t, fmt.Sprintf("c%02d", i), "ready", 10*time.Minute)
		}
		t.Logf("15 distinct tenants ready %s after 20 concurrent signups", time.Since(start).Round(time.Second))
		stacks := f.stacksInBackend(t)
		for i := 0; i < 15; i++ {
			if !slices.Contains(stacks, fmt.Sprintf("tenant-c%02d", i)) {
				t.Errorf("no stack tenant-c%02d in the backend: %v", i, stacks)
			}
		}
		if len(stacks) != 16 {
			t.Errorf("the backend holds %d stacks, want 16 (acme and c00..c14): %v", len(stacks), stacks)
		}
		code, doc := svc.do(t, "GET", "/v1/tenants?state=failed", nil)
		if code != http.StatusOK || len(doc["tenants"].([]any)) != 0 {
			t.Errorf("failed tenants: %d %v", code, doc)
		}
	})

	t.Run("killed mid-update, engine included, then restarted", func(t *testing.T) {
		// The runtime is held, so the update stays in flight until the
		// kill, however fast the machine.
		release := f.holdRuntime(t)
		if code, doc := svc.do(t, "POST", "/v1/tenants", map[string]any{"id": "phoenix"}); code != http.StatusAccepted {
			t.Fatalf("signup: %d %v", code, doc)
		}
		// Once the engine is updating the stack, kill the service and that
		// engine, as an OOM kill of the whole unit would: the lock and the
		// creates in flight stay behind.
		engine := 0
		eventually(t, 3*time.Minute, "an engine updating tenant-phoenix", func() error {
			engine = f.updatingEngine("tenant-phoenix")
			if engine == 0 {
				return fmt.Errorf("no engine holds the stack for an update yet")
			}
			return nil
		})
		for _, pid := range []int{svc.proc.Pid, engine} {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		<-svc.exited
		release()
		if len(f.locksInBackend("tenant-phoenix")) == 0 {
			t.Fatal("the killed engine left no lock: the stale-lock path is not exercised")
		}
		svc.start(t)
		svc.waitState(t, "phoenix", "ready", 6*time.Minute)
		if locks := f.locksInBackend("tenant-phoenix"); len(locks) != 0 {
			t.Errorf("locks left on tenant-phoenix: %v", locks)
		}
		if !strings.Contains(svc.logs.String(), "clearing the stale lock of this service's dead engine") {
			t.Error("the stale lock went away without the service clearing it")
		}
		n := 0
		for _, s := range f.stacksInBackend(t) {
			if s == "tenant-phoenix" {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d stacks named tenant-phoenix", n)
		}
	})

	t.Run("SIGTERM interrupts gracefully after the drain deadline", func(t *testing.T) {
		release := f.holdRuntime(t)
		if code, doc := svc.do(t, "POST", "/v1/tenants", map[string]any{"id": "grace"}); code != http.StatusAccepted {
			t.Fatalf("signup: %d %v", code, doc)
		}
		engine := 0
		eventually(t, 3*time.Minute, "an engine updating tenant-grace", func() error {
			if engine = f.updatingEngine("tenant-grace"); engine == 0 {
				return fmt.Errorf("no engine holds the stack for an update yet")
			}
			return nil
		})
		// --drain-timeout 2s: the held update outlives it, so the engine
		// gets SIGINT; released then, it cancels, records what it did and
		// releases its lock.
		if err := svc.proc.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		eventually(t, time.Minute, "the service to interrupt the running operation", func() error {
			if !strings.Contains(svc.logs.String(), "drain deadline passed: interrupting") {
				return fmt.Errorf("not yet")
			}
			return nil
		})
		release()
		// One SIGTERM only: a second one would stop the engine at once.
		select {
		case <-svc.exited:
		case <-time.After(2 * time.Minute):
			t.Fatal("serve did not stop within 2 minutes of SIGTERM")
		}
		if code := svc.exitCode(); code != 0 {
			t.Errorf("serve exited %d after SIGTERM, want 0", code)
		}
		if processAlive(engine) {
			t.Errorf("engine %d still runs after serve stopped", engine)
		}
		if locks := f.locksInBackend("tenant-grace"); len(locks) != 0 {
			t.Errorf("a graceful stop left locks: %v", locks)
		}
		svc.start(t)
		svc.waitState(t, "grace", "ready", 5*time.Minute)
	})

	t.Run("delete", func(t *testing.T) {
		code, doc := svc.do(t, "DELETE", "/v1/tenants/acme", nil)
		if code != http.StatusConflict || doc["field"] != "force" {
			t.Fatalf("DELETE of a protected database without force: %d %v, want 409 naming force", code, doc)
		}
		if code, doc := svc.do(t, "DELETE", "/v1/tenants/acme?force=true", nil); code != http.StatusAccepted {
			t.Fatalf("DELETE ?force=true: %d %v", code, doc)
		}
		svc.waitState(t, "acme", "deleted", 5*time.Minute)
		if slices.Contains(f.stacksInBackend(t), "tenant-acme") {
			t.Error("stack tenant-acme is still in the backend")
		}
		f.assertNothingOfStack(t, "tenant-acme", "acme")
		if code, _, err := getStatus(webURL + "/healthz"); err == nil {
			t.Errorf("acme's web app still answers (%d) after delete", code)
		}
	})

	// The file backend wrote no attribute sidecar: an engine killed while
	// rewriting one (the killed-mid-update phase above) leaves it empty and
	// the stack unreadable ("failed to load checkpoint: EOF").
	_ = filepath.WalkDir(filepath.Join(f.stateDir(), "state"), func(path string, _ fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(path, ".attrs") {
			t.Errorf("the file backend wrote the sidecar %s", path)
		}
		return nil
	})

	// No generated password anywhere the service writes or answers.
	secrets := map[string]string{}
	for _, id := range []string{"c00", "phoenix", "grace"} {
		out := f.outputs("tenant-" + id)
		secrets[id] = out.Tenants[id].DatabaseCredentials
	}
	svc.stop(t, syscall.SIGTERM, 2*time.Minute)
	db, _ := os.ReadFile(filepath.Join(svc.dataDir, "signup.db"))
	wal, _ := os.ReadFile(filepath.Join(svc.dataDir, "signup.db-wal"))
	for id, pw := range secrets {
		if len(pw) < 16 {
			t.Fatalf("%s: password %d characters long?", id, len(pw))
		}
		for where, text := range map[string]string{"logs": svc.logs.String(), "responses": svc.bodies.String(),
			"job database": string(db) + string(wal)} {
			if strings.Contains(text, pw) {
				t.Errorf("%s's database password appears in the service's %s", id, where)
			}
		}
		if strings.Contains(svc.logs.String(), svc.token) || strings.Contains(svc.logs.String(), svc.secret) {
			t.Error("the API token or webhook secret appears in the logs")
		}
	}
}

// assertNothingOfStack checks that the local cloud holds no process and no
// database of the stack's tenants.
func (f *fleet) assertNothingOfStack(t *testing.T, stack string, tenants ...string) {
	t.Helper()
	st, err := f.runtime().Status(t.Context())
	if err != nil {
		t.Fatalf("local cloud status: %v", err)
	}
	for _, p := range st.Processes {
		if strings.Contains(p.Name, strings.ReplaceAll(stack, "_", "-")) {
			t.Errorf("process %s of %s still runs", p.Name, stack)
		}
	}
	for _, tenant := range tenants {
		name := naming.Local.Database.Unique("db", stack, tenant)
		if _, err := f.runtime().GetDatabase(t.Context(), name); !errors.Is(err, localcloud.ErrNotFound) {
			t.Errorf("database %s exists after delete (%v)", name, err)
		}
	}
}

// TestSignupReplicasShareThePostgreSQLJobs runs two replicas on one
// PostgreSQL job database (a database of the local cloud's server): the
// signups sent to either are all provisioned, both replicas work, a third
// process claiming a running replica's id is refused, and when one replica
// is killed mid-update the other finishes its tenant.
//
//nolint:paralleltest // end-to-end: runs the real engine, PostgreSQL and NATS; serial so the 2-core CI keeps its timing margins.
func TestSignupReplicasShareThePostgreSQLJobs(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: runs the real engine, PostgreSQL and NATS (drop -short to run it)")
	}
	f := newFleet(t, nil)
	f.must(0, "local", "start")
	raw := make([]byte, 18)
	_, _ = rand.Read(raw)
	password := base64.RawURLEncoding.EncodeToString(raw)
	db, err := f.runtime().PutDatabase(t.Context(), localcloud.DatabaseSpec{Name: "signup_jobs", Password: password})
	if err != nil {
		t.Fatal(err)
	}
	dbURL := fmt.Sprintf("postgres://%s:%s@%s:%d/%s?sslmode=disable", db.User, password, db.Host, db.Port, db.Name)

	a := newReplica(t, f, "replica-a", dbURL, "", "--concurrency", "2")
	a.start(t)
	b := newReplica(t, f, "replica-b", dbURL, a.token, "--concurrency", "2")
	b.start(t)

	// The same replica id twice is refused, naming the flag.
	dup := newReplica(t, f, "replica-a", dbURL, a.token)
	dup.dataDir = filepath.Join(filepath.Dir(f.bin), "serve-dup")
	cmd := exec.Command(filepath.Join(f.bin, "tenantfleet"), append(dup.args[:0:0], "serve", "--listen", "127.0.0.1:0",
		"--data-dir", dup.dataDir, "--replica-id", "replica-a")...)
	cmd.Dir = f.projectDir
	cmd.Env = append(slices.Clone(f.env), "TENANTFLEET_API_TOKEN="+a.token, "TENANTFLEET_DATABASE_URL="+dbURL)
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "--replica-id") {
		t.Errorf("a second replica-a: %v\n%s", err, out)
	}
	if strings.Contains(string(out), password) || strings.Contains(a.logs.String(), password) {
		t.Error("the job database's password appears in the service's output")
	}

	ids := []string{"pa", "pb", "pc", "pd", "pe", "pf"}
	for i, id := range ids {
		svc := a
		if i%2 == 1 {
			svc = b
		}
		if code, doc := svc.do(t, "POST", "/v1/tenants", map[string]any{"id": id}); code != http.StatusAccepted {
			t.Fatalf("signup %s: %d %v", id, code, doc)
		}
	}
	for _, id := range ids {
		a.waitState(t, id, "ready", 6*time.Minute)
	}
	conn, err := connectDB(t.Context(), fmt.Sprintf("%s:%d", db.Host, db.Port), db.Name, db.User, password)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close(t.Context()) }() // only read from: a close error loses nothing
	var workers []string
	rows, err := conn.Query(t.Context(), `SELECT DISTINCT unnest(attempted_by) FROM river_job ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var w string
		_ = rows.Scan(&w)
		workers = append(workers, w)
	}
	rows.Close()
	if !slices.Contains(workers, "replica-a") || !slices.Contains(workers, "replica-b") {
		t.Errorf("jobs were worked by %v, want both replicas", workers)
	}

	// Replica b dies (engine included) in the middle of an update it runs;
	// a finishes it once b's lease has expired. a is frozen (SIGSTOP) until
	// b's engine runs, so that b is the one that takes the job, and the
	// runtime is held so that b's update is still in flight when b dies.
	release := f.holdRuntime(t)
	_ = syscall.Kill(a.proc.Pid, syscall.SIGSTOP)
	frozen := true
	defer func() {
		if frozen {
			_ = syscall.Kill(a.proc.Pid, syscall.SIGCONT)
		}
	}()
	if code, doc := b.do(t, "POST", "/v1/tenants", map[string]any{"id": "orphan"}); code != http.StatusAccepted {
		t.Fatalf("signup: %d %v", code, doc)
	}
	var engine int
	eventually(t, 3*time.Minute, "an engine updating tenant-orphan", func() error {
		if engine = f.updatingEngine("tenant-orphan"); engine == 0 {
			return fmt.Errorf("no engine holds the stack for an update yet")
		}
		return nil
	})
	_ = syscall.Kill(b.proc.Pid, syscall.SIGKILL)
	_ = syscall.Kill(engine, syscall.SIGKILL)
	<-b.exited
	release()
	_ = syscall.Kill(a.proc.Pid, syscall.SIGCONT)
	frozen = false
	var attemptedBy []string
	if err := conn.QueryRow(t.Context(), `SELECT attempted_by FROM river_job WHERE args->>'tenant' = 'orphan' ORDER BY id LIMIT 1`).Scan(&attemptedBy); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(attemptedBy, []string{"replica-b"}) {
		t.Fatalf("the orphan's first job was worked by %v, want replica-b alone", attemptedBy)
	}
	a.waitState(t, "orphan", "ready", 5*time.Minute)

	// Fleet operations on PostgreSQL, across the replicas: b comes back
	// with a changed template; a rollout of two tenants started on b, and a
	// drift check started on a, may be driven by either.
	tpl := filepath.Join(f.projectDir, "tenant-template.yaml")
	f.writeReleaseTemplate(tpl, "2", "dev")
	b.args = append(b.args, "--template", tpl)
	b.start(t)
	code, ro := b.do(t, "POST", "/v1/rollouts", map[string]any{"selector": map[string]any{"ids": []string{"pa", "pb"}},
		"waves": []any{1, "100%"}, "healthTimeout": "1m"})
	if code != http.StatusAccepted {
		t.Fatalf("rollout: %d %v", code, ro)
	}
	ro = waitRollout(t, b, ro["id"], 6*time.Minute, "succeeded")
	if counts := ro["counts"].(map[string]any); counts["succeeded"] != 2.0 {
		t.Errorf("rollout on PostgreSQL: %s", jsonString(ro))
	}
	for id, want := range map[string]string{"pa": "2", "pb": "2", "pc": ""} {
		if got := releaseOf(t, a, id); got != want {
			t.Errorf("%s shows release %q, want %q", id, got, want)
		}
	}
	code, check := a.do(t, "POST", "/v1/drift-checks", nil)
	if code != http.StatusAccepted {
		t.Fatalf("drift check: %d %v", code, check)
	}
	eventually(t, 5*time.Minute, "the drift check on PostgreSQL to finish", func() error {
		_, check = b.do(t, "GET", fmt.Sprintf("/v1/drift-checks/%v", check["id"]), nil)
		if check["state"] != "done" {
			return fmt.Errorf("state %v", check["state"])
		}
		return nil
	})
	if check["inSync"] != 7.0 || check["drifted"] != 0.0 {
		t.Errorf("drift check on PostgreSQL: %s", jsonString(check))
	}

	// The console on PostgreSQL: a session opened on one replica holds on
	// the other (the sessions are in the shared database), and every
	// page's queries run there.
	consoleOnPostgreSQL(t, a, b, fmt.Sprint(ro["id"]))
}

// consoleOnPostgreSQL signs in to the console on replica a and reads its
// pages from replica b with the same session.
func consoleOnPostgreSQL(t *testing.T, a, b *signupService, rolloutID string) {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	resp, err := client.PostForm(a.url+"/sign-in", url.Values{"token": {a.token}})
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/" {
		t.Fatalf("console sign-in on replica a: %d at %s", resp.StatusCode, resp.Request.URL)
	}
	// The cookie is the host's, not the port's: it goes to replica b too.
	for path, want := range map[string][]string{
		"/":                             {"<h1>Fleet</h1>", "p50 <strong>", "By cloud", "Signups per hour"},
		"/tenants?state=ready":          {"tenants match", `href="/tenants/pa"`},
		"/tenants?cloud=local":          {`href="/tenants/pb"`},
		"/tenants/pa":                   {"Tenant pa", "Resources by component", "Operations"},
		"/rollouts":                     {`href="/rollouts/` + rolloutID + `"`, "succeeded"},
		"/rollouts/" + rolloutID:        {"Rollout " + rolloutID, "Wave 1", "passed: /healthz answered"},
		"/tenants?state=deleted":        {"tenants match"},
		"/tenants?version=000000000000": {"<strong>0</strong> tenants match"},
	} {
		resp, err := client.Get(b.url + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Request.URL.Path == "/sign-in" {
			t.Errorf("console %s on replica b: %d at %s", path, resp.StatusCode, resp.Request.URL)
			continue
		}
		for _, w := range want {
			if !strings.Contains(string(body), w) {
				t.Errorf("console %s on replica b lacks %q", path, w)
			}
		}
	}
}
