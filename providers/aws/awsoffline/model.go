package awsoffline

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/providers/offline"
)

// Model answers the engine the way AWS would (see Outputs): run the
// program under pulumi.WithMocks(project, stack, Model).
var Model = offline.Model{Outputs: Outputs, Invoke: Invoke}

const account = "123456789012"

// Outputs adds what AWS computes: ARNs, queue URLs, endpoints; and what
// pulumi-random draws (see RandomHex).
func Outputs(args pulumi.MockResourceArgs) resource.PropertyMap {
	if args.TypeToken == "random:index/randomId:RandomId" {
		return resource.PropertyMap{"hex": resource.NewStringProperty(RandomHex(args.Name, ""))}
	}
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
		return resource.PropertyMap{"id": resource.NewStringProperty(DefaultVPCID)}, nil
	case "aws:ec2/getSubnets:getSubnets":
		if err := defaultSubnetFilters(args.Args); err != nil {
			return nil, err
		}
		return resource.PropertyMap{"ids": resource.NewArrayProperty([]resource.PropertyValue{
			resource.NewStringProperty("subnet-0a"), resource.NewStringProperty("subnet-0b"),
		})}, nil
	}
	return nil, fmt.Errorf("unexpected invoke %s", args.Token)
}

// RandomHex is the hex a modelled random.RandomId named name draws: 8 hex
// digits derived from the name, so a run is deterministic and every
// resource gets its own. lifetime stands for the draw: the same name and
// lifetime give the same digits (the value kept in state across updates),
// another lifetime other digits (the resource deleted and created again).
func RandomHex(name, lifetime string) string {
	sum := sha256.Sum256([]byte(name + "\x00" + lifetime))
	return hex.EncodeToString(sum[:4])
}

// DefaultVPCID is the id the modelled getVpc answers.
const DefaultVPCID = "vpc-0default"

// defaultSubnetFilters refuses a subnet lookup that a real default VPC would
// answer with more than one subnet per Availability Zone: it must filter on
// the VPC and on default-for-az = true (EC2 DescribeSubnets filters), since
// a load balancer takes one subnet per zone. The model answers one subnet in
// each of two zones, which only such a lookup guarantees.
func defaultSubnetFilters(args resource.PropertyMap) error {
	got := map[string][]string{}
	if f, ok := args["filters"]; ok && f.IsArray() {
		for _, e := range f.ArrayValue() {
			if !e.IsObject() {
				continue
			}
			obj := e.ObjectValue()
			name, values := obj["name"], obj["values"]
			if !name.IsString() || !values.IsArray() {
				continue
			}
			for _, v := range values.ArrayValue() {
				if v.IsString() {
					got[name.StringValue()] = append(got[name.StringValue()], v.StringValue())
				}
			}
		}
	}
	if len(got["vpc-id"]) != 1 || got["vpc-id"][0] != DefaultVPCID {
		return fmt.Errorf("awsoffline: getSubnets must filter on vpc-id = %s, got filters %v", DefaultVPCID, got)
	}
	if len(got["default-for-az"]) != 1 || got["default-for-az"][0] != "true" {
		return fmt.Errorf("awsoffline: getSubnets without the filter default-for-az = true would return every subnet of the default VPC, "+
			"possibly several in one Availability Zone, which a load balancer refuses; got filters %v", got)
	}
	return nil
}
