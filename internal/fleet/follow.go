package fleet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/tenantfleet/tenantfleet/internal/cli"
)

// Following a rollout or a drift check: the client reads it again every
// PollInterval until it is finished, and tells what changed in between.
const (
	// PollInterval is how often a followed rollout or drift check is read.
	PollInterval = time.Second
	// maxPollFailures is how many reads in a row may fail (the service
	// restarting, a 5xx) before following gives up.
	maxPollFailures = 30
)

// poller reads a document again and again until it is done.
type poller struct {
	every time.Duration
	// notes gets a line when a read fails and is retried.
	notes io.Writer
}

// follow calls seen with cur, then with each newer cur that get returns,
// every p.every, until done(cur) or ctx ends. Failed reads that are not the
// caller's mistake (a lost connection, a 5xx) are retried up to
// maxPollFailures in a row. It returns the last document read and its bytes.
func follow[T any](ctx context.Context, p poller, cur T, raw []byte, get func(context.Context) (T, []byte, error), done func(T) bool, seen func(T)) (T, []byte, error) {
	failures := 0
	for {
		seen(cur)
		if done(cur) {
			return cur, raw, nil
		}
		t := time.NewTimer(p.every)
		select {
		case <-ctx.Done():
			t.Stop()
			return cur, raw, ctx.Err()
		case <-t.C:
		}
		next, nextRaw, err := get(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return cur, raw, ctx.Err()
			}
			var exitErr *cli.ExitError
			if failures++; failures >= maxPollFailures || !errors.As(err, &exitErr) || exitErr.Code != cli.ExitFailed {
				return cur, raw, err
			}
			_, _ = fmt.Fprintf(p.notes, "%v (retrying)\n", err) // a note for the terminal; stdout carries the result
			continue
		}
		failures = 0
		cur, raw = next, nextRaw
	}
}

// interrupted is the error for a follow that ctx ended: the rollout goes on
// in the service, and this is how to find it again or stop it.
func interrupted(id int64) error {
	return failed(fmt.Errorf("stopped following rollout %d; it goes on in the service: `tenantfleet fleet rollout status %d --watch` follows it, `tenantfleet fleet rollout cancel %d` stops it",
		id, id, id))
}

// progress writes, a line per change, what changed in a rollout from one
// reading to the next: its state, its waves starting and finishing, and its
// tenants' statuses ("wave 2/3 · acme  updating → succeeded").
type progress struct {
	w    *errWriter
	prev *Rollout
	// planShown is set once the plan's summary line is written.
	planShown bool
	// doneShown are the waves whose "done" line is written.
	doneShown map[int]bool
}

func newProgress(w io.Writer) *progress {
	return &progress{w: &errWriter{w: w}, doneShown: map[int]bool{}}
}

// seed takes r as the reading already shown: only what changes after it is
// written.
func (p *progress) seed(r *Rollout) {
	p.prev, p.planShown = r, r.State != RolloutPlanning
	for _, w := range r.Waves {
		if w.State == "done" {
			p.doneShown[w.Wave] = true
		}
	}
	if r.NextWaveAt != nil {
		p.doneShown[r.Wave] = true
	}
}

// show writes what changed since the last reading r.
func (p *progress) show(r *Rollout) {
	prev := p.prev
	p.prev = r
	if prev == nil {
		p.w.printf("rollout %d: %s · version %s · %s · %s%s\n", r.ID, r.State, r.Version, selectorText(r.Spec.Selector), wavesText(r), dryRunText(r))
		p.showPlan(r)
		return
	}
	stateChanged := prev.State != r.State
	// A rollout that starts rolling says so before its first wave; one
	// that stops, after its last tenant.
	early := r.State == RolloutPlanning || r.State == RolloutPlanned || r.State == RolloutRolling
	if stateChanged && early {
		p.showState(prev, r)
	}
	p.showPlan(r)
	p.showWaves(prev, r)
	if stateChanged && !early {
		p.showState(prev, r)
	}
}

func (p *progress) showState(prev, r *Rollout) {
	line := fmt.Sprintf("rollout %d: %s → %s", r.ID, prev.State, r.State)
	if r.Reason != "" {
		line += ": " + r.Reason
	}
	switch r.State {
	case RolloutPaused:
		line += fmt.Sprintf(" (`tenantfleet fleet rollout resume %d` resumes it)", r.ID)
	case RolloutSucceeded, RolloutHalted, RolloutCancelled:
		line += " · " + statusCounts(r.Counts)
	}
	p.w.printf("%s\n", line)
}

// showPlan writes the plan's summary once the rollout has one (it left
// planning), with a line per database it replaces.
func (p *progress) showPlan(r *Rollout) {
	if p.planShown || r.State == RolloutPlanning || r.Plan.Tenants == 0 {
		return
	}
	p.planShown = true
	pl := r.Plan
	p.w.printf("plan: %s, %s · %s · monthly %s\n", plural(pl.Planned, "tenant")+" planned", plural(pl.Errors, "error"),
		planChanges(pl), costChange(pl.MonthlyBefore, pl.MonthlyAfter, pl.MonthlyDelta))
	var databases []string
	for _, t := range r.Tenants {
		for _, rep := range t.Replacements {
			if rep.Database {
				databases = append(databases, fmt.Sprintf("%s of %s", resourceName(rep.Name, rep.Type, rep.URN), t.Tenant))
			}
		}
	}
	if n := max(pl.DatabaseReplacements, len(databases)); n > 0 {
		p.w.printf("%s\n", databaseWarning(n, databases))
	}
}

