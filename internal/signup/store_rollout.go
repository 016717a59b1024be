package signup

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

const rolloutColumns = `id, state, version, spec, reason, wave, next_wave_at, lease_owner, created_at, updated_at, finished_at`

func scanRollout(row rowScanner) (Rollout, error) {
	var (
		r                         Rollout
		spec                      string
		nextWave, created, update int64
		finished                  sql.NullInt64
	)
	if err := row.Scan(&r.ID, &r.State, &r.Version, &spec, &r.Reason, &r.Wave, &nextWave, &r.leaseOwner,
		&created, &update, &finished); err != nil {
		return Rollout{}, err
	}
	if err := json.Unmarshal([]byte(spec), &r.Spec); err != nil {
		return Rollout{}, fmt.Errorf("rollout %d: corrupt spec: %w", r.ID, err)
	}
	if nextWave > 0 {
		t := time.UnixMilli(nextWave).UTC()
		r.NextWaveAt = &t
	}
	r.CreatedAt = time.UnixMilli(created).UTC()
	r.UpdatedAt = time.UnixMilli(update).UTC()
	r.FinishedAt = fromMillis(finished)
	return r, nil
}

const rolloutTenantColumns = `tenant_id, wave, status, from_version, planned, changes, replacements, monthly_before, monthly_after, error, generation, updated_at`

func scanRolloutTenant(row rowScanner) (RolloutTenant, error) {
	var (
		t                     RolloutTenant
		planned               int
		changes, replacements string
		updated               int64
	)
	if err := row.Scan(&t.Tenant, &t.Wave, &t.Status, &t.FromVersion, &planned, &changes, &replacements,
		&t.MonthlyBefore, &t.MonthlyAfter, &t.Error, &t.generation, &updated); err != nil {
		return t, err
	}
	t.Planned = planned != 0
	if err := json.Unmarshal([]byte(changes), &t.Changes); err != nil {
		return t, fmt.Errorf("rollout tenant %s: corrupt changes: %w", t.Tenant, err)
	}
	if len(t.Changes) == 0 {
		t.Changes = nil
	}
	if err := json.Unmarshal([]byte(replacements), &t.Replacements); err != nil {
		return t, fmt.Errorf("rollout tenant %s: corrupt replacements: %w", t.Tenant, err)
	}
	t.MonthlyDelta = round2(t.MonthlyAfter - t.MonthlyBefore)
	t.UpdatedAt = time.UnixMilli(updated).UTC()
	return t, nil
}

func round2(v float64) float64 {
	if v < 0 {
		return -round2(-v)
	}
	return float64(int64(v*100+0.5)) / 100
}

