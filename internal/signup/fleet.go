package signup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tenantfleet/tenantfleet/internal/cost"
	"github.com/tenantfleet/tenantfleet/internal/engine"
)

// fleetPoll is how often the fleet runner looks for rollouts and drift
// checks to drive, and how often a driver looks at its tenants when
// nothing wakes it sooner.
const fleetPoll = time.Second

// fleetRunner drives rollouts and drift checks. Their state is in the
// store; a driver holds a lease on its rollout (or check), as a job does on
// its tenant, so one process drives each, and a process that starts after
// a crash picks up where the dead one was: tenant updates are tenant
// generations (River jobs, recovered as any), previews and health gates
// are read-only and run again.
type fleetRunner struct {
	svc *Service
	wg  sync.WaitGroup

	mu sync.Mutex
	// driving holds the rollouts and checks this process drives
	// ("rollout/3", "drift/5"); busy the tenant work running in it
	// ("rollout/3/acme").
	driving map[string]bool
	busy    map[string]bool
	// drift bounds the tenants drift checks refresh at once, across
	// checks (--drift-parallel).
	drift chan struct{}
}

func newFleetRunner(s *Service) *fleetRunner {
	return &fleetRunner{svc: s, driving: map[string]bool{}, busy: map[string]bool{}, drift: make(chan struct{}, s.cfg.DriftParallel)}
}

// claim marks key as taken by this process; false if it already was.
func (f *fleetRunner) claim(set map[string]bool, key string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if set[key] {
		return false
	}
	set[key] = true
	return true
}

func (f *fleetRunner) unclaim(set map[string]bool, key string) {
	f.mu.Lock()
	delete(set, key)
	f.mu.Unlock()
}

func (f *fleetRunner) isBusy(key string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.busy[key]
}

// run drives the fleet's rollouts and drift checks until ctx is done, then
// waits for the drivers to stop.
func (f *fleetRunner) run(ctx context.Context) {
	s := f.svc
	if s.cfg.UpdatePolicy == UpdateAutomatic {
		if err := f.automaticRollout(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Logger.Error("start the automatic rollout", "error", err)
		}
	}
	tick := time.NewTicker(fleetPoll)
	defer tick.Stop()
	for {
		f.startDrivers(ctx)
		if s.cfg.DriftInterval > 0 {
			f.periodicDrift(ctx)
		}
		select {
		case <-ctx.Done():
			f.wg.Wait()
			return
		case <-tick.C:
		}
	}
}

func (f *fleetRunner) startDrivers(ctx context.Context) {
	s := f.svc
	rollouts, err := s.store.RolloutsToDrive(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.cfg.Logger.Error("look for rollouts to drive", "error", err)
		}
		return
	}
	for _, id := range rollouts {
		f.startDriver(ctx, "tenantfleet_rollout", "rollout/"+strconv.FormatInt(id, 10), id, f.driveRollout)
	}
	checks, err := s.store.DriftChecksToDrive(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.cfg.Logger.Error("look for drift checks to run", "error", err)
		}
		return
	}
	for _, id := range checks {
		f.startDriver(ctx, "tenantfleet_drift_check", "drift/"+strconv.FormatInt(id, 10), id, f.driveDrift)
	}
}

// startDriver takes the lease of a rollout or check and drives it in a
// goroutine that renews the lease and releases it when done.
func (f *fleetRunner) startDriver(ctx context.Context, table, key string, id int64, drive func(context.Context, int64) error) {
	s := f.svc
	if !f.claim(f.driving, key) {
		return
	}
	owner := s.instance + "/" + key
	got, err := s.store.leaseTable(ctx, table, id, owner, leaseTTL, false)
	if err != nil || !got {
		f.unclaim(f.driving, key)
		return
	}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		defer f.unclaim(f.driving, key)
		dctx, stop := context.WithCancel(ctx)
		renewed := make(chan struct{})
		go func() {
			defer close(renewed)
			t := time.NewTicker(leaseRenew)
			defer t.Stop()
			for {
				select {
				case <-dctx.Done():
					return
				case <-t.C:
				}
				if ok, err := s.store.leaseTable(dctx, table, id, owner, leaseTTL, false); err == nil && !ok {
					s.cfg.Logger.Warn("lost the lease of a fleet operation; another process drives it", "operation", key)
					stop()
					return
				}
			}
		}()
		err := drive(dctx, id)
		stop()
		<-renewed
		if err != nil && ctx.Err() == nil {
			s.cfg.Logger.Error("fleet operation", "operation", key, "error", err)
		}
		_, _ = s.store.leaseTable(context.WithoutCancel(ctx), table, id, owner, 0, true)
	}()
}

