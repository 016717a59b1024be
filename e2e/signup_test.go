package e2e

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	svix "github.com/svix/svix-webhooks/go"
)

// signupService is one `tenantfleet serve` process of a fleet.
type signupService struct {
	f       *fleet
	url     string
	token   string
	secret  string
	dataDir string
	args    []string
	env     []string // added to the fleet's environment
	proc    *os.Process
	exited  chan struct{}
	state   *os.ProcessState
	logs    *syncBuffer
	// bodies are every response body the tests read.
	bodies *syncBuffer
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func freePort(tb testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer func() { _ = ln.Close() }() // only its port was wanted
	return ln.Addr().String()
}

// newSignupService prepares a signup service for the fleet (not started).
func newSignupService(tb testing.TB, f *fleet, extra ...string) *signupService {
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	addr := freePort(tb)
	s := &signupService{
		f: f, url: "http://" + addr, token: "operator-" + base64.RawURLEncoding.EncodeToString(raw[:16]),
		secret: "whsec_" + base64.StdEncoding.EncodeToString(raw), dataDir: filepath.Join(filepath.Dir(f.bin), "serve"),
		logs: &syncBuffer{}, bodies: &syncBuffer{},
	}
	s.args = append([]string{"serve", "--listen", addr, "--data-dir", s.dataDir}, extra...)
	tb.Cleanup(func() {
		s.stop(tb, syscall.SIGTERM, 3*time.Minute)
		if tb.Failed() {
			tb.Logf("service logs:\n%s", s.logs.String())
		}
	})
	return s
}

// newReplica prepares a replica named name of a service whose jobs are in
// the PostgreSQL database at dbURL; replicas of one fleet share the token.
func newReplica(tb testing.TB, f *fleet, name, dbURL string, token string, extra ...string) *signupService {
	s := newSignupService(tb, f, extra...)
	s.dataDir = filepath.Join(filepath.Dir(f.bin), "serve-"+name)
	s.args = append([]string{"serve", "--listen", strings.TrimPrefix(s.url, "http://"), "--data-dir", s.dataDir,
		"--replica-id", name}, extra...)
	s.env = []string{"TENANTFLEET_DATABASE_URL=" + dbURL}
	if token != "" {
		s.token = token
	}
	return s
}

// start starts the service and waits for /readyz.
func (s *signupService) start(tb testing.TB) {
	tb.Helper()
	cmd := exec.Command(filepath.Join(s.f.bin, "tenantfleet"), s.args...)
	cmd.Dir = s.f.projectDir
	cmd.Env = append(append(slices.Clone(s.f.env), "TENANTFLEET_API_TOKEN="+s.token, "TENANTFLEET_WEBHOOK_SECRET="+s.secret), s.env...)
	cmd.Stdout, cmd.Stderr = s.logs, s.logs
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); s.state = cmd.ProcessState; close(exited) }()
	s.proc, s.exited = cmd.Process, exited
	deadline := time.Now().Add(2 * time.Minute)
	for {
		select {
		case <-exited:
			tb.Fatalf("serve exited: %v\n%s", cmd.ProcessState, s.logs.String())
		default:
		}
		if code, _, err := getStatus(s.url + "/readyz"); err == nil && code == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("serve not ready after 2 minutes\n%s", s.logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// stop sends sig to a running service and waits for it to exit; it
// reports whether it did within the time.
func (s *signupService) stop(tb testing.TB, sig syscall.Signal, within time.Duration) bool {
	if s.proc == nil {
		return true
	}
	select {
	case <-s.exited:
		return true
	default:
	}
	_ = s.proc.Signal(sig)
	select {
	case <-s.exited:
		return true
	case <-time.After(within):
		tb.Errorf("serve did not exit within %s of %s", within, sig)
		_ = s.proc.Kill()
		<-s.exited
		return false
	}
}

// exitCode is the exit code of the stopped service (-1 when signalled).
func (s *signupService) exitCode() int {
	<-s.exited
	return s.state.ExitCode()
}

// do sends a request with the operator token and returns the status and body.
func (s *signupService) do(tb testing.TB, method, path string, body any) (int, map[string]any) {
	tb.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.url+path, rd)
	req.Header.Set("Authorization", "Bearer "+s.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return s.send(tb, req)
}

// webhook sends a Standard Webhooks-signed request, as a signup provider would.
func (s *signupService) webhook(tb testing.TB, method, path string, body []byte) (int, map[string]any) {
	tb.Helper()
	wh, err := svix.NewWebhook(s.secret)
	if err != nil {
		tb.Fatal(err)
	}
	id := fmt.Sprintf("msg_%d", time.Now().UnixNano())
	now := time.Now()
	sig, err := wh.Sign(id, now, body)
	if err != nil {
		tb.Fatal(err)
	}
	req, _ := http.NewRequest(method, s.url+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	req.Header.Set("webhook-signature", sig)
	return s.send(tb, req)
}

func (s *signupService) send(tb testing.TB, req *http.Request) (int, map[string]any) {
	tb.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer func() { _ = resp.Body.Close() }() // read to the end below: a close error loses nothing
	b, _ := io.ReadAll(resp.Body)
	_, _ = s.bodies.Write(b) // a bytes.Buffer behind a mutex: the write cannot fail
	var doc map[string]any
	_ = json.Unmarshal(b, &doc)
	return resp.StatusCode, doc
}

// waitState polls the tenant until it is in want; it fails fast on failed.
func (s *signupService) waitState(tb testing.TB, id, want string, within time.Duration) map[string]any {
	tb.Helper()
	deadline := time.Now().Add(within)
	for {
		code, doc := s.do(tb, "GET", "/v1/tenants/"+id, nil)
		if code == http.StatusOK {
			if doc["state"] == want {
				return doc
			}
			if doc["state"] == "failed" && want != "failed" {
				tb.Fatalf("tenant %s failed: %v\nlogs:\n%s", id, doc["lastError"], s.logs.String())
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("tenant %s not %s after %s: %d %v", id, want, within, code, doc)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// events reads the tenant's event stream to its end (the tenant settled).
func (s *signupService) events(tb testing.TB, id string) []map[string]any {
	tb.Helper()
	return s.streamOf(tb, "/v1/tenants/"+id+"/events")
}

// streamOf reads the event stream at path to its end.
func (s *signupService) streamOf(tb testing.TB, path string) []map[string]any {
	tb.Helper()
	req, _ := http.NewRequest("GET", s.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+s.token)
	client := &http.Client{Timeout: 5 * time.Minute}
	resp, err := client.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }() // the stream was read to its end
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		tb.Fatalf("events: content type %q", ct)
	}
	var out []map[string]any
	sc := bufio.NewScanner(io.TeeReader(resp.Body, s.bodies))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			var ev map[string]any
			if err := json.Unmarshal([]byte(data), &ev); err != nil {
				tb.Fatalf("event %q: %v", data, err)
			}
			out = append(out, ev)
		}
	}
	return out
}

// stateDir is the fleet's tenantfleet state directory (backend, passphrase).
func (f *fleet) stateDir() string { return filepath.Join(filepath.Dir(f.bin), "state", "tenantfleet") }

// stacksInBackend lists the stacks the file backend holds.
func (f *fleet) stacksInBackend(tb testing.TB) []string {
	tb.Helper()
	files, _ := filepath.Glob(filepath.Join(f.stateDir(), "state", ".pulumi", "stacks", "tenantfleet", "*.json"))
	var out []string
	for _, file := range files {
		out = append(out, strings.TrimSuffix(filepath.Base(file), ".json"))
	}
	return out
}

// locksInBackend lists the lock files of a stack.
func (f *fleet) locksInBackend(stack string) []string {
	files, _ := filepath.Glob(filepath.Join(f.stateDir(), "state", ".pulumi", "locks", "organization", "tenantfleet", stack, "*.json"))
	return files
}

// updatingEngine returns the pid of the engine holding the stack's lock
// for an update (`pulumi up`), or 0.
func (f *fleet) updatingEngine(stack string) int {
	for _, file := range f.locksInBackend(stack) {
		var lock struct {
			PID int `json:"pid"`
		}
		b, err := os.ReadFile(file)
		if err != nil || json.Unmarshal(b, &lock) != nil {
			continue
		}
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", lock.PID))
		if err == nil && slices.Contains(strings.Split(string(cmdline), "\x00"), "up") {
			return lock.PID
		}
	}
	return 0
}

func processAlive(pid int) bool { return syscall.Kill(pid, 0) == nil }

// holdRuntime freezes the local cloud runtime (SIGSTOP) so that an update
// started now stays in flight, deterministically: the engine takes the
// stack's lock, then its provider plugin waits on its first call to the
// runtime until release (SIGCONT). A test that must catch an operation in
// the middle uses it instead of racing the engine, which on an idle
// machine finishes a tenant in about 3 seconds. release is idempotent and
// also runs at cleanup.
func (f *fleet) holdRuntime(tb testing.TB) (release func()) {
	tb.Helper()
	st, err := f.runtime().Status(tb.Context())
	if err != nil || st.PID == 0 {
		tb.Fatalf("local cloud status: %+v, %v", st, err)
	}
	if err := syscall.Kill(st.PID, syscall.SIGSTOP); err != nil {
		tb.Fatalf("freeze the local cloud runtime %d: %v", st.PID, err)
	}
	var once sync.Once
	release = func() { once.Do(func() { _ = syscall.Kill(st.PID, syscall.SIGCONT) }) }
	tb.Cleanup(release)
	return release
}
