package signup

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"
)

func stateEvent(id string, st State, msg string) Event {
	data := map[string]string{"state": string(st)}
	if msg != "" {
		data["error"] = msg
	}
	b, _ := json.Marshal(data)
	return Event{TenantID: id, At: time.Now(), Type: EventState, Data: b}
}

// AddEvents appends events to their tenants' logs.
func (s *Store) AddEvents(ctx context.Context, events []Event) error {
	if len(events) == 0 {
		return nil
	}
	return s.inTx(ctx, func(tx *sql.Tx) error { return s.addEvents(ctx, tx, events) })
}

func (s *Store) addEvents(ctx context.Context, tx *sql.Tx, events []Event) error {
	if s.dialect == dialectPostgres {
		// Take the tenants' row locks (held by a request or a state update
		// until it commits) so that event numbers are handed out in commit
		// order: a stream that has read seq n never misses a later-committed n-1.
		locked := map[string]bool{}
		for _, e := range events {
			if !locked[e.TenantID] {
				locked[e.TenantID] = true
				if _, err := tx.ExecContext(ctx, `SELECT 1 FROM tenantfleet_tenant WHERE id = $1 FOR UPDATE`, e.TenantID); err != nil {
					return err
				}
			}
		}
	}
	for _, e := range events {
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO tenantfleet_event (tenant_id, at, type, data) VALUES (?, ?, ?, ?)`),
			e.TenantID, millis(e.At), e.Type, string(e.Data)); err != nil {
			return err
		}
	}
	return nil
}

// Events returns up to limit of the tenant's events after seq, oldest first.
func (s *Store) Events(ctx context.Context, id string, after int64, limit int) ([]Event, error) {
	rows, err := s.DB.QueryContext(ctx, s.q(`SELECT seq, tenant_id, at, type, data FROM tenantfleet_event
		WHERE tenant_id = ? AND seq > ? ORDER BY seq LIMIT ?`), id, after, limit)
	if err != nil {
		return nil, err
	}
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
