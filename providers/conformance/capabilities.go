package conformance

import "github.com/tenantfleet/tenantfleet/components"

// checkCapabilities checks that the adapter provides what its Capabilities
// state and nothing the components never call: the methods of its workload
// shape and none of the other shape's, and a PlatformFinisher only beside a
// PlatformProvisioner. It needs no program run, so it reports even when the
// scenario cannot run.
func checkCapabilities(fs *findings, cloud components.Adapter) {
	if cloud == nil {
		return // the profile makes no adapter: preview and update report why
	}
	shape := cloud.Capabilities().Workloads
	_, separate := cloud.(components.SeparateWorkloadsProvisioner)
	_, webApp := cloud.(components.WebAppProvisioner)
	_, container := cloud.(components.ContainerProvisioner)
	_, combined := cloud.(components.CombinedWorkloadsProvisioner)
	switch shape {
	case components.SeparateWorkloads:
		if !separate {
			fs.add("capabilities", "%s states %s workloads but has no WebApp and Container", cloud.Name(), shape)
		}
		if combined {
			fs.add("capabilities", "%s states %s workloads but has Workloads, which TenantUnit never calls", cloud.Name(), shape)
		}
	case components.CombinedWorkloads:
		if !combined {
			fs.add("capabilities", "%s states %s workloads but has no Workloads", cloud.Name(), shape)
		}
		if webApp || container {
			fs.add("capabilities", "%s states %s workloads but has WebApp or Container, which TenantUnit never calls", cloud.Name(), shape)
		}
	default:
		fs.add("capabilities", "%s states no workload shape (%q): want %q or %q",
			cloud.Name(), shape, components.SeparateWorkloads, components.CombinedWorkloads)
	}
	_, platform := cloud.(components.PlatformProvisioner)
	if _, finisher := cloud.(components.PlatformFinisher); finisher && !platform {
		fs.add("capabilities", "%s is a PlatformFinisher without a platform: FinishPlatform is never called", cloud.Name())
	}
}

// capabilitiesOf is what cloud states, nothing when there is no adapter.
func capabilitiesOf(cloud components.Adapter) components.Capabilities {
	if cloud == nil {
		return components.Capabilities{}
	}
	return cloud.Capabilities()
}