// wait sleeps until the service records something, a poll passes, or ctx ends.
func (f *fleetRunner) wait(ctx context.Context, changed <-chan struct{}) {
	t := time.NewTimer(fleetPoll)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-changed:
	case <-t.C:
	}
}

// spawn runs work for a rollout's or check's tenant in a goroutine, once
// at a time per key.
func (f *fleetRunner) spawn(key string, work func()) bool {
	if !f.claim(f.busy, key) {
		return false
	}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		defer f.unclaim(f.busy, key)
		work()
	}()
	return true
}

// withTenantLease runs fn holding the tenant's lease (one operation per
// stack, shared with the tenant's jobs), waiting for it while another
// holds it; the lease is renewed while fn runs.
func (f *fleetRunner) withTenantLease(ctx context.Context, tenant, owner string, fn func(context.Context) error) error {
	s := f.svc
	for {
		got, err := s.store.AcquireLease(ctx, tenant, owner, leaseTTL)
		if err != nil {
			return err
		}
		if got {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
	defer func() { _ = s.store.ReleaseLease(context.WithoutCancel(ctx), tenant, owner) }()
	// The engine processes are recorded as a job's are: a lock a killed
	// one leaves is then known to be this service's, and cleared.
	ctx = engine.WithEngineObserver(ctx, engineRecorder{svc: s, tenant: tenant})
	fctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	go func() {
		t := time.NewTicker(leaseRenew)
		defer t.Stop()
		for {
			select {
			case <-fctx.Done():
				return
			case <-t.C:
				if ok, err := s.store.RenewLease(fctx, tenant, owner, leaseTTL); err == nil && !ok {
					stop(errLeaseLost) // another operation may run on the stack now
					return
				}
			}
		}
	}()
	err := fn(fctx)
	if cause := context.Cause(fctx); errors.Is(cause, errLeaseLost) {
		return cause
	}
	return err
}

// tenantConfig is the stack config of tenant t with the template of version.
func (f *fleetRunner) tenantConfig(ctx context.Context, t Tenant, version string) (map[string]any, error) {
	tmpl, err := f.svc.templateFor(ctx, version)
	if err != nil {
		return nil, fmt.Errorf("template version %s: %w", version, err)
	}
	return tmpl.StackConfig(t.Request)
}

// ---- rollouts ----

// driveRollout advances a rollout until it is final, or waits for an
// operator (paused, halted), with no tenant update in flight.
func (f *fleetRunner) driveRollout(ctx context.Context, id int64) error {
	s := f.svc
	for ctx.Err() == nil {
		changed := s.EventsChanged()
		r, err := s.store.GetRollout(ctx, id)
		if err != nil {
			return err
		}
		if err := f.track(ctx, r); err != nil {
			return err
		}
		if r, err = s.store.GetRollout(ctx, id); err != nil {
			return err
		}
		inFlight := r.Counts[string(TenantUpdating)] + r.Counts[string(TenantVerifying)]
		switch r.State {
		case RolloutPlanning:
			if err := f.plan(ctx, r); err != nil {
				return err
			}
		case RolloutRolling:
			if err := f.roll(ctx, r, inFlight); err != nil {
				return err
			}
		default:
			if inFlight == 0 {
				return nil // final, or waiting for an operator
			}
		}
		f.wait(ctx, changed)
	}
	return nil
}

// track follows the rollout's tenants in flight: an update that ended
// moves to the health gate (or failed); a gate not running here (a
// restart) runs again.
func (f *fleetRunner) track(ctx context.Context, r Rollout) error {
	s := f.svc
	for _, rt := range r.Tenants {
		switch rt.Status {
		case TenantUpdating:
			t, err := s.store.Get(ctx, rt.Tenant)
			if err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
			var u *rolloutTenantUpdate
			switch {
			case errors.Is(err, ErrNotFound) || t.Generation != rt.generation:
				u = &rolloutTenantUpdate{Status: TenantSkipped, Error: "superseded: the tenant was asked for something else meanwhile (a delete, a signup or a reconcile)"}
			case t.State == StateReady:
				u = &rolloutTenantUpdate{Status: TenantVerifying}
			case t.State == StateFailed:
				u = &rolloutTenantUpdate{Status: TenantFailed, Error: "update: " + t.LastError}
			}
			if u != nil {
				if _, err := s.store.UpdateRolloutTenant(ctx, r.ID, rt.Tenant, []TenantStatus{TenantUpdating}, rt.generation, *u); err != nil {
					return err
				}
				if u.Status == TenantFailed || u.Status == TenantSkipped {
					s.metrics.rolloutTenant(string(u.Status))
				}
				s.notify()
			}
		case TenantVerifying:
			key := fmt.Sprintf("rollout/%d/%s", r.ID, rt.Tenant)
			rt := rt
			f.spawn(key, func() { f.gate(ctx, r, rt) })
		}
	}
	return nil
}

// plan previews every pending tenant with the rollout's version (at most
// maxParallel at once); once all are, the rollout is planned (a dry run),
// halted (more previews failed than maxFailures) or starts rolling.
func (f *fleetRunner) plan(ctx context.Context, r Rollout) error {
	s := f.svc
	running := 0
	for _, rt := range r.Tenants {
		if rt.Status == TenantPending && f.isBusy(fmt.Sprintf("rollout/%d/%s", r.ID, rt.Tenant)) {
			running++
		}
	}
	pending := 0
	for _, rt := range r.Tenants {
		if rt.Status != TenantPending {
			continue
		}
		pending++
		if running >= r.Spec.MaxParallel {
			continue
		}
		key := fmt.Sprintf("rollout/%d/%s", r.ID, rt.Tenant)
		rt := rt
		if f.spawn(key, func() { f.preview(ctx, r, rt) }) {
			running++
		}
	}
	if pending > 0 {
		return nil
	}
	failed := r.Counts[string(TenantFailed)]
	switch {
	case failed > r.Spec.MaxFailures:
		_, err := s.store.TransitionRollout(ctx, r.ID, []RolloutState{RolloutPlanning}, RolloutHalted,
			fmt.Sprintf("the preview of %d tenant(s) failed, more than maxFailures (%d): %s; fix them, then resume",
				failed, r.Spec.MaxFailures, failedNames(r)), nil)
		return ignoreConflict(err)
	case r.Spec.DryRun:
		_, err := s.store.TransitionRollout(ctx, r.ID, []RolloutState{RolloutPlanning}, RolloutPlanned, "", nil)
		return ignoreConflict(err)
	}
	if _, err := s.store.TransitionRollout(ctx, r.ID, []RolloutState{RolloutPlanning}, RolloutRolling, "", nil); err != nil {
		return ignoreConflict(err)
	}
	return nil
}

func failedNames(r Rollout) string {
	var names []string
	for _, rt := range r.Tenants {
		if rt.Status == TenantFailed {
			names = append(names, rt.Tenant)
		}
	}
	return strings.Join(first(names, 10), ", ")
}

// ignoreConflict drops the ConflictError of a transition an operator's
// own (pause, cancel) overtook.
func ignoreConflict(err error) error {
	var ce *ConflictError
	if errors.As(err, &ce) {
		return nil
	}
	return err
}

// preview plans one tenant: its changes and cost with the new version.
func (f *fleetRunner) preview(ctx context.Context, r Rollout, rt RolloutTenant) {
	s := f.svc
	u := rolloutTenantUpdate{Status: TenantPlanned, Plan: true}
	err := f.withTenantLease(ctx, rt.Tenant, fmt.Sprintf("%s/rollout/%d", s.instance, r.ID), func(ctx context.Context) error {
		t, err := s.store.Get(ctx, rt.Tenant)
		if err != nil {
			return err
		}
		cfg, err := f.tenantConfig(ctx, t, r.Version)
		if err != nil {
			return err
		}
		steps := &cost.StepsFromEvents{}
		report, err := s.cfg.Engine.Run(ctx, engine.OpPreview, engine.StackOptions{Stack: t.Stack, Backend: s.cfg.Backend,
			Config: cfg, Events: steps.Handle, Progress: io.Discard})
		if err != nil {
			return err
		}
		u.Changes = planChanges(report.Changes)
		u.Replacements = replacements(steps.Steps(), t.ID)
		if totals, err := s.pricer.monthly(t.Stack, cfg, steps.Steps()); err == nil {
			u.Before, u.After = totals.Before, totals.After
		} else {
			s.cfg.Logger.Warn("price a tenant's preview", "tenant", t.ID, "error", err)
		}
		return nil
	})
	if ctx.Err() != nil {
		return // stopping: the preview runs again
	}
	if err != nil {
		u = rolloutTenantUpdate{Status: TenantFailed, Error: "preview: " + err.Error()}
	}
	if _, err := s.store.UpdateRolloutTenant(context.WithoutCancel(ctx), r.ID, rt.Tenant, []TenantStatus{TenantPending}, 0, u); err != nil {
		s.cfg.Logger.Error("record a tenant's plan", "rollout", r.ID, "tenant", rt.Tenant, "error", err)
	}
	s.notify()
}

// planChanges keeps the step kinds a plan reports.
func planChanges(counts map[string]int) map[string]int {
	out := map[string]int{}
	for _, k := range []string{"create", "update", "replace", "delete", "same"} {
		out[k] = counts[k]
	}
	return out
}

// replacements names the resources the preview replaces; the tenant's
// database (named <tenant>-db...) is flagged.
func replacements(steps []cost.Step, tenant string) []Replacement {
	seen := map[string]bool{}
	var out []Replacement
	for _, st := range steps {
		if st.Op != "replace" && st.Op != "create-replacement" {
			continue
		}
		if seen[st.URN] {
			continue
		}
		seen[st.URN] = true
		name := st.URN[strings.LastIndex(st.URN, "::")+2:]
		out = append(out, Replacement{URN: st.URN, Type: st.Type, Name: name,
			Database: strings.HasPrefix(name, tenant+"-db") || strings.Contains(strings.ToLower(st.Type), "database")})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].URN < out[j].URN })
	return out
}

