package pricing

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Azure pricing: every type the Azure adapter (providers/azure) registers.
// SKU keys name what the Azure Retail Prices API sells (refresh_azure.go
// maps each back to its service, product, SKU and meter):
//
//	postgresql-flexible:<sku.name>:compute                  server hours (Standard_B1ms, Standard_D2ds_v5, ...)
//	postgresql-flexible:storage-gb                          provisioned storage, GB-months
//	postgresql-flexible:backup-<lrs|grs>-gb                 backup storage beyond the free amount, GB-months
//	container-apps:vcpu-second, container-apps:gib-second   Consumption plan, active rate
//	container-apps:requests                                 per 1M requests
//	servicebus:standard-base                                Standard namespace base charge, hours
//	servicebus:standard-operations-<tier>                   per 1M operations: 13m-100m, 100m-2500m, over-2500m
//	servicebus:standard-brokered-connection                 connections beyond the 1,000 included
//	servicebus:basic-operations                             per 1M operations
//	servicebus:premium-messaging-unit                       messaging-unit hours
//	log-analytics:ingestion-gb, log-analytics:retention-gb  PerGB2018 (pay-as-you-go)
//	private-dns:zone, private-dns:queries                   Azure DNS private zones (global prices)
var azurePrices = priceTable{
	TypePrefix: "azure-native:",
	Types:      azureTypes,
	PriceList:  &PriceList{URL: AzureRetailPricesURL, Refresh: RefreshAzure},
}

// azureSecondsPerMonth is the month Container Apps' per-second prices count.
const azureSecondsPerMonth = HoursPerMonth * 3600

// azureGrantNote is said where a free grant applies per subscription: an
// estimate per resource cannot subtract it.
const azureGrantNote = "it is per subscription, not per resource, so it is not subtracted"

