// Package rabbittest starts a real RabbitMQ node for a test: Debian's
// rabbitmq-server, run as the current user on free loopback ports, with its
// data, logs, configuration, Erlang cookie and epmd private to the test's
// temporary directory, and the management plugin enabled (the HTTP API the
// messaging-topology operator speaks). Start fails the test, naming
// `make kube`, when rabbitmq-server is not installed.
package rabbittest
