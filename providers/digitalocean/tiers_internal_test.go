package digitalocean

import "testing"

// TestTiersAreOffered: every tier's size and node count is a layout
// DigitalOcean offers for PostgreSQL, with a known base disk.
func TestTiersAreOffered(t *testing.T) {
	t.Parallel()

	for tier, d := range databaseTiers {
		if !offersLayout("pg", d.Size, d.Nodes) {
			t.Errorf("tier %s: PostgreSQL offers no %d nodes of %s", tier, d.Nodes, d.Size)
		}
		if pgBaseDiskGiB[d.Size] == 0 {
			t.Errorf("tier %s: no base disk known for %s", tier, d.Size)
		}
	}
}
