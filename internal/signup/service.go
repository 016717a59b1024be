package signup

import (
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/internal/engine"
)

// Config configures the service; `tenantfleet serve` fills it from flags
// and the environment.
type Config struct {
	// DataDir holds the SQLite job database (when DatabaseURL is empty)
	// and the replica's lock file.
	DataDir string
	// DatabaseURL is a postgres:// URL (several replicas share the work)
	// or sqlite:PATH; "" is SQLite in DataDir.
	DatabaseURL string
	// Workers caps the engine operations run at once by this replica
	// (default DefaultWorkers). -1 makes an insert-only service: requests are recorded
	// and their jobs queued, but nothing runs them (tests, or a replica
	// that only answers the API).
	Workers int
	// Template is the tenant template (nil: the built-in one).
	Template *Template
	// DefaultCloud is the cloud of a signup that names none; default: the
	// template's first cloud that needs no account (providers.Cloud.Embedded),
	// else its first.
	DefaultCloud string
	// StackPrefix is put before the tenant id to name its stack
	// (default DefaultStackPrefix).
	StackPrefix string
	// Backend is the Pulumi backend URL ("" as for the CLI:
	// $PULUMI_BACKEND_URL, else the file:// backend in the state directory).
	Backend string
	// WebhookSecrets verify Standard Webhooks signatures (whsec_...;
	// several while rotating). APITokens are operators' bearer tokens.
	WebhookSecrets []string
	APITokens      []string
	// MaxBodyBytes bounds request bodies (default DefaultMaxBodyBytes).
	MaxBodyBytes int64
	// OperationTimeout bounds one engine operation (default
	// DefaultOperationTimeout).
	OperationTimeout time.Duration
	// MaxAttempts is how often a failing operation is tried (default
	// DefaultMaxAttempts).
	MaxAttempts int
	// ReplicaID names this replica among those sharing a PostgreSQL job
	// database (default: the host name). Each must have its own.
	ReplicaID string
	// Build names the tenantfleet build (BuildID); with the template it
	// makes the template version, so a new build is a new version.
	Build string
	// UpdatePolicy says what a template version the fleet is not on does
	// at start: UpdateManual (default) nothing, UpdateAutomatic starts a
	// rollout of every tenant with the default waves.
	UpdatePolicy string
	// DriftInterval runs a drift check of every ready tenant this often
	// (0: only when asked, POST /v1/drift-checks).
	DriftInterval time.Duration
	// DriftParallel caps the tenants a drift check refreshes at once
	// (default DefaultDriftParallel): the bounded rate of a sweep.
	DriftParallel int
	// Engine runs the engine operations (nil with Workers -1).
	Engine *engine.Runner
	// Logger receives the service's logs (default slog.Default()).
	Logger *slog.Logger
}

// The defaults of Config's fields; `tenantfleet serve`'s flags default to
// them too.
const (
	DefaultWorkers          = 4
	DefaultStackPrefix      = "tenant-"
	DefaultMaxBodyBytes     = 64 << 10
	DefaultOperationTimeout = 2 * time.Hour
	DefaultMaxAttempts      = 6
	DefaultDriftParallel    = 2
)

// The update policies.
const (
	UpdateManual    = "manual"
	UpdateAutomatic = "automatic"
)

// ConfigError is a Config field the service cannot run with. Field is the
// field's name; `tenantfleet serve` names the flag or variable that sets it.
type ConfigError struct {
	Field string
	Err   error
}

