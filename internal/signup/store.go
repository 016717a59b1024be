package signup

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
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
			return nil, fmt.Errorf("--database-url: not a valid PostgreSQL URL: %s", redactURLError(err))
		}
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			return nil, fmt.Errorf("--database-url: %s", redactURLError(err))
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
			db.Close()
			return nil, fmt.Errorf("open the job database %s: %w", path, err)
		}
		if err := os.Chmod(path, 0o600); err != nil {
			db.Close()
			return nil, fmt.Errorf("restrict the job database %s to 0600: %w", path, err)
		}
		return &Store{DB: db, dialect: dialectSQLite, where: "sqlite " + path}, nil
	default:
		return nil, fmt.Errorf("--database-url: must be a postgres:// URL or sqlite:PATH, got a %q URL", schemeOf(databaseURL))
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
	} {
		if err := s.addColumn(ctx, c); err != nil {
			return fmt.Errorf("migrate the job database (%s): %w", s.where, err)
		}
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

const tenantColumns = `id, stack, cloud, region, tier, request, state, desired, generation, cancel_generation,
	delete_options, outputs, retained, attempts, last_error, job_id, lease_owner, created_at, updated_at, ready_at, deleted_at`

type rowScanner interface{ Scan(dest ...any) error }

func scanTenant(row rowScanner) (Tenant, error) {
	var (
		t                                   Tenant
		request, delOpts, outputs, retained string
		created, updated                    int64
		ready, deleted                      sql.NullInt64
	)
	err := row.Scan(&t.ID, &t.Stack, &t.Cloud, &t.Region, &t.Tier, &request, &t.State, &t.Desired, &t.Generation,
		&t.CancelGeneration, &delOpts, &outputs, &retained, &t.Attempts, &t.LastError, &t.JobID, &t.LeaseOwner, &created, &updated, &ready, &deleted)
	if err != nil {
		return Tenant{}, err
	}
	if err := json.Unmarshal([]byte(request), &t.Request); err != nil {
		return Tenant{}, fmt.Errorf("tenant %s: corrupt request: %w", t.ID, err)
	}
	if err := json.Unmarshal([]byte(delOpts), &t.DeleteOptions); err != nil {
		return Tenant{}, fmt.Errorf("tenant %s: corrupt delete options: %w", t.ID, err)
	}
	if err := json.Unmarshal([]byte(outputs), &t.Outputs); err != nil {
		return Tenant{}, fmt.Errorf("tenant %s: corrupt outputs: %w", t.ID, err)
	}
	if err := json.Unmarshal([]byte(retained), &t.Retained); err != nil {
		return Tenant{}, fmt.Errorf("tenant %s: corrupt retained list: %w", t.ID, err)
	}
	if len(t.Outputs) == 0 {
		t.Outputs = nil
	}
	t.CreatedAt = time.UnixMilli(created).UTC()
	t.UpdatedAt = time.UnixMilli(updated).UTC()
	t.ReadyAt = fromMillis(ready)
	t.DeletedAt = fromMillis(deleted)
	return t, nil
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Get returns the tenant with id, or ErrNotFound.
func (s *Store) Get(ctx context.Context, id string) (Tenant, error) {
	return s.get(ctx, s.DB, id)
}

func (s *Store) get(ctx context.Context, q querier, id string) (Tenant, error) {
	query := `SELECT ` + tenantColumns + ` FROM tenantfleet_tenant WHERE id = ?`
	if _, inTx := q.(*sql.Tx); inTx && s.dialect == dialectPostgres {
		// Read for update: a request's read-modify-write of the tenant (its
		// generation) and its events' order are serialised per tenant.
		// SQLite transactions are IMMEDIATE: one writer at a time already.
		query += ` FOR UPDATE`
	}
	t, err := scanTenant(q.QueryRowContext(ctx, s.q(query), id))
	if errors.Is(err, sql.ErrNoRows) {
		return Tenant{}, ErrNotFound
	}
	return t, err
}

// List returns up to limit tenants ordered by id, after the id after, in
// state when state is not empty.
func (s *Store) List(ctx context.Context, state State, after string, limit int) ([]Tenant, error) {
	query := `SELECT ` + tenantColumns + ` FROM tenantfleet_tenant WHERE id > ?`
	args := []any{after}
	if state != "" {
		query += ` AND state = ?`
		args = append(args, string(state))
	}
	query += ` ORDER BY id LIMIT ?`
	args = append(args, limit)
	return s.queryTenants(ctx, query, args...)
}

func (s *Store) queryTenants(ctx context.Context, query string, args ...any) ([]Tenant, error) {
	rows, err := s.DB.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Tenant
	for rows.Next() {
		t, err := scanTenant(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// CountByState counts the tenants in each state.
func (s *Store) CountByState(ctx context.Context) (map[State]int, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT state, COUNT(*) FROM tenantfleet_tenant GROUP BY state`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[State]int{}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, err
		}
		out[State(st)] = n
	}
	return out, rows.Err()
}

// Mutation is what a request needs besides its own change: the webhook
// message that carried it and the idempotency key.
//
// A webhook-id names one message, and a sender redelivers a message with
// the same id (a new timestamp and signature) after a timeout or a 5xx,
// until it gets a 2xx. So the id is the message's idempotency key: a
// redelivery of the same request is answered with the tenant as it is and
// changes nothing; the same id with another request is refused.
type Mutation struct {
	WebhookID string
	// WebhookRequest identifies the request the message carried (a hash
	// of its method, path and query, and body); see RequestDigest.
	WebhookRequest string
	IdempotencyKey string
}

// RequestDigest identifies a request by its method, path and query, and body.
func RequestDigest(method, requestURI string, body []byte) string {
	h := sha256.New()
	h.Write([]byte(method + " " + requestURI + "\n"))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// Enqueue inserts the job that carries out a tenant's new generation, in the
// transaction that records it; it returns the job's id.
type Enqueue func(ctx context.Context, tx *sql.Tx, tenantID string, generation int64) (int64, error)

// Signup records a signup and enqueues its job, in one transaction. It
// returns the tenant and whether a new generation was started (false: the
// same signup seen again, answered with the record as it is).
func (s *Store) Signup(ctx context.Context, req SignupRequest, stack string, m Mutation, enqueue Enqueue) (Tenant, bool, error) {
	reqJSON, err := json.Marshal(req)
	if err != nil {
		return Tenant{}, false, err
	}
	sum := sha256.Sum256(reqJSON)
	hash := hex.EncodeToString(sum[:])
	var (
		out     Tenant
		started bool
	)
	// Two first signups of one id (or one Idempotency-Key) at once on
	// PostgreSQL: the second's INSERT fails on the key; run it again, and
	// it finds the first's record.
	for try := 0; ; try++ {
		err = s.inTx(ctx, func(tx *sql.Tx) error {
			return s.signupTx(ctx, tx, req, reqJSON, hash, stack, m, enqueue, &out, &started)
		})
		if err == nil || try > 0 || !isUniqueViolation(err) {
			return out, started, err
		}
	}
}

// isUniqueViolation reports a duplicate key (PostgreSQL 23505, or SQLite's).
func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23505"
	}
	return strings.Contains(err.Error(), "UNIQUE constraint failed")
}

func (s *Store) signupTx(ctx context.Context, tx *sql.Tx, req SignupRequest, reqJSON []byte, hash, stack string, m Mutation,
	enqueue Enqueue, out *Tenant, started *bool) error {
	now := time.Now()
	if redelivered, err := s.seeWebhook(ctx, tx, m, req.ID, now); err != nil || redelivered {
		if err == nil {
			*out, err = s.get(ctx, tx, req.ID)
		}
		return err
	}
	if m.IdempotencyKey != "" {
		var tenantID, prevHash string
		err := tx.QueryRowContext(ctx, s.q(`SELECT tenant_id, request_hash FROM tenantfleet_idempotency_key WHERE key = ?`),
			m.IdempotencyKey).Scan(&tenantID, &prevHash)
		switch {
		case err == nil && prevHash != hash:
			return &ConflictError{Field: "Idempotency-Key", Reason: "Idempotency-Key was already used with a different request body"}
		case err == nil:
			*out, err = s.get(ctx, tx, tenantID)
			return err
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO tenantfleet_idempotency_key (key, tenant_id, request_hash, created_at) VALUES (?, ?, ?, ?)`),
			m.IdempotencyKey, req.ID, hash, millis(now)); err != nil {
			return err
		}
	}

	existing, err := s.get(ctx, tx, req.ID)
	switch {
	case errors.Is(err, ErrNotFound):
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO tenantfleet_tenant
			(id, stack, cloud, region, tier, request, state, desired, generation, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)`),
			req.ID, stack, req.Cloud, req.Region, req.Tier, string(reqJSON), string(StateQueued), string(DesiredPresent),
			millis(now), millis(now)); err != nil {
			return err
		}
		return s.startGeneration(ctx, tx, req.ID, 1, enqueue, out, started)
	case err != nil:
		return err
	}

	same := existing.Request == req
	switch {
	case existing.Desired == DesiredAbsent && existing.State != StateDeleted:
		return &ConflictError{Field: "id", Reason: fmt.Sprintf("tenant %s is being deleted (state %s); "+
			"sign it up again once GET /v1/tenants/%s says deleted", req.ID, existing.State, req.ID)}
	case existing.State == StateDeleted, existing.State == StateFailed && same:
		// A new life for a deleted tenant, or another try for a failed one.
		gen := existing.Generation + 1
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE tenantfleet_tenant SET cloud = ?, region = ?, tier = ?, request = ?,
			state = ?, desired = ?, generation = ?, attempts = 0, last_error = '', outputs = '{}', retained = '[]',
			delete_options = '{}', updated_at = ?, deleted_at = NULL, ready_at = NULL WHERE id = ?`),
			req.Cloud, req.Region, req.Tier, string(reqJSON), string(StateQueued), string(DesiredPresent), gen, millis(now), req.ID); err != nil {
			return err
		}
		return s.startGeneration(ctx, tx, req.ID, gen, enqueue, out, started)
	case !same:
		return &ConflictError{Field: differingField(existing.Request, req), Reason: fmt.Sprintf(
			"tenant %s already exists with %s; a signup is not an update", req.ID, describe(existing.Request))}
	default:
		*out = existing
		return nil
	}
}

