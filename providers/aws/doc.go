// Package aws is tenantfleet's AWS adapter: RDS for PostgreSQL, ECS Fargate
// (the web app behind an Application Load Balancer, and the background
// worker), SQS work queues with dead-letter queues, and SNS fanouts into SQS,
// in the region of aws:region and the network of tenantfleet:aws (vpcId,
// publicSubnetIds, privateSubnetIds, certificateArn; all optional).
//
// # Per stack
//
// Nothing: AWS needs no stack-wide piece, so the adapter has no Platform.
// Each tenant has its own network rules and cluster instead (its Foundation),
// and the fanout's topic belongs to the fanout. Without vpcId the network is
// the account's default VPC with its default subnet in each Availability
// Zone, found by read-only lookups (safe in a preview), not created.
//
// # Per tenant
//
// 29 resources, 30 with certificateArn:
//   - foundation: three security groups (load balancer, workloads, database),
//     an RDS subnet group, an ECS cluster (Container Insights on), a
//     CloudWatch log group kept 30 days, and ECS's execution role with the
//     managed AmazonECSTaskExecutionRolePolicy;
//   - database: an RDS instance (class and Multi-AZ from sizes.go: small
//     db.t4g.micro, medium db.m7g.large, large db.r7g.xlarge Multi-AZ) and
//     the random suffix of its final snapshot's name;
//   - queue: an SQS queue, its dead-letter queue and a redrive-allow policy;
//   - web: the rule opening the web port to the workloads from the load
//     balancer, an internet-facing ALB, a target group (health check
//     /healthz), an HTTP listener (plus an HTTPS listener with
//     certificateArn), a task role and its policy, an execution-role policy
//     for the database secret, a task definition, a service, and an
//     autoscaling target with a CPU target-tracking policy (60 %);
//   - worker: a task role and its policy, an execution-role policy for the
//     database secret, a task definition and a service of one task.
//
// # Per fanout
//
// An SNS topic encrypted with the AWS-managed key alias/aws/sns. Per
// subscriber: the SNS subscription and two queue policies (on its queue and
// its dead-letter queue) that let only this topic send. A subscriber with a
// queue of its own adds that queue, its dead-letter queue and a
// redrive-allow policy; a subscriber naming a tenant subscribes that
// tenant's queue.
//
// # Decisions
//
// Web app: ECS Fargate, not App Runner. App Runner no longer accepts new
// customers (AWS's App Runner availability change), it pulls only from ECR,
// and it cannot inject one key of a JSON secret. With Fargate the web app and
// the worker share one cluster, one secret-injection mechanism (the
// RDS-managed secret's "password" key) and one scaling model.
//
// Network: traffic flows only internet → load balancer → workloads →
// database, each hop its own security group; the database accepts 5432 from
// the workloads' group only and is not publicly accessible. Without vpcId the
// tasks get public IPs so they reach SQS, ECR and Secrets Manager without a
// NAT gateway (only the load balancer accepts inbound traffic either way);
// only the default subnet of each Availability Zone is used, because a load
// balancer takes at most one subnet per zone. With vpcId the private subnets
// need a NAT gateway or VPC endpoints for those services.
//
// Database password: ManageMasterUserPassword, so AWS generates the password,
// keeps it in Secrets Manager and rotates it, and no password ever passes
// through Pulumi state (Credentials is only the secret's ARN). ECS injects
// its "password" key as DATABASE_PASSWORD at task start; the task role may
// read the secret too, so a long-running task re-reads a rotated password
// rather than waiting for a restart.
//
// Database lifecycle: a final snapshot is always taken on delete, so deleting
// a tenant never loses its data silently. Its name, <identifier>-final-<8 hex
// digits>, is drawn once per instance lifetime (a RandomId kept in state
// whose keepers are the inputs that replace the instance), so it is stable
// across updates yet new when a tenant is deleted and signed up again or its
// instance is replaced. Deletion protection is RDS's own flag; storage is
// encrypted gp3.
//
// Replacements: physical names are fixed (account-unique names from
// providers/naming), so every resource is DeleteBeforeReplace: a new one
// could not take the name of the old. Stack names beginning with sg- or
// internal- get an x in front of security group and load balancer names,
// which AWS refuses with those prefixes.
//
// Encryption of queues: SQS-managed keys, not the aws/sqs KMS key, because
// SNS cannot deliver into a queue encrypted with the AWS-managed KMS key.
//
// Fanout delivery: raw message delivery, so subscribers read the published
// body and attributes as they were sent; a filter is an SNS filter policy on
// message attributes; SNS delivery failures go to the subscriber's
// dead-letter queue.
//
// Access: each workload's task role may use its own tenant's queue (the web
// app send and consume, the worker consume only) and read its own database
// secret, nothing else. The web service's running count belongs to
// autoscaling after creation (desiredCount is ignored on update); services
// roll back a failing deployment (the ECS circuit breaker). Task definitions
// run linux/X86_64 images.
//
// # Unverified
//
// Nothing here has been applied to a real AWS account (no credentials exist
// where tenantfleet is built): the adapter is checked against pulumi-aws
// v6.83.2's Go types and by the conformance suite's assertions on the inputs
// it registers, under mocks. A first real deployment should confirm:
//   - the default-VPC lookups (LookupVpc, GetSubnets with default-for-az);
//   - ECS's injection of one key of the RDS-managed secret
//     ("<arn>:password::"), taken from the ECS documentation;
//   - that a replaced instance gets a new snapshot suffix: the keepers are the
//     inputs terraform-provider-aws marks ForceNew
//     (internal/service/rds/instance.go), read, not observed;
//   - the provider rules in rules.go (names, descriptions, reserved words):
//     each is read from the terraform-provider-aws validator or the AWS API
//     reference it cites; the APIs' own checks run only at a real update.
package aws
