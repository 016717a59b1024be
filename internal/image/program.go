package image

import (
	"fmt"
	"slices"
	"strings"
)

// Program is one of the repository's programs shipped as an image: the
// image's name, which is also its binary's name and the entrypoint /<Name>.
type Program struct {
	// Name names the image, its binary and the entrypoint: tenant-app.
	Name string
	// Package is the Go package of the binary's main, as its build info
	// records it; Build refuses a binary of another package.
	Package string
	// Description is the image's org.opencontainers.image.description.
	Description string
	// Ports are the image's exposed ports ("8080/tcp"): documentation for
	// `docker run -P`, as the Dockerfile's EXPOSE.
	Ports []string
}

// programs are the images `tenantfleet image build` makes, by name.
var programs = map[string]Program{
	"tenant-app": {
		Name:        "tenant-app",
		Package:     "github.com/tenantfleet/tenantfleet/examples/tenant-app",
		Description: "tenantfleet's example tenant app: `tenant-app web|worker` (TENANTFLEET_WORKLOAD or the argument picks the role)",
		Ports:       []string{"8080/tcp"},
	},
	"tenantfleet-forwarder": {
		Name:        "tenantfleet-forwarder",
		Package:     "github.com/tenantfleet/tenantfleet/cmd/tenantfleet-forwarder",
		Description: "tenantfleet's DigitalOcean fanout forwarder: a fanout's Kafka topic into a subscriber's queue",
	},
}

// Programs returns every program that has an image, sorted by name.
func Programs() []Program {
	out := make([]Program, 0, len(programs))
	for _, p := range programs {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b Program) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Names returns the names of Programs, sorted.
func Names() []string {
	var names []string
	for _, p := range Programs() {
		names = append(names, p.Name)
	}
	return names
}

// Lookup returns the program named name; an unknown name is an error listing
// the known ones.
func Lookup(name string) (Program, error) {
	p, ok := programs[name]
	if !ok {
		return Program{}, fmt.Errorf("no image named %q: the images are %s", name, strings.Join(Names(), ", "))
	}
	return p, nil
}