func (s *Store) startGeneration(ctx context.Context, tx *sql.Tx, id string, gen int64, enqueue Enqueue, out *Tenant, started *bool) error {
	jobID, err := enqueue(ctx, tx, id, gen)
	if err != nil {
		return fmt.Errorf("enqueue the job for tenant %s: %w", id, err)
	}
	if _, err := tx.ExecContext(ctx, s.q(`UPDATE tenantfleet_tenant SET job_id = ? WHERE id = ?`), jobID, id); err != nil {
		return err
	}
	t, err := s.get(ctx, tx, id)
	if err != nil {
		return err
	}
	*out, *started = t, true
	return s.addEvents(ctx, tx, []Event{stateEvent(id, t.State, "")})
}

func differingField(a, b SignupRequest) string {
	switch {
	case a.Tier != b.Tier:
		return "tier"
	case a.Cloud != b.Cloud:
		return "cloud"
	default:
		return "region"
	}
}

func describe(r SignupRequest) string {
	s := fmt.Sprintf("tier %s on %s", r.Tier, r.Cloud)
	if r.Region != "" {
		s += " in " + r.Region
	}
	return s
}

// Delete records that a tenant is to be removed and enqueues the job, in
// one transaction. Deleting a deleted tenant changes nothing.
func (s *Store) Delete(ctx context.Context, id string, opts DeleteOptions, m Mutation, enqueue Enqueue) (Tenant, bool, error) {
	var (
		out     Tenant
		started bool
	)
	optsJSON, err := json.Marshal(opts)
	if err != nil {
		return Tenant{}, false, err
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		now := time.Now()
		redelivered, err := s.seeWebhook(ctx, tx, m, id, now)
		if err != nil {
			return err
		}
		t, err := s.get(ctx, tx, id)
		if err != nil {
			return err
		}
		if redelivered || t.State == StateDeleted || (t.Desired == DesiredAbsent && t.DeleteOptions == opts && !t.State.Settled()) {
			out = t
			return nil
		}
		gen := t.Generation + 1
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE tenantfleet_tenant SET state = ?, desired = ?, generation = ?,
			delete_options = ?, attempts = 0, last_error = '', updated_at = ? WHERE id = ?`),
			string(StateDeprovisioning), string(DesiredAbsent), gen, string(optsJSON), millis(now), id); err != nil {
			return err
		}
		return s.startGeneration(ctx, tx, id, gen, enqueue, &out, &started)
	})
	return out, started, err
}

// Cancel asks the operation running (or queued) for a tenant to stop; the
// job ends it and leaves the tenant failed with "cancelled". It returns the
// tenant and whether it asked (false: a redelivered webhook message,
// answered with the tenant as it is); ConflictError when nothing is in progress.
func (s *Store) Cancel(ctx context.Context, id string, m Mutation) (Tenant, bool, error) {
	var (
		out       Tenant
		cancelled bool
	)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		redelivered, err := s.seeWebhook(ctx, tx, m, id, time.Now())
		if err != nil {
			return err
		}
		t, err := s.get(ctx, tx, id)
		if err != nil {
			return err
		}
		if redelivered {
			out = t
			return nil
		}
		if t.State.Settled() {
			return &ConflictError{Reason: fmt.Sprintf("tenant %s is %s: no operation to cancel", id, t.State)}
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE tenantfleet_tenant SET cancel_generation = generation, updated_at = ? WHERE id = ?`),
			millis(time.Now()), id); err != nil {
			return err
		}
		cancelled = true
		out, err = s.get(ctx, tx, id)
		return err
	})
	return out, cancelled, err
}

