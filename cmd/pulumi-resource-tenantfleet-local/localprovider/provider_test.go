package localprovider

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/property"

	"github.com/tenantfleet/tenantfleet/internal/localcloud"
	"github.com/tenantfleet/tenantfleet/providers/local"
)

// These tests drive the provider as the engine does, through property maps,
// so secrets, unknowns and check failures are what the engine would see.

// engine calls the provider's methods the way its gRPC server does.
type engine struct{ p.Provider }

func server(t *testing.T, cloud localcloud.API) engine {
	t.Helper()
	prov, err := New(func(context.Context) (localcloud.API, error) { return cloud, nil })
	if err != nil {
		t.Fatal(err)
	}
	return engine{prov.WithDefaults()}
}

var bg = context.Background()

func (e engine) Check(req p.CheckRequest) (p.CheckResponse, error) { return e.Provider.Check(bg, req) }
func (e engine) Diff(req p.DiffRequest) (p.DiffResponse, error)    { return e.Provider.Diff(bg, req) }
func (e engine) Create(req p.CreateRequest) (p.CreateResponse, error) {
	return e.Provider.Create(bg, req)
}
func (e engine) Read(req p.ReadRequest) (p.ReadResponse, error) { return e.Provider.Read(bg, req) }
func (e engine) Update(req p.UpdateRequest) (p.UpdateResponse, error) {
	return e.Provider.Update(bg, req)
}

func urn(typ, name string) resource.URN {
	return resource.NewURN("dev", "tenantfleet", "", tokens.Type(typ), name)
}

func str(s string) property.Value { return property.New(s) }

func strMap(m map[string]string) property.Value {
	out := map[string]property.Value{}
	for k, v := range m {
		out[k] = str(v)
	}
	return property.New(out)
}

// TestSchemaMatchesTheAdapter checks the tokens the adapter registers exist,
// and the secrets are declared.
func TestSchemaMatchesTheAdapter(t *testing.T) {
	t.Parallel()

	spec, err := p.GetSchema(bg, Name, Version, server(t, newFakeCloud()).Provider)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	var schema struct {
		Name      string
		Version   string
		Resources map[string]struct {
			InputProperties map[string]struct{ Secret bool }
			Properties      map[string]struct{ Secret bool }
			RequiredInputs  []string
		}
	}
	if err := json.Unmarshal(raw, &schema); err != nil {
		t.Fatal(err)
	}
	if schema.Name != local.Package {
		t.Errorf("schema name %q, want %q", schema.Name, local.Package)
	}
	want := map[string][]string{
		local.DatabaseType:     {"name", "tags"},
		local.QueueType:        {"name", "maxDeliver", "ackWaitSeconds", "retentionSeconds", "tags"},
		local.TopicType:        {"name", "tags"},
		local.SubscriptionType: {"name", "topic", "queue", "tags"},
		local.ProcessType:      {"name", "image", "command", "web", "env", "secretEnv", "tags"},
	}
	for token, inputs := range want {
		r, ok := schema.Resources[token]
		if !ok {
			t.Errorf("the schema has no %s (resources: %v)", token, keys(schema.Resources))
			continue
		}
		for _, in := range inputs {
			if _, ok := r.InputProperties[in]; !ok {
				t.Errorf("%s has no input %s", token, in)
			}
		}
	}
	if !schema.Resources[local.DatabaseType].Properties["password"].Secret {
		t.Error("Database.password is not a secret output")
	}
	if !schema.Resources[local.ProcessType].InputProperties["secretEnv"].Secret {
		t.Error("Process.secretEnv is not a secret input")
	}
}

