//go:build tools

// Package tools pins the golangci-lint that tenantfleet builds into
// ./bin/golangci-lint. It lives in its own module so the linter's large
// dependency graph never moves the versions the tenantfleet program itself
// builds against.
package tools

import (
	_ "github.com/golangci/golangci-lint/v2/cmd/golangci-lint"
)
