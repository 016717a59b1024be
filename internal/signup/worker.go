package signup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/tenantfleet/tenantfleet/internal/cli"
)

// Lease timing: a working job renews its lease every leaseRenew; a lease
// not renewed for leaseTTL is a dead job's.
const (
	leaseTTL   = 30 * time.Second
	leaseRenew = 10 * time.Second
	// lockedRetry is how long a job waits when the stack is locked by an
	// operation that is still alive.
	lockedRetry = 5 * time.Second
)

// reconcileWorker carries out a tenant's generation: up for present,
// destroy and remove for absent.
type reconcileWorker struct {
	river.WorkerDefaults[ReconcileArgs]
	svc *Service
}

// Timeout bounds the whole job: the operation, and for a forced delete the
// update before the destroy.
func (w *reconcileWorker) Timeout(*river.Job[ReconcileArgs]) time.Duration {
	return w.svc.cfg.OperationTimeout
}

// errSuperseded ends an operation whose tenant was asked for something
// newer; errCancelled one an operator cancelled.
// errLeaseLost one whose lease another job took (it had stopped renewing);
// errShutdown one the stopping service interrupted.
var (
	errSuperseded = errors.New("superseded by a newer request")
	errCancelled  = errors.New("cancelled at an operator's request")
	errLeaseLost  = errors.New("lost the tenant's lease to another job")
	errShutdown   = errors.New("interrupted by a shutdown; resumes when the service starts again")
)

func (w *reconcileWorker) Work(ctx context.Context, job *river.Job[ReconcileArgs]) error {
	s := w.svc
	args := job.Args
	t, err := s.store.Get(ctx, args.Tenant)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if t.Generation != args.Generation {
		return nil // a newer job carries the newer request
	}
	if t.State.Settled() {
		return nil // done already (a requeued duplicate)
	}
	// The lease is the job's own: two jobs of one process (a delete's and
	// the provisioning it supersedes) never hold it together.
	owner := s.instance + "/" + strconv.FormatInt(job.ID, 10)
	got, err := s.store.AcquireLease(ctx, t.ID, owner, leaseTTL)
	if err != nil {
		return err
	}
	if !got {
		return river.JobSnooze(2 * time.Second)
	}
	defer func() {
		_ = s.store.ReleaseLease(context.WithoutCancel(ctx), t.ID, owner)
	}()
	s.metrics.JobStarted()
	defer s.metrics.JobEnded()

	opCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		w.watch(opCtx, t.ID, owner, args.Generation, stop)
	}()
	defer func() { stop(nil); <-watchDone }()

	op := &operation{svc: s, tenant: t, job: job, attempt: job.Attempt}
	if t.CancelGeneration == t.Generation {
		return op.finish(errCancelled)
	}
	return op.finish(op.run(opCtx))
}

// watch renews the lease and stops the operation when the tenant's request
// changes (a delete during provisioning) or a cancel is asked for. It polls
// the database, so it works whichever replica took the request.
func (w *reconcileWorker) watch(ctx context.Context, id, owner string, gen int64, stop context.CancelCauseFunc) {
	s := w.svc
	poll := time.NewTicker(time.Second)
	defer poll.Stop()
	lastRenew := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-poll.C:
		}
		if time.Since(lastRenew) >= leaseRenew {
			ok, err := s.store.RenewLease(ctx, id, owner, leaseTTL)
			if err == nil && !ok {
				stop(errLeaseLost)
				return
			}
			if err == nil {
				lastRenew = time.Now()
			}
		}
		t, err := s.store.Get(ctx, id)
		if err != nil {
			continue
		}
		switch {
		case t.Generation != gen:
			stop(errSuperseded)
			return
		case t.CancelGeneration == gen:
			stop(errCancelled)
			return
		}
	}
}

// operation is one job's work on one tenant.
type operation struct {
	svc     *Service
	tenant  Tenant
	job     *river.Job[ReconcileArgs]
	attempt int
	// lockCleared and pendingCleared: a dead engine's stale lock, or the
	// pending creates it left, were dealt with once in this job already.
	lockCleared, pendingCleared bool
}

