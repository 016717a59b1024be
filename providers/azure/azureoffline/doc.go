// Package azureoffline is the offline model of Azure: it answers the engine
// the way Azure would (resource names, the PostgreSQL server's FQDN,
// Container App ingress FQDNs, the Service Bus endpoint, identities'
// principal and client ids, and the invokes the Azure adapter makes), with no
// subscription and no network. The offline plan and the tests of anything
// that runs the Azure adapter use it.
package azureoffline
