package localcloud

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	restartBackoffInitial = time.Second
	restartBackoffMax     = 30 * time.Second
	// healthyAfter is how long a process must run for its restart backoff
	// to start over.
	healthyAfter = 60 * time.Second
	// stopGrace is how long a process group has between SIGTERM and SIGKILL.
	stopGrace = 10 * time.Second
)

// inheritedEnv are the only variables of the runtime's own environment a
// process gets (when its spec does not set them).
var inheritedEnv = []string{"PATH", "HOME", "LANG", "TZ"}

// supervisor runs one process, restarting it with exponential backoff when
// it exits, until stopped.
type supervisor struct {
	log       *slog.Logger
	name      string
	spec      ProcessSpec
	port      int
	imagesDir string
	logPath   string
	onStart   func(pid int) // records the process group (for orphan cleanup)

	stopCh   chan struct{}
	stopOnce sync.Once
	doneCh   chan struct{}
	started  chan struct{} // closed after the first start attempt

	mu       sync.Mutex
	pid      int
	running  bool
	restarts int
}

func (s *supervisor) snapshot() Process {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := Process{Name: s.name, Running: s.running, Restarts: s.restarts, LogPath: s.logPath}
	if s.running {
		p.PID = s.pid
	}
	if s.spec.Web {
		p.Port = s.port
		p.URL = fmt.Sprintf("http://127.0.0.1:%d", s.port)
	}
	return p
}

func (s *supervisor) start() {
	s.stopCh = make(chan struct{})
	s.doneCh = make(chan struct{})
	s.started = make(chan struct{})
	go s.loop()
}

// stop terminates the process group and waits for the loop to end.
func (s *supervisor) stop() {
	s.stopOnce.Do(func() { close(s.stopCh) })
	<-s.doneCh
}

func (s *supervisor) loop() {
	defer close(s.doneCh)
	var startedOnce sync.Once
	markStarted := func() { startedOnce.Do(func() { close(s.started) }) }
	defer markStarted()

	backoff := restartBackoffInitial
	for {
		began := time.Now()
		err := s.runOnce(markStarted)
		if errors.Is(err, errStopped) {
			return
		}
		if time.Since(began) >= healthyAfter {
			backoff = restartBackoffInitial
		}
		s.note("%v; restarting in %s", err, backoff)
		s.log.Warn("process exited; restarting", "process", s.name, "err", err, "in", backoff)
		select {
		case <-s.stopCh:
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, restartBackoffMax)
		s.mu.Lock()
		s.restarts++
		s.mu.Unlock()
	}
}

var errStopped = errors.New("stopped")

// runOnce starts the process and waits until it exits (an error saying
// how) or the supervisor is stopped (errStopped, after stopping it).
func (s *supervisor) runOnce(markStarted func()) error {
	cmd, logf, err := s.command()
	if err != nil {
		markStarted()
		return err
	}
	defer func() { _ = logf.Close() }() // the process has its own descriptor; this one wrote nothing
	if err := cmd.Start(); err != nil {
		markStarted()
		return fmt.Errorf("start: %w", err)
	}
	pid := cmd.Process.Pid
	s.mu.Lock()
	s.pid, s.running = pid, true
	s.mu.Unlock()
	if s.onStart != nil {
		s.onStart(pid)
	}
	markStarted()
	s.log.Info("process started", "process", s.name, "pid", pid, "port", s.port)

	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var waitErr error
	stopped := false
	select {
	case waitErr = <-exited:
	case <-s.stopCh:
		stopped = true
		_ = syscall.Kill(-pid, syscall.SIGTERM)
		select {
		case waitErr = <-exited:
		case <-time.After(stopGrace):
			s.log.Warn("process did not stop within the grace period; killing it", "process", s.name, "pid", pid)
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			waitErr = <-exited
		}
	}
	// Whatever the leader left behind in its group goes with it.
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	s.mu.Lock()
	s.running = false
	s.mu.Unlock()
	if stopped {
		s.log.Info("process stopped", "process", s.name, "pid", pid)
		return errStopped
	}
	if waitErr == nil {
		return errors.New("exited with status 0")
	}
	return waitErr
}

// command builds the process from its spec (resolving the image afresh:
// it may have been rebuilt or have appeared since).
func (s *supervisor) command() (*exec.Cmd, *os.File, error) {
	dir, err := ImageDir(s.imagesDir, s.spec.Image)
	if err != nil {
		return nil, nil, err
	}
	path, args, err := resolveCommand(dir, s.spec.Command)
	if err != nil {
		return nil, nil, err
	}
	logf, err := os.OpenFile(s.logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("open log %s: %w", s.logPath, err)
	}
	cmd := exec.Command(path, args...)
	cmd.Dir = dir
	cmd.Env = processEnv(s.spec, s.port)
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd, logf, nil
}

