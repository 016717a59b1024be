package aws_test

import (
	"testing"

	"github.com/tenantfleet/tenantfleet/providers/aws"
)

// TestDefaultVPCSubnetsOnePerZone checks the default-VPC lookup asks for the
// default subnet of each Availability Zone only: filtered on the VPC alone it
// returns every subnet there, and a load balancer refuses two subnets in
// one zone. (awsoffline refuses such a lookup too, so every test running the
// adapter on the default VPC would fail if the filter went.)
func TestDefaultVPCSubnetsOnePerZone(t *testing.T) {
	t.Parallel()

	cases := []struct {
		name    string
		cfg     aws.Config
		lookups int
		reason  string
	}{
		{"default VPC", aws.Config{}, 1, "one subnet lookup for the whole program"},
		{"own VPC", aws.Config{VPCID: "vpc-0own", PublicSubnetIDs: []string{"a", "b"}, PrivateSubnetIDs: []string{"c", "d"}}, 0,
			"configured subnets need no lookup"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()

			rec := run{cfg: tc.cfg}.do(t)
			var lookups int
			for _, c := range rec.calls {
				if c.Token != "aws:ec2/getSubnets:getSubnets" {
					continue
				}
				lookups++
				filters := map[string][]string{}
				for _, f := range c.Args["filters"].ArrayValue() {
					obj := f.ObjectValue()
					for _, v := range obj["values"].ArrayValue() {
						filters[obj["name"].StringValue()] = append(filters[obj["name"].StringValue()], v.StringValue())
					}
				}
				if got := filters["default-for-az"]; len(got) != 1 || got[0] != "true" {
					t.Errorf("getSubnets filters %v: want default-for-az = true", filters)
				}
				if got := filters["vpc-id"]; len(got) != 1 {
					t.Errorf("getSubnets filters %v: want the default VPC's id", filters)
				}
			}
			if lookups != tc.lookups {
				t.Errorf("%d subnet lookups, want %d (%s)", lookups, tc.lookups, tc.reason)
			}
		})
	}
}
