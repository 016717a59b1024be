package naming

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/tenantfleet/tenantfleet/components"
)

// gcpPatterns is each GCP rule as Google documents it, to check every
// shaped name against the cloud's own grammar rather than the Rule's fields.
var gcpPatterns = map[string]struct {
	unique  func(...string) string
	pattern *regexp.Regexp
}{
	"CloudRunService": {GCP.CloudRunService.Unique, regexp.MustCompile(`^[a-z]([a-z0-9-]{0,47}[a-z0-9])?$`)},
	"ServiceAccount":  {GCP.ServiceAccount.Unique, regexp.MustCompile(`^[a-z][a-z0-9-]{4,28}[a-z0-9]$`)},
	"SQLInstance":     {GCP.SQLInstance.Unique, regexp.MustCompile(`^[a-z][a-z0-9-]{0,66}$`)},
	"DatabaseName":    {GCP.DatabaseName.Unique, regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)},
	"PubSub":          {GCP.PubSub.Unique, regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.~+%-]{2,254}$`)},
	"Secret":          {GCP.Secret.Unique, regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)},
	"Workflow":        {GCP.Workflow.Unique, regexp.MustCompile(`^[A-Za-z]([A-Za-z0-9_-]{0,62}[A-Za-z0-9])?$`)},
	"EventarcTrigger": {GCP.EventarcTrigger.Unique, regexp.MustCompile(`^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$`)},
	"Network":         {GCP.Network.Unique, regexp.MustCompile(`^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$`)},
}

func TestGCPRulesHoldForAwkwardInputs(t *testing.T) {
	t.Parallel()

	inputs := []struct {
		parts  []string
		reason string
	}{
		{[]string{"dev", "acme", "web"}, "an ordinary name"},
		{[]string{"Prod", "ACME", "worker"}, "uppercase is folded where the rule is lowercase"},
		{[]string{"my_stack", "acme_corp", "work"}, "underscores are not allowed in most GCP ids"},
		{[]string{strings.Repeat("stack", 20), strings.Repeat("tenant", 20), "events/billing"}, "long ids are truncated, '/' replaced"},
		{[]string{"9lives", "x"}, "ids start with a letter"},
		{[]string{"a"}, "minimum lengths (service account 6, Pub/Sub 3)"},
		{[]string{"--", "--"}, "nothing readable left"},
		{[]string{"google", "acme"}, "Pub/Sub ids may not start with goog"},
		{[]string{"ünïcode", "tenant"}, "non-ASCII letters"},
	}
	for name, r := range gcpPatterns {
		for _, in := range inputs {
			if got := r.unique(in.parts...); !r.pattern.MatchString(got) {
				t.Errorf("%s.Unique(%q) = %q (%d characters), want %s (%s)", name, in.parts, got, len(got), r.pattern, in.reason)
			}
		}
	}
}

func TestGCPUniqueDoesNotAlias(t *testing.T) {
	t.Parallel()

	for name, r := range gcpPatterns {
		pairs := [][2][]string{
			{{"prod", "eu-acme", "web"}, {"prod-eu", "acme", "web"}},                         // the join hides where the stack ends
			{{"dev", "acme_x", "web"}, {"dev", "acme-x", "web"}},                             // '_' and '-' shape alike
			{{"Dev", "acme", "web"}, {"dev", "acme", "web"}},                                 // case folding
			{{"dev", strings.Repeat("t", 90) + "a"}, {"dev", strings.Repeat("t", 90) + "b"}}, // differ past the limit
		}
		for _, p := range pairs {
			if a, b := r.unique(p[0]...), r.unique(p[1]...); a == b {
				t.Errorf("%s: %q and %q share the name %q", name, p[0], p[1], a)
			}
		}
	}
}

func TestPubSubReservedPrefix(t *testing.T) {
	t.Parallel()

	cases := []struct {
		name, got, want string
	}{
		{"Unique", GCP.PubSub.Unique("goog", "x"), "xgoog-x-" + rawHash("goog\x00x")},
		{"Unique any case", GCP.PubSub.Unique("Google"), "xGoogle-" + rawHash("Google")},
		{"Name falls back to Unique", GCP.PubSub.Name("goog-events"), "xgoog-events-" + rawHash("goog-events")},
		{"Name short", GCP.PubSub.Name("ab"), "ab-" + rawHash("ab")},
		{"Name fits", GCP.PubSub.Name("dev", "events"), "dev-events"},
	}
	for _, tc := range cases {
		if tc.got != tc.want {
			t.Errorf("%s = %q, want %q", tc.name, tc.got, tc.want)
		}
	}
	if a, b := GCP.PubSub.Name("goog-events"), GCP.PubSub.Name("xgoog-events"); a == b {
		t.Errorf("the reserved-prefix fix aliases a name that already reads %q", a)
	}
	if n := GCP.PubSub.Unique("goog", strings.Repeat("z", 400)); len(n) > 255 {
		t.Errorf("prefixed id has %d characters, want at most 255", len(n))
	}
}

func TestGCPLabels(t *testing.T) {
	t.Parallel()

	label := regexp.MustCompile(`^[a-z0-9_-]{0,63}$`)
	key := regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)
	cases := []struct {
		in     map[string]string
		want   map[string]string
		reason string
	}{
		{map[string]string{"tenant": "acme", "component": "tenant-unit", "stack": "dev", "managed-by": "tenantfleet"},
			map[string]string{"tenant": "acme", "component": "tenant-unit", "stack": "dev", "managed-by": "tenantfleet"},
			"the four tenantfleet tags already fit and are kept verbatim"},
		{map[string]string{"stack": ""}, map[string]string{"stack": ""}, "values may be empty"},
		{map[string]string{"stack": "Prod.EU"}, map[string]string{"stack": "prod-eu-" + rawHash("Prod.EU")}, "uppercase and '.' are not allowed in values"},
		{map[string]string{"Tenant": "a"}, map[string]string{"tenant-" + rawHash("Tenant"): "a"}, "a folded key must not collide with the key it folds to"},
		{map[string]string{"9key": "a"}, map[string]string{"x9key-" + rawHash("9key"): "a"}, "keys start with a lowercase letter"},
	}
	for _, tc := range cases {
		got := GCPLabels(tc.in)
		if len(got) != len(tc.want) {
			t.Errorf("GCPLabels(%v) = %v, want %v (%s)", tc.in, got, tc.want, tc.reason)
			continue
		}
		for k, v := range tc.want {
			if got[k] != v {
				t.Errorf("GCPLabels(%v) = %v, want %v (%s)", tc.in, got, tc.want, tc.reason)
			}
		}
	}
	long := GCPLabels(map[string]string{strings.Repeat("K", 100): strings.Repeat("v", 100), "stack": "a/b"})
	if len(long) != 2 {
		t.Fatalf("labels collapsed: %v", long)
	}
	for k, v := range long {
		if !key.MatchString(k) || !label.MatchString(v) {
			t.Errorf("label %q=%q breaks GCP's label rules", k, v)
		}
	}
}

// postgresBefore is the database and user rule of GCP, Azure and
// DigitalOcean as commit e5b869c had it (providers/naming/{gcp,azure,
// digitalocean}.go), before Reserved and ForbiddenPrefixes: the names
// existing stacks have.
var postgresBefore = Rule{MaxLen: 63, Sep: "_", Lower: true, StartLetter: true}

// tenantIDLabel is components' tenant id rule (components/validate.go,
// unchanged since e5b869c): a lowercase DNS label, no "--".
var tenantIDLabel = regexp.MustCompile(`^[a-z]([a-z0-9-]*[a-z0-9])?$`)

// tenantIDCorpus are tenant ids components.TenantSpec.Validate accepts:
// ordinary ones, every PostgreSQL keyword that is a DNS label, and names
// the managed services keep for themselves.
func tenantIDCorpus(t *testing.T) []string {
	t.Helper()
	ids := []string{
		"acme", "globex", "tenant-a", "a1", strings.Repeat("z", components.MaxTenantIDLength), "z" + strings.Repeat("9", components.MaxTenantIDLength-1),
		"users", "orders", "cloudsql", "pg", "pgadmin", "pg-x", "pg-main", "admin", "administrator", "root", "guest", "rdsadmin", "none",
		"postgres", "template0", "template1", "defaultdb", "doadmin", "azure-sys",
		"cloudsqladmin", "cloudsqlagent", "cloudsqlsuperuser", "cloudsqlimportexport", "cloudsqlreplica", "cloudsqliamuser",
		"cloudsqliamserviceaccount", "cloudsqllogical", "cloudsqlconnpooladmin", "cloudsqlobservability", "cloudsqliamgroup",
		"cloudsqliamgroupuser", "cloudsqliamgroupserviceaccount", "cloudsqlinactiveuser",
	}
	ids = append(ids, PostgresKeywords...)
	var out []string
	for _, id := range ids {
		if tenantIDLabel.MatchString(id) && !strings.Contains(id, "--") && len(id) <= components.MaxTenantIDLength && id != components.SharedTenant {
			out = append(out, id)
		}
	}
	for _, must := range []string{"user", "order", "table", "select", "cloudsqllogical", "pg-x"} {
		if !slices.Contains(out, must) {
			t.Fatalf("the corpus lacks the tenant id %q", must)
		}
	}
	return out
}

// namesKept checks that every tenant id the adapter accepted at e5b869c
// (refusedBefore false) still gets the database and user names it got then
// (a new name replaces the database or user of an existing stack), except
// the names in renamed ("database <id>" or "user <id>" to the reason the
// old name could never have been created). An exception that no longer
// renames anything is reported too: the list must be exact.
func namesKept(t *testing.T, refusedBefore func(id string) bool, db, dbBefore, user, userBefore func(id string) string, renamed map[string]string) {
	t.Helper()
	used := map[string]bool{}
	for _, id := range tenantIDCorpus(t) {
		if refusedBefore(id) {
			continue
		}
		for _, n := range []struct {
			kind        string
			now, before string
		}{{"database", db(id), dbBefore(id)}, {"user", user(id), userBefore(id)}} {
			key := n.kind + " " + id
			reason, ok := renamed[key]
			used[key] = ok
			switch {
			case !ok && n.now != n.before:
				t.Errorf("tenant %q: %s %q, was %q: an existing stack's %s would be replaced", id, n.kind, n.now, n.before, n.kind)
			case ok && n.now == n.before:
				t.Errorf("tenant %q: %s %q is unchanged, but listed as renamed (%s)", id, n.kind, n.now, reason)
			}
		}
	}
	for key := range renamed {
		if !used[key] {
			t.Errorf("%s is listed as renamed but the corpus has no such tenant id accepted before", key)
		}
	}
}

// TestGCPPostgresNamesAsBefore: every tenant id the GCP adapter accepted
// at e5b869c keeps its database and user name, SQL keywords ("user",
// "order", "table", "select") and roles Cloud SQL creates only for
// features the adapter never turns on ("cloudsqllogical") among them.
func TestGCPPostgresNamesAsBefore(t *testing.T) {
	t.Parallel()

	// e5b869c providers/gcp/sizes.go reservedRoles: ValidateTenant refused
	// a tenant id whose database name was one of these, and still does
	// (through CloudSQLPostgresDatabases and CloudSQLPostgresRoles).
	refusedBefore := []string{
		"postgres", "template0", "template1", "cloudsqladmin", "cloudsqlagent", "cloudsqlsuperuser",
		"cloudsqlimportexport", "cloudsqlreplica", "cloudsqliamuser", "cloudsqliamserviceaccount",
	}
	refusedNow := slices.Concat(CloudSQLPostgresDatabases, CloudSQLPostgresRoles)
	slices.Sort(refusedNow)
	refusedNow = slices.Compact(refusedNow)
	if want := slices.Sorted(slices.Values(refusedBefore)); !slices.Equal(refusedNow, want) {
		t.Errorf("databases and roles reserved now %q, refused as tenant ids before %q: a tenant accepted before must keep its names", refusedNow, want)
	}
	namesKept(t, func(id string) bool { return slices.Contains(refusedBefore, postgresBefore.Name(id)) },
		func(id string) string { return GCP.DatabaseName.Name(id) }, func(id string) string { return postgresBefore.Name(id) },
		func(id string) string { return GCP.DatabaseUser.Name(id) }, func(id string) string { return postgresBefore.Name(id) },
		map[string]string{
			"user pg-x":    "its old user pg_x_<hash> starts with pg_: CREATE ROLE refuses it (IsReservedName), so it never existed",
			"user pg-main": "its old user pg_main_<hash> starts with pg_: CREATE ROLE refuses it, so it never existed",
		})
}

// TestGCPDatabaseNamesAvoidReserved checks that the databases and roles
// every Cloud SQL instance has, and role names starting with pg_, are
// shaped into names Cloud SQL takes, each in its own namespace.
func TestGCPDatabaseNamesAvoidReserved(t *testing.T) {
	t.Parallel()

	cases := []struct {
		id       string
		db, user string
		reason   string
	}{
		{"acme", "acme", "acme", "an ordinary id is kept"},
		{"acme-corp", "acme_corp_" + rawHash("acme-corp"), "acme_corp_" + rawHash("acme-corp"), "shaped as before: '-' is not an identifier character"},
		{"user", "user", "user", "a PostgreSQL keyword is kept: the Admin API takes it, and stacks have it"},
		{"cloudsqllogical", "cloudsqllogical", "cloudsqllogical", "Cloud SQL creates this role only for logical replication, which the adapter never turns on"},
		{"postgres", "postgres_" + rawHash("postgres"), "postgres_" + rawHash("postgres"), "a database and a role every instance has"},
		{"cloudsqladmin", "cloudsqladmin_" + rawHash("cloudsqladmin"), "cloudsqladmin_" + rawHash("cloudsqladmin"), "Cloud SQL's own database and role"},
		{"cloudsqlsuperuser", "cloudsqlsuperuser", "cloudsqlsuperuser_" + rawHash("cloudsqlsuperuser"), "a role, not a database: the database name is free"},
		{"template1", "template1_" + rawHash("template1"), "template1", "a database, not a role"},
		{"pg-monitor", "pg_monitor_" + rawHash("pg-monitor"), "xpg_monitor_" + rawHash("pg-monitor"), "role names starting with pg_ are reserved; database names are not"},
	}
	for _, tc := range cases {
		if got := GCP.DatabaseName.Name(tc.id); got != tc.db {
			t.Errorf("DatabaseName(%q) = %q, want %q (%s)", tc.id, got, tc.db, tc.reason)
		}
		if got := GCP.DatabaseUser.Name(tc.id); got != tc.user {
			t.Errorf("DatabaseUser(%q) = %q, want %q (%s)", tc.id, got, tc.user, tc.reason)
		}
	}
	// Every reserved name is shaped, into a name that is not reserved.
	for _, c := range []struct {
		rule  Rule
		words []string
	}{{GCP.DatabaseName, CloudSQLPostgresDatabases}, {GCP.DatabaseUser, CloudSQLPostgresRoles}} {
		for _, w := range c.words {
			if got := c.rule.Name(w); got == w || c.rule.refused(got) {
				t.Errorf("Name(%q) = %q: a reserved name must be shaped into an allowed one", w, got)
			}
		}
	}
}
