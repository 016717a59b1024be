package naming

import (
	"regexp"
	"strings"
	"testing"
)

// azureBefore are the Azure rules as they were before Reserved and
// ForbiddenPrefixes: names they accepted must not change (a changed name
// replaces the resource of an existing stack).
var azureBefore = struct{ DatabaseName, DatabaseUser, ServiceBusEntity Rule }{
	DatabaseName:     Rule{MaxLen: 63, Sep: "_", Lower: true, StartLetter: true},
	DatabaseUser:     Rule{MaxLen: 63, Sep: "_", Lower: true, StartLetter: true},
	ServiceBusEntity: Rule{MaxLen: 260, Sep: "-", Extra: "_"},
}

func TestAzureRefusedNamesAreShaped(t *testing.T) {
	t.Parallel()

	cases := []struct {
		name    string
		got     string
		refused string
		reason  string
	}{
		{"system database postgres", Azure.DatabaseName.Name("postgres"), "postgres", "every flexible server has a postgres database: creating it fails"},
		{"system database template1", Azure.DatabaseName.Name("template1"), "template1", "template1 exists on every server"},
		{"reserved login", Azure.DatabaseUser.Name("admin"), "admin", "flexible server refuses admin as the admin login"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()

			if strings.EqualFold(tc.got, tc.refused) {
				t.Fatalf("got %q: %s", tc.got, tc.reason)
			}
			if !strings.HasPrefix(tc.got, tc.refused+"_") {
				t.Errorf("got %q, want the readable %q with a hash suffix", tc.got, tc.refused)
			}
		})
	}
	if got := Azure.DatabaseUser.Name("pg_acme"); strings.HasPrefix(got, "pg_") {
		t.Errorf("DatabaseUser.Name(pg_acme) = %q: flexible server refuses logins starting with pg_", got)
	}
	// PostgreSQL keywords are no Azure rule: a tenant "user" keeps the
	// database "user" it has had since the first release.
	for _, w := range []string{"user", "order"} {
		if got := Azure.DatabaseName.Name(w); got != w {
			t.Errorf("DatabaseName.Name(%q) = %q: a new name would replace the tenant's database", w, got)
		}
	}
}

func TestAzureServiceBusEntityStartsAlphanumeric(t *testing.T) {
	t.Parallel()

	entity := regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$`)
	for _, parts := range [][]string{{"_prod", "acme", "work"}, {"__x", "shared", "events"}, {"_", "acme"}} {
		got := Azure.ServiceBusEntity.Unique(parts...)
		if !entity.MatchString(got) || len(got) > 260 {
			t.Errorf("ServiceBusEntity.Unique(%q) = %q: queue and topic names start and end with a letter or digit (stack names may start with _)", parts, got)
		}
	}
	if a, b := Azure.ServiceBusEntity.Unique("_prod", "acme"), Azure.ServiceBusEntity.Unique("x_prod", "acme"); a == b {
		t.Errorf("stacks _prod and x_prod share the queue name %q", a)
	}
}

// TestAzureNamesValidBeforeAreUnchanged: the rules' new Reserved and
// ForbiddenPrefixes change no name the old rules gave a tenant the adapter
// accepted (it refused no tenant id at e5b869c), except names that could
// never have been created.
func TestAzureNamesValidBeforeAreUnchanged(t *testing.T) {
	t.Parallel()

	namesKept(t, func(string) bool { return false },
		func(id string) string { return Azure.DatabaseName.Name(id) }, func(id string) string { return azureBefore.DatabaseName.Name(id) },
		func(id string) string { return Azure.DatabaseUser.Name("tf", id) }, func(id string) string { return azureBefore.DatabaseUser.Name("tf", id) },
		map[string]string{
			"database postgres":  "every flexible server has the database postgres, and azure-native refuses to create a resource that exists: the tenant's database never existed",
			"database template0": "every flexible server has template0: never created",
			"database template1": "every flexible server has template1: never created",
		})
	stacks := []string{"conformance", "prod", "sg-prod", "internal", "Prod_EU.2", "9prod", "production-" + strings.Repeat("x", 89)}
	for _, tenant := range tenantIDCorpus(t) {
		for _, stack := range stacks {
			if got, want := Azure.ServiceBusEntity.Unique(stack, tenant, "work"), azureBefore.ServiceBusEntity.Unique(stack, tenant, "work"); got != want {
				t.Errorf("queue of stack %q tenant %q: %q, was %q", stack, tenant, got, want)
			}
		}
	}
	// The admin login the adapter builds is never refused: "tf_" starts no
	// reserved login and no pg_.
	for _, w := range AzurePostgresReservedLogins {
		if got := Azure.DatabaseUser.Name("tf", w); got != "tf_"+w {
			t.Errorf("admin login of tenant %q = %q, want tf_%s", w, got, w)
		}
	}
}

func TestAzureDeploymentName(t *testing.T) {
	t.Parallel()

	valid := regexp.MustCompile(`^[-\w\._\(\)]{1,64}$`)
	for _, stack := range []string{"conformance", "_prod", "Prod_EU.2", "production-" + strings.Repeat("x", 89)} {
		got := Azure.Deployment.Unique(stack, "events-billing", "default-rule")
		if !valid.MatchString(got) {
			t.Errorf("Deployment.Unique(%q, ...) = %q: deployment names are 1-64 of [-\\w._()]", stack, got)
		}
	}
}
