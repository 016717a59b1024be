package cost

import (
	"os"
	"testing"

	"gopkg.in/yaml.v3"
)

// stackFile reads a Pulumi.<stack>.yaml's config.
func stackFile(t *testing.T, path string) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Config map[string]any `yaml:"config"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Config
}

func TestRecordRegistersTheWholeStack(t *testing.T) {
	t.Parallel()

	for cloud, file := range map[string]string{"aws": "../../Pulumi.aws.yaml", "azure": "../../Pulumi.azure.yaml",
		"gcp": "../../Pulumi.gcp.yaml", "digitalocean": "../../Pulumi.digitalocean.yaml"} {
		res, err := Record(t.Context(), cloud, cloud, stackFile(t, file))
		if err != nil {
			t.Fatalf("%s: %v", cloud, err)
		}
		types := map[string]int{}
		for _, r := range res {
			types[r.Type]++
		}
		t.Logf("%s: %d resources, %d types", cloud, len(res), len(types))
		if len(res) < 20 {
			t.Errorf("%s: only %d resources", cloud, len(res))
		}
	}
}
