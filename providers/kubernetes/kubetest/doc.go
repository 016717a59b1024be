// Package kubetest starts a real Kubernetes control plane for a test: etcd,
// kube-apiserver and kube-controller-manager (only its namespace,
// garbage collector and resource quota controllers) on free loopback ports,
// in the test's temporary directory, with the CustomResourceDefinitions the Kubernetes adapter
// declares (CloudNativePG's Cluster and RabbitMQ's messaging topology
// operator's kinds; see crds/README.md) installed and
// served. Nothing runs pods: the cluster holds
// objects, validates them against their schemas, and deletes namespaces and
// dependents as a real one does, which is what a Pulumi program's up, refresh
// and destroy need.
//
// The control plane is built by `make kube` (scripts/build-kubernetes.sh):
// bin/kube-apiserver and bin/kube-controller-manager at the repository's root,
// and etcd on PATH. Start fails the test, naming what is missing, when one is
// not there.
//
// Cluster.StartTopologyOperator runs RabbitMQ's messaging topology operator
// (bin/messaging-topology-operator, also built by `make kube`) against the
// cluster, so that its Vhost, User, Permission, Queue, Exchange and Binding
// objects are declared in a real RabbitMQ (queue/rabbittest) and become Ready.
package kubetest