// CreateRollout records a rollout of tenants (their waves, in the same
// order) in state planning. It fails with a ConflictError (field selector)
// when one of them is held by another rollout that is not final.
func (s *Store) CreateRollout(ctx context.Context, spec RolloutSpec, tenants []Tenant, waves []int) (Rollout, error) {
	specJSON, err := json.Marshal(spec)
	if err != nil {
		return Rollout{}, err
	}
	var id int64
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if s.dialect == dialectPostgres {
			// Two rollouts created at once must see each other's tenants.
			if _, err := tx.ExecContext(ctx, `LOCK TABLE tenantfleet_rollout IN SHARE ROW EXCLUSIVE MODE`); err != nil {
				return err
			}
		}
		held, err := s.heldTenants(ctx, tx)
		if err != nil {
			return err
		}
		var clash []string
		holder := int64(0)
		for _, t := range tenants {
			if r, ok := held[t.ID]; ok {
				clash = append(clash, t.ID)
				holder = r
			}
		}
		if len(clash) > 0 {
			return &ConflictError{Field: "selector", Reason: fmt.Sprintf("rollout %d holds tenant(s) %s until it is finished: cancel it, "+
				"or leave them out of the selector", holder, strings.Join(first(clash, 10), ", "))}
		}
		now := millis(time.Now())
		query := `INSERT INTO tenantfleet_rollout (state, version, spec, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`
		if err := tx.QueryRowContext(ctx, s.q(query+` RETURNING id`), string(RolloutPlanning), spec.Version, string(specJSON), now, now).Scan(&id); err != nil {
			return err
		}
		for i, t := range tenants {
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO tenantfleet_rollout_tenant (rollout_id, tenant_id, wave, status, from_version, updated_at)
				VALUES (?, ?, ?, ?, ?, ?)`), id, t.ID, waves[i], string(TenantPending), t.TemplateVersion, now); err != nil {
				return err
			}
		}
		return s.addRolloutEvent(ctx, tx, id, RolloutEventState, map[string]any{"state": RolloutPlanning})
	})
	if err != nil {
		return Rollout{}, err
	}
	return s.GetRollout(ctx, id)
}

func first(ids []string, n int) []string {
	if len(ids) <= n {
		return ids
	}
	return append(slices.Clone(ids[:n]), fmt.Sprintf("and %d more", len(ids)-n))
}

// heldTenants maps each tenant of a rollout that is not final, or whose
// update is still in flight (a cancelled rollout's), to the rollout.
func (s *Store) heldTenants(ctx context.Context, tx *sql.Tx) (map[string]int64, error) {
	rows, err := tx.QueryContext(ctx, s.q(`SELECT rt.tenant_id, r.id FROM tenantfleet_rollout_tenant rt
		JOIN tenantfleet_rollout r ON r.id = rt.rollout_id WHERE r.state NOT IN (?, ?, ?) OR rt.status IN (?, ?)`),
		string(RolloutPlanned), string(RolloutSucceeded), string(RolloutCancelled), string(TenantUpdating), string(TenantVerifying))
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }() // rows.Err, below, reports a failed read
	out := map[string]int64{}
	for rows.Next() {
		var (
			tenant string
			id     int64
		)
		if err := rows.Scan(&tenant, &id); err != nil {
			return nil, err
		}
		out[tenant] = id
	}
	return out, rows.Err()
}

// lockRollout reads a rollout's state in tx, locking its row on
// PostgreSQL: every transaction that changes a rollout or its tenants takes
// this lock first, so that they are serialised (and never deadlock) per
// rollout. SQLite transactions are IMMEDIATE: one writer at a time already.
func (s *Store) lockRollout(ctx context.Context, tx *sql.Tx, id int64) (RolloutState, error) {
	query := `SELECT state FROM tenantfleet_rollout WHERE id = ?`
	if s.dialect == dialectPostgres {
		query += ` FOR UPDATE`
	}
	var state RolloutState
	err := tx.QueryRowContext(ctx, s.q(query), id).Scan(&state)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrRolloutNotFound
	}
	return state, err
}

// ErrRolloutNotFound is a rollout id that names none.
var ErrRolloutNotFound = errors.New("no such rollout")

// GetRollout returns a rollout with its tenants and totals.
func (s *Store) GetRollout(ctx context.Context, id int64) (Rollout, error) {
	r, err := scanRollout(s.DB.QueryRowContext(ctx, s.q(`SELECT `+rolloutColumns+` FROM tenantfleet_rollout WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return Rollout{}, ErrRolloutNotFound
	}
	if err != nil {
		return Rollout{}, err
	}
	if r.Tenants, err = s.rolloutTenants(ctx, id); err != nil {
		return Rollout{}, err
	}
	r.totals()
	r.Failures = r.Counts[string(TenantFailed)]
	return r, nil
}

