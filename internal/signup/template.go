package signup

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"gopkg.in/yaml.v3"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/providers"
	"github.com/tenantfleet/tenantfleet/stacks"
)

// defaultTemplate provisions on the local cloud with the example app, which
// `make build` puts in bin/images.
//
//go:embed template.yaml
var defaultTemplate []byte

// Template is what every tenant stack the service creates is made of: per
// cloud, the stack config besides the tenant (regions, the cloud's
// tenantfleet:<cloud> settings), and the tenant spec every signup starts
// from (images, sizes). A signup fills in the id and the database tier, and
// may choose the cloud and region.
type Template struct {
	// Clouds maps each cloud a signup may choose to its stack config.
	Clouds map[string]CloudTemplate `yaml:"clouds" json:"clouds"`
	// Tenant is the spec every tenant starts from (components.TenantSpec).
	Tenant map[string]any `yaml:"tenant" json:"tenant"`
	// source names the template for messages.
	source string
}

// CloudTemplate is one cloud's part of the template.
type CloudTemplate struct {
	// Config is stack config (key: value), as in a Pulumi.<stack>.yaml.
	Config map[string]any `yaml:"config" json:"config,omitempty"`
	// Tenant is merged over the template's tenant spec for this cloud
	// (objects field by field, anything else replaced): images and ports
	// often differ per cloud.
	Tenant map[string]any `yaml:"tenant" json:"tenant,omitempty"`
}

// LoadTemplate reads the template file at path, or the embedded default
// (the local cloud) when path is "". Its errors are ConfigErrors of the
// field Template, naming the file and the key.
func LoadTemplate(path string) (*Template, error) {
	raw, source := defaultTemplate, "the built-in template"
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, &ConfigError{Field: "Template", Err: err}
		}
		raw, source = b, path
	}
	var t Template
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&t); err != nil {
		return nil, configErrorf("Template", "%s: %w", source, err)
	}
	t.source = source
	if len(t.Clouds) == 0 {
		return nil, configErrorf("Template", "%s: clouds: name at least one cloud (valid clouds are %s)", source, strings.Join(providers.Names(), ", "))
	}
	for name, c := range t.Clouds {
		if !slices.Contains(providers.Names(), name) {
			return nil, configErrorf("Template", "%s: clouds.%s: unknown cloud; valid clouds are %s", source, name, strings.Join(providers.Names(), ", "))
		}
		for key := range c.Config {
			switch key {
			case stacks.KeyCloud, stacks.KeyTenants, stacks.KeyFanout:
				return nil, configErrorf("Template", "%s: clouds.%s.config.%s: set by the service for every tenant; remove it", source, name, key)
			}
			if !strings.Contains(key, ":") {
				return nil, configErrorf("Template", "%s: clouds.%s.config.%s: config keys are namespaced (for example aws:region)", source, name, key)
			}
		}
	}
	if _, ok := t.Tenant["id"]; ok {
		return nil, configErrorf("Template", "%s: tenant.id: set by each signup; remove it", source)
	}
	for name, c := range t.Clouds {
		if _, ok := c.Tenant["id"]; ok {
			return nil, configErrorf("Template", "%s: clouds.%s.tenant.id: set by each signup; remove it", source, name)
		}
	}
	return &t, nil
}

