package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tenantfleet/tenantfleet/internal/localcloud"
	"github.com/tenantfleet/tenantfleet/providers/naming"
)

// badStack is a stack file the CLI must refuse: exit 2, a message naming
// the config key (or the file), and nothing created, neither in the stack
// nor on the local cloud.
type badStack struct {
	name    string
	reason  string
	yaml    string
	tenants []string // the tenant ids it names, whose databases must not exist
	want    []string // what stderr must say
}

// goodTenants is a valid tenants list; each case breaks one thing.
const goodTenants = `  tenantfleet:tenants:
    - id: acme
      web: {image: "tenant-app:dev"}
      worker: {image: "tenant-app:dev"}
    - id: globex
      web: {image: "tenant-app:dev"}
      worker: {image: "tenant-app:dev"}
`

var badStacks = []badStack{
	{
		name: "bad-cloud", reason: "an unknown cloud lists the valid ones",
		yaml:    "config:\n  tenantfleet:cloud: oracle\n" + goodTenants,
		tenants: []string{"acme", "globex"},
		want:    []string{"tenantfleet:cloud", `unknown cloud "oracle"`, "valid clouds are aws, azure, digitalocean, gcp, kubernetes, local"},
	},
	{
		name: "bad-id", reason: "a tenant id that is not a DNS label names its index",
		yaml:    "config:\n  tenantfleet:cloud: local\n" + strings.Replace(goodTenants, "id: globex", "id: Globex_Corp", 1),
		tenants: []string{"acme"},
		want:    []string{"tenantfleet:tenants[1].id", "lowercase DNS label", `"Globex_Corp"`},
	},
	{
		name: "dup-tenant", reason: "a duplicate tenant id names both entries",
		yaml:    "config:\n  tenantfleet:cloud: local\n" + strings.Replace(goodTenants, "id: globex", "id: acme", 1),
		tenants: []string{"acme"},
		want:    []string{"tenantfleet:tenants[1].id: is already used by tenantfleet:tenants[0]"},
	},
	{
		name: "missing-image", reason: "an image the local cloud lacks is refused before any tenant is created",
		yaml: "config:\n  tenantfleet:cloud: local\n" +
			strings.Replace(goodTenants, `web: {image: "tenant-app:dev"}`, `web: {image: "registry.example.com/tenant-app:9.9"}`, 1),
		tenants: []string{"acme", "globex"},
		want: []string{
			`tenantfleet:tenants[0].web.image: no local image "registry.example.com/tenant-app:9.9"`,
			filepath.Join("images", "tenant-app", "9.9"), "make build",
		},
	},
	{
		name: "missing-command", reason: "a worker command absent from its image is refused before any tenant is created",
		yaml: "config:\n  tenantfleet:cloud: local\n" +
			strings.Replace(goodTenants, `worker: {image: "tenant-app:dev"}`, `worker: {image: "tenant-app:dev", command: ["/app/no-such-worker"]}`, 1),
		tenants: []string{"acme", "globex"},
		want:    []string{`tenantfleet:tenants[0].worker.command[0]`, `"/app/no-such-worker"`},
	},
	{
		name: "filter", reason: "a subscriber filter, which the local cloud cannot honour",
		yaml: "config:\n  tenantfleet:cloud: local\n" + goodTenants + `  tenantfleet:fanout:
    name: account-events
    subscribers:
      - {name: acme, tenant: acme, filter: {attribute: event_type, values: [account.created]}}
      - {name: audit}
`,
		tenants: []string{"acme", "globex"},
		want:    []string{"tenantfleet:fanout.subscribers[0].filter", "not supported on the local cloud"},
	},
	{
		name: "bad-yaml", reason: "a stack file that is not YAML is named with its line",
		yaml:    "config:\n  tenantfleet:cloud: local\n  tenantfleet:tenants: [{id: acme, web: {image: tenant-app:dev}\n",
		tenants: []string{"acme"},
		want:    []string{"Pulumi.bad-yaml.yaml", "not valid YAML", "line"},
	},
}

// TestBadInputIsRefusedWhole runs `up` on each bad stack through the real
// CLI, engine and local cloud, on one fleet.
//
//nolint:paralleltest // end-to-end: runs the real engine, PostgreSQL and NATS; serial so the 2-core CI keeps its timing margins.
func TestBadInputIsRefusedWhole(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: runs the real engine and local cloud (drop -short to run it)")
	}
	files := map[string]string{}
	for _, s := range badStacks {
		files[s.name] = s.yaml
	}
	f := newFleet(t, files)

	for _, s := range badStacks {
		t.Run(s.name, func(t *testing.T) {
			_, stderr, code := f.run("up", "--stack", s.name)
			t.Logf("up --stack %s: exit %d\n%s", s.name, code, stderr)
			if code != 2 {
				t.Errorf("up: exit %d, want 2 (%s)\n%s", code, s.reason, stderr)
			}
			for _, w := range s.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("up: stderr does not say %q (%s):\n%s", w, s.reason, stderr)
				}
			}
			if strings.Contains(stderr, "panic") || strings.Contains(stderr, "goroutine ") {
				t.Errorf("up: stderr shows a crash:\n%s", stderr)
			}
			f.assertStackEmpty(t, s.name)
			f.assertNothingOnLocalCloud(t, s.name, s.tenants)
		})
	}
}

// assertStackEmpty checks that the stack does not exist, or has no outputs
// and no resource but the stack itself.
func (f *fleet) assertStackEmpty(t *testing.T, stack string) {
	t.Helper()
	stdout, stderr, code := f.run("outputs", "--stack", stack, "--json")
	switch {
	case code == 2 && strings.Contains(stderr, "does not exist"):
		return // never created: nothing to check in it
	case code != 0:
		t.Errorf("outputs: exit %d\n%s", code, stderr)
	default:
		var outs map[string]any
		if err := json.Unmarshal([]byte(stdout), &outs); err != nil || len(outs) != 0 {
			t.Errorf("outputs: %q (%v), want {}", stdout, err)
		}
	}

	// The outputs of a failed update are never exported, so read the state itself.
	out := f.exportState(t, stack)
	if out == nil {
		return
	}
	var doc struct {
		Deployment struct {
			Resources []struct {
				URN  string `json:"urn"`
				Type string `json:"type"`
			} `json:"resources"`
		} `json:"deployment"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Errorf("stack export: %v\n%s", err, out)
		return
	}
	for _, r := range doc.Deployment.Resources {
		if r.Type != "pulumi:pulumi:Stack" {
			t.Errorf("the stack holds %s after a refused update", r.URN)
		}
	}
}

func stderrOf(err error) string {
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		return string(exitErr.Stderr)
	}
	return ""
}

// assertNothingOnLocalCloud checks that the local cloud, if it runs at all,
// holds no process and none of the stack's tenant databases.
func (f *fleet) assertNothingOnLocalCloud(t *testing.T, stack string, tenants []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	rt := f.runtime()
	st, err := rt.Status(ctx)
	if errors.Is(err, localcloud.ErrNotRunning) {
		t.Logf("the local cloud was never started")
		return // nothing was created on it
	}
	if err != nil {
		t.Fatalf("local cloud status: %v", err)
	}
	if len(st.Processes) != 0 {
		t.Errorf("processes on the local cloud after a refused update: %+v", st.Processes)
	}
	for _, tenant := range tenants {
		name := naming.Local.Database.Unique("db", stack, tenant)
		if _, err := rt.GetDatabase(ctx, name); !errors.Is(err, localcloud.ErrNotFound) {
			t.Errorf("database %s exists after a refused update (%v)", name, err)
		}
	}
}
