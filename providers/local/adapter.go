package local

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/internal/localcloud"
	"github.com/tenantfleet/tenantfleet/providers/naming"
)

// Name is the adapter's registry name.
const Name = "local"

// Package is the provider plugin's package name: the engine runs the binary
// pulumi-resource-tenantfleet-local for every resource below.
const Package = "tenantfleet-local"

// The plugin's resource type tokens (module index). They are part of every
// URN: never change one without aliases.
const (
	DatabaseType     = Package + ":index:Database"
	QueueType        = Package + ":index:Queue"
	TopicType        = Package + ":index:Topic"
	SubscriptionType = Package + ":index:Subscription"
	ProcessType      = Package + ":index:Process"
)

// Adapter provisions tenantfleet components on the local cloud.
type Adapter struct{}

var (
	_ components.Adapter                      = (*Adapter)(nil)
	_ components.SeparateWorkloadsProvisioner = (*Adapter)(nil)
)

// New returns the local adapter. The local cloud has no stack config of its
// own: the plugin finds the runtime's data directory itself
// (TENANTFLEET_LOCAL_DIR, inherited from the engine), and the adapter finds
// it, and the images directory, the same way (see ValidateTenant).
func New(*pulumi.Context) (components.Adapter, error) { return &Adapter{}, nil }

// Name implements components.Adapter.
func (*Adapter) Name() string { return Name }

// Capabilities implements components.Adapter: a process per workload, and
// shared databases, since every local tenant's database already lives on the
// runtime's one PostgreSQL server, with a role of its own: shared and
// dedicated placements are the same here.
func (*Adapter) Capabilities() components.Capabilities {
	return components.Capabilities{Workloads: components.SeparateWorkloads, SharedDatabases: true}
}

// ValidateTenant implements components.Adapter. Sizes, tiers, backups,
// instance counts and the web port are accepted and ignored (see the package
// doc). What the local cloud cannot do without is the images: web.image and
// worker.image must be in the runtime's images directory, each with the
// program it runs, or the tenant would be half-created, its database and
// queue made before its process is refused.
func (*Adapter) ValidateTenant(spec components.TenantSpec) error {
	images, err := findImages()
	if err != nil {
		return err
	}
	return errors.Join(
		images.check("web", spec.Web.Image, nil),
		images.check("worker", spec.Worker.Image, spec.Worker.Command),
	)
}

// imagesDir is where the runtime finds process images.
type imagesDir struct {
	dir string
	// running is the data directory of the running runtime whose own images
	// directory dir is, when it differs from the one a new runtime would use.
	running string
}

// findImages finds the images directory the runtime uses: the running local
// cloud's, else the one the runtime the plugin starts on demand will use
// (localcloud.DefaultImagesDir: $TENANTFLEET_LOCAL_IMAGES, else images/
// next to the tenantfleet binary Connect starts, else <data dir>/images),
// so a stock `pulumi up` and the tenantfleet CLI agree. The data
// directory is found as the plugin finds it (TENANTFLEET_LOCAL_DIR,
// inherited from the engine). Only files are read: nothing is started.
func findImages() (imagesDir, error) {
	dataDir, err := localcloud.DefaultDataDir()
	if err != nil {
		return imagesDir{}, err
	}
	dir, err := localcloud.ImagesDir(dataDir)
	if err != nil {
		return imagesDir{}, err
	}
	images := imagesDir{dir: dir}
	if def, err := filepath.Abs(localcloud.DefaultImagesDir(dataDir)); err == nil && def != dir {
		images.running = dataDir
	}
	return images, nil
}

// check refuses, as a *FieldError on "<role>.image" (or
// "worker.command[0]"), an image the runtime would refuse to start a
// process from: the runtime's own check, before anything is registered.
func (d imagesDir) check(role, image string, command []string) error {
	err := localcloud.CheckImage(d.dir, image, command)
	var ie *localcloud.ImageError
	if err == nil || !errors.As(err, &ie) {
		return err
	}
	fe := &components.FieldError{Field: role + "." + ie.Field, Value: image, Reason: ie.Reason}
	if ie.Field == "command[0]" {
		fe.Value = command[0]
		fe.Reason += "; a path in the command names a file inside the image"
		return fe
	}
	fe.Reason += "; a local image is the directory <images dir>/<repository's last path segment>/<tag, or latest> " +
		"holding an executable entrypoint: `make build` builds the example app, tenant-app:dev, into bin/images"
	if d.running != "" {
		fe.Reason += fmt.Sprintf("; %s is the images directory of the local cloud running on %s, "+
			"which TENANTFLEET_LOCAL_IMAGES changes only once it restarts (tenantfleet local stop)", d.dir, d.running)
	} else {
		fe.Reason += "; TENANTFLEET_LOCAL_IMAGES chooses another images directory"
	}
	return fe
}

// ValidateFanout implements components.Adapter: the local runtime delivers
// every message of a topic to every subscription, so a filter is refused.
func (*Adapter) ValidateFanout(spec components.FanoutSpec) error {
	var errs []error
	for i, sub := range spec.Subscribers {
		if err := checkFilter(sub); err != nil {
			errs = append(errs, components.Prefix(fmt.Sprintf("subscribers[%d].", i), err))
		}
	}
	return errors.Join(errs...)
}

// checkFilter refuses a subscriber's filter, as a *FieldError on "filter".
func checkFilter(sub components.SubscriberSpec) error {
	if sub.Filter == nil {
		return nil
	}
	return &components.FieldError{
		Field: "filter", Value: sub.Filter.Attribute,
		Reason: "is not supported on the local cloud: every subscriber receives every message of the topic; remove the filter or filter in the subscriber",
	}
}

// childOptions are the options of every resource the adapter registers: the
// component as parent and nothing from the caller. Replacements need no
// DeleteBeforeReplace here: the plugin's Diff asks for it whenever it
// replaces, since physical names are fixed.
func childOptions(parent pulumi.Resource) []pulumi.ResourceOption {
	return []pulumi.ResourceOption{pulumi.Parent(parent)}
}

// tags are the scope's tags. The runtime stores none of them; they document
// ownership in the state and keep the resources of every cloud alike.
func tags(s components.Scope) pulumi.StringMap {
	return pulumi.ToStringMap(s.Tags())
}

// physical is a runtime-unique name for a resource of the scope.
func physical(r naming.Rule, s components.Scope, parts ...string) pulumi.String {
	return pulumi.String(r.Unique(append([]string{s.Stack, s.Tenant}, parts...)...))
}
