package gcpoffline

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/providers/offline"
)

// Model answers the engine the way Google Cloud would (see Outputs): run the
// program under pulumi.WithMocks(project, stack, Model).
var Model = offline.Model{Outputs: Outputs, Invoke: Invoke}

// ProjectNumber is the modelled project number.
const ProjectNumber = "123456789012"

// PubSubServiceAgent is the Pub/Sub service agent of the modelled project.
const PubSubServiceAgent = "serviceAccount:service-" + ProjectNumber + "@gcp-sa-pubsub.iam.gserviceaccount.com"

// Outputs adds what Google Cloud computes.
func Outputs(args pulumi.MockResourceArgs) resource.PropertyMap {
	out := resource.PropertyMap{}
	str := func(k string) string {
		if v, ok := args.Inputs[resource.PropertyKey(k)]; ok && v.IsString() {
			return v.StringValue()
		}
		return ""
	}
	set := func(k, v string) { out[resource.PropertyKey(k)] = resource.NewStringProperty(v) }
	project, name := str("project"), str("name")
	switch args.TypeToken {
	case "gcp:serviceaccount/account:Account":
		email := fmt.Sprintf("%s@%s.iam.gserviceaccount.com", str("accountId"), project)
		set("email", email)
		set("member", "serviceAccount:"+email)
		set("name", fmt.Sprintf("projects/%s/serviceAccounts/%s", project, email))
	case "gcp:sql/databaseInstance:DatabaseInstance":
		set("privateIpAddress", "10.100.0.3")
		set("connectionName", fmt.Sprintf("%s:%s:%s", project, str("region"), name))
		set("publicIpAddress", "")
	case "gcp:cloudrunv2/service:Service":
		set("uri", fmt.Sprintf("https://%s-3kd7x2lq5a-ew.a.run.app", name))
	case "gcp:secretmanager/secret:Secret":
		set("name", fmt.Sprintf("projects/%s/secrets/%s", ProjectNumber, str("secretId")))
	case "gcp:secretmanager/secretVersion:SecretVersion":
		set("version", "1")
		set("name", str("secret")+"/versions/1")
	case "gcp:compute/network:Network":
		set("selfLink", fmt.Sprintf("https://www.googleapis.com/compute/v1/projects/%s/global/networks/%s", project, name))
	case "random:index/randomPassword:RandomPassword":
		out["result"] = resource.MakeSecret(resource.NewStringProperty("mock-Password-1"))
	}
	return out
}

// Invoke answers the adapter's lookups.
func Invoke(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	switch args.Token {
	case "gcp:organizations/getProject:getProject":
		id := "tenantfleet-test"
		if v, ok := args.Args["projectId"]; ok && v.IsString() {
			id = v.StringValue()
		}
		return resource.PropertyMap{
			"projectId": resource.NewStringProperty(id),
			"name":      resource.NewStringProperty(id),
			"number":    resource.NewStringProperty(ProjectNumber),
			"id":        resource.NewStringProperty("projects/" + id),
		}, nil
	}
	return nil, fmt.Errorf("unexpected invoke %s", args.Token)
}
