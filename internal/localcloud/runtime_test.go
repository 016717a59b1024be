package localcloud

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tenantfleet/tenantfleet/providers/naming"
)

// TestRuntime runs one real runtime (PostgreSQL, NATS, processes) and
// exercises the API against it, then restarts it in-process and through
// Connect. The subtests share the runtime and run in order.
//
//nolint:paralleltest // the subtests are phases of one runtime's life, in order, and set the environment.
func TestRuntime(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL and NATS")
	}
	if _, err := findPostgresBinDir(); err != nil {
		t.Skip(err)
	}
	dataDir, imagesDir := testDirs(t)
	rt := startRuntime(t, dataDir, imagesDir)
	c := rt.client

	t.Run("status", func(t *testing.T) {
		st, err := c.Status(ctxTimeout(t, 10*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if st.DataDir != dataDir || st.PID != os.Getpid() || !st.Postgres.Running || st.Postgres.Port == 0 || !st.NATS.Running || !strings.HasPrefix(st.NATS.URL, "nats://127.0.0.1:") {
			t.Errorf("status = %+v", st)
		}
		if fi, err := os.Stat(SocketPath(dataDir)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("socket: %v, mode %v; want 0600", err, fi.Mode().Perm())
		}
		// What a program about to use the runtime checks images against.
		t.Setenv("TENANTFLEET_LOCAL_IMAGES", filepath.Join(dataDir, "elsewhere"))
		if got, err := ImagesDir(dataDir); err != nil || got != imagesDir {
			t.Errorf("ImagesDir of the running runtime = %q, %v; want its own %s", got, err, imagesDir)
		}
	})

	t.Run("second Run on the same data dir fails", func(t *testing.T) {
		err := Run(ctxTimeout(t, 30*time.Second), Options{DataDir: dataDir, ImagesDir: imagesDir})
		if err == nil {
			t.Fatal("a second Run on the same data dir succeeded")
		}
		for _, want := range []string{dataDir, fmt.Sprintf("pid %d", os.Getpid())} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not name %q", err, want)
			}
		}
		if _, err := c.Status(ctxTimeout(t, 10*time.Second)); err != nil {
			t.Errorf("the first runtime stopped answering: %v", err)
		}
	})

	t.Run("validation", func(t *testing.T) { testValidation(t, c) })
	t.Run("databases", func(t *testing.T) { testDatabases(t, c, dataDir) })
	t.Run("PostgreSQL keywords", func(t *testing.T) { testKeywords(t, c) })
	t.Run("queue dead letters", func(t *testing.T) { testQueueDeadLetters(t, c) })
	t.Run("topic fanout", func(t *testing.T) { testTopicFanout(t, c) })
	t.Run("processes", func(t *testing.T) { testProcesses(t, c, dataDir) })
	if t.Failed() {
		return
	}

	// What must survive restarts.
	ctx := ctxTimeout(t, 60*time.Second)
	if _, err := c.PutDatabase(ctx, DatabaseSpec{Name: "keepdb", Password: "keep-secret"}); err != nil {
		t.Fatal(err)
	}
	q, err := c.PutQueue(ctx, QueueSpec{Name: "keepq", MaxDeliver: 3, AckWaitSeconds: 30, RetentionSeconds: 3600})
	if err != nil {
		t.Fatal(err)
	}
	publish(t, q.URL, "survives")
	topic, err := c.PutTopic(ctx, TopicSpec{Name: "keept"})
	if err != nil {
		t.Fatal(err)
	}
	fan, err := c.PutQueue(ctx, QueueSpec{Name: "keepfan", MaxDeliver: 3, AckWaitSeconds: 30, RetentionSeconds: 3600})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutSubscription(ctx, SubscriptionSpec{Name: "keepsub", Topic: "keept", Queue: "keepfan"}); err != nil {
		t.Fatal(err)
	}
	publish(t, topic.URL, "before")
	if got := drain(t, fan.URL, 1); !slices.Equal(got, []string{"before"}) {
		t.Fatalf("keepfan got %q, want [before]", got)
	}
	web, err := c.PutProcess(ctx, ProcessSpec{Name: "keepweb", Image: "web", Web: true, Env: map[string]string{helperEnv: "web"}})
	if err != nil {
		t.Fatal(err)
	}
	waitServes(t, web.URL)

	t.Run("restart restores", func(t *testing.T) {
		rt.stop(t)
		if err := syscall.Kill(web.PID, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("process %d still exists after the runtime stopped (kill: %v)", web.PID, err)
		}
		if _, err := c.Status(ctxTimeout(t, 5*time.Second)); !errors.Is(err, ErrNotRunning) {
			t.Errorf("Status of a stopped runtime = %v, want ErrNotRunning", err)
		}
		rt = startRuntime(t, dataDir, imagesDir)
		checkRestored(t, rt.client, web, q, "restart")
	})

	t.Run("Connect starts a detached runtime", func(t *testing.T) {
		rt.stop(t)
		t.Setenv("TENANTFLEET_BIN", testBinary(t))
		t.Setenv("TENANTFLEET_LOCAL_IMAGES", imagesDir) // the runtime finds images through it
		ctx := ctxTimeout(t, 120*time.Second)
		api, err := Connect(ctx, dataDir)
		if err != nil {
			t.Fatal(err)
		}
		client := api.(*Client)
		// t.Context is done by the time cleanups run: shut down without its cancel.
		t.Cleanup(func() { _ = client.Shutdown(context.WithoutCancel(t.Context())) })
		st, err := client.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.PID == os.Getpid() || st.PID == 0 {
			t.Errorf("runtime pid = %d, want a process of its own", st.PID)
		}
		checkRestored(t, client, web, q, "connect")

		// A second Connect finds it running.
		again, err := Connect(ctx, dataDir)
		if err != nil {
			t.Fatal(err)
		}
		if st2, err := again.Status(ctx); err != nil || st2.PID != st.PID {
			t.Errorf("second Connect: status %+v, %v; want pid %d", st2, err, st.PID)
		}

		// A runtime killed outright leaves PostgreSQL and its processes
		// running: the next one stops them and restores on the same ports.
		leftWeb, err := client.GetProcess(ctx, "keepweb")
		if err != nil {
			t.Fatal(err)
		}
		if err := syscall.Kill(st.PID, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		eventually(t, 10*time.Second, "the killed runtime to stop answering", func() error {
			if _, err := client.Status(ctx); !errors.Is(err, ErrNotRunning) {
				return fmt.Errorf("status: %w", err)
			}
			return nil
		})
		if _, err := Connect(ctx, dataDir); err != nil {
			t.Fatal(err)
		}
		st3, err := client.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st3.PID == st.PID || st3.Postgres.Port != st.Postgres.Port || st3.NATS.URL != st.NATS.URL {
			t.Errorf("after a kill: status %+v, want a new runtime on postgres port %d and %s", st3, st.Postgres.Port, st.NATS.URL)
		}
		checkRestored(t, client, web, q, "killed")
		if err := syscall.Kill(leftWeb.PID, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("process %d of the killed runtime still exists (kill: %v)", leftWeb.PID, err)
		}

		if err := client.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := client.Status(ctx); !errors.Is(err, ErrNotRunning) {
			t.Errorf("Status after Shutdown = %v, want ErrNotRunning", err)
		}
		// The lock is free: the process is on its way out (and reaped by
		// Connect's goroutine).
		eventually(t, 10*time.Second, "the runtime process to exit", func() error {
			if err := syscall.Kill(st3.PID, 0); !errors.Is(err, syscall.ESRCH) {
				return fmt.Errorf("runtime %d still exists (kill: %w)", st3.PID, err)
			}
			return nil
		})
		if _, err := os.Stat(filepath.Join(dataDir, "runtime.log")); err != nil {
			t.Errorf("runtime.log: %v", err)
		}
	})

	t.Run("a saved port taken by another program", func(t *testing.T) {
		state, err := loadState(layout{dataDir: dataDir}.stateFile())
		if err != nil {
			t.Fatal(err)
		}
		var natsPort int
		state.read(func(st *desiredState) { natsPort = st.NATSPort })
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", natsPort))
		if err != nil {
			t.Fatalf("occupy the saved NATS port %d: %v", natsPort, err)
		}
		defer func() { _ = ln.Close() }() // only the bind was wanted
		rt := startRuntime(t, dataDir, imagesDir)
		st, err := rt.client.Status(ctxTimeout(t, 10*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if !st.NATS.Running || st.NATS.URL == fmt.Sprintf("nats://127.0.0.1:%d", natsPort) {
			t.Errorf("NATS: %+v, want it running on another port than the taken %d", st.NATS, natsPort)
		}
		if len(st.Warnings) != 1 || !strings.Contains(st.Warnings[0], fmt.Sprintf("NATS: its port %d is taken by another program", natsPort)) ||
			!strings.Contains(st.Warnings[0], "tenantfleet refresh") {
			t.Errorf("status warnings = %q, want one saying NATS moved off port %d and what to run", st.Warnings, natsPort)
		}
		rt.stop(t)
	})
}

// checkRestored checks what the test left before a restart. A drained
// queue subscribed to a topic gets what is published after the restart,
// once, and nothing of what it had before.
func checkRestored(t *testing.T, c *Client, web Process, q Queue, round string) {
	t.Helper()
	ctx := ctxTimeout(t, 60*time.Second)
	got, err := c.GetProcess(ctx, "keepweb")
	if err != nil {
		t.Fatal(err)
	}
	if got.Port != web.Port || got.URL != web.URL {
		t.Errorf("process after restart: port %d url %s, want port %d url %s", got.Port, got.URL, web.Port, web.URL)
	}
	waitServes(t, got.URL)
	if _, err := c.GetDatabase(ctx, "keepdb"); err != nil {
		t.Errorf("database after restart: %v", err)
	}
	dbConn := tenantConn(t, c, "keepdb", "keep-secret", "keepdb")
	_ = dbConn.Close(ctx) // connecting was the check
	gotQ, err := c.GetQueue(ctx, "keepq")
	if err != nil {
		t.Fatal(err)
	}
	if gotQ.URL != q.URL {
		t.Errorf("queue URL after restart = %s, want %s", gotQ.URL, q.URL)
	}
	if n := streamMsgs(t, q.URL); n != 1 {
		t.Errorf("queue holds %d messages after restart, want 1", n)
	}
	fan, err := c.GetQueue(ctx, "keepfan")
	if err != nil || !slices.Equal(fan.Topics, []string{"keept"}) {
		t.Fatalf("GetQueue(keepfan) after restart = %+v, %v", fan, err)
	}
	if _, err := c.GetSubscription(ctx, "keepsub"); err != nil {
		t.Errorf("GetSubscription after restart: %v", err)
	}
	topic, err := c.GetTopic(ctx, "keept")
	if err != nil {
		t.Fatal(err)
	}
	publish(t, topic.URL, "after-"+round)
	if got := drain(t, fan.URL, 1); !slices.Equal(got, []string{"after-" + round}) {
		t.Errorf("keepfan got %q after the restart, want [after-%s]", got, round)
	}
}

func testValidation(t *testing.T, c *Client) {
	ctx := ctxTimeout(t, 30*time.Second)
	cases := []struct {
		reason string
		call   func() error
		status int
		want   []string
	}{
		{"names are lowercase", func() error {
			_, err := c.PutDatabase(ctx, DatabaseSpec{Name: "A B", Password: "x"})
			return err
		}, 400, []string{`name: must be lowercase letters, digits, - or _ (got "A B")`}},
		{"a database needs a password", func() error {
			_, err := c.PutDatabase(ctx, DatabaseSpec{Name: "nopw"})
			return err
		}, 400, []string{"password: must not be empty"}},
		{"postgres is reserved", func() error {
			_, err := c.PutDatabase(ctx, DatabaseSpec{Name: "postgres", Password: "x"})
			return err
		}, 400, []string{"name:", "reserved"}},
		{"a queue delivers at least once", func() error {
			_, err := c.PutQueue(ctx, QueueSpec{Name: "q", MaxDeliver: 0, AckWaitSeconds: 30, RetentionSeconds: 60})
			return err
		}, 400, []string{"maxDeliver: must be at least 1 (got 0)"}},
		{"a name longer than 63 bytes", func() error {
			_, err := c.PutTopic(ctx, TopicSpec{Name: strings.Repeat("a", 64)})
			return err
		}, 400, []string{"name: must be at most 63 bytes"}},
		{"an empty name", func() error {
			_, err := c.GetQueue(ctx, "")
			return err
		}, 400, []string{"name: must not be empty"}},
		{"a subscription needs its topic", func() error {
			_, err := c.PutSubscription(ctx, SubscriptionSpec{Name: "s", Topic: "absent", Queue: "absent"})
			return err
		}, 400, []string{`topic: no topic named "absent"`}},
		{"an absent image names the directory looked in", func() error {
			_, err := c.PutProcess(ctx, ProcessSpec{Name: "p", Image: "ghcr.io/acme/nope:1.2"})
			return err
		}, 400, []string{`image: no local image "ghcr.io/acme/nope:1.2"`, filepath.Join("images", "nope", "1.2")}},
		{"an absent queue is not found", func() error {
			_, err := c.GetQueue(ctx, "absent")
			return err
		}, 404, []string{`queue "absent" not found`}},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			err := tc.call()
			wantAPIError(t, err, tc.status, tc.want...)
			if got := errors.Is(err, ErrNotFound); got != (tc.status == 404) {
				t.Errorf("errors.Is(err, ErrNotFound) = %v for status %d", got, tc.status)
			}
		})
	}
}

