// Command tenantfleet provisions tenantfleet stacks through the Automation
// API and manages the embedded local cloud; its logic is package cli.
package main

import (
	"os"

	"github.com/tenantfleet/tenantfleet/internal/cli"
	"github.com/tenantfleet/tenantfleet/stacks"
)

func main() { os.Exit(cli.Main(stacks.Program)) }
