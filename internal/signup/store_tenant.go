package signup

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

const tenantColumns = `id, stack, cloud, region, tier, request, state, desired, generation, cancel_generation,
	delete_options, outputs, retained, attempts, last_error, job_id, lease_owner, created_at, updated_at, ready_at, deleted_at,
	template_version, target_version, max_attempts, refresh, monthly_cost, drift_status, drift_resources, drift_error, drift_checked_at,
	resources, provision_seconds`

type rowScanner interface{ Scan(dest ...any) error }

func scanTenant(row rowScanner) (Tenant, error) {
	var (
		t                                   Tenant
		request, delOpts, outputs, retained string
		created, updated                    int64
		ready, deleted, driftAt             sql.NullInt64
		driftResources, resources           string
		refresh                             int
		provision                           sql.NullFloat64
	)
	err := row.Scan(&t.ID, &t.Stack, &t.Cloud, &t.Region, &t.Tier, &request, &t.State, &t.Desired, &t.Generation,
		&t.CancelGeneration, &delOpts, &outputs, &retained, &t.Attempts, &t.LastError, &t.JobID, &t.LeaseOwner, &created, &updated, &ready, &deleted,
		&t.TemplateVersion, &t.TargetVersion, &t.MaxAttempts, &refresh, &t.MonthlyCost, &t.Drift.Status, &driftResources, &t.Drift.Error, &driftAt,
		&resources, &provision)
	if err != nil {
		return Tenant{}, err
	}
	t.Refresh = refresh != 0
	if provision.Valid {
		t.ProvisionSeconds = &provision.Float64
	}
	if err := json.Unmarshal([]byte(resources), &t.Resources); err != nil {
		return Tenant{}, fmt.Errorf("tenant %s: corrupt resources: %w", t.ID, err)
	}
	t.Drift.CheckedAt = fromMillis(driftAt)
	if err := json.Unmarshal([]byte(driftResources), &t.Drift.Resources); err != nil {
		return Tenant{}, fmt.Errorf("tenant %s: corrupt drift resources: %w", t.ID, err)
	}
	if err := json.Unmarshal([]byte(request), &t.Request); err != nil {
		return Tenant{}, fmt.Errorf("tenant %s: corrupt request: %w", t.ID, err)
	}
	if err := json.Unmarshal([]byte(delOpts), &t.DeleteOptions); err != nil {
		return Tenant{}, fmt.Errorf("tenant %s: corrupt delete options: %w", t.ID, err)
	}
	if err := json.Unmarshal([]byte(outputs), &t.Outputs); err != nil {
		return Tenant{}, fmt.Errorf("tenant %s: corrupt outputs: %w", t.ID, err)
	}
	if err := json.Unmarshal([]byte(retained), &t.Retained); err != nil {
		return Tenant{}, fmt.Errorf("tenant %s: corrupt retained list: %w", t.ID, err)
	}
	if len(t.Outputs) == 0 {
		t.Outputs = nil
	}
	t.CreatedAt = time.UnixMilli(created).UTC()
	t.UpdatedAt = time.UnixMilli(updated).UTC()
	t.ReadyAt = fromMillis(ready)
	t.DeletedAt = fromMillis(deleted)
	return t, nil
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Get returns the tenant with id, or ErrNotFound.
func (s *Store) Get(ctx context.Context, id string) (Tenant, error) {
	return s.get(ctx, s.DB, id)
}

func (s *Store) get(ctx context.Context, q querier, id string) (Tenant, error) {
	query := `SELECT ` + tenantColumns + ` FROM tenantfleet_tenant WHERE id = ?`
	if _, inTx := q.(*sql.Tx); inTx && s.dialect == dialectPostgres {
		// Read for update: a request's read-modify-write of the tenant (its
		// generation) and its events' order are serialised per tenant.
		// SQLite transactions are IMMEDIATE: one writer at a time already.
		query += ` FOR UPDATE`
	}
	t, err := scanTenant(q.QueryRowContext(ctx, s.q(query), id))
	if errors.Is(err, sql.ErrNoRows) {
		return Tenant{}, ErrNotFound
	}
	return t, err
}

// ListFilter narrows a list of tenants: each field set must match.
type ListFilter struct {
	// State, when not empty, keeps the tenants in it.
	State State
	// Drifted keeps the tenants the last drift check found drifted.
	Drifted bool
	// Cloud, Tier and Version (the template version last applied), when
	// not empty, keep the tenants with that value.
	Cloud, Tier, Version string
	// Live leaves deleted tenants out.
	Live bool
}

// where is the filter as an SQL condition and its arguments.
func (f ListFilter) where() (string, []any) {
	conds := []string{"1 = 1"}
	var args []any
	if f.State != "" {
		conds = append(conds, "state = ?")
		args = append(args, string(f.State))
	}
	if f.Drifted {
		conds = append(conds, "drift_status = ?")
		args = append(args, DriftDrifted)
	}
	if f.Drifted || f.Live {
		conds = append(conds, "state <> ?")
		args = append(args, string(StateDeleted))
	}
	for _, c := range []struct{ column, value string }{{"cloud", f.Cloud}, {"tier", f.Tier}, {"template_version", f.Version}} {
		if c.value != "" {
			conds = append(conds, c.column+" = ?")
			args = append(args, c.value)
		}
	}
	return strings.Join(conds, " AND "), args
}

// List returns up to limit tenants ordered by id, after the id after, that
// pass filter.
func (s *Store) List(ctx context.Context, filter ListFilter, after string, limit int) ([]Tenant, error) {
	where, args := filter.where()
	query := `SELECT ` + tenantColumns + ` FROM tenantfleet_tenant WHERE id > ? AND ` + where + ` ORDER BY id LIMIT ?`
	return s.queryTenants(ctx, query, append(append([]any{after}, args...), limit)...)
}

func (s *Store) queryTenants(ctx context.Context, query string, args ...any) ([]Tenant, error) {
	rows, err := s.DB.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }() // rows.Err, below, reports a failed read
	var out []Tenant
	for rows.Next() {
		t, err := scanTenant(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// CountByState counts the tenants in each state.
func (s *Store) CountByState(ctx context.Context) (map[State]int, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT state, COUNT(*) FROM tenantfleet_tenant GROUP BY state`)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }() // rows.Err, below, reports a failed read
	out := map[State]int{}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, err
		}
		out[State(st)] = n
	}
	return out, rows.Err()
}

// Enqueue inserts the job that carries out a tenant's new generation, in the
// transaction that records it; it returns the job's id.
type Enqueue func(ctx context.Context, tx *sql.Tx, tenantID string, generation int64) (int64, error)

// Signup records a signup and enqueues its job, in one transaction. It
// returns the tenant and whether a new generation was started (false: the
// same signup seen again, answered with the record as it is).
//
// version is the template version the provisioning applies.
func (s *Store) Signup(ctx context.Context, req Request, stack, version string, m Mutation, enqueue Enqueue) (Tenant, bool, error) {
	reqJSON, err := json.Marshal(req)
	if err != nil {
		return Tenant{}, false, err
	}
	sum := sha256.Sum256(reqJSON)
	hash := hex.EncodeToString(sum[:])
	var (
		out     Tenant
		started bool
	)
	// Two first signups of one id (or one Idempotency-Key) at once on
	// PostgreSQL: the second's INSERT fails on the key; run it again, and
	// it finds the first's record.
	for try := 0; ; try++ {
		err = s.inTx(ctx, func(tx *sql.Tx) error {
			return s.signupTx(ctx, tx, req, reqJSON, hash, stack, version, m, enqueue, &out, &started)
		})
		if err == nil || try > 0 || !isUniqueViolation(err) {
			return out, started, err
		}
	}
}

func (s *Store) signupTx(ctx context.Context, tx *sql.Tx, req Request, reqJSON []byte, hash, stack, version string, m Mutation,
	enqueue Enqueue, out *Tenant, started *bool) error {
	now := time.Now()
	if redelivered, err := s.seeWebhook(ctx, tx, m, req.ID, now); err != nil || redelivered {
		if err == nil {
			*out, err = s.get(ctx, tx, req.ID)
		}
		return err
	}
	if m.IdempotencyKey != "" {
		var tenantID, prevHash string
		err := tx.QueryRowContext(ctx, s.q(`SELECT tenant_id, request_hash FROM tenantfleet_idempotency_key WHERE key = ?`),
			m.IdempotencyKey).Scan(&tenantID, &prevHash)
		switch {
		case err == nil && prevHash != hash:
			return &ConflictError{Field: "Idempotency-Key", Reason: "Idempotency-Key was already used with a different request body"}
		case err == nil:
			*out, err = s.get(ctx, tx, tenantID)
			return err
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO tenantfleet_idempotency_key (key, tenant_id, request_hash, created_at) VALUES (?, ?, ?, ?)`),
			m.IdempotencyKey, req.ID, hash, millis(now)); err != nil {
			return err
		}
	}

	existing, err := s.get(ctx, tx, req.ID)
	switch {
	case errors.Is(err, ErrNotFound):
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO tenantfleet_tenant
			(id, stack, cloud, region, tier, request, state, desired, generation, target_version, created_at, updated_at, provision_started_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?)`),
			req.ID, stack, req.Cloud, req.Region, req.Tier, string(reqJSON), string(StateQueued), string(DesiredPresent),
			version, millis(now), millis(now), millis(now)); err != nil {
			return err
		}
		return s.startGeneration(ctx, tx, req.ID, 1, enqueue, out, started)
	case err != nil:
		return err
	}

	same := existing.Request == req
	switch {
	case existing.Desired == DesiredAbsent && existing.State != StateDeleted:
		return &ConflictError{Field: "id", Reason: fmt.Sprintf("tenant %s is being deleted (state %s); "+
			"sign it up again once GET /v1/tenants/%s says deleted", req.ID, existing.State, req.ID)}
	case existing.State == StateDeleted, existing.State == StateFailed && same:
		// A new life for a deleted tenant, or another try for a failed one.
		gen := existing.Generation + 1
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE tenantfleet_tenant SET cloud = ?, region = ?, tier = ?, request = ?,
			state = ?, desired = ?, generation = ?, attempts = 0, last_error = '', outputs = '{}', retained = '[]',
			delete_options = '{}', target_version = ?, max_attempts = 0, refresh = 0, updated_at = ?, deleted_at = NULL, ready_at = NULL,
			provision_started_at = ?, provision_seconds = NULL, resources = '[]' WHERE id = ?`),
			req.Cloud, req.Region, req.Tier, string(reqJSON), string(StateQueued), string(DesiredPresent), gen, version, millis(now), millis(now), req.ID); err != nil {
			return err
		}
		return s.startGeneration(ctx, tx, req.ID, gen, enqueue, out, started)
	case !same:
		return &ConflictError{Field: differingField(existing.Request, req), Reason: fmt.Sprintf(
			"tenant %s already exists with %s; a signup is not an update", req.ID, describe(existing.Request))}
	default:
		*out = existing
		return nil
	}
}

