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
//	queue               operator (nack), url (nats://host:port), namespace (the NATS server's)
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
// A namespace named <stack>-<tenant>-<hash> (the tags as labels, shaped to
// label values where a stack name is not one, and exactly as annotations
// tenantfleet.dev/*), enforcing the Pod Security "restricted" level, with:
//   - a ResourceQuota sized from the spec: the database cluster's instances
//     at the tier's size, the web app at maxInstances plus one surging pod,
//     the worker plus one surging pod; storage for each instance's volume;
//     no LoadBalancer or NodePort Services;
//   - a LimitRange: containers that state nothing get the worker's size,
//     none may exceed the largest workload;
//   - network policies: default deny (ingress and egress) with DNS to
//     kube-dns; the web pods admit only the ingress controller's namespace
//     on web.port; the database pods admit only the tenant's web and worker
//     pods on 5432, each other, and the operator's namespace on the status
//     port 8000; the workloads may reach only their database pods and the
//     NATS server's namespace on its port;
//   - database: a kubernetes.io/basic-auth Secret holding a generated
//     password (random, kept in state as a secret) and a CloudNativePG
//     Cluster bootstrapped with database and owner app_<tenant> from it;
//     tier small is 1 instance of 500m/1Gi, medium 2 of 1/4Gi, large 3 of
//     2/8Gi; storageGB per instance; deletionProtection is Pulumi's protect;
//   - queue: NACK Streams (a work-queue stream and its dead-letter stream)
//     and a Consumer ("worker": explicit acks, ackWait the visibility
//     timeout, maxDeliver maxReceiveCount+1); the client dead-letters: a
//     message nacked on delivery maxReceiveCount, or arriving once more
//     after its reader failed that delivery without a nack, is published to
//     the dead-letter stream with its headers, origin and reason, then
//     terminated (QUEUE_URL carries maxReceiveCount);
//   - web: a ServiceAccount (no token mounted), a Deployment probed on
//     /healthz, a ClusterIP Service, an Ingress <stack>-<tenant>-<hash>.<baseDomain>
//     (https with cert-manager when clusterIssuer is set), and a
//     HorizontalPodAutoscaler on 70% CPU between minInstances and
//     maxInstances (a fixed replica count when they are equal);
//   - worker: a ServiceAccount and a Deployment of one replica.
//
// Every container runs non-root, without privilege escalation or
// capabilities, on a read-only root filesystem, requests equal to limits.
// DATABASE_PASSWORD comes from the Secret by secretKeyRef, never as a value.
//
// # Per fanout
//
// A topic stream in the stack's namespace (limits retention, 14 days), and
// per subscriber a server-side apply patch of the subscriber queue's
// Stream adding the topic as its source (a StreamPatch owned by the
// subscription, so the queue's own declaration never removes it); a
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
// pods: per-tenant NATS accounts are not declared.
package kubernetes
