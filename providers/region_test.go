package providers

import "testing"

func TestRegionKeysRoundTrip(t *testing.T) {
	t.Parallel()

	for cloud, c := range All() {
		cfg := map[string]any{"tenantfleet:gcp": map[string]any{"project": "p"}}
		set := SetRegion(cfg, cloud, "r-1")
		if c.NoRegions != "" {
			if set || Region(cfg, cloud) != "" {
				t.Errorf("%s has no regions: set=%v", cloud, set)
			}
			continue
		}
		if !set || Region(cfg, cloud) != "r-1" {
			t.Errorf("%s: set=%v region=%q", cloud, set, Region(cfg, cloud))
		}
	}
	// The adapter's own object wins over the provider's key, and a
	// preview's config holds objects as JSON strings.
	cfg := map[string]any{"gcp:region": "us-central1", "tenantfleet:gcp": `{"project":"p","region":"europe-west1"}`}
	if got := Region(cfg, "gcp"); got != "europe-west1" {
		t.Errorf("gcp region %q, want tenantfleet:gcp's europe-west1", got)
	}
	// Setting keeps the object's other fields.
	obj := map[string]any{"tenantfleet:gcp": map[string]any{"project": "p"}}
	SetRegion(obj, "gcp", "asia-east1")
	if obj["tenantfleet:gcp"].(map[string]any)["project"] != "p" {
		t.Error("SetRegion dropped tenantfleet:gcp.project")
	}
}
