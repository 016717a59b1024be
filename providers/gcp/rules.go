package gcp

import (
	"cmp"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/tenantfleet/tenantfleet/providers/naming"
	"github.com/tenantfleet/tenantfleet/providers/rules"
)

// Resource types the adapter registers and the rules judge.
const (
	typeNetwork       = "gcp:compute/network:Network"
	typeSubnetwork    = "gcp:compute/subnetwork:Subnetwork"
	typeGlobalAddress = "gcp:compute/globalAddress:GlobalAddress"
	typeSQLInstance   = "gcp:sql/databaseInstance:DatabaseInstance"
	typeSQLDatabase   = "gcp:sql/database:Database"
	typeSQLUser       = "gcp:sql/user:User"
	typeSecret        = "gcp:secretmanager/secret:Secret"
	typeAccount       = "gcp:serviceaccount/account:Account"
	typeTopic         = "gcp:pubsub/topic:Topic"
	typeSubscription  = "gcp:pubsub/subscription:Subscription"
	typeService       = "gcp:cloudrunv2/service:Service"
	typeWorkflow      = "gcp:workflows/workflow:Workflow"
	typeTrigger       = "gcp:eventarc/trigger:Trigger"
)

// Where the rules come from. pulumi-gcp v7.38.0 bridges the Google provider
// of the v5.4x line; its validators are read at hashicorp/terraform-provider-google
// v5.42.0. Most GCP names are checked by the APIs only: those rules cite the
// API reference.
const (
	tfp           = "hashicorp/terraform-provider-google v5.42.0 "
	srcLabels     = "https://cloud.google.com/resource-manager/docs/creating-managing-labels#requirements (keys 1-63 of lowercase letters, digits, _ and - starting with a lowercase letter; values 0-63 of the same; at most 64 labels; international letters also allowed, which tenantfleet never writes)"
	srcSQLBackups = "https://cloud.google.com/sql/docs/postgres/backup-recovery/backups (you can configure how many automated backups to retain, from 1 to 365)"
	srcPubSubName = "googleapis google/pubsub/v1/pubsub.proto Topic.name and Subscription.name (https://cloud.google.com/pubsub/docs/admin#resource_names): start with a letter, [A-Za-z0-9-_.~+%], 3-255 characters, not starting with goog"
)

var (
	gceName    = `^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$`
	pubsubName = `^[A-Za-z][-A-Za-z0-9_.~+%]{2,254}$`
)

