//go:build tools

// Package tools pins RabbitMQ's messaging topology operator that tenantfleet
// builds into ./bin/messaging-topology-operator for the Kubernetes tests
// (providers/kubernetes/kubetest). It lives in its own module so the
// operator's dependency graph (controller-runtime, client-go, RabbitMQ's
// cluster operator) never moves the versions the tenantfleet program itself
// builds against, nor those tools/kubernetes builds the control plane with.
package tools

import (
	_ "github.com/rabbitmq/messaging-topology-operator"
)
