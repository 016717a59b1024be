package digitalocean

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/pulumi/pulumi-digitalocean/sdk/v4/go/digitalocean"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/providers/naming"
)

// App Platform settings shared by the workloads.
const (
	// healthPath is the web service's health check, as on the other clouds.
	healthPath = "/healthz"
	// cpuTarget is the average CPU percent autoscaling keeps the web service at.
	cpuTarget = 70
	// Environment variable types and scope.
	envGeneral = "GENERAL"
	envSecret  = "SECRET"
	envRunTime = "RUN_TIME"
)

// image is a container image reference as App Platform takes it.
type image struct {
	registryType string // DOCR, DOCKER_HUB or GHCR
	registry     string // the Docker Hub or GHCR owner; empty for DOCR
	repository   string
	tag, digest  string
}

// parseImage maps a reference onto the registries App Platform pulls from:
//   - registry.digitalocean.com/<registry>/<repo>[:tag] (DOCR, the team's own registry);
//   - docker.io/<owner>/<repo>[:tag], <owner>/<repo>[:tag] or <repo>[:tag] (Docker Hub, library/ for the last);
//   - ghcr.io/<owner>/<repo>[:tag] (GHCR).
//
// A digest pins the image; App Platform takes a tag or a digest, not both, so
// a reference with both deploys the digest. Private Docker Hub and GHCR
// images need registry credentials, which tenantfleet does not manage.
func parseImage(ref string) (image, error) {
	rest, digest, _ := strings.Cut(ref, "@")
	host, path := "docker.io", rest
	if first, after, ok := strings.Cut(rest, "/"); ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		host, path = first, after
	}
	tag := ""
	if i := strings.LastIndex(path, ":"); i >= 0 {
		path, tag = path[:i], path[i+1:]
	}
	if digest == "" && tag == "" {
		return image{}, errors.New("must name a tag or a digest: App Platform would deploy whatever latest is")
	}
	if digest != "" {
		digest, tag = "sha256:"+strings.TrimPrefix(digest, "sha256:"), ""
	}
	owner, repo, nested := strings.Cut(path, "/")
	switch host {
	case "registry.digitalocean.com":
		if !nested || repo == "" {
			return image{}, errors.New("must be registry.digitalocean.com/<registry>/<repository>")
		}
		// The registry is the team's one DOCR registry, implied by the token.
		return image{registryType: "DOCR", repository: repo, tag: tag, digest: digest}, nil
	case "docker.io", "index.docker.io", "registry-1.docker.io":
		if !nested {
			owner, repo = "library", path
		}
		if strings.Contains(repo, "/") || repo == "" {
			return image{}, errors.New("must be docker.io/<owner>/<repository>")
		}
		return image{registryType: "DOCKER_HUB", registry: owner, repository: repo, tag: tag, digest: digest}, nil
	case "ghcr.io":
		if !nested || repo == "" {
			return image{}, errors.New("must be ghcr.io/<owner>/<repository>")
		}
		return image{registryType: "GHCR", registry: owner, repository: repo, tag: tag, digest: digest}, nil
	}
	return image{}, fmt.Errorf("is on %s: App Platform pulls only from DigitalOcean Container Registry (registry.digitalocean.com), Docker Hub (docker.io) and GHCR (ghcr.io)", host)
}

// component is one App Platform component to build: a service (port set)
// or a worker.
type component struct {
	name    string
	image   image
	command []string
	size    string
	scale   scaling
	// port is the service's HTTP port; 0 makes a worker.
	port int
	env  []envVar
}

// envVar is one environment variable of a component.
type envVar struct {
	key    string
	value  pulumi.StringInput
	secret bool
}

// workloadEnv is a tenant workload's environment: the contract's plain
// variables and QUEUE_CA_CERT (the Kafka cluster's CA, which Kafka clients
// must trust) as GENERAL, DATABASE_PASSWORD and QUEUE_PASSWORD as SECRET
// (App Platform encrypts them and shows them to no one), all at run time only.
func workloadEnv(w components.Workload) []envVar {
	env := make([]envVar, 0, len(w.Env)+3)
	for _, k := range slices.Sorted(maps.Keys(w.Env)) {
		env = append(env, envVar{key: k, value: w.Env[k]})
	}
	env = append(env, envVar{key: components.EnvDatabasePassword, value: w.Database.Credentials, secret: true})
	if w.Queue.Credentials != (pulumi.StringOutput{}) {
		env = append(env, envVar{key: components.EnvQueuePassword, value: w.Queue.Credentials, secret: true})
	}
	if w.Queue.CACertificate != (pulumi.StringOutput{}) {
		env = append(env, envVar{key: components.EnvQueueCACert, value: w.Queue.CACertificate})
	}
	return env
}