// CloudNames lists the template's clouds, sorted.
func (t *Template) CloudNames() []string {
	names := make([]string, 0, len(t.Clouds))
	for n := range t.Clouds {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// DefaultCloud is the cloud of a signup that names none: the first of the
// template's clouds that needs no account (providers.Cloud.Embedded), else
// its first.
func (t *Template) DefaultCloud() string {
	names := t.CloudNames()
	for _, name := range names {
		if c, err := providers.Lookup(name); err == nil && c.Embedded {
			return name
		}
	}
	return names[0]
}

// Plugins are the provider plugins the template's clouds need besides what
// the engine installs (providers.Cloud.Plugin).
func (t *Template) Plugins() []string {
	var plugins []string
	for _, name := range t.CloudNames() {
		if c, err := providers.Lookup(name); err == nil && c.Plugin != "" && !slices.Contains(plugins, c.Plugin) {
			plugins = append(plugins, c.Plugin)
		}
	}
	return plugins
}

// StackConfig is the config of the tenant's stack: the template's for the
// cloud, the tenant spec with the signup's id and tier, and the region.
// It fails with a *RequestError naming the field for what the signup got wrong.
func (t *Template) StackConfig(req Request) (map[string]any, error) {
	cloud, ok := t.Clouds[req.Cloud]
	if !ok {
		return nil, &RequestError{Field: "cloud", Reason: fmt.Sprintf("%q is not offered; choose one of %s",
			req.Cloud, strings.Join(t.CloudNames(), ", "))}
	}
	cfg := deepCopy(cloud.Config)
	if req.Region != "" && !providers.SetRegion(cfg, req.Cloud, req.Region) {
		return nil, &RequestError{Field: "region", Reason: fmt.Sprintf("the %s cloud has no regions; leave region out", req.Cloud)}
	}
	tenant := merge(deepCopy(t.Tenant), deepCopy(cloud.Tenant))
	tenant["id"] = req.ID
	db, _ := tenant["database"].(map[string]any)
	if db == nil {
		db = map[string]any{}
	}
	db["tier"] = req.Tier
	tenant["database"] = db
	cfg[stacks.KeyCloud] = req.Cloud
	cfg[stacks.KeyTenants] = []any{tenant}
	return cfg, nil
}

// merge sets over's fields on base, recursing into objects both have.
func merge(base, over map[string]any) map[string]any {
	for k, v := range over {
		if sub, ok := v.(map[string]any); ok {
			if into, ok := base[k].(map[string]any); ok {
				base[k] = merge(into, sub)
				continue
			}
		}
		base[k] = v
	}
	return base
}

func deepCopy(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err) // the maps come from YAML and JSON: always marshal
	}
	out := map[string]any{}
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return out
}

// RequestError is a request the service refuses: Field names the body
// field, query parameter or header at fault.
type RequestError struct {
	Field  string
	Reason string
}

func (e *RequestError) Error() string { return e.Field + ": " + e.Reason }

// Check runs the tenant program's validation (stacks.Load) on the stack
// config, with Pulumi's mocks for a context, so that what the cloud's adapter refuses (a region of the
// wrong form, a spec the cloud cannot honour) is refused at signup, before a
// job exists. Errors about the region name the region field; any other is
// the template's fault (the operator's, not the caller's).
func Check(ctx context.Context, stack string, cfg map[string]any) error {
	flat, err := stacks.FlatConfig(cfg)
	if err != nil {
		return err
	}
	info := pulumi.RunInfo{Project: "tenantfleet", Stack: stack, Config: flat, DryRun: true}
	pulumi.WithMocks("tenantfleet", stack, checkMocks{})(&info)
	pctx, err := pulumi.NewContext(ctx, info)
	if err != nil {
		return err
	}
	_, _, err = stacks.Load(pctx)
	if err == nil {
		return nil
	}
	msg := stacks.ConfigProblems(err)
	for _, cloud := range providers.Names() {
		for _, key := range providers.RegionKeys(cloud) {
			if strings.Contains(msg, key) {
				return &RequestError{Field: "region", Reason: msg}
			}
		}
	}
	var fe *components.FieldError
	if errors.As(err, &fe) && strings.HasSuffix(fe.Field, "database.tier") {
		return &RequestError{Field: "tier", Reason: fe.Reason}
	}
	return &TemplateError{Err: errors.New(msg)}
}

// TemplateError is a stack config the program refuses for a reason the
// signup did not cause: the operator's template is wrong.
type TemplateError struct{ Err error }

func (e *TemplateError) Error() string {
	return "the service's tenant template is invalid: " + e.Err.Error()
}
func (e *TemplateError) Unwrap() error { return e.Err }

// checkMocks stands in for the engine: validation registers nothing.
type checkMocks struct{}

func (checkMocks) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	return args.Name + "_id", args.Inputs, nil
}

func (checkMocks) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	return args.Args, nil
}
