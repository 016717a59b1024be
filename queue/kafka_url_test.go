package queue

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseKafkaURL(t *testing.T) {
	t.Parallel()

	for _, tc := range []struct {
		raw  string
		want KafkaEndpoint
	}{
		{
			"kafka://acme@db-kafka-fra1-1234.db.ondigitalocean.com:25073/prod-acme?group=prod-acme&maxReceiveCount=5&visibilityTimeout=30s",
			KafkaEndpoint{User: "acme", Broker: "db-kafka-fra1-1234.db.ondigitalocean.com:25073", Topic: "prod-acme", Group: "prod-acme",
				Mechanism: KafkaMechanismScramSHA256, TLS: true, MaxReceiveCount: 5, VisibilityTimeout: 30 * time.Second},
		},
		{
			"kafka://acme@h:25073/prod-acme-dlq",
			KafkaEndpoint{User: "acme", Broker: "h:25073", Topic: "prod-acme-dlq", Mechanism: KafkaMechanismScramSHA256, TLS: true},
		},
		{
			"kafka://u@localhost:9092/q?mechanism=plain&tls=false&start=EARLIEST&visibilityTimeout=1m30s",
			KafkaEndpoint{User: "u", Broker: "localhost:9092", Topic: "q", Start: KafkaStartEarliest, Mechanism: KafkaMechanismPlain, VisibilityTimeout: 90 * time.Second},
		},
	} {
		got, err := ParseKafkaURL(tc.raw)
		if err != nil || got != tc.want {
			t.Errorf("ParseKafkaURL(%q) = %+v, %v; want %+v", tc.raw, got, err, tc.want)
			continue
		}
		if back, err := ParseKafkaURL(got.String()); err != nil || back != got {
			t.Errorf("ParseKafkaURL(%q) = %+v, %v; want the endpoint it came from", got.String(), back, err)
		}
	}
	if s := (KafkaEndpoint{User: "u", Broker: "h:1", Topic: "t", Group: "g", MaxReceiveCount: 5, VisibilityTimeout: 30 * time.Second, Mechanism: KafkaMechanismScramSHA256, TLS: true}).String(); s != "kafka://u@h:1/t?group=g&maxReceiveCount=5&visibilityTimeout=30s" {
		t.Errorf("String() = %q, want the adapter's form", s)
	}

	const pw = kafkaTestPassword
	for _, tc := range []struct {
		raw, want string
	}{
		{"", "required"},
		{"  ", "required"},
		{"http://u@h:1/t", `scheme "http"`},
		{"kafka:u@h:1/t", "missing //"},
		{"kafka://u@h:1/t%zz", "not a URL"},
		{"kafka://u@h/t", "<host>:<port>"},
		{"kafka://u@h:0/t", "broker port"},
		{"kafka://h:1/t", "no user"},
		{"kafka://u@h:1/", "no topic"},
		{"kafka://u@h:1/a/b", `topic "a/b"`},
		{"kafka://u@h:1/t#x", "fragment"},
		{"kafka://u@h:1/t?group=", `group ""`},
		{"kafka://u@h:1/t?group=a&group=b", `"group" given 2 times`},
		{"kafka://u@h:1/t?maxReceiveCount=0", `maxReceiveCount "0"`},
		{"kafka://u@h:1/t?maxReceiveCount=five", `maxReceiveCount "five"`},
		{"kafka://u@h:1/t?visibilityTimeout=30", `visibilityTimeout "30"`},
		{"kafka://u@h:1/t?visibilityTimeout=-1s", `visibilityTimeout "-1s"`},
		{"kafka://u@h:1/t?mechanism=GSSAPI", `mechanism "GSSAPI"`},
		{"kafka://u@h:1/t?tls=maybe", `tls "maybe"`},
		{"kafka://u@h:1/t?start=now", `start "now"`},
		{"kafka://u@h:1/t?acks=1", `unknown query parameter "acks"`},
		{"kafka://u:" + pw + "@h:1/t", "carries a password"},
		{"kafka://u:" + pw + "@h:x/t", "carries a password"},
	} {
		_, err := ParseKafkaURL(tc.raw)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseKafkaURL(%q): %v, want an error saying %q", tc.raw, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), pw) {
			t.Errorf("ParseKafkaURL(%q): the error repeats the password: %v", tc.raw, err)
		}
	}
	if _, err := ParseKafkaURL("kafka://u:p@h:1/t"); !errors.Is(err, ErrPasswordInKafkaURL) {
		t.Errorf("a password in the user info: %v, want ErrPasswordInKafkaURL", err)
	}
}

