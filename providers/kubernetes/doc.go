// Package kubernetes is tenantfleet's Kubernetes adapter: a tenant unit is
// a namespace of its own on any conformant cluster (1.30 or later), its
// database and queues custom resources of operators the platform team
// already runs, declared through pulumi-kubernetes (SDK and plugin v4.25.0)
// with server-side apply, so the cluster's own controllers do the work.
//
// Stack config tenantfleet:kubernetes (strict: unknown fields are errors):
//
//	context             kubeconfig context to deploy with (or inCluster: true)
//	ingress             className, baseDomain, namespace (the controller's), clusterIssuer (optional)
//	storageClass        the databases' volumes ("" for the cluster's default)
//	database            operator (cloudnative-pg), operatorNamespace, imageRepository
//	queue               operator (nack), url (nats://host:port), namespace (the NATS server's), replicas
//
// Prerequisites, installed by the platform team, never by tenantfleet: an
// ingress controller, CloudNativePG (CRD postgresql.cnpg.io/v1 Cluster,
// tested against the CRD of cloudnative-pg v1.30.1) and a NATS server with
// JetStream plus the NACK controller (CRDs jetstream.nats.io/v1beta2 Stream
// and Consumer, tested against the CRDs of NACK v0.23.0; see kubetest/crds).
//
// # Per stack
//
// The Platform component holds the explicit kubernetes provider (the
// config's context, or in-cluster) that every object is declared with, and
// the stack's namespace, which holds the fanout's streams. Nothing
// cluster-scoped besides namespaces is declared: no CRDs, no ClusterRoles,
// no operators.
//
// # Per tenant
//
// A namespace named <project>-<stack>-<tenant>-<hash> (the tags as labels, shaped to
// label values where a stack name is not one, and exactly as annotations
// tenantfleet.dev/*), enforcing the Pod Security "restricted" level, with:
//   - a ResourceQuota sized from the spec: the database cluster's instances
//     at the tier's size plus one of CloudNativePG's jobs, the web app at
//     maxInstances plus a surging and a terminating pod, the worker the
//     same; storage for each instance's volume; no LoadBalancer or NodePort
//     Services;
//   - a LimitRange: containers that state nothing get the worker's size,
//     none may exceed the largest workload;
//   - network policies: default deny (ingress and egress) with DNS to
//     kube-dns; the web pods admit only the ingress controller's namespace
//     on web.port; the database pods admit only the tenant's web and worker
//     pods on 5432, each other, and the operator's namespace on the status
//     port 8000; the workloads may reach only their database pods and the
//     NATS server's namespace on its port;
//   - database: a CloudNativePG Cluster bootstrapped with database and
//     owner app_<tenant>, whose password the operator generates into the
//     Secret db-app (never in Pulumi's state: the credentials output is a
//     reference to it); tier small is 1 instance of 500m/1Gi, medium 2 of
//     1/4Gi, large 3 of 2/8Gi; storageGB per instance; deletionProtection
//     is Pulumi's protect;
//   - queue: NACK Streams (a work-queue stream and its dead-letter stream)
//     and a Consumer ("worker": explicit acks, ackWait the visibility
//     timeout, no delivery limit of its own); the client dead-letters: a
//     message nacked on delivery maxReceiveCount, or arriving once more
//     after its reader failed that delivery without a nack, is published to
//     the dead-letter stream with its headers, origin and reason, then
//     terminated (QUEUE_URL carries maxReceiveCount; the dead-letter
//     stream's duplicate window outlasts the visibility timeout, so a
//     message moved twice after a crash is stored once);
//   - web: a ServiceAccount (no token mounted), a Deployment probed on
//     /healthz, a ClusterIP Service, an Ingress
//     <project>-<stack>-<tenant>-<hash>.<baseDomain> (https with
//     cert-manager when clusterIssuer is set, and a network policy that
//     admits the ingress controller to cert-manager's HTTP-01 solver pods),
//     and a HorizontalPodAutoscaler on 70% CPU between minInstances and
//     maxInstances, which owns the replica count (min = max included);
//   - worker: a ServiceAccount and a Deployment of one replica.
//
// The engine waits for the operators: the Cluster, the Streams and the
// Consumer carry pulumi.com/waitFor condition=Ready (30 minutes at most),
// and the Deployments are declared after the database and the consumer, so
// their pods find the Secret db-app and the consumer they bind.
//
// Every container runs as uid/gid 65532 (tenantfleet's images' user),
// non-root, without privilege escalation or capabilities, on a read-only
// root filesystem with an emptyDir /tmp, requests equal to limits.
// Pulumi owns the fields it declares (pulumi.com/patchForce): a change
// behind the engine is drift that the next up takes back.
// DATABASE_PASSWORD comes from the Secret by secretKeyRef, never as a value.
//
// # Per fanout
//
// A topic stream in the stack's namespace (limits retention, 14 days), and
// per subscriber a server-side apply patch of the subscriber queue's
// Stream adding the topic as its source, its subject transformed to the
// queue's own, which the queue's consumer filters on (a StreamPatch owned
// by the subscription, so the queue's own declaration never removes it); a
// subscriber with a queue of its own adds that queue in the stack's
// namespace. Topic.ID is nats://host:port?stream=...&subject=..., what
// `tenantfleet publish` and the queue package read.
//
// # Decisions
//
// CloudNativePG over a plain StatefulSet: failover, standbys, TLS with a
// per-cluster CA and rolling minor upgrades are the operator's, as they are
// a managed service's on the other clouds; a StatefulSet would make
// tenantfleet a database operator. It is the CNCF's PostgreSQL operator.
//
// NATS JetStream through NACK over RabbitMQ's topology operator or Strimzi:
// the apps' queue client already speaks JetStream (the local cloud's), so
// the same image runs unchanged; a work-queue stream with a durable
// consumer is a queue with a visibility timeout and a delivery limit, and
// stream sources are the fanout's copy to every subscriber.
//
// Filters are refused: JetStream sources filter on subjects, a publisher's
// message attributes are headers, which no stream filters on.
//
// Shared database placement is refused: each tenant's database is a
// cluster of its own inside its namespace, the isolation Kubernetes tenants
// expect (a shared cluster would need a cross-namespace network policy).
//
// Images need a tag or a digest and may not be latest: the kubelet pulls
// latest on every start, so a rollout would not be the image reviewed.
// CPU and memory are capped at 16 vCPUs and 64 GiB per pod.
//
// # Unverified
//
// The tests run a real kube-apiserver v1.34.4 with etcd and the
// garbage-collector and namespace controllers, the operators' CRDs
// installed (kubetest): they prove every object is accepted by the API's
// schemas and admission and that up, preview, refresh and destroy behave.
// No kubelet, scheduler, ingress controller or operator runs there, so the
// test skips the provider's readiness waits (the pulumi.com/skipAwait
// annotation, added by the test's program only): pods never start, the
// network policies are never enforced (that needs a CNI that enforces
// them), CloudNativePG never creates the database and NACK never creates
// the streams (the client's dead-lettering is tested against nats-server
// in the queue package). Backups: backupRetentionDays is accepted, but
// CloudNativePG needs an object store for backups, which the adapter does
// not configure yet. A shared NATS server is reachable by every tenant's
// pods: per-tenant NATS accounts are not declared, so the queue is
// isolated by name only. DNS egress is to kube-dns pods in kube-system on
// port 53: NodeLocal DNSCache and OpenShift's DNS need another policy. The
// database pods may reach any address on 443 and 6443 (the API server's
// address differs per cluster). A new fanout subscriber
// receives the topic's retained history (14 days), where the local cloud
// starts at the subscription. The HorizontalPodAutoscaler needs
// metrics-server.
package kubernetes
