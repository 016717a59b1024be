// Package digitaloceanoffline is the offline model of DigitalOcean: it
// answers the engine the way DigitalOcean would (cluster hosts and ports,
// generated user passwords, secret, and App Platform live URLs), with no team
// and no network. The offline plan and the tests of anything that runs the
// DigitalOcean adapter use it.
package digitaloceanoffline
