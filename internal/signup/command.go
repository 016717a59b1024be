package signup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tenantfleet/tenantfleet/internal/cli"
	"github.com/tenantfleet/tenantfleet/internal/engine"
)

// Environment variables serve reads (secrets never go on a command line,
// where any user of the machine can read them).
const (
	EnvAPIToken      = "TENANTFLEET_API_TOKEN"
	EnvWebhookSecret = "TENANTFLEET_WEBHOOK_SECRET"
	EnvDatabaseURL   = "TENANTFLEET_DATABASE_URL"
)

// Command is `tenantfleet serve`.
func Command(app *cli.App) *cobra.Command {
	var (
		listen, dataDir, templatePath, apiTokenFile, webhookSecretFile string
		drain                                                          time.Duration
		cfg                                                            Config
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the account-signup service: an HTTP API that provisions a stack per tenant",
		Long: `serve runs the account-signup service. A signup (POST /v1/tenants) is recorded and
answered at once (202) with the tenant's URL; a durable job (River) then runs
` + "`up`" + ` on the tenant's own stack through the Automation API, one operation per
stack at a time, --concurrency at once, retried with backoff on transient engine
errors. GET /v1/tenants/{id} reports the state (queued, provisioning, ready,
failed, deprovisioning, deleted) and the non-secret outputs; .../events streams
the engine's progress (Server-Sent Events); DELETE destroys and removes the stack.
The API is described by /openapi.yaml; /healthz, /readyz and /metrics are open.
A web console at / (sign in with an operator token) shows the fleet, each
tenant's live timeline and actions, and rollouts wave by wave.

Day 2: every template the service runs with is recorded as a version (a hash
of the template and the tenantfleet build); each tenant records the version it
was last applied with (GET /v1/fleet summarises). A changed template changes
nothing by itself (--update-policy manual) until a rollout (POST /v1/rollouts,
or ` + "`tenantfleet fleet rollout start`" + `) previews every selected tenant with it,
prices the change, and updates them in waves behind a health gate, halting past
maxFailures; --update-policy automatic starts one at start. Drift checks (POST
/v1/drift-checks, or every --drift-interval) refresh each ready tenant as a
preview, --drift-parallel at a time, and record what differs; POST
/v1/tenants/{id}/reconcile heals one.

Jobs live in SQLite under --data-dir, or in PostgreSQL when TENANTFLEET_DATABASE_URL
is a postgres:// URL (replicas then share the work; give each its own
--replica-id and use a shared Pulumi backend). Every stack operation runs in a
workspace of its own. A restarted service resumes what a killed one left,
clearing a stack lock only when its own dead engine held it.

Authentication (at least one is required; no write is unauthenticated):
  TENANTFLEET_API_TOKEN        operators' bearer token(s), comma-separated
  TENANTFLEET_WEBHOOK_SECRET   Standard Webhooks signing secret(s) (whsec_...),
                               comma-separated while rotating
or the same from --api-token-file / --webhook-secret-file (one per line).

SIGINT or SIGTERM stops taking jobs and lets running operations finish for
--drain-timeout, then interrupts them (the engine cancels gracefully, the job
resumes at the next start); a second signal stops at once.`,
		Example: `  export TENANTFLEET_API_TOKEN=$(openssl rand -hex 32)
  tenantfleet serve --listen 127.0.0.1:8080
  curl -H "Authorization: Bearer $TENANTFLEET_API_TOKEN" -H 'Content-Type: application/json' \
    -d '{"id":"acme","tier":"small"}' http://127.0.0.1:8080/v1/tenants`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			log := slog.Default()
			cfg.Logger = log
			cfg.Engine = app.Engine
			cfg.Build = BuildID()
			var err error
			if cfg.APITokens, err = secretList(EnvAPIToken, "--api-token-file", apiTokenFile); err != nil {
				return usage(err)
			}
			if cfg.WebhookSecrets, err = secretList(EnvWebhookSecret, "--webhook-secret-file", webhookSecretFile); err != nil {
				return usage(err)
			}
			if len(cfg.APITokens) == 0 && len(cfg.WebhookSecrets) == 0 {
				return usage(errNoAuth)
			}
			if err := CheckWebhookSecrets(cfg.WebhookSecrets); err != nil {
				return usage(fmt.Errorf("$%s or --webhook-secret-file: %w", EnvWebhookSecret, err))
			}
			cfg.DatabaseURL = os.Getenv(EnvDatabaseURL)
			if dataDir == "" {
				state, err := engine.StateDir()
				if err != nil {
					return usage(err)
				}
				dataDir = filepath.Join(state, "serve")
			}
			cfg.DataDir = dataDir
			if cfg.Template, err = LoadTemplate(templatePath); err != nil {
				return usage(flagError(err))
			}
			if cfg.Workers == -1 {
				cfg.Workers = -2 // -1 is the tests' insert-only mode, not a flag value
			}

			pre, err := app.Engine.Preflight(ctx, cfg.Backend, cfg.Template.Plugins()...)
			if err != nil {
				return fmt.Errorf("preflight: %w", err)
			}
			log.Info("preflight passed", "engine", pre.String())
			if err := checkTemplate(ctx, cfg.Template); err != nil {
				return usage(flagError(err))
			}

			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return usage(fmt.Errorf("--listen %s: %w", listen, err))
			}
			svc, err := Open(ctx, cfg)
			if err != nil {
				_ = ln.Close() // nothing was served on it; the Open error is the one to report
				return usage(flagError(err))
			}
			defer svc.Close()
			return serve(ctx, svc, ln, drain, log)
		},
	}
	f := cmd.Flags()
	f.StringVar(&listen, "listen", "127.0.0.1:8080", "address the HTTP API listens on")
	f.StringVar(&dataDir, "data-dir", "", "directory of the SQLite job database and the replica lock (default <state dir>/serve)")
	f.StringVar(&templatePath, "template", "", "tenant template file: per cloud, the stack config and the tenant spec every signup starts from (default: the built-in local-cloud template)")
	f.StringVar(&cfg.DefaultCloud, "cloud", "", "cloud of a signup that names none (default: the template's cloud that needs no account, local, when it has it, else its first cloud)")
	f.StringVar(&cfg.StackPrefix, "stack-prefix", DefaultStackPrefix, "prefix of each tenant's stack name")
	f.StringVar(&cfg.Backend, "backend", "", "Pulumi state backend URL (default $PULUMI_BACKEND_URL, else the file:// backend in the state directory)")
	f.IntVar(&cfg.Workers, "concurrency", DefaultWorkers, "engine operations this replica runs at once")
	f.IntVar(&cfg.MaxAttempts, "max-attempts", DefaultMaxAttempts, "tries of a failing operation before the tenant is failed")
	f.DurationVar(&cfg.OperationTimeout, "operation-timeout", DefaultOperationTimeout, "longest one tenant operation may run")
	f.StringVar(&cfg.UpdatePolicy, "update-policy", UpdateManual, "what a changed template does at start: manual (nothing until a rollout is started) or automatic (a rollout of every tenant with the default waves)")
	f.DurationVar(&cfg.DriftInterval, "drift-interval", 0, "run a drift check of every ready tenant this often, e.g. 6h (0: only when asked)")
	f.IntVar(&cfg.DriftParallel, "drift-parallel", DefaultDriftParallel, "tenants drift checks refresh at once (across all checks)")
	f.DurationVar(&drain, "drain-timeout", 10*time.Minute, "on SIGTERM, how long running operations may finish before they are interrupted")
	f.StringVar(&cfg.ReplicaID, "replica-id", "", "this replica's id among those sharing a PostgreSQL job database (default: host name)")
	f.StringVar(&apiTokenFile, "api-token-file", "", "file of operators' bearer tokens, one per line (instead of $"+EnvAPIToken+")")
	f.StringVar(&webhookSecretFile, "webhook-secret-file", "", "file of Standard Webhooks secrets, one per line (instead of $"+EnvWebhookSecret+")")
	return cmd
}

