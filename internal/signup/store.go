package signup

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver
)

// dialect is the SQL flavour of the job database.
type dialect int

const (
	dialectSQLite dialect = iota
	dialectPostgres
)

// Store is the service's own tables (tenants, their events, seen webhook
// ids, idempotency keys, engine runs), in the same database as River's jobs
// so that a change and the job that carries it out commit together.
type Store struct {
	DB      *sql.DB
	dialect dialect
	// where names the database for messages, without credentials.
	where string
	pool  *pgxpool.Pool
}

// Errors the store returns for the API to map to HTTP statuses.
var (
	ErrNotFound = errors.New("not found")
)

// ConflictError says why a request cannot be applied to the tenant as it is.
type ConflictError struct {
	// Field is the request field (or header) in conflict, when one is.
	Field  string
	Reason string
}

func (e *ConflictError) Error() string { return e.Reason }

// OpenStore opens the job database: PostgreSQL when databaseURL is a
// postgres:// or postgresql:// URL, else SQLite at the path databaseURL
// names (sqlite:PATH, or "" for dataDir/signup.db).
func OpenStore(ctx context.Context, databaseURL, dataDir string) (*Store, error) {
	switch {
	case strings.HasPrefix(databaseURL, "postgres://") || strings.HasPrefix(databaseURL, "postgresql://"):
		cfg, err := pgxpool.ParseConfig(databaseURL)
		if err != nil {
			return nil, configErrorf("DatabaseURL", "not a valid PostgreSQL URL: %s", redactURLError(err))
		}
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			return nil, configErrorf("DatabaseURL", "%s", redactURLError(err))
		}
		db := stdlib.OpenDBFromPool(pool)
		where := fmt.Sprintf("postgres %s:%d/%s", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database)
		if err := db.PingContext(ctx); err != nil {
			pool.Close()
			return nil, fmt.Errorf("connect to the job database (%s): %s", where, redactURLError(err))
		}
		return &Store{DB: db, dialect: dialectPostgres, where: where, pool: pool}, nil
	case databaseURL == "" || strings.HasPrefix(databaseURL, "sqlite:"):
		path := strings.TrimPrefix(strings.TrimPrefix(databaseURL, "sqlite:"), "//")
		if path == "" {
			path = filepath.Join(dataDir, "signup.db")
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("create the job database directory: %w", err)
		}
		// WAL lets readers run beside the writer; busy_timeout waits out the
		// writer instead of failing; one connection, as River's SQLite driver
		// advises, serialises writers in this process.
		dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_txlock=immediate"
		db, err := sql.Open("sqlite", dsn)
		if err != nil {
			return nil, fmt.Errorf("open the job database %s: %w", path, err)
		}
		db.SetMaxOpenConns(1)
		if err := db.PingContext(ctx); err != nil {
			_ = db.Close() // the ping error is the one to report
			return nil, fmt.Errorf("open the job database %s: %w", path, err)
		}
		if err := os.Chmod(path, 0o600); err != nil {
			_ = db.Close() // the chmod error is the one to report
			return nil, fmt.Errorf("restrict the job database %s to 0600: %w", path, err)
		}
		return &Store{DB: db, dialect: dialectSQLite, where: "sqlite " + path}, nil
	default:
		return nil, configErrorf("DatabaseURL", "must be a postgres:// URL or sqlite:PATH, got a %q URL", schemeOf(databaseURL))
	}
}

func schemeOf(u string) string {
	if i := strings.Index(u, ":"); i > 0 {
		return u[:i]
	}
	return "schemeless"
}

// redactURLError drops anything that looks like a URL from a connection
// error: pgx quotes the connection string, password included, in some.
func redactURLError(err error) string {
	msg := err.Error()
	for _, scheme := range []string{"postgres://", "postgresql://"} {
		for {
			i := strings.Index(msg, scheme)
			if i < 0 {
				break
			}
			j := i + len(scheme)
			for j < len(msg) && msg[j] != ' ' && msg[j] != '"' && msg[j] != '\'' {
				j++
			}
			msg = msg[:i] + "<database url>" + msg[j:]
		}
	}
	if strings.Contains(msg, "password=") {
		return "the connection failed (details hidden: they include the password)"
	}
	return msg
}

// Where names the database, without credentials.
func (s *Store) Where() string { return s.where }

// Close closes the database.
func (s *Store) Close() error {
	err := s.DB.Close()
	if s.pool != nil {
		s.pool.Close()
	}
	return err
}

