package signup

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	svix "github.com/svix/svix-webhooks/go"
)

// The Standard Webhooks headers.
const (
	headerWebhookID        = "webhook-id"
	headerWebhookTimestamp = "webhook-timestamp"
	headerWebhookSignature = "webhook-signature"
)

// webhookTolerance is how far a webhook's timestamp may be from now, either
// way: the tolerance svix's Verify enforces. A replay (same id, timestamp
// and signature) outside it is refused; within it, and for a redelivery
// (same id, new timestamp and signature), the webhook-id makes it change
// nothing (see Mutation).
const webhookTolerance = 5 * time.Minute

// webhookMemory is how long a webhook-id is remembered: longer than
// senders keep redelivering a message (svix retries for about 28 hours:
// 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h; docs.svix.com/retries), so a
// late redelivery of a delete never removes a tenant signed up again since.
const webhookMemory = 72 * time.Hour

// minWebhookKeyBytes is the shortest signing key accepted: Standard
// Webhooks asks for 24 to 64 bytes. A short (or empty) key would let
// anyone sign; a longer one does no harm.
const minWebhookKeyBytes = 24

// CheckWebhookSecrets reports the first secret that is not a Standard
// Webhooks signing secret (whsec_ and base64 of at least 24 bytes), by its
// position only: secrets are never quoted.
func CheckWebhookSecrets(secrets []string) error {
	for i, s := range secrets {
		if _, err := newVerifier(s); err != nil {
			return fmt.Errorf("webhook secret %d of %d: %w", i+1, len(secrets), err)
		}
	}
	return nil
}

func newVerifier(secret string) (*svix.Webhook, error) {
	if !strings.HasPrefix(secret, "whsec_") {
		return nil, errors.New("must start with whsec_")
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return nil, errors.New("must be whsec_ followed by base64")
	}
	if len(key) < minWebhookKeyBytes {
		return nil, fmt.Errorf("its key must be at least %d bytes, has %d", minWebhookKeyBytes, len(key))
	}
	wh, err := svix.NewWebhook(secret)
	if err != nil {
		return nil, errors.New("must be whsec_ followed by base64")
	}
	return wh, nil
}

// authenticator checks who sent a request: an operator with a bearer
// token, or a webhook sender with a signature.
type authenticator struct {
	// tokenSums are the SHA-256 sums of the API tokens: comparing sums
	// takes the same time whatever the length of what was sent.
	tokenSums [][sha256.Size]byte
	verifiers []*svix.Webhook
	now       func() time.Time
}

func newAuthenticator(cfg Config, log *slog.Logger) *authenticator {
	a := &authenticator{now: time.Now}
	for _, t := range cfg.APITokens {
		if t == "" {
			continue // an empty token would let "Bearer " in
		}
		a.tokenSums = append(a.tokenSums, sha256.Sum256([]byte(t)))
	}
	for i, s := range cfg.WebhookSecrets {
		wh, err := newVerifier(s)
		if err != nil {
			log.Error("webhook secret ignored: webhooks signed with it are refused",
				"secret", fmt.Sprintf("%d of %d", i+1, len(cfg.WebhookSecrets)), "reason", err.Error())
			continue
		}
		a.verifiers = append(a.verifiers, wh)
	}
	return a
}

// caller is who sent an authenticated request.
type caller struct {
	// webhookID is the verified webhook-id of a signed request ("" for a
	// bearer token); the store refuses to see one twice.
	webhookID string
}

// authFailure is a refused authentication: the problem to answer and the
// reason counted in the metrics.
type authFailure struct {
	*problem
	reason string
}

func (a *authenticator) unauthorized(reason, field, format string, args ...any) *authFailure {
	p := newProblem(http.StatusUnauthorized, field, format, args...)
	p.header = http.Header{"Www-Authenticate": {`Bearer realm="tenantfleet"`}}
	return &authFailure{problem: p, reason: reason}
}

// authenticate checks the request's credentials. Reads need a bearer
// token; writes take a bearer token or a Standard Webhooks signature over
// body, the raw request body (read only when a signature is to be checked:
// readBody is called then).
func (a *authenticator) authenticate(r *http.Request, write bool, readBody func() ([]byte, error)) (caller, error) {
	if values := r.Header.Values("Authorization"); len(values) > 0 {
		return caller{}, a.bearer(values)
	}
	if !hasWebhookHeaders(r.Header) {
		msg := "authenticate with Authorization: Bearer <operator token>"
		if write {
			msg += " or sign the request as a Standard Webhook (webhook-id, webhook-timestamp, webhook-signature)"
		}
		return caller{}, a.unauthorized("missing", "Authorization", "%s", msg)
	}
	if !write {
		return caller{}, a.unauthorized("webhook_read", "Authorization",
			"reads need the operator's bearer token (Authorization: Bearer); webhook signatures authenticate writes only")
	}
	return a.webhook(r.Header, readBody)
}