// Rules are what Google Cloud refuses among the inputs the adapter registers.
var Rules = slices.Concat(
	[]rules.Rule{
		// Platform network.
		{Type: typeNetwork, Path: "name", Check: rules.Matches(gceName),
			Source: tfp + "google/services/compute/resource_compute_network.go name: verify.ValidateGCEName (google/verify/validation.go)"},
		{Type: typeSubnetwork, Path: "name", Check: rules.Matches(gceName),
			Source: tfp + "google/services/compute/resource_compute_subnetwork.go name: verify.ValidateGCEName"},
		{Type: typeSubnetwork, Path: "ipCidrRange", Check: rules.CIDR(),
			Source: tfp + "google/services/compute/resource_compute_subnetwork.go ip_cidr_range: verify.ValidateIpCidrRange"},
		{Type: typeGlobalAddress, Path: "name", Check: rules.Matches(gceName),
			Source: tfp + "google/services/compute/resource_compute_global_address.go name (1-63 characters matching [a-z]([-a-z0-9]*[a-z0-9])?, RFC 1035)"},

		// Cloud SQL instance.
		{Type: typeSQLInstance, Path: "name", Check: rules.Matches(`^[a-z][a-z0-9-]*$`),
			Source: "Cloud SQL Admin API, instance ID (https://cloud.google.com/sql/docs/postgres/instance-settings): lowercase letters, numbers and hyphens, starting with a letter"},
		{Type: typeSQLInstance, Path: "", Check: sqlInstanceIDLength(),
			Source: "Cloud SQL Admin API, instance ID: \"the total length must be 98 characters or less\" (google/cloud/sql/v1 SqlInstancesGetRequest.instance), read as project-id:instance-id as connection names spell it"},
		{Type: typeSQLInstance, Path: "settings.edition", Check: rules.OneOf("ENTERPRISE", "ENTERPRISE_PLUS"),
			Source: tfp + "google/services/sql/resource_sql_database_instance.go settings.edition: validation.StringInSlice"},
		{Type: typeSQLInstance, Path: "settings.availabilityType", Check: rules.OneOf("REGIONAL", "ZONAL"),
			Source: tfp + "google/services/sql/resource_sql_database_instance.go settings.availability_type: validation.StringInSlice"},
		{Type: typeSQLInstance, Path: "settings.diskType", Check: rules.OneOf("PD_SSD", "PD_HDD"),
			Source: tfp + "google/services/sql/resource_sql_database_instance.go settings.disk_type (PD_SSD or PD_HDD)"},
		{Type: typeSQLInstance, Path: "settings.diskSize", Check: rules.Between(10, math.MaxInt32),
			Source: tfp + "google/services/sql/resource_sql_database_instance.go settings.disk_size (\"The minimum value is 10GB\")"},
		{Type: typeSQLInstance, Path: "settings.ipConfiguration.sslMode", Check: rules.OneOf("ALLOW_UNENCRYPTED_AND_ENCRYPTED", "ENCRYPTED_ONLY", "TRUSTED_CLIENT_CERTIFICATE_REQUIRED"),
			Source: tfp + "google/services/sql/resource_sql_database_instance.go settings.ip_configuration.ssl_mode: validation.StringInSlice"},
		{Type: typeSQLInstance, Path: "settings", Check: tierOfEdition(),
			Source: "https://cloud.google.com/sql/docs/postgres/instance-settings (custom machines: 1 or an even number of vCPUs up to 96, 0.9-6.5 GB per vCPU in multiples of 256 MB, at least 3.75 GB) and https://cloud.google.com/sql/docs/postgres/machine-series-overview (Enterprise Plus: N2 db-perf-optimized-N-*, memory-optimized N2 db-memory-optimized-N-*; Enterprise: shared core and dedicated core; the newer C4A and N4 series are not admitted here)"},
		{Type: typeSQLInstance, Path: "settings", Check: logRetentionOfEdition(),
			Source: tfp + "google/services/sql/resource_sql_database_instance.go settings.backup_configuration.transaction_log_retention_days (\"from 1-7. (For PostgreSQL Enterprise Plus instances, from 1 to 35.)\")"},
		{Type: typeSQLInstance, Path: "settings.backupConfiguration.backupRetentionSettings.retainedBackups", Check: rules.Between(1, 365),
			Source: srcSQLBackups},
		{Type: typeSQLInstance, Path: "settings.backupConfiguration", Check: backupsOutliveLogs(),
			Source: "Cloud SQL Admin API, instances.insert/patch: \"Error 400: Invalid request: backup retention should be > transaction log retention.\" (quoted in terraform-google-modules/terraform-google-sql-db#785)"},

		// Cloud SQL database and user: PostgreSQL identifiers.
		{Type: typeSQLDatabase, Path: "name", Check: rules.Length(1, 63),
			Source: "PostgreSQL identifiers are at most NAMEDATALEN-1 = 63 bytes (https://www.postgresql.org/docs/current/sql-syntax-lexical.html#SQL-SYNTAX-IDENTIFIERS)"},
		{Type: typeSQLDatabase, Path: "name", Check: rules.NotReserved("database every Cloud SQL instance already has", naming.CloudSQLPostgresDatabases...),
			Source: "PostgreSQL's postgres, template0 and template1 and Cloud SQL's cloudsqladmin database on every instance (pg_database; see naming.CloudSQLPostgresDatabases): creating one fails, it exists"},
		{Type: typeSQLUser, Path: "name", Check: rules.Length(1, 63),
			Source: "PostgreSQL identifiers are at most NAMEDATALEN-1 = 63 bytes (https://www.postgresql.org/docs/current/sql-syntax-lexical.html#SQL-SYNTAX-IDENTIFIERS)"},
		{Type: typeSQLUser, Path: "name", Check: rules.NotReserved("user or role every Cloud SQL instance already has", naming.CloudSQLPostgresRoles...),
			Source: "https://cloud.google.com/sql/docs/postgres/users System users and roles (postgres, cloudsqladmin, cloudsqlimportexport, cloudsqlsuperuser, cloudsqliamuser, cloudsqliamserviceaccount on every instance; cloudsqlagent, cloudsqlreplica for monitoring and replication; see naming.CloudSQLPostgresRoles)"},
		{Type: typeSQLUser, Path: "name", Check: rules.NotMatches(`^(?i)pg_`, "starts with pg_, which PostgreSQL reserves for system roles"),
			Source: "postgres/postgres src/backend/commands/user.c CreateRole: IsReservedName, \"role name ... is reserved\" (role names starting with \"pg_\" are reserved)"},

		// Secret Manager.
		{Type: typeSecret, Path: "secretId", Check: rules.Matches(`^[A-Za-z0-9_-]{1,255}$`),
			Source: "googleapis google/cloud/secretmanager/v1/service.proto CreateSecretRequest.secret_id (at most 255 of letters, numerals, '-' and '_')"},

		// Service accounts.
		{Type: typeAccount, Path: "accountId", Check: rules.Matches(`^[a-z](?:[-a-z0-9]{4,28}[a-z0-9])$`),
			Source: tfp + "google/services/resourcemanager/resource_google_service_account.go account_id: verify.ValidateRFC1035Name(6, 30)"},
		{Type: typeAccount, Path: "displayName", Check: rules.Bytes(100),
			Source: "IAM API ServiceAccount.displayName (https://cloud.google.com/iam/docs/reference/rest/v1/projects.serviceAccounts): at most 100 UTF-8 bytes"},

		// Pub/Sub.
		{Type: typeTopic, Path: "name", Check: rules.Matches(pubsubName), Source: srcPubSubName},
		{Type: typeTopic, Path: "name", Check: rules.NotMatches(`^goog`, "starts with goog, which Pub/Sub reserves"), Source: srcPubSubName},
		{Type: typeTopic, Path: "messageRetentionDuration", Check: durationBetween(600, 31*24*3600),
			Source: tfp + "google/services/pubsub/resource_pubsub_topic.go message_retention_duration (\"Cannot be more than 31 days or less than 10 minutes\")"},
		{Type: typeSubscription, Path: "name", Check: rules.Matches(pubsubName), Source: srcPubSubName},
		{Type: typeSubscription, Path: "name", Check: rules.NotMatches(`^goog`, "starts with goog, which Pub/Sub reserves"), Source: srcPubSubName},
		{Type: typeSubscription, Path: "ackDeadlineSeconds", Check: rules.Between(10, 600),
			Source: tfp + "google/services/pubsub/resource_pubsub_subscription.go ack_deadline_seconds (minimum custom deadline 10 seconds, maximum 600)"},
		{Type: typeSubscription, Path: "messageRetentionDuration", Check: durationBetween(600, 7*24*3600),
			Source: tfp + "google/services/pubsub/resource_pubsub_subscription.go message_retention_duration (\"Cannot be more than 7 days or less than 10 minutes\")"},
		{Type: typeSubscription, Path: "deadLetterPolicy.maxDeliveryAttempts", Check: rules.Between(5, 100),
			Source: tfp + "google/services/pubsub/resource_pubsub_subscription.go dead_letter_policy.max_delivery_attempts (\"must be between 5 and 100\")"},
		{Type: typeSubscription, Path: "retryPolicy.minimumBackoff", Check: durationBetween(0, 600),
			Source: tfp + "google/services/pubsub/resource_pubsub_subscription.go retry_policy.minimum_backoff (\"between 0 and 600 seconds\")"},
		{Type: typeSubscription, Path: "retryPolicy.maximumBackoff", Check: durationBetween(0, 600),
			Source: tfp + "google/services/pubsub/resource_pubsub_subscription.go retry_policy.maximum_backoff (\"between 0 and 600 seconds\")"},
		{Type: typeSubscription, Path: "filter", Check: rules.Bytes(256),
			Source: tfp + "google/services/pubsub/resource_pubsub_subscription.go filter (\"The maximum length of a filter is 256 bytes\")"},
		{Type: typeSubscription, Path: "expirationPolicy.ttl", Check: neverOrAtLeast(24 * 3600),
			Source: tfp + "google/services/pubsub/resource_pubsub_subscription.go expiration_policy (ttl \"\" never expires; \"The minimum allowed value for expirationPolicy.ttl is 1 day\")"},

		// Cloud Run.
		{Type: typeService, Path: "name", Check: rules.Matches(`^[a-z](?:[-a-z0-9]{0,47}[a-z0-9])?$`),
			Source: "googleapis google/cloud/run/v2/service.proto CreateServiceRequest.service_id (\"must begin with letter, and cannot end with hyphen; must contain fewer than 50 characters\"); https://cloud.google.com/run/docs/deploying#service"},
		{Type: typeService, Path: "template.containers[*].envs[*].name", Check: rules.NotReserved("variable Cloud Run sets itself", "PORT", "K_SERVICE", "K_REVISION", "K_CONFIGURATION"),
			Source: "https://cloud.google.com/run/docs/container-contract#env-vars (PORT, K_SERVICE, K_REVISION, K_CONFIGURATION are reserved and cannot be set)"},
		{Type: typeService, Path: "template.containers[*].ports[*].name", Check: rules.OneOf("http1", "h2c"),
			Source: "googleapis google/cloud/run/v2/k8s.min.proto ContainerPort.name (\"Allowed values are \\\"http1\\\" and \\\"h2c\\\"\")"},
		{Type: typeService, Path: "template.containers[*].ports[*].containerPort", Check: rules.Between(1, 65535),
			Source: "googleapis google/cloud/run/v2/k8s.min.proto ContainerPort.container_port (\"Must be a valid port number, 0 < x < 65536\")"},
		{Type: typeService, Path: "template.containers[*].resources.limits", Check: cloudRunLimits(),
			Source: "https://cloud.google.com/run/docs/configuring/services/memory-limits and https://cloud.google.com/run/docs/configuring/services/cpu (1 vCPU: up to 4 GiB, 2: up to 8 GiB, 4: 2-16 GiB, 6: 4-24 GiB, 8: 4-32 GiB; the second generation, which the adapter always runs, at least 512 MiB)"},
		{Type: typeService, Path: "template.containers[*].livenessProbe.periodSeconds", Check: rules.Between(1, 3600),
			Source: "googleapis google/cloud/run/v2/k8s.min.proto Probe.period_seconds (\"Minimum value is 1. Maximum value for liveness probe is 3600\")"},

		// Workflows.
		{Type: typeWorkflow, Path: "name", Check: rules.Matches(`^[A-Za-z](?:[-A-Za-z0-9_]{0,62}[A-Za-z0-9])?$`),
			Source: "googleapis google/cloud/workflows/v1/workflows.proto CreateWorkflowRequest.workflow_id (letters, numbers, '_' and '-'; starts with a letter; 1-64 characters; ends with a number or a letter)"},
		{Type: typeWorkflow, Path: "description", Check: rules.Length(0, 1000),
			Source: tfp + "google/services/workflows/resource_workflows_workflow.go description (\"at most 1000 unicode characters\")"},
		{Type: typeWorkflow, Path: "sourceContents", Check: rules.Bytes(128 * 1024),
			Source: tfp + "google/services/workflows/resource_workflows_workflow.go source_contents (\"The size limit is 128KB\")"},
		{Type: typeWorkflow, Path: "sourceContents", Check: workflowSource(),
			Source: "https://cloud.google.com/workflows/docs/reference/syntax (Subworkflows, Steps, Variables, Calls, Conditions, Jumps, Retries, Expressions, Maps; syntax-cheat-sheet), checked by workflowSyntax in providers/gcp/workflowsyntax.go"},
	},
	labelRules(typeGlobalAddress, "labels"),
	labelRules(typeSQLInstance, "settings.userLabels"),
	labelRules(typeSecret, "labels"),
	labelRules(typeTopic, "labels"),
	labelRules(typeSubscription, "labels"),
	labelRules(typeService, "labels"),
	labelRules(typeWorkflow, "labels"),
	labelRules(typeTrigger, "labels"),
)

