package aws_test

import (
	"strings"
	"testing"

	"github.com/tenantfleet/tenantfleet/providers/aws"
)

func TestConfigValidation(t *testing.T) {
	t.Parallel()

	cases := []struct {
		name  string
		cfg   aws.Config
		field string
	}{
		{"default VPC", aws.Config{}, ""},
		{"own VPC", aws.Config{VPCID: "vpc-1", PublicSubnetIDs: []string{"a", "b"}, PrivateSubnetIDs: []string{"c", "d"}}, ""},
		{"subnets without VPC", aws.Config{PrivateSubnetIDs: []string{"c", "d"}}, "tenantfleet:aws.vpcId"},
		{"one public subnet", aws.Config{VPCID: "vpc-1", PublicSubnetIDs: []string{"a"}, PrivateSubnetIDs: []string{"c", "d"}}, "tenantfleet:aws.publicSubnetIds"},
		{"no private subnets", aws.Config{VPCID: "vpc-1", PublicSubnetIDs: []string{"a", "b"}}, "tenantfleet:aws.privateSubnetIds"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()

			err := tc.cfg.Validate()
			switch {
			case tc.field == "" && err != nil:
				t.Fatalf("want valid, got %v", err)
			case tc.field != "" && (err == nil || !strings.Contains(err.Error(), tc.field+":")):
				t.Fatalf("want an error naming %s, got %v", tc.field, err)
			}
		})
	}
}
