//go:build tools

// Package tools pins the Kubernetes control plane (kube-apiserver and
// kube-controller-manager) that tenantfleet builds into ./bin for the
// Kubernetes tests (providers/kubernetes/kubetest). It lives in its own module
// so Kubernetes' large dependency graph never moves the versions the
// tenantfleet program itself builds against.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
)
