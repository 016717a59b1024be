package main

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
)

// The environment contract (README "The environment contract",
// components/environment.go). The names are repeated here on purpose: the app
// depends on the contract, not on tenantfleet's Go packages (contract_test.go
// checks that the two stay in step).
const (
	envTenantID         = "TENANT_ID"
	envCloud            = "TENANTFLEET_CLOUD"
	envStack            = "TENANTFLEET_STACK"
	envWorkload         = "TENANTFLEET_WORKLOAD"
	envDatabaseHost     = "DATABASE_HOST"
	envDatabasePort     = "DATABASE_PORT"
	envDatabaseName     = "DATABASE_NAME"
	envDatabaseUser     = "DATABASE_USER"
	envDatabasePassword = "DATABASE_PASSWORD"
	envDatabaseSSLMode  = "DATABASE_SSLMODE"
	envQueueURL         = "QUEUE_URL"
	envDeadLetterURL    = "DEAD_LETTER_QUEUE_URL"
	envPort             = "PORT"

	roleWeb    = "web"
	roleWorker = "worker"
)

// envRelease is not part of the contract: it is an optional free-form label
// (e.g. "2026-12-02.1") that a tenant spec sets through web.env and
// worker.env, so a platform engineer can see which release a tenant runs
// after a fleet change. The app only shows it.
const envRelease = "APP_RELEASE"

// Config is everything the app reads from its environment.
type Config struct {
	Role          string // web or worker
	TenantID      string
	Cloud         string
	Stack         string
	Release       string // APP_RELEASE; empty when not set
	DB            DBConfig
	QueueURL      string
	DeadLetterURL string
	Port          int // web only
}

// DBConfig holds the database parts of the contract. Password is never logged.
type DBConfig struct {
	Host     string
	Port     int
	Name     string
	User     string
	Password string
	SSLMode  string
}

// LogValue keeps the password out of structured logs even if a Config is
// logged by mistake.
func (d DBConfig) LogValue() slog.Value {
	return slog.StringValue(fmt.Sprintf("host=%s port=%d dbname=%s user=%s sslmode=%s", d.Host, d.Port, d.Name, d.User, d.SSLMode))
}

var validSSLModes = []string{"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}

// roleFrom picks the workload: a "web" or "worker" first argument overrides
// TENANTFLEET_WORKLOAD. An empty result means neither was given.
func roleFrom(args []string, getenv func(string) string) (string, error) {
	if len(args) > 0 {
		switch args[0] {
		case roleWeb, roleWorker:
			return args[0], nil
		default:
			return "", fmt.Errorf("unknown argument %q: want %q or %q", args[0], roleWeb, roleWorker)
		}
	}
	switch r := strings.TrimSpace(getenv(envWorkload)); r {
	case "", roleWeb, roleWorker:
		return r, nil
	default:
		return "", fmt.Errorf("%s=%q: want %q or %q", envWorkload, r, roleWeb, roleWorker)
	}
}

// loadConfig reads the environment contract for role ("" when neither an
// argument nor TENANTFLEET_WORKLOAD chose one). Every missing variable is
// named in one error, then every malformed one.
func loadConfig(role string, getenv func(string) string) (Config, error) {
	required := []string{
		envTenantID, envCloud, envStack,
		envDatabaseHost, envDatabasePort, envDatabaseName, envDatabaseUser, envDatabasePassword, envDatabaseSSLMode,
		envQueueURL, envDeadLetterURL,
	}
	if role == "" {
		required = append([]string{envWorkload}, required...)
	}
	if role == roleWeb {
		required = append(required, envPort)
	}
	var missing []string
	for _, name := range required {
		if strings.TrimSpace(getenv(name)) == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return Config{}, fmt.Errorf("missing environment variables: %s", strings.Join(missing, ", "))
	}

	val := func(name string) string { return strings.TrimSpace(getenv(name)) }
	c := Config{
		Role:          role,
		TenantID:      val(envTenantID),
		Cloud:         val(envCloud),
		Stack:         val(envStack),
		Release:       val(envRelease),
		QueueURL:      val(envQueueURL),
		DeadLetterURL: val(envDeadLetterURL),
		DB: DBConfig{
			Host:     val(envDatabaseHost),
			Name:     val(envDatabaseName),
			User:     val(envDatabaseUser),
			Password: getenv(envDatabasePassword), // verbatim: spaces may be part of it
			SSLMode:  val(envDatabaseSSLMode),
		},
	}
	var errs []error
	port, err := parsePort(envDatabasePort, val(envDatabasePort))
	errs = append(errs, err)
	c.DB.Port = port
	if !slices.Contains(validSSLModes, c.DB.SSLMode) {
		errs = append(errs, fmt.Errorf("%s=%q: want one of %s", envDatabaseSSLMode, c.DB.SSLMode, strings.Join(validSSLModes, ", ")))
	}
	if role == roleWeb {
		c.Port, err = parsePort(envPort, val(envPort))
		errs = append(errs, err)
	}
	return c, errors.Join(errs...)
}

func parsePort(name, v string) (int, error) {
	p, err := strconv.Atoi(v)
	if err != nil || p < 1 || p > 65535 {
		return 0, fmt.Errorf("%s=%q: want a port number 1-65535", name, v)
	}
	return p, nil
}
