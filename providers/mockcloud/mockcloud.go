// Package mockcloud answers Pulumi's mocks for one cloud: each adapter's
// mock package (awsmock, azuremock, gcpmock, domock, localmock) is a
// Mocks. The conformance suite, the adapters' tests and the offline cost
// plan (which prices what a stack would register, with no credentials) run
// the program against them.
package mockcloud

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Mocks is a pulumi.MockResourceMonitor for one cloud, for tests that need
// no recording: a resource's outputs are its inputs plus what Outputs adds
// (custom resources only), its id is "<name>-id", and invokes go to Invoke
// (nil: the cloud's adapter makes none). Each adapter's mock package (awsmock,
// azuremock, localmock) is one of these.
type Mocks struct {
	Outputs func(args pulumi.MockResourceArgs) resource.PropertyMap
	Invoke  func(args pulumi.MockCallArgs) (resource.PropertyMap, error)
}

// NewResource implements pulumi.MockResourceMonitor.
func (m Mocks) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	return args.Name + "-id", OutputsOf(args, m.Outputs), nil
}

// Call implements pulumi.MockResourceMonitor.
func (m Mocks) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	if m.Invoke == nil {
		return nil, fmt.Errorf("unexpected invoke %s", args.Token)
	}
	return m.Invoke(args)
}

// OutputsOf is a resource's mocked outputs: its inputs, plus what the
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