// q rewrites ? placeholders to $n for PostgreSQL.
func (s *Store) q(query string) string {
	if s.dialect != dialectPostgres {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Migrate creates the service's tables (River's are migrated separately).
func (s *Store) Migrate(ctx context.Context) error {
	serial := "INTEGER PRIMARY KEY AUTOINCREMENT"
	if s.dialect == dialectPostgres {
		serial = "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"
	}
	stmts := []string{
		`CREATE TABLE IF NOT EXISTS tenantfleet_tenant (
			id TEXT PRIMARY KEY,
			stack TEXT NOT NULL,
			cloud TEXT NOT NULL,
			region TEXT NOT NULL DEFAULT '',
			tier TEXT NOT NULL,
			request TEXT NOT NULL,
			state TEXT NOT NULL,
			desired TEXT NOT NULL,
			generation BIGINT NOT NULL,
			cancel_generation BIGINT NOT NULL DEFAULT 0,
			delete_options TEXT NOT NULL DEFAULT '{}',
			outputs TEXT NOT NULL DEFAULT '{}',
			retained TEXT NOT NULL DEFAULT '[]',
			attempts INTEGER NOT NULL DEFAULT 0,
			last_error TEXT NOT NULL DEFAULT '',
			job_id BIGINT NOT NULL DEFAULT 0,
			lease_owner TEXT NOT NULL DEFAULT '',
			lease_until BIGINT NOT NULL DEFAULT 0,
			created_at BIGINT NOT NULL,
			updated_at BIGINT NOT NULL,
			ready_at BIGINT,
			deleted_at BIGINT
		)`,
		`CREATE INDEX IF NOT EXISTS tenantfleet_tenant_state ON tenantfleet_tenant (state, id)`,
		`CREATE TABLE IF NOT EXISTS tenantfleet_event (
			seq ` + serial + `,
			tenant_id TEXT NOT NULL,
			at BIGINT NOT NULL,
			type TEXT NOT NULL,
			data TEXT NOT NULL
		)`,
		`CREATE INDEX IF NOT EXISTS tenantfleet_event_tenant ON tenantfleet_event (tenant_id, seq)`,
		`CREATE TABLE IF NOT EXISTS tenantfleet_webhook_message (
			id TEXT PRIMARY KEY,
			received_at BIGINT NOT NULL,
			tenant_id TEXT NOT NULL DEFAULT '',
			request_hash TEXT NOT NULL DEFAULT ''
		)`,
		`CREATE TABLE IF NOT EXISTS tenantfleet_idempotency_key (
			key TEXT PRIMARY KEY,
			tenant_id TEXT NOT NULL,
			request_hash TEXT NOT NULL,
			created_at BIGINT NOT NULL
		)`,
		// The engine processes a replica started, so that after a crash the
		// lock a dead engine left can be told from anyone else's.
		`CREATE TABLE IF NOT EXISTS tenantfleet_engine_run (
			tenant_id TEXT NOT NULL,
			replica TEXT NOT NULL,
			host TEXT NOT NULL,
			pid BIGINT NOT NULL,
			started_at BIGINT NOT NULL,
			PRIMARY KEY (tenant_id, host, pid)
		)`,
		// Every template version the service ran with, so a rollout can
		// apply an earlier one (a rollback) after the service moved on.
		`CREATE TABLE IF NOT EXISTS tenantfleet_template_version (
			version TEXT PRIMARY KEY,
			template TEXT NOT NULL,
			source TEXT NOT NULL,
			build TEXT NOT NULL,
			created_at BIGINT NOT NULL
		)`,
		`CREATE TABLE IF NOT EXISTS tenantfleet_rollout (
			id ` + serial + `,
			state TEXT NOT NULL,
			version TEXT NOT NULL,
			spec TEXT NOT NULL,
			reason TEXT NOT NULL DEFAULT '',
			wave INTEGER NOT NULL DEFAULT 0,
			next_wave_at BIGINT NOT NULL DEFAULT 0,
			lease_owner TEXT NOT NULL DEFAULT '',
			lease_until BIGINT NOT NULL DEFAULT 0,
			created_at BIGINT NOT NULL,
			updated_at BIGINT NOT NULL,
			finished_at BIGINT
		)`,
		`CREATE TABLE IF NOT EXISTS tenantfleet_rollout_tenant (
			rollout_id BIGINT NOT NULL,
			tenant_id TEXT NOT NULL,
			wave INTEGER NOT NULL,
			status TEXT NOT NULL,
			from_version TEXT NOT NULL,
			planned INTEGER NOT NULL DEFAULT 0,
			changes TEXT NOT NULL DEFAULT '{}',
			replacements TEXT NOT NULL DEFAULT '[]',
			monthly_before DOUBLE PRECISION NOT NULL DEFAULT 0,
			monthly_after DOUBLE PRECISION NOT NULL DEFAULT 0,
			error TEXT NOT NULL DEFAULT '',
			generation BIGINT NOT NULL DEFAULT 0,
			updated_at BIGINT NOT NULL,
			PRIMARY KEY (rollout_id, tenant_id)
		)`,
		`CREATE INDEX IF NOT EXISTS tenantfleet_rollout_tenant_tenant ON tenantfleet_rollout_tenant (tenant_id)`,
		`CREATE TABLE IF NOT EXISTS tenantfleet_rollout_event (
			seq ` + serial + `,
			rollout_id BIGINT NOT NULL,
			at BIGINT NOT NULL,
			type TEXT NOT NULL,
			data TEXT NOT NULL
		)`,
		`CREATE INDEX IF NOT EXISTS tenantfleet_rollout_event_rollout ON tenantfleet_rollout_event (rollout_id, seq)`,
		`CREATE TABLE IF NOT EXISTS tenantfleet_drift_check (
			id ` + serial + `,
			state TEXT NOT NULL,
			selector TEXT NOT NULL,
			lease_owner TEXT NOT NULL DEFAULT '',
			lease_until BIGINT NOT NULL DEFAULT 0,
			started_at BIGINT NOT NULL,
			finished_at BIGINT
		)`,
		`CREATE TABLE IF NOT EXISTS tenantfleet_drift_result (
			check_id BIGINT NOT NULL,
			tenant_id TEXT NOT NULL,
			status TEXT NOT NULL,
			resources TEXT NOT NULL DEFAULT '[]',
			error TEXT NOT NULL DEFAULT '',
			checked_at BIGINT,
			PRIMARY KEY (check_id, tenant_id)
		)`,
		// The console's sessions, by the SHA-256 of the cookie's value.
		`CREATE TABLE IF NOT EXISTS tenantfleet_console_session (
			id_sum TEXT PRIMARY KEY,
			csrf TEXT NOT NULL,
			token_sum TEXT NOT NULL,
			created_at BIGINT NOT NULL,
			expires_at BIGINT NOT NULL,
			last_seen_at BIGINT NOT NULL
		)`,
	}
	for _, stmt := range stmts {
		if _, err := s.DB.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("migrate the job database (%s): %w", s.where, err)
		}
	}
	// Columns added after their table was first released: a database made
	// before gets them here.
	for _, c := range []addedColumn{
		{"tenantfleet_webhook_message", "tenant_id", "TEXT NOT NULL DEFAULT ''"},
		{"tenantfleet_webhook_message", "request_hash", "TEXT NOT NULL DEFAULT ''"},
		// The template version last applied, and the one the tenant's
		// current generation applies.
		{"tenantfleet_tenant", "template_version", "TEXT NOT NULL DEFAULT ''"},
		{"tenantfleet_tenant", "target_version", "TEXT NOT NULL DEFAULT ''"},
		{"tenantfleet_tenant", "max_attempts", "INTEGER NOT NULL DEFAULT 0"},
		{"tenantfleet_tenant", "refresh", "INTEGER NOT NULL DEFAULT 0"},
		{"tenantfleet_tenant", "monthly_cost", "DOUBLE PRECISION NOT NULL DEFAULT 0"},
		{"tenantfleet_tenant", "drift_status", "TEXT NOT NULL DEFAULT 'unchecked'"},
		{"tenantfleet_tenant", "drift_resources", "TEXT NOT NULL DEFAULT '[]'"},
		{"tenantfleet_tenant", "drift_error", "TEXT NOT NULL DEFAULT ''"},
		{"tenantfleet_tenant", "drift_checked_at", "BIGINT"},
		// The stack's resources after its last update (the console's
		// tenant page), and how long the tenant's provisioning took from
		// its signup (or retry) at provision_started_at to ready.
		{"tenantfleet_tenant", "resources", "TEXT NOT NULL DEFAULT '[]'"},
		{"tenantfleet_tenant", "provision_started_at", "BIGINT"},
		{"tenantfleet_tenant", "provision_seconds", "DOUBLE PRECISION"},
	} {
		if err := s.addColumn(ctx, c); err != nil {
			return fmt.Errorf("migrate the job database (%s): %w", s.where, err)
		}
	}
	// The console's charts read the last provisionings and signups.
	if _, err := s.DB.ExecContext(ctx, `CREATE INDEX IF NOT EXISTS tenantfleet_tenant_provision ON tenantfleet_tenant (provision_started_at)`); err != nil {
		return fmt.Errorf("migrate the job database (%s): %w", s.where, err)
	}
	return nil
}

// addedColumn is a column added to a table after its first release.
type addedColumn struct{ table, column, definition string }

// addColumn adds c unless the table has it. PostgreSQL says so itself (ADD
// COLUMN IF NOT EXISTS, safe when replicas migrate at once); SQLite, which
// one process uses, has no IF NOT EXISTS and reports a duplicate column.
func (s *Store) addColumn(ctx context.Context, c addedColumn) error {
	ifNotExists := ""
	if s.dialect == dialectPostgres {
		ifNotExists = "IF NOT EXISTS "
	}
	_, err := s.DB.ExecContext(ctx, fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s%s %s", c.table, ifNotExists, c.column, c.definition))
	if err != nil && !strings.Contains(err.Error(), "duplicate column name") {
		return fmt.Errorf("add %s.%s: %w", c.table, c.column, err)
	}
	return nil
}

func millis(t time.Time) int64 { return t.UnixMilli() }

func fromMillis(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := time.UnixMilli(v.Int64).UTC()
	return &t
}

func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.DB.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// isUniqueViolation reports a duplicate key (PostgreSQL 23505, or SQLite's).
func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23505"
	}
	return strings.Contains(err.Error(), "UNIQUE constraint failed")
}
