// Package localoffline is the offline model of the local cloud: it answers
// the engine the way the tenantfleet-local plugin would (loopback database
// endpoints, a generated password, NATS queue and topic URLs and web process
// URLs), with no runtime running. The tests of anything that runs the local
// adapter use it.
package localoffline
