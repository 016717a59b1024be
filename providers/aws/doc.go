// Package aws is tenantfleet's AWS adapter: RDS for PostgreSQL, ECS Fargate
// (web app behind an Application Load Balancer, and the background worker),
// SQS work queues with dead-letter queues, and SNS fanouts into SQS.
//
// Why ECS Fargate and not App Runner for the web app: App Runner no longer
// accepts new customers (AWS's App Runner availability change), it pulls only
// from ECR, and it cannot inject one key of a JSON secret. With Fargate the web
// app and the worker share one cluster, one secret-injection mechanism (the
// RDS-managed secret's "password" key) and one scaling model.
package aws
