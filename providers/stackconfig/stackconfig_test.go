package stackconfig_test

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/providers/conformance"
	"github.com/tenantfleet/tenantfleet/providers/stackconfig"
)

type settings struct {
	Region string `json:"region"`
	Nodes  int    `json:"nodes"`
}

func decode(t *testing.T, raw string) (settings, error) {
	t.Helper()
	if raw != "" {
		t.Setenv(pulumi.EnvConfig, `{"tenantfleet:test":`+raw+`}`)
	}
	var s settings
	var err error
	if runErr := pulumi.RunErr(func(ctx *pulumi.Context) error {
		err = stackconfig.Decode(ctx, "tenantfleet:test", &s)
		return nil
	}, pulumi.WithMocks("p", "s", conformance.Mocks{})); runErr != nil {
		t.Fatal(runErr)
	}
	return s, err
}

//nolint:paralleltest // decode passes the config through PULUMI_CONFIG with t.Setenv, as the engine does.
func TestDecode(t *testing.T) {
	if s, err := decode(t, ""); err != nil || s != (settings{}) {
		t.Errorf("unset key: got %+v, %v; want zero, nil", s, err)
	}
	if s, err := decode(t, `"{\"region\":\"fra1\",\"nodes\":3}"`); err != nil || s != (settings{"fra1", 3}) {
		t.Errorf("valid: got %+v, %v", s, err)
	}
	for raw, want := range map[string]string{
		`"{\"regoin\":\"fra1\"}"`: `unknown field "regoin"`,
		`"{\"nodes\":\"three\"}"`: "settings.nodes of type int",
		`"{\"region\":\"a\"} {}"`: "more than one JSON value",
		`"{\"region\":"`:          "unexpected EOF",
	} {
		_, err := decode(t, raw)
		if err == nil || !strings.Contains(err.Error(), "tenantfleet:test: ") || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want an error naming the key and containing %q", raw, err, want)
		}
	}
}