func (s *Store) rolloutTenants(ctx context.Context, id int64) ([]RolloutTenant, error) {
	rows, err := s.DB.QueryContext(ctx, s.q(`SELECT `+rolloutTenantColumns+` FROM tenantfleet_rollout_tenant
		WHERE rollout_id = ? ORDER BY wave, tenant_id`), id)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }() // rows.Err, below, reports a failed read
	out := []RolloutTenant{}
	for rows.Next() {
		t, err := scanRolloutTenant(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// ListRollouts returns up to limit rollouts, newest first, without their
// tenants (their counts and totals included).
func (s *Store) ListRollouts(ctx context.Context, limit int) ([]Rollout, error) {
	ids, err := s.rolloutIDs(ctx, `SELECT id FROM tenantfleet_rollout ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	out := make([]Rollout, 0, len(ids))
	for _, id := range ids {
		r, err := s.GetRollout(ctx, id)
		if err != nil {
			return nil, err
		}
		r.Tenants = nil
		out = append(out, r)
	}
	return out, nil
}

func (s *Store) rolloutIDs(ctx context.Context, query string, args ...any) ([]int64, error) {
	rows, err := s.DB.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }() // rows.Err, below, reports a failed read
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// RolloutsToDrive lists the rollouts with work to do whose lease is free or
// expired: planning or rolling, or any with a tenant update in flight.
func (s *Store) RolloutsToDrive(ctx context.Context) ([]int64, error) {
	return s.rolloutIDs(ctx, `SELECT id FROM tenantfleet_rollout r WHERE lease_until < ? AND (state IN (?, ?)
		OR EXISTS (SELECT 1 FROM tenantfleet_rollout_tenant rt WHERE rt.rollout_id = r.id AND rt.status IN (?, ?))) ORDER BY id`,
		millis(time.Now()), string(RolloutPlanning), string(RolloutRolling), string(TenantUpdating), string(TenantVerifying))
}

// ActiveRolloutIDs lists the rollouts that are not final.
func (s *Store) ActiveRolloutIDs(ctx context.Context) ([]int64, error) {
	return s.rolloutIDs(ctx, `SELECT id FROM tenantfleet_rollout WHERE state NOT IN (?, ?, ?) ORDER BY id`,
		string(RolloutPlanned), string(RolloutSucceeded), string(RolloutCancelled))
}

// CountRollouts counts the rollouts in each state.
func (s *Store) CountRollouts(ctx context.Context) (map[RolloutState]int, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT state, COUNT(*) FROM tenantfleet_rollout GROUP BY state`)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }() // rows.Err, below, reports a failed read
	out := map[RolloutState]int{}
	for rows.Next() {
		var (
			st string
			n  int
		)
		if err := rows.Scan(&st, &n); err != nil {
			return nil, err
		}
		out[RolloutState(st)] = n
	}
	return out, rows.Err()
}

// leaseTable takes, renews or frees a lease on a row of table (a rollout
// or a drift check) for owner, as the tenants' leases do.
func (s *Store) leaseTable(ctx context.Context, table string, id int64, owner string, ttl time.Duration, release bool) (bool, error) {
	now := time.Now()
	var (
		res sql.Result
		err error
	)
	switch {
	case release:
		res, err = s.DB.ExecContext(ctx, s.q(`UPDATE `+table+` SET lease_owner = '', lease_until = 0 WHERE id = ? AND lease_owner = ?`), id, owner)
	default:
		res, err = s.DB.ExecContext(ctx, s.q(`UPDATE `+table+` SET lease_owner = ?, lease_until = ?
			WHERE id = ? AND (lease_owner = '' OR lease_owner = ? OR lease_until < ?)`), owner, millis(now.Add(ttl)), id, owner, millis(now))
	}
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// ReleaseFleetLeasesOf frees the rollout and drift-check leases held by
// owners whose name starts with prefix (a dead predecessor).
func (s *Store) ReleaseFleetLeasesOf(ctx context.Context, prefix string) error {
	for _, table := range []string{"tenantfleet_rollout", "tenantfleet_drift_check"} {
		if _, err := s.DB.ExecContext(ctx, s.q(`UPDATE `+table+` SET lease_until = 0 WHERE substr(lease_owner, 1, ?) = ?`), len(prefix), prefix); err != nil {
			return err
		}
	}
	return nil
}

// TransitionRollout moves a rollout from one of the states from to to,
// with reason, and applies change to its tenants in the same transaction
// (given the state the rollout was in).
// A rollout in another state gets a ConflictError naming the field state.
func (s *Store) TransitionRollout(ctx context.Context, id int64, from []RolloutState, to RolloutState, reason string,
	change func(tx *sql.Tx, from RolloutState) error) (Rollout, error) {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		state, err := s.lockRollout(ctx, tx, id)
		if err != nil {
			return err
		}
		if !slices.Contains(from, state) {
			return &ConflictError{Field: "state", Reason: fmt.Sprintf("rollout %d is %s; only a rollout that is %s can become %s",
				id, state, joinRolloutStates(from), to)}
		}
		now := time.Now()
		sets := "state = ?, reason = ?, updated_at = ?"
		args := []any{string(to), reason, millis(now)}
		if to.Final() {
			sets += ", next_wave_at = 0, finished_at = ?"
			args = append(args, millis(now))
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE tenantfleet_rollout SET `+sets+` WHERE id = ?`), append(args, id)...); err != nil {
			return err
		}
		if change != nil {
			if err := change(tx, state); err != nil {
				return err
			}
		}
		data := map[string]any{"state": to}
		if reason != "" {
			data["reason"] = reason
		}
		return s.addRolloutEvent(ctx, tx, id, RolloutEventState, data)
	})
	if err != nil {
		return Rollout{}, err
	}
	return s.GetRollout(ctx, id)
}

func joinRolloutStates(states []RolloutState) string {
	names := make([]string, len(states))
	for i, st := range states {
		names[i] = string(st)
	}
	if len(names) == 1 {
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// setTenantStatuses moves a rollout's tenants in one of the statuses from to
// to (resume, cancel), recording an event for each.
func (s *Store) setTenantStatuses(ctx context.Context, tx *sql.Tx, id int64, from []TenantStatus, to TenantStatus, planned *bool) error {
	rows, err := tx.QueryContext(ctx, s.q(`SELECT tenant_id, wave, status, planned FROM tenantfleet_rollout_tenant WHERE rollout_id = ?`), id)
	if err != nil {
		return err
	}
	type row struct {
		id      string
		wave    int
		status  TenantStatus
		planned bool
	}
	var match []row
	for rows.Next() {
		var (
			r row
			p int
		)
		if err := rows.Scan(&r.id, &r.wave, &r.status, &p); err != nil {
			_ = rows.Close() // the scan error is the one to report
			return err
		}
		r.planned = p != 0
		if slices.Contains(from, r.status) && (planned == nil || *planned == r.planned) {
			match = append(match, r)
		}
	}
	err = rows.Err()
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	sort.Slice(match, func(i, j int) bool { return match[i].id < match[j].id })
	for _, r := range match {
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE tenantfleet_rollout_tenant SET status = ?, error = '', updated_at = ?
			WHERE rollout_id = ? AND tenant_id = ?`), string(to), millis(time.Now()), id, r.id); err != nil {
			return err
		}
		if err := s.addRolloutEvent(ctx, tx, id, RolloutEventTenant, map[string]any{"tenant": r.id, "wave": r.wave, "status": to}); err != nil {
			return err
		}
	}
	return nil
}