// labelRules are Google Cloud's label requirements on the labels at path.
func labelRules(typ, path string) []rules.Rule {
	return []rules.Rule{
		{Type: typ, Path: path + "{keys}", Check: rules.Matches(`^[a-z][a-z0-9_-]{0,62}$`), Source: srcLabels},
		{Type: typ, Path: path + "{}", Check: rules.Matches(`^[a-z0-9_-]{0,63}$`), Source: srcLabels},
		{Type: typ, Path: path, Check: rules.Func("at most 64 labels", func(v resource.PropertyValue) string {
			if v.IsObject() && len(v.ObjectValue()) > 64 {
				return fmt.Sprintf("has %d labels, at most 64 are allowed", len(v.ObjectValue()))
			}
			return ""
		}), Source: srcLabels},
	}
}

// parseSeconds parses a protobuf duration in whole or fractional seconds ("600s").
func parseSeconds(s string) (float64, bool) {
	if !strings.HasSuffix(s, "s") {
		return 0, false
	}
	f, err := strconv.ParseFloat(strings.TrimSuffix(s, "s"), 64)
	return f, err == nil
}

func durationBetween(lo, hi float64) rules.Check {
	return rules.Func(fmt.Sprintf("a duration from %vs to %vs", lo, hi), func(v resource.PropertyValue) string {
		if !v.IsString() {
			return "is a " + v.TypeString() + ", want a duration string"
		}
		f, ok := parseSeconds(v.StringValue())
		switch {
		case !ok:
			return "is not a duration in seconds such as \"600s\""
		case f < lo || f > hi:
			return fmt.Sprintf("is outside %vs to %vs", lo, hi)
		}
		return ""
	})
}

