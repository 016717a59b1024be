// Package offline models a cloud with no account and no network: a Model
// answers the engine's resource registrations and invokes the way the cloud
// would, so the tenantfleet program runs under pulumi.WithMocks. Each cloud's
// model (awsoffline, azureoffline, digitaloceanoffline, gcpoffline,
// localoffline) is registered with the cloud in providers; `tenantfleet cost
// plan`, the conformance suite and the adapters' tests run against them.
package offline
