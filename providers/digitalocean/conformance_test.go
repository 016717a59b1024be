package digitalocean_test

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/internal/forward"
	"github.com/tenantfleet/tenantfleet/providers/conformance"
	dop "github.com/tenantfleet/tenantfleet/providers/digitalocean"
	"github.com/tenantfleet/tenantfleet/providers/digitalocean/digitaloceanoffline"
	"github.com/tenantfleet/tenantfleet/providers/naming"
)

const (
	clusterType  = "digitalocean:index/databaseCluster:DatabaseCluster"
	dbType       = "digitalocean:index/databaseDb:DatabaseDb"
	userType     = "digitalocean:index/databaseUser:DatabaseUser"
	firewallType = "digitalocean:index/databaseFirewall:DatabaseFirewall"
	topicType    = "digitalocean:index/databaseKafkaTopic:DatabaseKafkaTopic"
	appType      = "digitalocean:index/app:App"
	projectType  = "digitalocean:index/project:Project"
	testRegion   = "fra1"
	testImage    = "registry.digitalocean.com/acme/tenantfleet-forwarder:1.0.0"
)

// testConfig is the adapter's config in every test.
var testConfig = dop.Config{Region: testRegion, ForwarderImage: testImage}

// stackConfig is a tenantfleet:digitalocean config: the forwarder image and
// the given JSON object members.
func stackConfig(members ...string) map[string]string {
	return map[string]string{"tenantfleet:digitalocean": fmt.Sprintf(`{"forwarderImage":%q,%s}`, testImage, strings.Join(members, ","))}
}

// profileConfig is the profile's stack: in testRegion, with a shared
// cluster so that the suite's shared-placement variants have one.
var profileConfig = stackConfig(fmt.Sprintf(`"region":%q`, testRegion), `"sharedDatabase":{"size":"db-s-2vcpu-4gb"}`)

// profile states facts about pulumi-digitalocean resource types for the conformance suite.
func profile() *conformance.Profile {
	return &conformance.Profile{
		New:     dop.New,
		Config:  profileConfig,
		Outputs: digitaloceanoffline.Outputs,
		Invoke:  digitaloceanoffline.Invoke,
		Kinds: map[string][]string{
			// A shared tenant's database is a DatabaseDb on the platform's cluster.
			"database":     {clusterType, dbType},
			"queue":        {topicType},
			"web":          {appType},
			"worker":       {appType},
			"topic":        {topicType},
			"subscription": {appType},
		},
		// Only clusters take tags: databases, users, topics and firewalls
		// live inside a cluster, and projects and App Platform apps have no
		// tags argument in pulumi-digitalocean v4.55.0.
		Untaggable: []string{dbType, userType, firewallType, topicType, appType, projectType},
		Tags: func(r conformance.Resource) (map[string]string, bool) {
			v, ok := r.Inputs["tags"]
			if !ok || !v.IsArray() {
				return nil, false
			}
			var ts []string
			for _, t := range v.ArrayValue() {
				ts = append(ts, conformance.String(t))
			}
			return naming.ParseDigitalOceanTags(ts), true
		},
		// "name" names clusters, databases, users and topics. (Two clusters'
		// PostgreSQL users may share a name, but the scenario's never do.)
		NameKeys:            []string{"name"},
		Database:            database,
		WorkloadEnv:         appEnvs,
		SubscriberAccess:    subscriberAccess,
		SupportsFilters:     true,
		BackupRetentionDays: 7,
		Rules:               dop.Rules,
		Variants:            variants,
		InvalidTenants: []conformance.InvalidTenant{
			{Reason: "DigitalOcean keeps backups exactly 7 days", Field: "database.backupRetentionDays", Mutate: func(s *components.TenantSpec) {
				s.Database.BackupRetentionDays = 14
			}},
			{Reason: "App Platform pulls from DOCR, Docker Hub and GHCR only", Field: "web.image", Mutate: func(s *components.TenantSpec) {
				s.Web.Image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/tenant-app:1.0.0"
			}},
			{Reason: "App Platform needs a tag or a digest", Field: "worker.image", Mutate: func(s *components.TenantSpec) {
				s.Worker.Image = "docker.io/tenantfleet/tenant-worker"
			}},
			{Reason: "a shared tenant must ask for the shared cluster's version", Field: "database.version", Mutate: func(s *components.TenantSpec) {
				s.Database.Placement, s.Database.Version = components.PlacementShared, "14"
			}},
		},
	}
}

