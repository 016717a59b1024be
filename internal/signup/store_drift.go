package signup

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tenantfleet/tenantfleet/internal/engine"
)

// DriftCheck is a refresh-preview of a set of tenants, as the API shows it.
type DriftCheck struct {
	ID int64 `json:"id"`
	// State is running or done.
	State    string   `json:"state"`
	Selector Selector `json:"selector"`
	Tenants  int      `json:"tenants"`
	Checked  int      `json:"checked"`
	InSync   int      `json:"inSync"`
	Drifted  int      `json:"drifted"`
	Errors   int      `json:"errors"`
	// Skipped counts tenants that were no longer ready when their turn came.
	Skipped    int           `json:"skipped"`
	StartedAt  time.Time     `json:"startedAt"`
	FinishedAt *time.Time    `json:"finishedAt,omitempty"`
	Seconds    float64       `json:"seconds,omitempty"`
	Results    []DriftResult `json:"results,omitempty"`
	Links      struct {
		Self string `json:"self"`
	} `json:"links"`
}

// DriftResult is what a drift check found of one tenant.
type DriftResult struct {
	Tenant string `json:"tenant"`
	// Status is pending, in_sync, drifted, error or skipped.
	Status    string                 `json:"status"`
	Resources []engine.DriftResource `json:"resources,omitempty"`
	Error     string                 `json:"error,omitempty"`
	CheckedAt *time.Time             `json:"checkedAt,omitempty"`
}

// The drift check states, and the status of a tenant not checked yet or
// no longer ready.
const (
	DriftCheckRunning = "running"
	DriftCheckDone    = "done"
	driftPending      = "pending"
	driftSkipped      = "skipped"
)

func driftCheckPath(id int64) string { return fmt.Sprintf("/v1/drift-checks/%d", id) }

// ErrDriftCheckNotFound is a drift check id that names none.
var ErrDriftCheckNotFound = errors.New("no such drift check")

// CreateDriftCheck records a drift check of tenants.
func (s *Store) CreateDriftCheck(ctx context.Context, sel Selector, tenants []string) (DriftCheck, error) {
	selJSON, err := json.Marshal(sel)
	if err != nil {
		return DriftCheck{}, err
	}
	var id int64
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, s.q(`INSERT INTO tenantfleet_drift_check (state, selector, started_at) VALUES (?, ?, ?) RETURNING id`),
			DriftCheckRunning, string(selJSON), millis(time.Now())).Scan(&id); err != nil {
			return err
		}
		for _, t := range tenants {
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO tenantfleet_drift_result (check_id, tenant_id, status) VALUES (?, ?, ?)`),
				id, t, driftPending); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return DriftCheck{}, err
	}
	return s.GetDriftCheck(ctx, id)
}

// GetDriftCheck returns a drift check with its results.
func (s *Store) GetDriftCheck(ctx context.Context, id int64) (DriftCheck, error) {
	var (
		c        DriftCheck
		sel      string
		started  int64
		finished sql.NullInt64
	)
	err := s.DB.QueryRowContext(ctx, s.q(`SELECT id, state, selector, started_at, finished_at FROM tenantfleet_drift_check WHERE id = ?`), id).
		Scan(&c.ID, &c.State, &sel, &started, &finished)
	if errors.Is(err, sql.ErrNoRows) {
		return c, ErrDriftCheckNotFound
	}
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal([]byte(sel), &c.Selector); err != nil {
		return c, fmt.Errorf("drift check %d: corrupt selector: %w", id, err)
	}
	c.StartedAt = time.UnixMilli(started).UTC()
	c.FinishedAt = fromMillis(finished)
	if c.FinishedAt != nil {
		c.Seconds = c.FinishedAt.Sub(c.StartedAt).Round(100 * time.Millisecond).Seconds()
	}
	c.Links.Self = driftCheckPath(id)
	rows, err := s.DB.QueryContext(ctx, s.q(`SELECT tenant_id, status, resources, error, checked_at FROM tenantfleet_drift_result
		WHERE check_id = ? ORDER BY tenant_id`), id)
	if err != nil {
		return c, err
	}
	defer func() { _ = rows.Close() }() // rows.Err, below, reports a failed read
	c.Results = []DriftResult{}
	for rows.Next() {
		var (
			r         DriftResult
			resources string
			at        sql.NullInt64
		)
		if err := rows.Scan(&r.Tenant, &r.Status, &resources, &r.Error, &at); err != nil {
			return c, err
		}
		if err := json.Unmarshal([]byte(resources), &r.Resources); err != nil {
			return c, fmt.Errorf("drift check %d: corrupt resources: %w", id, err)
		}
		r.CheckedAt = fromMillis(at)
		c.Results = append(c.Results, r)
		c.Tenants++
		switch r.Status {
		case DriftInSync:
			c.InSync++
		case DriftDrifted:
			c.Drifted++
		case DriftError:
			c.Errors++
		case driftSkipped:
			c.Skipped++
		}
		if r.Status != driftPending {
			c.Checked++
		}
	}
	return c, rows.Err()
}

// ListDriftChecks returns up to limit drift checks, newest first, without results.
func (s *Store) ListDriftChecks(ctx context.Context, limit int) ([]DriftCheck, error) {
	ids, err := s.rolloutIDs(ctx, `SELECT id FROM tenantfleet_drift_check ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	out := make([]DriftCheck, 0, len(ids))
	for _, id := range ids {
		c, err := s.GetDriftCheck(ctx, id)
		if err != nil {
			return nil, err
		}
		c.Results = nil
		out = append(out, c)
	}
	return out, nil
}

