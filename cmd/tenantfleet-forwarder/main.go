// Command tenantfleet-forwarder forwards a tenantfleet fanout's Kafka topic
// into a subscriber's queue topic on DigitalOcean; its logic is package
// forward, and --help prints its environment contract.
package main

import (
	"os"

	"github.com/tenantfleet/tenantfleet/internal/forward"
)

func main() { os.Exit(forward.Main()) }