// variants are the stack config options the adapter takes, each of which
// DigitalOcean must accept: the documented Kafka sizes, a shared cluster
// with standbys on another version, other datacenters.
var variants = []conformance.Variant{
	{Name: "kafka on db-s-2vcpu-4gb", Config: stackConfig(`"region":"fra1"`, `"kafka":{"size":"db-s-2vcpu-4gb"}`)},
	{Name: "kafka on gd-2vcpu-8gb", Config: stackConfig(`"region":"fra1"`, `"kafka":{"size":"gd-2vcpu-8gb","version":"3.8"}`)},
	{Name: "shared cluster with two standbys, PostgreSQL 17, in nyc3", Config: stackConfig(
		`"region":"nyc3"`, `"sharedDatabase":{"size":"db-s-4vcpu-8gb","nodes":3,"version":"17"}`), Tenants: func(ts []components.TenantSpec) {
		for i := range ts {
			ts[i].Database.Version, ts[i].Database.Placement = "17", components.PlacementShared
		}
	}},
	{Name: "shared cluster on the smallest plan, in sfo3", Config: stackConfig(`"region":"sfo3"`, `"sharedDatabase":{"size":"db-s-1vcpu-1gb"}`)},
	// Tenant ids that would name PostgreSQL's reserved role prefix or a
	// database and role every DigitalOcean cluster already has.
	{Name: "tenant ids pg-main and doadmin", Tenants: func(ts []components.TenantSpec) { ts[0].ID, ts[1].ID = "pg-main", "doadmin" }},
	{Name: "tenant ids defaultdb and postgres", Tenants: func(ts []components.TenantSpec) { ts[0].ID, ts[1].ID = "defaultdb", "postgres" }},
	// A web app of a fixed number of containers is a service with an
	// instanceCount and no autoscaling (the scenario's web apps autoscale).
	{Name: "web apps of a fixed size", Tenants: func(ts []components.TenantSpec) {
		for i := range ts {
			ts[i].Web.MinInstances, ts[i].Web.MaxInstances = 3, 3
		}
	}},
}

func TestConformance(t *testing.T) {
	t.Parallel()
	g := conformance.Run(t, profile())
	t.Run("golden graph", func(t *testing.T) {
		t.Parallel()
		conformance.Golden(t, g, ".")
	})
	t.Run("every forwarder accepts its environment", func(t *testing.T) {
		t.Parallel()
		forwardersAccept(t, g)
	})
	t.Run("tenant workloads get the Kafka CA", func(t *testing.T) {
		t.Parallel()
		n := 0
		for _, app := range g.OfType(appType) {
			for _, c := range componentsOf(app) {
				env := envOf(c)
				if _, ok := env[components.EnvWorkload]; !ok {
					continue
				}
				n++
				if ca := env[components.EnvQueueCACert]; ca.value != digitaloceanoffline.CACertificate || ca.typ != "GENERAL" {
					t.Errorf("%s: %s = %q (%s), want the cluster's CA certificate as GENERAL", app.Name, components.EnvQueueCACert, ca.value, ca.typ)
				}
			}
		}
		if want := 2 * len(conformance.Tenants()); n != want {
			t.Errorf("%d tenant workloads, want %d", n, want)
		}
	})
}

// forwardersAccept loads each forwarder app's environment with the
// forwarder's own config loader (cmd/tenantfleet-forwarder), so the URLs,
// filter and CA the adapter writes are what the forwarder reads.
func forwardersAccept(t *testing.T, g *conformance.Graph) {
	n := 0
	for _, app := range g.OfType(appType) {
		for _, c := range componentsOf(app) {
			env := envOf(c)
			if _, ok := env[dop.EnvForwardFrom]; !ok {
				continue
			}
			n++
			cfg, err := forward.LoadConfig(func(k string) string { return env[k].value })
			if err != nil {
				t.Errorf("forwarder %s: %v", app.Name, err)
				continue
			}
			if cfg.RootCAs == nil {
				t.Errorf("forwarder %s: no CA to trust the brokers (%s)", app.Name, dop.EnvForwardCACert)
			}
		}
	}
	if want := len(conformance.Fanout(true).Subscribers); n != want {
		t.Errorf("%d forwarders, want one per subscriber (%d)", n, want)
	}
}

