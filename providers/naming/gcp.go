package naming

import "strings"

// GCP holds Google Cloud's naming rules, one per kind of resource tenantfleet
// names. Every one of these names is unique within the project (or, for Cloud
// SQL, reserved for about a week after deletion), so the adapter builds them
// all with Unique: the hash keeps two stacks or tenants apart and also gives
// the minimum lengths (service accounts 6, Pub/Sub ids 3) that Name alone
// would not.
var GCP = struct {
	CloudRunService, ServiceAccount         Rule
	SQLInstance, DatabaseName, DatabaseUser Rule
	PubSub                                  PubSubRule
	Secret, Workflow, EventarcTrigger       Rule
	Network, Subnetwork, Address            Rule
}{
	// Cloud Run service: at most 49 lowercase letters, digits and hyphens,
	// starting with a letter and not ending with a hyphen.
	CloudRunService: Rule{MaxLen: 49, Sep: "-", Lower: true, StartLetter: true},
	// Service account id: 6-30 characters, [a-z][a-z0-9-]*[a-z0-9]. Unique's
	// hash makes even a one-letter input 10 characters long.
	ServiceAccount: Rule{MaxLen: 30, Sep: "-", Lower: true, StartLetter: true},
	// Cloud SQL instance id: lowercase letters, digits and hyphens, starting
	// with a letter; "project-id:instance-id" may not exceed 98 characters.
	// Project ids are at most 30, which leaves 67 for the instance in any project.
	SQLInstance: Rule{MaxLen: 67, Sep: "-", Lower: true, StartLetter: true},
	// PostgreSQL identifiers, as on AWS and Azure. A database may not be
	// one every instance already has, a user not a role every instance
	// already has (databases and roles are different namespaces), and a
	// role name may not start with pg_, which PostgreSQL keeps for its own
	// (CREATE ROLE refuses it). PostgreSQL keywords are not reserved: no
	// Google source says the Cloud SQL Admin API refuses them, and a tenant
	// id such as "user" has named its database "user" since the first
	// release (a new name would replace the database).
	DatabaseName: Rule{MaxLen: 63, Sep: "_", Lower: true, StartLetter: true, Reserved: CloudSQLPostgresDatabases},
	DatabaseUser: Rule{MaxLen: 63, Sep: "_", Lower: true, StartLetter: true, Reserved: CloudSQLPostgresRoles,
		ForbiddenPrefixes: []string{"pg_"}},
	// Pub/Sub topic and subscription ids: 3-255 of [A-Za-z0-9-_.~+%], starting
	// with a letter, not starting with "goog". Only '-' and '_' are kept:
	// '%' reads as URL escaping and '.', '~', '+' add nothing.
	PubSub: PubSubRule{Rule{MaxLen: 255 - len(reservedPrefixFix), Sep: "-", Extra: "_", StartLetter: true}},
	// Secret Manager secret id: at most 255 of [A-Za-z0-9_-].
	Secret: Rule{MaxLen: 255, Sep: "-", Extra: "_"},
	// Workflow: at most 64 letters, digits, '-' and '_', starting with a
	// letter and ending with a letter or digit.
	Workflow: Rule{MaxLen: 64, Sep: "-", Extra: "_", StartLetter: true},
	// Eventarc trigger: at most 63 lowercase letters, digits and hyphens,
	// starting with a letter.
	EventarcTrigger: Rule{MaxLen: 63, Sep: "-", Lower: true, StartLetter: true},
	// Compute names (RFC 1035): at most 63, [a-z]([-a-z0-9]*[a-z0-9])?.
	Network:    Rule{MaxLen: 63, Sep: "-", Lower: true, StartLetter: true},
	Subnetwork: Rule{MaxLen: 63, Sep: "-", Lower: true, StartLetter: true},
	Address:    Rule{MaxLen: 63, Sep: "-", Lower: true, StartLetter: true},
}

// CloudSQLPostgresDatabases are the databases every Cloud SQL for
// PostgreSQL instance has: PostgreSQL's postgres, template0 and template1,
// and Cloud SQL's own cloudsqladmin. Creating one fails: it exists.
var CloudSQLPostgresDatabases = []string{"postgres", "template0", "template1", "cloudsqladmin"}

// CloudSQLPostgresRoles are the users and roles of a Cloud SQL for
// PostgreSQL instance that a tenant's user may not take: those every
// instance has from its creation (postgres, cloudsqladmin,
// cloudsqlimportexport, cloudsqlsuperuser, cloudsqliamuser,
// cloudsqliamserviceaccount; "About PostgreSQL users and roles",
// https://cloud.google.com/sql/docs/postgres/users, System users and
// roles), and cloudsqlagent and cloudsqlreplica, which Cloud SQL creates
// for monitoring and replication and the adapter has refused as tenant ids
// from the start. The roles Cloud SQL creates only when a feature the
// adapter never turns on is enabled (cloudsqllogical for logical
// replication, cloudsqlconnpooladmin, cloudsqlobservability, the IAM group
// roles) are not here: a tenant could have, and may have, taken them.
//
// ValidateTenant (providers/gcp) refuses a tenant id that is one of these
// or of CloudSQLPostgresDatabases, as it always has.
var CloudSQLPostgresRoles = []string{
	"postgres", "cloudsqladmin", "cloudsqlagent", "cloudsqlimportexport", "cloudsqlreplica",
	"cloudsqlsuperuser", "cloudsqliamuser", "cloudsqliamserviceaccount",
}

// reservedPrefixFix is put before a Pub/Sub id that would start with the
// reserved "goog"; the rule's MaxLen leaves room for it.
const reservedPrefixFix = "x"

// PubSubRule is the rule of Pub/Sub topic and subscription ids: a Rule, plus
// Pub/Sub's reserved "goog" prefix and 3-character minimum.
type PubSubRule struct{ Rule }

// Name is Rule.Name, except that an id too short or starting with "goog"
// falls back to the hashed Unique form (prefixed when reserved), so the fix
// cannot alias an input that already reads that way.
func (r PubSubRule) Name(parts ...string) string {
	if n := r.Rule.Name(parts...); len(n) >= 3 && !reserved(n) {
		return n
	}
	return r.Unique(parts...)
}

// Unique is Rule.Unique with the reserved prefix avoided.
func (r PubSubRule) Unique(parts ...string) string {
	n := r.Rule.Unique(parts...)
	if reserved(n) {
		return reservedPrefixFix + n
	}
	return n
}

func reserved(id string) bool { return strings.HasPrefix(strings.ToLower(id), "goog") }

// gcpLabelKey and gcpLabelValue are Google Cloud's label rules: keys start
// with a lowercase letter, both use lowercase letters, digits, '_' and '-',
// at most 63 characters; values may be empty.
var (
	gcpLabelKey   = Rule{MaxLen: 63, Sep: "-", Extra: "_", Lower: true, StartLetter: true}
	gcpLabelValue = Rule{MaxLen: 63, Sep: "-", Extra: "_", Lower: true}
)

// GCPLabels shapes tags to Google Cloud's label rules. A key or value that
// already fits is kept; anything else is folded, sanitized and suffixed with
// a hash of the original, so two tags never collapse onto one label.
func GCPLabels(tags map[string]string) map[string]string {
	out := make(map[string]string, len(tags))
	for k, v := range tags {
		out[gcpLabelKey.Name(k)] = gcpLabelValue.Name(v)
	}
	return out
}