func keys[V any](m map[string]V) []string {
	out := []string{}
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestDatabasePasswordIsSecretAndKept(t *testing.T) {
	t.Parallel()

	cloud := newFakeCloud()
	s := server(t, cloud)
	u := urn(local.DatabaseType, "acme-db")
	inputs := property.NewMap(map[string]property.Value{"name": str("db_dev_acme"), "tags": strMap(map[string]string{"tenant": "acme"})})

	preview, err := s.Create(p.CreateRequest{Urn: u, Properties: inputs, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if pw := preview.Properties.Get("password"); !pw.IsComputed() {
		t.Errorf("preview password = %v, want unknown", pw)
	}
	if len(cloud.databases) != 0 {
		t.Fatal("preview created a database")
	}

	created, err := s.Create(p.CreateRequest{Urn: u, Properties: inputs})
	if err != nil {
		t.Fatal(err)
	}
	pw := created.Properties.Get("password")
	if !pw.Secret() || !pw.IsString() || len(pw.AsString()) < 24 {
		t.Fatalf("password = %v, want a secret string of 24+ characters", pw)
	}
	if host := created.Properties.Get("host"); host.Secret() || host.AsString() != "127.0.0.1" {
		t.Errorf("host = %v, want plain 127.0.0.1", host)
	}

	newInputs := inputs.Set("tags", strMap(map[string]string{"tenant": "acme", "stack": "dev"}))
	diff, err := s.Diff(p.DiffRequest{ID: created.ID, Urn: u, State: created.Properties, Inputs: newInputs})
	if err != nil {
		t.Fatal(err)
	}
	if !diff.HasChanges || diff.DetailedDiff["tags"].Kind != p.Update || diff.DeleteBeforeReplace {
		t.Errorf("tags diff = %+v, want an in-place update", diff)
	}
	// Previewing a tags change keeps the password (and what uses it) known.
	previewed, err := s.Update(p.UpdateRequest{ID: created.ID, Urn: u, State: created.Properties, Inputs: newInputs, OldInputs: inputs, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := previewed.Properties.Get("password"); got.IsComputed() || !got.Secret() || got.AsString() != pw.AsString() {
		t.Errorf("preview of a tags change: password = %v, want the known secret", got)
	}
	updated, err := s.Update(p.UpdateRequest{ID: created.ID, Urn: u, State: created.Properties, Inputs: newInputs, OldInputs: inputs})
	if err != nil {
		t.Fatal(err)
	}
	if got := updated.Properties.Get("password"); !got.Secret() || got.AsString() != pw.AsString() {
		t.Errorf("after update password = %v, want the same secret", got)
	}

	renamed := inputs.Set("name", str("db_dev_acme2"))
	diff, err = s.Diff(p.DiffRequest{ID: created.ID, Urn: u, State: updated.Properties, Inputs: renamed})
	if err != nil {
		t.Fatal(err)
	}
	if diff.DetailedDiff["name"].Kind != p.UpdateReplace || !diff.DeleteBeforeReplace {
		t.Errorf("rename diff = %+v, want a delete-before-replace on name", diff)
	}

	cloud.databases = map[string]localcloud.DatabaseSpec{}
	read, err := s.Read(p.ReadRequest{ID: created.ID, Urn: u, Properties: updated.Properties, Inputs: newInputs})
	if err != nil || read.ID != "" {
		t.Errorf("read of a dropped database: id %q, %v; want an empty id", read.ID, err)
	}
}

func TestProcessSecretsAndRefresh(t *testing.T) {
	t.Parallel()

	cloud := newFakeCloud()
	s := server(t, cloud)
	u := urn(local.ProcessType, "acme-web")
	inputs := property.NewMap(map[string]property.Value{
		"name":      str("dev-acme-web"),
		"image":     str("registry.example.com/tenant-app:1.0.0"),
		"web":       property.New(true),
		"env":       strMap(map[string]string{"TENANT_ID": "acme"}),
		"secretEnv": strMap(map[string]string{"DATABASE_PASSWORD": "s3cret"}).WithSecret(true),
	})
	created, err := s.Create(p.CreateRequest{Urn: u, Properties: inputs})
	if err != nil {
		t.Fatal(err)
	}
	if !created.Properties.Get("secretEnv").Secret() {
		t.Errorf("secretEnv output = %v, want a secret", created.Properties.Get("secretEnv"))
	}
	for _, k := range []string{"url", "port", "running", "env"} {
		if created.Properties.Get(k).Secret() {
			t.Errorf("%s became a secret; only secretEnv is", k)
		}
	}

	// Previewing an environment change keeps the URL known.
	changed := inputs.Set("env", strMap(map[string]string{"TENANT_ID": "acme", "FEATURE_FLAGS": "beta"}))
	previewed, err := s.Update(p.UpdateRequest{ID: created.ID, Urn: u, State: created.Properties, Inputs: changed, OldInputs: inputs, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if url := previewed.Properties.Get("url"); url.IsComputed() || url.AsString() != created.Properties.Get("url").AsString() {
		t.Errorf("preview of an env change: url = %v, want it known and unchanged", url)
	}

	cloud.kill("dev-acme-web")
	read, err := s.Read(p.ReadRequest{ID: created.ID, Urn: u, Properties: created.Properties, Inputs: inputs})
	if err != nil {
		t.Fatal(err)
	}
	if read.ID != created.ID || read.Properties.Get("running").AsBool() {
		t.Fatalf("refresh: id %q running %v; want the same id, running false", read.ID, read.Properties.Get("running"))
	}
	if !read.Properties.Get("secretEnv").Secret() {
		t.Error("refresh lost the secretness of secretEnv")
	}
	diff, err := s.Diff(p.DiffRequest{ID: created.ID, Urn: u, State: read.Properties, Inputs: inputs})
	if err != nil {
		t.Fatal(err)
	}
	if !diff.HasChanges || diff.DetailedDiff["running"].Kind != p.Update {
		t.Fatalf("diff after a refresh found it dead = %+v, want an update on running", diff)
	}
	healed, err := s.Update(p.UpdateRequest{ID: created.ID, Urn: u, State: read.Properties, Inputs: inputs, OldInputs: inputs})
	if err != nil {
		t.Fatal(err)
	}
	if !healed.Properties.Get("running").AsBool() || !cloud.running["dev-acme-web"] {
		t.Error("update did not restart the process")
	}
}

func TestCheckNamesTheField(t *testing.T) {
	t.Parallel()

	s := server(t, newFakeCloud())
	cases := []struct {
		name   string
		typ    string
		inputs map[string]property.Value
		field  string
		reason string
	}{
		{"bad name", local.TopicType, map[string]property.Value{"name": str("Events!")}, "name", "not a local cloud name"},
		{"too long", local.DatabaseType, map[string]property.Value{"name": str(strings.Repeat("a", 64))}, "name", "1 to 63"},
		{"missing image", local.ProcessType, map[string]property.Value{"name": str("w")}, "image", ""},
		{"zero deliveries", local.QueueType, map[string]property.Value{
			"name": str("q"), "maxDeliver": property.New(0.0), "ackWaitSeconds": property.New(30.0), "retentionSeconds": property.New(60.0),
		}, "maxDeliver", "at least 1"},
		{"variable in env and secretEnv", local.ProcessType, map[string]property.Value{
			"name": str("w"), "image": str("app:1"),
			"env":       strMap(map[string]string{"DATABASE_PASSWORD": "x"}),
			"secretEnv": strMap(map[string]string{"DATABASE_PASSWORD": "y"}).WithSecret(true),
		}, "secretEnv", "DATABASE_PASSWORD is also set in env"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()

			resp, err := s.Check(p.CheckRequest{Urn: urn(tc.typ, "x"), Inputs: property.NewMap(tc.inputs)})
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range resp.Failures {
				if f.Property == tc.field && strings.Contains(f.Reason, tc.reason) {
					return
				}
			}
			t.Errorf("failures %+v, want one on %s containing %q", resp.Failures, tc.field, tc.reason)
		})
	}

	// Unknown values (preview, before the topic exists) are not judged.
	resp, err := s.Check(p.CheckRequest{Urn: urn(local.SubscriptionType, "x"), Inputs: property.NewMap(map[string]property.Value{
		"name": str("s"), "topic": property.New(property.Computed), "queue": str("q"),
	})})
	if err != nil || len(resp.Failures) > 0 {
		t.Errorf("check with an unknown topic: %+v, %v; want no failures", resp.Failures, err)
	}
	// Check makes secretEnv a secret even when the program forgot to.
	resp, err = s.Check(p.CheckRequest{Urn: urn(local.ProcessType, "x"), Inputs: property.NewMap(map[string]property.Value{
		"name": str("w"), "image": str("app:1"), "secretEnv": strMap(map[string]string{"DATABASE_PASSWORD": "y"}),
	})})
	if err != nil || !resp.Inputs.Get("secretEnv").Secret() {
		t.Errorf("checked secretEnv = %v, %v; want a secret", resp.Inputs.Get("secretEnv"), err)
	}
}

func TestRuntimeErrorsNameTheField(t *testing.T) {
	t.Parallel()

	s := server(t, newFakeCloud())
	_, err := s.Create(p.CreateRequest{Urn: urn(local.ProcessType, "w"), Properties: property.NewMap(map[string]property.Value{
		"name": str("dev-acme-worker"), "image": str(" "),
	})})
	if err == nil || !strings.Contains(err.Error(), `put process "dev-acme-worker": image: must not be empty`) {
		t.Errorf("error = %v, want the runtime's message naming image", err)
	}
}
