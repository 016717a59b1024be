package signup

import (
	"bytes"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	svix "github.com/svix/svix-webhooks/go"
)

func testSecret(fill byte, n int) string {
	return "whsec_" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{fill}, n))
}

func newTestAuthenticator(t *testing.T, cfg Config, now time.Time) (*authenticator, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	a := newAuthenticator(cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	a.now = func() time.Time { return now }
	return a, &logs
}

// failure returns the problem field and metrics reason of an auth error.
func failure(t *testing.T, err error) (field, reason string) {
	t.Helper()
	var af *authFailure
	if !errors.As(err, &af) {
		t.Fatalf("error %v is not an authFailure", err)
	}
	if af.Status != http.StatusUnauthorized || af.header.Get("Www-Authenticate") == "" {
		t.Errorf("auth failure %+v: want a 401 with WWW-Authenticate", af.problem)
	}
	return af.Field, af.reason
}

func TestAuthBearer(t *testing.T) {
	t.Parallel()
	a, _ := newTestAuthenticator(t, Config{APITokens: []string{"", "first-token", "second-token"}}, time.Now())
	cases := []struct {
		name   string
		header []string
		reason string // "" when accepted
	}{
		{"first token", []string{"Bearer first-token"}, ""},
		{"second token", []string{"Bearer second-token"}, ""},
		{"scheme in lower case", []string{"bearer first-token"}, ""},
		{"wrong token", []string{"Bearer third-token"}, "bearer_invalid"},
		{"prefix of a token", []string{"Bearer first"}, "bearer_invalid"},
		{"token plus more", []string{"Bearer first-tokenX"}, "bearer_invalid"},
		{"empty token is never configured", []string{"Bearer "}, "bearer_malformed"},
		{"no scheme", []string{"first-token"}, "bearer_malformed"},
		{"basic", []string{"Basic Zmlyc3QtdG9rZW4="}, "bearer_malformed"},
		{"two headers", []string{"Bearer first-token", "Bearer second-token"}, "bearer_malformed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, _ := http.NewRequest("POST", "/v1/tenants", nil)
			r.Header["Authorization"] = tc.header
			bodyRead := false
			c, err := a.authenticate(r, true, func() ([]byte, error) { bodyRead = true; return nil, nil })
			if bodyRead {
				t.Error("a bearer check read the body")
			}
			if tc.reason == "" {
				if err != nil || c.webhookID != "" {
					t.Fatalf("authenticate = %+v, %v; want the operator", c, err)
				}
				return
			}
			field, reason := failure(t, err)
			if field != "Authorization" || reason != tc.reason {
				t.Errorf("field, reason = %q, %q; want Authorization, %q", field, reason, tc.reason)
			}
		})
	}
}

func TestAuthWebhook(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_750_000_000, 0)
	oldSecret, newSecret := testSecret(1, 32), testSecret(2, 24)
	a, _ := newTestAuthenticator(t, Config{WebhookSecrets: []string{oldSecret, newSecret}}, now)
	body := []byte(`{"id":"acme"}`)
	sign := func(secret, id string, at time.Time, payload []byte) string {
		wh, err := svix.NewWebhook(secret)
		if err != nil {
			t.Fatal(err)
		}
		sig, err := wh.Sign(id, at, payload)
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
	headers := func(id string, at time.Time, sig string) http.Header {
		return http.Header{
			"Webhook-Id":        {id},
			"Webhook-Timestamp": {strconv.FormatInt(at.Unix(), 10)},
			"Webhook-Signature": {sig},
		}
	}
	good := sign(newSecret, "msg_1", now, body)
	cases := []struct {
		name   string
		header http.Header
		write  bool
		field  string // "" when accepted
		reason string
	}{
		{"signed with the new secret", headers("msg_1", now, good), true, "", ""},
		{"signed with the old secret", headers("msg_1", now, sign(oldSecret, "msg_1", now, body)), true, "", ""},
		{"one of several signatures", headers("msg_1", now, "v1,bm9wZQ== "+good), true, "", ""},
		{"just within the tolerance", headers("msg_1", now.Add(-webhookTolerance),
			sign(newSecret, "msg_1", now.Add(-webhookTolerance), body)), true, "", ""},
		{"a read", headers("msg_1", now, good), false, "Authorization", "webhook_read"},
		{"stale", headers("msg_1", now.Add(-webhookTolerance-time.Second),
			sign(newSecret, "msg_1", now.Add(-webhookTolerance-time.Second), body)), true, "webhook-timestamp", "webhook_stale"},
		{"future", headers("msg_1", now.Add(webhookTolerance+time.Second),
			sign(newSecret, "msg_1", now.Add(webhookTolerance+time.Second), body)), true, "webhook-timestamp", "webhook_future"},
		{"signature for another id", headers("msg_2", now, good), true, "webhook-signature", "webhook_signature"},
		{"signature for another body", headers("msg_1", now, sign(newSecret, "msg_1", now, []byte(`{}`))), true, "webhook-signature", "webhook_signature"},
		{"signature with an unknown secret", headers("msg_1", now, sign(testSecret(3, 32), "msg_1", now, body)), true, "webhook-signature", "webhook_signature"},
		{"signature without version", headers("msg_1", now, strings.TrimPrefix(good, "v1,")), true, "webhook-signature", "webhook_signature"},
		{"webhook-id not printable", headers("msg\x7f", now, good), true, "webhook-id", "webhook_malformed"},
		{"webhook-id too long", headers(strings.Repeat("m", 256), now, good), true, "webhook-id", "webhook_malformed"},
		{"two signatures headers", func() http.Header {
			h := headers("msg_1", now, good)
			h.Add("Webhook-Signature", good)
			return h
		}(), true, "webhook-signature", "webhook_malformed"},
		{"timestamp in milliseconds", func() http.Header {
			h := headers("msg_1", now, good)
			h.Set("Webhook-Timestamp", strconv.FormatInt(now.UnixMilli(), 10))
			return h
		}(), true, "webhook-timestamp", "webhook_future"},
		{"svix-* headers are not read", http.Header{
			"Svix-Id": {"msg_1"}, "Svix-Timestamp": {strconv.FormatInt(now.Unix(), 10)}, "Svix-Signature": {good},
		}, true, "Authorization", "missing"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, _ := http.NewRequest("POST", "/v1/tenants", nil)
			r.Header = tc.header
			c, err := a.authenticate(r, tc.write, func() ([]byte, error) { return body, nil })
			if tc.field == "" {
				if err != nil || c.webhookID != tc.header.Get("Webhook-Id") {
					t.Fatalf("authenticate = %+v, %v; want the verified webhook-id", c, err)
				}
				return
			}
			field, reason := failure(t, err)
			if field != tc.field || reason != tc.reason {
				t.Errorf("field, reason = %q, %q; want %q, %q", field, reason, tc.field, tc.reason)
			}
		})
	}
}