func neverOrAtLeast(floor float64) rules.Check {
	return rules.Func(fmt.Sprintf("empty (never) or at least %vs", floor), func(v resource.PropertyValue) string {
		if !v.IsString() {
			return "is a " + v.TypeString() + ", want a duration string"
		}
		if v.StringValue() == "" {
			return ""
		}
		if f, ok := parseSeconds(v.StringValue()); !ok || f < floor {
			return fmt.Sprintf("is neither empty nor a duration of at least %vs", floor)
		}
		return ""
	})
}

func sqlInstanceIDLength() rules.Check {
	return rules.Func("project-id:instance-id at most 98 characters", func(v resource.PropertyValue) string {
		name, ok1 := rules.String(v, "name")
		project, ok2 := rules.String(v, "project")
		if !ok1 || !ok2 {
			return ""
		}
		if n := len(project) + 1 + len(name); n > 98 {
			return fmt.Sprintf("%s:%s is %d characters long, the maximum is 98", project, name, n)
		}
		return ""
	})
}

var (
	customTier     = regexp.MustCompile(`^db-custom-([0-9]+)-([0-9]+)$`)
	enterprisePlus = regexp.MustCompile(`^db-(perf|memory)-optimized-N-[0-9]+$`)
)

// tierOfEdition judges settings: the machine tier must exist in the edition.
func tierOfEdition() rules.Check {
	return rules.Func("a machine tier of the edition", func(v resource.PropertyValue) string {
		tier, ok := rules.String(v, "tier")
		if !ok {
			return ""
		}
		edition, ok := rules.String(v, "edition")
		if !ok {
			edition = "ENTERPRISE" // the provider's default
		}
		switch edition {
		case "ENTERPRISE_PLUS":
			if !enterprisePlus.MatchString(tier) {
				return fmt.Sprintf("tier %s is not an Enterprise Plus machine (db-perf-optimized-N-*, db-memory-optimized-N-*)", tier)
			}
		case "ENTERPRISE":
			if tier == "db-f1-micro" || tier == "db-g1-small" {
				return ""
			}
			m := customTier.FindStringSubmatch(tier)
			if m == nil {
				return fmt.Sprintf("tier %s is not an Enterprise machine (db-f1-micro, db-g1-small, db-custom-CPUS-MEMORY)", tier)
			}
			cpus, _ := strconv.Atoi(m[1])
			mem, _ := strconv.Atoi(m[2])
			switch {
			case cpus < 1 || cpus > 96 || (cpus > 1 && cpus%2 != 0):
				return fmt.Sprintf("tier %s has %d vCPUs: 1 or an even number up to 96", tier, cpus)
			case mem%256 != 0 || mem < 3840:
				return fmt.Sprintf("tier %s has %d MB: a multiple of 256 MB, at least 3840", tier, mem)
			case float64(mem) < 0.9*1024*float64(cpus) || float64(mem) > 6.5*1024*float64(cpus):
				return fmt.Sprintf("tier %s has %d MB for %d vCPUs: 0.9 to 6.5 GB per vCPU", tier, mem, cpus)
			}
		}
		return ""
	})
}

