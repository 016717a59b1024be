package azure

import (
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/tenantfleet/tenantfleet/providers/naming"
	"github.com/tenantfleet/tenantfleet/providers/rules"
)

// Where the rules come from. The Azure REST API specs are what azure-native
// is generated from: azure-native's Check enforces their minLength,
// maxLength and pattern at preview (pulumi/pulumi-azure-native
// provider/pkg/provider/provider.go validateProperty); everything else is
// refused by Azure Resource Manager or the resource provider at update.
const (
	specs     = "Azure/azure-rest-api-specs specification/"
	nameRules = "https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules"
	tagLimits = "https://learn.microsoft.com/azure/azure-resource-manager/management/tag-resources#limitations"
	pgDocs    = "MicrosoftDocs/azure-databases-docs articles/postgresql/flexible-server/"
	sbLimits  = "MicrosoftDocs/azure-docs articles/service-bus-messaging/includes/common-limits.md"
	appSpec   = specs + "app/resource-manager/Microsoft.App/preview/2025-02-02-preview/"
	sbSpec    = specs + "servicebus/resource-manager/"
	pgSpec    = specs + "postgresql/resource-manager/Microsoft.DBforPostgreSQL/stable/2025-08-01/ (Azure/bicep-types-az generated/postgresql/microsoft.dbforpostgresql/2025-08-01/types.md)"
)

// Resource types the adapter registers.
const (
	resourceGroupType   = "azure-native:resources:ResourceGroup"
	deploymentType      = "azure-native:resources:Deployment"
	workspaceType       = "azure-native:operationalinsights:Workspace"
	vnetType            = "azure-native:network:VirtualNetwork"
	subnetType          = "azure-native:network:Subnet"
	privateZoneType     = "azure-native:privatedns:PrivateZone"
	zoneLinkType        = "azure-native:privatedns:VirtualNetworkLink"
	environmentType     = "azure-native:app:ManagedEnvironment"
	containerAppType    = "azure-native:app:ContainerApp"
	identityType        = "azure-native:managedidentity:UserAssignedIdentity"
	roleAssignmentType  = "azure-native:authorization:RoleAssignment"
	lockType            = "azure-native:authorization:ManagementLockByScope"
	serverType          = "azure-native:dbforpostgresql:Server"
	databaseType        = "azure-native:dbforpostgresql:Database"
	namespaceType       = "azure-native:servicebus:Namespace"
	queueType           = "azure-native:servicebus:Queue"
	topicType           = "azure-native:servicebus:Topic"
	subscriptionType    = "azure-native:servicebus:Subscription"
	ruleType            = "azure-native:servicebus:Rule"
	randomPasswordType  = "random:index/randomPassword:RandomPassword"
	serviceBusDefault   = "$Default"
	serviceBusEntityRE  = `^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$`
	networkNameRE       = `^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9_])?$`
	premiumSSDSizesNote = "Premium SSD sizes 32, 64, 128, 256, 512 GiB, 1, 2, 4, 8, 16, 32 TiB"
)

// premiumSSDSizesGB are the disk sizes a flexible server on Premium SSD (the
// default storage type) takes, in GiB; 4 TiB may be given as 4095 and 32 TiB
// as 32767 (the largest Premium SSD disk).
var premiumSSDSizesGB = []float64{32, 64, 128, 256, 512, 1024, 2048, 4095, 4096, 8192, 16384, 32767, 32768}

// taggable are the types with a tags argument the adapter sets.
var taggable = []string{
	resourceGroupType, deploymentType, workspaceType, vnetType, privateZoneType, zoneLinkType,
	environmentType, containerAppType, identityType, serverType, namespaceType,
}