func (s *Store) startGeneration(ctx context.Context, tx *sql.Tx, id string, gen int64, enqueue Enqueue, out *Tenant, started *bool) error {
	jobID, err := enqueue(ctx, tx, id, gen)
	if err != nil {
		return fmt.Errorf("enqueue the job for tenant %s: %w", id, err)
	}
	if _, err := tx.ExecContext(ctx, s.q(`UPDATE tenantfleet_tenant SET job_id = ? WHERE id = ?`), jobID, id); err != nil {
		return err
	}
	t, err := s.get(ctx, tx, id)
	if err != nil {
		return err
	}
	*out, *started = t, true
	return s.addEvents(ctx, tx, []Event{stateEvent(id, t.State, "")})
}

func differingField(a, b Request) string {
	switch {
	case a.Tier != b.Tier:
		return "tier"
	case a.Cloud != b.Cloud:
		return "cloud"
	default:
		return "region"
	}
}

func describe(r Request) string {
	s := fmt.Sprintf("tier %s on %s", r.Tier, r.Cloud)
	if r.Region != "" {
		s += " in " + r.Region
	}
	return s
}

// Delete records that a tenant is to be removed and enqueues the job, in
// one transaction. Deleting a deleted tenant changes nothing.
func (s *Store) Delete(ctx context.Context, id string, opts DeleteOptions, m Mutation, enqueue Enqueue) (Tenant, bool, error) {
	var (
		out     Tenant
		started bool
	)
	optsJSON, err := json.Marshal(opts)
	if err != nil {
		return Tenant{}, false, err
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		now := time.Now()
		redelivered, err := s.seeWebhook(ctx, tx, m, id, now)
		if err != nil {
			return err
		}
		t, err := s.get(ctx, tx, id)
		if err != nil {
			return err
		}
		if redelivered || t.State == StateDeleted || (t.Desired == DesiredAbsent && t.DeleteOptions == opts && !t.State.Settled()) {
			out = t
			return nil
		}
		gen := t.Generation + 1
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE tenantfleet_tenant SET state = ?, desired = ?, generation = ?,
			delete_options = ?, attempts = 0, last_error = '', max_attempts = 0, refresh = 0, updated_at = ? WHERE id = ?`),
			string(StateDeprovisioning), string(DesiredAbsent), gen, string(optsJSON), millis(now), id); err != nil {
			return err
		}
		return s.startGeneration(ctx, tx, id, gen, enqueue, &out, &started)
	})
	return out, started, err
}

// Cancel asks the operation running (or queued) for a tenant to stop; the
// job ends it and leaves the tenant failed with "cancelled". It returns the
// tenant and whether it asked (false: a redelivered webhook message,
// answered with the tenant as it is); ConflictError when nothing is in progress.
func (s *Store) Cancel(ctx context.Context, id string, m Mutation) (Tenant, bool, error) {
	var (
		out       Tenant
		cancelled bool
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
		if t.State.Settled() {
			return &ConflictError{Reason: fmt.Sprintf("tenant %s is %s: no operation to cancel", id, t.State)}
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE tenantfleet_tenant SET cancel_generation = generation, updated_at = ? WHERE id = ?`),
			millis(time.Now()), id); err != nil {
			return err
		}
		cancelled = true
		out, err = s.get(ctx, tx, id)
		return err
	})
	return out, cancelled, err
}

