package conformance

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
	return args.Name + "-id", mockOutputs(args, m.Outputs), nil
}

// Call implements pulumi.MockResourceMonitor.
func (m Mocks) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	if m.Invoke == nil {
		return nil, fmt.Errorf("unexpected invoke %s", args.Token)
	}
	return m.Invoke(args)
}

// mockOutputs is a resource's mocked outputs: its inputs, plus what the
// cloud computes for custom resources.
func mockOutputs(args pulumi.MockResourceArgs, computed func(pulumi.MockResourceArgs) resource.PropertyMap) resource.PropertyMap {
	out := args.Inputs.Copy()
	if computed != nil && args.Custom {
		for k, v := range computed(args) {
			out[k] = v
		}
	}
	return out
}

// StringMapInput reads a map-of-strings input, such as the tags (key "tags"
// on AWS, Azure and the local cloud); ok is false when the resource has no such map.
func StringMapInput(key string) func(r Resource) (map[string]string, bool) {
	return func(r Resource) (map[string]string, bool) {
		v, ok := r.Inputs[resource.PropertyKey(key)]
		if !ok || !v.IsObject() {
			return nil, false
		}
		out := map[string]string{}
		for k, tv := range v.ObjectValue() {
			if tv.IsString() {
				out[string(k)] = tv.StringValue()
			}
		}
		return out, true
	}
}
