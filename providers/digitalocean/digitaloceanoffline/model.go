package digitaloceanoffline

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/providers/offline"
)

// Model answers the engine the way DigitalOcean would (see Outputs): run the
// program under pulumi.WithMocks(project, stack, Model).
var Model = offline.Model{Outputs: Outputs, Invoke: Invoke}

// CACertificate is the modelled PEM certificate of every cluster's CA: a real,
// self-signed one (no key kept), so clients that parse it accept it.
const CACertificate = `-----BEGIN CERTIFICATE-----
MIIBvjCCAWOgAwIBAgIUMQJ0FTXsIzUgXxqGhbFqF6dHiyMwCgYIKoZIzj0EAwIw
MzExMC8GA1UEAwwodGVuYW50ZmxlZXQgbW9jayBEaWdpdGFsT2NlYW4gY2x1c3Rl
ciBDQTAgFw0yNjExMjUwNjA4NDdaGA8yMTI2MTEwMTA2MDg0N1owMzExMC8GA1UE
AwwodGVuYW50ZmxlZXQgbW9jayBEaWdpdGFsT2NlYW4gY2x1c3RlciBDQTBZMBMG
ByqGSM49AgEGCCqGSM49AwEHA0IABA1x6gDfP3RmC767pE72svUzpKO+Kd3actgZ
rbM8K1LeCzNXv+9TvZxzFfRqrt29oRYqQsRIo1X5vGCOLgYX8QmjUzBRMB0GA1Ud
DgQWBBRgj4TIy5G+Yaq1JL6pFN3BHcafzTAfBgNVHSMEGDAWgBRgj4TIy5G+Yaq1
JL6pFN3BHcafzTAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0kAMEYCIQCV
Q+kq2oJYVh/maD2QNe8X3/lC030D8g78Mi7/Rxsy+QIhAPV5HZGN2NB8K6RC2h/1
UzhuunXujHS+Vb2zTApJ4iJA
-----END CERTIFICATE-----
`

// Invoke answers the adapter's lookups: a cluster's CA certificate.
func Invoke(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	switch args.Token {
	case "digitalocean:index/getDatabaseCa:getDatabaseCa":
		return resource.PropertyMap{
			"clusterId":   args.Args["clusterId"],
			"certificate": resource.NewStringProperty(CACertificate),
		}, nil
	}
	return nil, fmt.Errorf("unexpected invoke %s", args.Token)
}

// Ports of DigitalOcean's managed clusters' public endpoints.
const (
	PostgresPort = 25060
	KafkaPort    = 25073
)

// Password is every modelled generated password.
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