// seeWebhook records the webhook message of m (none: nothing to do) for
// the request on tenant. redelivered is true when the message was received
// before with the same request: the caller answers with the tenant as it is
// and changes nothing. The same id with another request is a conflict
// naming webhook-id.
func (s *Store) seeWebhook(ctx context.Context, tx *sql.Tx, m Mutation, tenant string, now time.Time) (redelivered bool, err error) {
	if m.WebhookID == "" {
		return false, nil
	}
	res, err := tx.ExecContext(ctx, s.q(`INSERT INTO tenantfleet_webhook_message (id, received_at, tenant_id, request_hash)
		VALUES (?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`), m.WebhookID, millis(now), tenant, m.WebhookRequest)
	if err != nil {
		return false, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return false, err
	}
	var prevTenant, prevRequest string
	if err := tx.QueryRowContext(ctx, s.q(`SELECT tenant_id, request_hash FROM tenantfleet_webhook_message WHERE id = ?`),
		m.WebhookID).Scan(&prevTenant, &prevRequest); err != nil {
		return false, err
	}
	// A message recorded before requests were (empty) cannot be told apart: take it as the same.
	if (prevRequest != "" && prevRequest != m.WebhookRequest) || (prevTenant != "" && prevTenant != tenant) {
		return false, &ConflictError{Field: "webhook-id", Reason: "this webhook-id was already received with a different request: " +
			"a webhook-id names one message, and a redelivery carries the same request"}
	}
	return true, nil
}

