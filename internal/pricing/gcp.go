package pricing

import (
	"fmt"
	"strconv"
	"strings"
)

// Google Cloud: every type the GCP adapter (providers/gcp) registers. Cloud
// SQL, Cloud Run and Secret Manager have a fixed monthly part; Pub/Sub,
// Eventarc and Workflows cost only what they carry; networks, IAM and
// service accounts are free. Prices: catalog/gcp.yaml.

// gcpSecondsPerMonth is the month a per-second price is multiplied by.
const gcpSecondsPerMonth = HoursPerMonth * 3600

// Usage-file keys of the GCP types.
const (
	gcpKeyBackupGB        = "backup_storage_gb"
	gcpKeyRequests        = "monthly_requests"
	gcpKeyExtraSeconds    = "extra_instance_seconds"
	gcpKeyEgressGB        = "monthly_egress_gb"
	gcpKeyAccessOps       = "monthly_access_operations"
	gcpKeyMessageGiB      = "monthly_message_gib"
	gcpKeyStoredGiB       = "stored_gib"
	gcpKeyInternalSteps   = "monthly_internal_steps"
	gcpPubSubStorageUsage = "average GiB of messages Pub/Sub keeps and bills as storage (topic retention, a subscription's retained or long-unacknowledged backlog)"
)

// gcpPrices prices the types of Pulumi's gcp package.
var gcpPrices = priceTable{TypePrefix: "gcp:", Types: gcpTypes()}

func gcpTypes() map[string]TypeInfo {
	const (
		iamNote     = "IAM bindings cost nothing"
		sqlPartNote = "part of its Cloud SQL instance, which is priced"
	)
	pubsubMessages := "GiB of messages per month (Pub/Sub bills at least 1 KB per message)"
	return map[string]TypeInfo{
		"gcp:sql/databaseInstance:DatabaseInstance": {
			Kind:      Sized,
			Price:     priceCloudSQLInstance,
			UsageKeys: map[string]string{gcpKeyBackupGB: "GB of backups and point-in-time-recovery logs kept"},
			Note:      "regional (HA) instances pay the HA rate (twice the zonal one) for the machine and the disk; network egress is not priced",
		},
		"gcp:sql/database:Database": {Kind: Free, Note: sqlPartNote},
		"gcp:sql/user:User":         {Kind: Free, Note: sqlPartNote},
		"gcp:cloudrunv2/service:Service": {
			Kind:  Sized,
			Price: priceCloudRunService,
			UsageKeys: map[string]string{
				gcpKeyRequests:     "requests per month (request-based billing only)",
				gcpKeyExtraSeconds: "instance-seconds per month beyond the minimum instances",
				gcpKeyEgressGB:     "GB per month sent to the internet",
			},
			Note: "minimum instances are priced all month at the instance-based (CPU always allocated) rate, an upper bound for a " +
				"service whose CPU idles between requests (Cloud Run bills its idle minimum instances less); the monthly free tier " +
				"(240,000 vCPU-seconds and 450,000 GiB-seconds instance-based, or 180,000 vCPU-seconds, 360,000 GiB-seconds and " +
				"2 million requests request-based, per billing account) is not deducted",
		},
		"gcp:cloudrunv2/serviceIamMember:ServiceIamMember": {Kind: Free, Note: iamNote},
		"gcp:secretmanager/secret:Secret": {
			Kind:      Sized,
			Price:     priceSecretManagerSecret,
			UsageKeys: map[string]string{gcpKeyAccessOps: "secret accesses per month"},
			Note: "priced as one active version per replica location (tenantfleet keeps one version per secret); " +
				"the free tier (6 active versions and 10,000 accesses a month per billing account) is not deducted",
		},
		"gcp:secretmanager/secretVersion:SecretVersion": {
			Kind: Free, Note: "billed on its secret, as an active version in each of the secret's locations",
		},
		"gcp:secretmanager/secretIamMember:SecretIamMember": {Kind: Free, Note: iamNote},
		"gcp:pubsub/topic:Topic": {
			Kind:  UsageOnly,
			Price: pricePubSubTopic,
			UsageKeys: map[string]string{
				gcpKeyMessageGiB: pubsubMessages + " published",
				gcpKeyStoredGiB:  gcpPubSubStorageUsage,
			},
			Note: "the first 10 GiB of throughput a month per billing account are free (not deducted)",
		},
		"gcp:pubsub/subscription:Subscription": {
			Kind:  UsageOnly,
			Price: pricePubSubSubscription,
			UsageKeys: map[string]string{
				gcpKeyMessageGiB: pubsubMessages + " delivered",
				gcpKeyStoredGiB:  gcpPubSubStorageUsage,
			},
			Note: "the first 10 GiB of throughput a month per billing account are free (not deducted)",
		},
		"gcp:pubsub/topicIAMMember:TopicIAMMember":               {Kind: Free, Note: iamNote},
		"gcp:pubsub/subscriptionIAMMember:SubscriptionIAMMember": {Kind: Free, Note: iamNote},
		"gcp:eventarc/trigger:Trigger": {
			Kind:      UsageOnly,
			Price:     priceEventarcTrigger,
			UsageKeys: map[string]string{gcpKeyMessageGiB: pubsubMessages + " delivered to the trigger's destination"},
			Note: "Eventarc does not charge for events from Google sources such as Pub/Sub; the push subscription it keeps on " +
				"the topic is billed as Pub/Sub delivery",
		},
		"gcp:workflows/workflow:Workflow": {
			Kind:      UsageOnly,
			Price:     priceWorkflow,
			UsageKeys: map[string]string{gcpKeyInternalSteps: "internal steps per month (calls to Google APIs count as internal)"},
			Note:      "the first 5,000 internal steps a month per billing account are free (not deducted)",
		},
		"gcp:compute/network:Network": {
			Kind: Free, Note: "a VPC network costs nothing; internet egress is priced as usage on the Cloud Run services that send it",
		},
		"gcp:compute/subnetwork:Subnetwork": {
			Kind: Free, Note: "a subnet costs nothing; internet egress is priced as usage on the Cloud Run services that send it",
		},
		"gcp:compute/globalAddress:GlobalAddress": {
			Kind: Free, Note: "an internal range reserved for private services access costs nothing (only external static addresses are charged)",
		},
		"gcp:servicenetworking/connection:Connection": {
			Kind: Free, Note: "the private services access peering costs nothing; traffic to Cloud SQL within the region is not priced",
		},
		"gcp:projects/iAMMember:IAMMember":       {Kind: Free, Note: iamNote},
		"gcp:serviceaccount/account:Account":     {Kind: Free, Note: "service accounts cost nothing"},
		"gcp:serviceaccount/iAMMember:IAMMember": {Kind: Free, Note: iamNote},
	}
}

