package signup

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"sort"
	"strconv"
)

// ---- the service's fleet operations ----

// StartRollout checks spec (defaults filled in), picks its tenants — those
// the selector matches that are not deleted and not on the version already
// — and records the rollout; the fleet runner plans and rolls it.
func (s *Service) StartRollout(ctx context.Context, spec RolloutSpec) (Rollout, error) {
	parallel := s.cfg.Workers
	if parallel < 1 {
		parallel = DefaultWorkers // an insert-only replica: the workers' default
	}
	parallel = min(parallel, maxParallelCap)
	if err := spec.normalize(s.version, parallel); err != nil {
		return Rollout{}, err
	}
	if _, err := s.templateFor(ctx, spec.Version); errors.Is(err, ErrNotFound) {
		return Rollout{}, newProblem(http.StatusBadRequest, "version", "version %s is not a template version this service has run with; GET /v1/fleet lists them", spec.Version)
	} else if err != nil {
		return Rollout{}, err
	}
	all, err := s.allTenants(ctx)
	if err != nil {
		return Rollout{}, err
	}
	var picked []Tenant
	for _, t := range all {
		if t.State == StateDeleted || t.Desired == DesiredAbsent || !spec.Selector.Matches(t) || t.TemplateVersion == spec.Version {
			continue
		}
		picked = append(picked, t)
	}
	for i, id := range spec.Selector.IDs {
		if !containsTenant(all, id) {
			return Rollout{}, newProblem(http.StatusBadRequest, "selector.ids["+strconv.Itoa(i)+"]", "tenant %s does not exist", id)
		}
	}
	if len(picked) == 0 {
		return Rollout{}, newProblem(http.StatusUnprocessableEntity, "selector",
			"the selector picks no tenant that needs version %s: every tenant it matches is on it already, deleted, or being deleted", spec.Version)
	}
	ids := make([]string, len(picked))
	for i, t := range picked {
		ids[i] = t.ID
	}
	waves, err := assignWaves(ids, spec.Waves) // sorts ids
	if err != nil {
		return Rollout{}, err
	}
	sort.Slice(picked, func(i, j int) bool { return picked[i].ID < picked[j].ID })
	r, err := s.store.CreateRollout(ctx, spec, picked, waves)
	if err == nil {
		s.notify()
	}
	return r, err
}

func containsTenant(ts []Tenant, id string) bool {
	for _, t := range ts {
		if t.ID == id {
			return true
		}
	}
	return false
}

// allTenants reads every tenant, page by page.
func (s *Service) allTenants(ctx context.Context) ([]Tenant, error) {
	var out []Tenant
	after := ""
	for {
		page, err := s.store.List(ctx, ListFilter{}, after, maxPageSize)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if len(page) < maxPageSize {
			return out, nil
		}
		after = page[len(page)-1].ID
	}
}

// PauseRollout stops a rolling rollout from starting more tenant updates;
// those in flight finish.
func (s *Service) PauseRollout(ctx context.Context, id int64) (Rollout, error) {
	return s.transition(ctx, id, []RolloutState{RolloutRolling}, RolloutPaused, "paused by an operator", nil)
}

// ResumeRollout continues a paused or halted rollout; a halted one's
// failed tenants are tried again (previewed again when their preview failed).
func (s *Service) ResumeRollout(ctx context.Context, id int64) (Rollout, error) {
	r, err := s.store.GetRollout(ctx, id)
	if err != nil {
		return Rollout{}, err
	}
	to := RolloutRolling
	for _, rt := range r.Tenants {
		if rt.Status == TenantFailed && !rt.Planned {
			to = RolloutPlanning
		}
	}
	if r.State == RolloutPaused {
		to = RolloutRolling
	}
	yes, no := true, false
	return s.transition(ctx, id, []RolloutState{RolloutPaused, RolloutHalted}, to, "", func(tx *sql.Tx, from RolloutState) error {
		if from != RolloutHalted {
			return nil
		}
		if err := s.store.setTenantStatuses(ctx, tx, id, []TenantStatus{TenantFailed}, TenantPlanned, &yes); err != nil {
			return err
		}
		return s.store.setTenantStatuses(ctx, tx, id, []TenantStatus{TenantFailed}, TenantPending, &no)
	})
}

// CancelRollout ends a rollout: tenants not yet updated are skipped (they
// keep their version); updates in flight finish.
func (s *Service) CancelRollout(ctx context.Context, id int64) (Rollout, error) {
	return s.transition(ctx, id, []RolloutState{RolloutPlanning, RolloutRolling, RolloutPaused, RolloutHalted}, RolloutCancelled,
		"cancelled by an operator", func(tx *sql.Tx, _ RolloutState) error {
			return s.store.setTenantStatuses(ctx, tx, id, []TenantStatus{TenantPending, TenantPlanned}, TenantSkipped, nil)
		})
}

func (s *Service) transition(ctx context.Context, id int64, from []RolloutState, to RolloutState, reason string,
	change func(*sql.Tx, RolloutState) error) (Rollout, error) {
	r, err := s.store.TransitionRollout(ctx, id, from, to, reason, change)
	if err == nil {
		s.notify()
	}
	return r, err
}

