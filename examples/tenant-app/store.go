package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Event is one row of the events table.
type Event struct {
	ID         int64           `json:"id"`
	ReceivedAt time.Time       `json:"receivedAt"`
	Subject    string          `json:"subject"`
	Body       string          `json:"body"`
	Attributes json.RawMessage `json:"attributes"`
}

// Store is what the web app and the worker need from the database; tests use
// an in-memory one.
type Store interface {
	Ping(ctx context.Context) error
	Insert(ctx context.Context, subject, body string, attributes map[string]string) (int64, error)
	Count(ctx context.Context) (int64, error)
	Recent(ctx context.Context, limit int) ([]Event, error)
}

const schemaSQL = `CREATE TABLE IF NOT EXISTS events (
	id          bigserial PRIMARY KEY,
	received_at timestamptz NOT NULL DEFAULT now(),
	subject     text NOT NULL,
	body        text NOT NULL,
	attributes  jsonb NOT NULL DEFAULT '{}'::jsonb
)`

// schemaLockKey serialises CREATE TABLE between the web app and the worker,
// which start together: two concurrent CREATE TABLE IF NOT EXISTS can still
// collide on the catalog's unique index.
const schemaLockKey = 0x74656e616e74 // "tenant"

// pgStore is a Store on PostgreSQL: a small fixed set of pgx connections,
// each (re)connected lazily, so the process starts and stays up while the
// database is briefly unreachable. (pgxpool would do the same; it needs
// github.com/jackc/puddle/v2, which is not in this module's go.sum.)
type pgStore struct {
	cfg   *pgx.ConnConfig
	slots chan *pgx.Conn // one entry per connection; nil = not connected
}

// connString builds a libpq keyword/value connection string from the
// contract's parts. It contains the password: never log it.
func connString(d DBConfig, appName string) string {
	q := func(v string) string {
		return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
	}
	return strings.Join([]string{
		"host=" + q(d.Host),
		"port=" + strconv.Itoa(d.Port),
		"dbname=" + q(d.Name),
		"user=" + q(d.User),
		"password=" + q(d.Password),
		"sslmode=" + q(d.SSLMode),
		"application_name=" + q(appName),
		"connect_timeout=10",
	}, " ")
}

func newPGStore(d DBConfig, appName string, conns int) (*pgStore, error) {
	cfg, err := pgx.ParseConfig(connString(d, appName))
	if err != nil {
		// pgconn redacts the password in its parse errors; the connection
		// string itself is never part of what we return.
		return nil, fmt.Errorf("database settings: %w", err)
	}
	s := &pgStore{cfg: cfg, slots: make(chan *pgx.Conn, conns)}
	for range conns {
		s.slots <- nil
	}
	return s, nil
}

// do runs fn on a connection. When a connection reused from an earlier call
// turns out to have died while idle (a database restart or failover), fn runs
// once more on a fresh one: always for reads, for writes only when pgx says
// nothing was sent.
func (s *pgStore) do(ctx context.Context, idempotent bool, fn func(*pgx.Conn) error) error {
	var c *pgx.Conn
	select {
	case c = <-s.slots:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() {
		if c != nil && c.IsClosed() {
			c = nil
		}
		s.slots <- c
	}()
	reused := c != nil && !c.IsClosed()
	if !reused {
		var err error
		if c, err = s.connect(ctx); err != nil {
			return err
		}
	}
	err := fn(c)
	if err != nil && reused && c.IsClosed() && ctx.Err() == nil && (idempotent || pgconn.SafeToRetry(err)) {
		if c, err = s.connect(ctx); err != nil {
			return err
		}
		err = fn(c)
	}
	return err
}

func (s *pgStore) connect(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, s.cfg)
	if err != nil {
		return nil, err
	}
	if err := ensureSchema(ctx, conn); err != nil {
		_ = conn.Close(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("creating table events: %w", err)
	}
	return conn, nil
}

func ensureSchema(ctx context.Context, c *pgx.Conn) error {
	return pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(schemaLockKey)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, schemaSQL)
		return err
	})
}

func (s *pgStore) Ping(ctx context.Context) error {
	return s.do(ctx, true, func(c *pgx.Conn) error { return c.Ping(ctx) })
}

func (s *pgStore) Insert(ctx context.Context, subject, body string, attributes map[string]string) (int64, error) {
	if attributes == nil {
		attributes = map[string]string{}
	}
	attrs, err := json.Marshal(attributes)
	if err != nil {
		return 0, err
	}
	var id int64
	err = s.do(ctx, false, func(c *pgx.Conn) error {
		return c.QueryRow(ctx,
			`INSERT INTO events (subject, body, attributes) VALUES ($1, $2, $3::jsonb) RETURNING id`,
			pgText(subject), pgText(body), string(attrs)).Scan(&id)
	})
	return id, err
}

func (s *pgStore) Count(ctx context.Context) (int64, error) {
	var n int64
	err := s.do(ctx, true, func(c *pgx.Conn) error {
		return c.QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&n)
	})
	return n, err
}

func (s *pgStore) Recent(ctx context.Context, limit int) ([]Event, error) {
	var out []Event
	err := s.do(ctx, true, func(c *pgx.Conn) error {
		rows, err := c.Query(ctx,
			`SELECT id, received_at, subject, body, attributes::text FROM events ORDER BY id DESC LIMIT $1`, limit)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Event, error) {
			var e Event
			var attrs string
			err := r.Scan(&e.ID, &e.ReceivedAt, &e.Subject, &e.Body, &attrs)
			e.Attributes = json.RawMessage(attrs)
			return e, err
		})
		return err
	})
	return out, err
}

// Close closes every connection, waiting for those in use (bounded by ctx).
func (s *pgStore) Close(ctx context.Context) {
	for range cap(s.slots) {
		select {
		case c := <-s.slots:
			if c != nil {
				_ = c.Close(ctx)
			}
		case <-ctx.Done():
			return
		}
	}
}

// pgText makes arbitrary message bytes storable as PostgreSQL text, which
// must be valid UTF-8 without NUL bytes.
func pgText(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}