// showWaves writes, wave by wave, the wave starting, its tenants' changes
// and the wave finishing.
func (p *progress) showWaves(prev, r *Rollout) {
	prevWave := map[int]string{}
	for _, w := range prev.Waves {
		prevWave[w.Wave] = w.State
	}
	prevStatus := map[string]string{}
	for _, t := range prev.Tenants {
		prevStatus[t.Tenant] = t.Status
	}
	waveState := map[int]string{}
	numbers := []int{}
	for _, w := range r.Waves {
		waveState[w.Wave] = w.State
		numbers = append(numbers, w.Wave)
	}
	for _, t := range r.Tenants {
		if !slices.Contains(numbers, t.Wave) {
			numbers = append(numbers, t.Wave)
		}
	}
	slices.Sort(numbers)
	total := max(len(r.Waves), len(r.Spec.Waves))
	width := 0
	for _, t := range r.Tenants {
		width = max(width, len(t.Tenant))
	}

	for _, n := range numbers {
		label := fmt.Sprintf("wave %d/%d", n, total)
		if total == 0 {
			label = fmt.Sprintf("wave %d", n)
		}
		was, is := prevWave[n], waveState[n]
		if (was == "" || was == "pending") && (is == "rolling" || is == "done") {
			p.w.printf("%s: started · %s\n", label, plural(waveSize(r, n), "tenant"))
		}
		for _, t := range r.Tenants {
			if t.Wave != n {
				continue
			}
			from := prevStatus[t.Tenant]
			if t.Status == from || t.Status == TenantPending || t.Status == TenantPlanned {
				continue
			}
			change := t.Status
			if from != "" && from != TenantPending && from != TenantPlanned {
				change = from + " → " + t.Status
			}
			if t.Error != "" && t.Status == TenantFailed {
				change += ": " + t.Error
			}
			p.w.printf("%s · %-*s  %s\n", label, width, t.Tenant, change)
		}
		// A wave is done once it is behind the current one, or when the
		// service sets the next wave's start (after the pause).
		justDone := n == r.Wave && r.NextWaveAt != nil && prev.NextWaveAt == nil
		if (is == "done" || justDone) && !p.doneShown[n] {
			p.doneShown[n] = true
			line := label + ": done"
			if justDone && n < total && r.Spec.PauseBetweenWaves != "" && r.Spec.PauseBetweenWaves != "0s" {
				line += fmt.Sprintf(" · the next wave starts at %s (pause %s)", when(*r.NextWaveAt), r.Spec.PauseBetweenWaves)
			}
			p.w.printf("%s\n", line)
		}
	}
}

// waveSize is how many tenants wave n has: those the rollout lists in it,
// else the wave's own count.
func waveSize(r *Rollout, n int) int {
	count := 0
	for _, t := range r.Tenants {
		if t.Wave == n {
			count++
		}
	}
	if count > 0 {
		return count
	}
	for _, w := range r.Waves {
		if w.Wave == n {
			return w.Tenants
		}
	}
	return 0
}

// outcome is the error a followed rollout ends with: none when it
// succeeded (or, a dry run, was planned without errors), else what stopped
// it.
func outcome(r *Rollout) error {
	switch r.State {
	case RolloutSucceeded:
		return nil
	case RolloutPlanned:
		if r.Plan.Errors > 0 {
			return failed(fmt.Errorf("rollout %d could not plan %s (errors above)", r.ID, plural(r.Plan.Errors, "tenant")))
		}
		return nil
	case RolloutHalted, RolloutCancelled:
		msg := fmt.Sprintf("rollout %d %s", r.ID, r.State)
		if r.Reason != "" {
			msg += ": " + r.Reason
		} else if names := failedTenants(r); len(names) > 0 {
			msg += " (failed: " + strings.Join(names, ", ") + ")"
		}
		if r.State == RolloutHalted {
			msg += fmt.Sprintf(" (`tenantfleet fleet rollout resume %d` tries the failed tenants again, `tenantfleet fleet rollout cancel %d` ends it)", r.ID, r.ID)
		}
		return failed(errors.New(msg))
	}
	return nil
}

func failedTenants(r *Rollout) []string {
	var names []string
	for _, t := range r.Tenants {
		if t.Status == TenantFailed {
			names = append(names, t.Tenant)
		}
	}
	return names
}

// driftProgress writes a drift check's progress, a line each time more
// tenants are checked.
type driftProgress struct {
	w io.Writer
	// checked is the count last written, -1 before the first.
	checked int
}

func (p *driftProgress) show(d *DriftCheck) {
	if d.Checked == p.checked || d.State == DriftCheckDone {
		return
	}
	p.checked = d.Checked
	_, _ = fmt.Fprintf(p.w, "drift check %d: %d/%d checked\n", d.ID, d.Checked, d.Tenants) // progress for the terminal
}
