package main

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"

	"github.com/tenantfleet/tenantfleet/queue"
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
	envImage            = "TENANTFLEET_IMAGE"
	envDatabaseHost     = "DATABASE_HOST"
	envDatabasePort     = "DATABASE_PORT"
	envDatabaseName     = "DATABASE_NAME"
	envDatabaseUser     = "DATABASE_USER"
	envDatabasePassword = "DATABASE_PASSWORD"
	envDatabaseSSLMode  = "DATABASE_SSLMODE"
	envQueueURL         = "QUEUE_URL"
	envDeadLetterURL    = "DEAD_LETTER_QUEUE_URL"
	envQueuePassword    = "QUEUE_PASSWORD" // DigitalOcean only
	envQueueCACert      = "QUEUE_CA_CERT"  // DigitalOcean only
	envPort             = "PORT"

	roleWeb    = "web"
	roleWorker = "worker"
)

// envRelease is not part of the contract: it is an optional free-form label
// (e.g. "2026-12-02.1") that a tenant spec sets through web.env and
// worker.env, so a platform engineer can see which release a tenant runs
// after a fleet change. The app only shows it.
const envRelease = "APP_RELEASE"

// envShowEnv is not part of the contract either: an optional comma-separated
// list of variable names (say "FEATURE_FLAGS,LOG_LEVEL") whose values the
// page and GET /api/info show, so a platform engineer can check a setting a
// template change made. Contract variables and anything that looks like a
// secret are refused at start.
const envShowEnv = "APP_SHOW_ENV"

// Config is everything the app reads from its environment.
type Config struct {
	Role     string // web or worker
	TenantID string
	Cloud    string
	Stack    string
	Image    string // TENANTFLEET_IMAGE
	Release  string // APP_RELEASE; empty when not set
	Shown    []shownVar
	DB       DBConfig
	Queue    queue.Config // QUEUE_URL and the rest; the password is never logged
	Port     int          // web: required; worker: set by Cloud Run on GCP, else 0
}

// shownVar is one APP_SHOW_ENV variable and its value ("" when unset).
type shownVar struct {
	Name  string `json:"name"`
	Value string `json:"value"`
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
		envTenantID, envCloud, envStack, envImage,
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
		Role:     role,
		TenantID: val(envTenantID),
		Cloud:    val(envCloud),
		Stack:    val(envStack),
		Image:    val(envImage),
		Release:  val(envRelease),
		Queue:    queue.ConfigFromEnv(getenv),
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
	if role == roleWeb || val(envPort) != "" {
		c.Port, err = parsePort(envPort, val(envPort))
		errs = append(errs, err)
	}
	if c.Queue.Cloud == queue.CloudDigitalOcean && c.Queue.Password == "" {
		errs = append(errs, fmt.Errorf("%s: required on %s (the Kafka user's password)", envQueuePassword, c.Queue.Cloud))
	}
	c.Shown, err = shownVars(val(envShowEnv), getenv)
	errs = append(errs, err)
	return c, errors.Join(errs...)
}

// shownVars reads the variables APP_SHOW_ENV names. It refuses the
// contract's variables (the page shows those it should already) and names
// that suggest a secret, since the page is public.
func shownVars(list string, getenv func(string) string) ([]shownVar, error) {
	out := []shownVar{}
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		upper := strings.ToUpper(name)
		for _, word := range []string{"PASSWORD", "SECRET", "TOKEN", "KEY", "CREDENTIAL", "CERT"} {
			if strings.Contains(upper, word) {
				return nil, fmt.Errorf("%s: %s looks like a secret (its name holds %s); the page is public", envShowEnv, name, word)
			}
		}
		if slices.Contains(contractVariables(), name) {
			return nil, fmt.Errorf("%s: %s is part of the environment contract, not a template setting", envShowEnv, name)
		}
		out = append(out, shownVar{Name: name, Value: getenv(name)})
	}
	return out, nil
}

// contractVariables are the contract's variables as the app reads them.
func contractVariables() []string {
	return []string{
		envTenantID, envCloud, envStack, envWorkload, envImage,
		envDatabaseHost, envDatabasePort, envDatabaseName, envDatabaseUser, envDatabasePassword, envDatabaseSSLMode,
		envQueueURL, envDeadLetterURL, envQueuePassword, envQueueCACert, envPort,
	}
}

func parsePort(name, v string) (int, error) {
	p, err := strconv.Atoi(v)
	if err != nil || p < 1 || p > 65535 {
		return 0, fmt.Errorf("%s=%q: want a port number 1-65535", name, v)
	}
	return p, nil
}