func (e *ConfigError) Error() string { return "Config." + e.Field + ": " + e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

func configErrorf(field, format string, args ...any) error {
	return &ConfigError{Field: field, Err: fmt.Errorf(format, args...)}
}

func (c *Config) setDefaults() error {
	c.Workers = cmp.Or(c.Workers, DefaultWorkers)
	if c.Workers < -1 {
		return configErrorf("Workers", "must be at least 1, got %d", c.Workers)
	}
	if c.Template == nil {
		t, err := LoadTemplate("")
		if err != nil {
			return err
		}
		c.Template = t
	}
	if c.DefaultCloud == "" {
		c.DefaultCloud = c.Template.DefaultCloud()
	}
	if _, ok := c.Template.Clouds[c.DefaultCloud]; !ok {
		return configErrorf("DefaultCloud", "%q is not in the template %s (it has %v)", c.DefaultCloud, c.Template.source, c.Template.CloudNames())
	}
	c.StackPrefix = cmp.Or(c.StackPrefix, DefaultStackPrefix)
	c.MaxBodyBytes = cmp.Or(c.MaxBodyBytes, DefaultMaxBodyBytes)
	c.OperationTimeout = cmp.Or(c.OperationTimeout, DefaultOperationTimeout)
	c.MaxAttempts = cmp.Or(c.MaxAttempts, DefaultMaxAttempts)
	c.Build = cmp.Or(c.Build, "unknown")
	c.UpdatePolicy = cmp.Or(c.UpdatePolicy, UpdateManual)
	if c.UpdatePolicy != UpdateManual && c.UpdatePolicy != UpdateAutomatic {
		return configErrorf("UpdatePolicy", "must be %s or %s, got %q", UpdateManual, UpdateAutomatic, c.UpdatePolicy)
	}
	if c.DriftInterval < 0 {
		return configErrorf("DriftInterval", "must be 0 (off) or more, got %s", c.DriftInterval)
	}
	c.DriftParallel = cmp.Or(c.DriftParallel, DefaultDriftParallel)
	if c.DriftParallel < 1 {
		return configErrorf("DriftParallel", "must be at least 1, got %d", c.DriftParallel)
	}
	if c.ReplicaID == "" {
		host, err := os.Hostname()
		if err != nil {
			return configErrorf("ReplicaID", "the host name is unknown (%v); set it", err)
		}
		c.ReplicaID = host
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if len(c.WebhookSecrets) == 0 && len(c.APITokens) == 0 {
		return errNoAuth
	}
	if c.Workers != -1 && c.Engine == nil {
		return configErrorf("Engine", "no engine runner configured")
	}
	return nil
}

var errNoAuth = errors.New("no authentication configured: set TENANTFLEET_API_TOKEN (operators' bearer token) " +
	"and/or TENANTFLEET_WEBHOOK_SECRET (Standard Webhooks signing secret, whsec_...); the service takes no unauthenticated write")

// Service is the signup service: the API's operations on the store, and
// the River client whose workers carry them out.
type Service struct {
	cfg      Config
	store    *Store
	river    *river.Client[*sql.Tx]
	metrics  *Metrics
	instance string // this process's lease owner: replica/random
	host     string
	unlock   func()

	// version is the template version of cfg.Template; templates caches
	// the recorded versions' templates.
	version   string
	templates map[string]*Template
	// fleet drives rollouts and drift checks.
	fleet  *fleetRunner
	pricer pricer

	mu       sync.Mutex
	changed  chan struct{}
	stopping bool
	started  bool
}

// Open opens the job database (migrating it), takes this replica's lock,
// and builds the River client. Run starts the work.
func Open(ctx context.Context, cfg Config) (*Service, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, &ConfigError{Field: "DataDir", Err: err}
	}
	store, err := OpenStore(ctx, cfg.DatabaseURL, cfg.DataDir)
	if err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, store: store, changed: make(chan struct{}), templates: map[string]*Template{}}
	ok := false
	defer func() {
		if !ok {
			s.Close()
		}
	}()
	s.host, _ = os.Hostname()
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	s.instance = cfg.ReplicaID + "/" + hex.EncodeToString(suffix)

	if s.unlock, err = s.lockReplica(ctx); err != nil {
		return nil, err
	}
	if err := s.migrate(ctx); err != nil {
		return nil, err
	}
	if err := s.registerVersion(ctx); err != nil {
		return nil, fmt.Errorf("record the template version: %w", err)
	}
	s.fleet = newFleetRunner(s)
	s.metrics = NewMetrics(store)

	workers := river.NewWorkers()
	river.AddWorker(workers, &reconcileWorker{svc: s})
	rcfg := &river.Config{
		ID:                   cfg.ReplicaID,
		Logger:               riverLogger(cfg.Logger),
		Workers:              workers,
		MaxAttempts:          cfg.MaxAttempts,
		JobTimeout:           cfg.OperationTimeout,
		RescueStuckJobsAfter: cfg.OperationTimeout + 10*time.Minute,
		FetchPollInterval:    250 * time.Millisecond,
		FetchCooldown:        50 * time.Millisecond,
		RetryPolicy:          &retryPolicy{},
	}
	if cfg.Workers > 0 {
		rcfg.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: cfg.Workers}}
	}
	if s.river, err = river.NewClient(s.driver(), rcfg); err != nil {
		return nil, fmt.Errorf("start the job queue: %w", err)
	}
	ok = true
	return s, nil
}

