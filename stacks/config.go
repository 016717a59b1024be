package stacks

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"

	"github.com/tenantfleet/tenantfleet/components"
)

// The stack config keys the program reads. A cloud reads its own
// tenantfleet:<cloud> object as well (for example tenantfleet:aws).
const (
	KeyCloud   = "tenantfleet:cloud"
	KeyTenants = "tenantfleet:tenants"
	KeyFanout  = "tenantfleet:fanout"
)

// Config is a stack's tenantfleet configuration.
type Config struct {
	Cloud   string
	Tenants []components.TenantSpec
	// Fanout is nil when the stack has none.
	Fanout *components.FanoutSpec
}

// LoadConfig reads the stack config. Unknown fields are errors, so a typo
// never silently falls back to a default; every error names the key.
func LoadConfig(ctx *pulumi.Context) (Config, error) {
	cfg := Config{Cloud: config.Get(ctx, KeyCloud)}
	if raw := config.Get(ctx, KeyTenants); raw != "" {
		if err := decodeStrict(raw, &cfg.Tenants); err != nil {
			return Config{}, fmt.Errorf("%s: %w", KeyTenants, err)
		}
	}
	if raw := config.Get(ctx, KeyFanout); raw != "" {
		cfg.Fanout = &components.FanoutSpec{}
		if err := decodeStrict(raw, cfg.Fanout); err != nil {
			return Config{}, fmt.Errorf("%s: %w", KeyFanout, err)
		}
	}
	return cfg, nil
}

func decodeStrict(raw string, v any) error {
	dec := json.NewDecoder(bytes.NewReader([]byte(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return fmt.Errorf("%s: must be a %s, got a %s", typeErr.Field, typeErr.Type, typeErr.Value)
		}
		return err
	}
	return nil
}

// Validate applies defaults and checks the whole stack against the cloud:
// every tenant, duplicate tenant ids, and the fanout. It returns every
// problem at once, each naming its config key, and changes nothing.
func (c *Config) Validate(cloud components.Adapter) error {
	var errs []error
	firstIndex := map[string]int{}
	ids := make([]string, 0, len(c.Tenants))
	for i := range c.Tenants {
		spec := c.Tenants[i].WithDefaults()
		c.Tenants[i] = spec
		prefix := fmt.Sprintf("%s[%d].", KeyTenants, i)
		if err := components.ValidateTenant(cloud, spec); err != nil {
			errs = append(errs, components.Prefix(prefix, err))
		}
		if first, dup := firstIndex[spec.ID]; dup {
			errs = append(errs, &components.FieldError{
				Field: prefix + "id", Value: spec.ID, Reason: fmt.Sprintf("is already used by %s[%d]", KeyTenants, first),
			})
			continue
		}
		firstIndex[spec.ID] = i
		ids = append(ids, spec.ID)
	}
	if c.Fanout != nil {
		if err := components.ValidateFanout(cloud, *c.Fanout, ids); err != nil {
			errs = append(errs, components.Prefix(KeyFanout+".", err))
		}
	}
	return errors.Join(errs...)
}

// configHeading starts every validation error of Load (see
// cli.isConfigError, which relies on it).
const configHeading = "invalid stack configuration"

// errorList formats joined errors one per line under a heading.
func errorList(heading string, err error) error {
	lines := strings.Split(err.Error(), "\n")
	return fmt.Errorf("%s:\n  %s", heading, strings.Join(lines, "\n  "))
}

// FlatConfig turns stack config as a Pulumi.<stack>.yaml holds it (key:
// value, objects and lists structured) into the form the engine hands a
// program: every value a string, structured ones as JSON.
func FlatConfig(cfg map[string]any) (map[string]string, error) {
	flat := make(map[string]string, len(cfg))
	for k, v := range cfg {
		if s, ok := v.(string); ok {
			flat[k] = s
			continue
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		flat[k] = string(b)
	}
	return flat, nil
}

// ConfigProblems renders an error of the program (Load's, possibly wrapped
// by the Pulumi SDK) on one line: its configuration problems, each naming
// its key, separated by "; ", without the heading and wrappers around them.
func ConfigProblems(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, configHeading+":"); i >= 0 {
		msg = msg[i+len(configHeading)+1:]
	}
	var parts []string
	for _, line := range strings.Split(msg, "\n") {
		line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "*"))
		if line != "" && !strings.HasSuffix(line, "error occurred:") && !strings.HasSuffix(line, "errors occurred:") {
			parts = append(parts, line)
		}
	}
	return strings.Join(parts, "; ")
}
