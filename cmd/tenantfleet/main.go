// Command tenantfleet provisions tenantfleet stacks through the Automation
// API, manages the embedded local cloud and runs the account-signup service;
// its logic is packages cli and signup.
package main

import (
	"os"

	"github.com/tenantfleet/tenantfleet/internal/cli"
	"github.com/tenantfleet/tenantfleet/internal/signup"
	"github.com/tenantfleet/tenantfleet/stacks"
)

func main() { os.Exit(cli.Main(stacks.Program, signup.Command)) }
