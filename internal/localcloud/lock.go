package localcloud

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// dataDirLock is the exclusive flock on <dataDir>/runtime.lock that makes a
// runtime the only one of its data directory. The file holds the holder's
// PID on its first line and its images directory on the second, so that a
// program about to use the runtime can check images where the running
// runtime looks for them (ImagesDir) without calling it.
type dataDirLock struct {
	f *os.File
}

// lockDataDir takes the lock or fails naming the data directory and the
// PID of the runtime holding it.
func lockDataDir(l layout) (*dataDirLock, error) {
	f, err := os.OpenFile(l.lockFile(), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock %s: %w", l.lockFile(), err)
	}
	if err := exclusive(f); err != nil {
		_ = f.Close() // the lock error is the one to report
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("data directory %s is in use by another local cloud runtime (pid %s)", l.dataDir, lockHolder(l))
		}
		return nil, fmt.Errorf("lock %s: %w", l.lockFile(), err)
	}
	if err := f.Truncate(0); err != nil {
		_ = f.Close() // the write error is the one to report
		return nil, fmt.Errorf("write lock %s: %w", l.lockFile(), err)
	}
	if _, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"+l.imagesDir+"\n"), 0); err != nil {
		_ = f.Close() // the write error is the one to report
		return nil, fmt.Errorf("write lock %s: %w", l.lockFile(), err)
	}
	return &dataDirLock{f: f}, nil
}

// lockAttempts and lockRetry bound how long lockDataDir retries a lock
// that is held: lockFree takes the lock shared for an instant to probe it,
// and a runtime starting at that instant must not take the probe for
// another runtime.
const (
	lockAttempts = 25
	lockRetry    = 20 * time.Millisecond
)

// exclusive takes f's exclusive flock without waiting for another holder,
// retrying for a moment while only a probe may hold it.
func exclusive(f *os.File) error {
	var err error
	for range lockAttempts {
		if err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); !errors.Is(err, syscall.EWOULDBLOCK) {
			return err
		}
		time.Sleep(lockRetry)
	}
	return err
}

// lockHolder is the PID written in the lock file, or "unknown".
func lockHolder(l layout) string {
	pid, _ := lockRecord(l)
	if _, err := strconv.Atoi(pid); err != nil {
		return "unknown"
	}
	return pid
}

// lockRecord is what the lock file says: its holder's PID and images
// directory ("" for what it lacks).
func lockRecord(l layout) (pid, imagesDir string) {
	data, err := os.ReadFile(l.lockFile())
	if err != nil {
		return "", ""
	}
	pid, rest, _ := strings.Cut(string(data), "\n")
	imagesDir, _, _ = strings.Cut(rest, "\n")
	return strings.TrimSpace(pid), imagesDir
}

// runningImagesDir is the images directory of the runtime holding l's lock,
// or "" when no runtime holds it (or it has not recorded one yet).
func runningImagesDir(l layout) string {
	if lockFree(l) {
		return ""
	}
	if _, dir := lockRecord(l); filepath.IsAbs(dir) {
		return dir
	}
	return ""
}

// lockFree reports whether no runtime holds the data directory's lock.
func lockFree(l layout) bool {
	f, err := os.OpenFile(l.lockFile(), os.O_RDONLY, 0)
	if err != nil {
		return true
	}
	defer func() { _ = f.Close() }() // read-only
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
		return false
	}
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return true
}

func (d *dataDirLock) release() {
	_ = syscall.Flock(int(d.f.Fd()), syscall.LOCK_UN)
	_ = d.f.Close() // the PID was written with WriteAt, unbuffered: nothing left to lose
}