func (o *operation) run(ctx context.Context) error {
	t := o.tenant
	state := StateProvisioning
	if t.Desired == DesiredAbsent {
		state = StateDeprovisioning
	}
	if _, err := o.svc.store.Update(ctx, t.ID, t.Generation, Progress{State: state, Attempts: o.attempt}); err != nil {
		return err
	}
	cfg, err := o.svc.cfg.Template.StackConfig(t.Request)
	if err != nil {
		return river.JobCancel(err)
	}
	if t.Desired == DesiredPresent {
		report, err := o.engine(ctx, cli.OpUp, cfg, cli.StackOptions{})
		if err != nil {
			return err
		}
		outputs := tenantOutputs(report.Outputs, t.ID)
		_, err = o.svc.store.Update(context.WithoutCancel(ctx), t.ID, t.Generation,
			Progress{State: StateReady, Attempts: o.attempt, LastError: ptr(""), Outputs: outputs, Ready: true})
		return err
	}
	return o.remove(ctx, cfg)
}

// remove destroys the tenant's stack and removes it from the backend.
func (o *operation) remove(ctx context.Context, cfg map[string]any) error {
	t := o.tenant
	var retained []RetainedResource
	opts := cli.StackOptions{Remove: true}
	switch {
	case t.DeleteOptions.Force:
		// Deletion protection lives in the cloud on most clouds (RDS,
		// Cloud SQL, an Azure lock): turn it off with an update first.
		setDeletionProtection(cfg, false)
		if _, err := o.engine(ctx, cli.OpUp, cfg, cli.StackOptions{}); err != nil && !isMissingStack(err) {
			return err
		}
	case t.DeleteOptions.RetainDatabase:
		report, err := o.engine(ctx, cli.OpExport, cfg, cli.StackOptions{})
		if err != nil {
			return err
		}
		var keep []string
		keep, retained = databaseSubtree(report.Deployment, t.ID)
		opts.Exclude = keep
		opts.RemoveKeepingResources = len(keep) > 0
	}
	if _, err := o.engine(ctx, cli.OpDestroy, cfg, opts); err != nil {
		return err
	}
	_, err := o.svc.store.Update(context.WithoutCancel(ctx), t.ID, t.Generation,
		Progress{State: StateDeleted, Attempts: o.attempt, LastError: ptr(""), Retained: retained, Deleted: true})
	return err
}

func isMissingStack(err error) bool {
	return strings.Contains(err.Error(), "does not exist")
}

func setDeletionProtection(cfg map[string]any, on bool) {
	tenants, _ := cfg["tenantfleet:tenants"].([]any)
	for _, raw := range tenants {
		spec, _ := raw.(map[string]any)
		if spec == nil {
			continue
		}
		db, _ := spec["database"].(map[string]any)
		if db == nil {
			db = map[string]any{}
		}
		db["deletionProtection"] = on
		spec["database"] = db
	}
}

// engine runs one engine operation on the tenant's stack, recording its
// events and engine processes, and recovering once from what a dead
// engine of this service left: a stale lock, pending creates.
func (o *operation) engine(ctx context.Context, op cli.Operation, cfg map[string]any, opts cli.StackOptions) (cli.Report, error) {
	s, t := o.svc, o.tenant
	opts.Stack = t.Stack
	opts.Backend = s.cfg.Backend
	opts.Config = cfg
	opts.Progress = io.Discard
	rec := newRecorder(s, t.ID)
	opts.Events = rec.handle
	if op != cli.OpExport {
		rec.add(EventOperation, map[string]any{"operation": op, "phase": "started", "attempt": o.attempt})
		rec.flush()
	}
	ctx = cli.WithEngineObserver(ctx, engineRecorder{svc: s, tenant: t.ID})

	if op == cli.OpUp && !o.pendingCleared {
		if o.firstOperation() {
			// Nothing can be pending in a stack that does not exist yet.
			opts.NewStack, o.pendingCleared = true, true
		} else {
			missing, err := o.clearPendingCreates(ctx, cfg)
			if err != nil {
				return cli.Report{}, o.failed(ctx, cli.OpRefresh, err, rec)
			}
			opts.NewStack = missing
		}
	}
	start := time.Now()
	report, err := o.stack(ctx, op, cfg, opts)
	if opts.NewStack && errors.Is(err, cli.ErrStackExists) {
		// The backend holds the stack already: a first attempt that was
		// interrupted after creating it, or a backend that outlived this
		// service's database. Check it as any existing stack, then update it.
		if _, err := o.clearPendingCreates(ctx, cfg); err != nil {
			return cli.Report{}, o.failed(ctx, cli.OpRefresh, err, rec)
		}
		opts.NewStack = false
		report, err = o.stack(ctx, op, cfg, opts)
	}
	if err == nil && op != cli.OpExport {
		rec.add(EventOperation, map[string]any{"operation": op, "phase": "succeeded", "changes": report.Changes,
			"seconds": math.Round(time.Since(start).Seconds()*10) / 10})
	}
	rec.flush()
	if op != cli.OpExport {
		result := "succeeded"
		if err != nil {
			result = "failed"
		}
		s.metrics.OperationDone(string(op), result, time.Since(start))
	}
	if err != nil {
		return report, o.failed(ctx, op, err, rec)
	}
	return report, nil
}