var azureTypes = map[string]TypeInfo{
	// Priced by size.
	"azure-native:dbforpostgresql:Server": {
		Kind:  Sized,
		Price: priceAzurePostgresServer,
		UsageKeys: map[string]string{
			"additional_backup_storage_gb": "backup storage beyond the free amount (100% of the provisioned storage), GB",
		},
		Note: "pay-as-you-go compute by sku.name; high availability (zone-redundant or same-zone) runs a standby of " +
			"the same size with its own storage, so compute and storage count twice; storage is the provisioned " +
			"storage.storageSizeGB (auto-grow raises it later); backup storage up to the provisioned size is free, " +
			"beyond it usage, at the geo-redundant rate when geo-redundant backup is enabled",
	},
	"azure-native:app:ContainerApp": {
		Kind:  Sized,
		Price: priceAzureContainerApp,
		UsageKeys: map[string]string{
			"monthly_requests":         "HTTP requests a month",
			"additional_replica_hours": "replica-hours a month beyond the minReplicas always-on replicas (scale-out, or scale from zero)",
		},
		Note: "Consumption plan, per second: the minReplicas always-on replicas run all month at the active rate, an upper " +
			"bound (a replica under 0.01 vCPU and 1,000 bytes/s is billed vCPU at the lower idle rate); the monthly free grant " +
			"of 180,000 vCPU-seconds, 360,000 GiB-seconds and 2 million requests: " + azureGrantNote,
	},
	"azure-native:servicebus:Namespace": {
		Kind:  Sized,
		Price: priceAzureServiceBusNamespace,
		UsageKeys: map[string]string{
			"monthly_messaging_operations": "messaging operations a month over all the namespace's queues, topics and subscriptions",
			"brokered_connections":         "peak concurrent AMQP connections to the namespace (Standard)",
		},
		Note: "Standard: a base charge with 13M operations and 1,000 brokered connections a month included, then operations " +
			"in tiers; connections beyond 100K are priced at the 1K-100K rate; queues, topics, subscriptions and rules " +
			"are billed here",
	},
	"azure-native:privatedns:PrivateZone": {
		Kind:  Sized,
		Price: priceAzurePrivateZone,
		UsageKeys: map[string]string{
			"monthly_queries": "DNS queries a month to the zone",
		},
		Note: "Azure DNS prices are global; a subscription's first 25 zones and first billion queries a month are priced " +
			"(beyond them the rates are lower and not modelled)",
	},

	// Usage only.
	"azure-native:operationalinsights:Workspace": {
		Kind:  UsageOnly,
		Price: priceAzureLogAnalyticsWorkspace,
		UsageKeys: map[string]string{
			"monthly_data_ingested_gb": "log data ingested a month (the Container Apps environment's console and system logs), GB",
			"monthly_retained_gb":      "data kept beyond the 31 free days of retention, GB-months",
		},
		Note: "PerGB2018 (pay-as-you-go): billed per GB ingested; the 5 GB a month free is per billing account, so it is " +
			"not subtracted; retention up to 31 days is included",
	},

	// Free: no charge of their own.
	"azure-native:app:ManagedEnvironment": {Kind: Free,
		Note: "a Container Apps environment with only the Consumption workload profile has no charge of its own: its apps " +
			"are priced (a Dedicated workload profile, which the adapter does not create, would add a management charge)"},
	"azure-native:privatedns:VirtualNetworkLink": {Kind: Free,
		Note: "Azure DNS bills private zones and their queries, not the links that attach a zone to a virtual network: " +
			"this link (registration disabled) adds no charge; queries through it are counted at the zone"},
	"azure-native:resources:ResourceGroup": {Kind: Free, Note: "a resource group has no charge"},
	"azure-native:resources:Deployment": {Kind: Free,
		Note: "an ARM template deployment has no charge (it sets the $Default rule of a filtered Service Bus subscription)"},
	"azure-native:authorization:RoleAssignment": {Kind: Free,
		Note: "Azure RBAC role assignments have no charge"},
	"azure-native:authorization:ManagementLockByScope": {Kind: Free, Note: "management locks have no charge"},
	"azure-native:managedidentity:UserAssignedIdentity": {Kind: Free,
		Note: "managed identities and their Entra ID tokens have no charge"},
	"azure-native:network:VirtualNetwork": {Kind: Free,
		Note: "a virtual network has no charge (peering and data transfer out of Azure would be, and are not estimated)"},
	"azure-native:network:Subnet": {Kind: Free, Note: "subnets and their delegations have no charge"},
	"azure-native:dbforpostgresql:Database": {Kind: Free,
		Note: "a database inside a flexible server: the server is priced"},
	"azure-native:servicebus:Queue": {Kind: Free,
		Note: "billed at the namespace: its operations count in the namespace's monthly_messaging_operations"},
	"azure-native:servicebus:Topic": {Kind: Free,
		Note: "billed at the namespace: its operations count in the namespace's monthly_messaging_operations"},
	"azure-native:servicebus:Subscription": {Kind: Free,
		Note: "billed at the namespace: its operations (and forwarding) count in the namespace's monthly_messaging_operations"},
	"azure-native:servicebus:Rule": {Kind: Free,
		Note: "a subscription filter: evaluating it is part of the namespace's operations"},
}

// priceAzurePostgresServer prices a PostgreSQL flexible server: compute
// hours of sku.name and provisioned storage (both twice with a standby), and
// backup storage beyond the free amount as usage.
func priceAzurePostgresServer(ctx *Context, r Resource) ([]Component, error) {
	sku := Str(r.Inputs, "sku.name")
	if sku == "" {
		return nil, fmt.Errorf("sku.name is not set: cannot price the flexible server")
	}
	copies, label := 1.0, ""
	if mode := Str(r.Inputs, "highAvailability.mode"); mode != "" && !strings.EqualFold(mode, "Disabled") {
		copies, label = 2, ", primary + HA standby"
	}
	compute, err := ctx.Hourly(fmt.Sprintf("Compute (%s%s)", sku, label), "postgresql-flexible:"+sku+":compute", copies)
	if err != nil {
		return nil, err
	}
	gb, assumed := Num(r.Inputs, "storage.storageSizeGB"), ""
	if gb <= 0 {
		// 32 GB is the smallest disk a flexible server has.
		gb, assumed = 32, ", 32 GB assumed"
	}
	storage, err := ctx.Unit(fmt.Sprintf("Storage (%s GB%s%s)", azureFormat(gb), assumed, label), "postgresql-flexible:storage-gb", gb*copies)
	if err != nil {
		return nil, err
	}
	backupName, backupSKU := "Additional backup storage (LRS)", "postgresql-flexible:backup-lrs-gb"
	if strings.EqualFold(Str(r.Inputs, "backup.geoRedundantBackup"), "Enabled") {
		backupName, backupSKU = "Additional backup storage (geo-redundant)", "postgresql-flexible:backup-grs-gb"
	}
	backup, err := ctx.Usage(backupName, backupSKU, "additional_backup_storage_gb", 1)
	if err != nil {
		return nil, err
	}
	return []Component{compute, storage, backup}, nil
}

