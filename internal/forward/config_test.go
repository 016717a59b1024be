package forward

import (
	"strings"
	"testing"
)

func TestParseURL(t *testing.T) {
	t.Parallel()

	got, err := ParseURL("kafka://doadmin@db-kafka.example.com:25073/fanout-orders?group=sub-1")
	want := Endpoint{User: "doadmin", Broker: "db-kafka.example.com:25073", Topic: "fanout-orders", Group: "sub-1", Mechanism: MechanismScramSHA256, TLS: true}
	if err != nil || got != want {
		t.Fatalf("ParseURL = %+v, %v; want %+v", got, err, want)
	}
	got, err = ParseURL("kafka://u@localhost:9092/q?mechanism=plain&tls=false&start=EARLIEST")
	want = Endpoint{User: "u", Broker: "localhost:9092", Topic: "q", Start: StartEarliest, Mechanism: MechanismPlain, TLS: false}
	if err != nil || got != want {
		t.Fatalf("ParseURL = %+v, %v; want %+v", got, err, want)
	}
	if back, err := ParseURL(got.String()); err != nil || back != got {
		t.Errorf("ParseURL(%q) = %+v, %v; want the endpoint it came from", got.String(), back, err)
	}
}

func TestLoadConfigErrors(t *testing.T) {
	t.Parallel()

	const pw = testPassword
	good := func() map[string]string {
		return map[string]string{
			EnvFrom:     "kafka://u@h:25073/fanout?group=sub",
			EnvTo:       "kafka://u@h:25073/queue",
			EnvPassword: pw,
		}
	}
	for _, tc := range []struct {
		reason string
		set    map[string]string // "" deletes
		want   []string          // substrings of the error
	}{
		{"FORWARD_FROM is required", map[string]string{EnvFrom: ""}, []string{EnvFrom, "required"}},
		{"FORWARD_TO is required", map[string]string{EnvTo: ""}, []string{EnvTo, "required"}},
		{"FORWARD_PASSWORD is required", map[string]string{EnvPassword: ""}, []string{EnvPassword, "required"}},
		{"every problem is reported", map[string]string{EnvFrom: "", EnvTo: ""}, []string{EnvFrom, EnvTo}},
		{"the scheme is kafka", map[string]string{EnvFrom: "http://u@h:1/t?group=g"}, []string{EnvFrom, `scheme "http"`}},
		{"a malformed URL", map[string]string{EnvTo: "kafka://u@h:1/t%zz"}, []string{EnvTo, "not a URL"}},
		{"the port is required", map[string]string{EnvTo: "kafka://u@h/t"}, []string{EnvTo, "<host>:<port>"}},
		{"the user is required", map[string]string{EnvTo: "kafka://h:1/t"}, []string{EnvTo, "no user"}},
		{"the topic is required", map[string]string{EnvTo: "kafka://u@h:1/"}, []string{EnvTo, "no topic"}},
		{"topic names follow Kafka's rules", map[string]string{EnvTo: "kafka://u@h:1/a/b"}, []string{EnvTo, `topic "a/b"`}},
		{"the group is required in FORWARD_FROM", map[string]string{EnvFrom: "kafka://u@h:1/t"}, []string{EnvFrom, "no consumer group"}},
		{"no group in FORWARD_TO", map[string]string{EnvTo: "kafka://u@h:1/t?group=g"}, []string{EnvTo, `"group" belongs in FORWARD_FROM`}},
		{"a password in the user info", map[string]string{EnvFrom: "kafka://u:" + pw + "@h:1/t?group=g"}, []string{EnvFrom, "password belongs in " + EnvPassword}},
		{"an unknown query parameter", map[string]string{EnvFrom: "kafka://u@h:1/t?group=g&acks=1"}, []string{EnvFrom, `unknown query parameter "acks"`}},
		{"a repeated query parameter", map[string]string{EnvFrom: "kafka://u@h:1/t?group=g&group=h"}, []string{EnvFrom, `"group" given 2 times`}},
		{"an unknown mechanism", map[string]string{EnvFrom: "kafka://u@h:1/t?group=g&mechanism=GSSAPI"}, []string{EnvFrom, `mechanism "GSSAPI"`}},
		{"a bad tls value", map[string]string{EnvTo: "kafka://u@h:1/t?tls=maybe"}, []string{EnvTo, `tls "maybe"`}},
		{"a bad start value", map[string]string{EnvFrom: "kafka://u@h:1/t?group=g&start=now"}, []string{EnvFrom, `start "now"`}},
		{"filter JSON that does not parse", map[string]string{EnvFilter: `{"attribute":`}, []string{EnvFilter, "not a filter policy"}},
		{"filter with an unknown field", map[string]string{EnvFilter: `{"attribute":"a","values":["x"],"op":"eq"}`}, []string{EnvFilter, `unknown field "op"`}},
		{"filter without attribute", map[string]string{EnvFilter: `{"values":["x"]}`}, []string{EnvFilter, `"attribute"`}},
		{"filter without values", map[string]string{EnvFilter: `{"attribute":"a","values":[]}`}, []string{EnvFilter, `"values"`}},
		{"filter that is not an object", map[string]string{EnvFilter: `null`}, []string{EnvFilter, "null"}},
		{"filter with trailing data", map[string]string{EnvFilter: `{"attribute":"a","values":["x"]} {}`}, []string{EnvFilter, "after the JSON object"}},
		{"a CA that is not PEM", map[string]string{EnvCACert: "not a certificate"}, []string{EnvCACert, "no PEM certificate"}},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			t.Parallel()

			env := good()
			for k, v := range tc.set {
				if v == "" {
					delete(env, k)
				} else {
					env[k] = v
				}
			}
			_, err := LoadConfig(getenv(env))
			if err == nil {
				t.Fatalf("LoadConfig succeeded, want an error mentioning %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			assertNoPassword(t, "error", err.Error())

			// The command logs the same error, and not the password.
			var stdout, stderr syncBuffer
			if code := Command(t.Context(), nil, getenv(env), &stdout, &stderr); code != ExitConfig {
				t.Errorf("exit code %d, want %d", code, ExitConfig)
			}
			if !strings.Contains(stderr.String(), tc.want[0]) {
				t.Errorf("stderr does not name %s:\n%s", tc.want[0], stderr.String())
			}
			assertNoPassword(t, "stderr", stderr.String())
		})
	}
}