// firstOperation reports whether this is the first operation ever on the
// tenant's stack: the first attempt of the first generation of its record.
// The stack does not exist then, and the update creates it without asking
// the engine first (StackOptions.NewStack); if it does exist after all
// (the engine says so, ErrStackExists), it is treated as any other.
func (o *operation) firstOperation() bool {
	return o.tenant.Generation == 1 && o.attempt == 1
}

// stack runs one stack operation; when the stack is locked by this
// service's own dead engine, it clears the lock (once per job) and runs
// the operation again.
func (o *operation) stack(ctx context.Context, op cli.Operation, cfg map[string]any, opts cli.StackOptions) (cli.Report, error) {
	report, err := o.svc.cfg.App.Stack(ctx, op, opts)
	if err != nil && isLocked(err) && !o.lockCleared && ctx.Err() == nil && o.clearStaleLock(ctx, cfg, err) {
		o.lockCleared = true
		report, err = o.svc.cfg.App.Stack(ctx, op, opts)
	}
	return report, err
}

// failed records why an operation failed and says what the job does next:
// stop (cancelled or superseded), wait (the stack is locked by a live
// operation), give up (a configuration error), or retry with backoff.
func (o *operation) failed(ctx context.Context, op cli.Operation, err error, rec *recorder) error {
	s := o.svc
	defer rec.flush()
	if cause := context.Cause(ctx); cause != nil && ctx.Err() != nil {
		if !errors.Is(cause, errSuperseded) && !errors.Is(cause, errCancelled) && !errors.Is(cause, errLeaseLost) {
			cause = errShutdown // River's stop, or the job's timeout
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				cause = fmt.Errorf("the operation ran longer than --operation-timeout (%s)", o.svc.cfg.OperationTimeout)
			}
		}
		rec.add(EventOperation, map[string]any{"operation": op, "phase": "cancelled", "reason": cause.Error()})
		return cause
	}
	if isLocked(err) {
		s.metrics.EngineError(string(op), "locked")
		rec.add(EventOperation, map[string]any{"operation": op, "phase": "waiting",
			"reason": "the stack is locked by another operation; waiting for it to end"})
		return river.JobSnooze(lockedRetry)
	}
	var exitErr *cli.ExitError
	kind := "failed"
	if errors.As(err, &exitErr) && exitErr.Code == cli.ExitUsage {
		kind = "configuration"
	}
	s.metrics.EngineError(string(op), kind)
	rec.add(EventOperation, map[string]any{"operation": op, "phase": "failed", "error": err.Error()})
	if kind == "configuration" {
		return river.JobCancel(err)
	}
	return err
}

