// Command tenantfleet provisions tenantfleet stacks through the Automation
// API, manages the embedded local cloud, runs the account-signup service,
// drives its fleet (rollouts, drift checks) as its client and prices stack
// previews; its logic is packages cli, signup, fleet and cost.
package main

import (
	"os"

	"github.com/tenantfleet/tenantfleet/internal/cli"
	"github.com/tenantfleet/tenantfleet/internal/cost"
	"github.com/tenantfleet/tenantfleet/internal/fleet"
	"github.com/tenantfleet/tenantfleet/internal/signup"
	"github.com/tenantfleet/tenantfleet/stacks"
)

func main() { os.Exit(cli.Main(stacks.Program, signup.Command, cost.Command, fleet.Command)) }