func (a *authenticator) bearer(values []string) error {
	if len(values) > 1 {
		return a.unauthorized("bearer_malformed", "Authorization", "send one Authorization header, not %d", len(values))
	}
	scheme, token, _ := strings.Cut(values[0], " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return a.unauthorized("bearer_malformed", "Authorization", "only the Bearer scheme is accepted (Authorization: Bearer <token>)")
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return a.unauthorized("bearer_malformed", "Authorization", "the bearer token is empty")
	}
	sum := sha256.Sum256([]byte(token))
	match := 0
	for i := range a.tokenSums {
		match |= subtle.ConstantTimeCompare(sum[:], a.tokenSums[i][:])
	}
	if match != 1 {
		f := a.unauthorized("bearer_invalid", "Authorization", "the bearer token is not valid")
		f.header.Set("Www-Authenticate", `Bearer realm="tenantfleet", error="invalid_token"`)
		return f
	}
	return nil
}

func hasWebhookHeaders(h http.Header) bool {
	for _, k := range []string{headerWebhookID, headerWebhookTimestamp, headerWebhookSignature} {
		if _, ok := h[http.CanonicalHeaderKey(k)]; ok {
			return true
		}
	}
	return false
}

// webhook verifies a Standard Webhooks signature with each configured
// secret. Only the webhook-* headers are given to svix (it would prefer
// svix-* ones), so the id it verified is the id the store records.
func (a *authenticator) webhook(h http.Header, readBody func() ([]byte, error)) (caller, error) {
	signed := http.Header{}
	for _, k := range []string{headerWebhookID, headerWebhookTimestamp, headerWebhookSignature} {
		values := h.Values(k)
		if len(values) == 0 || values[0] == "" {
			return caller{}, a.unauthorized("webhook_malformed", k, "a signed request needs the %s, %s and %s headers; %s is missing",
				headerWebhookID, headerWebhookTimestamp, headerWebhookSignature, k)
		}
		if len(values) > 1 {
			return caller{}, a.unauthorized("webhook_malformed", k, "send one %s header, not %d", k, len(values))
		}
		signed.Set(k, values[0])
	}
	id := signed.Get(headerWebhookID)
	if !printableASCII(id, maxHeaderTokenLen) {
		return caller{}, a.unauthorized("webhook_malformed", headerWebhookID, "must be 1 to %d printable ASCII characters", maxHeaderTokenLen)
	}
	secs, err := strconv.ParseInt(signed.Get(headerWebhookTimestamp), 10, 64)
	if err != nil {
		return caller{}, a.unauthorized("webhook_malformed", headerWebhookTimestamp, "must be the time of sending in Unix seconds")
	}
	now := a.now()
	switch ts := time.Unix(secs, 0); {
	case now.Sub(ts) > webhookTolerance:
		return caller{}, a.unauthorized("webhook_stale", headerWebhookTimestamp,
			"the message is older than %s: a webhook is accepted only within %s of being signed", webhookTolerance, webhookTolerance)
	case ts.Sub(now) > webhookTolerance:
		return caller{}, a.unauthorized("webhook_future", headerWebhookTimestamp,
			"the message is signed more than %s in the future: check the sender's clock", webhookTolerance)
	}
	if len(a.verifiers) == 0 {
		return caller{}, a.unauthorized("webhook_disabled", headerWebhookSignature, "this service has no webhook secret configured: use a bearer token")
	}
	body, err := readBody()
	if err != nil {
		return caller{}, err
	}
	// The timestamp is checked above with svix's tolerance, so that a stale
	// message is named as such and the clock can be set in tests.
	for _, wh := range a.verifiers {
		if err := wh.VerifyIgnoringTimestamp(body, signed); err == nil {
			return caller{webhookID: id}, nil
		}
	}
	return caller{}, a.unauthorized("webhook_signature", headerWebhookSignature,
		"no v1 signature matches the request body with any configured webhook secret")
}

// maxHeaderTokenLen bounds Idempotency-Key and webhook-id.
const maxHeaderTokenLen = 255

// printableASCII reports whether s is 1 to maxLen characters of printable
// ASCII (space to tilde).
func printableASCII(s string, maxLen int) bool {
	if s == "" || len(s) > maxLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