// AcquireLease makes owner the only one working on the tenant until the
// lease ends (ttl from now) or is released. It succeeds when the lease is
// free, expired, already owner's, or held by one of steal (dead owners).
func (s *Store) AcquireLease(ctx context.Context, id, owner string, ttl time.Duration) (bool, error) {
	now := time.Now()
	res, err := s.DB.ExecContext(ctx, s.q(`UPDATE tenantfleet_tenant SET lease_owner = ?, lease_until = ?
		WHERE id = ? AND (lease_owner = '' OR lease_owner = ? OR lease_until < ?)`),
		owner, millis(now.Add(ttl)), id, owner, millis(now))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// RenewLease extends owner's lease; false when owner no longer holds it.
func (s *Store) RenewLease(ctx context.Context, id, owner string, ttl time.Duration) (bool, error) {
	res, err := s.DB.ExecContext(ctx, s.q(`UPDATE tenantfleet_tenant SET lease_until = ? WHERE id = ? AND lease_owner = ?`),
		millis(time.Now().Add(ttl)), id, owner)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// ReleaseLease frees owner's lease.
func (s *Store) ReleaseLease(ctx context.Context, id, owner string) error {
	_, err := s.DB.ExecContext(ctx, s.q(`UPDATE tenantfleet_tenant SET lease_owner = '', lease_until = 0 WHERE id = ? AND lease_owner = ?`), id, owner)
	return err
}

// ReleaseLeasesOf frees every lease held by owners whose name starts with
// prefix: a replica's dead predecessor (see Service). It returns the tenants.
func (s *Store) ReleaseLeasesOf(ctx context.Context, prefix string) ([]string, error) {
	// substr, not LIKE: '_' and '%' in a replica id are not wildcards.
	rows, err := s.DB.QueryContext(ctx, s.q(`SELECT id FROM tenantfleet_tenant WHERE substr(lease_owner, 1, ?) = ?`), len(prefix), prefix)
	if err != nil {
		return nil, err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			_ = rows.Close() // the scan error is the one to report
			return nil, err
		}
		ids = append(ids, id)
	}
	// Closed before the UPDATE: SQLite's one connection must be free for it.
	err = rows.Err()
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	_, err = s.DB.ExecContext(ctx, s.q(`UPDATE tenantfleet_tenant SET lease_until = 0 WHERE substr(lease_owner, 1, ?) = ?`), len(prefix), prefix)
	return ids, err
}

// Unsettled returns the tenants with an operation pending whose lease is
// free or has expired: their job may have died with its replica.
func (s *Store) Unsettled(ctx context.Context) ([]Tenant, error) {
	return s.queryTenants(ctx, `SELECT `+tenantColumns+` FROM tenantfleet_tenant
		WHERE state IN (?, ?, ?) AND lease_until < ? ORDER BY id`,
		string(StateQueued), string(StateProvisioning), string(StateDeprovisioning), millis(time.Now()))
}

// Requeue enqueues another job for the tenant's current generation (its
// job died with its replica) and records it as the tenant's job.
func (s *Store) Requeue(ctx context.Context, id string, generation int64, enqueue Enqueue) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		jobID, err := enqueue(ctx, tx, id, generation)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.q(`UPDATE tenantfleet_tenant SET job_id = ? WHERE id = ? AND generation = ?`), jobID, id, generation)
		return err
	})
}

