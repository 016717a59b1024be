// Package domock answers Pulumi mocks the way DigitalOcean would: cluster
// hosts and ports, generated user passwords (secret) and App Platform live
// URLs. Tests of anything that runs the DigitalOcean adapter under
// pulumi.WithMocks share it.
package domock

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/providers/conformance"
)

// Mocks answers pulumi.WithMocks the way DigitalOcean would (see Outputs).
var Mocks = conformance.Mocks{Outputs: Outputs}

// Ports of DigitalOcean's managed clusters' public endpoints.
const (
	PostgresPort = 25060
	KafkaPort    = 25073
)

// Password is every mocked generated password.
const Password = "mock-Password-1"

// Outputs adds what DigitalOcean computes.
func Outputs(args pulumi.MockResourceArgs) resource.PropertyMap {
	out := resource.PropertyMap{}
	str := func(m resource.PropertyMap, k string) string {
		if v, ok := m[resource.PropertyKey(k)]; ok && v.IsString() {
			return v.StringValue()
		}
		return ""
	}
	set := func(k, v string) { out[resource.PropertyKey(k)] = resource.NewStringProperty(v) }
	switch args.TypeToken {
	case "digitalocean:index/databaseCluster:DatabaseCluster":
		name := str(args.Inputs, "name")
		port := PostgresPort
		if str(args.Inputs, "engine") == "kafka" {
			port = KafkaPort
		}
		set("host", fmt.Sprintf("%s-do-user-1.b.db.ondigitalocean.com", name))
		set("privateHost", fmt.Sprintf("private-%s-do-user-1.b.db.ondigitalocean.com", name))
		out["port"] = resource.NewNumberProperty(float64(port))
		set("user", "doadmin")
		set("clusterUrn", "do:dbaas:"+args.Name)
		out["password"] = resource.MakeSecret(resource.NewStringProperty(Password))
	case "digitalocean:index/databaseUser:DatabaseUser":
		set("role", "normal")
		out["password"] = resource.MakeSecret(resource.NewStringProperty(Password))
	case "digitalocean:index/app:App":
		name := ""
		if spec, ok := args.Inputs["spec"]; ok && spec.IsObject() {
			name = str(spec.ObjectValue(), "name")
		}
		set("liveUrl", fmt.Sprintf("https://%s-x7k2q.ondigitalocean.app", name))
		set("defaultIngress", fmt.Sprintf("https://%s-x7k2q.ondigitalocean.app", name))
		set("appUrn", "do:app:"+args.Name)
	case "digitalocean:index/project:Project":
		set("ownerUuid", "mock-owner")
	}
	return out
}