// tenantConn connects over TCP as user to database with password.
func tenantConn(t *testing.T, c *Client, user, password, database string) *pgx.Conn {
	t.Helper()
	conn, err := connectTenant(t, c, user, password, database)
	if err != nil {
		t.Fatalf("connect as %s to %s: %v", user, database, err)
	}
	return conn
}

func connectTenant(t *testing.T, c *Client, user, password, database string) (*pgx.Conn, error) {
	t.Helper()
	st, err := c.Status(ctxTimeout(t, 10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := pgx.ParseConfig(fmt.Sprintf("host=127.0.0.1 port=%d user=%s dbname=%s sslmode=disable", st.Postgres.Port, user, database))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Password = password
	return pgx.ConnectConfig(ctxTimeout(t, 20*time.Second), cfg)
}

func wantPGError(t *testing.T, err error, code, what string) {
	t.Helper()
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != code {
		t.Errorf("%s: error = %v, want SQLSTATE %s", what, err, code)
	}
}

// testKeywords compares naming.PostgresKeywords, which every adapter keeps
// out of database and user names, with a real server's reserved keywords.
func testKeywords(t *testing.T, c *Client) {
	ctx := ctxTimeout(t, 30*time.Second)
	if _, err := c.PutDatabase(ctx, DatabaseSpec{Name: "keywords", Password: "kw"}); err != nil {
		t.Fatal(err)
	}
	conn := tenantConn(t, c, "keywords", "kw", "keywords")
	defer func() { _ = conn.Close(ctx) }()
	var version int
	if err := conn.QueryRow(ctx, "SELECT current_setting('server_version_num')::int / 10000").Scan(&version); err != nil {
		t.Fatal(err)
	}
	rows, err := conn.Query(ctx, "SELECT word FROM pg_get_keywords() WHERE catcode IN ('R', 'T') ORDER BY word")
	if err != nil {
		t.Fatal(err)
	}
	server, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	// Keywords newer than the server here: the list follows PostgreSQL 16.
	newer := map[string]int{"system_user": 16}
	for _, w := range server {
		if !slices.Contains(naming.PostgresKeywords, w) {
			t.Errorf("PostgreSQL %d reserves %q; naming.PostgresKeywords lacks it", version, w)
		}
	}
	for _, w := range naming.PostgresKeywords {
		if !slices.Contains(server, w) && newer[w] <= version {
			t.Errorf("naming.PostgresKeywords has %q, which PostgreSQL %d does not reserve", w, version)
		}
	}
}

func testDatabases(t *testing.T, c *Client, dataDir string) {
	ctx := ctxTimeout(t, 60*time.Second)
	a, err := c.PutDatabase(ctx, DatabaseSpec{Name: "tenant-a", Password: "pw-a"})
	if err != nil {
		t.Fatal(err)
	}
	if a.Name != "tenant-a" || a.User != "tenant-a" || a.Host != "127.0.0.1" || a.Port == 0 {
		t.Errorf("PutDatabase = %+v", a)
	}
	if _, err := c.PutDatabase(ctx, DatabaseSpec{Name: "tenant_b", Password: "pw-'b\\é"}); err != nil {
		t.Fatal(err)
	}

	conn := tenantConn(t, c, "tenant-a", "pw-a", "tenant-a")
	if _, err := conn.Exec(ctx, "CREATE TABLE notes (body text)"); err != nil {
		t.Errorf("the owner cannot create a table: %v", err)
	}
	_ = conn.Close(ctx)
	_ = tenantConn(t, c, "tenant_b", "pw-'b\\é", "tenant_b").Close(ctx) // connecting was the check

	_, err = connectTenant(t, c, "tenant-a", "pw-a", "tenant_b")
	wantPGError(t, err, "42501", "tenant-a connecting to tenant_b's database")
	_, err = connectTenant(t, c, "tenant_b", "pw-'b\\é", "tenant-a")
	wantPGError(t, err, "42501", "tenant_b connecting to tenant-a's database")
	_, err = connectTenant(t, c, "tenant-a", "pw-a", "postgres")
	wantPGError(t, err, "42501", "tenant-a connecting to the postgres database")

	// A re-put converges the password; the data stays.
	again, err := c.PutDatabase(ctx, DatabaseSpec{Name: "tenant-a", Password: "pw-a2"})
	if err != nil || again != a {
		t.Fatalf("re-put = %+v, %v; want %+v", again, err, a)
	}
	_, err = connectTenant(t, c, "tenant-a", "pw-a", "tenant-a")
	wantPGError(t, err, "28P01", "the old password after a re-put")
	conn = tenantConn(t, c, "tenant-a", "pw-a2", "tenant-a")
	if _, err := conn.Exec(ctx, "SELECT count(*) FROM notes"); err != nil {
		t.Errorf("the table is gone after a re-put: %v", err)
	}
	_ = conn.Close(ctx)

	if got, err := c.GetDatabase(ctx, "tenant-a"); err != nil || got != a {
		t.Errorf("GetDatabase = %+v, %v", got, err)
	}

	// Drift: the database dropped behind the runtime's back.
	admin, err := (&postgresServer{base: filepath.Join(dataDir, "postgres"), port: a.Port}).connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(ctx, `DROP DATABASE "tenant_b" WITH (FORCE)`); err != nil {
		t.Fatal(err)
	}
	_ = admin.Close(ctx)
	if _, err := c.GetDatabase(ctx, "tenant_b"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetDatabase of a dropped database = %v, want ErrNotFound", err)
	}

	for _, name := range []string{"tenant-a", "tenant_b", "tenant-a"} {
		if err := c.DeleteDatabase(ctx, name); err != nil {
			t.Errorf("DeleteDatabase(%s): %v", name, err)
		}
	}
	if _, err := c.GetDatabase(ctx, "tenant-a"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetDatabase after delete = %v, want ErrNotFound", err)
	}
	_, err = connectTenant(t, c, "tenant-a", "pw-a2", "tenant-a")
	wantPGError(t, err, "28P01", "the deleted role") // the role is gone
}

// natsTarget is what a queue or topic URL points at.
type natsTarget struct {
	server, stream, subject, consumer string
}

func parseNATSURL(t *testing.T, raw string) natsTarget {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	return natsTarget{
		server:   "nats://" + u.Host,
		stream:   q.Get("stream"),
		subject:  q.Get("subject"),
		consumer: q.Get("consumer"),
	}
}

func jsFor(t *testing.T, server string) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(server)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

func publish(t *testing.T, rawURL, data string) {
	t.Helper()
	target := parseNATSURL(t, rawURL)
	js := jsFor(t, target.server)
	if _, err := js.Publish(ctxTimeout(t, 10*time.Second), target.subject, []byte(data)); err != nil {
		t.Fatal(err)
	}
}

func streamMsgs(t *testing.T, rawURL string) uint64 {
	t.Helper()
	target := parseNATSURL(t, rawURL)
	s, err := jsFor(t, target.server).Stream(ctxTimeout(t, 10*time.Second), target.stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctxTimeout(t, 10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

func testQueueDeadLetters(t *testing.T, c *Client) {
	ctx := ctxTimeout(t, 90*time.Second)
	q, err := c.PutQueue(ctx, QueueSpec{Name: "jobs-a", MaxDeliver: 3, AckWaitSeconds: 1, RetentionSeconds: 3600})
	if err != nil {
		t.Fatal(err)
	}
	target := parseNATSURL(t, q.URL)
	if want := regexp.MustCompile(`^nats://127\.0\.0\.1:\d+\?stream=Q_jobs_a&subject=queue\.jobs-a&consumer=worker$`); !want.MatchString(q.URL) {
		t.Errorf("URL = %s, want %s", q.URL, want)
	}
	if want := regexp.MustCompile(`^nats://127\.0\.0\.1:\d+\?stream=Q_jobs_a_DLQ&subject=queue\.jobs-a\.dlq$`); !want.MatchString(q.DeadLetterURL) {
		t.Errorf("DeadLetterURL = %s, want %s", q.DeadLetterURL, want)
	}
	// "jobs_a" folds to the same stream: refused rather than merged.
	_, err = c.PutQueue(ctx, QueueSpec{Name: "jobs_a", MaxDeliver: 3, AckWaitSeconds: 1, RetentionSeconds: 3600})
	wantAPIError(t, err, 409, "Q_jobs_a")
	if _, err := c.GetQueue(ctx, "jobs_a"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetQueue(jobs_a) = %v, want ErrNotFound", err)
	}
	// Re-put converges (and keeps the queue).
	q2, err := c.PutQueue(ctx, QueueSpec{Name: "jobs-a", MaxDeliver: 2, AckWaitSeconds: 1, RetentionSeconds: 7200})
	if err != nil {
		t.Fatal(err)
	}
	if q2.URL != q.URL {
		t.Errorf("re-put URL = %s, want %s", q2.URL, q.URL)
	}

	js := jsFor(t, target.server)
	cons, err := js.Consumer(ctx, target.stream, target.consumer)
	if err != nil {
		t.Fatal(err)
	}
	if info := cons.CachedInfo(); info.Config.MaxDeliver != 2 || info.Config.AckWait != time.Second {
		t.Errorf("consumer config after re-put: MaxDeliver %d AckWait %s", info.Config.MaxDeliver, info.Config.AckWait)
	}
	for _, body := range []string{"good", "poison", "ignored"} {
		if _, err := js.Publish(ctx, target.subject, []byte(body)); err != nil {
			t.Fatal(err)
		}
	}

	// A worker: acks "good", naks "poison", never answers "ignored".
	deliveries := map[string]int{}
	dlq := parseNATSURL(t, q.DeadLetterURL)
	dlqStream, err := js.Stream(ctx, dlq.stream)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "both bad messages in the dead-letter queue", func() error {
		batch, err := cons.Fetch(5, jetstream.FetchMaxWait(300*time.Millisecond))
		if err != nil {
			return err
		}
		for msg := range batch.Messages() {
			deliveries[string(msg.Data())]++
			switch string(msg.Data()) {
			case "good":
				_ = msg.Ack()
			case "poison":
				_ = msg.Nak()
			}
		}
		info, err := dlqStream.Info(ctx)
		if err != nil {
			return err
		}
		if info.State.Msgs < 2 {
			return fmt.Errorf("dead-letter queue holds %d messages; deliveries so far %v", info.State.Msgs, deliveries)
		}
		return nil
	})
	if want := map[string]int{"good": 1, "poison": 2, "ignored": 2}; !mapsEqual(deliveries, want) {
		t.Errorf("deliveries = %v, want %v", deliveries, want)
	}

	// Keep the worker pulling a little: nothing more is delivered and no
	// message is dead-lettered twice.
	batch, err := cons.Fetch(5, jetstream.FetchMaxWait(1500*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	for msg := range batch.Messages() {
		t.Errorf("delivered again after the dead-letter queue: %q", msg.Data())
	}
	info, err := dlqStream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 2 {
		t.Errorf("dead-letter queue holds %d messages, want 2", info.State.Msgs)
	}
	got := map[string]string{}
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
		msg, err := dlqStream.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		if msg.Subject != dlq.subject || msg.Header.Get(headerOriginalSubject) != target.subject {
			t.Errorf("dead letter %q: subject %s, original subject %q", msg.Data, msg.Subject, msg.Header.Get(headerOriginalSubject))
		}
		got[string(msg.Data)] = msg.Header.Get(headerDeliveries)
	}
	if want := map[string]string{"poison": "2", "ignored": "2"}; !mapsEqual(got, want) {
		t.Errorf("dead letters (body -> deliveries) = %v, want %v", got, want)
	}
	if n := streamMsgs(t, q.URL); n != 0 {
		t.Errorf("work queue still holds %d messages", n)
	}

	if err := c.DeleteQueue(ctx, "jobs-a"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteQueue(ctx, "jobs-a"); err != nil {
		t.Errorf("second delete: %v", err)
	}
	if _, err := c.GetQueue(ctx, "jobs-a"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetQueue after delete = %v, want ErrNotFound", err)
	}
	if _, err := js.Stream(ctx, dlq.stream); !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Errorf("dead-letter stream after delete: %v", err)
	}
}

func mapsEqual[V comparable](a, b map[string]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// drain fetches what the queue holds (acking it) until it has been empty
// for a moment, and returns the bodies.
func drain(t *testing.T, rawURL string, want int) []string {
	t.Helper()
	target := parseNATSURL(t, rawURL)
	js := jsFor(t, target.server)
	ctx := ctxTimeout(t, 60*time.Second)
	cons, err := js.Consumer(ctx, target.stream, target.consumer)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	deadline := time.Now().Add(30 * time.Second)
	for len(got) < want && time.Now().Before(deadline) {
		batch, err := cons.Fetch(10, jetstream.FetchMaxWait(500*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		for msg := range batch.Messages() {
			if msg.Subject() != target.subject {
				t.Errorf("message on subject %s, want %s", msg.Subject(), target.subject)
			}
			got = append(got, string(msg.Data()))
			_ = msg.Ack()
		}
	}
	// Then nothing more (a duplicate would show up here).
	batch, err := cons.Fetch(10, jetstream.FetchMaxWait(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for msg := range batch.Messages() {
		got = append(got, string(msg.Data()))
		_ = msg.Ack()
	}
	slices.Sort(got)
	return got
}

func testTopicFanout(t *testing.T, c *Client) {
	ctx := ctxTimeout(t, 90*time.Second)
	events, err := c.PutTopic(ctx, TopicSpec{Name: "events"})
	if err != nil {
		t.Fatal(err)
	}
	if want := regexp.MustCompile(`^nats://127\.0\.0\.1:\d+\?stream=T_events&subject=topic\.events$`); !want.MatchString(events.URL) {
		t.Errorf("topic URL = %s, want %s", events.URL, want)
	}
	alerts, err := c.PutTopic(ctx, TopicSpec{Name: "alerts"})
	if err != nil {
		t.Fatal(err)
	}
	spec := QueueSpec{MaxDeliver: 5, AckWaitSeconds: 30, RetentionSeconds: 3600}
	spec.Name = "fan-a"
	qa, err := c.PutQueue(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	spec.Name = "fan-b"
	qb, err := c.PutQueue(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	for _, sub := range []SubscriptionSpec{
		{Name: "events-to-a", Topic: "events", Queue: "fan-a"},
		{Name: "events-to-b", Topic: "events", Queue: "fan-b"},
		{Name: "alerts-to-a", Topic: "alerts", Queue: "fan-a"},
	} {
		got, err := c.PutSubscription(ctx, sub)
		if err != nil || got != sub {
			t.Fatalf("PutSubscription(%+v) = %+v, %v", sub, got, err)
		}
		if _, err := c.PutSubscription(ctx, sub); err != nil {
			t.Fatalf("re-put %+v: %v", sub, err)
		}
	}
	_, err = c.PutSubscription(ctx, SubscriptionSpec{Name: "dup", Topic: "events", Queue: "fan-a"})
	wantAPIError(t, err, 409, "events-to-a")

	if got, err := c.GetQueue(ctx, "fan-a"); err != nil || !slices.Equal(got.Topics, []string{"alerts", "events"}) {
		t.Errorf("GetQueue(fan-a) = %+v, %v; want topics [alerts events]", got, err)
	}
	if got, err := c.GetQueue(ctx, "fan-b"); err != nil || !slices.Equal(got.Topics, []string{"events"}) {
		t.Errorf("GetQueue(fan-b) = %+v, %v; want topics [events]", got, err)
	}

	publish(t, events.URL, "e1")
	publish(t, alerts.URL, "a1")
	if got := drain(t, qa.URL, 2); !slices.Equal(got, []string{"a1", "e1"}) {
		t.Errorf("fan-a got %q, want [a1 e1] once each", got)
	}
	if got := drain(t, qb.URL, 1); !slices.Equal(got, []string{"e1"}) {
		t.Errorf("fan-b got %q, want [e1] once", got)
	}

	// Removing a subscription stops delivery of that topic only.
	if err := c.DeleteSubscription(ctx, "alerts-to-a"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetSubscription(ctx, "alerts-to-a"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetSubscription after delete = %v, want ErrNotFound", err)
	}
	if got, err := c.GetQueue(ctx, "fan-a"); err != nil || !slices.Equal(got.Topics, []string{"events"}) {
		t.Errorf("GetQueue(fan-a) after unsubscribing alerts = %+v, %v", got, err)
	}
	publish(t, alerts.URL, "a2")
	publish(t, events.URL, "e2")
	if got := drain(t, qa.URL, 1); !slices.Equal(got, []string{"e2"}) {
		t.Errorf("fan-a got %q, want [e2]", got)
	}
	if got := drain(t, qb.URL, 1); !slices.Equal(got, []string{"e2"}) {
		t.Errorf("fan-b got %q, want [e2]", got)
	}

	// Deleting the topic ends its subscriptions.
	if err := c.DeleteTopic(ctx, "events"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetSubscription(ctx, "events-to-b"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetSubscription of a deleted topic's subscription = %v, want ErrNotFound", err)
	}
	if got, err := c.GetQueue(ctx, "fan-b"); err != nil || len(got.Topics) != 0 {
		t.Errorf("GetQueue(fan-b) after the topic's deletion = %+v, %v", got, err)
	}
	for _, name := range []string{"alerts"} {
		if err := c.DeleteTopic(ctx, name); err != nil {
			t.Error(err)
		}
	}
	for _, name := range []string{"fan-a", "fan-b"} {
		if err := c.DeleteQueue(ctx, name); err != nil {
			t.Error(err)
		}
	}
}

// waitServes waits until the web process at url answers, and returns its
// answer.
func waitServes(t *testing.T, url string) string {
	t.Helper()
	var body string
	eventually(t, 30*time.Second, url+" to answer", func() error {
		var err error
		body, err = httpGet(url)
		return err
	})
	return body
}

func testProcesses(t *testing.T, c *Client, dataDir string) {
	ctx := ctxTimeout(t, 90*time.Second)
	spec := ProcessSpec{
		Name:  "web-a",
		Image: "registry.example.com/team/web", // -> images/web/latest
		Web:   true,
		Env:   map[string]string{helperEnv: "web", "SECRET_TOKEN": "s3cret"},
	}
	p, err := c.PutProcess(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Running || p.PID == 0 || p.Port == 0 || p.URL != fmt.Sprintf("http://127.0.0.1:%d", p.Port) || p.Restarts != 0 {
		t.Errorf("PutProcess = %+v", p)
	}
	if p.LogPath != filepath.Join(dataDir, "logs", "web-a.log") {
		t.Errorf("LogPath = %s", p.LogPath)
	}
	body := waitServes(t, p.URL)
	if !strings.HasPrefix(body, fmt.Sprintf("pid=%d ", p.PID)) {
		t.Errorf("answer %q is not from pid %d", body, p.PID)
	}
	env := strings.Split(strings.TrimPrefix(body[strings.Index(body, "env="):], "env="), ",")
	// PWD: the entrypoint is a shell script, and sh sets it.
	allowed := []string{"HOME", "LANG", helperEnv, "PATH", "PORT", "PWD", "SECRET_TOKEN", "TZ"}
	for _, name := range env {
		if !slices.Contains(allowed, name) {
			t.Errorf("the process inherited %s; it may only get %v", name, allowed)
		}
	}
	if !slices.Contains(env, "PORT") || !slices.Contains(env, "SECRET_TOKEN") {
		t.Errorf("the process's environment %v lacks PORT or SECRET_TOKEN", env)
	}
	if same, err := c.PutProcess(ctx, spec); err != nil || same.PID != p.PID {
		t.Errorf("re-put of the same spec: %+v, %v; want the same pid %d", same, err, p.PID)
	}

	// Killed behind the runtime's back: restarted, counted, same port.
	if err := syscall.Kill(-p.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var restarted Process
	eventually(t, 30*time.Second, "the killed process to be restarted", func() error {
		restarted, err = c.GetProcess(ctx, "web-a")
		if err != nil {
			return err
		}
		if !restarted.Running || restarted.Restarts != 1 || restarted.PID == p.PID {
			return fmt.Errorf("process %+v", restarted)
		}
		return nil
	})
	if restarted.Port != p.Port {
		t.Errorf("port after restart = %d, want %d", restarted.Port, p.Port)
	}
	if body := waitServes(t, p.URL); !strings.HasPrefix(body, fmt.Sprintf("pid=%d ", restarted.PID)) {
		t.Errorf("answer %q is not from the restarted pid %d", body, restarted.PID)
	}

	// A changed spec restarts it with the new spec on the same port.
	spec.Env["SECRET_TOKEN"] = "rotated"
	changed, err := c.PutProcess(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if changed.PID == restarted.PID || changed.Port != p.Port || !changed.Running {
		t.Errorf("after a spec change: %+v; want a new pid on port %d", changed, p.Port)
	}
	waitServes(t, p.URL)

	// A crash loop shows as not running.
	loop, err := c.PutProcess(ctx, ProcessSpec{Name: "crashy", Image: "crash:1.0"})
	if err != nil {
		t.Fatal(err)
	}
	if loop.Port != 0 || loop.URL != "" {
		t.Errorf("a worker got a port: %+v", loop)
	}
	eventually(t, 30*time.Second, "the crash loop to show", func() error {
		got, err := c.GetProcess(ctx, "crashy")
		if err != nil {
			return err
		}
		if got.Running || got.Restarts < 1 {
			return fmt.Errorf("process %+v", got)
		}
		return nil
	})
	logData, err := os.ReadFile(loop.LogPath)
	if err != nil || !strings.Contains(string(logData), "boom") {
		t.Errorf("crash log %q, %v; want the process's output", logData, err)
	}

	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range st.Processes {
		names = append(names, p.Name)
	}
	if !slices.Equal(names, []string{"crashy", "web-a"}) {
		t.Errorf("status processes = %v", names)
	}

	// state.json holds the env (a secret): owner-only.
	if fi, err := os.Stat(filepath.Join(dataDir, "state.json")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("state.json: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}

	for _, name := range []string{"web-a", "crashy"} {
		if err := c.DeleteProcess(ctx, name); err != nil {
			t.Fatal(err)
		}
		if _, err := c.GetProcess(ctx, name); !errors.Is(err, ErrNotFound) {
			t.Errorf("GetProcess(%s) after delete = %v, want ErrNotFound", name, err)
		}
		if _, err := os.Stat(filepath.Join(dataDir, "logs", name+".log")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("log of %s after delete: %v", name, err)
		}
		if err := c.DeleteProcess(ctx, name); err != nil {
			t.Errorf("second delete of %s: %v", name, err)
		}
	}
	if err := syscall.Kill(changed.PID, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("pid %d still exists after delete (kill: %v)", changed.PID, err)
	}
	if _, err := httpGet(p.URL); err == nil {
		t.Errorf("%s still answers after delete", p.URL)
	}
	data, err := os.ReadFile(filepath.Join(dataDir, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "web-a") || strings.Contains(string(data), "rotated") {
		t.Errorf("state.json still holds the deleted process")
	}
}