// TestAuthWebhookIDIsTheVerifiedOne checks that svix-* headers cannot make
// svix verify one message id while the store records another.
func TestAuthWebhookIDIsTheVerifiedOne(t *testing.T) {
	t.Parallel()
	now := time.Now()
	secret := testSecret(7, 32)
	a, _ := newTestAuthenticator(t, Config{WebhookSecrets: []string{secret}}, now)
	wh, _ := svix.NewWebhook(secret)
	body := []byte(`{"id":"acme"}`)
	sig, _ := wh.Sign("msg_old", now, body)
	r, _ := http.NewRequest("POST", "/v1/tenants", nil)
	ts := strconv.FormatInt(now.Unix(), 10)
	// A valid svix-* set for msg_old, and webhook-* claiming a fresh id.
	r.Header = http.Header{
		"Svix-Id": {"msg_old"}, "Svix-Timestamp": {ts}, "Svix-Signature": {sig},
		"Webhook-Id": {"msg_fresh"}, "Webhook-Timestamp": {ts}, "Webhook-Signature": {sig},
	}
	if c, err := a.authenticate(r, true, func() ([]byte, error) { return body, nil }); err == nil {
		t.Fatalf("accepted webhook-id %q with a signature made for msg_old", c.webhookID)
	}
}

func TestAuthWebhookSecrets(t *testing.T) {
	t.Parallel()
	short := testSecret(9, 16)
	cases := []struct {
		name, secret string
		ok           bool
	}{
		{"32-byte key", testSecret(1, 32), true},
		{"24-byte key", testSecret(1, 24), true},
		{"16-byte key", short, false},
		{"empty key", "whsec_", false},
		{"no prefix", strings.TrimPrefix(testSecret(1, 32), "whsec_"), false},
		{"not base64", "whsec_not*base64", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := CheckWebhookSecrets([]string{testSecret(5, 32), tc.secret})
			if (err == nil) != tc.ok {
				t.Fatalf("CheckWebhookSecrets = %v, want ok %v", err, tc.ok)
			}
			if err != nil && tc.secret != "whsec_" && strings.Contains(err.Error(), strings.TrimPrefix(tc.secret, "whsec_")) {
				t.Errorf("the error quotes the secret: %v", err)
			}
		})
	}

	// A refused secret verifies nothing (an empty key would let anyone
	// sign), and the log names it by position only.
	now := time.Now()
	a, logs := newTestAuthenticator(t, Config{WebhookSecrets: []string{"whsec_", short}}, now)
	if len(a.verifiers) != 0 {
		t.Fatalf("%d verifiers from refused secrets", len(a.verifiers))
	}
	if strings.Contains(logs.String(), strings.TrimPrefix(short, "whsec_")) || !strings.Contains(logs.String(), "2 of 2") {
		t.Errorf("log: %s", logs.String())
	}
	empty, _ := svix.NewWebhook("whsec_")
	sig, _ := empty.Sign("msg_1", now, nil)
	r, _ := http.NewRequest("DELETE", "/v1/tenants/acme", nil)
	r.Header = http.Header{"Webhook-Id": {"msg_1"}, "Webhook-Timestamp": {strconv.FormatInt(now.Unix(), 10)}, "Webhook-Signature": {sig}}
	_, err := a.authenticate(r, true, func() ([]byte, error) { return nil, nil })
	if field, _ := failure(t, err); field != "webhook-signature" {
		t.Errorf("field = %q, want webhook-signature", field)
	}
}