// SetRolloutWave records the wave being rolled and when it starts (a
// pause between waves); an event says a wave started when wave changes.
func (s *Store) SetRolloutWave(ctx context.Context, id int64, wave int, nextAt time.Time, event map[string]any) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		next := int64(0)
		if !nextAt.IsZero() {
			next = millis(nextAt)
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE tenantfleet_rollout SET wave = ?, next_wave_at = ?, updated_at = ? WHERE id = ?`),
			wave, next, millis(time.Now()), id); err != nil {
			return err
		}
		if event == nil {
			return nil
		}
		return s.addRolloutEvent(ctx, tx, id, RolloutEventWave, event)
	})
}

// rolloutTenantUpdate is a change of one rollout tenant's record.
type rolloutTenantUpdate struct {
	Status       TenantStatus
	Error        string
	Plan         bool // the plan fields below are set
	Changes      map[string]int
	Replacements []Replacement
	Before       float64
	After        float64
}

// UpdateRolloutTenant applies u to a rollout's tenant if its status is one
// of from (and, when generation is not 0, its update is that generation's),
// recording the event. It reports whether it applied.
func (s *Store) UpdateRolloutTenant(ctx context.Context, id int64, tenant string, from []TenantStatus, generation int64, u rolloutTenantUpdate) (bool, error) {
	applied := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := s.lockRollout(ctx, tx, id); err != nil {
			return err
		}
		var (
			status TenantStatus
			wave   int
			gen    int64
		)
		err := tx.QueryRowContext(ctx, s.q(`SELECT status, wave, generation FROM tenantfleet_rollout_tenant WHERE rollout_id = ? AND tenant_id = ?`),
			id, tenant).Scan(&status, &wave, &gen)
		if err != nil {
			return err
		}
		if !slices.Contains(from, status) || (generation != 0 && gen != generation) {
			return nil
		}
		sets := []string{"status = ?", "error = ?", "updated_at = ?"}
		args := []any{string(u.Status), u.Error, millis(time.Now())}
		if u.Plan {
			changes, err := json.Marshal(u.Changes)
			if err != nil {
				return err
			}
			repl, err := json.Marshal(u.Replacements)
			if err != nil {
				return err
			}
			sets = append(sets, "planned = 1", "changes = ?", "replacements = ?", "monthly_before = ?", "monthly_after = ?")
			args = append(args, string(changes), string(repl), u.Before, u.After)
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE tenantfleet_rollout_tenant SET `+strings.Join(sets, ", ")+
			` WHERE rollout_id = ? AND tenant_id = ? AND status = ?`), append(args, id, tenant, string(status))...); err != nil {
			return err
		}
		applied = true
		data := map[string]any{"tenant": tenant, "wave": wave, "status": u.Status}
		if u.Error != "" {
			data["error"] = u.Error
		}
		return s.addRolloutEvent(ctx, tx, id, RolloutEventTenant, data)
	})
	return applied, err
}

