package localcloud

import (
	"context"
	"errors"
)

// Connect returns a client of the runtime serving dataDir, starting the
// runtime (`tenantfleet local run`) in the background first when none
// answers. This is "started on demand": the provider plugin calls it.
func Connect(ctx context.Context, dataDir string) (API, error) {
	return nil, errors.New("localcloud: not implemented yet")
}