// cloudSQLSharedCore are the shared-core tiers, priced per instance-hour.
var cloudSQLSharedCore = map[string]bool{"db-f1-micro": true, "db-g1-small": true}

// cloudSQLMachine returns a dedicated tier's vCPUs and memory (GB), and the
// edition it implies ("" when either may run it).
func cloudSQLMachine(tier string) (vcpu, memGB float64, edition string, err error) {
	switch {
	case strings.HasPrefix(tier, "db-custom-"):
		// db-custom-<vCPUs>-<memory MB>
		parts := strings.Split(strings.TrimPrefix(tier, "db-custom-"), "-")
		if len(parts) == 2 {
			v, err1 := strconv.Atoi(parts[0])
			mb, err2 := strconv.Atoi(parts[1])
			if err1 == nil && err2 == nil && v > 0 && mb > 0 {
				return float64(v), float64(mb) / 1024, "", nil
			}
		}
	case strings.HasPrefix(tier, "db-perf-optimized-N-"):
		// Enterprise Plus performance-optimized: 8 GB per vCPU.
		v, err := strconv.Atoi(strings.TrimPrefix(tier, "db-perf-optimized-N-"))
		if err == nil && v > 0 {
			return float64(v), 8 * float64(v), "ENTERPRISE_PLUS", nil
		}
	}
	return 0, 0, "", fmt.Errorf("Cloud SQL tier %q is not priced (shared-core db-f1-micro and db-g1-small, db-custom-<vCPUs>-<MB> and db-perf-optimized-N-<vCPUs> are)", tier)
}

