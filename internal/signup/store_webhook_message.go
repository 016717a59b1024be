package signup

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"time"
)

// Mutation is what a request needs besides its own change: the webhook
// message that carried it and the idempotency key.
//
// A webhook-id names one message, and a sender redelivers a message with
// the same id (a new timestamp and signature) after a timeout or a 5xx,
// until it gets a 2xx. So the id is the message's idempotency key: a
// redelivery of the same request is answered with the tenant as it is and
// changes nothing; the same id with another request is refused.
type Mutation struct {
	WebhookID string
	// WebhookRequest identifies the request the message carried (a hash
	// of its method, path and query, and body); see RequestDigest.
	WebhookRequest string
	IdempotencyKey string
}

// RequestDigest identifies a request by its method, path and query, and body.
func RequestDigest(method, requestURI string, body []byte) string {
	h := sha256.New()
	h.Write([]byte(method + " " + requestURI + "\n"))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// seeWebhook records the webhook message of m (none: nothing to do) for
// the request on tenant. redelivered is true when the message was received
// before with the same request: the caller answers with the tenant as it is
// and changes nothing. The same id with another request is a conflict
// naming webhook-id.
func (s *Store) seeWebhook(ctx context.Context, tx *sql.Tx, m Mutation, tenant string, now time.Time) (redelivered bool, err error) {
	if m.WebhookID == "" {
		return false, nil
	}
	res, err := tx.ExecContext(ctx, s.q(`INSERT INTO tenantfleet_webhook_message (id, received_at, tenant_id, request_hash)
		VALUES (?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`), m.WebhookID, millis(now), tenant, m.WebhookRequest)
	if err != nil {
		return false, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return false, err
	}
	var prevTenant, prevRequest string
	if err := tx.QueryRowContext(ctx, s.q(`SELECT tenant_id, request_hash FROM tenantfleet_webhook_message WHERE id = ?`),
		m.WebhookID).Scan(&prevTenant, &prevRequest); err != nil {
		return false, err
	}
	// A message recorded before requests were (empty) cannot be told apart: take it as the same.
	if (prevRequest != "" && prevRequest != m.WebhookRequest) || (prevTenant != "" && prevTenant != tenant) {
		return false, &ConflictError{Field: "webhook-id", Reason: "this webhook-id was already received with a different request: " +
			"a webhook-id names one message, and a redelivery carries the same request"}
	}
	return true, nil
}

// Prune forgets webhook ids received before cutoff and idempotency keys
// created before keysCutoff.
func (s *Store) Prune(ctx context.Context, cutoff, keysCutoff time.Time) error {
	if _, err := s.DB.ExecContext(ctx, s.q(`DELETE FROM tenantfleet_webhook_message WHERE received_at < ?`), millis(cutoff)); err != nil {
		return err
	}
	_, err := s.DB.ExecContext(ctx, s.q(`DELETE FROM tenantfleet_idempotency_key WHERE created_at < ?`), millis(keysCutoff))
	return err
}
