package providers

import (
	"encoding/json"
	"strings"
)

// regionKeys says where each cloud's adapter reads its region in the stack
// config, in the adapter's order of precedence: a key of its own
// tenantfleet:<cloud> object first, then the cloud provider's key. The
// local cloud has no regions.
var regionKeys = map[string][]string{
	"aws":          {"aws:region"},
	"azure":        {"tenantfleet:azure.location", "azure-native:location"},
	"gcp":          {"tenantfleet:gcp.region", "gcp:region"},
	"digitalocean": {"tenantfleet:digitalocean.region"},
}

// RegionKeys returns where the cloud reads its region (nil: it has none).
// A key with a dot names a field of an object key ("tenantfleet:gcp.region").
func RegionKeys(cloud string) []string { return regionKeys[cloud] }

// SetRegion sets the region everywhere the cloud reads it in cfg (stack
// config, key: value; object keys as maps); false when the cloud has no regions.
func SetRegion(cfg map[string]any, cloud, region string) bool {
	keys := regionKeys[cloud]
	for _, key := range keys {
		top, field, nested := strings.Cut(key, ".")
		if !nested {
			cfg[top] = region
			continue
		}
		obj, _ := cfg[top].(map[string]any)
		if obj == nil {
			obj = map[string]any{}
		}
		obj[field] = region
		cfg[top] = obj
	}
	return len(keys) > 0
}

// Region returns the region cfg gives the cloud, by the adapter's
// precedence, or "". Object keys may be maps or JSON strings (as a
// preview's config holds them).
func Region(cfg map[string]any, cloud string) string {
	for _, key := range regionKeys[cloud] {
		top, field, nested := strings.Cut(key, ".")
		v := cfg[top]
		if nested {
			obj, ok := v.(map[string]any)
			if !ok {
				if s, isStr := v.(string); isStr {
					obj = decodeObject(s)
				}
			}
			v = obj[field]
		}
		if s, ok := v.(string); ok && s != "" {
			return s
		}
	}
	return ""
}

func decodeObject(s string) map[string]any {
	var obj map[string]any
	_ = json.Unmarshal([]byte(s), &obj)
	return obj
}