// Prune forgets webhook ids received before cutoff and idempotency keys
// created before keysCutoff.
func (s *Store) Prune(ctx context.Context, cutoff, keysCutoff time.Time) error {
	if _, err := s.DB.ExecContext(ctx, s.q(`DELETE FROM tenantfleet_webhook_message WHERE received_at < ?`), millis(cutoff)); err != nil {
		return err
	}
	_, err := s.DB.ExecContext(ctx, s.q(`DELETE FROM tenantfleet_idempotency_key WHERE created_at < ?`), millis(keysCutoff))
	return err
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

// --- job side ---

// AcquireLease makes owner the only one working on the tenant until the
// lease ends (ttl from now) or is released. It succeeds when the lease is
// free, expired, already owner's, or held by one of steal (dead owners).
func (s *Store) AcquireLease(ctx context.Context, id, owner string, ttl time.Duration) (bool, error) {
	now := time.Now()
	res, err := s.DB.ExecContext(ctx, s.q(`UPDATE tenantfleet_tenant SET lease_owner = ?, lease_until = ?
		WHERE id = ? AND (lease_owner = '' OR lease_owner = ? OR lease_until < ?)`),
		owner, millis(now.Add(ttl)), id, owner, millis(now))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// RenewLease extends owner's lease; false when owner no longer holds it.
func (s *Store) RenewLease(ctx context.Context, id, owner string, ttl time.Duration) (bool, error) {
	res, err := s.DB.ExecContext(ctx, s.q(`UPDATE tenantfleet_tenant SET lease_until = ? WHERE id = ? AND lease_owner = ?`),
		millis(time.Now().Add(ttl)), id, owner)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// ReleaseLease frees owner's lease.
func (s *Store) ReleaseLease(ctx context.Context, id, owner string) error {
	_, err := s.DB.ExecContext(ctx, s.q(`UPDATE tenantfleet_tenant SET lease_owner = '', lease_until = 0 WHERE id = ? AND lease_owner = ?`), id, owner)
	return err
}

// ReleaseLeasesOf frees every lease held by owners whose name starts with
// prefix: a replica's dead predecessor (see Service). It returns the tenants.
func (s *Store) ReleaseLeasesOf(ctx context.Context, prefix string) ([]string, error) {
	// substr, not LIKE: '_' and '%' in a replica id are not wildcards.
	rows, err := s.DB.QueryContext(ctx, s.q(`SELECT id FROM tenantfleet_tenant WHERE substr(lease_owner, 1, ?) = ?`), len(prefix), prefix)
	if err != nil {
		return nil, err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	_, err = s.DB.ExecContext(ctx, s.q(`UPDATE tenantfleet_tenant SET lease_until = 0 WHERE substr(lease_owner, 1, ?) = ?`), len(prefix), prefix)
	return ids, err
}

// Unsettled returns the tenants with an operation pending whose lease is
// free or has expired: their job may have died with its replica.
func (s *Store) Unsettled(ctx context.Context) ([]Tenant, error) {
	return s.queryTenants(ctx, `SELECT `+tenantColumns+` FROM tenantfleet_tenant
		WHERE state IN (?, ?, ?) AND lease_until < ? ORDER BY id`,
		string(StateQueued), string(StateProvisioning), string(StateDeprovisioning), millis(time.Now()))
}

// Requeue enqueues another job for the tenant's current generation (its
// job died with its replica) and records it as the tenant's job.
func (s *Store) Requeue(ctx context.Context, id string, generation int64, enqueue Enqueue) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		jobID, err := enqueue(ctx, tx, id, generation)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.q(`UPDATE tenantfleet_tenant SET job_id = ? WHERE id = ? AND generation = ?`), jobID, id, generation)
		return err
	})
}

