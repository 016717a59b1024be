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
//	queue               operator (rabbitmq-messaging-topology), url (amqp[s]://host:port),
//	                    namespace (RabbitMQ's), rabbitmqCluster or connectionSecret (in that namespace)
//
// Prerequisites, installed by the platform team, never by tenantfleet: an
// ingress controller, CloudNativePG (CRD postgresql.cnpg.io/v1 Cluster,
// tested against the CRD of cloudnative-pg v1.30.1) and RabbitMQ (3.10 or
// later) with RabbitMQ's messaging-topology operator (CRDs
// rabbitmq.com/v1beta1, tested against v1.16.0 running on RabbitMQ 3.10;
// see kubetest/crds). The RabbitmqCluster or connection Secret the config
// names must carry the annotation rabbitmq.com/topology-allowed-namespaces
// (the stacks' and tenants' namespaces, or "*"): the objects that reference
// it live in those namespaces. The operator then acts as RabbitMQ's
// administrator for whoever may create rabbitmq.com objects there, so the
// cluster's RBAC must keep that to the deployer (and the operator): a
// User or Permission object made by anyone else could take over a
// tenant's user or grant itself a tenant's queue.
//
// # Per stack
//
// The Platform component holds the explicit kubernetes provider (the
// config's context, or in-cluster) that every object is declared with, and
// the stack's namespace, which holds the fanout, and the stack's RabbitMQ
// vhost (named as the namespace), which holds every queue and exchange of
// the stack. Nothing cluster-scoped besides namespaces is declared: no
// CRDs, no ClusterRoles, no operators.
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
//     port 8000; the workloads may reach only their database pods and
//     RabbitMQ's namespace on the AMQP port;
//   - database: a CloudNativePG Cluster bootstrapped with database and
//     owner app_<tenant>, whose password the operator generates into the
//     Secret db-app (never in Pulumi's state: the credentials output is a
//     reference to it); tier small is 1 instance of 500m/1Gi, medium 2 of
//     1/4Gi, large 3 of 2/8Gi; storageGB per instance; deletionProtection
//     is Pulumi's protect;
//   - queue: in the stack's vhost, a quorum queue <q> and its dead-letter
//     quorum queue <q>.dead-letter (<q> is <project>-<stack>-<tenant>-work
//     and a hash, at most 48 characters), a direct exchange <q> bound to
//     the queue, which senders publish to, and a policy (mutable, unlike
//     queue arguments) by which RabbitMQ itself dead-letters a message once
//     it has been delivered maxReceiveCount times (delivery-limit
//     maxReceiveCount-1, at-least-once through the default exchange),
//     message-ttl the retention (a message that outlives it is
//     dead-lettered as well, x-first-death-reason expired, not deleted as
//     on SQS); the dead-letter queue keeps 14 days;
//   - the queue's user <q>, whose password the topology operator generates
//     into the Secret <q>-user-credentials (never in Pulumi's state: the
//     adapter hands it only the username), with a permission that
//     configures nothing, writes to the exchange <q> and reads the queue
//     and its dead-letter queue, nothing else: only the tenant's pods,
//     which mount that Secret, reach its queue. QUEUE_URL is
//     amqp://<q>@host:port/<vhost>?queue=<q>&exchange=<q>, QUEUE_PASSWORD
//     comes from the Secret by secretKeyRef;
//   - web: a ServiceAccount (no token mounted), a Deployment probed on
//     /healthz, a ClusterIP Service, an Ingress
//     <project>-<stack>-<tenant>-<hash>.<baseDomain> (https with
//     cert-manager when clusterIssuer is set, and a network policy that
//     admits the ingress controller to cert-manager's HTTP-01 solver pods),
//     and a HorizontalPodAutoscaler on 70% CPU between minInstances and
//     maxInstances, which owns the replica count (min = max included);
//   - worker: a ServiceAccount and a Deployment of one replica.
//
// The engine waits for the operators: the Cluster and every RabbitMQ object
// carry pulumi.com/waitFor condition=Ready (30 minutes at most), and the
// Deployments are declared after the database, the queues, their policies,
// bindings and permission, so their pods find the Secrets db-app and
// <q>-user-credentials and a queue that dead-letters from the start.
//
// Every container runs as uid/gid 65532 (tenantfleet's images' user),
// non-root, without privilege escalation or capabilities, on a read-only
// root filesystem with an emptyDir /tmp, requests equal to limits.
// Pulumi owns the fields it declares (pulumi.com/patchForce): a change
// behind the engine is drift that the next up takes back.
// DATABASE_PASSWORD and QUEUE_PASSWORD come from Secrets by secretKeyRef,
// never as values.
//
// # Per fanout
//
// A headers exchange <t> in the stack's vhost, and a publisher user <t>
// that may write to it only (its password in the Secret
// <t>-user-credentials of the stack's namespace). Per subscriber, bindings
// of the exchange to the subscriber's queue (a queue of its own, declared
// as a tenant's is, in the stack's namespace, or its tenant's work queue):
// one matching every message, or with a filter one per value (x-match all
// on attribute = value; a message is routed to a queue once however many
// bindings match), each object named after what identifies its binding in
// RabbitMQ, so no two objects declare one binding (the operator deletes
// the binding an object names when the object goes). One subscriber per
// tenant queue: a second would declare the same binding. Topic.ID is amqp://<t>@host:port/<vhost>?exchange=<t>,
// what `tenantfleet publish` (with QUEUE_PASSWORD) and the queue package
// take. The topic keeps nothing: a subscriber receives what is published
// after its binding exists, as on the local cloud.
//
// # Decisions
//
// CloudNativePG over a plain StatefulSet: failover, standbys, TLS with a
// per-cluster CA and rolling minor upgrades are the operator's, as they are
// a managed service's on the other clouds; a StatefulSet would make
// tenantfleet a database operator. It is the CNCF's PostgreSQL operator.
//
// RabbitMQ through its messaging-topology operator over NATS JetStream
// through NACK or Strimzi's KafkaTopic/KafkaUser: the topology operator is
// the one that declares users and their permissions as Kubernetes objects
// in the tenant's namespace, with the generated credentials in a Secret
// there, so each tenant's queue is its own user's alone (NACK cannot
// declare NATS accounts or users, which live in the server's configuration;
// Strimzi writes a KafkaUser's Secret into the Kafka cluster's namespace,
// which a tenant's pods cannot mount). RabbitMQ also counts deliveries and
// dead-letters on the server (quorum queues' delivery-limit), and its
// headers exchange filters on message attributes. A queue policy, unlike
// queue arguments, changes on a live queue, so maxReceiveCount and the
// retention can change without recreating the queue. One vhost per stack,
// not per tenant, because a fanout's exchange routes only within a vhost;
// the users' permissions keep tenants apart inside it.
//
// The visibility timeout has no per-queue setting before RabbitMQ 3.12
// (consumer-timeout): a crashed reader's messages return as soon as its
// connection closes, and the broker's consumer_timeout (30 minutes by
// default) bounds a reader that holds one too long.
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
// No kubelet, scheduler, ingress controller or CloudNativePG runs there, so
// the test skips the provider's readiness waits on Deployments, Services,
// Ingresses and the database Cluster (the pulumi.com/skipAwait annotation,
// added by the test's program only): pods never start, the
// network policies are never enforced (that needs a CNI that enforces
// them), and CloudNativePG never creates the database. RabbitMQ's side is
// real: the messaging-topology operator v1.16.0 runs against a RabbitMQ
// 3.10 node, makes every RabbitMQ object Ready, and the apps' queue client,
// signed in with a tenant's generated credentials, works its queue, is
// refused another tenant's, sees the broker dead-letter after
// maxReceiveCount deliveries, and receives the fanout's messages as the
// filters say. Backups: backupRetentionDays is accepted, but
// CloudNativePG needs an object store for backups, which the adapter does
// not configure yet. DNS egress is to kube-dns pods in kube-system on
// port 53: NodeLocal DNSCache and OpenShift's DNS need another policy. The
// database pods may reach any address on 443 and 6443 (the API server's
// address differs per cluster). The HorizontalPodAutoscaler needs
// metrics-server.
package kubernetes
