package naming

import (
	"regexp"
	"strings"
	"testing"
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

// TestGCPDatabaseNamesAvoidReserved checks the tenant database and user
// names Cloud SQL would refuse or already has are shaped, and every other
// name is what it was before the rules had Reserved and ForbiddenPrefixes.
func TestGCPDatabaseNamesAvoidReserved(t *testing.T) {
	before := Rule{MaxLen: 63, Sep: "_", Lower: true, StartLetter: true}
	cases := []struct {
		id       string
		db, user string
		reason   string
	}{
		{"acme", "acme", "acme", "an ordinary id is kept"},
		{"acme-corp", "acme_corp_" + rawHash("acme-corp"), "acme_corp_" + rawHash("acme-corp"), "shaped as before: '-' is not an identifier character"},
		{"pgadmin", "pgadmin", "pgadmin", "only pg_ is PostgreSQL's"},
		{"user", "user_" + rawHash("user"), "user_" + rawHash("user"), "a PostgreSQL reserved keyword"},
		{"order", "order_" + rawHash("order"), "order_" + rawHash("order"), "a PostgreSQL reserved keyword"},
		{"cloudsqllogical", "cloudsqllogical_" + rawHash("cloudsqllogical"), "cloudsqllogical_" + rawHash("cloudsqllogical"), "a role Cloud SQL creates for logical replication"},
		{"cloudsqlsuperuser", "cloudsqlsuperuser_" + rawHash("cloudsqlsuperuser"), "cloudsqlsuperuser_" + rawHash("cloudsqlsuperuser"), "the role every Cloud SQL user belongs to"},
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
	// Every reserved word is shaped, into a name that is not reserved.
	for _, w := range cloudSQLReserved {
		for _, r := range []Rule{GCP.DatabaseName, GCP.DatabaseUser} {
			got := r.Name(w)
			if got == w || r.refused(got) {
				t.Errorf("Name(%q) = %q: a reserved name must be shaped into an allowed one", w, got)
			}
		}
	}
	// Names that were valid before are unchanged.
	for _, id := range []string{"acme", "globex", "tenant-a", "a1", strings.Repeat("z", 32), "9lives", "users", "orders", "cloudsql", "pg"} {
		for _, r := range []Rule{GCP.DatabaseName, GCP.DatabaseUser} {
			if got, was := r.Name(id), before.Name(id); got != was {
				t.Errorf("Name(%q) = %q, was %q: a name that was valid must not change", id, got, was)
			}
		}
	}
}
