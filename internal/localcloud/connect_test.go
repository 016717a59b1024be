package localcloud

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestConnectWaitsForARuntimeThatIsStarting holds the data directory's lock
// as a runtime does while it starts (initdb, NATS): Connect must wait for
// that runtime to answer, not start one of its own that fails on the lock
// and give up with "exited while starting".
func TestConnectWaitsForARuntimeThatIsStarting(t *testing.T) {
	dataDir, imagesDir := testDirs(t)
	if err := prepareDataDir(dataDir); err != nil {
		t.Fatal(err)
	}
	lock, err := lockDataDir(layout{dataDir: dataDir, imagesDir: imagesDir})
	if err != nil {
		t.Fatal(err)
	}
	defer lock.release()
	t.Setenv("TENANTFLEET_BIN", testBinary(t))
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	_, err = Connect(ctx, dataDir)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Connect while another runtime holds the data directory = %v, want it still waiting when the context ends", err)
	}
	if log, _ := os.ReadFile(filepath.Join(dataDir, "runtime.log")); strings.Contains(string(log), "in use by another") {
		t.Errorf("Connect started a second runtime that failed on the lock:\n%s", log)
	}
}

// TestConcurrentConnectsShareOneRuntime is a burst of first operations on a
// data directory with no runtime: several engines' plugins call Connect at
// once. Each may start a runtime; one wins the data directory and the
// others must connect to it, so every call gets the same runtime.
func TestConcurrentConnectsShareOneRuntime(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL and NATS")
	}
	if _, err := findPostgresBinDir(); err != nil {
		t.Skip(err)
	}
	dataDir, imagesDir := testDirs(t)
	t.Setenv("TENANTFLEET_BIN", testBinary(t))
	t.Setenv("TENANTFLEET_LOCAL_IMAGES", imagesDir)
	ctx := ctxTimeout(t, 3*time.Minute)
	const callers = 6
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		pids = map[int]int{}
		errs []error
	)
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			api, err := Connect(ctx, dataDir)
			if err == nil {
				var st Status
				if st, err = api.Status(ctx); err == nil {
					mu.Lock()
					pids[st.PID]++
					mu.Unlock()
					return
				}
			}
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		}()
	}
	wg.Wait()
	// t.Context is done by the time cleanups run: shut down without its cancel.
	t.Cleanup(func() { _ = NewClient(dataDir).Shutdown(context.WithoutCancel(t.Context())) })
	for _, err := range errs {
		t.Errorf("Connect: %v", err)
	}
	if len(pids) != 1 {
		t.Errorf("the callers reached runtimes %v (pid: callers), want one runtime for all %d", pids, callers)
	}
}
