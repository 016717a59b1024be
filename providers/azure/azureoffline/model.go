package azureoffline

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/providers/offline"
)

// Model answers the engine the way Azure would (see Outputs): run the
// program under pulumi.WithMocks(project, stack, Model).
var Model = offline.Model{Outputs: Outputs, Invoke: Invoke}

// Subscription is the modelled Azure subscription id.
const Subscription = "00000000-0000-0000-0000-000000000001"

// nameKeys are the inputs that hold each azure-native resource's name.
var nameKeys = []string{
	"resourceGroupName@resources", "workspaceName", "virtualNetworkName@VirtualNetwork", "subnetName", "privateZoneName@PrivateZone",
	"virtualNetworkLinkName", "environmentName", "namespaceName@Namespace", "serverName@Server", "databaseName", "queueName",
	"topicName@Topic", "subscriptionName@Subscription", "ruleName", "containerAppName", "resourceName", "lockName", "deploymentName",
}

// Outputs adds what Azure computes: names, FQDNs, endpoints, identity ids.
func Outputs(args pulumi.MockResourceArgs) resource.PropertyMap {
	out := resource.PropertyMap{}
	str := func(k string) string {
		if v, ok := args.Inputs[resource.PropertyKey(k)]; ok && v.IsString() {
			return v.StringValue()
		}
		return ""
	}
	for _, nk := range nameKeys {
		key, only, _ := strings.Cut(nk, "@")
		if only != "" && !strings.Contains(args.TypeToken, only) {
			continue
		}
		if v := str(key); v != "" {
			out["name"] = resource.NewStringProperty(v)
		}
	}
	name := str("name")
	if v, ok := out["name"]; ok {
		name = v.StringValue()
	}
	switch args.TypeToken {
	case "azure-native:dbforpostgresql:Server":
		out["fullyQualifiedDomainName"] = resource.NewStringProperty(name + ".postgres.database.azure.com")
	case "azure-native:servicebus:Namespace":
		out["serviceBusEndpoint"] = resource.NewStringProperty(fmt.Sprintf("https://%s.servicebus.windows.net:443/", name))
	case "azure-native:operationalinsights:Workspace":
		out["customerId"] = resource.NewStringProperty("11111111-2222-3333-4444-555555555555")
	case "azure-native:managedidentity:UserAssignedIdentity":
		out["principalId"] = resource.NewStringProperty("principal-" + name)
		out["clientId"] = resource.NewStringProperty("client-" + name)
	case "azure-native:app:ContainerApp":
		fqdn := name + ".kindhill-1a2b3c4d.westeurope.azurecontainerapps.io"
		out["latestRevisionFqdn"] = resource.NewStringProperty(strings.Replace(fqdn, ".", "--0000001.", 1))
		// The configuration holds the password secret, so it arrives wrapped as a secret.
		cfg, secret := args.Inputs["configuration"], false
		if cfg.IsSecret() {
			cfg, secret = cfg.SecretValue().Element, true
		}
		if cfg.IsObject() {
			c := cfg.ObjectValue().Copy()
			if ing, ok := c["ingress"]; ok && ing.IsObject() {
				i := ing.ObjectValue().Copy()
				i["fqdn"] = resource.NewStringProperty(fqdn)
				c["ingress"] = resource.NewObjectProperty(i)
			}
			v := resource.NewObjectProperty(c)
			if secret {
				v = resource.MakeSecret(v)
			}
			out["configuration"] = v
		}
	case "random:index/randomPassword:RandomPassword":
		out["result"] = resource.MakeSecret(resource.NewStringProperty("mock-Password-1"))
	}
	return out
}

// Invoke answers the adapter's lookups.
func Invoke(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	switch args.Token {
	case "azure-native:authorization:getClientConfig":
		return resource.PropertyMap{
			"subscriptionId": resource.NewStringProperty(Subscription),
			"tenantId":       resource.NewStringProperty("00000000-0000-0000-0000-0000000000aa"),
			"clientId":       resource.NewStringProperty("00000000-0000-0000-0000-0000000000bb"),
			"objectId":       resource.NewStringProperty("00000000-0000-0000-0000-0000000000cc"),
		}, nil
	case "azure-native:operationalinsights:getSharedKeys":
		return resource.PropertyMap{
			"primarySharedKey":   resource.NewStringProperty("mock-shared-key"),
			"secondarySharedKey": resource.NewStringProperty("mock-shared-key-2"),
		}, nil
	}
	return nil, fmt.Errorf("unexpected invoke %s", args.Token)
}
