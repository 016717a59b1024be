package localcloud

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// helperEnv, set in a process spec's env, makes the test binary act as a
// tiny web app (see TestMain).
const helperEnv = "LOCALCLOUD_TEST_HELPER"

// TestMain lets the test binary stand in for two programs:
//   - a web app image: with LOCALCLOUD_TEST_HELPER=web it serves on $PORT,
//     answering its PID and the names of its environment variables;
//   - the tenantfleet CLI that Connect starts: `<bin> local run --data-dir DIR`.
func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "web" {
		serveHelperWebApp()
		return
	}
	if len(os.Args) >= 3 && os.Args[1] == "local" && os.Args[2] == "run" {
		os.Exit(runHelperRuntime(os.Args[3:]))
	}
	os.Exit(m.Run())
}

func serveHelperWebApp() {
	http.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		var names []string
		for _, kv := range os.Environ() {
			names = append(names, strings.SplitN(kv, "=", 2)[0])
		}
		slices.Sort(names)
		// A failed write is the client's to see: the answer is cut short.
		_, _ = fmt.Fprintf(w, "pid=%d env=%s", os.Getpid(), strings.Join(names, ","))
	})
	if err := http.ListenAndServe("127.0.0.1:"+os.Getenv("PORT"), nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func runHelperRuntime(args []string) int {
	if len(args) != 2 || args[0] != "--data-dir" {
		fmt.Fprintf(os.Stderr, "usage: local run --data-dir DIR (got %q)\n", args)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := Run(ctx, Options{DataDir: args[1], Logger: log}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// testDirs makes a data directory and an images directory the postgres user
// can reach (t.TempDir makes 0700 directories).
func testDirs(t *testing.T) (dataDir, imagesDir string) {
	t.Helper()
	root := t.TempDir()
	for _, dir := range []string{filepath.Dir(root), root} {
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	dataDir = filepath.Join(root, "data")
	imagesDir = filepath.Join(root, "images")
	writeImage(t, imagesDir, "web", "latest", "#!/bin/sh\nexec "+shellQuote(testBinary(t))+"\n")
	writeImage(t, imagesDir, "crash", "1.0", "#!/bin/sh\necho boom\nexit 3\n")
	return dataDir, imagesDir
}

func testBinary(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

func writeImage(t *testing.T, imagesDir, repo, tag, entrypoint string) {
	t.Helper()
	dir := filepath.Join(imagesDir, repo, tag)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "entrypoint"), []byte(entrypoint), 0o755); err != nil {
		t.Fatal(err)
	}
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// runtimeUnderTest is a runtime run in-process by a test.
type runtimeUnderTest struct {
	dataDir, imagesDir string
	cancel             context.CancelFunc
	done               chan error
	client             *Client
}

// startRuntime runs a runtime on dataDir and waits until it answers.
func startRuntime(t *testing.T, dataDir, imagesDir string) *runtimeUnderTest {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	rt := &runtimeUnderTest{dataDir: dataDir, imagesDir: imagesDir, cancel: cancel, done: make(chan error, 1), client: NewClient(dataDir)}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	go func() { rt.done <- Run(ctx, Options{DataDir: dataDir, ImagesDir: imagesDir, Logger: log}) }()
	t.Cleanup(func() { rt.stop(t) })
	eventually(t, 120*time.Second, "the runtime answers", func() error {
		select {
		case err := <-rt.done:
			rt.done <- err
			t.Fatalf("Run returned while starting: %v", err)
		default:
		}
		_, err := rt.client.Status(t.Context())
		return err
	})
	return rt
}

// stop cancels Run and waits for it; it may be called more than once.
func (rt *runtimeUnderTest) stop(t *testing.T) {
	t.Helper()
	rt.cancel()
	select {
	case err, ok := <-rt.done:
		if ok && err != nil {
			t.Errorf("Run: %v", err)
		}
		if ok {
			close(rt.done)
		}
	case <-time.After(90 * time.Second):
		t.Fatal("Run did not return within 90s of its context being cancelled")
	}
}

// eventually polls check until it returns nil or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s: %v", timeout, what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

// httpGet returns the body of a 200 answer to a GET.
func httpGet(url string) (string, error) {
	client := http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return "", err
	}
	defer func() { _ = resp.Body.Close() }() // read-only: a close error loses nothing
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return string(data), nil
}

func wantAPIError(t *testing.T, err error, status int, contains ...string) {
	t.Helper()
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("error = %v, want an *APIError %d", err, status)
	}
	if apiErr.Status != status {
		t.Errorf("status = %d, want %d (%v)", apiErr.Status, status, err)
	}
	for _, s := range contains {
		if !strings.Contains(apiErr.Message, s) {
			t.Errorf("message %q does not contain %q", apiErr.Message, s)
		}
	}
}
