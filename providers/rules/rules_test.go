package rules

import (
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

func inputs() resource.PropertyMap {
	return resource.NewPropertyMapFromMap(map[string]any{
		"description": "reachable from the tenant's tasks only",
		"ingress": []any{
			map[string]any{"description": "PostgreSQL from the tasks", "fromPort": 5432},
			map[string]any{"description": "it's mine", "fromPort": 70000},
		},
		"tags": map[string]any{"tenantfleet:stack": "dev", "bad key!": "v"},
		"name": "user",
	})
}

func TestSelect(t *testing.T) {
	t.Parallel()

	v := resource.NewObjectProperty(inputs())
	cases := []struct {
		path string
		want []string
		why  string
	}{
		{"description", []string{"description"}, "a top-level key"},
		{"ingress[*].description", []string{"ingress[0].description", "ingress[1].description"}, "every element of a list"},
		{"tags{}", []string{"tags.bad key!", "tags.tenantfleet:stack"}, "every map value, in key order"},
		{"tags{keys}", []string{"tags{bad key!}", "tags{tenantfleet:stack}"}, "every map key"},
		{"missing", nil, "an absent key selects nothing"},
		{"ingress[*].missing", nil, "an absent key inside elements selects nothing"},
	}
	for _, tc := range cases {
		var got []string
		for _, s := range Select(v, tc.path) {
			got = append(got, s.Path)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("Select(%q) = %q, want %q (%s)", tc.path, got, tc.want, tc.why)
		}
	}
}

func TestEvaluate(t *testing.T) {
	t.Parallel()

	const typ = "aws:ec2/securityGroup:SecurityGroup"
	rs := []Rule{
		{Type: typ, Path: "description", Check: Matches(`^[A-Za-z0-9 ._\-:/()#,@\[\]+=&;{}!$*]*$`), Source: "validSecurityGroupRuleDescription"},
		{Type: typ, Path: "ingress[*].description", Check: Matches(`^[A-Za-z0-9 ._\-:/()#,@\[\]+=&;{}!$*]*$`), Source: "validSecurityGroupRuleDescription"},
		{Type: typ, Path: "ingress[*].fromPort", Check: Between(0, 65535), Source: "ports"},
		{Type: typ, Path: "tags{keys}", Check: Matches(`^[A-Za-z0-9:_.]+$`), Source: "tag keys"},
		{Type: typ, Path: "name", Check: NotReserved("PostgreSQL keyword", "user", "order"), Source: "kwlist.h"},
		{Type: typ, Path: "name", Check: Length(1, 3), Source: "length"},
		{Type: "other:Type", Path: "name", Check: Length(100, 200), Source: "another type's rule"},
	}
	var got []string
	for _, v := range Evaluate(rs, typ, inputs()) {
		got = append(got, v.Path+": "+v.Problem)
	}
	want := []string{
		`description: does not match ^[A-Za-z0-9 ._\-:/()#,@\[\]+=&;{}!$*]*$`,
		`ingress[1].description: does not match ^[A-Za-z0-9 ._\-:/()#,@\[\]+=&;{}!$*]*$`,
		`ingress[1].fromPort: is outside 0 to 65535`,
		`tags{bad key!}: does not match ^[A-Za-z0-9:_.]+$`,
		`name: is a PostgreSQL keyword`,
		`name: is 4 characters long, the maximum is 3`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("violations (-want +got):\n-%s\n+%s", strings.Join(want, "\n-"), strings.Join(got, "\n+"))
	}
}

// TestUnknownAndSecretValues: unknown values are not judged (the provider
// skips them at preview too); a secret is judged but never shown.
func TestUnknownAndSecretValues(t *testing.T) {
	t.Parallel()

	const typ = "t:m:T"
	rs := []Rule{{Type: typ, Path: "name", Check: Length(1, 3), Source: "s"}, {Type: typ, Path: "list[*]", Check: Length(1, 3), Source: "s"}}
	unknown := resource.PropertyMap{
		"name": resource.MakeComputed(resource.NewStringProperty("")),
		"list": resource.NewOutputProperty(resource.Output{Known: false}),
	}
	if v := Evaluate(rs, typ, unknown); len(v) != 0 {
		t.Errorf("unknown values judged: %v", v)
	}
	secret := resource.PropertyMap{"name": resource.MakeSecret(resource.NewStringProperty("hunter2"))}
	v := Evaluate(rs, typ, secret)
	if len(v) != 1 || v[0].Value != "[secret]" || strings.Contains(v[0].String(), "hunter2") {
		t.Errorf("secret value: %v, want one violation showing [secret]", v)
	}
	// Inside a secret object (the SDK marks a whole object secret when a
	// secret is inside it), and read by a check that quotes what it read.
	quoting := []Rule{
		{Type: typ, Path: "settings.password", Check: Length(1, 3), Source: "s"},
		{Type: typ, Path: "settings{keys}", Check: Length(1, 3), Source: "s"},
		{Type: typ, Check: Func("quotes", func(v resource.PropertyValue) string {
			pw, _ := String(v, "settings.password")
			return "bad " + pw
		}), Source: "s"},
	}
	nested := resource.PropertyMap{"settings": resource.MakeSecret(resource.NewObjectProperty(resource.PropertyMap{
		"password": resource.NewStringProperty("hunter2"),
	}))}
	v = Evaluate(quoting, typ, nested)
	if len(v) != 3 {
		t.Fatalf("violations: %v, want 3", v)
	}
	for _, viol := range v {
		if strings.Contains(viol.String(), "hunter2") || (viol.Path != "(inputs)" && viol.Value != "[secret]") {
			t.Errorf("a secret shows: %s (value %s)", viol, viol.Value)
		}
	}
}

func TestFuncSeesTheWholeObject(t *testing.T) {
	t.Parallel()

	const typ = "t:m:T"
	rs := []Rule{{Type: typ, Check: Func("retained > log days", func(v resource.PropertyValue) string {
		kept, ok1 := Lookup(v, "backup.retained")
		logs, ok2 := Lookup(v, "backup.logDays")
		if ok1 && ok2 && kept.NumberValue() <= logs.NumberValue() {
			return "retains no more backups than log days"
		}
		return ""
	}), Source: "s"}}
	in := resource.NewPropertyMapFromMap(map[string]any{"backup": map[string]any{"retained": 7, "logDays": 7}})
	if v := Evaluate(rs, typ, in); len(v) != 1 || v[0].Path != "(inputs)" {
		t.Errorf("Evaluate = %v, want one violation on the inputs", v)
	}
	in = resource.NewPropertyMapFromMap(map[string]any{"backup": map[string]any{"retained": 8, "logDays": 7}})
	if v := Evaluate(rs, typ, in); len(v) != 0 {
		t.Errorf("Evaluate = %v, want none", v)
	}
}