// Rules are what Azure Resource Manager, its resource providers and
// azure-native refuse in the inputs this adapter registers. The conformance
// suite checks every registered input against them, in preview and update,
// across the neutral variants and the adapter's own (see conformance_test.go).
var Rules = slices.Concat(tagRules(taggable), []rules.Rule{
	// Resource groups.
	{Type: resourceGroupType, Path: "resourceGroupName", Check: rules.Length(1, 90),
		Source: specs + "common-types/resource-management/v5/types.json ResourceGroupNameParameter (minLength 1, maxLength 90)"},
	{Type: resourceGroupType, Path: "resourceGroupName", Check: rules.Matches(`^[-\w\._\(\)]+$`),
		Source: specs + "common-types/resource-management/v5/types.json ResourceGroupNameParameter pattern ^[-\\w\\._\\(\\)]+$"},
	{Type: resourceGroupType, Path: "resourceGroupName", Check: rules.NotMatches(`\.$`, "ends with a period"),
		Source: nameRules + " Microsoft.Resources resourcegroups: can't end with period"},

	// ARM template deployments (the $Default rule of a filtered subscription).
	{Type: deploymentType, Path: "deploymentName", Check: rules.Length(1, 64),
		Source: nameRules + " Microsoft.Resources deployments: 1-64"},
	{Type: deploymentType, Path: "deploymentName", Check: rules.Matches(`^[-\w\._\(\)]+$`),
		Source: nameRules + " Microsoft.Resources deployments: alphanumerics, underscores, parentheses, hyphens, and periods"},
	{Type: deploymentType, Path: "properties.mode", Check: rules.OneOf("Incremental", "Complete"),
		Source: specs + "resources/resource-manager/Microsoft.Resources/stable/2024-03-01/resources.json DeploymentProperties.mode enum"},

	// Log Analytics.
	{Type: workspaceType, Path: "workspaceName", Check: rules.Length(4, 63),
		Source: specs + "operationalinsights/resource-manager/Microsoft.OperationalInsights/stable/2023-09-01/Workspaces.json WorkspaceNameParameter (minLength 4, maxLength 63)"},
	{Type: workspaceType, Path: "workspaceName", Check: rules.Matches(`^[A-Za-z0-9][A-Za-z0-9-]+[A-Za-z0-9]$`),
		Source: specs + "operationalinsights/resource-manager/Microsoft.OperationalInsights/stable/2023-09-01/Workspaces.json WorkspaceNameParameter pattern"},
	{Type: workspaceType, Path: "sku.name", Check: rules.OneOf("CapacityReservation", "Free", "LACluster", "PerGB2018", "PerNode", "Premium", "Standalone", "Standard"),
		Source: specs + "operationalinsights/resource-manager/Microsoft.OperationalInsights/stable/2023-09-01/Workspaces.json WorkspaceSku.name enum"},
	{Type: workspaceType, Check: rules.Func("PerGB2018 retention of 30 to 730 days", func(v resource.PropertyValue) string {
		sku, _ := rules.String(v, "sku.name")
		d, ok := rules.Number(v, "retentionInDays")
		if sku != "PerGB2018" || !ok {
			return ""
		}
		if d < 30 || d > 730 {
			return fmt.Sprintf("retentionInDays %v is outside 30 to 730 for PerGB2018", d)
		}
		return ""
	}), Source: "https://learn.microsoft.com/azure/azure-monitor/logs/data-retention-configure (workspace retention 30-730 days on the pay-as-you-go PerGB2018 tier)"},

	// Virtual network and subnets.
	{Type: vnetType, Path: "virtualNetworkName", Check: rules.Length(2, 64),
		Source: nameRules + " Microsoft.Network virtualNetworks: 2-64"},
	{Type: vnetType, Path: "virtualNetworkName", Check: rules.Matches(networkNameRE),
		Source: nameRules + " Microsoft.Network virtualNetworks: alphanumerics, underscores, periods, hyphens; start with alphanumeric, end alphanumeric or underscore"},
	{Type: vnetType, Path: "addressSpace.addressPrefixes", Check: rules.Each(rules.CIDR()),
		Source: specs + "network/resource-manager/Microsoft.Network/stable/2024-05-01/virtualNetwork.json AddressSpace.addressPrefixes (CIDR notation)"},
	{Type: subnetType, Path: "subnetName", Check: rules.Length(1, 80),
		Source: nameRules + " Microsoft.Network virtualnetworks / subnets: 1-80"},
	{Type: subnetType, Path: "subnetName", Check: rules.Matches(networkNameRE),
		Source: nameRules + " Microsoft.Network virtualnetworks / subnets: alphanumerics, underscores, periods, hyphens; start with alphanumeric, end alphanumeric or underscore"},
	{Type: subnetType, Path: "addressPrefix", Check: rules.CIDR(),
		Source: specs + "network/resource-manager/Microsoft.Network/stable/2024-05-01/virtualNetwork.json SubnetPropertiesFormat.addressPrefix (CIDR notation)"},
	{Type: subnetType, Check: rules.Func("a Container Apps infrastructure subnet of /27 or larger", func(v resource.PropertyValue) string {
		prefix, ok := rules.String(v, "addressPrefix")
		if !ok || !delegatedTo(v, "Microsoft.App/environments") {
			return ""
		}
		p, err := netip.ParsePrefix(prefix)
		if err == nil && p.Bits() > 27 {
			return fmt.Sprintf("addressPrefix %s is smaller than /27, the smallest subnet a workload profiles environment takes", p)
		}
		return ""
	}), Source: "https://learn.microsoft.com/azure/container-apps/networking#subnet (workload profiles environment: /27 minimum)"},

	// Private DNS zone for the flexible servers and its link.
	{Type: privateZoneType, Path: "privateZoneName", Check: rules.Func("2-34 DNS labels of 1-63 alphanumerics, underscores, hyphens", func(v resource.PropertyValue) string {
		if !v.IsString() {
			return "is a " + v.TypeString() + ", want a string"
		}
		name := v.StringValue()
		labels := strings.Split(name, ".")
		if len(labels) < 2 || len(labels) > 34 {
			return fmt.Sprintf("has %d labels, a zone name has 2 to 34", len(labels))
		}
		for _, l := range labels {
			if !dnsZoneLabel.MatchString(l) {
				return fmt.Sprintf("label %q is not 1-63 alphanumerics, underscores and hyphens", l)
			}
		}
		if len(name) > 253 {
			return fmt.Sprintf("is %d characters long, a DNS name has at most 253", len(name))
		}
		return ""
	}), Source: nameRules + " Microsoft.Network privateDnsZones: 2 to 34 labels; each label alphanumerics, underscores, hyphens (RFC 1035: labels 63, names 253)"},
	{Type: privateZoneType, Path: "privateZoneName", Check: rules.Matches(`\.postgres\.database\.azure\.com$`),
		Source: pgDocs + "concepts-networking-private.md (a flexible server's private DNS zone name must end with postgres.database.azure.com)"},
	{Type: privateZoneType, Path: "location", Check: rules.OneOf("global", "Global"),
		Source: specs + "privatedns/resource-manager/Microsoft.Network/stable/2024-06-01/privatedns.json (private DNS zones are global resources)"},
	{Type: zoneLinkType, Path: "virtualNetworkLinkName", Check: rules.Length(1, 80),
		Source: nameRules + " Microsoft.Network privateDnsZones / virtualNetworkLinks: 1-80"},
	{Type: zoneLinkType, Path: "virtualNetworkLinkName", Check: rules.Matches(networkNameRE),
		Source: nameRules + " Microsoft.Network privateDnsZones / virtualNetworkLinks: alphanumerics, underscores, periods, hyphens; start with alphanumeric, end alphanumeric or underscore"},
	{Type: zoneLinkType, Path: "location", Check: rules.OneOf("global", "Global"),
		Source: specs + "privatedns/resource-manager/Microsoft.Network/stable/2024-06-01/privatedns.json (virtual network links are global resources)"},

	// Container Apps environment and apps.
	{Type: environmentType, Path: "environmentName", Check: rules.Length(2, 60),
		Source: "hashicorp/terraform-provider-azurerm internal/services/containerapps/validate/validate.go ManagedEnvironmentName (at most 60; ARM error ManagedEnvironmentInvalidName)"},
	{Type: environmentType, Path: "environmentName", Check: rules.Matches(`^[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9]$`),
		Source: "hashicorp/terraform-provider-azurerm internal/services/containerapps/validate/validate.go ManagedEnvironmentName (alphanumerics and '-', end with alphanumeric; #32267: may start with a digit)"},
	{Type: containerAppType, Path: "containerAppName", Check: rules.Length(2, 32),
		Source: nameRules + " Microsoft.App containerApps: 2-32 (ARM ContainerAppInvalidName: \"The length must be between 2 and 32 characters inclusive\")"},
	{Type: containerAppType, Path: "containerAppName", Check: rules.Matches(`^[a-z][a-z0-9-]*[a-z0-9]$`),
		Source: nameRules + " Microsoft.App containerApps: lowercase letters, numbers, hyphens; start with letter, end with alphanumeric"},
	{Type: containerAppType, Path: "containerAppName", Check: rules.NotMatches(`--`, "contains '--'"),
		Source: "ARM ContainerAppInvalidName: \"... and cannot have '--'\" (quoted in microsoft/TWL300-AI-Apps-and-agents#90; hashicorp/terraform-provider-azurerm internal/services/containerapps/validate/validate.go ContainerAppName)"},
	{Type: containerAppType, Path: "template.containers[*].name", Check: rules.Matches(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`),
		Source: "Container Apps: container names are RFC 1123 labels, regex [a-z0-9]([-a-z0-9]*[a-z0-9])? (ARM error quoted in microsoft/vscode-azurecontainerapps#19)"},
	{Type: containerAppType, Path: "template.containers[*].env[*].name", Check: rules.Matches(`^[A-Za-z0-9_]+$`),
		Source: "ARM ContainerAppInvalidEnvVarName: \"allowed characters are 'a-z, A-Z, 0-9 and _'\" (quoted in Azure/reddog-containerapps#32)"},
	{Type: containerAppType, Path: "configuration.secrets[*].name", Check: rules.Matches(`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`),
		Source: "hashicorp/terraform-provider-azurerm internal/services/containerapps/validate/validate.go SecretName (lower case alphanumerics, '-' or '.', start and end alphanumeric)"},
	{Type: containerAppType, Check: rules.Func("every env secretRef names a secret of the app", secretRefsResolve),
		Source: "https://learn.microsoft.com/azure/container-apps/manage-secrets#reference-secret-in-environment-variable (secretRef names a secret in configuration.secrets)"},
	{Type: containerAppType, Path: "template", Check: rules.Func("a consumption CPU/memory combination (0.25 to 4 vCPU in 0.25 steps, 2 GiB per vCPU)", consumptionSize),
		Source: "https://learn.microsoft.com/azure/container-apps/containers#allocations (Consumption workload profile: 0.25/0.5Gi ... 4.0/8.0Gi)"},
	{Type: containerAppType, Path: "template.scale.minReplicas", Check: rules.Between(0, 1000),
		Source: "https://learn.microsoft.com/azure/container-apps/scale-app#scale-definition (replicas 0 to 1,000)"},
	{Type: containerAppType, Path: "template.scale.maxReplicas", Check: rules.Between(1, 1000),
		Source: "https://learn.microsoft.com/azure/container-apps/scale-app#scale-definition (max replicas 1 to 1,000)"},
	{Type: containerAppType, Path: "template.scale", Check: rules.Func("minReplicas <= maxReplicas", func(v resource.PropertyValue) string {
		lo, okLo := rules.Number(v, "minReplicas")
		hi, okHi := rules.Number(v, "maxReplicas")
		if okLo && okHi && lo > hi {
			return fmt.Sprintf("minReplicas %v exceeds maxReplicas %v", lo, hi)
		}
		return ""
	}), Source: "https://learn.microsoft.com/azure/container-apps/scale-app#scale-definition"},
	{Type: containerAppType, Path: "configuration.ingress.targetPort", Check: rules.Between(1, 65535),
		Source: appSpec + "CommonDefinitions.json (ports: \"Number must be in the range 1 to 65535\")"},
	{Type: containerAppType, Path: "template.containers[*].probes[*].periodSeconds", Check: rules.Between(1, 240),
		Source: appSpec + "CommonDefinitions.json ContainerAppProbe.periodSeconds (\"Minimum value is 1. Maximum value is 240.\")"},
	{Type: containerAppType, Path: "template.containers[*].probes[*].failureThreshold", Check: rules.Between(1, 10),
		Source: appSpec + "CommonDefinitions.json ContainerAppProbe.failureThreshold (\"Minimum value is 1. Maximum value is 10.\")"},
	{Type: containerAppType, Path: "template.containers[*].probes[*].httpGet.port", Check: rules.Between(1, 65535),
		Source: appSpec + "CommonDefinitions.json ContainerAppProbe.httpGet.port (\"Number must be in the range 1 to 65535\")"},
	{Type: containerAppType, Path: "template.containers[*].probes[*].type", Check: rules.OneOf("Liveness", "Readiness", "Startup"),
		Source: appSpec + "CommonDefinitions.json ContainerAppProbe.type enum"},
	{Type: containerAppType, Path: "configuration.activeRevisionsMode", Check: rules.OneOf("Single", "Multiple", "Labels"),
		Source: appSpec + "ContainerApps.json Configuration.activeRevisionsMode enum"},

	// User-assigned identities and their role assignments.
	{Type: identityType, Path: "resourceName", Check: rules.Length(3, 128),
		Source: nameRules + " Microsoft.ManagedIdentity userAssignedIdentities: 3-128"},
	{Type: identityType, Path: "resourceName", Check: rules.Matches(`^[A-Za-z0-9][A-Za-z0-9_-]*$`),
		Source: nameRules + " Microsoft.ManagedIdentity userAssignedIdentities: alphanumerics, hyphens, underscores; start with letter or number"},
	{Type: roleAssignmentType, Path: "principalType", Check: rules.OneOf("User", "Group", "ServicePrincipal", "ForeignGroup", "Device"),
		Source: specs + "authorization/resource-manager/Microsoft.Authorization/stable/2022-04-01/authorization-RoleAssignmentsCalls.json RoleAssignmentProperties.principalType enum"},
	{Type: roleAssignmentType, Path: "roleDefinitionId", Check: rules.Matches(`^/subscriptions/[0-9a-fA-F-]{36}/providers/Microsoft\.Authorization/roleDefinitions/[0-9a-fA-F-]{36}$`),
		Source: specs + "authorization/resource-manager/Microsoft.Authorization/stable/2022-04-01/authorization-RoleAssignmentsCalls.json RoleAssignmentProperties.roleDefinitionId (a role definition's resource id)"},

	// Management locks.
	{Type: lockType, Path: "lockName", Check: rules.Length(1, 90),
		Source: nameRules + " Microsoft.Authorization locks: 1-90"},
	{Type: lockType, Path: "lockName", Check: rules.Matches(`^[A-Za-z0-9._()-]*[A-Za-z0-9_()-]$`),
		Source: nameRules + " Microsoft.Authorization locks: alphanumerics, periods, underscores, hyphens, parenthesis; can't end in period"},
	{Type: lockType, Path: "level", Check: rules.OneOf("CanNotDelete", "ReadOnly"),
		Source: specs + "resources/resource-manager/Microsoft.Authorization/stable/2020-05-01/locks.json ManagementLockProperties.level (NotSpecified is not a level to create)"},
	{Type: lockType, Path: "notes", Check: rules.Length(0, 512),
		Source: specs + "resources/resource-manager/Microsoft.Authorization/stable/2020-05-01/locks.json ManagementLockProperties.notes (maximum 512 characters)"},

	// PostgreSQL flexible server.
	{Type: serverType, Path: "serverName", Check: rules.Length(3, 63),
		Source: pgSpec + " ServerNameParameter (minLength 3, maxLength 63)"},
	{Type: serverType, Path: "serverName", Check: rules.Matches(`^[a-z0-9]+(-[a-z0-9]+)*$`),
		Source: pgSpec + " ServerNameParameter pattern ^[a-zA-Z0-9]+(-[a-zA-Z0-9]+)*; " + pgDocs + "quickstart-create-server.md (only lowercase letters, numbers, and the hyphen)"},
	{Type: serverType, Path: "administratorLogin", Check: rules.Length(1, 63),
		Source: "PostgreSQL role names are identifiers of at most NAMEDATALEN-1 = 63 bytes (postgres/postgres src/include/pg_config_manual.h NAMEDATALEN)"},
	{Type: serverType, Path: "administratorLogin", Check: rules.Matches(`^[A-Za-z_][A-Za-z0-9_]*$`),
		Source: "PostgreSQL unquoted identifiers: a letter or underscore, then letters, digits, underscores (https://www.postgresql.org/docs/current/sql-syntax-lexical.html#SQL-SYNTAX-IDENTIFIERS)"},
	{Type: serverType, Path: "administratorLogin", Check: rules.NotReserved("name Azure reserves for the admin login", naming.AzurePostgresReservedLogins...),
		Source: pgDocs + "quickstart-create-server.md Admin username: can't be azure_superuser, azure_pg_admin, admin, administrator, root, guest, or public"},
	{Type: serverType, Path: "administratorLogin", Check: rules.NotMatches(`(?i)^pg_`, "starts with pg_"),
		Source: pgDocs + "quickstart-create-server.md Admin username: can't start with pg_"},
	{Type: serverType, Path: "version", Check: rules.OneOf("11", "12", "13", "14", "15", "16", "17", "18"),
		Source: pgSpec + " ServerVersion enum"},
	{Type: serverType, Path: "sku.tier", Check: rules.OneOf("Burstable", "GeneralPurpose", "MemoryOptimized"),
		Source: pgSpec + " SkuTier enum"},
	{Type: serverType, Path: "sku", Check: rules.Func("a SKU of the tier's series (Burstable B, GeneralPurpose D, MemoryOptimized E)", func(v resource.PropertyValue) string {
		name, okName := rules.String(v, "name")
		tier, okTier := rules.String(v, "tier")
		if !okName || !okTier {
			return ""
		}
		want := map[string]string{"Burstable": "Standard_B", "GeneralPurpose": "Standard_D", "MemoryOptimized": "Standard_E"}[tier]
		if want != "" && !strings.HasPrefix(name, want) {
			return fmt.Sprintf("sku %s is not a %s size (%s*)", name, tier, want)
		}
		return ""
	}), Source: pgDocs + "concepts-compute.md (Burstable: B-series, General Purpose: D-series, Memory Optimized: E-series)"},
	{Type: serverType, Path: "storage.storageSizeGB", Check: oneOfNumbers(premiumSSDSizesNote, premiumSSDSizesGB...),
		Source: pgDocs + "concepts-storage.md (Premium SSD disk sizes, the same on every compute tier: 32 GiB to 32 TiB, max 32,767 GiB) and concepts-storage-premium-ssd.md"},
	{Type: serverType, Path: "storage.autoGrow", Check: rules.OneOf("Enabled", "Disabled"),
		Source: pgSpec + " StorageAutoGrow enum"},
	{Type: serverType, Path: "backup.backupRetentionDays", Check: rules.Between(7, 35),
		Source: pgDocs + "concepts-compute.md (automated backup retention 7 to 35 days on every tier); concepts-backup-restore.md"},
	{Type: serverType, Path: "backup.geoRedundantBackup", Check: rules.OneOf("Enabled", "Disabled"),
		Source: pgSpec + " GeographicallyRedundantBackup enum"},
	{Type: serverType, Path: "highAvailability.mode", Check: rules.OneOf("Disabled", "ZoneRedundant", "SameZone"),
		Source: pgSpec + " HighAvailabilityMode enum"},
	{Type: serverType, Check: rules.Func("no high availability on the Burstable tier", func(v resource.PropertyValue) string {
		tier, _ := rules.String(v, "sku.tier")
		mode, ok := rules.String(v, "highAvailability.mode")
		if ok && tier == "Burstable" && mode != "Disabled" {
			return "highAvailability.mode " + mode + " on the Burstable tier"
		}
		return ""
	}), Source: "MicrosoftDocs/azure-docs articles/reliability/reliability-postgre.md Availability zones - limitations (\"High availability is not supported with burstable compute tier.\")"},
	{Type: serverType, Check: rules.Func("a VNet-integrated server has public access disabled and a private DNS zone", func(v resource.PropertyValue) string {
		if _, ok := rules.Lookup(v, "network.delegatedSubnetResourceId"); !ok {
			return ""
		}
		if p, ok := rules.String(v, "network.publicNetworkAccess"); ok && p != "Disabled" {
			return "publicNetworkAccess is " + p + " on a server in a delegated subnet"
		}
		if !rules.Present(v, "network.privateDnsZoneArmResourceId") {
			return "a server in a delegated subnet has no privateDnsZoneArmResourceId"
		}
		return ""
	}), Source: pgDocs + "concepts-limits.md Networking (\"We currently don't support combining public access with deployment in a virtual network\"); concepts-networking-private.md (private DNS zone)"},
	{Type: serverType, Check: rules.Func("password authentication has an admin login and password", func(v resource.PropertyValue) string {
		if auth, _ := rules.String(v, "authConfig.passwordAuth"); auth != "Enabled" {
			return ""
		}
		for _, k := range []string{"administratorLogin", "administratorLoginPassword"} {
			if !rules.Present(v, k) {
				return "password authentication is enabled without " + k
			}
		}
		return ""
	}), Source: pgSpec + " ServerProperties.administratorLogin (\"Must be specified the first time that you enable password based authentication\")"},
	{Type: databaseType, Path: "databaseName", Check: rules.Length(1, 63),
		Source: pgSpec + " DatabaseNameParameter (minLength 1, maxLength 63)"},
	{Type: databaseType, Path: "databaseName", Check: rules.Matches(`^[a-zA-Z_][\w\-]{0,62}$`),
		Source: pgSpec + " DatabaseNameParameter pattern ^[a-zA-Z_][\\w\\-]{0,62}$"},
	{Type: databaseType, Path: "databaseName", Check: rules.NotReserved("database every flexible server already has (azure-native refuses to create an existing resource)", naming.AzurePostgresSystemDatabases...),
		Source: "pulumi/pulumi-azure-native provider/pkg/azure (CanCreate: \"cannot create already existing resource\"); " + pgDocs + "quickstart-create-server.md (the server's postgres and azure_maintenance databases), azure_sys, template0, template1"},
	{Type: databaseType, Path: "charset", Check: rules.Matches(`^[a-zA-Z]+\w*$`),
		Source: pgSpec + " DatabaseProperties.charset pattern"},
	{Type: databaseType, Path: "collation", Check: rules.Matches(`^[a-zA-Z\-]+([. ]|\w)*$`),
		Source: pgSpec + " DatabaseProperties.collation pattern"},
	{Type: randomPasswordType, Check: rules.Func("8 to 128 characters from three of upper, lower, digits, symbols", flexibleServerPassword),
		Source: pgDocs + "quickstart-create-server.md Password (8 to 128 characters from three of: uppercase, lowercase, numbers, non-alphanumeric)"},

	// Service Bus.
	{Type: namespaceType, Path: "namespaceName", Check: rules.Length(6, 50),
		Source: sbSpec + "common/v1/definitions.json NamespaceNameParameter (minLength 6, maxLength 50)"},
	{Type: namespaceType, Path: "namespaceName", Check: rules.Matches(`^[A-Za-z][A-Za-z0-9-]*[A-Za-z0-9]$`),
		Source: nameRules + " Microsoft.ServiceBus namespaces: alphanumerics and hyphens; start with a letter, end with a letter or number"},
	{Type: namespaceType, Path: "namespaceName", Check: rules.NotMatches(`(?i)-(sb|mgmt)$`, "ends with -sb or -mgmt"),
		Source: "https://learn.microsoft.com/rest/api/servicebus/create-namespace (the name can't end with -sb or -mgmt)"},
	{Type: namespaceType, Path: "sku.name", Check: rules.OneOf("Standard", "Premium"),
		Source: "https://learn.microsoft.com/azure/service-bus-messaging/service-bus-premium-messaging (topics and subscriptions need Standard or Premium; Basic has queues only)"},
	{Type: namespaceType, Path: "minimumTlsVersion", Check: rules.OneOf("1.0", "1.1", "1.2"),
		Source: sbSpec + "Microsoft.ServiceBus/stable/2024-01-01/namespace-preview.json SBNamespaceProperties.minimumTlsVersion enum"},
	{Type: queueType, Path: "queueName", Check: rules.Length(1, 260),
		Source: sbLimits + " (entity path: queue or topic, 260 characters)"},
	{Type: queueType, Path: "queueName", Check: rules.Matches(serviceBusEntityRE),
		Source: nameRules + " Microsoft.ServiceBus namespaces / queues: alphanumerics, periods, hyphens, underscores; start and end with alphanumeric ('/' is not addressable through ARM)"},
	{Type: queueType, Path: "lockDuration", Check: isoDuration8601(5, 300),
		Source: sbSpec + "Microsoft.ServiceBus/stable/2024-01-01/Queue.json SBQueueProperties.lockDuration (\"The maximum value for LockDuration is 5 minutes\"); minimum 5 seconds (Microsoft.Azure.ServiceBus QueueDescription.LockDuration)"},
	{Type: queueType, Path: "defaultMessageTimeToLive", Check: isoDuration8601(1, math.Inf(1)),
		Source: sbSpec + "Microsoft.ServiceBus/stable/2024-01-01/Queue.json SBQueueProperties.defaultMessageTimeToLive (ISO 8601 duration)"},
	{Type: queueType, Path: "maxDeliveryCount", Check: rules.Between(1, math.MaxInt32),
		Source: sbSpec + "Microsoft.ServiceBus/stable/2024-01-01/Queue.json SBQueueProperties.maxDeliveryCount (int32; a message is dead-lettered after this many deliveries, so at least 1)"},
	{Type: topicType, Path: "topicName", Check: rules.Length(1, 260),
		Source: sbLimits + " (entity path: queue or topic, 260 characters)"},
	{Type: topicType, Path: "topicName", Check: rules.Matches(serviceBusEntityRE),
		Source: nameRules + " Microsoft.ServiceBus namespaces / topics: alphanumerics, periods, hyphens, underscores; start and end with alphanumeric ('/' is not addressable through ARM)"},
	{Type: subscriptionType, Path: "subscriptionName", Check: rules.Length(1, 50),
		Source: sbSpec + "common/v1/definitions.json SubscriptionNameParameter (minLength 1, maxLength 50)"},
	{Type: subscriptionType, Path: "subscriptionName", Check: rules.Matches(serviceBusEntityRE),
		Source: nameRules + " Microsoft.ServiceBus namespaces / topics / subscriptions: alphanumerics, periods, hyphens, underscores; start and end with alphanumeric"},
	{Type: subscriptionType, Path: "maxDeliveryCount", Check: rules.Between(1, math.MaxInt32),
		Source: sbSpec + "Microsoft.ServiceBus/stable/2024-01-01/subscriptions.json SBSubscriptionProperties.maxDeliveryCount (int32, at least 1)"},
	{Type: subscriptionType, Path: "forwardTo", Check: rules.Matches(serviceBusEntityRE),
		Source: sbSpec + "Microsoft.ServiceBus/stable/2024-01-01/subscriptions.json SBSubscriptionProperties.forwardTo (a queue or topic name of the namespace)"},
	{Type: ruleType, Path: "ruleName", Check: rules.Length(1, 50),
		Source: sbSpec + "common/v1/definitions.json RuleNameParameter (minLength 1, maxLength 50)"},
	{Type: ruleType, Path: "ruleName", Check: rules.Matches(serviceBusEntityRE),
		Source: nameRules + " Microsoft.ServiceBus namespaces / topics / subscriptions / rules: alphanumerics, periods, hyphens, underscores; start and end with alphanumeric"},
	{Type: ruleType, Path: "ruleName", Check: rules.NotReserved("rule Service Bus creates with every subscription: azure-native reads before it creates and refuses an existing resource", serviceBusDefault),
		Source: "pulumi/pulumi-azure-native provider/pkg/azure CanCreate (\"cannot create already existing resource\") and provider/pkg/resources/customresources/custom_servicebus_defaultrule.go (PR #4799, issue #4489: $Default exists with every subscription; servicebus:DefaultRule from v3.27.0)"},
	{Type: ruleType, Path: "filterType", Check: rules.OneOf("SqlFilter", "CorrelationFilter"),
		Source: sbSpec + "Microsoft.ServiceBus/stable/2024-01-01/Rules.json FilterType enum"},
	{Type: ruleType, Path: "sqlFilter.sqlExpression", Check: rules.Length(1, 1024),
		Source: sbLimits + " (Size of SQL filters or actions: maximum length of filter condition string 1,024)"},
	{Type: ruleType, Check: rules.Func("a SqlFilter rule has an expression", func(v resource.PropertyValue) string {
		if ft, _ := rules.String(v, "filterType"); ft == "SqlFilter" && !rules.Present(v, "sqlFilter.sqlExpression") {
			return "filterType SqlFilter without sqlFilter.sqlExpression"
		}
		return ""
	}), Source: sbSpec + "Microsoft.ServiceBus/stable/2024-01-01/Rules.json Ruleproperties (sqlFilter for filterType SqlFilter)"},
})

// tagRules are Azure's tag limits on every taggable type.
func tagRules(types []string) []rules.Rule {
	var out []rules.Rule
	for _, t := range types {
		out = append(out,
			rules.Rule{Type: t, Path: "tags{keys}", Check: rules.Length(1, 512), Source: tagLimits + " (tag name 512 characters); " + nameRules + " Microsoft.Resources tagNames 1-512"},
			rules.Rule{Type: t, Path: "tags{keys}", Check: rules.NotMatches(`[<>%&\\?/\x00-\x1f]`, "contains one of <>%&\\?/ or a control character"),
				Source: nameRules + " Microsoft.Resources tagNames: can't use <>%&\\?/ or control characters"},
			rules.Rule{Type: t, Path: "tags{}", Check: rules.Length(0, 256), Source: tagLimits + " (tag value 256 characters)"},
			rules.Rule{Type: t, Path: "tags", Check: rules.Func("at most 50 tags", func(v resource.PropertyValue) string {
				if v.IsObject() && len(v.ObjectValue()) > 50 {
					return fmt.Sprintf("has %d tags, the maximum is 50", len(v.ObjectValue()))
				}
				return ""
			}), Source: tagLimits + " (a resource can have at most 50 tag name-value pairs)"},
		)
	}
	return out
}

// delegatedTo reports whether the subnet inputs v delegate it to service.
func delegatedTo(v resource.PropertyValue, service string) bool {
	for _, d := range rules.Elements(v, "delegations") {
		if s, _ := rules.String(d, "serviceName"); s == service {
			return true
		}
	}
	return false
}

// secretRefsResolve checks that every env secretRef of a Container App names
// one of its configuration.secrets.
func secretRefsResolve(v resource.PropertyValue) string {
	secrets := map[string]bool{}
	for _, s := range rules.Elements(v, "configuration.secrets") {
		name, _ := rules.String(s, "name")
		secrets[name] = true
	}
	for i, c := range rules.Elements(v, "template.containers") {
		for _, e := range rules.Elements(c, "env") {
			if ref, _ := rules.String(e, "secretRef"); ref != "" && !secrets[ref] {
				name, _ := rules.String(e, "name")
				return fmt.Sprintf("containers[%d] env %s refers to secret %q, which the app does not define", i, name, ref)
			}
		}
	}
	return ""
}

// consumptionSize checks the containers' total CPU and memory against the
// consumption workload profile's combinations.
func consumptionSize(v resource.PropertyValue) string {
	var cpu, mem float64
	for _, c := range rules.Elements(v, "containers") {
		n, okCPU := rules.Number(c, "resources.cpu")
		m, _ := rules.String(c, "resources.memory")
		if !okCPU || m == "" {
			return ""
		}
		gi, err := strconv.ParseFloat(strings.TrimSuffix(m, "Gi"), 64)
		if err != nil || !strings.HasSuffix(m, "Gi") {
			return fmt.Sprintf("memory %q is not in Gi", m)
		}
		cpu, mem = cpu+n, mem+gi
	}
	if cpu == 0 {
		return ""
	}
	if q := cpu * 4; q != math.Trunc(q) || cpu < 0.25 || cpu > 4 || mem != 2*cpu {
		return fmt.Sprintf("%v vCPU / %vGi is not a consumption combination", cpu, mem)
	}
	return ""
}

// flexibleServerPassword checks a random password's inputs against the
// flexible server's password policy: 8 to 128 characters, with at least one
// of three of the four character classes guaranteed.
func flexibleServerPassword(v resource.PropertyValue) string {
	num := func(key string) float64 {
		n, _ := rules.Number(v, key)
		return n
	}
	enabled := func(key string) bool {
		b, ok := rules.Lookup(v, key)
		return !ok || !b.IsBool() || b.BoolValue() // default true
	}
	if l := num("length"); l < 8 || l > 128 {
		return fmt.Sprintf("length %v is outside 8 to 128", l)
	}
	classes := 0
	for _, c := range [][2]string{{"upper", "minUpper"}, {"lower", "minLower"}, {"numeric", "minNumeric"}, {"special", "minSpecial"}} {
		if enabled(c[0]) && num(c[1]) >= 1 {
			classes++
		}
	}
	if classes < 3 {
		return fmt.Sprintf("guarantees characters of %d classes, Azure wants three", classes)
	}
	return ""
}

// oneOfNumbers wants a number among values.
func oneOfNumbers(describe string, values ...float64) rules.Check {
	return rules.Func("one of "+describe, func(v resource.PropertyValue) string {
		if !v.IsNumber() {
			return "is a " + v.TypeString() + ", want a number"
		}
		if !slices.Contains(values, v.NumberValue()) {
			return "is not one of " + describe
		}
		return ""
	})
}

// dnsZoneLabel is one label of a private DNS zone's name.
var dnsZoneLabel = regexp.MustCompile(`^[A-Za-z0-9_-]{1,63}$`)

var iso8601Duration = regexp.MustCompile(`^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$`)

// isoDuration8601 wants an ISO 8601 duration (days to seconds) of lo to
// hi seconds.
func isoDuration8601(lo, hi float64) rules.Check {
	return rules.Func(fmt.Sprintf("an ISO 8601 duration of %v to %v seconds", lo, hi), func(v resource.PropertyValue) string {
		if !v.IsString() {
			return "is a " + v.TypeString() + ", want a string"
		}
		m := iso8601Duration.FindStringSubmatch(v.StringValue())
		if m == nil || v.StringValue() == "P" || strings.HasSuffix(v.StringValue(), "T") {
			return "is not an ISO 8601 duration"
		}
		var seconds float64
		for i, unit := range []float64{86400, 3600, 60, 1} {
			if m[i+1] != "" {
				n, _ := strconv.ParseFloat(m[i+1], 64)
				seconds += n * unit
			}
		}
		if seconds < lo || seconds > hi {
			return fmt.Sprintf("is %v seconds, outside %v to %v", seconds, lo, hi)
		}
		return ""
	})
}
