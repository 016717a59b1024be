package conformance

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/providers/offline"
)

// Resource is one registration the mocks saw.
type Resource struct {
	URN    resource.URN
	Type   string
	Name   string
	Parent resource.URN
	Custom bool
	// ID is the id the mock gave a custom resource (empty for components).
	ID string
	// Inputs as registered; Outputs as the mock returned them (inputs plus
	// what the profile's Outputs adds).
	Inputs  resource.PropertyMap
	Outputs resource.PropertyMap
}

func (r Resource) String() string { return fmt.Sprintf("%s %q", r.Type, r.Name) }

// Graph records registrations. Pulumi's mocks accept duplicate URNs, so the
// graph keeps every registration and the suite checks for repeats.
type Graph struct {
	mu        sync.Mutex
	Resources []Resource
	profile   *Profile
	project   string
	stack     string
}

// NewResource implements pulumi.MockResourceMonitor.
func (g *Graph) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	parent := resource.URN("")
	if args.RegisterRPC != nil {
		parent = resource.URN(args.RegisterRPC.GetParent())
	}
	var parentType tokens.Type
	if parent != "" {
		parentType = parent.QualifiedType()
	}
	urn := resource.NewURN(tokens.QName(g.stack), tokens.PackageName(g.project), parentType, tokens.Type(args.TypeToken), args.Name)
	outputs := offline.OutputsOf(args, g.profile.Outputs)
	id := args.Name + "-id"
	if !args.Custom {
		id = ""
	}
	g.mu.Lock()
	g.Resources = append(g.Resources, Resource{
		URN: urn, Type: args.TypeToken, Name: args.Name, Parent: parent, Custom: args.Custom, ID: id,
		Inputs: args.Inputs, Outputs: outputs,
	})
	g.mu.Unlock()
	return id, outputs, nil
}

// Call implements pulumi.MockResourceMonitor: data-source lookups are
// answered by the profile.
func (g *Graph) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	if g.profile.Invoke == nil {
		return nil, fmt.Errorf("adapter invoked %s but its profile answers no invokes", args.Token)
	}
	return g.profile.Invoke(args)
}

// Custom returns the custom (cloud) resources, in registration order.
func (g *Graph) Custom() []Resource {
	var out []Resource
	for _, r := range g.Resources {
		if r.Custom {
			out = append(out, r)
		}
	}
	return out
}

// OfType returns the resources of one type token.
func (g *Graph) OfType(typ string) []Resource {
	var out []Resource
	for _, r := range g.Resources {
		if r.Type == typ {
			out = append(out, r)
		}
	}
	return out
}

// ByURN returns the resource with urn.
func (g *Graph) ByURN(urn resource.URN) (Resource, bool) {
	for _, r := range g.Resources {
		if r.URN == urn {
			return r, true
		}
	}
	return Resource{}, false
}

// Golden renders the graph as sorted lines "<qualified type>::<name>", one a
// resource: the shape a reviewer diffs when an adapter changes.
func (g *Graph) Golden() string {
	lines := make([]string, 0, len(g.Resources))
	for _, r := range g.Resources {
		lines = append(lines, fmt.Sprintf("%s::%s", r.URN.QualifiedType(), r.Name))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n") + "\n"
}

// Object reads an object input value through a secret wrapper (the SDK
// marks a whole object secret when a secret is inside it); a value of
// another kind reads as empty.
func Object(v resource.PropertyValue) resource.PropertyMap {
	if v.IsSecret() {
		v = v.SecretValue().Element
	}
	if v.IsObject() {
		return v.ObjectValue()
	}
	return resource.PropertyMap{}
}

// Array reads an array input value the way Object reads an object.
func Array(v resource.PropertyValue) []resource.PropertyValue {
	if v.IsSecret() {
		v = v.SecretValue().Element
	}
	if v.IsArray() {
		return v.ArrayValue()
	}
	return nil
}

// String reads a string input value the way Object reads an object.
func String(v resource.PropertyValue) string {
	if v.IsSecret() {
		v = v.SecretValue().Element
	}
	if v.IsString() {
		return v.StringValue()
	}
	return ""
}

// componentOf returns the tenant unit, fanout or platform a resource belongs
// to: its nearest component ancestor.
func componentOf(g *Graph, r Resource) (Resource, bool) {
	for parent := r.Parent; parent != ""; {
		p, ok := g.ByURN(parent)
		if !ok {
			return Resource{}, false
		}
		if p.Type == components.TenantUnitType || p.Type == components.MessagingFanoutType || p.Type == components.PlatformType {
			return p, true
		}
		parent = p.Parent
	}
	return Resource{}, false
}
