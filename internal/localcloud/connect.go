package localcloud

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// connectTimeout bounds the wait for a runtime Connect started: a first
// start runs initdb, which is slow on a loaded machine.
const connectTimeout = 90 * time.Second

// Connect returns a client of the runtime serving dataDir, starting the
// runtime (`tenantfleet local run`) in the background first when none
// answers. This is "started on demand": the provider plugin calls it, and
// several engines may call it at once for one data directory (a burst of
// first operations). Only one runtime can hold the data directory; a
// Connect that finds it held by a runtime still starting (or loses the race
// to start one) waits for that runtime to answer instead of failing.
//
// The runtime is found as TENANTFLEET_BIN, else a tenantfleet binary next to
// the running executable, else tenantfleet on PATH. It runs in a session of
// its own, outliving the caller, and writes to <dataDir>/runtime.log.
func Connect(ctx context.Context, dataDir string) (API, error) {
	dataDir, err := filepath.Abs(dataDir)
	if err != nil {
		return nil, fmt.Errorf("localcloud: data directory: %w", err)
	}
	c := NewClient(dataDir)
	if answers(ctx, c) {
		return c, nil
	}
	if err := checkSocketPath(SocketPath(dataDir)); err != nil {
		return nil, fmt.Errorf("localcloud: %w", err)
	}
	bin, err := tenantfleetBinary()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("localcloud: create data directory %s: %w", dataDir, err)
	}
	l := layout{dataDir: dataDir}

	deadline := time.NewTimer(connectTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	var (
		ours    *starting     // the runtime this call started, while it runs
		exited  chan struct{} // ours.exited; nil when none runs
		waitPID string        // another runtime's PID, while this call waits for it
	)
	for {
		if answers(ctx, c) {
			return c, nil
		}
		if exited == nil {
			if lockFree(l) {
				if ours, err = spawnRuntime(bin, dataDir); err != nil {
					return nil, err
				}
				exited = ours.exited
			} else {
				waitPID = lockHolder(l)
			}
		}
		select {
		case <-exited:
			if answers(ctx, c) {
				return c, nil
			}
			if !lockFree(l) {
				// Another Connect's runtime won the data directory and is
				// starting: wait for it.
				exited, waitPID = nil, lockHolder(l)
				continue
			}
			return nil, fmt.Errorf("localcloud: the runtime (%s local run --data-dir %s) exited while starting; %s ends with:\n%s",
				bin, dataDir, ours.logPath, readTail(ours.logPath, ours.logOffset, 4096))
		case <-deadline.C:
			who := "the runtime pid " + waitPID
			if exited != nil {
				who = fmt.Sprintf("the runtime (pid %d)", ours.cmd.Process.Pid)
			}
			logPath := filepath.Join(dataDir, "runtime.log")
			return nil, fmt.Errorf("localcloud: %s did not answer on %s within %s; %s ends with:\n%s",
				who, SocketPath(dataDir), connectTimeout, logPath, readTail(logPath, 0, 4096))
		case <-ctx.Done():
			return nil, fmt.Errorf("localcloud: wait for the runtime of %s: %w", dataDir, ctx.Err())
		case <-tick.C:
		}
	}
}

// starting is a runtime Connect started.
type starting struct {
	cmd       *exec.Cmd
	exited    chan struct{}
	logPath   string
	logOffset int64
}

// spawnRuntime starts `bin local run --data-dir dataDir` in a session of
// its own, logging to <dataDir>/runtime.log.
func spawnRuntime(bin, dataDir string) (*starting, error) {
	logPath := filepath.Join(dataDir, "runtime.log")
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("localcloud: open %s: %w", logPath, err)
	}
	offset, _ := logf.Seek(0, io.SeekEnd)
	cmd := exec.Command(bin, "local", "run", "--data-dir", dataDir)
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.Dir = dataDir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	_ = logf.Close() // the child has its own descriptor; this one wrote nothing
	if err != nil {
		return nil, fmt.Errorf("localcloud: start %s local run: %w", bin, err)
	}
	s := &starting{cmd: cmd, exited: make(chan struct{}), logPath: logPath, logOffset: offset}
	go func() {
		_ = cmd.Wait() // reaps it should it exit while we are here
		close(s.exited)
	}()
	return s, nil
}

// answers reports whether a runtime answers the status call.
func answers(ctx context.Context, c *Client) bool {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err := c.Status(ctx)
	return err == nil
}

// tenantfleetBinary finds the CLI that runs the runtime.
func tenantfleetBinary() (string, error) {
	if bin := os.Getenv("TENANTFLEET_BIN"); bin != "" {
		return bin, nil
	}
	var looked []string
	if exe, err := os.Executable(); err == nil {
		beside := filepath.Join(filepath.Dir(exe), "tenantfleet")
		if isExecutable(beside) {
			return beside, nil
		}
		looked = append(looked, beside)
	}
	if bin, err := exec.LookPath("tenantfleet"); err == nil {
		return bin, nil
	}
	looked = append(looked, "tenantfleet on PATH")
	return "", fmt.Errorf("localcloud: cannot start the runtime: no tenantfleet binary (looked for %s); build it (go build -o bin/ ./cmd/tenantfleet) or set TENANTFLEET_BIN",
		strings.Join(looked, ", "))
}

// readTail returns at most limit bytes of path from offset on, whole lines
// where possible.
func readTail(path string, offset int64, limit int64) string {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	defer func() { _ = f.Close() }() // read-only
	fi, err := f.Stat()
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	start := max(offset, fi.Size()-limit)
	if start < 0 {
		start = 0
	}
	data, err := io.ReadAll(io.NewSectionReader(f, start, fi.Size()-start))
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	text := string(data)
	if start > offset {
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			text = text[i+1:]
		}
	}
	if strings.TrimSpace(text) == "" {
		return "(nothing)"
	}
	return text
}

// lastLines is the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
