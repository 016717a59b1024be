// Package kubernetesoffline is the offline model of a Kubernetes cluster: it
// answers the engine the way the API server would (each object as applied,
// with the uid and the generation the server sets) and gives the generated
// database password a value, with no cluster and no network. The offline
// plan and the tests of anything that runs the Kubernetes adapter use it.
package kubernetesoffline
