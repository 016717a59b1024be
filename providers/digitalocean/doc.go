// Package digitalocean is tenantfleet's DigitalOcean adapter: managed
// PostgreSQL, App Platform (one app per tenant holding the web app and the
// worker) and managed Kafka for queues and fanouts, grouped in one project
// per stack, in the datacenter of tenantfleet:digitalocean.region (with
// kafka, sharedDatabase and forwarderImage in the same object).
//
// # Per stack
//
// The Platform component: a Project every cluster and app is created in
// (projectId; no ProjectResources is needed), the Kafka cluster (3 nodes,
// config kafka.size) holding every queue and fanout topic, and, with
// sharedDatabase in the config, the shared PostgreSQL cluster and its one
// firewall, which trusts every shared tenant's app. The firewall is declared
// by FinishPlatform (components.PlatformFinisher) once all tenants are,
// because a DigitalOcean firewall resource owns its cluster's whole rule set.
//
// # Per tenant
//
// 8 resources with placement dedicated (the default), 6 with shared:
//   - database: dedicated, a PostgreSQL cluster sized by the tier (sizes.go:
//     small db-s-1vcpu-1gb, medium db-s-2vcpu-4gb, large db-s-4vcpu-8gb with
//     a standby node) and a firewall trusting the tenant's app only; shared,
//     nothing of its own but a place in the shared cluster's firewall; either
//     way a database and a user;
//   - queue: a topic, a dead-letter topic and a Kafka user limited to both;
//   - web and worker: one App Platform app with a "web" service and a
//     "worker" worker, both with the environment contract: GENERAL plain
//     values, DATABASE_PASSWORD and QUEUE_PASSWORD as SECRET, at run time
//     only.
//
// # Per fanout
//
// A topic and a publisher user that may only produce to it (Native
// "topic-publisher": the publishers' credentials). Per subscriber: its own
// queue when it names no tenant (two topics and their user), a forwarder
// Kafka user (consume on the topic, produce on the queue, nothing else) and a
// forwarder app: one worker running config forwarderImage
// (cmd/tenantfleet-forwarder) with FORWARD_FROM, FORWARD_TO, FORWARD_PASSWORD
// (SECRET), FORWARD_FILTER and FORWARD_CA_CERT (the Kafka cluster's CA,
// looked up with getDatabaseCa: the brokers' certificates are signed by it,
// not by a public CA).
//
// # Decisions
//
// Queues and fanouts on Kafka: DigitalOcean has no managed queue or pub/sub.
// A queue is a Kafka topic read by one consumer group; a fanout copies its
// topic into each subscriber's queue through a forwarder, so a tenant
// subscriber's messages land in the tenant's own work queue, as SNS delivers
// into SQS. Rejected: Valkey streams (no per-user ACLs: on a shared cluster
// every tenant could read every stream), and one consumer group per
// subscriber on the fanout topic (a tenant's fanout messages would not land
// in its queue, and the queue's dead-letter and retention settings could not
// apply).
//
// How queues then differ from SQS and SNS:
//   - Kafka counts no deliveries and hides no message. The consumer (the
//     queue package, github.com/tenantfleet/tenantfleet/queue, which the
//     example app uses) honours maxReceiveCount and visibilityTimeout from
//     QUEUE_URL: a failed delivery is produced again to the topic with its
//     count in a header, and after maxReceiveCount deliveries to the
//     dead-letter topic with its headers and its origin, then committed. It
//     is at least once: a crash redelivers what was not committed.
//   - Order and parallelism follow partitions (3 per topic): at most three
//     consumers of a queue work at once, and an unsettled message holds back
//     its partition's commit (not its deliveries), where SQS hands the next
//     message to any free consumer.
//   - Retention deletes by time (retention.ms) whether or not a message was
//     consumed, like SQS; a consumed message stays until then (Kafka does not
//     delete on acknowledge), which only costs disk.
//   - The forwarder is at least once, as SNS into SQS: a crash between its
//     produce and its commit forwards a message twice. Filters match Kafka
//     record headers, the messages' attributes. The fanout topic keeps
//     messages 14 days, so a forwarder that is down for less loses none.
//   - Kafka clients must trust the cluster's own CA: the apps get its PEM
//     certificate as QUEUE_CA_CERT (the forwarder as FORWARD_CA_CERT).
//   - The web and the worker share the queue's user: both may produce and
//     consume, where the other clouds let the worker only consume.
//   - The Kafka cluster has no firewall: its apps could not all be listed
//     before the fanout's forwarders exist. It is reached over TLS with a
//     SASL/SCRAM user per queue, whose ACLs name its topics only.
//
// Queue URLs: QUEUE_URL is kafka://<user>@<host>:<port>/<topic>?group=<group>&maxReceiveCount=<n>&visibilityTimeout=<s>s,
// DEAD_LETTER_QUEUE_URL kafka://<user>@<host>:<port>/<dead-letter topic>,
// both SASL/SCRAM (QUEUE_PASSWORD) over TLS. Queue.ID and Topic.ID are topic
// names.
//
// Topic creation: topics are created one at a time, each depending on the
// topic registered before it. terraform-provider-digitalocean v2.69.0, which
// pulumi-digitalocean v4.55.0 bridges (no release bridges the fix, v2.99.1,
// yet), crashes when the API answers a topic creation "still provisioning";
// serial creation makes that rarer on a new cluster and orphans one topic at
// most when it happens, which `pulumi import
// digitalocean:index/databaseKafkaTopic:DatabaseKafkaTopic <name> <cluster
// id>/topic/<topic>` adopts (see kafkaTopic). The first update of a stack
// takes longer for it.
//
// Workloads: one app per tenant (components.CombinedWorkloads), because an
// App Platform app is the deployable unit that holds a service and a worker.
// Neutral CPU and memory round up to the cheapest App Platform size that has
// both (a shared vCPU counts as one; see sizes.go); min != max instances
// autoscale on CPU and need a dedicated size. The worker's command is its
// run command. Images come from DOCR, Docker Hub or GHCR, by tag or digest.
//
// Cost: the Kafka cluster is stack-wide and always 3 nodes (about three
// times a single node of kafka.size), whether the stack has one tenant or
// fifty; every subscriber adds a forwarder container (the smallest size).
//
// Backups: DigitalOcean keeps daily backups and point-in-time recovery for 7
// days, fixed; ValidateTenant refuses any other database.backupRetentionDays.
//
// Deletion protection: DigitalOcean has none, so a protected tenant's
// cluster and database are Pulumi-protected (pulumi.Protect): deleting them
// needs deletionProtection false and an update first, or `pulumi state
// unprotect`. The shared cluster is always protected.
//
// Network: apps reach PostgreSQL on its public host over TLS, admitted by the
// firewall's app rules; the private host would need App Platform VPC egress,
// not set up here.
//
// Tags: apps, projects and everything inside a cluster take no tags;
// clusters are tagged "key:value", and every cluster and app is in the
// stack's project.
//
// Names: a tenant id that would name a database every cluster has
// ("defaultdb") gets a hashed database name, one that would name a role every
// cluster has ("doadmin") or start with pg_ a hashed user name
// ("doadmin_1a2b3c4d"); every other id, PostgreSQL keywords such as "user"
// among them, is its own database and user name, as it always was.
//
// Regions and sizes: the config's region must have App Platform (not ric1),
// and a shared cluster on the smallest plan takes no standbys.
//
// # Unverified
//
// Nothing here has been applied to a real DigitalOcean team (no token exists
// where tenantfleet is built): the adapter is checked against
// pulumi-digitalocean v4.55.0's Go types and by the conformance suite's
// assertions on the inputs it registers, under mocks; the forwarder is
// tested against an in-process Kafka (kfake), not DigitalOcean's. A first
// real deployment should confirm:
//   - which sizes and database regions an account is offered: that is not
//     refused at preview (the API reference shows an example only), but
//     rules.go checks the documented ones;
//   - the topic-creation crash above and its workaround, known from the
//     provider's issue and fix, not seen here;
//   - the provider rules in rules.go, transcribed from
//     terraform-provider-digitalocean's v2.69.0 tag (its module is not on
//     the Go module proxy, so its schemas cannot run here) and the API
//     reference.
package digitalocean