// priceAzureContainerApp prices a Container App on the Consumption plan:
// its minReplicas replicas all month, scale-out replica-hours and requests
// as usage.
func priceAzureContainerApp(ctx *Context, r Resource) ([]Component, error) {
	if p := Str(r.Inputs, "workloadProfileName"); p != "" && p != "Consumption" {
		return nil, fmt.Errorf("workload profile %q: only the Consumption profile is priced", p)
	}
	containers, _ := get(r.Inputs, "template.containers").([]any)
	if len(containers) == 0 {
		return nil, fmt.Errorf("template.containers is empty: cannot price the container app")
	}
	var vcpu, gib float64
	for i, raw := range containers {
		c, _ := raw.(map[string]any)
		cpu := Num(c, "resources.cpu")
		mem, err := azureMemoryGiB(Str(c, "resources.memory"))
		if err != nil {
			return nil, fmt.Errorf("template.containers[%d].resources.memory: %w", i, err)
		}
		if cpu <= 0 {
			return nil, fmt.Errorf("template.containers[%d].resources.cpu is not set: cannot price the container app", i)
		}
		vcpu += cpu
		gib += mem
	}
	var comps []Component
	if replicas := Num(r.Inputs, "template.scale.minReplicas"); replicas > 0 {
		cpu, err := ctx.Unit(fmt.Sprintf("vCPU (always-on replicas: %s × %s vCPU)", azureFormat(replicas), azureFormat(vcpu)),
			"container-apps:vcpu-second", replicas*vcpu*azureSecondsPerMonth)
		if err != nil {
			return nil, err
		}
		mem, err := ctx.Unit(fmt.Sprintf("Memory (always-on replicas: %s × %s GiB)", azureFormat(replicas), azureFormat(gib)),
			"container-apps:gib-second", replicas*gib*azureSecondsPerMonth)
		if err != nil {
			return nil, err
		}
		comps = append(comps, cpu, mem)
	}
	for _, u := range []struct {
		name, sku string
		perHour   float64
	}{
		{"vCPU (additional replicas)", "container-apps:vcpu-second", vcpu * 3600},
		{"Memory (additional replicas)", "container-apps:gib-second", gib * 3600},
	} {
		c, err := azureUsageTimes(ctx, u.name, u.sku, "additional_replica_hours", u.perHour)
		if err != nil {
			return nil, err
		}
		comps = append(comps, c)
	}
	req, err := ctx.Usage("Requests", "container-apps:requests", "monthly_requests", 1e6)
	if err != nil {
		return nil, err
	}
	return append(comps, req), nil
}

// azureMemoryGiB reads a Container Apps memory quantity ("0.5Gi", "512Mi").
func azureMemoryGiB(s string) (float64, error) {
	for _, u := range []struct {
		suffix string
		gib    float64
	}{{"Gi", 1}, {"Mi", 1.0 / 1024}} {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseFloat(num, 64)
			if err != nil || v <= 0 {
				break
			}
			return v * u.gib, nil
		}
	}
	return 0, fmt.Errorf("%q is not a memory size such as 0.5Gi", s)
}

// Service Bus Standard's included amounts and tiers, in operations.
var azureServiceBusOperationTiers = []azureTier{
	{name: "Messaging operations (13M-100M)", sku: "servicebus:standard-operations-13m-100m", from: 13e6, to: 100e6},
	{name: "Messaging operations (100M-2,500M)", sku: "servicebus:standard-operations-100m-2500m", from: 100e6, to: 2500e6},
	{name: "Messaging operations (over 2,500M)", sku: "servicebus:standard-operations-over-2500m", from: 2500e6, to: math.Inf(1)},
}

var azureServiceBusConnectionTiers = []azureTier{
	{name: "Brokered connections (over 1K)", sku: "servicebus:standard-brokered-connection", from: 1000, to: math.Inf(1)},
}

