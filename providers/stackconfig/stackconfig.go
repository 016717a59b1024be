// Package stackconfig reads a cloud's own stack config object
// (tenantfleet:aws, tenantfleet:gcp, ...) the one strict way every adapter
// shares: unknown fields and type mismatches are errors naming the key, so a
// typo never falls back to a default.
package stackconfig

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"
)

// Decode reads the config object at key into v, leaving v untouched when the
// key is not set.
func Decode(ctx *pulumi.Context, key string, v any) error {
	raw := config.Get(ctx, key)
	if raw == "" {
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	if dec.More() {
		return fmt.Errorf("%s: more than one JSON value", key)
	}
	return nil
}