func (s *Service) driver() riverdriver.Driver[*sql.Tx] {
	if s.store.dialect == dialectPostgres {
		return riverdatabasesql.New(s.store.DB)
	}
	return riversqlite.New(s.store.DB)
}

func (s *Service) migrate(ctx context.Context) error {
	migrator, err := rivermigrate.New(s.driver(), &rivermigrate.Config{Logger: riverLogger(s.cfg.Logger)})
	if err != nil {
		return err
	}
	if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("migrate River's tables in the job database (%s): %w", s.store.Where(), err)
	}
	return s.store.Migrate(ctx)
}

// riverLogger passes on River's warnings and errors only: its info logs
// are per-job chatter.
func riverLogger(l *slog.Logger) *slog.Logger {
	return slog.New(levelFilter{l.Handler(), slog.LevelWarn})
}

type levelFilter struct {
	slog.Handler
	min slog.Level
}

func (f levelFilter) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= f.min && f.Handler.Enabled(ctx, l)
}

// lockReplica makes sure no other process runs as this replica: with
// SQLite, an flock on the data directory (SQLite serves one machine); with
// PostgreSQL, a session advisory lock keyed by the replica id. Holding it
// proves that anything an earlier process of this replica left running
// (leases, engine locks) is dead.
func (s *Service) lockReplica(ctx context.Context) (func(), error) {
	if s.store.dialect == dialectSQLite {
		path := filepath.Join(s.cfg.DataDir, "serve.lock")
		f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			_ = f.Close() // the lock error is the one to report
			return nil, fmt.Errorf("another tenantfleet serve is running on %s (it holds %s); "+
				"stop it, or give this one its own --data-dir", s.cfg.DataDir, path)
		}
		// Closing releases the flock; the file is never written, so a close
		// error loses nothing.
		return func() { _ = f.Close() }, nil
	}
	conn, err := s.store.DB.Conn(ctx)
	if err != nil {
		return nil, err
	}
	var got bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock(hashtext('tenantfleet-replica:' || $1))`, s.cfg.ReplicaID).Scan(&got); err != nil {
		_ = conn.Close() // the query error is the one to report
		return nil, fmt.Errorf("take the replica lock: %w", err)
	}
	if !got {
		_ = conn.Close() // it holds no lock; the refusal is the one to report
		return nil, configErrorf("ReplicaID", "replica %q is already running against this database; give each replica its own id", s.cfg.ReplicaID)
	}
	// The lock is the session's: it ends when Close closes the store's
	// connections, right after this, whatever returning the conn reports.
	return func() { _ = conn.Close() }, nil
}

// Store returns the service's store.
func (s *Service) Store() *Store { return s.store }

// Config returns the service's configuration, defaults applied.
func (s *Service) Config() Config { return s.cfg }

// Metrics returns the service's metrics.
func (s *Service) Metrics() *Metrics { return s.metrics }

// Run works jobs until ctx is done, then stops taking jobs and gives the
// running operations until drain to finish; after that it interrupts them
// (the engine gets SIGINT and cancels gracefully, the job is retried at the
// next start) and waits for them to stop. A nil force closes never.
func (s *Service) Run(ctx context.Context, drain time.Duration) error {
	if s.cfg.Workers == -1 {
		<-ctx.Done()
		return nil
	}
	// The previous process of this replica is dead (this one holds the
	// replica lock): free its leases before anything of this process takes
	// one, so that none of this process's own is freed.
	if ids, err := s.store.ReleaseLeasesOf(ctx, s.cfg.ReplicaID+"/"); err != nil {
		s.cfg.Logger.Error("release the previous process's leases", "error", err)
	} else if len(ids) > 0 {
		s.cfg.Logger.Info("resuming the operations a previous run of this replica left", "tenants", ids)
	}
	if err := s.store.ReleaseFleetLeasesOf(ctx, s.cfg.ReplicaID+"/"); err != nil {
		s.cfg.Logger.Error("release the previous process's rollout and drift-check leases", "error", err)
	}
	if err := s.river.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("start the job queue: %w", err)
	}
	s.mu.Lock()
	s.started = true
	s.mu.Unlock()
	sweepDone := make(chan struct{})
	go func() {
		defer close(sweepDone)
		s.sweep(ctx)
	}()
	fleetDone := make(chan struct{})
	go func() {
		defer close(fleetDone)
		s.fleet.run(ctx)
	}()
	<-ctx.Done()
	s.mu.Lock()
	s.stopping = true
	s.mu.Unlock()
	<-sweepDone
	<-fleetDone

	s.cfg.Logger.Info("stopping: no new jobs; waiting for running operations", "deadline", drain)
	soft, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	if err := s.river.Stop(soft); err == nil {
		return nil
	}
	s.cfg.Logger.Warn("drain deadline passed: interrupting the running operations (the engine cancels them gracefully)")
	return s.river.StopAndCancel(context.Background())
}

// sweep requeues the work of dead replicas: every 30 s (at once at start,
// after Run freed the leases this replica's previous process held), any
// unsettled tenant whose lease has expired. It also prunes old webhook ids.
func (s *Service) sweep(ctx context.Context) {
	tick := time.NewTicker(30 * time.Second)
	defer tick.Stop()
	for {
		s.requeueOrphans(ctx)
		if err := s.store.Prune(ctx, time.Now().Add(-webhookMemory), time.Now().Add(-24*time.Hour)); err != nil && ctx.Err() == nil {
			s.cfg.Logger.Error("prune webhook ids", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// requeueOrphans enqueues a job for every unsettled tenant whose job died
// with its process: River still says running, but the lease it held has
// expired (or was released by the process's successor). A job that is
// queued, or running without a lease yet, keeps its place.
func (s *Service) requeueOrphans(ctx context.Context) {
	tenants, err := s.store.Unsettled(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.cfg.Logger.Error("look for orphaned operations", "error", err)
		}
		return
	}
	for _, t := range tenants {
		if t.JobID != 0 {
			job, err := s.river.JobGet(ctx, t.JobID)
			if err == nil {
				state := string(job.State)
				switch {
				case state != "running" && !jobFinished(state):
					continue // available, scheduled, retryable: it will run
				case state == "running" && t.LeaseOwner == "":
					// Picked up and not yet holding the lease, or just
					// finished and not yet marked so by River: alive as far
					// as anyone can tell (River rescues a really stuck one).
					continue
				}
			}
		}
		if err := s.store.Requeue(ctx, t.ID, t.Generation, s.enqueue); err != nil {
			s.cfg.Logger.Error("requeue an orphaned operation", "tenant", t.ID, "error", err)
			continue
		}
		s.cfg.Logger.Info("requeued an operation whose job died", "tenant", t.ID, "state", t.State)
	}
}

func jobFinished(state string) bool {
	return state == "completed" || state == "cancelled" || state == "discarded"
}

// Close stops the River client (if Run did not) and closes the database.
func (s *Service) Close() {
	if s.unlock != nil {
		s.unlock()
	}
	if s.store != nil {
		if err := s.store.Close(); err != nil {
			s.cfg.Logger.Warn("close the job database", "err", err)
		}
	}
}

// Ready reports whether the service takes work.
func (s *Service) Ready(ctx context.Context) error {
	s.mu.Lock()
	stopping, started := s.stopping, s.started
	s.mu.Unlock()
	if stopping {
		return errors.New("shutting down")
	}
	if s.cfg.Workers != -1 && !started {
		return errors.New("starting")
	}
	if err := s.store.DB.PingContext(ctx); err != nil {
		return fmt.Errorf("the job database (%s) does not answer", s.store.Where())
	}
	return nil
}

// EventsChanged returns a channel closed when this process next records an
// event; call it again after each wake.
func (s *Service) EventsChanged() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

func (s *Service) notify() {
	s.mu.Lock()
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
}

// ReconcileArgs is the job that brings a tenant's stack to what its
// generation asks for (present or absent).
type ReconcileArgs struct {
	Tenant     string `json:"tenant"`
	Generation int64  `json:"generation"`
}

// Kind implements river.JobArgs.
func (ReconcileArgs) Kind() string { return "tenantfleet.reconcile" }

func (s *Service) enqueue(ctx context.Context, tx *sql.Tx, id string, gen int64) (int64, error) {
	res, err := s.river.InsertTx(ctx, tx, ReconcileArgs{Tenant: id, Generation: gen}, nil)
	if err != nil {
		return 0, err
	}
	return res.Job.ID, nil
}

// stackName is the tenant's stack.
func (s *Service) stackName(id string) string { return s.cfg.StackPrefix + id }

// normalize fills a signup's defaults and checks it against the template
// and the cloud's adapter, with Pulumi's mocks. Errors name the field.
func (s *Service) normalize(ctx context.Context, req Request) (Request, error) {
	if req.Tier == "" {
		req.Tier = string(components.TierSmall)
	}
	if req.Cloud == "" {
		req.Cloud = s.cfg.DefaultCloud
	}
	cfg, err := s.cfg.Template.StackConfig(req)
	if err != nil {
		return req, err
	}
	return req, Check(ctx, s.stackName(req.ID), cfg)
}

// Signup records a signup and queues its provisioning. The bool is true when
// a new operation started (false: the same signup again, or a repeated
// Idempotency-Key; the record is returned as it is).
func (s *Service) Signup(ctx context.Context, req Request, m Mutation) (Tenant, bool, error) {
	req, err := s.normalize(ctx, req)
	if err != nil {
		return Tenant{}, false, err
	}
	t, started, err := s.store.Signup(ctx, req, s.stackName(req.ID), s.version, m, s.enqueue)
	if started {
		s.notify()
	}
	return t, started, err
}

// Delete queues the removal of a tenant's stack. A deletion-protected
// database needs opts.Force or opts.RetainDatabase.
func (s *Service) Delete(ctx context.Context, id string, opts DeleteOptions, m Mutation) (Tenant, bool, error) {
	if opts.Force && opts.RetainDatabase {
		return Tenant{}, false, &RequestError{Field: "force", Reason: "force and retainDatabase exclude each other: choose one"}
	}
	t, err := s.store.Get(ctx, id)
	if err != nil {
		return Tenant{}, false, err
	}
	if t.State != StateDeleted && !opts.Force && !opts.RetainDatabase && s.protected(t) {
		return Tenant{}, false, &ConflictError{Field: "force", Reason: fmt.Sprintf("tenant %s's database has deletion protection: "+
			"pass force=true to delete it with its data, or retainDatabase=true to delete everything else and keep the database", id)}
	}
	t, started, err := s.store.Delete(ctx, id, opts, m, s.enqueue)
	if started {
		s.notify()
	}
	return t, started, err
}

// protected reports whether the tenant's database is deletion-protected
// by the template (the default when the template says nothing).
func (s *Service) protected(t Tenant) bool {
	cfg, err := s.cfg.Template.StackConfig(t.Request)
	if err != nil {
		return true
	}
	tenants, _ := cfg["tenantfleet:tenants"].([]any)
	if len(tenants) != 1 {
		return true
	}
	spec, _ := tenants[0].(map[string]any)
	db, _ := spec["database"].(map[string]any)
	if v, ok := db["deletionProtection"].(bool); ok {
		return v
	}
	return true
}

// Cancel stops the tenant's running or queued operation.
func (s *Service) Cancel(ctx context.Context, id string, m Mutation) (Tenant, bool, error) {
	return s.store.Cancel(ctx, id, m)
}

// Get returns a tenant.
func (s *Service) Get(ctx context.Context, id string) (Tenant, error) { return s.store.Get(ctx, id) }

// List returns a page of tenants.
func (s *Service) List(ctx context.Context, filter ListFilter, after string, limit int) ([]Tenant, error) {
	return s.store.List(ctx, filter, after, limit)
}

// Events returns a page of a tenant's events.
func (s *Service) Events(ctx context.Context, id string, after int64, limit int) ([]Event, error) {
	return s.store.Events(ctx, id, after, limit)
}