// webComponent and workerComponent are a tenant's two workloads as App
// Platform components, sized in sizes.go.
func webComponent(in components.WebAppInput) (component, error) {
	img, err := parseImage(in.Spec.Image)
	if err != nil {
		return component{}, &components.FieldError{Field: "web.image", Value: in.Spec.Image, Reason: err.Error()}
	}
	scale := webScaling(in.Spec)
	size, err := appSize("web", in.Spec.CPU, in.Spec.MemoryMiB, scale)
	if err != nil {
		return component{}, err
	}
	return component{name: components.WorkloadWeb, image: img, size: size, scale: scale, port: in.Spec.Port, env: workloadEnv(in.Workload)}, nil
}

func workerComponent(in components.ContainerInput) (component, error) {
	img, err := parseImage(in.Spec.Image)
	if err != nil {
		return component{}, &components.FieldError{Field: "worker.image", Value: in.Spec.Image, Reason: err.Error()}
	}
	size, err := appSize("worker", in.Spec.CPU, in.Spec.MemoryMiB, workerScaling)
	if err != nil {
		return component{}, err
	}
	return component{name: components.WorkloadWorker, image: img, command: in.Spec.Command, size: size, scale: workerScaling, env: workloadEnv(in.Workload)}, nil
}

// newApp creates one App Platform app in the stack's project and region
// holding the components: services public on the app's ondigitalocean.app
// URL over HTTPS (the ingress routes / to the first), workers unreachable.
// App Platform apps take no tags.
func (a *Adapter) newApp(ctx *pulumi.Context, name, appName string, p *platform, comps []component, parent pulumi.Resource) (*digitalocean.App, error) {
	var (
		services digitalocean.AppSpecServiceArray
		workers  digitalocean.AppSpecWorkerArray
		ingress  *digitalocean.AppSpecIngressArgs
	)
	for _, c := range comps {
		componentName := pulumi.String(naming.DigitalOcean.AppComponent.Name(c.name))
		if c.port == 0 {
			registry, tag, digest := c.image.source()
			envs := digitalocean.AppSpecWorkerEnvArray{}
			for _, e := range c.env {
				key, scope, typ, value := e.args()
				envs = append(envs, digitalocean.AppSpecWorkerEnvArgs{Key: key, Scope: scope, Type: typ, Value: value})
			}
			workers = append(workers, digitalocean.AppSpecWorkerArgs{
				Name: componentName,
				Image: &digitalocean.AppSpecWorkerImageArgs{
					RegistryType: pulumi.String(c.image.registryType), Registry: registry,
					Repository: pulumi.String(c.image.repository), Tag: tag, Digest: digest,
				},
				InstanceSizeSlug: pulumi.String(c.size),
				InstanceCount:    pulumi.Int(c.scale.min),
				RunCommand:       runCommand(c.command),
				Envs:             envs,
			})
			continue
		}
		registry, tag, digest := c.image.source()
		envs := digitalocean.AppSpecServiceEnvArray{}
		for _, e := range c.env {
			key, scope, typ, value := e.args()
			envs = append(envs, digitalocean.AppSpecServiceEnvArgs{Key: key, Scope: scope, Type: typ, Value: value})
		}
		svc := digitalocean.AppSpecServiceArgs{
			Name: componentName,
			Image: &digitalocean.AppSpecServiceImageArgs{
				RegistryType: pulumi.String(c.image.registryType), Registry: registry,
				Repository: pulumi.String(c.image.repository), Tag: tag, Digest: digest,
			},
			HttpPort:         pulumi.Int(c.port),
			InstanceSizeSlug: pulumi.String(c.size),
			RunCommand:       runCommand(c.command),
			HealthCheck: &digitalocean.AppSpecServiceHealthCheckArgs{
				HttpPath: pulumi.String(healthPath), PeriodSeconds: pulumi.Int(30), FailureThreshold: pulumi.Int(3),
			},
			Envs: envs,
		}
		if c.scale.autoscales() {
			// App Platform refuses instanceCount beside autoscaling.
			svc.Autoscaling = &digitalocean.AppSpecServiceAutoscalingArgs{
				MinInstanceCount: pulumi.Int(c.scale.min),
				MaxInstanceCount: pulumi.Int(c.scale.max),
				Metrics: digitalocean.AppSpecServiceAutoscalingMetricsArgs{
					Cpu: &digitalocean.AppSpecServiceAutoscalingMetricsCpuArgs{Percent: pulumi.Int(cpuTarget)},
				},
			}
		} else {
			svc.InstanceCount = pulumi.Int(c.scale.min)
		}
		if ingress == nil {
			ingress = &digitalocean.AppSpecIngressArgs{Rules: digitalocean.AppSpecIngressRuleArray{
				digitalocean.AppSpecIngressRuleArgs{
					Component: &digitalocean.AppSpecIngressRuleComponentArgs{Name: componentName},
					Match:     &digitalocean.AppSpecIngressRuleMatchArgs{Path: &digitalocean.AppSpecIngressRuleMatchPathArgs{Prefix: pulumi.String("/")}},
				},
			}}
		}
		services = append(services, svc)
	}
	spec := &digitalocean.AppSpecArgs{
		Name:   pulumi.String(appName),
		Region: pulumi.String(a.appRegion()),
	}
	if len(services) > 0 {
		spec.Services, spec.Ingress = services, ingress
	}
	if len(workers) > 0 {
		spec.Workers = workers
	}
	app, err := digitalocean.NewApp(ctx, name, &digitalocean.AppArgs{
		ProjectId: p.project.ID(),
		Spec:      spec,
	}, childOptions(parent)...)
	if err != nil {
		return nil, fmt.Errorf("create App Platform app: %w", err)
	}
	return app, nil
}

