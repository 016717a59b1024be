package main

import (
	"strings"
	"testing"
)

func TestParseNATSQueueURL(t *testing.T) {
	t.Parallel()

	got, err := parseNATSQueueURL("nats://127.0.0.1:4222?stream=acme&subject=queue.acme&consumer=worker")
	if err != nil {
		t.Fatal(err)
	}
	want := natsTarget{Server: "nats://127.0.0.1:4222", Stream: "acme", Subject: "queue.acme", Consumer: "worker"}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}

	// Credentials are kept for the connection but not shown.
	got, err = parseNATSQueueURL("nats://u:secret@127.0.0.1:4222/?consumer=worker&subject=queue.a&stream=a")
	if err != nil {
		t.Fatal(err)
	}
	if got.Server != "nats://u:secret@127.0.0.1:4222" || strings.Contains(got.Redacted(), "secret") {
		t.Errorf("server %q, redacted %q", got.Server, got.Redacted())
	}

	for _, tc := range []struct{ url, why string }{
		{"", "empty"},
		{"http://127.0.0.1:4222?stream=a&subject=queue.a&consumer=worker", "scheme"},
		{"nats://127.0.0.1?stream=a&subject=queue.a&consumer=worker", "port"},
		{"nats://127.0.0.1:0?stream=a&subject=queue.a&consumer=worker", "port"},
		{"nats://127.0.0.1:x?stream=a&subject=queue.a&consumer=worker", "not a URL"},
		{"nats://:4222?stream=a&subject=queue.a&consumer=worker", "host"},
		{"nats://127.0.0.1:4222", "missing stream, subject, consumer"},
		{"nats://127.0.0.1:4222?stream=a&subject=queue.a", "missing consumer"},
		{"nats://127.0.0.1:4222/queues/a?stream=a&subject=queue.a&consumer=w", "path"},
		{"nats://127.0.0.1:4222?stream=a.b&subject=queue.a&consumer=w", "plain names"},
		{"nats://127.0.0.1:4222?stream=a&subject=queue.>&consumer=w", "wildcards"},
		{"nats://127.0.0.1:4222?stream=a&subject=queue.a&consumer=w&%zz", "query"},
		{"nats:opaque", "host"},
		{"https://sqs.us-east-1.amazonaws.com/123456789012/acme", "scheme"},
	} {
		_, err := parseNATSQueueURL(tc.url)
		if err == nil {
			t.Errorf("%q: no error", tc.url)
			continue
		}
		if !strings.Contains(err.Error(), tc.why) || !strings.HasPrefix(err.Error(), "QUEUE_URL: ") {
			t.Errorf("%q: error %q does not say %q", tc.url, err, tc.why)
		}
	}
}

func TestOpenQueueOtherClouds(t *testing.T) {
	t.Parallel()

	for _, cloud := range []string{"aws", "azure", "gcp", "digitalocean"} {
		_, err := openQueue(t.Context(), cloud, "whatever", true, quietLog())
		if err == nil || err.Error() != "queue client for "+cloud+" is not part of this example yet" {
			t.Errorf("%s: %v", cloud, err)
		}
	}
	if _, err := openQueue(t.Context(), "local", "nats://x", true, quietLog()); err == nil {
		t.Error("local with a bad URL: no error")
	}
}

func TestHeaderValueIsCaseInsensitive(t *testing.T) {
	t.Parallel()

	h := map[string][]string{"tenantfleet-fail": {"always"}}
	if headerValue(h, failHeader) != "always" {
		t.Error("lower-case header not found")
	}
	if headerValue(nil, failHeader) != "" {
		t.Error("nil headers")
	}
}