func usage(err error) error { return &cli.ExitError{Code: cli.ExitUsage, Err: err} }

// configSources are the flags and variables of serve that set Config's
// fields, for ConfigErrors.
var configSources = map[string]string{
	"Workers":       "--concurrency",
	"DefaultCloud":  "--cloud",
	"StackPrefix":   "--stack-prefix",
	"ReplicaID":     "--replica-id",
	"DataDir":       "--data-dir",
	"DatabaseURL":   "$" + EnvDatabaseURL,
	"MaxAttempts":   "--max-attempts",
	"Template":      "--template",
	"UpdatePolicy":  "--update-policy",
	"DriftInterval": "--drift-interval",
	"DriftParallel": "--drift-parallel",
}

// flagError names the flag or variable of a ConfigError's field instead of
// the field.
func flagError(err error) error {
	var ce *ConfigError
	if errors.As(err, &ce) {
		if source, ok := configSources[ce.Field]; ok {
			return fmt.Errorf("%s: %w", source, ce.Err)
		}
	}
	return err
}

// secretList reads comma-separated secrets from env, or one per line from
// file (flag names it); never both.
func secretList(env, flag, file string) ([]string, error) {
	raw := os.Getenv(env)
	sep := ","
	if file != "" {
		if raw != "" {
			return nil, fmt.Errorf("%s and $%s are both set: use one", flag, env)
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", flag, err)
		}
		raw, sep = string(b), "\n"
	}
	var out []string
	for _, s := range strings.Split(raw, sep) {
		if s = strings.TrimSpace(s); s != "" {
			if len(s) < 16 {
				return nil, fmt.Errorf("%s: a secret is shorter than 16 characters; use a random one (openssl rand -hex 32)", sourceName(env, flag, file))
			}
			out = append(out, s)
		}
	}
	return out, nil
}

