package local

import (
	"errors"
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/components"
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

var _ components.Adapter = (*Adapter)(nil)

// New returns the local adapter. The local cloud has no stack config of its
// own: the plugin finds the runtime's data directory itself
// (TENANTFLEET_LOCAL_DIR, inherited from the engine).
func New(*pulumi.Context) (components.Adapter, error) { return &Adapter{}, nil }

// Name implements components.Adapter.
func (*Adapter) Name() string { return Name }

// ValidateTenant implements components.Adapter. Every neutrally valid tenant
// runs locally: sizes, tiers, backups and instance counts are accepted and
// ignored (see the package doc).
func (*Adapter) ValidateTenant(components.TenantSpec) error { return nil }

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