// roll advances a rolling rollout: halt past the failure budget, start the
// current wave's updates up to maxParallel, then the next wave (after the
// pause), then succeed.
func (f *fleetRunner) roll(ctx context.Context, r Rollout, inFlight int) error {
	s := f.svc
	if failed := r.Counts[string(TenantFailed)]; failed > r.Spec.MaxFailures {
		_, err := s.store.TransitionRollout(ctx, r.ID, []RolloutState{RolloutRolling}, RolloutHalted,
			fmt.Sprintf("%d tenant(s) failed, more than maxFailures (%d): %s; tenants not yet updated keep their version; fix the cause, then resume",
				failed, r.Spec.MaxFailures, failedNames(r)), nil)
		return ignoreConflict(err)
	}
	waveOf := map[int][]RolloutTenant{}
	for _, rt := range r.Tenants {
		waveOf[rt.Wave] = append(waveOf[rt.Wave], rt)
	}
	wave := r.Wave
	for w := 1; w < wave; w++ {
		if !waveDone(waveOf[w]) {
			// A resume put an earlier wave's failed tenants back: roll
			// that wave again first.
			return s.store.SetRolloutWave(ctx, r.ID, w, time.Time{}, map[string]any{"wave": w, "phase": "started"})
		}
	}
	if wave == 0 || waveDone(waveOf[wave]) {
		// The next wave with work: after a resume rolled an earlier wave
		// again, the waves already done are passed over.
		next := 0
		for w := wave + 1; w <= len(r.Spec.Waves); w++ {
			if len(waveOf[w]) > 0 && !waveDone(waveOf[w]) {
				next = w
				break
			}
		}
		if wave > 0 && r.NextWaveAt == nil {
			// The wave is done: say so once (NextWaveAt marks it).
			at := time.Now()
			if next > 0 {
				at = at.Add(time.Duration(r.Spec.PauseBetweenWaves))
			}
			return s.store.SetRolloutWave(ctx, r.ID, wave, at, map[string]any{"wave": wave, "phase": "done"})
		}
		if next == 0 {
			if inFlight > 0 {
				return nil
			}
			reason := ""
			if failed := r.Counts[string(TenantFailed)]; failed > 0 {
				reason = fmt.Sprintf("%d tenant(s) failed, within maxFailures (%d): %s", failed, r.Spec.MaxFailures, failedNames(r))
			}
			_, err := s.store.TransitionRollout(ctx, r.ID, []RolloutState{RolloutRolling}, RolloutSucceeded, reason, nil)
			return ignoreConflict(err)
		}
		if r.NextWaveAt != nil && time.Now().Before(*r.NextWaveAt) {
			return nil // the pause between waves
		}
		if err := s.store.SetRolloutWave(ctx, r.ID, next, time.Time{}, map[string]any{"wave": next, "phase": "started"}); err != nil {
			return err
		}
		wave = next
	}
	for _, rt := range waveOf[wave] {
		if inFlight >= r.Spec.MaxParallel {
			break
		}
		if rt.Status != TenantPlanned {
			continue
		}
		started, err := s.store.StartRolloutUpdate(ctx, r.ID, rt.Tenant, r.Version, s.enqueue)
		if err != nil {
			return err
		}
		if started {
			inFlight++
			s.notify()
		}
	}
	return nil
}

