// Package gcp is tenantfleet's Google Cloud adapter, on the pulumi-gcp
// provider: Cloud SQL for PostgreSQL, Cloud Run (the web app and the
// worker), Pub/Sub work queues with dead-letter topics, and Pub/Sub fanouts,
// in one project and region (tenantfleet:gcp {project, region}, defaulting
// to gcp:project and gcp:region).
//
// # Per stack
//
// The Platform component, 4 resources: a custom-mode VPC network with one
// subnet in the region (10.90.0.0/20), from which Cloud Run's Direct VPC
// egress gives every instance an address, and private services access (a
// reserved 10.100.0.0/16 with purpose VPC_PEERING and the Service Networking
// connection) through which every Cloud SQL instance gets its private
// address.
//
// # Per tenant
//
// 24 resources:
//   - database: a Cloud SQL instance (edition and machine from sizes.go:
//     small Enterprise db-g1-small, medium Enterprise db-custom-2-7680, large
//     Enterprise Plus db-perf-optimized-N-4 with a standby in another zone),
//     a database and a user named after the tenant, the password from
//     pulumi-random and a Secret Manager secret (replicated in the region
//     only) with the version holding it;
//   - queue: a topic (what producers publish to, Queue.ID) and a pull
//     subscription on it (QUEUE_URL, projects/P/subscriptions/S), a
//     dead-letter topic and a pull subscription on it
//     (DEAD_LETTER_QUEUE_URL), and the Pub/Sub service agent's publisher
//     member on the dead-letter topic and subscriber member on the
//     subscription;
//   - web: a service account, its IAM members (see Decisions), a public
//     Cloud Run service and its run.invoker member for allUsers;
//   - worker: a service account, its IAM members and an internal Cloud Run
//     service.
//
// # Per fanout
//
// A topic (topicId, projects/P/topics/T). Per subscriber with a queue of its
// own (5 resources): a pull subscription on the fanout topic (its queue, with
// the subscriber's settings and filter), a dead-letter topic with its
// subscription, and the service agent's two members. Per subscriber naming a
// tenant (8 resources): an Eventarc trigger on the fanout topic, a relay
// workflow, a service account for each, and their IAM members.
//
// # Decisions
//
// IAM: only resource-level, additive members, never a policy or binding,
// which would remove other members:
//   - each workload's own service account gets roles/secretmanager.secretAccessor
//     on its tenant's password secret, roles/pubsub.subscriber on its
//     tenant's queue subscription, and (web only, as on AWS and Azure)
//     roles/pubsub.publisher on its tenant's queue topic;
//   - each also gets roles/cloudsql.client, which GCP grants on a project
//     only, under the IAM condition resource.name ==
//     "projects/P/instances/I" for its tenant's instance. The password is the
//     access control on a private address; the role is for the Cloud SQL
//     connectors, which verify the server's identity beyond sslmode=require;
//   - allUsers gets roles/run.invoker on each web service (Cloud Run checks
//     IAM on every request; this binding is what makes the app public);
//   - the Pub/Sub service agent, service-<project number>@gcp-sa-pubsub,
//     gets roles/pubsub.publisher on every dead-letter topic and
//     roles/pubsub.subscriber on every subscription that dead-letters into
//     one, which is what dead-lettering needs;
//   - for a tenant subscriber, the relay's account gets roles/pubsub.publisher
//     on that tenant's queue topic only; the trigger's account, used by that
//     trigger alone, gets roles/workflows.invoker on the project (Workflows
//     has no per-workflow IAM; see relay in fanout.go) and
//     roles/eventarc.eventReceiver; the Pub/Sub service agent may create
//     tokens for the trigger's account (needed in projects created before
//     April 2021).
//
// Database network: private IP only (ipv4Enabled false, no authorized
// networks, sslMode ENCRYPTED_ONLY), chosen over a public IP behind the
// Cloud SQL connector because then no public address exists at all. Cloud
// Run reaches it with Direct VPC egress (no Serverless VPC Access connector
// VMs to run and pay for), egress PRIVATE_RANGES_ONLY. DATABASE_SSLMODE is
// require.
//
// Database lifecycle: backups are on with point-in-time recovery, keeping
// backupRetentionDays daily backups and logs for as long (capped at 7 days
// on Enterprise and 35 on Enterprise Plus); Cloud SQL keeps more backups
// than days of logs, so when the logs cover the whole retention one more
// backup is kept (7 days: 8 backups). deletionProtection turns on both
// Pulumi's flag and Cloud SQL's own (settings.deletionProtectionEnabled).
// storageGB is the initial disk: autoresize grows it, and the program leaves
// the size alone afterwards (a disk cannot shrink). Cloud SQL reserves a
// deleted instance's name for about a week; names carry a hash of stack and
// tenant, so a tenant removed and re-added within the week fails until then.
//
// Database names: the database and user are named after the tenant,
// PostgreSQL keywords such as user or order included (the names existing
// stacks have); a tenant id that would make a role name starting with pg_
// gets a hashed user name (naming.GCP). Ids naming a database or role every
// instance has (naming.CloudSQLPostgresDatabases and CloudSQLPostgresRoles:
// postgres, cloudsqladmin, ...) are refused, as they always were.
//
// Worker: a Cloud Run service, not a Cloud Run Job. A queue consumer runs for
// ever; a Job runs tasks to completion (and would have to be scheduled or
// restarted). The service has internal-only ingress and no invoker binding,
// exactly one instance, and its CPU always allocated (cpuIdle false) so it
// keeps working without requests. Cloud Run still sets PORT (8080) in the
// worker and declares its revision ready only once a TCP startup probe
// connects to that port: the worker must listen on $PORT (any listener; a
// /healthz answering 200 is enough). tenantfleet does not put PORT in the
// worker's env: the contract gives the worker no port, Cloud Run does.
// The web app's PORT is likewise set by Cloud Run from the container port
// (web.port); Cloud Run refuses PORT in env.
//
// CPU and memory: Cloud Run runs fractional vCPUs only with one request at
// a time, request-based billing and the first-generation environment, and
// never with always-allocated CPU, so every instance runs on at least 1 vCPU:
// 250 and 500 millicores are rounded up (and billed) as 1 vCPU. Memory is
// checked against Cloud Run's table (1 vCPU up to 4 GiB, 2 up to 8, 4 from
// 2 to 16): anything else is refused naming web.memoryMiB or worker.memoryMiB.
//
// Queue limits: Pub/Sub dead-letters after 5 to 100 delivery attempts, acks
// within 10 to 600 seconds and keeps a subscription's messages 10 minutes to
// 7 days; other values of maxReceiveCount, visibilityTimeoutSeconds and
// retentionSeconds are refused. A subscription keeps messages at most 7 days,
// short of the 14 days every dead-letter queue keeps: the dead-letter topic
// retains its messages 14 days, so a dead letter older than a week, gone from
// the subscription's backlog, can still be replayed into it with
// gcloud pubsub subscriptions seek --time. Subscriptions never expire (Pub/Sub
// otherwise deletes one after 31 days without a subscriber).
//
// Queue URLs: QUEUE_URL and DEAD_LETTER_QUEUE_URL are subscription names, not
// URLs; consumers pull from them with the Pub/Sub client libraries, and
// producers publish to the topic (Queue.ID).
//
// Fanout into a subscriber's own queue: the queue is a subscription on the
// fanout topic, not a queue a subscription forwards into (as on AWS and
// Azure): Queue returns its name and Subscribe creates it, and its Queue.ID
// is that subscription. A filter is a native Pub/Sub filter
// (attributes.a = "v1" OR ..., at most 256 bytes); since Pub/Sub filters are
// immutable, a filter change replaces the subscription, dropping its backlog.
//
// Fanout into a tenant's queue: Pub/Sub cannot forward one topic into
// another, and a tenant's worker reads one subscription for its work and its
// events. An Eventarc trigger on the fanout topic starts a workflow per
// message, which evaluates the filter on the message attributes and
// republishes data and attributes into the tenant's queue topic with the
// Pub/Sub connector, retrying transient errors. Delivery is at-least-once
// through Eventarc's retries (its subscription keeps an undelivered event 24
// hours), but there is no dead-letter queue for this hop: an execution that
// fails after its retries is recorded, with its error, in the workflow's
// execution history, and the message is not retried. Once in the tenant's
// topic, the tenant queue's own delivery attempts and dead-letter topic apply.
//
// Project APIs: required APIs are not enabled by the program (enabling an
// API is a project-wide change, and disabling it on destroy would break
// others): compute, servicenetworking, sqladmin, run, pubsub, secretmanager,
// eventarc, workflows, iam and cloudresourcemanager must be enabled first
// (see Pulumi.gcp.yaml).
//
// Destroy: destroying the platform needs one manual step. Cloud SQL holds its
// private services addresses for a while after an instance is deleted, so
// the Service Networking connection is abandoned on delete, and the VPC
// peering it leaves blocks the network's deletion until it is removed
// (gcloud compute networks peerings delete servicenetworking-googleapis-com
// --network=<network>).
//
// # Unverified
//
// Nothing here has been applied to a real Google Cloud project (no
// credentials exist where tenantfleet is built): the adapter is checked
// against pulumi-gcp v7.38.0's Go types and by the conformance suite's
// assertions on the inputs it registers, under mocks. A first real
// deployment should confirm:
//   - the relay workflow: its source is checked only against the syntax the
//     Workflows reference documents (workflowSyntax), not by the Workflows
//     service, and Eventarc's retry and 24-hour retention are as documented;
//   - the token-creator member for the Pub/Sub service agent, documented as
//     needed only in projects created before April 2021;
//   - the abandoned Service Networking connection and the manual peering
//     removal on destroy, and the week Cloud SQL reserves a deleted
//     instance's name, both from Google's documentation;
//   - the provider rules in rules.go, read from terraform-provider-google
//     and the API references they cite.
package gcp
