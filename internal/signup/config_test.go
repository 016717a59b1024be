package signup

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestTemplateDefaultCloudAndPlugins: the default cloud and the plugins a
// template needs come from the cloud registry, not from cloud names here.
func TestTemplateDefaultCloudAndPlugins(t *testing.T) {
	t.Parallel()
	every, err := LoadTemplate(exampleTemplate)
	if err != nil {
		t.Fatal(err)
	}
	if got := every.DefaultCloud(); got != "local" {
		t.Errorf("default cloud of %v = %s, want local (it needs no account)", every.CloudNames(), got)
	}
	if got := every.Plugins(); !slices.Equal(got, []string{"pulumi-resource-tenantfleet-local"}) {
		t.Errorf("plugins = %q, want the local cloud's", got)
	}

	path := filepath.Join(t.TempDir(), "template.yaml")
	if err := os.WriteFile(path, []byte("clouds:\n  gcp:\n    config: {}\n  aws:\n    config: {}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	accounts, err := LoadTemplate(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := accounts.DefaultCloud(); got != "aws" {
		t.Errorf("default cloud of %v = %s, want the first, aws", accounts.CloudNames(), got)
	}
	if got := accounts.Plugins(); len(got) != 0 {
		t.Errorf("plugins of aws and gcp = %q, want none", got)
	}
}

// TestConfigErrorsNameFieldsAndServeNamesFlags: Config's checks name the
// field; serve names the flag or variable that sets it.
func TestConfigErrorsNameFieldsAndServeNamesFlags(t *testing.T) {
	t.Parallel()
	cases := []struct {
		cfg        Config
		field      string
		serveSays  string
		errorsSays string
	}{
		{Config{Workers: -5, APITokens: []string{"t"}}, "Workers", "--concurrency: must be at least 1, got -5", "Config.Workers: must be at least 1"},
		{Config{Workers: -1, DefaultCloud: "mars", APITokens: []string{"t"}}, "DefaultCloud", `--cloud: "mars" is not in the template`, `Config.DefaultCloud: "mars"`},
		{Config{Workers: 2, APITokens: []string{"t"}}, "Engine", "Config.Engine: no engine runner configured", "Config.Engine"},
	}
	for _, tc := range cases {
		err := tc.cfg.setDefaults()
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Field != tc.field || !strings.Contains(err.Error(), tc.errorsSays) {
			t.Errorf("setDefaults(%+v) = %v, want a ConfigError of %s saying %q", tc.cfg, err, tc.field, tc.errorsSays)
			continue
		}
		if got := flagError(err).Error(); !strings.HasPrefix(got, tc.serveSays) {
			t.Errorf("serve says %q, want %q", got, tc.serveSays)
		}
	}

	// The defaults are the named ones.
	cfg := Config{Workers: -1, APITokens: []string{"t"}}
	if err := cfg.setDefaults(); err != nil {
		t.Fatal(err)
	}
	if cfg.StackPrefix != DefaultStackPrefix || cfg.MaxAttempts != DefaultMaxAttempts || cfg.OperationTimeout != DefaultOperationTimeout ||
		cfg.MaxBodyBytes != DefaultMaxBodyBytes || cfg.DefaultCloud != "local" {
		t.Errorf("defaults = %+v", cfg)
	}
}