func TestLoadConfigFilter(t *testing.T) {
	t.Parallel()

	cfg, err := LoadConfig(getenv(map[string]string{
		EnvFrom:     "kafka://u@h:1/fanout?group=g",
		EnvTo:       "kafka://u@h:1/queue",
		EnvPassword: testPassword,
		EnvFilter:   `{"attribute":"event_type","values":["invoice.paid","invoice.failed"]}`,
	}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Filter == nil || cfg.Filter.Attribute != "event_type" || len(cfg.Filter.Values) != 2 {
		t.Errorf("Filter = %+v", cfg.Filter)
	}
	if cfg.From.Start != "" || cfg.ShutdownTimeout != DefaultShutdownTimeout {
		t.Errorf("defaults: start %q, shutdown timeout %v", cfg.From.Start, cfg.ShutdownTimeout)
	}
}

func TestCommandFlags(t *testing.T) {
	t.Parallel()

	for _, tc := range []struct {
		args       []string
		code       int
		stdout     string
		stderrWant string
	}{
		{[]string{"--help"}, ExitOK, EnvFrom, ""},
		{[]string{"-h"}, ExitOK, EnvPassword, ""},
		{[]string{"--bogus"}, ExitConfig, "", "bogus"},
		{[]string{"extra"}, ExitConfig, "", "unexpected argument"},
	} {
		var stdout, stderr syncBuffer
		code := Command(t.Context(), tc.args, getenv(nil), &stdout, &stderr)
		if code != tc.code || !strings.Contains(stdout.String(), tc.stdout) || !strings.Contains(stderr.String(), tc.stderrWant) {
			t.Errorf("%v: exit %d stdout %q stderr %q; want exit %d, stdout with %q, stderr with %q",
				tc.args, code, stdout.String(), stderr.String(), tc.code, tc.stdout, tc.stderrWant)
		}
	}
}