// logRetentionOfEdition judges settings: point-in-time-recovery logs are
// kept 1 to 7 days, or 1 to 35 on Enterprise Plus.
func logRetentionOfEdition() rules.Check {
	return rules.Func("transactionLogRetentionDays within the edition's range", func(v resource.PropertyValue) string {
		days, ok := rules.Number(v, "backupConfiguration.transactionLogRetentionDays")
		if !ok {
			return ""
		}
		edition, _ := rules.String(v, "edition")
		hi := 7.0
		if edition == "ENTERPRISE_PLUS" {
			hi = 35
		}
		if days < 1 || days > hi {
			return fmt.Sprintf("backupConfiguration.transactionLogRetentionDays %v is outside 1 to %v for %s", days, hi, cmp.Or(edition, "ENTERPRISE"))
		}
		return ""
	})
}

// backupsOutliveLogs judges backupConfiguration: Cloud SQL keeps more
// backups than days of transaction logs (a point in time needs a backup
// from before it).
func backupsOutliveLogs() rules.Check {
	return rules.Func("retainedBackups greater than transactionLogRetentionDays", func(v resource.PropertyValue) string {
		days, ok1 := rules.Number(v, "transactionLogRetentionDays")
		kept, ok2 := rules.Number(v, "backupRetentionSettings.retainedBackups")
		if !ok1 || !ok2 {
			return ""
		}
		if unit, ok := rules.String(v, "backupRetentionSettings.retentionUnit"); ok && unit != "COUNT" {
			return ""
		}
		if kept <= days {
			return fmt.Sprintf("retains %v backups for %v days of transaction logs: backup retention should be > transaction log retention", kept, days)
		}
		return ""
	})
}

