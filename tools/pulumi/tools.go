//go:build tools

// Package tools pins the Pulumi CLI that tenantfleet builds into ./bin/pulumi.
// It lives in its own module so the CLI's large dependency graph never moves
// the versions the tenantfleet program itself builds against.
package tools

import (
	_ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
)