// StartRolloutUpdate starts a rollout's update of a tenant: a new
// generation that applies version, tried once, and its job, in one
// transaction with the rollout tenant's status. A tenant with an operation
// in progress is left for later (false); a deleted one is skipped.
func (s *Store) StartRolloutUpdate(ctx context.Context, id int64, tenant, version string, enqueue Enqueue) (bool, error) {
	started := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		state, err := s.lockRollout(ctx, tx, id)
		if err != nil {
			return err
		}
		if state != RolloutRolling {
			return nil // paused or cancelled since the driver looked
		}
		var (
			status TenantStatus
			wave   int
		)
		if err := tx.QueryRowContext(ctx, s.q(`SELECT status, wave FROM tenantfleet_rollout_tenant WHERE rollout_id = ? AND tenant_id = ?`),
			id, tenant).Scan(&status, &wave); err != nil {
			return err
		}
		if status != TenantPlanned {
			return nil
		}
		t, err := s.get(ctx, tx, tenant)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		now := millis(time.Now())
		if errors.Is(err, ErrNotFound) || t.Desired == DesiredAbsent {
			if _, err := tx.ExecContext(ctx, s.q(`UPDATE tenantfleet_rollout_tenant SET status = ?, error = ?, updated_at = ?
				WHERE rollout_id = ? AND tenant_id = ?`), string(TenantSkipped), "the tenant was deleted", now, id, tenant); err != nil {
				return err
			}
			started = true
			return s.addRolloutEvent(ctx, tx, id, RolloutEventTenant, map[string]any{"tenant": tenant, "wave": wave,
				"status": TenantSkipped, "error": "the tenant was deleted"})
		}
		if !t.State.Settled() {
			return nil // an operation of its own runs: wait for it
		}
		gen := t.Generation + 1
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE tenantfleet_tenant SET state = ?, generation = ?, target_version = ?,
			max_attempts = 1, refresh = 0, attempts = 0, last_error = '', updated_at = ? WHERE id = ?`),
			string(StateQueued), gen, version, now, tenant); err != nil {
			return err
		}
		var ignored Tenant
		var ok bool
		if err := s.startGeneration(ctx, tx, tenant, gen, enqueue, &ignored, &ok); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE tenantfleet_rollout_tenant SET status = ?, generation = ?, error = '', updated_at = ?
			WHERE rollout_id = ? AND tenant_id = ?`), string(TenantUpdating), gen, now, id, tenant); err != nil {
			return err
		}
		started = true
		return s.addRolloutEvent(ctx, tx, id, RolloutEventTenant, map[string]any{"tenant": tenant, "wave": wave, "status": TenantUpdating})
	})
	return started, err
}

