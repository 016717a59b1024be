package localcloud

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// stateVersion is the version of the state.json format.
const stateVersion = 1

// desiredState is what the runtime restores after a restart: the ports it
// chose and every resource it was asked for. It is written to state.json
// (0600: process environments may hold secrets). Database passwords are not
// kept: PostgreSQL keeps the roles.
type desiredState struct {
	Version       int                         `json:"version"`
	PostgresPort  int                         `json:"postgresPort,omitempty"`
	NATSPort      int                         `json:"natsPort,omitempty"`
	Databases     map[string]struct{}         `json:"databases"`
	Queues        map[string]QueueSpec        `json:"queues"`
	Topics        map[string]TopicSpec        `json:"topics"`
	Subscriptions map[string]SubscriptionSpec `json:"subscriptions"`
	Processes     map[string]processState     `json:"processes"`
}

// processState is a process's desired spec plus what the runtime chose for
// it (its port) and observed (the process group it last started, so that
// a runtime that was killed can clean up what it left running).
type processState struct {
	Spec ProcessSpec `json:"spec"`
	Port int         `json:"port,omitempty"`
	// PID and PIDStart identify the last started process group leader
	// (PIDStart is its start time in clock ticks since boot, from /proc).
	PID      int    `json:"pid,omitempty"`
	PIDStart uint64 `json:"pidStart,omitempty"`
}

func newDesiredState() *desiredState {
	return &desiredState{
		Version:       stateVersion,
		Databases:     map[string]struct{}{},
		Queues:        map[string]QueueSpec{},
		Topics:        map[string]TopicSpec{},
		Subscriptions: map[string]SubscriptionSpec{},
		Processes:     map[string]processState{},
	}
}

// stateStore guards the desired state and persists every change.
type stateStore struct {
	path string
	mu   sync.Mutex
	st   *desiredState
}

// loadState reads path; a missing file is an empty state.
func loadState(path string) (*stateStore, error) {
	st := newDesiredState()
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("read state %s: %w", path, err)
	default:
		if err := json.Unmarshal(data, st); err != nil {
			return nil, fmt.Errorf("parse state %s: %w", path, err)
		}
		if st.Version != stateVersion {
			return nil, fmt.Errorf("state %s has version %d; this runtime reads version %d", path, st.Version, stateVersion)
		}
		fresh := newDesiredState()
		if st.Databases == nil {
			st.Databases = fresh.Databases
		}
		if st.Queues == nil {
			st.Queues = fresh.Queues
		}
		if st.Topics == nil {
			st.Topics = fresh.Topics
		}
		if st.Subscriptions == nil {
			st.Subscriptions = fresh.Subscriptions
		}
		if st.Processes == nil {
			st.Processes = fresh.Processes
		}
	}
	return &stateStore{path: path, st: st}, nil
}

// read calls fn with the state under the lock; fn must not keep it.
func (s *stateStore) read(fn func(st *desiredState)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(s.st)
}

// update applies fn and persists the result. When fn or the write fails
// the in-memory state is left as it was.
func (s *stateStore) update(fn func(st *desiredState) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	next, err := cloneState(s.st)
	if err != nil {
		return err
	}
	if err := fn(next); err != nil {
		return err
	}
	if err := writeFileAtomic(s.path, next, 0o600); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	s.st = next
	return nil
}

func cloneState(st *desiredState) (*desiredState, error) {
	data, err := json.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("copy state: %w", err)
	}
	out := newDesiredState()
	if err := json.Unmarshal(data, out); err != nil {
		return nil, fmt.Errorf("copy state: %w", err)
	}
	return out, nil
}

// writeFileAtomic writes v as JSON to a temporary file beside path, syncs
// it and renames it over path, so a crash leaves the old or the new file.
func writeFileAtomic(path string, v any, perm os.FileMode) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("create temporary file for %s: %w", path, err)
	}
	defer func() { _ = os.Remove(tmp.Name()) }() // a no-op after the rename
	if err := tmp.Chmod(perm); err != nil {
		_ = tmp.Close() // the chmod error is the one to report
		return fmt.Errorf("chmod %s: %w", tmp.Name(), err)
	}
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		_ = tmp.Close() // the write error is the one to report
		return fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close() // the sync error is the one to report
		return fmt.Errorf("sync %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("rename %s to %s: %w", tmp.Name(), path, err)
	}
	return nil
}
