// Package awsmock answers Pulumi mocks the way AWS would: ARNs, queue URLs,
// database endpoints and the default-VPC lookups. Tests of anything that runs
// the AWS adapter under pulumi.WithMocks share it.
package awsmock

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/providers/mockcloud"
)

// Mocks answers pulumi.WithMocks the way this cloud would (see Outputs).
var Mocks = mockcloud.Mocks{Outputs: Outputs, Invoke: Invoke}

const account = "123456789012"

// Outputs adds what AWS computes: ARNs, queue URLs, endpoints.
func Outputs(args pulumi.MockResourceArgs) resource.PropertyMap {
	name := args.Name
	if v, ok := args.Inputs["name"]; ok && v.IsString() {
		name = v.StringValue()
	}
	service := strings.SplitN(strings.TrimPrefix(args.TypeToken, "aws:"), "/", 2)[0]
	out := resource.PropertyMap{
		"arn":  resource.NewStringProperty(fmt.Sprintf("arn:aws:%s:us-east-1:%s:%s", service, account, name)),
		"name": resource.NewStringProperty(name),
	}
	switch args.TypeToken {
	case "aws:sqs/queue:Queue":
		out["url"] = resource.NewStringProperty(fmt.Sprintf("https://sqs.us-east-1.amazonaws.com/%s/%s", account, name))
	case "aws:rds/instance:Instance":
		id := args.Inputs["identifier"].StringValue()
		out["address"] = resource.NewStringProperty(id + ".abc123.us-east-1.rds.amazonaws.com")
		out["port"] = resource.NewNumberProperty(5432)
		out["masterUserSecrets"] = resource.NewArrayProperty([]resource.PropertyValue{resource.NewObjectProperty(resource.PropertyMap{
			"secretArn": resource.NewStringProperty(fmt.Sprintf("arn:aws:secretsmanager:us-east-1:%s:secret:rds!db-%s-AbCdEf", account, id)),
		})})
	case "aws:lb/loadBalancer:LoadBalancer":
		out["dnsName"] = resource.NewStringProperty(name + "-1234567890.us-east-1.elb.amazonaws.com")
	}
	return out
}

// Invoke answers the default-VPC lookups.
func Invoke(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	switch args.Token {
	case "aws:index/getRegion:getRegion":
		return resource.PropertyMap{"name": resource.NewStringProperty("us-east-1")}, nil
	case "aws:ec2/getVpc:getVpc":
		return resource.PropertyMap{"id": resource.NewStringProperty("vpc-0default")}, nil
	case "aws:ec2/getSubnets:getSubnets":
		return resource.PropertyMap{"ids": resource.NewArrayProperty([]resource.PropertyValue{
			resource.NewStringProperty("subnet-0a"), resource.NewStringProperty("subnet-0b"),
		})}, nil
	}
	return nil, fmt.Errorf("unexpected invoke %s", args.Token)
}
