package localprovider

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"maps"

	"github.com/pulumi/pulumi-go-provider/infer"

	"github.com/tenantfleet/tenantfleet/internal/localcloud"
)

// Database is a PostgreSQL database and its login role (same name) on the
// runtime's loopback-only server. The password is generated at creation,
// kept across updates, and is a secret output.
type Database struct{ rt *runtime }

// DatabaseArgs are a Database's inputs.
type DatabaseArgs struct {
	Name string `pulumi:"name" provider:"replaceOnChanges"`
	Tags Tags   `pulumi:"tags,optional"`
}

// DatabaseState is a Database's state.
type DatabaseState struct {
	DatabaseArgs
	Host     string `pulumi:"host"`
	Port     int    `pulumi:"port"`
	User     string `pulumi:"user"`
	Password string `pulumi:"password" provider:"secret"`
}

// Annotate documents the resource in the schema.
func (d *Database) Annotate(a infer.Annotator) {
	a.Describe(d, "A PostgreSQL database and its login role of the same name on the local cloud's "+
		"loopback-only server. Only that role may connect. The password is generated at creation.")
}

// Annotate documents the inputs.
func (a *DatabaseArgs) Annotate(an infer.Annotator) {
	an.Describe(&a.Name, "The database and role name. Changing it replaces the database (its data is lost).")
	an.Describe(&a.Tags, "Ownership tags, recorded in the state only.")
}

// Annotate documents the outputs.
func (s *DatabaseState) Annotate(a infer.Annotator) {
	a.Describe(&s.Host, "The server's address: 127.0.0.1.")
	a.Describe(&s.Password, "The role's generated password (secret).")
}

// passwordBytes of randomness make a 32-character URL-safe password.
const passwordBytes = 24

func newPassword() (string, error) {
	b := make([]byte, passwordBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate database password: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Check validates the inputs.
func (*Database) Check(ctx context.Context, req infer.CheckRequest) (infer.CheckResponse[DatabaseArgs], error) {
	return check(ctx, req, func(c *checker, in DatabaseArgs) { c.name("name", in.Name) })
}

// Create creates the database with a new password.
func (d *Database) Create(ctx context.Context, req infer.CreateRequest[DatabaseArgs]) (infer.CreateResponse[DatabaseState], error) {
	if req.DryRun {
		return infer.CreateResponse[DatabaseState]{ID: req.Inputs.Name, Output: DatabaseState{DatabaseArgs: req.Inputs}}, nil
	}
	password, err := newPassword()
	if err != nil {
		return infer.CreateResponse[DatabaseState]{}, err
	}
	state, err := d.put(ctx, req.Inputs, password)
	if err != nil {
		return infer.CreateResponse[DatabaseState]{}, err
	}
	return infer.CreateResponse[DatabaseState]{ID: req.Inputs.Name, Output: state}, nil
}

// Update re-asserts the database with the password it already has.
func (d *Database) Update(ctx context.Context, req infer.UpdateRequest[DatabaseArgs, DatabaseState]) (infer.UpdateResponse[DatabaseState], error) {
	state := req.State
	state.DatabaseArgs = req.Inputs
	if req.DryRun {
		return infer.UpdateResponse[DatabaseState]{Output: state}, nil
	}
	password := req.State.Password
	if password == "" { // a state without one (imported): give it one now
		var err error
		if password, err = newPassword(); err != nil {
			return infer.UpdateResponse[DatabaseState]{}, err
		}
	}
	state, err := d.put(ctx, req.Inputs, password)
	if err != nil {
		return infer.UpdateResponse[DatabaseState]{}, err
	}
	return infer.UpdateResponse[DatabaseState]{Output: state}, nil
}

func (d *Database) put(ctx context.Context, in DatabaseArgs, password string) (DatabaseState, error) {
	var db localcloud.Database
	err := d.rt.call(ctx, func(api localcloud.API) (err error) {
		db, err = api.PutDatabase(ctx, localcloud.DatabaseSpec{Name: in.Name, Password: password})
		return err
	})
	if err != nil {
		return DatabaseState{}, fmt.Errorf("put database %q: %w", in.Name, err)
	}
	slog.Info("database ready", "name", db.Name, "port", db.Port)
	return DatabaseState{DatabaseArgs: in, Host: db.Host, Port: db.Port, User: db.User, Password: password}, nil
}

// Read refreshes the endpoint; an absent database is drift (empty ID).
func (d *Database) Read(ctx context.Context, req infer.ReadRequest[DatabaseArgs, DatabaseState]) (infer.ReadResponse[DatabaseArgs, DatabaseState], error) {
	var db localcloud.Database
	err := d.rt.call(ctx, func(api localcloud.API) (err error) {
		db, err = api.GetDatabase(ctx, req.ID)
		return err
	})
	if notFound(err) {
		return infer.ReadResponse[DatabaseArgs, DatabaseState]{}, nil
	}
	if err != nil {
		return infer.ReadResponse[DatabaseArgs, DatabaseState]{}, fmt.Errorf("get database %q: %w", req.ID, err)
	}
	state := req.State
	state.Name, state.Host, state.Port, state.User = db.Name, db.Host, db.Port, db.User
	return infer.ReadResponse[DatabaseArgs, DatabaseState]{ID: req.ID, Inputs: req.Inputs, State: state}, nil
}

// Delete drops the database and its role.
func (d *Database) Delete(ctx context.Context, req infer.DeleteRequest[DatabaseState]) (infer.DeleteResponse, error) {
	err := d.rt.call(ctx, func(api localcloud.API) error { return api.DeleteDatabase(ctx, req.ID) })
	if err != nil && !notFound(err) {
		return infer.DeleteResponse{}, fmt.Errorf("delete database %q: %w", req.ID, err)
	}
	return infer.DeleteResponse{}, nil
}

// Diff replaces on a new name; tags change in place.
func (*Database) Diff(_ context.Context, req infer.DiffRequest[DatabaseArgs, DatabaseState]) (infer.DiffResponse, error) {
	c := changes{}
	c.replace("name", req.State.Name != req.Inputs.Name)
	c.update("tags", !maps.Equal(req.State.Tags, req.Inputs.Tags))
	return c.response(), nil
}

// WireDependencies: every output follows the name only, so a tags change
// keeps the endpoint and password known in preview; the password is always secret.
func (*Database) WireDependencies(f infer.FieldSelector, args *DatabaseArgs, state *DatabaseState) {
	name := f.InputField(&args.Name).Computed()
	f.OutputField(&state.Host).DependsOn(name)
	f.OutputField(&state.Port).DependsOn(name)
	f.OutputField(&state.User).DependsOn(name)
	f.OutputField(&state.Password).DependsOn(name)
	f.OutputField(&state.Password).AlwaysSecret()
}
