package conformance

import "github.com/pulumi/pulumi/sdk/v3/go/common/resource"

// checkUnique checks that no URN is registered twice (Pulumi's mocks
// accept it, the engine does not) and no two resources of a type share a
// physical name.
func checkUnique(fs *findings, p *Profile, g *Graph) {
	urns := map[resource.URN]int{}
	for _, r := range g.Resources {
		urns[r.URN]++
	}
	for urn, n := range urns {
		if n > 1 {
			fs.add("unique-urn", "URN %s is registered %d times", urn, n)
		}
	}
	names := map[string]string{}
	for _, r := range g.Custom() {
		for _, key := range p.NameKeys {
			v, ok := r.Inputs[resource.PropertyKey(key)]
			if !ok || !v.IsString() {
				continue
			}
			id := r.Type + " " + key + "=" + v.StringValue()
			if prev, dup := names[id]; dup {
				fs.add("unique-name", "%s and %s share the physical name %q", prev, r, v.StringValue())
			}
			names[id] = r.String()
		}
	}
}
