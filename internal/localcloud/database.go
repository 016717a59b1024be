package localcloud

import (
	"context"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"
)

// databases manages tenant databases: a login role and a database of the
// same name that it owns and that only it may connect to.
type databases struct {
	pg    *postgresServer
	state *stateStore
	mu    sync.Mutex // serializes changes: CREATE ROLE races with itself
}

func (d *databases) describe(name string) Database {
	return Database{Name: name, User: name, Host: "127.0.0.1", Port: d.pg.port}
}

func (d *databases) put(ctx context.Context, spec DatabaseSpec) (Database, error) {
	if err := validateDatabaseSpec(spec); err != nil {
		return Database{}, err
	}
	password, err := passwordClause(spec.Password)
	if err != nil {
		return Database{}, fmt.Errorf("put database %q: %w", spec.Name, err)
	}
	ident := pgx.Identifier{spec.Name}.Sanitize()
	d.mu.Lock()
	defer d.mu.Unlock()
	err = d.pg.admin(ctx, func(conn *pgx.Conn) error {
		roleExists, dbExists, err := lookupDatabase(ctx, conn, spec.Name)
		if err != nil {
			return err
		}
		roleSQL := "CREATE ROLE " + ident
		if roleExists {
			roleSQL = "ALTER ROLE " + ident
		}
		// The statement carries a SCRAM verifier, not the password; its
		// text is never logged either way.
		roleSQL += " WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD " + password
		if _, err := conn.Exec(ctx, roleSQL); err != nil {
			return fmt.Errorf("create or alter role: %w", err)
		}
		if !dbExists {
			if _, err := conn.Exec(ctx, "CREATE DATABASE "+ident+" OWNER "+ident); err != nil {
				return fmt.Errorf("create database: %w", err)
			}
		} else if _, err := conn.Exec(ctx, "ALTER DATABASE "+ident+" OWNER TO "+ident); err != nil {
			return fmt.Errorf("alter database owner: %w", err)
		}
		for _, stmt := range []string{
			"REVOKE ALL ON DATABASE " + ident + " FROM PUBLIC",
			"GRANT CONNECT, TEMPORARY ON DATABASE " + ident + " TO " + ident,
		} {
			if _, err := conn.Exec(ctx, stmt); err != nil {
				return fmt.Errorf("set database privileges: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return Database{}, fmt.Errorf("put database %q: %w", spec.Name, err)
	}
	if err := d.state.update(func(st *desiredState) error {
		st.Databases[spec.Name] = struct{}{}
		return nil
	}); err != nil {
		return Database{}, fmt.Errorf("put database %q: %w", spec.Name, err)
	}
	return d.describe(spec.Name), nil
}

// get reports the database; it is absent (drift) when either the database
// or its role is gone.
func (d *databases) get(ctx context.Context, name string) (Database, error) {
	if err := validateName("name", name); err != nil {
		return Database{}, err
	}
	var found bool
	err := d.pg.admin(ctx, func(conn *pgx.Conn) error {
		roleExists, dbExists, err := lookupDatabase(ctx, conn, name)
		found = roleExists && dbExists
		return err
	})
	if err != nil {
		return Database{}, fmt.Errorf("get database %q: %w", name, err)
	}
	if !found {
		return Database{}, notFound("database", name)
	}
	return d.describe(name), nil
}

// delete drops the database (closing its connections) and its role; it
// succeeds when they are already gone.
func (d *databases) delete(ctx context.Context, name string) error {
	if err := validateName("name", name); err != nil {
		return err
	}
	ident := pgx.Identifier{name}.Sanitize()
	d.mu.Lock()
	defer d.mu.Unlock()
	err := d.pg.admin(ctx, func(conn *pgx.Conn) error {
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)"); err != nil {
			return fmt.Errorf("drop database: %w", err)
		}
		roleExists, _, err := lookupDatabase(ctx, conn, name)
		if err != nil || !roleExists {
			return err
		}
		// Privileges granted to the role elsewhere in this database would
		// block DROP ROLE.
		if _, err := conn.Exec(ctx, "DROP OWNED BY "+ident); err != nil {
			return fmt.Errorf("drop objects owned by the role: %w", err)
		}
		if _, err := conn.Exec(ctx, "DROP ROLE IF EXISTS "+ident); err != nil {
			return fmt.Errorf("drop role: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete database %q: %w", name, err)
	}
	if err := d.state.update(func(st *desiredState) error {
		delete(st.Databases, name)
		return nil
	}); err != nil {
		return fmt.Errorf("delete database %q: %w", name, err)
	}
	return nil
}

func lookupDatabase(ctx context.Context, conn *pgx.Conn, name string) (roleExists, dbExists bool, err error) {
	err = conn.QueryRow(ctx,
		`SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1),
		        EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&roleExists, &dbExists)
	if err != nil {
		return false, false, fmt.Errorf("look up role and database: %w", err)
	}
	return roleExists, dbExists, nil
}
