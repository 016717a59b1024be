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

// withInputs answers the state with new inputs, outputs kept (see state).
func (s DatabaseState) withInputs(in DatabaseArgs) DatabaseState { s.DatabaseArgs = in; return s }

// What infer finds on Database by type assertion, proved at compile time: a
// method whose signature drifted would otherwise be skipped silently.
var (
	_ infer.CustomResource[DatabaseArgs, DatabaseState]       = (*Database)(nil)
	_ infer.CustomCheck[DatabaseArgs]                         = (*Database)(nil)
	_ infer.CustomUpdate[DatabaseArgs, DatabaseState]         = (*Database)(nil)
	_ infer.CustomRead[DatabaseArgs, DatabaseState]           = (*Database)(nil)
	_ infer.CustomDelete[DatabaseState]                       = (*Database)(nil)
	_ infer.CustomDiff[DatabaseArgs, DatabaseState]           = (*Database)(nil)
	_ infer.ExplicitDependencies[DatabaseArgs, DatabaseState] = (*Database)(nil)
	_ infer.Annotated                                         = (*Database)(nil)
	_ infer.Annotated                                         = (*DatabaseArgs)(nil)
	_ infer.Annotated                                         = (*DatabaseState)(nil)
)

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
	return create(ctx, req, req.Inputs.Name, func(ctx context.Context, in DatabaseArgs) (DatabaseState, error) {
		password, err := newPassword()
		if err != nil {
			return DatabaseState{}, err
		}
		return d.put(ctx, in, password)
	})
}

// Update re-asserts the database with the password it already has.
func (d *Database) Update(ctx context.Context, req infer.UpdateRequest[DatabaseArgs, DatabaseState]) (infer.UpdateResponse[DatabaseState], error) {
	return update(ctx, req, func(ctx context.Context, in DatabaseArgs) (DatabaseState, error) {
		password := req.State.Password
		if password == "" { // a state without one (imported): give it one now
			var err error
			if password, err = newPassword(); err != nil {
				return DatabaseState{}, err
			}
		}
		return d.put(ctx, in, password)
	})
}

func (d *Database) put(ctx context.Context, in DatabaseArgs, password string) (DatabaseState, error) {
	db, err := fetch(ctx, d.rt, localcloud.API.PutDatabase, localcloud.DatabaseSpec{Name: in.Name, Password: password})
	if err != nil {
		return DatabaseState{}, fmt.Errorf("put database %q: %w", in.Name, err)
	}
	slog.Info("database ready", "name", db.Name, "port", db.Port)
	return DatabaseState{DatabaseArgs: in, Host: db.Host, Port: db.Port, User: db.User, Password: password}, nil
}

// Read refreshes the endpoint; an absent database is drift (empty ID).
func (d *Database) Read(ctx context.Context, req infer.ReadRequest[DatabaseArgs, DatabaseState]) (infer.ReadResponse[DatabaseArgs, DatabaseState], error) {
	return read(ctx, d.rt, "database", req, localcloud.API.GetDatabase, func(s DatabaseState, db localcloud.Database) DatabaseState {
		s.Name, s.Host, s.Port, s.User = db.Name, db.Host, db.Port, db.User
		return s
	})
}

// Delete drops the database and its role.
func (d *Database) Delete(ctx context.Context, req infer.DeleteRequest[DatabaseState]) (infer.DeleteResponse, error) {
	return remove(ctx, d.rt, "database", req.ID, localcloud.API.DeleteDatabase)
}

// Diff replaces on a new name; tags change in place.
func (*Database) Diff(_ context.Context, req infer.DiffRequest[DatabaseArgs, DatabaseState]) (infer.DiffResponse, error) {
	c := changes{}
	c.replace("name", req.State.Name != req.Inputs.Name)
	c.update("tags", !maps.Equal(req.State.Tags, req.Inputs.Tags))
	return c.response(), nil
}

// WireDependencies makes every output follow the name only, so a tags change
// keeps the endpoint and password known in preview; the password is always secret.
func (*Database) WireDependencies(f infer.FieldSelector, args *DatabaseArgs, state *DatabaseState) {
	name := f.InputField(&args.Name).Computed()
	f.OutputField(&state.Host).DependsOn(name)
	f.OutputField(&state.Port).DependsOn(name)
	f.OutputField(&state.User).DependsOn(name)
	f.OutputField(&state.Password).DependsOn(name)
	f.OutputField(&state.Password).AlwaysSecret()
}