// priceAzureServiceBusNamespace prices a namespace by its tier: Standard's
// base charge and tiered operations and connections, Basic's operations,
// Premium's messaging units.
func priceAzureServiceBusNamespace(ctx *Context, r Resource) ([]Component, error) {
	switch tier := Str(r.Inputs, "sku.name"); tier {
	case "Standard":
		base, err := ctx.Hourly("Base charge (Standard)", "servicebus:standard-base", 1)
		if err != nil {
			return nil, err
		}
		ops, err := azureTiered(ctx, "monthly_messaging_operations", 1e6, azureServiceBusOperationTiers)
		if err != nil {
			return nil, err
		}
		conns, err := azureTiered(ctx, "brokered_connections", 1, azureServiceBusConnectionTiers)
		if err != nil {
			return nil, err
		}
		return append(append([]Component{base}, ops...), conns...), nil
	case "Basic":
		ops, err := ctx.Usage("Messaging operations", "servicebus:basic-operations", "monthly_messaging_operations", 1e6)
		if err != nil {
			return nil, err
		}
		return []Component{ops}, nil
	case "Premium":
		units := Num(r.Inputs, "sku.capacity")
		if units <= 0 {
			units = 1
		}
		mu, err := ctx.Hourly(fmt.Sprintf("Messaging units (%s)", azureFormat(units)), "servicebus:premium-messaging-unit", units)
		if err != nil {
			return nil, err
		}
		return []Component{mu}, nil
	default:
		return nil, fmt.Errorf("sku.name %q is not a Service Bus tier (Basic, Standard, Premium)", tier)
	}
}

// priceAzureLogAnalyticsWorkspace prices a PerGB2018 workspace: data
// ingested, and data retained beyond the free 31 days.
func priceAzureLogAnalyticsWorkspace(ctx *Context, r Resource) ([]Component, error) {
	if sku := Str(r.Inputs, "sku.name"); sku != "" && sku != "PerGB2018" {
		return nil, fmt.Errorf("sku.name %q: only PerGB2018 (pay-as-you-go) is priced", sku)
	}
	ingest, err := ctx.Usage("Log data ingestion", "log-analytics:ingestion-gb", "monthly_data_ingested_gb", 1)
	if err != nil {
		return nil, err
	}
	comps := []Component{ingest}
	if days := Num(r.Inputs, "retentionInDays"); days > 31 {
		keep, err := ctx.Usage(fmt.Sprintf("Log data retention (%s days, beyond 31)", azureFormat(days)),
			"log-analytics:retention-gb", "monthly_retained_gb", 1)
		if err != nil {
			return nil, err
		}
		comps = append(comps, keep)
	}
	return comps, nil
}

// priceAzurePrivateZone prices an Azure DNS private zone a month, and its
// queries as usage.
func priceAzurePrivateZone(ctx *Context, _ Resource) ([]Component, error) {
	zone, err := ctx.Unit("Private DNS zone", "private-dns:zone", 1)
	if err != nil {
		return nil, err
	}
	queries, err := ctx.Usage("DNS queries", "private-dns:queries", "monthly_queries", 1e6)
	if err != nil {
		return nil, err
	}
	return []Component{zone, queries}, nil
}

// azureTier is one price band of a usage key, in the key's units: from
// (what comes before it is included or in earlier bands) up to to.
type azureTier struct {
	name, sku string
	from, to  float64
}

// azureTiered prices usage key through its bands (quantities divided by
// per): without usage, the first band alone, its quantity unknown; with
// usage, the first band and every further band the usage reaches.
func azureTiered(ctx *Context, key string, per float64, tiers []azureTier) ([]Component, error) {
	v, ok := ctx.usage[key]
	if !ok {
		c, err := ctx.Usage(tiers[0].name, tiers[0].sku, key, per)
		if err != nil {
			return nil, err
		}
		return []Component{c}, nil
	}
	var out []Component
	for i, t := range tiers {
		q := math.Max(0, math.Min(v, t.to)-t.from)
		if i > 0 && q == 0 {
			continue
		}
		c, err := ctx.Unit(t.name, t.sku, q/per)
		if err != nil {
			return nil, err
		}
		c.UsageKey = key
		out = append(out, c)
	}
	return out, nil
}

// azureUsageTimes is ctx.Usage for a key whose value is multiplied into the
// sku's unit (replica-hours × vCPU-seconds per replica-hour).
func azureUsageTimes(ctx *Context, name, sku, key string, times float64) (Component, error) {
	v, ok := ctx.usage[key]
	if !ok {
		return ctx.Usage(name, sku, key, 1)
	}
	c, err := ctx.Unit(name, sku, v*times)
	if err != nil {
		return Component{}, err
	}
	c.UsageKey = key
	return c, nil
}

func azureFormat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
