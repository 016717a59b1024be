package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestMissingEnvNamesEveryVariable(t *testing.T) {
	t.Parallel()

	all := []string{
		envWorkload, envTenantID, envCloud, envStack, envImage,
		envDatabaseHost, envDatabasePort, envDatabaseName, envDatabaseUser, envDatabasePassword, envDatabaseSSLMode,
		envQueueURL, envDeadLetterURL,
	}
	err := run(t.Context(), nil, envMap(nil), quietLog())
	if err == nil {
		t.Fatal("no error with an empty environment")
	}
	for _, name := range all {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s: %v", name, err)
		}
	}

	// The web app also needs PORT; the worker does not.
	_, err = loadConfig(roleWeb, envMap(nil))
	for _, name := range append(all[1:], envPort) {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("web: error does not name %s: %v", name, err)
		}
	}
	_, err = loadConfig(roleWorker, envMap(nil))
	names := strings.Split(strings.TrimPrefix(err.Error(), "missing environment variables: "), ", ")
	if len(names) != len(all)-1 || slices.Contains(names, envPort) || slices.Contains(names, envWorkload) {
		t.Errorf("worker: want every contract variable but PORT and TENANTFLEET_WORKLOAD: %v", err)
	}

	// Only the missing ones, in one message.
	env := fullEnv()
	delete(env, envDatabaseHost)
	env[envQueueURL] = "  "
	_, err = loadConfig(roleWeb, envMap(env))
	if err == nil || err.Error() != "missing environment variables: DATABASE_HOST, QUEUE_URL" {
		t.Errorf("got %v", err)
	}
}

func TestLoadConfig(t *testing.T) {
	t.Parallel()

	c, err := loadConfig(roleWeb, envMap(fullEnv()))
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 8080 || c.DB.Port != 5432 || c.TenantID != "acme" || c.DB.SSLMode != "disable" {
		t.Errorf("config: %+v", c)
	}

	env := fullEnv()
	env[envDatabasePort] = "x"
	env[envPort] = "70000"
	env[envDatabaseSSLMode] = "sometimes"
	_, err = loadConfig(roleWeb, envMap(env))
	for _, want := range []string{envDatabasePort, envPort, envDatabaseSSLMode} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s: %v", want, err)
		}
	}
}

func TestReleaseIsOptional(t *testing.T) {
	t.Parallel()

	c, err := loadConfig(roleWeb, envMap(fullEnv()))
	if err != nil || c.Release != "" {
		t.Errorf("without %s: release %q, err %v", envRelease, c.Release, err)
	}
	env := fullEnv()
	env[envRelease] = " 2026-12-02.1 "
	c, err = loadConfig(roleWorker, envMap(env))
	if err != nil || c.Release != "2026-12-02.1" {
		t.Errorf("with %s: release %q, err %v", envRelease, c.Release, err)
	}
}

func TestRoleSelection(t *testing.T) {
	t.Parallel()

	env := fullEnv()
	for _, tc := range []struct {
		args    []string
		env     string
		want    string
		wantErr bool
	}{
		{nil, "web", "web", false},
		{nil, "worker", "worker", false},
		{[]string{"worker"}, "web", "worker", false}, // the argument wins
		{[]string{"web"}, "worker", "web", false},
		{[]string{"serve"}, "web", "", true},
		{nil, "cron", "", true},
		{nil, "", "", false},
	} {
		env[envWorkload] = tc.env
		got, err := roleFrom(tc.args, envMap(env))
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("roleFrom(%v, %q) = %q, %v", tc.args, tc.env, got, err)
		}
	}
}