// DriftChecksToDrive lists the running drift checks whose lease is free or expired.
func (s *Store) DriftChecksToDrive(ctx context.Context) ([]int64, error) {
	return s.rolloutIDs(ctx, `SELECT id FROM tenantfleet_drift_check WHERE state = ? AND lease_until < ? ORDER BY id`,
		DriftCheckRunning, millis(time.Now()))
}

// DriftChecksRunning counts the drift checks not done, driven or not.
func (s *Store) DriftChecksRunning(ctx context.Context) (int, error) {
	var n int
	err := s.DB.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM tenantfleet_drift_check WHERE state = ?`), DriftCheckRunning).Scan(&n)
	return n, err
}

// LastDriftCheckStart is when the newest drift check started (zero: never).
func (s *Store) LastDriftCheckStart(ctx context.Context) (time.Time, error) {
	var at sql.NullInt64
	if err := s.DB.QueryRowContext(ctx, `SELECT MAX(started_at) FROM tenantfleet_drift_check`).Scan(&at); err != nil {
		return time.Time{}, err
	}
	if !at.Valid {
		return time.Time{}, nil
	}
	return time.UnixMilli(at.Int64), nil
}

// SetDriftResult records what the check found of a tenant, on the check
// and (unless skipped) on the tenant.
func (s *Store) SetDriftResult(ctx context.Context, id int64, r DriftResult) error {
	resources, err := json.Marshal(r.Resources)
	if err != nil {
		return err
	}
	if r.Resources == nil {
		resources = []byte("[]")
	}
	now := millis(time.Now())
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE tenantfleet_drift_result SET status = ?, resources = ?, error = ?, checked_at = ?
			WHERE check_id = ? AND tenant_id = ?`), r.Status, string(resources), r.Error, now, id, r.Tenant); err != nil {
			return err
		}
		if r.Status == driftSkipped {
			return nil
		}
		_, err := tx.ExecContext(ctx, s.q(`UPDATE tenantfleet_tenant SET drift_status = ?, drift_resources = ?, drift_error = ?, drift_checked_at = ?
			WHERE id = ?`), r.Status, string(resources), r.Error, now, r.Tenant)
		return err
	})
}

// FinishDriftCheck marks a drift check done.
func (s *Store) FinishDriftCheck(ctx context.Context, id int64) error {
	_, err := s.DB.ExecContext(ctx, s.q(`UPDATE tenantfleet_drift_check SET state = ?, finished_at = ?, lease_owner = '', lease_until = 0 WHERE id = ?`),
		DriftCheckDone, millis(time.Now()), id)
	return err
}

// CountDrift counts the tenants (not deleted) by drift status.
func (s *Store) CountDrift(ctx context.Context) (map[string]int, error) {
	rows, err := s.DB.QueryContext(ctx, s.q(`SELECT drift_status, COUNT(*) FROM tenantfleet_tenant WHERE state <> ? GROUP BY drift_status`), string(StateDeleted))
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }() // rows.Err, below, reports a failed read
	out := map[string]int{DriftUnchecked: 0, DriftInSync: 0, DriftDrifted: 0, DriftError: 0}
	for rows.Next() {
		var (
			st string
			n  int
		)
		if err := rows.Scan(&st, &n); err != nil {
			return nil, err
		}
		out[st] = n
	}
	return out, rows.Err()
}
