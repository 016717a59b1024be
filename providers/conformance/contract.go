package conformance

import (
	"slices"

	"github.com/tenantfleet/tenantfleet/components"
)

// checkWorkloads checks that each tenant's web app and worker carry the
// environment contract exactly once each.
func checkWorkloads(fs *findings, p *Profile, g *Graph) {
	seen := map[string]int{}
	for _, r := range g.Custom() {
		for _, env := range p.WorkloadEnv(r) {
			checkWorkload(fs, r, env.Plain, env.Secret, seen)
		}
	}
	for _, spec := range Tenants() {
		for _, w := range []string{components.WorkloadWeb, components.WorkloadWorker} {
			if seen[spec.ID+"/"+w] != 1 {
				fs.add("contract", "tenant %s: %d %s workloads carry the environment contract, want 1", spec.ID, seen[spec.ID+"/"+w], w)
			}
		}
	}
}

// checkWorkload checks one workload's environment against the contract.
func checkWorkload(fs *findings, r Resource, plain map[string]string, secret []string, seen map[string]int) {
	workload, tenant := plain[components.EnvWorkload], plain[components.EnvTenantID]
	seen[tenant+"/"+workload]++
	for _, name := range components.ContractVariables() {
		isSecret := slices.Contains(secret, name)
		_, isPlain := plain[name]
		switch {
		case name == components.EnvDatabasePassword && isPlain:
			fs.add("contract", "%s: %s is a plain value; it must come from the secret store", r, name)
		case name == components.EnvDatabasePassword && !isSecret:
			fs.add("contract", "%s: %s is missing", r, name)
		case name == components.EnvPort && workload == components.WorkloadWorker:
			if isPlain {
				fs.add("contract", "%s: the worker has no port but gets PORT", r)
			}
		case name != components.EnvDatabasePassword && !isPlain:
			fs.add("contract", "%s: %s is missing", r, name)
		}
	}
	for name := range plain {
		if name != components.EnvDatabasePassword && secretKey.MatchString(name) {
			fs.add("contract", "%s: %s is a plain value; it must come from the secret store", r, name)
		}
	}
}