// StartDriftCheck records a drift check of the ready tenants the selector
// picks (all ready tenants for an empty selector); the fleet runner runs it.
func (s *Service) StartDriftCheck(ctx context.Context, sel Selector) (DriftCheck, error) {
	all, err := s.allTenants(ctx)
	if err != nil {
		return DriftCheck{}, err
	}
	for i, id := range sel.IDs {
		if !containsTenant(all, id) {
			return DriftCheck{}, newProblem(http.StatusBadRequest, "selector.ids["+strconv.Itoa(i)+"]", "tenant %s does not exist", id)
		}
	}
	var ids []string
	for _, t := range all {
		if t.State == StateReady && (sel.empty() || sel.Matches(t)) {
			ids = append(ids, t.ID)
		}
	}
	if len(ids) == 0 {
		return DriftCheck{}, newProblem(http.StatusUnprocessableEntity, "selector", "no ready tenant to check: drift checks refresh ready tenants only")
	}
	c, err := s.store.CreateDriftCheck(ctx, sel, ids)
	if err == nil {
		s.notify()
	}
	return c, err
}

// Reconcile runs `up --refresh` on a tenant with its current version: what
// changed or was deleted behind the engine is put back.
func (s *Service) Reconcile(ctx context.Context, id string, m Mutation) (Tenant, bool, error) {
	t, started, err := s.store.Reconcile(ctx, id, s.version, m, s.enqueue)
	if started {
		s.notify()
	}
	return t, started, err
}

// Fleet is the summary GET /v1/fleet answers.
type Fleet struct {
	CurrentVersion string            `json:"currentVersion"`
	UpdatePolicy   string            `json:"updatePolicy"`
	Tenants        int               `json:"tenants"`
	ByState        map[string]int    `json:"byState"`
	ByCloud        map[string]int    `json:"byCloud"`
	ByTier         map[string]int    `json:"byTier"`
	Versions       []TemplateVersion `json:"versions"`
	// Drift counts the tenants by drift status.
	Drift map[string]int `json:"drift"`
	// MonthlyCost sums the tenants' stacks as priced after their last update.
	MonthlyCost float64 `json:"monthlyCost"`
	// CostByCloud is the monthly cost of each cloud's tenants.
	CostByCloud    map[string]float64 `json:"costByCloud"`
	ActiveRollouts []int64            `json:"activeRollouts"`
}

// Fleet summarises the tenants (deleted ones left out), counted by the
// database: it reads no tenant row.
func (s *Service) Fleet(ctx context.Context) (Fleet, error) {
	c, err := s.store.CountFleet(ctx)
	if err != nil {
		return Fleet{}, err
	}
	f := Fleet{CurrentVersion: s.version, UpdatePolicy: s.cfg.UpdatePolicy, Tenants: c.Tenants, ByState: c.ByState,
		ByCloud: c.ByCloud, ByTier: c.ByTier, Drift: c.Drift, MonthlyCost: c.MonthlyCost, CostByCloud: c.CostByCloud}
	if f.Versions, err = s.store.Versions(ctx); err != nil {
		return Fleet{}, err
	}
	for i := range f.Versions {
		f.Versions[i].Current = f.Versions[i].Version == s.version
	}
	if f.ActiveRollouts, err = s.store.ActiveRolloutIDs(ctx); err != nil {
		return Fleet{}, err
	}
	if f.ActiveRollouts == nil {
		f.ActiveRollouts = []int64{}
	}
	return f, nil
}

// ---- HTTP ----

func (a *api) fleet(x *exchange) error {
	if _, err := queryParams(x.r); err != nil {
		return err
	}
	f, err := a.svc.Fleet(x.r.Context())
	if err != nil {
		return err
	}
	writeJSON(x.w, http.StatusOK, f)
	return nil
}

func rolloutID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, newProblem(http.StatusBadRequest, "id", "the rollout id in the path must be a whole number (1 or more)")
	}
	return id, nil
}

func rolloutError(err error, id int64) error {
	if errors.Is(err, ErrRolloutNotFound) {
		return newProblem(http.StatusNotFound, "id", "rollout %d does not exist", id)
	}
	return err
}

func (a *api) startRollout(x *exchange) error {
	if _, err := queryParams(x.r); err != nil {
		return err
	}
	if err := requireJSON(x.r.Header); err != nil {
		return err
	}
	body, err := x.readBody()
	if err != nil {
		return err
	}
	spec, err := decodeRolloutSpec(body)
	if err != nil {
		return err
	}
	r, err := a.svc.StartRollout(x.r.Context(), spec)
	if err != nil {
		return err
	}
	x.w.Header().Set("Location", rolloutPath(r.ID))
	writeJSON(x.w, http.StatusAccepted, r)
	return nil
}

func (a *api) listRollouts(x *exchange) error {
	q, err := queryParams(x.r, "limit")
	if err != nil {
		return err
	}
	limit, err := limitParam(q)
	if err != nil {
		return err
	}
	rs, err := a.svc.store.ListRollouts(x.r.Context(), limit)
	if err != nil {
		return err
	}
	writeJSON(x.w, http.StatusOK, map[string]any{"rollouts": rs})
	return nil
}