// Progress is a job's update of the tenant it works on. It applies only
// while the tenant is still at generation (a newer request supersedes it).
type Progress struct {
	State     State
	Attempts  int
	LastError *string
	Outputs   map[string]any
	Retained  []RetainedResource
	// Ready and Deleted stamp readyAt or deletedAt.
	Ready, Deleted bool
	// Version, when set, is the template version now applied.
	Version string
	// MonthlyCost, when set, is the stack's priced monthly cost.
	MonthlyCost *float64
	// Resources, when not nil, are the stack's resources after an update.
	Resources []StackResource
}

// Update applies p to the tenant if it is still at generation and records
// the state event. It reports whether it applied.
func (s *Store) Update(ctx context.Context, id string, generation int64, p Progress) (bool, error) {
	applied := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		now := millis(time.Now())
		sets := []string{"state = ?", "attempts = ?", "updated_at = ?"}
		args := []any{string(p.State), p.Attempts, now}
		if p.LastError != nil {
			sets = append(sets, "last_error = ?")
			args = append(args, *p.LastError)
		}
		if p.Outputs != nil {
			b, err := json.Marshal(p.Outputs)
			if err != nil {
				return err
			}
			sets = append(sets, "outputs = ?")
			args = append(args, string(b))
		}
		if p.Retained != nil {
			b, err := json.Marshal(p.Retained)
			if err != nil {
				return err
			}
			sets = append(sets, "retained = ?")
			args = append(args, string(b))
		}
		if p.Ready {
			// The first ready of the tenant's life (or of a retry) times
			// its provisioning; later updates leave that figure be.
			sets = append(sets, "ready_at = ?",
				"provision_seconds = CASE WHEN ready_at IS NULL AND provision_started_at IS NOT NULL THEN (? - provision_started_at) / 1000.0 ELSE provision_seconds END")
			args = append(args, now, now)
		}
		if p.Resources != nil {
			b, err := json.Marshal(p.Resources)
			if err != nil {
				return err
			}
			sets = append(sets, "resources = ?")
			args = append(args, string(b))
		}
		if p.Deleted {
			sets = append(sets, "deleted_at = ?", "outputs = '{}'", "resources = '[]'", "template_version = ''", "monthly_cost = 0",
				"drift_status = 'unchecked'", "drift_resources = '[]'", "drift_error = ''", "drift_checked_at = NULL")
			args = append(args, now)
		}
		if p.Version != "" {
			// An update changed the stack: what a drift check found of it
			// is no longer known.
			sets = append(sets, "template_version = ?", "drift_status = 'unchecked'", "drift_resources = '[]'", "drift_error = ''")
			args = append(args, p.Version)
		}
		if p.MonthlyCost != nil {
			sets = append(sets, "monthly_cost = ?")
			args = append(args, *p.MonthlyCost)
		}
		args = append(args, id, generation)
		res, err := tx.ExecContext(ctx, s.q(`UPDATE tenantfleet_tenant SET `+strings.Join(sets, ", ")+` WHERE id = ? AND generation = ?`), args...)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil || n == 0 {
			return err
		}
		applied = true
		msg := ""
		if p.LastError != nil {
			msg = *p.LastError
		}
		return s.addEvents(ctx, tx, []Event{stateEvent(id, p.State, msg)})
	})
	return applied, err
}