func sourceName(env, flag, file string) string {
	if file != "" {
		return flag
	}
	return "$" + env
}

// checkTemplate runs the program, with mocks, on each cloud's stack config
// for a sample tenant, so that a template the program refuses stops the
// service at start, not at the first signup.
func checkTemplate(ctx context.Context, t *Template) error {
	for _, cloud := range t.CloudNames() {
		req := Request{ID: "preflight", Tier: "small", Cloud: cloud}
		cfg, err := t.StackConfig(req)
		if err == nil {
			err = Check(ctx, "tenant-preflight", cfg)
		}
		if err != nil {
			return configErrorf("Template", "%s: clouds.%s: %w", t.source, cloud, err)
		}
	}
	return nil
}

// serve runs the HTTP server and the workers until ctx is done, then shuts
// both down: the server stops accepting, the workers drain.
func serve(ctx context.Context, svc *Service, ln net.Listener, drain time.Duration, log *slog.Logger) error {
	// Requests outlive the first signal (they finish during Shutdown), but
	// event streams, which never finish on their own, end when it starts.
	reqCtx, endRequests := context.WithCancel(context.WithoutCancel(ctx))
	defer endRequests()
	srv := &http.Server{
		Handler:           svc.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second, // the body; responses (event streams) are not bounded
		IdleTimeout:       2 * time.Minute,
		BaseContext:       func(net.Listener) context.Context { return reqCtx },
	}
	srv.RegisterOnShutdown(endRequests)
	httpErr := make(chan error, 1)
	go func() { httpErr <- srv.Serve(ln) }()
	log.Info("serving the signup API", "listen", ln.Addr().String(), "jobs", svc.Store().Where(),
		"concurrency", svc.cfg.Workers, "clouds", svc.cfg.Template.CloudNames(), "default cloud", svc.cfg.DefaultCloud)

	runErr := make(chan error, 1)
	go func() { runErr <- svc.Run(ctx, drain) }()

	select {
	case err := <-httpErr:
		return fmt.Errorf("HTTP server: %w", err)
	case <-ctx.Done():
	}
	// Readiness fails from here; event streams end with the server.
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		log.Warn("HTTP shutdown", "error", err)
	}
	err := <-runErr
	log.Info("stopped")
	return err
}