// database reports what would let a PostgreSQL cluster be reached by anyone
// but its tenants' apps, or their password or traffic be read: the
// cluster's one firewall must exist and trust only apps, each of which gets
// DATABASE_PASSWORD as a SECRET and DATABASE_SSLMODE=require (DigitalOcean's
// PostgreSQL takes TLS only). A database is checked through its cluster.
func database(g *conformance.Graph, r conformance.Resource) []string {
	if r.Type == dbType {
		cluster, ok := byID(g, clusterType, conformance.String(r.Inputs["clusterId"]))
		if !ok {
			return []string{"is on no cluster of the stack"}
		}
		return database(g, cluster)
	}
	if conformance.String(r.Inputs["engine"]) != "pg" {
		return nil // the Kafka cluster; queues are checked by SubscriberAccess
	}
	var firewalls []conformance.Resource
	for _, fw := range g.OfType(firewallType) {
		if conformance.String(fw.Inputs["clusterId"]) == r.ID {
			firewalls = append(firewalls, fw)
		}
	}
	if len(firewalls) != 1 {
		return []string{fmt.Sprintf("has %d firewalls, want exactly 1: without one, anyone may connect", len(firewalls))}
	}
	var problems []string
	rules := conformance.Array(firewalls[0].Inputs["rules"])
	if len(rules) == 0 {
		problems = append(problems, "its firewall has no rule")
	}
	for _, rule := range rules {
		o := conformance.Object(rule)
		if len(rules) == 1 && conformance.String(o["type"]) == "ip_addr" && conformance.String(o["value"]) == "127.0.0.1" {
			continue // the shared cluster before any tenant uses it: it admits nobody
		}
		if conformance.String(o["type"]) != "app" {
			problems = append(problems, fmt.Sprintf("its firewall trusts %s %q, not only the tenants' apps", conformance.String(o["type"]), conformance.String(o["value"])))
			continue
		}
		app, ok := byID(g, appType, conformance.String(o["value"]))
		if !ok {
			problems = append(problems, fmt.Sprintf("its firewall trusts the app %q, which is not in the stack", conformance.String(o["value"])))
			continue
		}
		for _, c := range componentsOf(app) {
			env := envOf(c)
			if e, ok := env[components.EnvDatabasePassword]; !ok || e.typ != "SECRET" || !e.secret {
				problems = append(problems, fmt.Sprintf("app %s component %s does not get DATABASE_PASSWORD as a secret SECRET variable", app.Name, conformance.String(c["name"])))
			}
			if env[components.EnvDatabaseSSLMode].value != "require" {
				problems = append(problems, fmt.Sprintf("app %s component %s does not require TLS (DATABASE_SSLMODE)", app.Name, conformance.String(c["name"])))
			}
		}
	}
	return problems
}

// appEnvs reads the workloads of an App Platform app: each service and
// worker component, its GENERAL variables as plain values and its SECRET
// variables by name. Forwarders (FORWARD_FROM) are no tenant workload:
// subscriberAccess checks them.
func appEnvs(r conformance.Resource) []conformance.WorkloadEnv {
	if r.Type != appType {
		return nil
	}
	var out []conformance.WorkloadEnv
	for _, c := range componentsOf(r) {
		if _, forwarder := envOf(c)[dop.EnvForwardFrom]; forwarder {
			continue
		}
		// Every entry counts: a key given both as GENERAL and as SECRET is
		// both plain and secret.
		w := conformance.WorkloadEnv{Plain: map[string]string{}}
		for _, e := range conformance.Array(c["envs"]) {
			o := conformance.Object(e)
			if conformance.String(o["type"]) == "SECRET" {
				w.Secret = append(w.Secret, conformance.String(o["key"]))
			} else {
				w.Plain[conformance.String(o["key"])] = conformance.String(o["value"])
			}
		}
		out = append(out, w)
	}
	return out
}

