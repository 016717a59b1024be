package conformance

import "slices"

// checkDatabase checks every database resource with the profile's
// Database reader: nothing reachable from the internet, nothing unencrypted.
func checkDatabase(fs *findings, p *Profile, g *Graph) {
	for _, r := range g.Custom() {
		if slices.Contains(p.Kinds["database"], r.Type) {
			for _, problem := range p.Database(g, r) {
				fs.add("database", "%s: %s", r, problem)
			}
		}
	}
}
