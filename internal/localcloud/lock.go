package localcloud

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// dataDirLock is the exclusive flock on <dataDir>/runtime.lock that makes a
// runtime the only one of its data directory. The file holds the holder's PID.
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
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("data directory %s is in use by another local cloud runtime (pid %s)", l.dataDir, lockHolder(l))
		}
		return nil, fmt.Errorf("lock %s: %w", l.lockFile(), err)
	}
	if err := f.Truncate(0); err != nil {
		f.Close()
		return nil, fmt.Errorf("write lock %s: %w", l.lockFile(), err)
	}
	if _, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0); err != nil {
		f.Close()
		return nil, fmt.Errorf("write lock %s: %w", l.lockFile(), err)
	}
	return &dataDirLock{f: f}, nil
}

// lockHolder is the PID written in the lock file, or "unknown".
func lockHolder(l layout) string {
	data, err := os.ReadFile(l.lockFile())
	if err != nil {
		return "unknown"
	}
	pid := strings.TrimSpace(string(data))
	if _, err := strconv.Atoi(pid); err != nil {
		return "unknown"
	}
	return pid
}

// lockFree reports whether no runtime holds the data directory's lock.
func lockFree(l layout) bool {
	f, err := os.OpenFile(l.lockFile(), os.O_RDONLY, 0)
	if err != nil {
		return true
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
		return false
	}
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return true
}

func (d *dataDirLock) release() {
	_ = syscall.Flock(int(d.f.Fd()), syscall.LOCK_UN)
	d.f.Close()
}