// source is the image's registry, tag and digest inputs: App Platform takes
// a tag or a digest, and a registry name for Docker Hub and GHCR only.
func (img image) source() (registry, tag, digest pulumi.StringPtrInput) {
	if img.registry != "" {
		registry = pulumi.String(img.registry)
	}
	if img.digest != "" {
		return registry, nil, pulumi.String(img.digest)
	}
	return registry, pulumi.String(img.tag), nil
}

// args are the variable's key, scope, type and value inputs, GENERAL or SECRET.
func (e envVar) args() (key, scope, typ, value pulumi.StringPtrInput) {
	t := envGeneral
	if e.secret {
		t = envSecret
	}
	return pulumi.String(e.key), pulumi.String(envRunTime), pulumi.String(t), e.value.ToStringOutput()
}

// runCommand is the command line App Platform runs instead of the image's
// entrypoint and command: the arguments, each quoted for a POSIX shell.
func runCommand(cmd []string) pulumi.StringPtrInput {
	if len(cmd) == 0 {
		return nil
	}
	quoted := make([]string, len(cmd))
	for i, arg := range cmd {
		quoted[i] = shellQuote(arg)
	}
	return pulumi.String(strings.Join(quoted, " "))
}

// shellQuote leaves a word of safe characters alone and single-quotes anything else.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Workloads implements components.CombinedWorkloadsProvisioner: one App Platform
// app per tenant holding both workloads, a "web" service and a "worker"
// worker, and then the firewall of the tenant's dedicated cluster, which
// admits that app and nothing else; a shared tenant's app is recorded in the
// platform's state instead, for the shared cluster's firewall
// (FinishPlatform).
//
// WebApp.URL is the app's live URL. Both components get the environment
// contract (PORT the service only) and the passwords as SECRET variables.
func (a *Adapter) Workloads(ctx *pulumi.Context, name string, web components.WebAppInput, worker components.ContainerInput, parent pulumi.Resource) (*components.WebApp, *components.Container, error) {
	p, err := platformOf(web.Platform)
	if err != nil {
		return nil, nil, err
	}
	webC, err := webComponent(web)
	if err != nil {
		return nil, nil, err
	}
	workerC, err := workerComponent(worker)
	if err != nil {
		return nil, nil, err
	}
	app, err := a.newApp(ctx, name, physical(naming.DigitalOcean.App, web.Scope), p, []component{webC, workerC}, parent)
	if err != nil {
		return nil, nil, err
	}
	native := map[string]pulumi.Resource{roleApp: app}
	fw, err := a.trustApps(ctx, name, web.Workload, []*digitalocean.App{app}, parent)
	if err != nil {
		return nil, nil, err
	}
	if fw != nil {
		native[roleDatabaseFirewall] = fw
	}
	return &components.WebApp{URL: app.LiveUrl, Native: native}, &components.Container{Native: map[string]pulumi.Resource{}}, nil
}
