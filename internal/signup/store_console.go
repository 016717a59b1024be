package signup

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// FleetCounts are the fleet's tenants (deleted ones left out) counted by
// the database, so that a summary reads no tenant row.
type FleetCounts struct {
	Tenants     int
	ByState     map[string]int
	ByCloud     map[string]int
	ByTier      map[string]int
	Drift       map[string]int
	MonthlyCost float64
	// CostByCloud sums the monthly cost of each cloud's tenants.
	CostByCloud map[string]float64
}

// CountFleet counts the tenants that are not deleted by state, cloud,
// tier and drift status, and sums their monthly cost, overall and by cloud.
func (s *Store) CountFleet(ctx context.Context) (FleetCounts, error) {
	c := FleetCounts{ByState: map[string]int{}, ByCloud: map[string]int{}, ByTier: map[string]int{},
		Drift: map[string]int{DriftUnchecked: 0, DriftInSync: 0, DriftDrifted: 0, DriftError: 0}, CostByCloud: map[string]float64{}}
	rows, err := s.DB.QueryContext(ctx, s.q(`SELECT state, cloud, tier, drift_status, COUNT(*), SUM(monthly_cost)
		FROM tenantfleet_tenant WHERE state <> ? GROUP BY state, cloud, tier, drift_status`), string(StateDeleted))
	if err != nil {
		return c, err
	}
	defer func() { _ = rows.Close() }() // rows.Err, below, reports a failed read
	for rows.Next() {
		var (
			state, cloud, tier, drift string
			n                         int
			cost                      float64
		)
		if err := rows.Scan(&state, &cloud, &tier, &drift, &n, &cost); err != nil {
			return c, err
		}
		c.Tenants += n
		c.ByState[state] += n
		c.ByCloud[cloud] += n
		c.ByTier[tier] += n
		c.Drift[drift] += n
		c.MonthlyCost += cost
		c.CostByCloud[cloud] += cost
	}
	c.MonthlyCost = math.Round(c.MonthlyCost*100) / 100
	for k, v := range c.CostByCloud {
		c.CostByCloud[k] = math.Round(v*100) / 100
	}
	return c, rows.Err()
}