// cloudRunLimits judges a container's limits: Cloud Run's memory per vCPU.
func cloudRunLimits() rules.Check {
	maxMiB := map[string]int{"1": 4096, "2": 8192, "4": 16384, "6": 24576, "8": 32768}
	minMiB := map[string]int{"4": 2048, "6": 4096, "8": 4096}
	return rules.Func("a CPU and memory pair Cloud Run offers", func(v resource.PropertyValue) string {
		cpu, ok1 := rules.String(v, "cpu")
		memory, ok2 := rules.String(v, "memory")
		if !ok1 || !ok2 {
			return ""
		}
		mib, ok := mebibytes(memory)
		if !ok {
			return fmt.Sprintf("memory %q is not a quantity such as 512Mi or 2Gi", memory)
		}
		hi, ok := maxMiB[cpu]
		if !ok {
			return fmt.Sprintf("cpu %q is not 1, 2, 4, 6 or 8", cpu)
		}
		if lo := max(minMiB[cpu], 512); mib < lo || mib > hi {
			return fmt.Sprintf("memory %s is outside %d to %d MiB for %s vCPU", memory, lo, hi, cpu)
		}
		return ""
	})
}

func mebibytes(q string) (int, bool) {
	for suffix, factor := range map[string]int{"Mi": 1, "Gi": 1024} {
		if n, err := strconv.Atoi(strings.TrimSuffix(q, suffix)); strings.HasSuffix(q, suffix) && err == nil {
			return n * factor, true
		}
	}
	return 0, false
}

func workflowSource() rules.Check {
	return rules.Func("uses only the documented Workflows syntax", func(v resource.PropertyValue) string {
		if !v.IsString() {
			return "is a " + v.TypeString() + ", want a string"
		}
		return strings.Join(workflowSyntax(v.StringValue()), "; ")
	})
}
