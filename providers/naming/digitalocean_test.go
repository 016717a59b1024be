package naming

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// digitalOceanPatterns is each DigitalOcean rule as DigitalOcean documents
// it, to check every shaped name against the cloud's own grammar.
var digitalOceanPatterns = map[string]struct {
	unique  func(...string) string
	pattern *regexp.Regexp
}{
	"DatabaseCluster": {DigitalOcean.DatabaseCluster.Unique, regexp.MustCompile(`^[a-z][a-z0-9-]{0,61}[a-z0-9]$`)},
	"App":             {DigitalOcean.App.Unique, regexp.MustCompile(`^[a-z][a-z0-9-]{0,30}[a-z0-9]$`)},
	"AppComponent":    {DigitalOcean.AppComponent.Unique, regexp.MustCompile(`^[a-z][a-z0-9-]{0,30}[a-z0-9]$`)},
	"Project":         {DigitalOcean.Project.Unique, regexp.MustCompile(`^.{1,175}$`)},
	"DatabaseName":    {DigitalOcean.DatabaseName.Unique, regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)},
	"DatabaseUser":    {DigitalOcean.DatabaseUser.Unique, regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)},
	"KafkaTopic":      {DigitalOcean.KafkaTopic.Unique, regexp.MustCompile(`^[a-zA-Z0-9._-]{1,249}$`)},
	"KafkaUser":       {DigitalOcean.KafkaUser.Unique, regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)},
}

func TestDigitalOceanRulesHoldForAwkwardInputs(t *testing.T) {
	t.Parallel()

	inputs := []struct {
		parts  []string
		reason string
	}{
		{[]string{"dev", "acme", "app"}, "an ordinary name"},
		{[]string{"Prod", "ACME", "worker"}, "uppercase is folded"},
		{[]string{"my_stack", "acme_corp", "work"}, "underscores are not allowed in cluster or app names"},
		{[]string{strings.Repeat("stack", 20), strings.Repeat("tenant", 20), "account-events/billing"}, "long ids are truncated, '/' replaced"},
		{[]string{"9lives", "x"}, "names start with a letter"},
		{[]string{"a"}, "apps need at least 2 characters"},
		{[]string{"--", "--"}, "nothing readable left"},
		{[]string{"ünïcode", "tenant"}, "non-ASCII letters"},
		{[]string{"dev", "acme", "work*"}, "a '*' would make a Kafka ACL a pattern"},
	}
	for name, r := range digitalOceanPatterns {
		for _, in := range inputs {
			got := r.unique(in.parts...)
			if !r.pattern.MatchString(got) || strings.Contains(got, "*") {
				t.Errorf("%s.Unique(%q) = %q (%d characters), want %s (%s)", name, in.parts, got, len(got), r.pattern, in.reason)
			}
		}
	}
}

func TestDigitalOceanUniqueDoesNotAlias(t *testing.T) {
	t.Parallel()

	pairs := [][2][]string{
		{{"prod", "eu-acme", "app"}, {"prod-eu", "acme", "app"}},                         // the join hides where the stack ends
		{{"dev", "acme_x", "app"}, {"dev", "acme-x", "app"}},                             // '_' and '-' shape alike
		{{"Dev", "acme", "app"}, {"dev", "acme", "app"}},                                 // case folding
		{{"dev", strings.Repeat("t", 90) + "a"}, {"dev", strings.Repeat("t", 90) + "b"}}, // differ past the limit
		{{"dev", "shared", "events/billing"}, {"dev", "shared", "events-billing"}},       // fanout owners
	}
	for name, r := range digitalOceanPatterns {
		for _, p := range pairs {
			if a, b := r.unique(p[0]...), r.unique(p[1]...); a == b {
				t.Errorf("%s: %q and %q share the name %q", name, p[0], p[1], a)
			}
		}
	}
}