func isLocked(err error) bool {
	return strings.Contains(err.Error(), "is locked by another operation")
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
	if _, err := s.cfg.App.Stack(ctx, cli.OpCancel, cli.StackOptions{Stack: t.Stack, Backend: s.cfg.Backend, Config: cfg, Progress: io.Discard}); err != nil {
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

// clearPendingCreates drops the creates a killed engine left pending in the
// state (refresh --clear-pending-creates), so that the update creates them
// again: local cloud resources are created idempotently (adopted); on other
// clouds such a resource may have been created, so the event names them.
// It reports whether the stack is missing, as its export found.
func (o *operation) clearPendingCreates(ctx context.Context, cfg map[string]any) (missing bool, err error) {
	s, t := o.svc, o.tenant
	o.pendingCleared = true
	report, err := s.cfg.App.Stack(ctx, cli.OpExport, cli.StackOptions{Stack: t.Stack, Backend: s.cfg.Backend, Config: cfg, Progress: io.Discard})
	if err != nil {
		return false, nil // a read the update will redo
	}
	if report.Deployment == nil {
		return true, nil // a stack not yet created
	}
	var dep struct {
		Pending []struct {
			Type     string `json:"type"`
			Resource struct {
				URN string `json:"urn"`
			} `json:"resource"`
		} `json:"pending_operations"`
	}
	if json.Unmarshal(report.Deployment, &dep) != nil || len(dep.Pending) == 0 {
		return false, nil
	}
	var urns []string
	for _, p := range dep.Pending {
		if p.Type == "creating" {
			urns = append(urns, p.Resource.URN)
		}
	}
	if len(urns) == 0 {
		return false, nil
	}
	rec := newRecorder(s, t.ID)
	rec.add(EventOperation, map[string]any{"operation": "refresh", "phase": "started",
		"reason":  "a killed engine left creates pending; clearing them so the update creates (or adopts) them again",
		"pending": urns})
	rec.flush()
	_, err = o.stack(ctx, cli.OpRefresh, cfg, cli.StackOptions{Stack: t.Stack, Backend: s.cfg.Backend, Config: cfg,
		Progress: io.Discard, ClearPendingCreates: true, Events: rec.handle})
	if err != nil {
		o.pendingCleared = false // try again with the next attempt
	}
	rec.flush()
	return false, err
}

// finish turns the operation's outcome into the tenant's state and the
// job's: done, retried later, snoozed, or given up.
func (o *operation) finish(err error) error {
	s, t := o.svc, o.tenant
	ctx := context.Background()
	var snooze *rivertype.JobSnoozeError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errSuperseded), errors.Is(err, errLeaseLost):
		return nil
	case errors.Is(err, errCancelled):
		_, uerr := s.store.Update(ctx, t.ID, t.Generation, Progress{State: StateFailed, Attempts: o.attempt, LastError: ptr(errCancelled.Error())})
		return uerr
	case errors.As(err, &snooze):
		return err
	case errors.Is(err, errShutdown):
		// The job runs again as soon as a replica works again.
		_, _ = s.store.Update(ctx, t.ID, t.Generation, Progress{State: stateOf(t), Attempts: o.attempt, LastError: ptr(errShutdown.Error())})
		return river.JobSnooze(0)
	}
	msg := err.Error()
	var cancel *rivertype.JobCancelError
	final := errors.As(err, &cancel) || o.attempt >= o.job.MaxAttempts
	state := stateOf(t)
	if final {
		state = StateFailed
	} else {
		msg += fmt.Sprintf(" (attempt %d of %d; retrying)", o.attempt, o.job.MaxAttempts)
	}
	if _, uerr := s.store.Update(ctx, t.ID, t.Generation, Progress{State: state, Attempts: o.attempt, LastError: &msg}); uerr != nil {
		return uerr
	}
	return err
}

func stateOf(t Tenant) State {
	if t.Desired == DesiredAbsent {
		return StateDeprovisioning
	}
	return StateProvisioning
}

func ptr[T any](v T) *T { return &v }

// tenantOutputs picks the tenant's own outputs from the stack's
// ("tenants": {id: {...}}); secrets are already "[secret]".
func tenantOutputs(outputs map[string]any, id string) map[string]any {
	tenants, _ := outputs["tenants"].(map[string]any)
	mine, _ := tenants[id].(map[string]any)
	if mine == nil {
		return map[string]any{}
	}
	return mine
}

// databaseSubtree returns the URNs a delete with retainDatabase must leave
// alone — the tenant's database resources (named <tenant>-db...), what they
// depend on, their parents and the providers — and the cloud resources
// among them, which stay behind.
func databaseSubtree(deployment json.RawMessage, tenant string) ([]string, []RetainedResource) {
	var dep apitype.DeploymentV3
	if len(deployment) == 0 || json.Unmarshal(deployment, &dep) != nil {
		return nil, nil
	}
	byURN := map[string]apitype.ResourceV3{}
	for _, r := range dep.Resources {
		byURN[string(r.URN)] = r
	}
	keep := map[string]bool{}
	var visit func(urn string)
	visit = func(urn string) {
		if keep[urn] {
			return
		}
		r, ok := byURN[urn]
		if !ok {
			return
		}
		keep[urn] = true
		for _, d := range r.Dependencies {
			visit(string(d))
		}
		if r.Parent != "" {
			visit(string(r.Parent))
		}
		if r.Provider != "" {
			if i := strings.LastIndex(r.Provider, "::"); i >= 0 {
				visit(r.Provider[:i])
			}
		}
	}
	for _, r := range dep.Resources {
		if r.Custom && strings.HasPrefix(r.URN.Name(), tenant+"-db") {
			visit(string(r.URN))
		}
	}
	var urns []string
	var retained []RetainedResource
	for _, r := range dep.Resources {
		if !keep[string(r.URN)] {
			continue
		}
		urns = append(urns, string(r.URN))
		if r.Custom && !strings.HasPrefix(string(r.Type), "pulumi:providers:") {
			retained = append(retained, RetainedResource{URN: string(r.URN), Type: string(r.Type), ID: string(r.ID)})
		}
	}
	return urns, retained
}

