package localoffline

import (
	"fmt"
	"hash/fnv"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/providers/offline"
)

// Model answers the engine the way the tenantfleet-local plugin would (see
// Outputs): run the program under pulumi.WithMocks(project, stack, Model).
var Model = offline.Model{Outputs: Outputs}

// Ports the modelled runtime listens on.
const (
	PostgresPort = 54320
	NATSPort     = 42220
)

// WebPort is the loopback port the modelled runtime gives the web process
// name: stable, and different for different processes (almost always).
func WebPort(name string) int {
	h := fnv.New32a()
	h.Write([]byte(name))
	return 18000 + int(h.Sum32()%2000)
}

// Password is the modelled generated database password.
const Password = "mock-password-0123456789abcdef"

// Outputs adds what the plugin computes, by resource type.
func Outputs(args pulumi.MockResourceArgs) resource.PropertyMap {
	name := args.Name
	if v, ok := args.Inputs["name"]; ok && v.IsString() {
		name = v.StringValue()
	}
	str := resource.NewStringProperty
	switch args.TypeToken {
	case "tenantfleet-local:index:Database":
		return resource.PropertyMap{
			"host": str("127.0.0.1"), "port": resource.NewNumberProperty(PostgresPort),
			"user": str(name), "password": str(Password),
		}
	case "tenantfleet-local:index:Queue":
		return resource.PropertyMap{
			"url":           str(natsURL(name, "queue."+name, "worker")),
			"deadLetterUrl": str(natsURL(name+"-dlq", "dlq."+name, "worker")),
		}
	case "tenantfleet-local:index:Topic":
		return resource.PropertyMap{"url": str(natsURL(name, "topic."+name, ""))}
	case "tenantfleet-local:index:Process":
		out := resource.PropertyMap{
			"running": resource.NewBoolProperty(true),
			"logPath": str("/tmp/tenantfleet-local/logs/" + name + ".log"),
			"port":    resource.NewNumberProperty(0),
			"url":     str(""),
		}
		if web := args.Inputs["web"]; web.IsBool() && web.BoolValue() {
			port := WebPort(name)
			out["port"] = resource.NewNumberProperty(float64(port))
			out["url"] = str(fmt.Sprintf("http://127.0.0.1:%d", port))
		}
		return out
	}
	return resource.PropertyMap{}
}

func natsURL(stream, subject, consumer string) string {
	u := fmt.Sprintf("nats://127.0.0.1:%d?stream=%s&subject=%s", NATSPort, stream, subject)
	if consumer != "" {
		u += "&consumer=" + consumer
	}
	return u
}