func waveDone(tenants []RolloutTenant) bool {
	for _, rt := range tenants {
		if !rt.Status.done() {
			return false
		}
	}
	return true
}

// gate checks an updated tenant: its web app answers /healthz within the
// rollout's healthTimeout, and a preview with the new version, of the
// resources as they are now (--refresh), shows no changes: the update
// converged.
func (f *fleetRunner) gate(ctx context.Context, r Rollout, rt RolloutTenant) {
	s := f.svc
	u := rolloutTenantUpdate{Status: TenantSucceeded}
	err := f.withTenantLease(ctx, rt.Tenant, fmt.Sprintf("%s/rollout/%d", s.instance, r.ID), func(ctx context.Context) error {
		t, err := s.store.Get(ctx, rt.Tenant)
		if err != nil {
			return err
		}
		if t.Generation != rt.generation {
			u = rolloutTenantUpdate{Status: TenantSkipped, Error: "superseded: the tenant was asked for something else meanwhile"}
			return nil
		}
		if err := healthy(ctx, t, time.Duration(r.Spec.HealthTimeout)); err != nil {
			return err
		}
		cfg, err := f.tenantConfig(ctx, t, r.Version)
		if err != nil {
			return err
		}
		report, err := s.cfg.Engine.Run(ctx, engine.OpPreview, engine.StackOptions{Stack: t.Stack, Backend: s.cfg.Backend,
			Config: cfg, ExpectNoChanges: true, Refresh: true, Progress: io.Discard})
		if engine.KindOf(err) == engine.KindChanges {
			return fmt.Errorf("a preview after the update still shows changes (%s): the stack did not converge", engine.FormatChanges(report.Changes))
		}
		return err
	})
	if ctx.Err() != nil {
		return // stopping: the gate runs again
	}
	if err != nil {
		u = rolloutTenantUpdate{Status: TenantFailed, Error: "health gate: " + err.Error()}
	}
	applied, err := s.store.UpdateRolloutTenant(context.WithoutCancel(ctx), r.ID, rt.Tenant, []TenantStatus{TenantVerifying}, rt.generation, u)
	if err != nil {
		s.cfg.Logger.Error("record a tenant's health gate", "rollout", r.ID, "tenant", rt.Tenant, "error", err)
	}
	if applied {
		s.metrics.rolloutTenant(string(u.Status))
	}
	s.notify()
}