// CountTenants counts the tenants that pass filter.
func (s *Store) CountTenants(ctx context.Context, filter ListFilter) (int, error) {
	where, args := filter.where()
	var n int
	err := s.DB.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM tenantfleet_tenant WHERE `+where), args...).Scan(&n)
	return n, err
}

// Provisioning is how long one tenant took from its signup (or retry) to
// ready.
type Provisioning struct {
	Tenant  string    `json:"tenant"`
	At      time.Time `json:"at"`
	Seconds float64   `json:"seconds"`
}

// RecentProvisionings returns the last n tenants' provisioning times,
// oldest first.
func (s *Store) RecentProvisionings(ctx context.Context, n int) ([]Provisioning, error) {
	rows, err := s.DB.QueryContext(ctx, s.q(`SELECT id, provision_started_at, provision_seconds FROM tenantfleet_tenant
		WHERE provision_seconds IS NOT NULL AND provision_started_at IS NOT NULL
		ORDER BY provision_started_at DESC, id LIMIT ?`), n)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }() // rows.Err, below, reports a failed read
	var out []Provisioning
	for rows.Next() {
		var (
			p  Provisioning
			at int64
		)
		if err := rows.Scan(&p.Tenant, &at, &p.Seconds); err != nil {
			return nil, err
		}
		p.At = time.UnixMilli(at).UTC()
		out = append(out, p)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, rows.Err()
}

// SignupsPerHour counts the signups (and retries of failed tenants) in
// each of the hours hours up to now, oldest first; the last is the hour
// now is in.
func (s *Store) SignupsPerHour(ctx context.Context, now time.Time, hours int) ([]int, error) {
	const hour = int64(time.Hour / time.Millisecond) // the 3600000 below
	end := now.UnixMilli()/hour + 1                  // the hour after the current one, in hours since the epoch
	start := end - int64(hours)
	rows, err := s.DB.QueryContext(ctx, s.q(`SELECT provision_started_at / 3600000, COUNT(*) FROM tenantfleet_tenant
		WHERE provision_started_at >= ? GROUP BY provision_started_at / 3600000`), start*hour)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }() // rows.Err, below, reports a failed read
	out := make([]int, hours)
	for rows.Next() {
		var h int64
		var n int
		if err := rows.Scan(&h, &n); err != nil {
			return nil, err
		}
		if i := h - start; i >= 0 && i < int64(hours) {
			out[i] = n
		}
	}
	return out, rows.Err()
}

// OperationEvents returns the tenant's operation events (started and
// ended), newest first, at most limit.
func (s *Store) OperationEvents(ctx context.Context, id string, limit int) ([]Event, error) {
	rows, err := s.DB.QueryContext(ctx, s.q(`SELECT seq, tenant_id, at, type, data FROM tenantfleet_event
		WHERE tenant_id = ? AND type = ? ORDER BY seq DESC LIMIT ?`), id, EventOperation, limit)
	if err != nil {
		return nil, err
	}
	return scanEvents(rows)
}

func scanEvents(rows *sql.Rows) ([]Event, error) {
	defer func() { _ = rows.Close() }() // rows.Err, below, reports a failed read
	var out []Event
	for rows.Next() {
		var (
			e    Event
			at   int64
			data string
		)
		if err := rows.Scan(&e.Seq, &e.TenantID, &at, &e.Type, &data); err != nil {
			return nil, err
		}
		e.At = time.UnixMilli(at).UTC()
		e.Data = json.RawMessage(data)
		out = append(out, e)
	}
	return out, rows.Err()
}

// ---- console sessions ----

// consoleSession is a signed-in operator's console session. Only the
// SHA-256 of its id is stored: the database never holds a usable cookie.
type consoleSession struct {
	// idSum is the hex SHA-256 of the cookie's value.
	idSum string
	// csrf is the token every state-changing form of the session carries.
	csrf string
	// tokenSum is the hex SHA-256 of the operator token that signed in:
	// the session ends when that token is no longer accepted.
	tokenSum  string
	createdAt time.Time
	expiresAt time.Time
	lastSeen  time.Time
}

var errNoSession = errors.New("no such console session")

// CreateSession records a console session, removing expired ones.
func (s *Store) createSession(ctx context.Context, cs consoleSession) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM tenantfleet_console_session WHERE expires_at < ?`), millis(cs.createdAt)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO tenantfleet_console_session (id_sum, csrf, token_sum, created_at, expires_at, last_seen_at)
			VALUES (?, ?, ?, ?, ?, ?)`), cs.idSum, cs.csrf, cs.tokenSum, millis(cs.createdAt), millis(cs.expiresAt), millis(cs.lastSeen))
		return err
	})
}

// session returns the session whose id has the SHA-256 idSum, or errNoSession.
func (s *Store) session(ctx context.Context, idSum string) (consoleSession, error) {
	cs := consoleSession{idSum: idSum}
	var created, expires, seen int64
	err := s.DB.QueryRowContext(ctx, s.q(`SELECT csrf, token_sum, created_at, expires_at, last_seen_at
		FROM tenantfleet_console_session WHERE id_sum = ?`), idSum).Scan(&cs.csrf, &cs.tokenSum, &created, &expires, &seen)
	if errors.Is(err, sql.ErrNoRows) {
		return cs, errNoSession
	}
	if err != nil {
		return cs, fmt.Errorf("read a console session: %w", err)
	}
	cs.createdAt, cs.expiresAt, cs.lastSeen = time.UnixMilli(created), time.UnixMilli(expires), time.UnixMilli(seen)
	return cs, nil
}

// touchSession records that the session was used at.
func (s *Store) touchSession(ctx context.Context, idSum string, at time.Time) error {
	_, err := s.DB.ExecContext(ctx, s.q(`UPDATE tenantfleet_console_session SET last_seen_at = ? WHERE id_sum = ?`), millis(at), idSum)
	return err
}

// deleteSession ends a session (sign-out, expiry).
func (s *Store) deleteSession(ctx context.Context, idSum string) error {
	_, err := s.DB.ExecContext(ctx, s.q(`DELETE FROM tenantfleet_console_session WHERE id_sum = ?`), idSum)
	return err
}

// RolloutSummary is a rollout as lists show it: its record and its
// tenants counted by the database, not read.
type RolloutSummary struct {
	Rollout
	// Tenants counts the rollout's tenants.
	Tenants int
	// MonthlyDelta sums the planned tenants' monthly cost change.
	MonthlyDelta float64
}

// RolloutSummaries returns up to limit rollouts, newest first (only the
// active ones when active), with their tenants counted by status.
func (s *Store) RolloutSummaries(ctx context.Context, limit int, active bool) ([]RolloutSummary, error) {
	query := `SELECT ` + rolloutColumns + ` FROM tenantfleet_rollout`
	args := []any{}
	if active {
		query += ` WHERE state NOT IN (?, ?, ?)`
		args = append(args, string(RolloutPlanned), string(RolloutSucceeded), string(RolloutCancelled))
	}
	query += ` ORDER BY id DESC LIMIT ?`
	rows, err := s.DB.QueryContext(ctx, s.q(query), append(args, limit)...)
	if err != nil {
		return nil, err
	}
	var out []RolloutSummary
	index := map[int64]int{}
	for rows.Next() {
		r, err := scanRollout(rows)
		if err != nil {
			_ = rows.Close()
			return nil, err
		}
		r.Counts = map[string]int{}
		index[r.ID] = len(out)
		out = append(out, RolloutSummary{Rollout: r})
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return out, nil
	}
	// One GROUP BY over the listed rollouts' tenants (by the
	// rollout_id, tenant_id primary key).
	placeholders := strings.TrimSuffix(strings.Repeat("?, ", len(out)), ", ")
	ids := make([]any, len(out))
	for i, r := range out {
		ids[i] = r.ID
	}
	counts, err := s.DB.QueryContext(ctx, s.q(`SELECT rollout_id, status, COUNT(*),
		SUM(CASE WHEN planned <> 0 THEN monthly_after - monthly_before ELSE 0 END)
		FROM tenantfleet_rollout_tenant WHERE rollout_id IN (`+placeholders+`) GROUP BY rollout_id, status`), ids...)
	if err != nil {
		return nil, err
	}
	defer func() { _ = counts.Close() }() // counts.Err, below, reports a failed read
	for counts.Next() {
		var (
			id     int64
			status string
			n      int
			delta  float64
		)
		if err := counts.Scan(&id, &status, &n, &delta); err != nil {
			return nil, err
		}
		r := &out[index[id]]
		r.Counts[status] += n
		r.Tenants += n
		r.MonthlyDelta += delta
	}
	for i := range out {
		out[i].MonthlyDelta = round2(out[i].MonthlyDelta)
		out[i].Failures = out[i].Counts[string(TenantFailed)]
	}
	return out, counts.Err()
}

// LastDriftCheck returns the newest drift check with its results counted
// by the database, not read (nil when there is none).
func (s *Store) LastDriftCheck(ctx context.Context) (*DriftCheck, error) {
	var (
		c        DriftCheck
		started  int64
		finished sql.NullInt64
	)
	err := s.DB.QueryRowContext(ctx, `SELECT id, state, started_at, finished_at FROM tenantfleet_drift_check ORDER BY id DESC LIMIT 1`).
		Scan(&c.ID, &c.State, &started, &finished)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	c.StartedAt = time.UnixMilli(started).UTC()
	c.FinishedAt = fromMillis(finished)
	rows, err := s.DB.QueryContext(ctx, s.q(`SELECT status, COUNT(*) FROM tenantfleet_drift_result WHERE check_id = ? GROUP BY status`), c.ID)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }() // rows.Err, below, reports a failed read
	for rows.Next() {
		var (
			status string
			n      int
		)
		if err := rows.Scan(&status, &n); err != nil {
			return nil, err
		}
		c.Tenants += n
		switch status {
		case DriftInSync:
			c.InSync += n
		case DriftDrifted:
			c.Drifted += n
		case DriftError:
			c.Errors += n
		case driftSkipped:
			c.Skipped += n
		}
		if status != driftPending {
			c.Checked += n
		}
	}
	return &c, rows.Err()
}

// TenantClouds lists the clouds the tenants are on.
func (s *Store) TenantClouds(ctx context.Context) ([]string, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT DISTINCT cloud FROM tenantfleet_tenant ORDER BY cloud`)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }() // rows.Err, below, reports a failed read
	var out []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
