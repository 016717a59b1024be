package awsoffline_test

import (
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/providers/aws/awsoffline"
)

func filters(pairs ...string) resource.PropertyMap {
	var fs []any
	for i := 0; i < len(pairs); i += 2 {
		fs = append(fs, map[string]any{"name": pairs[i], "values": []any{pairs[i+1]}})
	}
	return resource.NewPropertyMapFromMap(map[string]any{"filters": fs})
}

// TestSubnetLookupNeedsDefaultForAZ: the mock answers one subnet in each of
// two zones, which a real default VPC guarantees only for a lookup filtered
// on default-for-az = true; any other lookup must fail, not pass.
func TestSubnetLookupNeedsDefaultForAZ(t *testing.T) {
	t.Parallel()

	cases := []struct {
		name   string
		args   resource.PropertyMap
		ok     bool
		reason string
	}{
		{"VPC and default-for-az", filters("vpc-id", awsoffline.DefaultVPCID, "default-for-az", "true"), true, "one default subnet per zone"},
		{"VPC only", filters("vpc-id", awsoffline.DefaultVPCID), false, "every subnet of the default VPC, several per zone possible"},
		{"default-for-az only", filters("default-for-az", "true"), false, "default subnets of every VPC"},
		{"another VPC", filters("vpc-id", "vpc-0other", "default-for-az", "true"), false, "not the default VPC"},
		{"default-for-az false", filters("vpc-id", awsoffline.DefaultVPCID, "default-for-az", "false"), false, "the non-default subnets"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()

			out, err := awsoffline.Invoke(pulumi.MockCallArgs{Token: "aws:ec2/getSubnets:getSubnets", Args: tc.args})
			switch {
			case tc.ok && err != nil:
				t.Fatalf("refused: %v (%s)", err, tc.reason)
			case !tc.ok && err == nil:
				t.Fatalf("answered %v, want a refusal (%s)", out, tc.reason)
			}
		})
	}
}

func TestRandomHex(t *testing.T) {
	t.Parallel()

	a, again, other, later := awsoffline.RandomHex("acme-db-final-snapshot", "1"), awsoffline.RandomHex("acme-db-final-snapshot", "1"),
		awsoffline.RandomHex("globex-db-final-snapshot", "1"), awsoffline.RandomHex("acme-db-final-snapshot", "2")
	if len(a) != 8 || a != again || a == other || a == later {
		t.Errorf("RandomHex: %q, again %q, other name %q, other lifetime %q: want 8 digits, stable, distinct", a, again, other, later)
	}
}