// priceCloudSQLInstance: the machine all month (shared-core per instance
// hour; dedicated per vCPU-hour and GB-hour of its edition), the disk, and
// backups as usage. A regional instance pays the HA rates.
func priceCloudSQLInstance(ctx *Context, r Resource) ([]Component, error) {
	tier := Str(r.Inputs, "settings.tier")
	ha := Str(r.Inputs, "settings.availabilityType") == "REGIONAL"
	sku := func(base string) string {
		if ha {
			return base + ":ha"
		}
		return base
	}
	label := tier
	if ha {
		label += ", regional HA"
	}
	var comps []Component
	add := func(c Component, err error) error {
		if err == nil {
			comps = append(comps, c)
		}
		return err
	}
	if cloudSQLSharedCore[tier] {
		if err := add(ctx.Hourly(fmt.Sprintf("Instance (%s)", label), sku("cloudsql:"+tier), 1)); err != nil {
			return nil, err
		}
	} else {
		vcpu, memGB, edition, err := cloudSQLMachine(tier)
		if err != nil {
			return nil, err
		}
		if edition == "" {
			edition = Str(r.Inputs, "settings.edition")
		}
		ed := "enterprise"
		if edition == "ENTERPRISE_PLUS" {
			ed = "enterprise-plus"
		}
		if err := add(ctx.Hourly(fmt.Sprintf("vCPU (%s)", label), sku("cloudsql:"+ed+":vcpu-hour"), vcpu)); err != nil {
			return nil, err
		}
		if err := add(ctx.Hourly(fmt.Sprintf("Memory (%s)", label), sku("cloudsql:"+ed+":memory-gb-hour"), memGB)); err != nil {
			return nil, err
		}
	}
	disk, diskSKU := "SSD", "cloudsql:storage:ssd"
	if Str(r.Inputs, "settings.diskType") == "PD_HDD" {
		disk, diskSKU = "HDD", "cloudsql:storage:hdd"
	}
	size := Num(r.Inputs, "settings.diskSize")
	if size == 0 {
		size = 10 // Cloud SQL's default disk
	}
	if err := add(ctx.Unit(fmt.Sprintf("Storage (%s)", disk), sku(diskSKU), size)); err != nil {
		return nil, err
	}
	if err := add(ctx.Usage("Backups", "cloudsql:backup", gcpKeyBackupGB, 1)); err != nil {
		return nil, err
	}
	return comps, nil
}

// cloudRunCPU parses a Cloud Run cpu limit ("1", "2", "1000m").
func cloudRunCPU(s string) (float64, error) {
	if s == "" {
		return 1, nil // Cloud Run's default
	}
	if m, ok := strings.CutSuffix(s, "m"); ok {
		v, err := strconv.ParseFloat(m, 64)
		return v / 1000, err
	}
	return strconv.ParseFloat(s, 64)
}

// cloudRunMemoryGiB parses a Cloud Run memory limit ("512Mi", "2Gi", "1G").
func cloudRunMemoryGiB(s string) (float64, error) {
	if s == "" {
		return 0.5, nil // Cloud Run's default, 512Mi
	}
	for _, u := range []struct {
		suffix string
		gib    float64
	}{{"Gi", 1}, {"Mi", 1.0 / 1024}, {"Ki", 1.0 / (1024 * 1024)}, {"G", 1e9 / (1 << 30)}, {"M", 1e6 / (1 << 30)}} {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseFloat(n, 64)
			return v * u.gib, err
		}
	}
	v, err := strconv.ParseFloat(s, 64) // bytes
	return v / (1 << 30), err
}

