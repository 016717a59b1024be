package conformance

// checkParents checks that every cloud resource is inside a TenantUnit,
// MessagingFanout or Platform: none escapes its component.
func checkParents(fs *findings, g *Graph) {
	for _, r := range g.Custom() {
		if r.Parent == "" {
			fs.add("parented", "%s has no parent: it escapes its component", r)
			continue
		}
		if _, ok := componentOf(g, r); !ok {
			fs.add("parented", "%s is not inside a TenantUnit, MessagingFanout or Platform (parent %s)", r, r.Parent)
		}
	}
}
