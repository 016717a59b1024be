// Package localmock answers Pulumi mocks the way the tenantfleet-local
// plugin would: loopback database endpoints, a generated password, NATS
// queue and topic URLs and web process URLs. Tests of anything that runs the
// local adapter under pulumi.WithMocks share it.
package localmock

import (
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/providers/mockcloud"
)

// Mocks answers pulumi.WithMocks the way this cloud would (see Outputs).
var Mocks = mockcloud.Mocks{Outputs: Outputs}

// Ports the mocked runtime listens on.
const (
	PostgresPort = 54320
	NATSPort     = 42220
)

// WebPort is the loopback port the mocked runtime gives the web process
// name: stable, and different for different processes (almost always).
func WebPort(name string) int {
	h := fnv.New32a()
	h.Write([]byte(name))
	return 18000 + int(h.Sum32()%2000)
}

// Password is the mocked generated database password.
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

// Images prepares, for a test that runs the local adapter in-process, the
// images its specs name, as a machine running the stack would have them
// (the adapter refuses a tenant whose image is not there): it sets
// TENANTFLEET_LOCAL_DIR to an empty data directory, where no runtime runs,
// and TENANTFLEET_LOCAL_IMAGES to a new images directory holding programs,
// each an executable file at a path relative to it
// (<repository's last path segment>/<tag>/entrypoint, or a path a command
// names, like tenant-app/1.0.0/app/worker). It returns the images directory.
// It uses tb.Setenv: the test may not run in parallel.
func Images(tb testing.TB, programs ...string) string {
	tb.Helper()
	base := tb.TempDir()
	images := filepath.Join(base, "images")
	for _, p := range programs {
		path := filepath.Join(images, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	tb.Setenv("TENANTFLEET_LOCAL_DIR", filepath.Join(base, "local"))
	tb.Setenv("TENANTFLEET_LOCAL_IMAGES", images)
	return images
}

// ScenarioImages are the programs of the conformance scenario's images
// (providers/conformance), for Images.
var ScenarioImages = []string{
	"tenant-app/1.0.0/entrypoint",
	"tenant-app/1.0.0/app/worker",
	"tenant-worker/2.1.0/entrypoint",
}