// Progress is a job's update of the tenant it works on. It applies only
// while the tenant is still at generation (a newer request supersedes it).
type Progress struct {
	State     State
	Attempts  int
	LastError *string
	Outputs   map[string]any
	Retained  []RetainedResource
	// Ready and Deleted stamp readyAt or deletedAt.
	Ready, Deleted bool
}

// Update applies p to the tenant if it is still at generation and records
// the state event. It reports whether it applied.
func (s *Store) Update(ctx context.Context, id string, generation int64, p Progress) (bool, error) {
	applied := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		now := millis(time.Now())
		sets := []string{"state = ?", "attempts = ?", "updated_at = ?"}
		args := []any{string(p.State), p.Attempts, now}
		if p.LastError != nil {
			sets = append(sets, "last_error = ?")
			args = append(args, *p.LastError)
		}
		if p.Outputs != nil {
			b, err := json.Marshal(p.Outputs)
			if err != nil {
				return err
			}
			sets = append(sets, "outputs = ?")
			args = append(args, string(b))
		}
		if p.Retained != nil {
			b, err := json.Marshal(p.Retained)
			if err != nil {
				return err
			}
			sets = append(sets, "retained = ?")
			args = append(args, string(b))
		}
		if p.Ready {
			sets = append(sets, "ready_at = ?")
			args = append(args, now)
		}
		if p.Deleted {
			sets = append(sets, "deleted_at = ?", "outputs = '{}'")
			args = append(args, now)
		}
		args = append(args, id, generation)
		res, err := tx.ExecContext(ctx, s.q(`UPDATE tenantfleet_tenant SET `+strings.Join(sets, ", ")+` WHERE id = ? AND generation = ?`), args...)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil || n == 0 {
			return err
		}
		applied = true
		msg := ""
		if p.LastError != nil {
			msg = *p.LastError
		}
		return s.addEvents(ctx, tx, []Event{stateEvent(id, p.State, msg)})
	})
	return applied, err
}

