package components

import (
	"slices"
	"strconv"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// The environment contract: every web app and background container gets these
// variables on every cloud, so one app image runs unchanged anywhere.
// The README documents them; keep the two in step.
const (
	EnvTenantID         = "TENANT_ID"
	EnvCloud            = "TENANTFLEET_CLOUD"
	EnvStack            = "TENANTFLEET_STACK"
	EnvWorkload         = "TENANTFLEET_WORKLOAD"
	EnvImage            = "TENANTFLEET_IMAGE"
	EnvDatabaseHost     = "DATABASE_HOST"
	EnvDatabasePort     = "DATABASE_PORT"
	EnvDatabaseName     = "DATABASE_NAME"
	EnvDatabaseUser     = "DATABASE_USER"
	EnvDatabasePassword = "DATABASE_PASSWORD"
	EnvDatabaseSSLMode  = "DATABASE_SSLMODE"
	EnvQueueURL         = "QUEUE_URL"
	EnvDeadLetterURL    = "DEAD_LETTER_QUEUE_URL"
	EnvPort             = "PORT"
	WorkloadWeb         = "web"
	WorkloadWorker      = "worker"
)

// Variables only some clouds set: EnvQueuePassword where the queue needs a
// password (DigitalOcean's Kafka; clouds with workload identity leave it
// unset), EnvQueueCACert where the queue's brokers present certificates of
// a private CA (the PEM certificate; not a secret).
const (
	EnvQueuePassword = "QUEUE_PASSWORD"
	EnvQueueCACert   = "QUEUE_CA_CERT"
)

// ContractVariables lists every variable of the environment contract.
// PORT is set for the web app only.
func ContractVariables() []string {
	return []string{
		EnvTenantID, EnvCloud, EnvStack, EnvWorkload, EnvImage,
		EnvDatabaseHost, EnvDatabasePort, EnvDatabaseName, EnvDatabaseUser, EnvDatabasePassword, EnvDatabaseSSLMode,
		EnvQueueURL, EnvDeadLetterURL, EnvPort,
	}
}

// IsContractVariable reports whether name belongs to the environment contract,
// including the variables only some clouds set (QUEUE_PASSWORD, QUEUE_CA_CERT).
func IsContractVariable(name string) bool {
	return slices.Contains(ContractVariables(), name) || name == EnvQueuePassword || name == EnvQueueCACert
}

// contractEnv builds the plain (non-secret) part of the contract for one
// workload, merged with the spec's own variables. TENANTFLEET_IMAGE is the
// image reference as the spec gives it (web.image, worker.image), so an app
// can show which image it runs. DATABASE_PASSWORD is left to
// the adapter, which injects it from the cloud's secret store.
func contractEnv(cloud string, scope Scope, workload, image string, port int, db *Database, q *Queue, extra map[string]string) pulumi.StringMap {
	env := pulumi.StringMap{
		EnvTenantID:        pulumi.String(scope.Tenant),
		EnvCloud:           pulumi.String(cloud),
		EnvStack:           pulumi.String(scope.Stack),
		EnvWorkload:        pulumi.String(workload),
		EnvImage:           pulumi.String(image),
		EnvDatabaseHost:    db.Host,
		EnvDatabasePort:    db.Port.ApplyT(func(p int) string { return strconv.Itoa(p) }).(pulumi.StringOutput),
		EnvDatabaseName:    db.Name,
		EnvDatabaseUser:    db.User,
		EnvDatabaseSSLMode: pulumi.String(db.SSLMode),
		EnvQueueURL:        q.URL,
		EnvDeadLetterURL:   q.DeadLetterURL,
	}
	if port != 0 {
		env[EnvPort] = pulumi.String(strconv.Itoa(port))
	}
	for _, k := range sortedKeys(extra) {
		env[k] = pulumi.String(extra[k])
	}
	return env
}