// healthy waits until the tenant's web app answers GET /healthz with 200.
func healthy(ctx context.Context, t Tenant, timeout time.Duration) error {
	url, _ := t.Outputs["webUrl"].(string)
	if url == "" {
		return errors.New("the tenant has no webUrl output to check")
	}
	url = strings.TrimSuffix(url, "/") + "/healthz"
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: 5 * time.Second}
	var last error
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Errorf("GET %s answered %s", url, resp.Status)
		} else {
			last = err
		}
		select {
		case <-ctx.Done():
			if ctx.Err() == context.DeadlineExceeded {
				return fmt.Errorf("not healthy within healthTimeout (%s): %w", timeout, last)
			}
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// automaticRollout starts a rollout of every tenant not on the service's
// version, with the default spec, unless one is active already.
func (f *fleetRunner) automaticRollout(ctx context.Context) error {
	s := f.svc
	active, err := s.store.ActiveRolloutIDs(ctx)
	if err != nil || len(active) > 0 {
		return err
	}
	spec := RolloutSpec{Selector: Selector{All: true}}
	r, err := s.StartRollout(ctx, spec)
	var p *problem
	if errors.As(err, &p) && p.Status == http.StatusUnprocessableEntity {
		return nil // nothing to roll
	}
	if err != nil {
		return err
	}
	s.cfg.Logger.Info("update policy automatic: started a rollout", "rollout", r.ID, "version", r.Version, "tenants", len(r.Tenants))
	return nil
}

// ---- drift ----

// driveDrift refreshes (as a preview: nothing is written) each tenant of a
// drift check not yet checked, DriftParallel at a time (across all
// checks), and records what differs.
func (f *fleetRunner) driveDrift(ctx context.Context, id int64) error {
	s := f.svc
	c, err := s.store.GetDriftCheck(ctx, id)
	if err != nil {
		return err
	}
	sem := f.drift
	var (
		wg           sync.WaitGroup
		recordFailed atomic.Bool
	)
	for _, res := range c.Results {
		if res.Status != driftPending {
			continue
		}
		if ctx.Err() != nil {
			break
		}
		acquired := false
		select {
		case sem <- struct{}{}:
			acquired = true
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			if acquired {
				<-sem // the send won the race with ctx: give the slot back
			}
			break
		}
		wg.Add(1)
		go func(tenant string) {
			defer wg.Done()
			defer func() { <-sem }()
			if err := f.checkDrift(ctx, id, tenant); err != nil {
				recordFailed.Store(true)
				s.cfg.Logger.Error("record a drift result", "check", id, "tenant", tenant, "error", err)
			}
		}(res.Tenant)
	}
	wg.Wait()
	if ctx.Err() != nil {
		return nil // stopping: the check resumes with the tenants left
	}
	if recordFailed.Load() {
		return errors.New("a result could not be recorded; the check is driven again")
	}
	if err := s.store.FinishDriftCheck(ctx, id); err != nil {
		return err
	}
	if c, err = s.store.GetDriftCheck(ctx, id); err == nil {
		s.metrics.driftCheckDone(c)
		s.cfg.Logger.Info("drift check done", "check", id, "tenants", c.Tenants, "drifted", c.Drifted, "errors", c.Errors, "seconds", c.Seconds)
	}
	return nil
}

func (f *fleetRunner) checkDrift(ctx context.Context, id int64, tenant string) error {
	s := f.svc
	res := DriftResult{Tenant: tenant}
	// A tenant not ready is skipped without waiting for its lease, which
	// an operation of its own holds (checked again under the lease).
	if t, err := s.store.Get(ctx, tenant); errors.Is(err, ErrNotFound) || (err == nil && t.State != StateReady) {
		res.Status, res.Error = driftSkipped, "the tenant no longer exists"
		if err == nil {
			res.Error = fmt.Sprintf("the tenant is %s, not ready", t.State)
		}
		return f.recordDrift(ctx, id, res)
	}
	err := f.withTenantLease(ctx, tenant, fmt.Sprintf("%s/drift/%d", s.instance, id), func(ctx context.Context) error {
		t, err := s.store.Get(ctx, tenant)
		if errors.Is(err, ErrNotFound) {
			res.Status, res.Error = driftSkipped, "the tenant no longer exists"
			return nil
		}
		if err != nil {
			return err
		}
		if t.State != StateReady {
			res.Status, res.Error = driftSkipped, fmt.Sprintf("the tenant is %s, not ready", t.State)
			return nil
		}
		cfg, err := f.tenantConfig(ctx, t, t.TemplateVersion)
		if err != nil {
			return err
		}
		collector := &engine.DriftCollector{}
		if _, err := s.cfg.Engine.Run(ctx, engine.OpRefresh, engine.StackOptions{Stack: t.Stack, Backend: s.cfg.Backend,
			Config: cfg, PreviewOnly: true, Events: collector.Handle, Progress: io.Discard}); err != nil {
			return err
		}
		res.Resources = collector.Resources()
		res.Status = DriftInSync
		if len(res.Resources) > 0 {
			res.Status = DriftDrifted
		}
		return nil
	})
	if ctx.Err() != nil {
		return nil // stopping: the tenant is checked again
	}
	if err != nil {
		res.Status, res.Error = DriftError, err.Error()
	}
	return f.recordDrift(ctx, id, res)
}

func (f *fleetRunner) recordDrift(ctx context.Context, id int64, res DriftResult) error {
	err := f.svc.store.SetDriftResult(context.WithoutCancel(ctx), id, res)
	f.svc.notify()
	return err
}

// periodicDrift starts a drift check of every ready tenant when the last
// one started DriftInterval ago or more (and none runs).
func (f *fleetRunner) periodicDrift(ctx context.Context) {
	s := f.svc
	last, err := s.store.LastDriftCheckStart(ctx)
	if err != nil || time.Since(last) < s.cfg.DriftInterval {
		return
	}
	running, err := s.store.DriftChecksRunning(ctx)
	if err != nil || running > 0 {
		return
	}
	_, err = s.StartDriftCheck(ctx, Selector{})
	var p *problem
	if errors.As(err, &p) && p.Status == http.StatusUnprocessableEntity {
		return // no ready tenant: nothing to check yet
	}
	if err != nil && ctx.Err() == nil {
		s.cfg.Logger.Error("start the periodic drift check", "error", err)
	}
}