func stateEvent(id string, st State, msg string) Event {
	data := map[string]string{"state": string(st)}
	if msg != "" {
		data["error"] = msg
	}
	b, _ := json.Marshal(data)
	return Event{TenantID: id, At: time.Now(), Type: EventState, Data: b}
}

// AddEvents appends events to their tenants' logs.
func (s *Store) AddEvents(ctx context.Context, events []Event) error {
	if len(events) == 0 {
		return nil
	}
	return s.inTx(ctx, func(tx *sql.Tx) error { return s.addEvents(ctx, tx, events) })
}

func (s *Store) addEvents(ctx context.Context, tx *sql.Tx, events []Event) error {
	if s.dialect == dialectPostgres {
		// Take the tenants' row locks (held by a request or a state update
		// until it commits) so that event numbers are handed out in commit
		// order: a stream that has read seq n never misses a later-committed n-1.
		locked := map[string]bool{}
		for _, e := range events {
			if !locked[e.TenantID] {
				locked[e.TenantID] = true
				if _, err := tx.ExecContext(ctx, `SELECT 1 FROM tenantfleet_tenant WHERE id = $1 FOR UPDATE`, e.TenantID); err != nil {
					return err
				}
			}
		}
	}
	for _, e := range events {
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO tenantfleet_event (tenant_id, at, type, data) VALUES (?, ?, ?, ?)`),
			e.TenantID, millis(e.At), e.Type, string(e.Data)); err != nil {
			return err
		}
	}
	return nil
}

// Events returns up to limit of the tenant's events after seq, oldest first.
func (s *Store) Events(ctx context.Context, id string, after int64, limit int) ([]Event, error) {
	rows, err := s.DB.QueryContext(ctx, s.q(`SELECT seq, tenant_id, at, type, data FROM tenantfleet_event
		WHERE tenant_id = ? AND seq > ? ORDER BY seq LIMIT ?`), id, after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var (
			e    Event
			at   int64
			data string
		)
		if err := rows.Scan(&e.Seq, &e.TenantID, &at, &e.Type, &data); err != nil {
			return nil, err
		}
		e.At = time.UnixMilli(at).UTC()
		e.Data = json.RawMessage(data)
		out = append(out, e)
	}
	return out, rows.Err()
}

// EngineRun is an engine process a replica started for a tenant.
type EngineRun struct {
	TenantID, Replica, Host string
	PID                     int
}

// RecordEngine remembers that replica started engine process pid on host
// for the tenant.
func (s *Store) RecordEngine(ctx context.Context, r EngineRun) error {
	_, err := s.DB.ExecContext(ctx, s.q(`INSERT INTO tenantfleet_engine_run (tenant_id, replica, host, pid, started_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (tenant_id, host, pid) DO NOTHING`), r.TenantID, r.Replica, r.Host, r.PID, millis(time.Now()))
	return err
}

// EngineRuns returns the engine processes recorded for the tenant.
func (s *Store) EngineRuns(ctx context.Context, id string) ([]EngineRun, error) {
	rows, err := s.DB.QueryContext(ctx, s.q(`SELECT tenant_id, replica, host, pid FROM tenantfleet_engine_run WHERE tenant_id = ?`), id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []EngineRun
	for rows.Next() {
		var r EngineRun
		if err := rows.Scan(&r.TenantID, &r.Replica, &r.Host, &r.PID); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// ForgetEngine drops the record of an engine process that has ended.
func (s *Store) ForgetEngine(ctx context.Context, id, host string, pid int) error {
	_, err := s.DB.ExecContext(ctx, s.q(`DELETE FROM tenantfleet_engine_run WHERE tenant_id = ? AND host = ? AND pid = ?`), id, host, pid)
	return err
}
