package local_test

import (
	"context"
	"strings"
	"testing"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"

	"github.com/tenantfleet/tenantfleet/cmd/pulumi-resource-tenantfleet-local/localprovider"
	"github.com/tenantfleet/tenantfleet/internal/localcloud"
	"github.com/tenantfleet/tenantfleet/providers/local"
	"github.com/tenantfleet/tenantfleet/providers/rules"
)

// pluginCheckRules run the provider plugin's own Check on a resource's
// inputs, as the engine does before every create and update: the
// provider's validation run, not transcribed. Check needs no runtime.
func pluginCheckRules() []rules.Rule {
	prov, err := localprovider.New(func(context.Context) (localcloud.API, error) {
		panic("Check must not need the runtime")
	})
	if err != nil {
		panic(err)
	}
	prov = prov.WithDefaults()
	var out []rules.Rule
	for _, typ := range []string{local.DatabaseType, local.QueueType, local.TopicType, local.SubscriptionType, local.ProcessType} {
		out = append(out, rules.Rule{
			Type: typ,
			Check: rules.Func("the plugin's Check accepts the inputs", func(v resource.PropertyValue) string {
				resp, err := prov.Check(context.Background(), p.CheckRequest{
					Urn:    resource.NewURN("conformance", "tenantfleet", "", tokens.Type(typ), "r"),
					Inputs: resource.FromResourcePropertyMap(v.ObjectValue()),
				})
				if err != nil {
					return "Check failed: " + err.Error()
				}
				var failures []string
				for _, f := range resp.Failures {
					failures = append(failures, f.Property+": "+f.Reason)
				}
				return strings.Join(failures, "; ")
			}),
			Source: "cmd/pulumi-resource-tenantfleet-local/localprovider (the plugin's Check, run)",
		})
	}
	return out
}

// TestRulesBite: names the runtime refuses are reported by the transcribed
// rules and by the plugin's own Check.
func TestRulesBite(t *testing.T) {
	t.Parallel()

	cases := []struct {
		typ    string
		inputs map[string]any
		want   []string // substrings of the violations, in any order
		reason string
	}{
		{local.DatabaseType, map[string]any{"name": "Bad Name"}, []string{"does not match", "is not a local cloud name"}, "capitals and spaces"},
		{local.DatabaseType, map[string]any{"name": "pg_stats"}, []string{"starts with pg_"}, "PostgreSQL's prefix"},
		{local.QueueType, map[string]any{"name": "q", "maxDeliver": 0, "ackWaitSeconds": 30, "retentionSeconds": 60}, []string{"maxDeliver"}, "no delivery at all"},
		{local.DatabaseType, map[string]any{"name": "dev_acme_db_1a2b3c4d"}, nil, "what the adapter registers"},
	}
	rs := append(local.Rules, pluginCheckRules()...)
	for _, tc := range cases {
		got := rules.Evaluate(rs, tc.typ, resource.NewPropertyMapFromMap(tc.inputs))
		var text []string
		for _, v := range got {
			text = append(text, v.String())
		}
		all := strings.Join(text, "\n")
		if len(tc.want) == 0 && len(got) > 0 {
			t.Errorf("%s: %v, want none (%s)", tc.reason, all, tc.reason)
		}
		for _, w := range tc.want {
			if !strings.Contains(all, w) {
				t.Errorf("%s: violations %q lack %q", tc.reason, all, w)
			}
		}
	}
}
