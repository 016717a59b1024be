package signup

import (
	"context"
	"errors"
	"io"
	"regexp"
	"strconv"
	"syscall"

	"github.com/tenantfleet/tenantfleet/internal/engine"
)

func isLocked(err error) bool {
	return errors.Is(err, engine.ErrLocked)
}

// lockHolder matches the engine's description of a lock:
// "...json: created by root@host (pid 4458) at 2026-...".
var lockHolder = regexp.MustCompile(`created by [^@\s]+@(\S+) \(pid (\d+)\)`)

// clearStaleLock removes the stack's lock when every lock on it is held by
// an engine process this service recorded starting, on this host, that is
// no longer alive: its own dead run's. Anyone else's lock (an operator's
// `pulumi up`, another replica's live engine) is waited out, never broken.
func (o *operation) clearStaleLock(ctx context.Context, cfg map[string]any, lockErr error) bool {
	s, t := o.svc, o.tenant
	holders := lockHolder.FindAllStringSubmatch(lockErr.Error(), -1)
	if len(holders) == 0 {
		return false
	}
	runs, err := s.store.EngineRuns(ctx, t.ID)
	if err != nil {
		return false
	}
	for _, h := range holders {
		pid, _ := strconv.Atoi(h[2])
		ours := false
		for _, r := range runs {
			if r.Host == h[1] && r.PID == pid && r.Host == s.host {
				ours = true
			}
		}
		if !ours || processAlive(pid) {
			return false
		}
	}
	s.cfg.Logger.Warn("clearing the stale lock of this service's dead engine", "tenant", t.ID, "stack", t.Stack)
	rec := newRecorder(s, t.ID)
	rec.add(EventOperation, map[string]any{"operation": "cancel", "phase": "started",
		"reason": "the stack's lock was left by this service's engine, which died; clearing it"})
	rec.flush()
	if _, err := s.cfg.Engine.Run(ctx, engine.OpCancel, engine.StackOptions{Stack: t.Stack, Backend: s.cfg.Backend, Config: cfg, Progress: io.Discard}); err != nil {
		s.cfg.Logger.Error("clear the stale lock", "tenant", t.ID, "error", err)
		return false
	}
	for _, h := range holders {
		pid, _ := strconv.Atoi(h[2])
		_ = s.store.ForgetEngine(ctx, t.ID, h[1], pid)
	}
	return true
}

// processAlive reports whether a process with pid exists on this host.
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
