// Command program is the entry point `pulumi up` runs (Pulumi.yaml main):
// it runs stacks.Program, the same function the Automation API runs inline.
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/stacks"
)

func main() { pulumi.Run(stacks.Program) }