// engineRecorder records the engine processes of a tenant's operations.
type engineRecorder struct {
	svc    *Service
	tenant string
}

func (e engineRecorder) Started(pid int) {
	_ = e.svc.store.RecordEngine(context.Background(), EngineRun{TenantID: e.tenant, Replica: e.svc.cfg.ReplicaID, Host: e.svc.host, PID: pid})
}

func (e engineRecorder) Ended(pid int) {
	_ = e.svc.store.ForgetEngine(context.Background(), e.tenant, e.svc.host, pid)
}

// recorder turns engine events into the tenant's events, written in batches.
type recorder struct {
	svc    *Service
	tenant string

	mu      sync.Mutex
	pending []Event
	started map[string]time.Time
	last    time.Time
}

func newRecorder(s *Service, tenant string) *recorder {
	return &recorder{svc: s, tenant: tenant, started: map[string]time.Time{}}
}

func (r *recorder) add(typ string, data map[string]any) {
	b, err := json.Marshal(data)
	if err != nil {
		return
	}
	r.mu.Lock()
	r.pending = append(r.pending, Event{TenantID: r.tenant, At: time.Now(), Type: typ, Data: b})
	r.mu.Unlock()
}

// handle records a resource step or an engine diagnostic; flushes at most
// every 250 ms (and at the end of the operation).
func (r *recorder) handle(ev events.EngineEvent) {
	switch {
	case ev.ResourcePreEvent != nil:
		m := ev.ResourcePreEvent.Metadata
		if m.Op == apitype.OpSame {
			return
		}
		r.mu.Lock()
		r.started[m.URN] = time.Now()
		r.mu.Unlock()
		r.add(EventResource, map[string]any{"urn": m.URN, "type": m.Type, "op": m.Op, "status": "started"})
	case ev.ResOutputsEvent != nil:
		m := ev.ResOutputsEvent.Metadata
		if m.Op == apitype.OpSame {
			return
		}
		data := map[string]any{"urn": m.URN, "type": m.Type, "op": m.Op, "status": "done"}
		r.mu.Lock()
		if t, ok := r.started[m.URN]; ok {
			data["seconds"] = math.Round(time.Since(t).Seconds()*10) / 10
		}
		r.mu.Unlock()
		r.add(EventResource, data)
	case ev.ResOpFailedEvent != nil:
		m := ev.ResOpFailedEvent.Metadata
		r.add(EventResource, map[string]any{"urn": m.URN, "type": m.Type, "op": m.Op, "status": "failed"})
	case ev.DiagnosticEvent != nil:
		d := ev.DiagnosticEvent
		if d.Ephemeral || (d.Severity != "error" && d.Severity != "warning") {
			return
		}
		msg := strings.TrimSpace(cli.StripColor(d.Message))
		if msg == "" || strings.Contains(msg, "-local from $PATH") {
			return // the local cloud's plugin is meant to be found on PATH
		}
		data := map[string]any{"severity": d.Severity, "message": msg}
		if d.URN != "" {
			data["urn"] = d.URN
		}
		r.add(EventDiagnostic, data)
	default:
		return
	}
	r.mu.Lock()
	due := time.Since(r.last) >= 250*time.Millisecond
	r.mu.Unlock()
	if due {
		r.flush()
	}
}

func (r *recorder) flush() {
	r.mu.Lock()
	batch := r.pending
	r.pending = nil
	r.last = time.Now()
	r.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	if err := r.svc.store.AddEvents(context.Background(), batch); err != nil {
		r.svc.cfg.Logger.Error("record engine events", "tenant", r.tenant, "error", err)
		return
	}
	r.svc.notify()
}

// retryPolicy retries a failed operation after 10 s, 20 s, 40 s ... up to
// 10 minutes, with ±10 % jitter.
type retryPolicy struct{}

func (retryPolicy) NextRetry(job *rivertype.JobRow) time.Time {
	d := 10 * time.Second * time.Duration(1<<min(job.Attempt-1, 6))
	if d > 10*time.Minute {
		d = 10 * time.Minute
	}
	jitter := time.Duration(float64(d) * 0.1 * (2*rand.Float64() - 1))
	return time.Now().Add(d + jitter)
}