func TestConnStringRoundTripsAndPasswordNeverInErrors(t *testing.T) {
	t.Parallel()

	c, err := loadConfig(roleWorker, envMap(fullEnv()))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := pgx.ParseConfig(connString(c.DB, "tenant-app-worker"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Password != c.DB.Password || cfg.Host != "127.0.0.1" || cfg.Port != 5432 || cfg.Database != "acme" || cfg.User != "acme" {
		t.Errorf("parsed %q@%s:%d/%s", cfg.User, cfg.Host, cfg.Port, cfg.Database)
	}
	if cfg.TLSConfig != nil {
		t.Error("sslmode=disable produced a TLS config")
	}

	// A store that cannot connect reports an error without the password.
	c.DB.Port = 1 // nothing listens there
	s, err := newPGStore(c.DB, "t", 1)
	if err != nil {
		t.Fatal(err)
	}
	err = s.Ping(t.Context())
	if err == nil {
		t.Fatal("ping succeeded on port 1")
	}
	if strings.Contains(err.Error(), c.DB.Password) || strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("error leaks the password: %v", err)
	}
	if strings.Contains(c.DB.LogValue().String(), "s3cr3t") {
		t.Error("DBConfig.LogValue leaks the password")
	}
}

func TestWorkerReportsABadQueueURL(t *testing.T) {
	t.Parallel()

	// Every cloud has a queue client; a QUEUE_URL of another cloud's form is
	// an error naming QUEUE_URL, before anything is received.
	for _, cloud := range []string{"local", "aws", "azure", "gcp", "digitalocean", "kubernetes"} {
		env := fullEnv()
		env[envCloud] = cloud
		env[envQueueURL] = "ftp://example.com/acme"
		env[envQueuePassword] = "kafka-pass"
		err := run(t.Context(), []string{"worker"}, envMap(env), quietLog())
		if err == nil || !strings.HasPrefix(err.Error(), "QUEUE_URL: ") {
			t.Errorf("%s: got %v, want an error starting QUEUE_URL:", cloud, err)
		}
	}
	env := fullEnv()
	env[envCloud] = "mainframe"
	if err := run(t.Context(), []string{"worker"}, envMap(env), quietLog()); err == nil || !strings.Contains(err.Error(), `TENANTFLEET_CLOUD="mainframe"`) {
		t.Errorf("unknown cloud: %v", err)
	}
}

func TestDigitalOceanNeedsTheQueuePassword(t *testing.T) {
	t.Parallel()

	env := fullEnv()
	env[envCloud] = "digitalocean"
	env[envQueueURL] = "kafka://acme@kafka.example.com:25073/acme?group=acme&maxReceiveCount=5&visibilityTimeout=30s"
	_, err := loadConfig(roleWorker, envMap(env))
	if err == nil || !strings.Contains(err.Error(), "QUEUE_PASSWORD: required on digitalocean") {
		t.Errorf("got %v", err)
	}
	env[envQueuePassword] = "p4ss"
	c, err := loadConfig(roleWorker, envMap(env))
	if err != nil || c.Queue.Password != "p4ss" || c.Queue.URL != env[envQueueURL] {
		t.Errorf("config %+v, %v", c.Queue, err)
	}
}

func TestShownVariables(t *testing.T) {
	t.Parallel()

	env := fullEnv()
	env[envShowEnv] = " FEATURE_FLAGS, LOG_LEVEL ,,UNSET"
	env["FEATURE_FLAGS"] = "beta-billing"
	env["LOG_LEVEL"] = "debug"
	c, err := loadConfig(roleWeb, envMap(env))
	if err != nil {
		t.Fatal(err)
	}
	want := []shownVar{{"FEATURE_FLAGS", "beta-billing"}, {"LOG_LEVEL", "debug"}, {"UNSET", ""}}
	if !slices.Equal(c.Shown, want) {
		t.Errorf("shown %v, want %v", c.Shown, want)
	}
	for list, why := range map[string]string{
		"LOG_LEVEL,STRIPE_API_KEY": "looks like a secret",
		"db_password":              "looks like a secret",
		"DATABASE_HOST":            "part of the environment contract",
		"QUEUE_URL":                "part of the environment contract",
	} {
		env[envShowEnv] = list
		if _, err := loadConfig(roleWeb, envMap(env)); err == nil || !strings.Contains(err.Error(), why) || !strings.Contains(err.Error(), envShowEnv) {
			t.Errorf("%s: got %v, want %q", list, err, why)
		}
	}
}

func TestWorkerPortIsOptional(t *testing.T) {
	t.Parallel()

	env := fullEnv()
	delete(env, envPort)
	if c, err := loadConfig(roleWorker, envMap(env)); err != nil || c.Port != 0 {
		t.Errorf("no PORT: port %d, %v", c.Port, err)
	}
	env[envPort] = "8080" // Cloud Run sets it
	if c, err := loadConfig(roleWorker, envMap(env)); err != nil || c.Port != 8080 {
		t.Errorf("PORT=8080: port %d, %v", c.Port, err)
	}
	env[envPort] = "x"
	if _, err := loadConfig(roleWorker, envMap(env)); err == nil || !strings.Contains(err.Error(), "PORT") {
		t.Errorf("PORT=x: %v", err)
	}
}
