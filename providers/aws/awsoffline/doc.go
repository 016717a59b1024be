// Package awsoffline is the offline model of AWS: it answers the engine the
// way AWS would (ARNs, queue URLs, database endpoints, the default-VPC
// lookups), with no account and no network. The offline plan and the tests
// of anything that runs the AWS adapter use it.
package awsoffline