// Reconcile starts a new generation of a settled, present tenant that
// applies its current template version after a refresh: it heals what
// changed behind the engine. ConflictError when it is busy or deleted.
func (s *Store) Reconcile(ctx context.Context, id, defaultVersion string, m Mutation, enqueue Enqueue) (Tenant, bool, error) {
	var (
		out     Tenant
		started bool
	)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		redelivered, err := s.seeWebhook(ctx, tx, m, id, time.Now())
		if err != nil {
			return err
		}
		t, err := s.get(ctx, tx, id)
		if err != nil {
			return err
		}
		if redelivered {
			out = t
			return nil
		}
		if t.Desired == DesiredAbsent {
			return &ConflictError{Field: "id", Reason: fmt.Sprintf("tenant %s is %s: there is nothing to reconcile", id, t.State)}
		}
		if !t.State.Settled() {
			return &ConflictError{Field: "id", Reason: fmt.Sprintf("tenant %s is %s: an operation runs; reconcile once it ends", id, t.State)}
		}
		version := t.TemplateVersion
		if version == "" {
			version = defaultVersion
		}
		gen := t.Generation + 1
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE tenantfleet_tenant SET state = ?, generation = ?, target_version = ?,
			max_attempts = 0, refresh = 1, attempts = 0, last_error = '', updated_at = ? WHERE id = ?`),
			string(StateQueued), gen, version, millis(time.Now()), id); err != nil {
			return err
		}
		return s.startGeneration(ctx, tx, id, gen, enqueue, &out, &started)
	})
	return out, started, err
}

func (s *Store) addRolloutEvent(ctx context.Context, tx *sql.Tx, id int64, typ string, data map[string]any) error {
	b, err := json.Marshal(data)
	if err != nil {
		return err
	}
	if s.dialect == dialectPostgres {
		// As for tenants' events: numbers in commit order, per rollout.
		if _, err := tx.ExecContext(ctx, `SELECT 1 FROM tenantfleet_rollout WHERE id = $1 FOR UPDATE`, id); err != nil {
			return err
		}
	}
	_, err = tx.ExecContext(ctx, s.q(`INSERT INTO tenantfleet_rollout_event (rollout_id, at, type, data) VALUES (?, ?, ?, ?)`),
		id, millis(time.Now()), typ, string(b))
	return err
}

// RolloutEvents returns up to limit of a rollout's events after seq.
func (s *Store) RolloutEvents(ctx context.Context, id, after int64, limit int) ([]RolloutEvent, error) {
	rows, err := s.DB.QueryContext(ctx, s.q(`SELECT seq, rollout_id, at, type, data FROM tenantfleet_rollout_event
		WHERE rollout_id = ? AND seq > ? ORDER BY seq LIMIT ?`), id, after, limit)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }() // rows.Err, below, reports a failed read
	var out []RolloutEvent
	for rows.Next() {
		var (
			e    RolloutEvent
			at   int64
			data string
		)
		if err := rows.Scan(&e.Seq, &e.Rollout, &at, &e.Type, &data); err != nil {
			return nil, err
		}
		e.At = time.UnixMilli(at).UTC()
		e.Data = json.RawMessage(data)
		out = append(out, e)
	}
	return out, rows.Err()
}
