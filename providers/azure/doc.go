// Package azure provisions tenantfleet components on Microsoft Azure with the
// azure-native provider: a resource group per tenant, and the stack's shared
// pieces (Container Apps environment, Service Bus namespace, virtual network)
// in a platform resource group.
package azure
