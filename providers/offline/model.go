package offline

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Model is one cloud with no account, as a pulumi.MockResourceMonitor: a
// resource's outputs are its inputs plus what Outputs adds (custom resources
// only), its id is "<name>-id", and invokes go to Invoke (nil: the cloud's
// adapter makes none).
type Model struct {
	Outputs func(args pulumi.MockResourceArgs) resource.PropertyMap
	Invoke  func(args pulumi.MockCallArgs) (resource.PropertyMap, error)
}

var _ pulumi.MockResourceMonitor = Model{}

// NewResource implements pulumi.MockResourceMonitor.
func (m Model) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	return args.Name + "-id", OutputsOf(args, m.Outputs), nil
}

// Call implements pulumi.MockResourceMonitor.
func (m Model) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	if m.Invoke == nil {
		return nil, fmt.Errorf("unexpected invoke %s", args.Token)
	}
	return m.Invoke(args)
}

// OutputsOf is a resource's modelled outputs: its inputs, plus what the
// cloud computes for custom resources.
func OutputsOf(args pulumi.MockResourceArgs, computed func(pulumi.MockResourceArgs) resource.PropertyMap) resource.PropertyMap {
	out := args.Inputs.Copy()
	if computed != nil && args.Custom {
		for k, v := range computed(args) {
			out[k] = v
		}
	}
	return out
}