// processEnv is PATH, HOME, LANG and TZ from the runtime, then the spec's
// variables, then PORT for a web process.
func processEnv(spec ProcessSpec, port int) []string {
	env := map[string]string{}
	for _, key := range inheritedEnv {
		if v, ok := os.LookupEnv(key); ok {
			env[key] = v
		}
	}
	maps.Copy(env, spec.Env)
	if spec.Web {
		env["PORT"] = strconv.Itoa(port)
	}
	out := make([]string, 0, len(env))
	for _, key := range slices.Sorted(maps.Keys(env)) {
		out = append(out, key+"="+env[key])
	}
	return out
}

// note appends a runtime line to the process's log, as best it can: a note
// it cannot write is dropped, as when the log cannot be opened.
func (s *supervisor) note(format string, args ...any) {
	f, err := os.OpenFile(s.logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return
	}
	defer func() { _ = f.Close() }()
	_, _ = fmt.Fprintf(f, "%s tenantfleet-local: %s\n", time.Now().UTC().Format(time.RFC3339), fmt.Sprintf(format, args...))
}

// processes manages the supervised processes.
type processes struct {
	log       *slog.Logger
	l         layout
	imagesDir string
	state     *stateStore

	opMu   sync.Mutex // serializes put, delete and stopAll (stopping takes a while)
	closed bool       // set by stopAll, under opMu: no more starts
	mu     sync.Mutex // guards procs
	procs  map[string]*supervisor
}

func newProcesses(log *slog.Logger, l layout, imagesDir string, state *stateStore) *processes {
	return &processes{log: log, l: l, imagesDir: imagesDir, state: state, procs: map[string]*supervisor{}}
}

// normalizeSpec makes equal specs compare equal (nil and empty alike).
func normalizeSpec(spec ProcessSpec) ProcessSpec {
	if len(spec.Env) == 0 {
		spec.Env = nil
	}
	if len(spec.Command) == 0 {
		spec.Command = nil
	}
	return spec
}

func (p *processes) put(ctx context.Context, spec ProcessSpec) (Process, error) {
	if err := validateProcessSpec(spec); err != nil {
		return Process{}, err
	}
	spec = normalizeSpec(spec)
	dir, err := ImageDir(p.imagesDir, spec.Image)
	if err != nil {
		return Process{}, err
	}
	if _, _, err := resolveCommand(dir, spec.Command); err != nil {
		return Process{}, err
	}

	p.opMu.Lock()
	defer p.opMu.Unlock()
	if p.closed {
		return Process{}, unavailable(errClosing.Error())
	}
	p.mu.Lock()
	current := p.procs[spec.Name]
	p.mu.Unlock()
	if current != nil && reflect.DeepEqual(current.spec, spec) {
		return current.snapshot(), nil
	}

	var port int
	p.state.read(func(st *desiredState) { port = st.Processes[spec.Name].Port })
	if current != nil {
		current.stop() // frees its port for its successor
	}
	if spec.Web {
		if port, err = keepOrPickPort(port); err != nil {
			return Process{}, fmt.Errorf("put process %q: %w", spec.Name, err)
		}
	} else {
		port = 0
	}
	if err := p.state.update(func(st *desiredState) error {
		st.Processes[spec.Name] = processState{Spec: spec, Port: port}
		return nil
	}); err != nil {
		return Process{}, fmt.Errorf("put process %q: %w", spec.Name, err)
	}
	s := p.launch(spec, port)
	select {
	case <-s.started:
	case <-ctx.Done():
	}
	p.log.Info("put process", "process", spec.Name, "image", spec.Image, "web", spec.Web, "port", port)
	return s.snapshot(), nil
}

// launch starts supervising a process and registers it.
func (p *processes) launch(spec ProcessSpec, port int) *supervisor {
	s := &supervisor{
		log:       p.log,
		name:      spec.Name,
		spec:      spec,
		port:      port,
		imagesDir: p.imagesDir,
		logPath:   p.l.processLog(spec.Name),
	}
	s.onStart = func(pid int) { p.recordPID(spec.Name, pid) }
	p.mu.Lock()
	p.procs[spec.Name] = s
	p.mu.Unlock()
	s.start()
	return s
}

