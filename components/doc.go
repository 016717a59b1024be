// Package components defines tenantfleet's cloud-neutral building blocks — the
// TenantUnit and MessagingFanout Pulumi components, the specs that describe
// them, the adapter contract every cloud implements, and the tags and
// environment contract that are the same on every cloud.
//
// The package never imports a cloud SDK: a cloud is reached only through the
// Adapter interfaces declared in adapter.go, implemented under providers/.
package components
