package signup

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/tenantfleet/tenantfleet/internal/cost"
	"github.com/tenantfleet/tenantfleet/internal/engine"
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
	// steps, when not nil, collects the update's steps to price the stack.
	steps *cost.StepsFromEvents
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
	tmpl, err := o.svc.templateFor(ctx, t.TargetVersion)
	if err != nil {
		return fmt.Errorf("template version %s: %w", t.TargetVersion, err)
	}
	cfg, err := tmpl.StackConfig(t.Request)
	if err != nil {
		return river.JobCancel(err)
	}
	if t.Desired == DesiredPresent {
		o.steps = &cost.StepsFromEvents{}
		report, err := o.engine(ctx, engine.OpUp, cfg, engine.StackOptions{Refresh: t.Refresh})
		if err != nil {
			return err
		}
		outputs := tenantOutputs(report.Outputs, t.ID)
		p := Progress{State: StateReady, Attempts: o.attempt, LastError: ptr(""), Outputs: outputs, Ready: true,
			Version: cmp.Or(t.TargetVersion, o.svc.version), Resources: stackResources(o.steps.Steps())}
		if monthly, err := o.svc.pricer.monthly(t.Stack, cfg, o.steps.Steps()); err == nil {
			p.MonthlyCost = &monthly.After
		} else {
			o.svc.cfg.Logger.Warn("price the tenant's stack", "tenant", t.ID, "error", err)
		}
		_, err = o.svc.store.Update(context.WithoutCancel(ctx), t.ID, t.Generation, p)
		return err
	}
	return o.remove(ctx, cfg)
}

// remove destroys the tenant's stack and removes it from the backend.
func (o *operation) remove(ctx context.Context, cfg map[string]any) error {
	t := o.tenant
	var retained []RetainedResource
	opts := engine.StackOptions{Remove: true}
	switch {
	case t.DeleteOptions.Force:
		// Deletion protection lives in the cloud on most clouds (RDS,
		// Cloud SQL, an Azure lock): turn it off with an update first.
		setDeletionProtection(cfg, false)
		if _, err := o.engine(ctx, engine.OpUp, cfg, engine.StackOptions{}); err != nil && !isMissingStack(err) {
			return err
		}
	case t.DeleteOptions.RetainDatabase:
		report, err := o.engine(ctx, engine.OpExport, cfg, engine.StackOptions{})
		if err != nil {
			return err
		}
		var keep []string
		keep, retained = databaseSubtree(report.Deployment, t.ID)
		opts.Exclude = keep
		opts.RemoveKeepingResources = len(keep) > 0
	}
	if _, err := o.engine(ctx, engine.OpDestroy, cfg, opts); err != nil {
		return err
	}
	_, err := o.svc.store.Update(context.WithoutCancel(ctx), t.ID, t.Generation,
		Progress{State: StateDeleted, Attempts: o.attempt, LastError: ptr(""), Retained: retained, Deleted: true})
	return err
}

func isMissingStack(err error) bool {
	return errors.Is(err, engine.ErrStackNotFound)
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
func (o *operation) engine(ctx context.Context, op engine.Operation, cfg map[string]any, opts engine.StackOptions) (engine.Report, error) {
	s, t := o.svc, o.tenant
	opts.Stack = t.Stack
	opts.Backend = s.cfg.Backend
	opts.Config = cfg
	opts.Progress = io.Discard
	rec := newRecorder(s, t.ID)
	opts.Events = rec.handle
	if o.steps != nil && op == engine.OpUp {
		opts.Events = func(ev events.EngineEvent) {
			rec.handle(ev)
			o.steps.Handle(ev)
		}
	}
	if op != engine.OpExport {
		rec.add(EventOperation, map[string]any{"operation": op, "phase": "started", "attempt": o.attempt})
		rec.flush()
	}
	ctx = engine.WithEngineObserver(ctx, engineRecorder{svc: s, tenant: t.ID})

	if op == engine.OpUp && !o.pendingCleared {
		if o.firstOperation() {
			// Nothing can be pending in a stack that does not exist yet.
			opts.NewStack, o.pendingCleared = true, true
		} else {
			missing, err := o.clearPendingCreates(ctx, cfg)
			if err != nil {
				return engine.Report{}, o.failed(ctx, engine.OpRefresh, err, rec)
			}
			opts.NewStack = missing
		}
	}
	start := time.Now()
	report, err := o.stack(ctx, op, cfg, opts)
	if opts.NewStack && errors.Is(err, engine.ErrStackExists) {
		// The backend holds the stack already: a first attempt that was
		// interrupted after creating it, or a backend that outlived this
		// service's database. Check it as any existing stack, then update it.
		if _, err := o.clearPendingCreates(ctx, cfg); err != nil {
			return engine.Report{}, o.failed(ctx, engine.OpRefresh, err, rec)
		}
		opts.NewStack = false
		report, err = o.stack(ctx, op, cfg, opts)
	}
	if err == nil && op != engine.OpExport {
		rec.add(EventOperation, map[string]any{"operation": op, "phase": "succeeded", "changes": report.Changes,
			"seconds": math.Round(time.Since(start).Seconds()*10) / 10})
	}
	rec.flush()
	if op != engine.OpExport {
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
func (o *operation) stack(ctx context.Context, op engine.Operation, cfg map[string]any, opts engine.StackOptions) (engine.Report, error) {
	report, err := o.svc.cfg.Engine.Run(ctx, op, opts)
	if err != nil && isLocked(err) && !o.lockCleared && ctx.Err() == nil && o.clearStaleLock(ctx, cfg, err) {
		o.lockCleared = true
		report, err = o.svc.cfg.Engine.Run(ctx, op, opts)
	}
	return report, err
}

// failed records why an operation failed and says what the job does next:
// stop (cancelled or superseded), wait (the stack is locked by a live
// operation), give up (a configuration error), or retry with backoff.
func (o *operation) failed(ctx context.Context, op engine.Operation, err error, rec *recorder) error {
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
	kind := "failed"
	if engine.KindOf(err) == engine.KindUsage {
		kind = "configuration"
	}
	s.metrics.EngineError(string(op), kind)
	rec.add(EventOperation, map[string]any{"operation": op, "phase": "failed", "error": err.Error()})
	if kind == "configuration" {
		return river.JobCancel(err)
	}
	return err
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
	maxAttempts := o.job.MaxAttempts
	if t.MaxAttempts > 0 {
		maxAttempts = min(maxAttempts, t.MaxAttempts)
	}
	final := errors.As(err, &cancel) || o.attempt >= maxAttempts
	state := stateOf(t)
	if final {
		state = StateFailed
		if cancel == nil && o.attempt < o.job.MaxAttempts {
			err = river.JobCancel(err) // the generation's own tries are spent
		}
	} else {
		msg += fmt.Sprintf(" (attempt %d of %d; retrying)", o.attempt, maxAttempts)
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

// stackResources lists the resources a stack holds after an update, from
// the update's steps (every resource has one, unchanged ones a "same").
func stackResources(steps []cost.Step) []StackResource {
	out := []StackResource{}
	seen := map[string]bool{}
	for _, st := range steps {
		if st.New == nil || seen[st.URN] {
			continue
		}
		switch st.Op {
		case "delete", "delete-replaced", "discard", "discard-replaced", "remove-pending-replace":
			continue
		}
		seen[st.URN] = true
		out = append(out, StackResource{URN: st.URN, Type: st.Type, Parent: st.New.Parent, Custom: st.New.Custom})
	}
	return out
}
