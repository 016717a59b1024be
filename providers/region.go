package providers

import (
	"encoding/json"
	"strings"
)

// RegionKeys returns where the cloud reads its region (Cloud.RegionKeys;
// nil: it has none, or the cloud is unknown). A key with a dot names a field
// of an object key ("tenantfleet:gcp.region").
func RegionKeys(cloud string) []string { return registry[cloud].RegionKeys }

// SetRegion sets the region everywhere the cloud reads it in cfg (stack
// config, key: value; object keys as maps); false when the cloud has no regions.
func SetRegion(cfg map[string]any, cloud, region string) bool {
	keys := RegionKeys(cloud)
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
	for _, key := range RegionKeys(cloud) {
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