// recordPID keeps the process group in the state so that a runtime that
// restarts after being killed can stop what its predecessor left running.
func (p *processes) recordPID(name string, pid int) {
	start, _ := processStartTime(pid)
	err := p.state.update(func(st *desiredState) error {
		ps, ok := st.Processes[name]
		if !ok {
			return nil
		}
		ps.PID, ps.PIDStart = pid, start
		st.Processes[name] = ps
		return nil
	})
	if err != nil {
		p.log.Warn("record process id", "process", name, "err", err)
	}
}

func (p *processes) get(name string) (Process, error) {
	if err := validateName("name", name); err != nil {
		return Process{}, err
	}
	p.mu.Lock()
	s := p.procs[name]
	p.mu.Unlock()
	if s == nil {
		return Process{}, notFound("process", name)
	}
	return s.snapshot(), nil
}

// delete stops the process and removes its log and state.
func (p *processes) delete(name string) error {
	if err := validateName("name", name); err != nil {
		return err
	}
	p.opMu.Lock()
	defer p.opMu.Unlock()
	if p.closed {
		return unavailable(errClosing.Error())
	}
	p.mu.Lock()
	s := p.procs[name]
	p.mu.Unlock()
	if s != nil {
		s.stop()
	}
	if err := p.state.update(func(st *desiredState) error {
		delete(st.Processes, name)
		return nil
	}); err != nil {
		return fmt.Errorf("delete process %q: %w", name, err)
	}
	p.mu.Lock()
	delete(p.procs, name)
	p.mu.Unlock()
	if err := os.Remove(p.l.processLog(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete process %q: remove log: %w", name, err)
	}
	p.log.Info("deleted process", "process", name)
	return nil
}

func (p *processes) list() []Process {
	p.mu.Lock()
	names := slices.Sorted(maps.Keys(p.procs))
	sups := make([]*supervisor, 0, len(names))
	for _, name := range names {
		sups = append(sups, p.procs[name])
	}
	p.mu.Unlock()
	out := make([]Process, 0, len(sups))
	for _, s := range sups {
		out = append(out, s.snapshot())
	}
	return out
}

// restore starts every process of the state, on its port where it is
// free, after stopping what a killed predecessor left running. It returns a
// warning for each web process whose port was taken.
func (p *processes) restore() ([]string, error) {
	var saved map[string]processState
	var warnings []string
	p.state.read(func(st *desiredState) { saved = maps.Clone(st.Processes) })
	for _, name := range slices.Sorted(maps.Keys(saved)) {
		ps := saved[name]
		killOrphan(p.log, name, ps.PID, ps.PIDStart)
	}
	for _, name := range slices.Sorted(maps.Keys(saved)) {
		ps := saved[name]
		port := 0
		if ps.Spec.Web {
			var warning string
			var err error
			if port, warning, err = keepSavedPort(fmt.Sprintf("web process %s", name), ps.Port); err != nil {
				return warnings, fmt.Errorf("restore process %q: %w", name, err)
			}
			if warning != "" {
				p.log.Warn(warning)
				warnings = append(warnings, warning)
			}
		}
		if err := p.state.update(func(st *desiredState) error {
			ps.Port, ps.PID, ps.PIDStart = port, 0, 0
			st.Processes[name] = ps
			return nil
		}); err != nil {
			return warnings, fmt.Errorf("restore process %q: %w", name, err)
		}
		p.launch(ps.Spec, port)
	}
	return warnings, nil
}

// stopAll stops every process (in parallel); their state stays.
func (p *processes) stopAll() {
	p.opMu.Lock()
	defer p.opMu.Unlock()
	p.closed = true
	p.mu.Lock()
	sups := slices.Collect(maps.Values(p.procs))
	p.mu.Unlock()
	var wg sync.WaitGroup
	for _, s := range sups {
		wg.Go(s.stop)
	}
	wg.Wait()
}

// killOrphan kills the process group pid leads when it is still the one
// the state recorded (same start time), i.e. left by a killed runtime.
func killOrphan(log *slog.Logger, name string, pid int, start uint64) {
	if pid <= 0 || start == 0 {
		return
	}
	now, err := processStartTime(pid)
	if err != nil || now != start {
		return
	}
	log.Warn("killing a process left running by a previous runtime", "process", name, "pid", pid)
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	waitGone(pid, 5*time.Second)
}

// processStartTime is the start time of pid in clock ticks since boot
// (field 22 of /proc/<pid>/stat).
func processStartTime(pid int) (uint64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; fields after it do not.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	fields := strings.Fields(s[i+1:])
	// fields[0] is field 3 (state); field 22 is fields[19].
	if len(fields) < 20 {
		return 0, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	return strconv.ParseUint(fields[19], 10, 64)
}
