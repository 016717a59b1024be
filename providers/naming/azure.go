package naming

import "strings"

// Azure holds Azure's naming rules, one per kind of resource tenantfleet names.
// Names of globally unique resources (PostgreSQL servers, Service Bus
// namespaces: both are DNS names) are built with Unique so the hash keeps
// two stacks apart.
var Azure = struct {
	ResourceGroup, ContainerApp, ManagedEnvironment, LogAnalyticsWorkspace Rule
	PostgresServer, DatabaseName, DatabaseUser                             Rule
	ServiceBusNamespace, ServiceBusEntity, ServiceBusSubscription          Rule
	ManagedIdentity, VirtualNetwork, Subnet, Deployment                    Rule
}{
	// Resource group: 1-90 letters, digits, '_', '-', '.', '(' and ')', not
	// ending in '.'. Only '_' and '-' are kept so a name can never end in '.'.
	ResourceGroup: Rule{MaxLen: 90, Sep: "-", Extra: "_"},
	// Container App: 2-32 lowercase letters, digits and hyphens, starting
	// with a letter, ending with a letter or digit, no "--".
	ContainerApp: Rule{MaxLen: 32, Sep: "-", Lower: true, StartLetter: true},
	// Container Apps environment: 2-60, same characters as a Container App.
	ManagedEnvironment: Rule{MaxLen: 60, Sep: "-", Lower: true, StartLetter: true},
	// Log Analytics workspace: 4-63 letters, digits and hyphens, starting and
	// ending with a letter or digit.
	LogAnalyticsWorkspace: Rule{MaxLen: 63, Sep: "-", StartLetter: true},
	// PostgreSQL flexible server: 3-63 lowercase letters, digits and hyphens,
	// not starting or ending with a hyphen; part of a public DNS name.
	PostgresServer: Rule{MaxLen: 63, Sep: "-", Lower: true, StartLetter: true},
	// PostgreSQL identifiers, as on AWS. A database may not be one of the
	// databases every server has (creating postgres or template1 fails: it
	// exists). PostgreSQL keywords are not reserved: no Azure source says
	// the flexible server API refuses them, and a tenant id such as "user"
	// has named its database "user" since the first release (a new name
	// would replace the database).
	DatabaseName: Rule{MaxLen: 63, Sep: "_", Lower: true, StartLetter: true, Reserved: AzurePostgresSystemDatabases},
	// The admin login may not be admin, root, ... nor start with pg_ (the
	// adapter also prefixes it).
	DatabaseUser: Rule{MaxLen: 63, Sep: "_", Lower: true, StartLetter: true,
		Reserved: AzurePostgresReservedLogins, ForbiddenPrefixes: []string{"pg_"}},
	// Service Bus namespace: 6-50 letters, digits and hyphens, starting with
	// a letter, ending with a letter or digit, not ending in -sb or -mgmt
	// (Unique always ends in the hex hash, which rules both out); a public
	// DNS name, so always build it with Unique.
	ServiceBusNamespace: Rule{MaxLen: 50, Sep: "-", Lower: true, StartLetter: true},
	// Queue and topic: 1-260 letters, digits, '.', '-', '_', starting and
	// ending with a letter or digit ('/' would make a path; '.' is not
	// kept). A stack name may start with '_' (Pulumi allows it): such a name
	// gets an "x" before it.
	ServiceBusEntity: Rule{MaxLen: 260, Sep: "-", Extra: "_", ForbiddenPrefixes: []string{"_"}},
	// Subscription: 1-50 of the same characters.
	ServiceBusSubscription: Rule{MaxLen: 50, Sep: "-", Extra: "_"},
	// User-assigned identity: 3-128 letters, digits, '-' and '_', starting
	// with a letter or digit.
	ManagedIdentity: Rule{MaxLen: 128, Sep: "-", Extra: "_", StartLetter: true},
	// Virtual network 2-64, subnet 1-80: letters, digits, '_', '.', '-'.
	VirtualNetwork: Rule{MaxLen: 64, Sep: "-", Extra: "_", StartLetter: true},
	Subnet:         Rule{MaxLen: 80, Sep: "-", Extra: "_", StartLetter: true},
	// ARM template deployment: 1-64 letters, digits, '_', '-', '.', '(' and ')'.
	Deployment: Rule{MaxLen: 64, Sep: "-", Extra: "_"},
}

// AzurePostgresReservedLogins are the names a flexible server refuses as
// its admin login (learn.microsoft.com/azure/postgresql/flexible-server/
// quickstart-create-server, Admin username); it also refuses names that
// start with pg_.
var AzurePostgresReservedLogins = []string{"azure_superuser", "azure_pg_admin", "admin", "administrator", "root", "guest", "public"}

// AzurePostgresSystemDatabases are the databases every flexible server has:
// creating one of them fails, as azure-native refuses to create a resource
// that exists.
var AzurePostgresSystemDatabases = []string{"postgres", "azure_maintenance", "azure_sys", "template0", "template1"}

// AzureTags shapes tags to Azure's rules: keys up to 512 and values up to 256
// characters; keys may not contain < > % & \ ? / (replaced by '-').
func AzureTags(tags map[string]string) map[string]string {
	out := make(map[string]string, len(tags))
	for k, v := range tags {
		if strings.ContainsAny(k, `<>%&\?/`) || len(k) > 512 {
			k = Rule{MaxLen: 512, Sep: "-", Extra: " _.:=+@"}.Name(k)
		}
		if len(v) > 256 {
			v = v[:256-HashLength-1] + "-" + rawHash(v)
		}
		out[k] = v
	}
	return out
}