// priceCloudRunService: the minimum instances all month at the
// instance-based rate, then as usage the instance time beyond them and the
// requests (at the service's billing mode's rates) and internet egress.
func priceCloudRunService(ctx *Context, r Resource) ([]Component, error) {
	containers, _ := get(r.Inputs, "template.containers").([]any)
	vcpu, memGiB := 0.0, 0.0
	cpuIdle := true // the v2 API's default: CPU only during requests
	for i, raw := range containers {
		c, _ := raw.(map[string]any)
		cpu, err := cloudRunCPU(Str(c, "resources.limits.cpu"))
		if err != nil {
			return nil, fmt.Errorf("container %d: cpu limit: %w", i, err)
		}
		mem, err := cloudRunMemoryGiB(Str(c, "resources.limits.memory"))
		if err != nil {
			return nil, fmt.Errorf("container %d: memory limit: %w", i, err)
		}
		vcpu, memGiB = vcpu+cpu, memGiB+mem
		if idle, ok := get(c, "resources.cpuIdle").(bool); ok && !idle {
			cpuIdle = false
		}
	}
	if len(containers) == 0 {
		vcpu, memGiB = 1, 0.5
	}
	size := fmt.Sprintf("%s vCPU, %s GiB", strconv.FormatFloat(vcpu, 'f', -1, 64), strconv.FormatFloat(memGiB, 'f', -1, 64))
	var comps []Component
	add := func(c Component, err error) error {
		if err == nil {
			comps = append(comps, c)
		}
		return err
	}
	if n := Num(r.Inputs, "template.scaling.minInstanceCount"); n > 0 {
		label := fmt.Sprintf("%s × %s", strconv.FormatFloat(n, 'f', -1, 64), size)
		if err := add(ctx.Unit("Minimum instances vCPU ("+label+")", "cloudrun:instance:vcpu-second", gcpSecondsPerMonth*n*vcpu)); err != nil {
			return nil, err
		}
		if err := add(ctx.Unit("Minimum instances memory ("+label+")", "cloudrun:instance:gib-second", gcpSecondsPerMonth*n*memGiB)); err != nil {
			return nil, err
		}
	}
	mode := "instance"
	if cpuIdle {
		mode = "request"
	}
	// The usage is instance-seconds: per = 1/size turns them into vCPU- or GiB-seconds.
	if err := add(ctx.Usage("Extra instances vCPU ("+size+")", "cloudrun:"+mode+":vcpu-second", gcpKeyExtraSeconds, 1/vcpu)); err != nil {
		return nil, err
	}
	if err := add(ctx.Usage("Extra instances memory ("+size+")", "cloudrun:"+mode+":gib-second", gcpKeyExtraSeconds, 1/memGiB)); err != nil {
		return nil, err
	}
	if cpuIdle {
		if err := add(ctx.Usage("Requests", "cloudrun:request:requests", gcpKeyRequests, 1e6)); err != nil {
			return nil, err
		}
	}
	if err := add(ctx.Usage("Internet egress", "network:internet-egress:premium", gcpKeyEgressGB, 1)); err != nil {
		return nil, err
	}
	return comps, nil
}

// priceSecretManagerSecret: one active version in each replica location,
// and the accesses as usage.
func priceSecretManagerSecret(ctx *Context, r Resource) ([]Component, error) {
	locations := 1.0 // automatic replication is billed as one location
	if replicas, ok := get(r.Inputs, "replication.userManaged.replicas").([]any); ok && len(replicas) > 0 {
		locations = float64(len(replicas))
	}
	version, err := ctx.Unit("Active secret versions", "secretmanager:active-version", locations)
	if err != nil {
		return nil, err
	}
	access, err := ctx.Usage("Access operations", "secretmanager:access", gcpKeyAccessOps, 1e4)
	if err != nil {
		return nil, err
	}
	return []Component{version, access}, nil
}

// pricePubSubTopic: publish throughput, and storage when the topic retains messages.
func pricePubSubTopic(ctx *Context, r Resource) ([]Component, error) {
	throughput, err := ctx.Usage("Publish throughput", "pubsub:throughput", gcpKeyMessageGiB, 1024)
	if err != nil {
		return nil, err
	}
	comps := []Component{throughput}
	if Str(r.Inputs, "messageRetentionDuration") != "" {
		storage, err := ctx.Usage("Retained message storage", "pubsub:storage", gcpKeyStoredGiB, 1)
		if err != nil {
			return nil, err
		}
		comps = append(comps, storage)
	}
	return comps, nil
}

// pricePubSubSubscription: delivery throughput and backlog storage.
func pricePubSubSubscription(ctx *Context, _ Resource) ([]Component, error) {
	throughput, err := ctx.Usage("Delivery throughput", "pubsub:throughput", gcpKeyMessageGiB, 1024)
	if err != nil {
		return nil, err
	}
	storage, err := ctx.Usage("Retained message storage", "pubsub:storage", gcpKeyStoredGiB, 1)
	if err != nil {
		return nil, err
	}
	return []Component{throughput, storage}, nil
}

// priceEventarcTrigger: a Pub/Sub-sourced trigger's push delivery.
func priceEventarcTrigger(ctx *Context, _ Resource) ([]Component, error) {
	c, err := ctx.Usage("Pub/Sub delivery to the destination", "pubsub:throughput", gcpKeyMessageGiB, 1024)
	if err != nil {
		return nil, err
	}
	return []Component{c}, nil
}

// priceWorkflow: internal steps.
func priceWorkflow(ctx *Context, _ Resource) ([]Component, error) {
	c, err := ctx.Usage("Internal steps", "workflows:internal-steps", gcpKeyInternalSteps, 1000)
	if err != nil {
		return nil, err
	}
	return []Component{c}, nil
}
