// Package components defines tenantfleet's cloud-neutral building blocks — the
// TenantUnit, MessagingFanout and Platform Pulumi components, the specs that
// describe them, the adapter contract every cloud implements, and the tags and
// environment contract that are the same on every cloud.
//
// The package never imports a cloud SDK: a cloud is reached only through the
// interfaces declared in adapter.go, implemented under providers/. An Adapter
// states what it offers beyond the common methods as Capabilities values
// (its workload shape, shared databases); a function takes the narrowest
// interface it uses (NewMessagingFanout a FanoutCloud, which FanoutCloudFns
// builds from functions for test doubles). Adapters keep what their own
// methods pass each other in the State of what they return; Native is the
// users' escape hatch.
package components
