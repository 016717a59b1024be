package signup

import (
	"context"
	"time"
)

// EngineRun is an engine process a replica started for a tenant.
type EngineRun struct {
	TenantID, Replica, Host string
	PID                     int
}

// RecordEngine remembers that replica started engine process pid on host
// for the tenant.
func (s *Store) RecordEngine(ctx context.Context, r EngineRun) error {
	_, err := s.DB.ExecContext(ctx, s.q(`INSERT INTO tenantfleet_engine_run (tenant_id, replica, host, pid, started_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (tenant_id, host, pid) DO NOTHING`), r.TenantID, r.Replica, r.Host, r.PID, millis(time.Now()))
	return err
}

// EngineRuns returns the engine processes recorded for the tenant.
func (s *Store) EngineRuns(ctx context.Context, id string) ([]EngineRun, error) {
	rows, err := s.DB.QueryContext(ctx, s.q(`SELECT tenant_id, replica, host, pid FROM tenantfleet_engine_run WHERE tenant_id = ?`), id)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }() // rows.Err, below, reports a failed read
	var out []EngineRun
	for rows.Next() {
		var r EngineRun
		if err := rows.Scan(&r.TenantID, &r.Replica, &r.Host, &r.PID); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// ForgetEngine drops the record of an engine process that has ended.
func (s *Store) ForgetEngine(ctx context.Context, id, host string, pid int) error {
	_, err := s.DB.ExecContext(ctx, s.q(`DELETE FROM tenantfleet_engine_run WHERE tenant_id = ? AND host = ? AND pid = ?`), id, host, pid)
	return err
}