func TestDigitalOceanDatabaseNamesReadAsTheTenant(t *testing.T) {
	t.Parallel()

	for _, tc := range []struct{ in, want string }{
		{"acme", "acme"},
		{"globex-eu", "globex_eu_" + rawHash("globex-eu")}, // "-" is not an unquoted PostgreSQL identifier character
	} {
		if got := DigitalOcean.DatabaseName.Name(tc.in); got != tc.want {
			t.Errorf("DatabaseName.Name(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestDigitalOceanTags(t *testing.T) {
	t.Parallel()

	tag := regexp.MustCompile(`^[A-Za-z0-9:_-]{1,255}$`)
	cases := []struct {
		in     map[string]string
		want   []string
		reason string
	}{
		{map[string]string{"tenant": "acme", "component": "tenant-unit", "stack": "dev", "managed-by": "tenantfleet"},
			[]string{"component:tenant-unit", "managed-by:tenantfleet", "stack:dev", "tenant:acme"},
			"the four tenantfleet tags already fit, kept verbatim and sorted"},
		{map[string]string{"stack": "Prod_EU"}, []string{"stack:Prod_EU"}, "uppercase and underscores are allowed"},
		{map[string]string{"stack": "prod.eu"}, []string{"stack:prod-eu-" + rawHash("stack:prod.eu")}, "'.' is not allowed: replaced and hashed"},
		{map[string]string{"stack": "a b", "x": ""}, []string{"stack:a-b-" + rawHash("stack:a b"), "x:"}, "spaces are replaced; empty values kept"},
	}
	for _, tc := range cases {
		got := DigitalOceanTags(tc.in)
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("DigitalOceanTags(%v) = %q, want %q (%s)", tc.in, got, tc.want, tc.reason)
		}
	}
	long := DigitalOceanTags(map[string]string{"stack": strings.Repeat("s", 300) + "/a", "tenant": strings.Repeat("s", 300) + "/b"})
	if len(long) != 2 || long[0] == long[1] {
		t.Fatalf("tags collapsed: %q", long)
	}
	for _, s := range long {
		if !tag.MatchString(s) {
			t.Errorf("tag %q breaks DigitalOcean's tag rules", s)
		}
	}
}

func TestParseDigitalOceanTagsRoundTrips(t *testing.T) {
	t.Parallel()

	in := map[string]string{"tenant": "acme", "component": "platform", "stack": "a:b", "managed-by": "tenantfleet"}
	got := ParseDigitalOceanTags(DigitalOceanTags(in))
	for k, v := range in {
		if got[k] != v {
			t.Errorf("round trip of %s=%q gave %q", k, v, got[k])
		}
	}
}

// TestDigitalOceanPostgresNamesAvoidReservedWords: a tenant id that would
// name a database every DigitalOcean cluster already has gets a shaped
// database name, one that would name a role every cluster has or start
// with PostgreSQL's reserved pg_ a shaped user name (each in its own
// namespace); PostgreSQL keywords are kept.
func TestDigitalOceanPostgresNamesAvoidReservedWords(t *testing.T) {
	t.Parallel()

	cases := []struct {
		rule     Rule
		in, want string
		reason   string
	}{
		{DigitalOcean.DatabaseName, "user", "user", "a keyword is kept: the tenant id \"user\" has named its database user since the first release"},
		{DigitalOcean.DatabaseUser, "order", "order", "a keyword is kept"},
		{DigitalOcean.DatabaseName, "defaultdb", "defaultdb_" + rawHash("defaultdb"), "every DigitalOcean cluster has the database defaultdb"},
		{DigitalOcean.DatabaseUser, "defaultdb", "defaultdb", "defaultdb is a database, not a role"},
		{DigitalOcean.DatabaseUser, "doadmin", "doadmin_" + rawHash("doadmin"), "every DigitalOcean cluster has the role doadmin"},
		{DigitalOcean.DatabaseName, "doadmin", "doadmin", "doadmin is a role, not a database"},
		{DigitalOcean.DatabaseUser, "postgres", "postgres_" + rawHash("postgres"), "and the role postgres"},
		{DigitalOcean.DatabaseName, "template1", "template1_" + rawHash("template1"), "and PostgreSQL's template databases"},
		{DigitalOcean.DatabaseUser, "pg-main", "xpg_main_" + rawHash("pg-main"), "PostgreSQL refuses roles named pg_*"},
		{DigitalOcean.DatabaseName, "pg-main", "pg_main_" + rawHash("pg-main"), "databases may start with pg_: the name is as before"},
		{DigitalOcean.DatabaseName, "acme", "acme", "an ordinary id is kept"},
		{DigitalOcean.DatabaseUser, "globex-eu", "globex_eu_" + rawHash("globex-eu"), "shaped as before"},
	}
	for _, tc := range cases {
		if got := tc.rule.Name(tc.in); got != tc.want {
			t.Errorf("Name(%q) = %q, want %q (%s)", tc.in, got, tc.want, tc.reason)
		}
	}
	for _, c := range []struct {
		rule  Rule
		words []string
	}{{DigitalOcean.DatabaseName, DigitalOceanPostgresDatabases}, {DigitalOcean.DatabaseUser, DigitalOceanPostgresRoles}} {
		for _, w := range c.words {
			if got := c.rule.Name(w); strings.EqualFold(got, w) {
				t.Errorf("Name(%q) = %q: a name every cluster already has names a tenant's database or role", w, got)
			}
		}
	}
}

// TestDigitalOceanPostgresNamesAsBefore: every tenant id the DigitalOcean
// adapter accepted at e5b869c keeps its database and user name, SQL
// keywords among them.
func TestDigitalOceanPostgresNamesAsBefore(t *testing.T) {
	t.Parallel()

	// e5b869c providers/digitalocean/sizes.go reservedNames: ValidateTenant
	// refused a tenant id whose database or user name was one of these.
	refusedBefore := []string{"defaultdb", "doadmin", "postgres", "template0", "template1", "_dodb"}
	namesKept(t, func(id string) bool { return slices.Contains(refusedBefore, postgresBefore.Name(id)) },
		func(id string) string { return DigitalOcean.DatabaseName.Name(id) }, func(id string) string { return postgresBefore.Name(id) },
		func(id string) string { return DigitalOcean.DatabaseUser.Name(id) }, func(id string) string { return postgresBefore.Name(id) },
		map[string]string{
			"user pg-x":    "its old user pg_x_<hash> starts with pg_: CREATE ROLE refuses it (IsReservedName), so it never existed",
			"user pg-main": "its old user pg_main_<hash> starts with pg_: CREATE ROLE refuses it, so it never existed",
		})
}