func limitParam(q map[string]string) (int, error) {
	v, ok := q["limit"]
	if !ok {
		return defaultPageSize, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxPageSize {
		return 0, newProblem(http.StatusBadRequest, "limit", "limit must be a whole number from 1 to %d", maxPageSize)
	}
	return n, nil
}

func (a *api) getRollout(x *exchange) error {
	id, err := rolloutID(x.r)
	if err != nil {
		return err
	}
	if _, err := queryParams(x.r); err != nil {
		return err
	}
	r, err := a.svc.store.GetRollout(x.r.Context(), id)
	if err != nil {
		return rolloutError(err, id)
	}
	writeJSON(x.w, http.StatusOK, r)
	return nil
}

func rolloutAction(act func(*Service, context.Context, int64) (Rollout, error)) func(*api, *exchange) error {
	return func(a *api, x *exchange) error {
		id, err := rolloutID(x.r)
		if err != nil {
			return err
		}
		if _, err := queryParams(x.r); err != nil {
			return err
		}
		if _, err := x.readBody(); err != nil {
			return err
		}
		r, err := act(a.svc, x.r.Context(), id)
		if err != nil {
			return rolloutError(err, id)
		}
		writeJSON(x.w, http.StatusOK, r)
		return nil
	}
}

func (a *api) startDriftCheck(x *exchange) error {
	if _, err := queryParams(x.r); err != nil {
		return err
	}
	body, err := x.readBody()
	if err != nil {
		return err
	}
	var sel Selector
	if len(body) > 0 {
		if err := requireJSON(x.r.Header); err != nil {
			return err
		}
		obj, err := decodeObject(body, "", "selector")
		if err != nil {
			return err
		}
		if raw, ok := obj["selector"]; ok {
			if sel, err = decodeSelector(raw, "selector"); err != nil {
				return err
			}
			if err := sel.validate("selector"); err != nil {
				return err
			}
		}
	}
	c, err := a.svc.StartDriftCheck(x.r.Context(), sel)
	if err != nil {
		return err
	}
	x.w.Header().Set("Location", driftCheckPath(c.ID))
	writeJSON(x.w, http.StatusAccepted, c)
	return nil
}

func (a *api) listDriftChecks(x *exchange) error {
	q, err := queryParams(x.r, "limit")
	if err != nil {
		return err
	}
	limit, err := limitParam(q)
	if err != nil {
		return err
	}
	cs, err := a.svc.store.ListDriftChecks(x.r.Context(), limit)
	if err != nil {
		return err
	}
	writeJSON(x.w, http.StatusOK, map[string]any{"driftChecks": cs})
	return nil
}

func (a *api) getDriftCheck(x *exchange) error {
	id, err := strconv.ParseInt(x.r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return newProblem(http.StatusBadRequest, "id", "the drift check id in the path must be a whole number (1 or more)")
	}
	if _, err := queryParams(x.r); err != nil {
		return err
	}
	c, err := a.svc.store.GetDriftCheck(x.r.Context(), id)
	if errors.Is(err, ErrDriftCheckNotFound) {
		return newProblem(http.StatusNotFound, "id", "drift check %d does not exist", id)
	}
	if err != nil {
		return err
	}
	writeJSON(x.w, http.StatusOK, c)
	return nil
}

func (a *api) reconcile(x *exchange) error {
	id, err := pathID(x.r)
	if err != nil {
		return err
	}
	if _, err := queryParams(x.r); err != nil {
		return err
	}
	if _, err := x.readBody(); err != nil {
		return err
	}
	t, started, err := a.svc.Reconcile(x.r.Context(), id, x.mutation())
	if err != nil {
		return err
	}
	writeTenant(x.w, a.svc, t, started)
	return nil
}

// rolloutEvents serves GET /v1/rollouts/{id}/events as Server-Sent Events,
// as a tenant's events are: from Last-Event-ID (or ?after=), then live,
// until the rollout is final and its events are sent.
func (a *api) rolloutEvents(x *exchange) error {
	id, err := rolloutID(x.r)
	if err != nil {
		return err
	}
	after, err := streamStart(x)
	if err != nil {
		return err
	}
	if _, err := a.svc.store.GetRollout(x.r.Context(), id); err != nil {
		return rolloutError(err, id)
	}
	a.streamEvents(x, "rollout "+strconv.FormatInt(id, 10), after,
		func(ctx context.Context) (bool, error) {
			r, err := a.svc.store.GetRollout(ctx, id)
			inFlight := r.Counts[string(TenantUpdating)] + r.Counts[string(TenantVerifying)]
			return r.State.Final() && inFlight == 0, err
		},
		func(ctx context.Context, after int64) ([]sseEvent, error) {
			evs, err := a.svc.store.RolloutEvents(ctx, id, after, eventBatch)
			out := make([]sseEvent, len(evs))
			for i, e := range evs {
				out[i] = sseEvent{seq: e.Seq, typ: e.Type, v: e}
			}
			return out, err
		})
	return nil
}
