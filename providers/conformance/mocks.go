package conformance

import (
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/tenantfleet/tenantfleet/providers/offline"
)

// Mocks is a pulumi.MockResourceMonitor for one cloud (see offline.Model).
type Mocks = offline.Model

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