func TestKafkaConfigErrors(t *testing.T) {
	t.Parallel()

	const pw = kafkaTestPassword
	good := func() Config {
		return Config{
			Cloud:         CloudDigitalOcean,
			URL:           "kafka://acme@h:25073/prod-acme?group=prod-acme&maxReceiveCount=5&visibilityTimeout=30s",
			DeadLetterURL: "kafka://acme@h:25073/prod-acme-dlq",
			Password:      pw,
		}
	}
	for _, tc := range []struct {
		reason string
		change func(*Config)
		want   []string // substrings of the error
		sender bool     // OpenSender refuses it too
	}{
		{"QUEUE_URL is required", func(c *Config) { c.URL = "" }, []string{"QUEUE_URL: required"}, true},
		{"the scheme is kafka", func(c *Config) { c.URL = "nats://127.0.0.1:4222?stream=a&subject=b&consumer=c" }, []string{"QUEUE_URL", `scheme "nats"`}, true},
		{"no password in QUEUE_URL", func(c *Config) { c.URL = strings.Replace(c.URL, "acme@", "acme:"+pw+"@", 1) }, []string{"QUEUE_URL", "the password belongs in QUEUE_PASSWORD"}, true},
		{"QUEUE_PASSWORD is required", func(c *Config) { c.Password = "" }, []string{`QUEUE_PASSWORD: required: the SASL password of user "acme" in QUEUE_URL`}, true},
		{"QUEUE_CA_CERT must be PEM", func(c *Config) { c.CACert = "not a certificate" }, []string{"QUEUE_CA_CERT: no PEM certificate"}, true},
		{"the group is required", func(c *Config) { c.URL = strings.Replace(c.URL, "group=prod-acme&", "", 1) }, []string{"QUEUE_URL: no consumer group"}, false},
		{"maxReceiveCount is required", func(c *Config) { c.URL = strings.Replace(c.URL, "maxReceiveCount=5&", "", 1) }, []string{"QUEUE_URL: no maxReceiveCount"}, false},
		{"visibilityTimeout is required", func(c *Config) { c.URL = strings.Replace(c.URL, "&visibilityTimeout=30s", "", 1) }, []string{"QUEUE_URL: no visibilityTimeout"}, false},
		{"start is the forwarder's", func(c *Config) { c.URL += "&start=latest" }, []string{"QUEUE_URL", `"start" is the forwarder's`}, false},
		{"DEAD_LETTER_QUEUE_URL is required", func(c *Config) { c.DeadLetterURL = "" }, []string{"DEAD_LETTER_QUEUE_URL: required"}, false},
		{"DEAD_LETTER_QUEUE_URL parses", func(c *Config) { c.DeadLetterURL = "kafka://acme@h/dlq" }, []string{"DEAD_LETTER_QUEUE_URL", "<host>:<port>"}, false},
		{"the same user and cluster", func(c *Config) { c.DeadLetterURL = "kafka://other@h:25073/prod-acme-dlq" }, []string{"DEAD_LETTER_QUEUE_URL", `user "other"`, "QUEUE_PASSWORD"}, false},
		{"not the queue itself", func(c *Config) { c.DeadLetterURL = "kafka://acme@h:25073/prod-acme" }, []string{"DEAD_LETTER_QUEUE_URL", "the queue's own"}, false},
		{"no consumer parameters in the DLQ URL", func(c *Config) { c.DeadLetterURL += "?group=g" }, []string{"DEAD_LETTER_QUEUE_URL", "belong in QUEUE_URL"}, false},
		{"every problem is reported", func(c *Config) { c.Password, c.DeadLetterURL = "", "" }, []string{"QUEUE_PASSWORD", "DEAD_LETTER_QUEUE_URL"}, false},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			t.Parallel()

			cfg := good()
			tc.change(&cfg)
			opens := map[string]func() error{
				"OpenReceiver": func() error { _, err := OpenReceiver(t.Context(), cfg); return err },
			}
			if tc.sender {
				opens["OpenSender"] = func() error { _, err := OpenSender(t.Context(), cfg); return err }
			}
			for name, open := range opens {
				err := open()
				if err == nil {
					t.Fatalf("%s succeeded, want an error mentioning %q", name, tc.want)
				}
				for _, w := range tc.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("%s: error %q does not mention %q", name, err, w)
					}
				}
				if strings.Contains(err.Error(), pw) {
					t.Errorf("%s: the error holds the password: %v", name, err)
				}
			}
		})
	}
}

// url.Parse's errors quote part of the URL: a password holding '/' would
// show its start in "invalid port". The parser says only that a password
// is there.
func TestParseKafkaURLNeverQuotesAPassword(t *testing.T) {
	t.Parallel()

	for _, raw := range []string{
		"kafka://doadmin:s3cr/et@kafka.example.com:25073/q",
		"kafka://doadmin:s3cr?et@kafka.example.com:25073/q",
		"kafka://doadmin:s3cr#et@kafka.example.com:25073/q",
	} {
		_, err := ParseKafkaURL(raw)
		if err == nil || strings.Contains(err.Error(), "s3cr") {
			t.Errorf("%s: error %v", raw, err)
		}
	}
	if _, err := ParseKafkaURL("kafka://u@h:x/q"); err == nil || strings.Contains(err.Error(), "h:x") {
		t.Errorf("a bad port: %v", err)
	}
}