// subscriberAccess checks that the fanout topic reaches the queue and only
// it, and that the queue dead-letters into another topic:
//   - the queue and dead-letter URLs name two different topics of the
//     stack, and the queue's user may produce and consume on exactly those;
//   - a forwarder app reads the topic (FORWARD_FROM) into the queue's topic
//     (FORWARD_TO) as one user, its password a SECRET, and that user may
//     consume the topic and produce to the queue, nothing else;
//   - no other user may write to the queue.
func subscriberAccess(g *conformance.Graph, topicID, queueURL, dlqURL string) []string {
	queueUser, queueTopic := kafkaAddress(queueURL)
	dlqUser, dlqTopic := kafkaAddress(dlqURL)
	for _, name := range []string{topicID, queueTopic, dlqTopic} {
		if _, ok := byInput(g, topicType, "name", name); !ok {
			return []string{fmt.Sprintf("no Kafka topic %q exists", name)}
		}
	}
	var problems []string
	if queueTopic == dlqTopic || dlqUser != queueUser {
		problems = append(problems, fmt.Sprintf("the dead-letter queue %s is not another topic of the queue's user", dlqURL))
	}
	if got, want := aclsOf(g, queueUser), []string{"produceconsume " + dlqTopic, "produceconsume " + queueTopic}; !slices.Equal(got, sorted(want)) {
		problems = append(problems, fmt.Sprintf("the queue's user %s has ACLs %q, want %q", queueUser, got, sorted(want)))
	}
	forwarder := ""
	for _, app := range g.OfType(appType) {
		for _, c := range componentsOf(app) {
			env := envOf(c)
			fromUser, from := kafkaAddress(env[dop.EnvForwardFrom].value)
			toUser, to := kafkaAddress(env[dop.EnvForwardTo].value)
			if from != topicID || to != queueTopic {
				continue
			}
			if fromUser != toUser {
				problems = append(problems, fmt.Sprintf("forwarder %s reads and writes as different users", app.Name))
			}
			if e := env[dop.EnvForwardPassword]; e.typ != "SECRET" || !e.secret {
				problems = append(problems, fmt.Sprintf("forwarder %s does not get FORWARD_PASSWORD as a secret SECRET variable", app.Name))
			}
			forwarder = fromUser
		}
	}
	if forwarder == "" {
		return append(problems, fmt.Sprintf("no forwarder app reads topic %s into queue topic %s", topicID, queueTopic))
	}
	if got, want := aclsOf(g, forwarder), sorted([]string{"consume " + topicID, "produce " + queueTopic}); !slices.Equal(got, want) {
		problems = append(problems, fmt.Sprintf("the forwarder's user %s has ACLs %q, want exactly %q", forwarder, got, want))
	}
	for _, u := range g.OfType(userType) {
		name := conformance.String(u.Inputs["name"])
		if name == queueUser || name == forwarder {
			continue
		}
		for _, acl := range aclsOf(g, name) {
			perm, topic, _ := strings.Cut(acl, " ")
			if perm != "consume" && covers(topic, queueTopic) {
				problems = append(problems, fmt.Sprintf("user %s may also write to the queue topic %s (%s)", name, queueTopic, acl))
			}
		}
	}
	return problems
}

// covers reports whether a DigitalOcean ACL topic ("*", "<prefix>*" or a
// literal) matches topic.
func covers(pattern, topic string) bool {
	if prefix, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(topic, prefix)
	}
	return pattern == topic
}

// kafkaAddress reads the user and topic of a kafka://user@host:port/topic URL.
func kafkaAddress(raw string) (user, topic string) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "kafka" || u.User == nil {
		return "", ""
	}
	return u.User.Username(), strings.TrimPrefix(u.Path, "/")
}

// aclsOf lists the ACLs of every user named name, as sorted "permission topic".
func aclsOf(g *conformance.Graph, name string) []string {
	var out []string
	for _, u := range g.OfType(userType) {
		if conformance.String(u.Inputs["name"]) != name {
			continue
		}
		for _, s := range conformance.Array(u.Inputs["settings"]) {
			for _, a := range conformance.Array(conformance.Object(s)["acls"]) {
				out = append(out, conformance.String(conformance.Object(a)["permission"])+" "+conformance.String(conformance.Object(a)["topic"]))
			}
		}
	}
	return sorted(out)
}

// envValue is one App Platform environment variable.
type envValue struct {
	value, typ string
	secret     bool
}

// componentsOf returns an app's service and worker components.
func componentsOf(app conformance.Resource) []resource.PropertyMap {
	spec := conformance.Object(app.Inputs["spec"])
	var out []resource.PropertyMap
	for _, kind := range []resource.PropertyKey{"services", "workers"} {
		for _, c := range conformance.Array(spec[kind]) {
			out = append(out, conformance.Object(c))
		}
	}
	return out
}

// envOf reads a component's env by key.
func envOf(c resource.PropertyMap) map[string]envValue {
	out := map[string]envValue{}
	for _, e := range conformance.Array(c["envs"]) {
		o := conformance.Object(e)
		out[conformance.String(o["key"])] = envValue{value: conformance.String(o["value"]), typ: conformance.String(o["type"]), secret: o["value"].IsSecret()}
	}
	return out
}

func byID(g *conformance.Graph, typ, id string) (conformance.Resource, bool) {
	for _, r := range g.OfType(typ) {
		if r.ID == id {
			return r, true
		}
	}
	return conformance.Resource{}, false
}

func byInput(g *conformance.Graph, typ, key, value string) (conformance.Resource, bool) {
	for _, r := range g.OfType(typ) {
		if conformance.String(r.Inputs[resource.PropertyKey(key)]) == value {
			return r, true
		}
	}
	return conformance.Resource{}, false
}

func sorted(s []string) []string { slices.Sort(s); return s }
