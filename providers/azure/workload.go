package azure

import (
	"fmt"
	"maps"
	"slices"

	app "github.com/pulumi/pulumi-azure-native-sdk/app/v3"
	authorization "github.com/pulumi/pulumi-azure-native-sdk/authorization/v3"
	managedidentity "github.com/pulumi/pulumi-azure-native-sdk/managedidentity/v3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/providers/naming"
)

// Built-in Azure roles granted on a tenant's queue.
const (
	roleServiceBusDataReceiver = "4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0" // Azure Service Bus Data Receiver
	roleServiceBusDataSender   = "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39" // Azure Service Bus Data Sender
)

// databasePasswordSecret is the Container Apps secret DATABASE_PASSWORD refers to.
const databasePasswordSecret = "database-password"

// EnvAzureClientID tells the Azure SDKs (DefaultAzureCredential) which
// user-assigned identity to sign in with; not part of the contract.
const EnvAzureClientID = "AZURE_CLIENT_ID"

// containerApp is one Container App to build for a workload.
type containerApp struct {
	role    string // "web" or "worker": container name and name suffix
	image   string
	command []string
	cpu     float64
	memory  string
	// queueRoles are the role definitions the app's identity gets on the tenant's queue.
	queueRoles map[string]string
	ingress    *app.IngressArgs
	// probes are the container's health probes (the web app's /healthz).
	probes   app.ContainerAppProbeArray
	min, max int
}

// subscription returns the subscription id, looked up once (an invoke, safe in preview).
func (a *Adapter) subscription(ctx *pulumi.Context) pulumi.StringOutput {
	if a.subscriptionID == nil {
		id := authorization.GetClientConfigOutput(ctx).SubscriptionId()
		a.subscriptionID = &id
	}
	return *a.subscriptionID
}

// containerApp creates the workload's user-assigned identity, its role
// assignments scoped to the tenant's own queue only, and the Container App in
// the platform environment with the environment contract: plain variables as
// values, DATABASE_PASSWORD as a secretRef to a Container Apps secret.
func (a *Adapter) containerApp(ctx *pulumi.Context, name string, w components.Workload, c containerApp, opts []pulumi.ResourceOption) (*app.ContainerApp, map[string]pulumi.Resource, error) {
	p, err := platformOf(w.Platform)
	if err != nil {
		return nil, nil, err
	}
	f, err := foundationOf(w.Foundation)
	if err != nil {
		return nil, nil, err
	}
	native := map[string]pulumi.Resource{}
	identity, err := managedidentity.NewUserAssignedIdentity(ctx, name+"-identity", &managedidentity.UserAssignedIdentityArgs{
		ResourceGroupName: f.group.Name,
		ResourceName:      pulumi.String(physical(naming.Azure.ManagedIdentity, w.Scope, c.role)),
		Location:          pulumi.String(a.cfg.Location),
		Tags:              tags(w.Scope),
	}, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("%s identity: %w", c.role, err)
	}
	native[c.role+"-identity"] = identity
	var grants []pulumi.Resource
	for _, key := range slices.Sorted(maps.Keys(c.queueRoles)) {
		ra, err := authorization.NewRoleAssignment(ctx, name+"-queue-"+key, &authorization.RoleAssignmentArgs{
			PrincipalId:      identity.PrincipalId,
			PrincipalType:    pulumi.String("ServicePrincipal"),
			RoleDefinitionId: pulumi.Sprintf("/subscriptions/%s/providers/Microsoft.Authorization/roleDefinitions/%s", a.subscription(ctx), c.queueRoles[key]),
			// The tenant's own queue, never the namespace.
			Scope: w.Queue.ID,
		}, opts...)
		if err != nil {
			return nil, nil, fmt.Errorf("%s queue role %s: %w", c.role, key, err)
		}
		grants = append(grants, ra)
		native[c.role+"-queue-"+key] = ra
	}

	env := app.EnvironmentVarArray{}
	for _, k := range slices.Sorted(maps.Keys(w.Env)) {
		env = append(env, app.EnvironmentVarArgs{Name: pulumi.String(k), Value: w.Env[k]})
	}
	env = append(env,
		app.EnvironmentVarArgs{Name: pulumi.String(EnvAzureClientID), Value: identity.ClientId},
		app.EnvironmentVarArgs{Name: pulumi.String(components.EnvDatabasePassword), SecretRef: pulumi.String(databasePasswordSecret)},
	)
	container := app.ContainerArgs{
		Name:      pulumi.String(c.role),
		Image:     pulumi.String(c.image),
		Env:       env,
		Resources: &app.ContainerResourcesArgs{Cpu: pulumi.Float64(c.cpu), Memory: pulumi.String(c.memory)},
	}
	if len(c.probes) > 0 {
		container.Probes = c.probes
	}
	if len(c.command) > 0 {
		container.Command = pulumi.ToStringArray(c.command[:1])
		container.Args = pulumi.ToStringArray(c.command[1:])
	}
	configuration := &app.ConfigurationArgs{
		ActiveRevisionsMode: pulumi.String("Single"),
		Secrets: app.SecretArray{app.SecretArgs{
			Name: pulumi.String(databasePasswordSecret), Value: pulumi.ToSecret(w.Database.Credentials).(pulumi.StringOutput),
		}},
	}
	if c.ingress != nil {
		configuration.Ingress = c.ingress
	}
	ca, err := app.NewContainerApp(ctx, name+"-app", &app.ContainerAppArgs{
		ResourceGroupName:    f.group.Name,
		ContainerAppName:     pulumi.String(physical(naming.Azure.ContainerApp, w.Scope, c.role)),
		Location:             pulumi.String(a.cfg.Location),
		ManagedEnvironmentId: p.environment.ID(),
		WorkloadProfileName:  pulumi.String(consumptionProfile),
		Identity: &app.ManagedServiceIdentityArgs{
			Type: pulumi.String("UserAssigned"), UserAssignedIdentities: pulumi.StringArray{identity.ID()},
		},
		Configuration: configuration,
		Template: &app.TemplateArgs{
			Containers: app.ContainerArray{container},
			Scale:      &app.ScaleArgs{MinReplicas: pulumi.Int(c.min), MaxReplicas: pulumi.Int(c.max)},
		},
		Tags: tags(w.Scope),
	},
		// The app starts with its queue rights in place.
		append(opts, pulumi.DependsOn(grants))...)
	if err != nil {
		return nil, nil, fmt.Errorf("%s container app: %w", c.role, err)
	}
	native[c.role+"-app"] = ca
	return ca, native, nil
}
