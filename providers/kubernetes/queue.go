package kubernetes

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"

	k8s "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/providers/naming"
)

// deadLetterSuffix ends a dead-letter queue's name: ".dead-letter" in
// RabbitMQ, "-dead-letter" for its objects.
const deadLetterSuffix = "dead-letter"

// policyPriority is the priority of the policies the adapter declares:
// RabbitMQ applies one policy per queue, the highest-priority match, so a
// platform team's catch-all policy (priority 0 by default) does not
// displace the delivery limit and the dead-lettering.
const policyPriority = 10

// queue is the adapter's state of a queue: what a workload binds to and a
// fanout subscription routes into.
type queue struct {
	// name is the RabbitMQ queue's name, also its user's and its exchange's.
	name string
	// credentials is the Secret the operator writes the user's username
	// and generated password into.
	credentials string
	// ready are the objects a workload waits for: the queue, its policy,
	// the user's permission and the exchange's binding.
	ready []pulumi.Resource
	queue *apiextensions.CustomResource
}

// Queue implements components.QueueProvisioner, in the stack's RabbitMQ
// vhost, through the messaging-topology operator's objects in the tenant's
// namespace (the stack's for a fanout subscriber's own queue):
//   - a quorum queue <q> and its dead-letter quorum queue <q>.dead-letter;
//   - a policy on <q> (policies, unlike queue arguments, can change on a
//     live queue): RabbitMQ itself dead-letters a message once it has been
//     delivered maxReceiveCount times (delivery-limit maxReceiveCount-1:
//     the limit counts the returns before the last), at least once
//     (dead-letter-strategy at-least-once, which needs overflow
//     reject-publish), through the default exchange to <q>.dead-letter;
//     message-ttl is the retention, and a message that outlives it is
//     dead-lettered too (x-first-death-reason expired), not deleted as SQS
//     deletes it; a policy on the dead-letter queue keeps its messages 14
//     days;
//   - a direct exchange <q> bound to the queue (routing key <q>), which
//     senders publish to;
//   - a user <q> whose password the operator generates into the Secret
//     <q>-user-credentials in that namespace, never into Pulumi's state
//     (the adapter gives only the username, through the Secret
//     <q>-username), and a permission in the vhost: configure nothing,
//     write the exchange <q>, read the queue and its dead-letter queue. No
//     other tenant's user may touch them, and this one touches nothing
//     else.
//
// The visibility timeout has no per-queue setting before RabbitMQ 3.12: a
// crashed reader's messages return when its connection closes, and the
// broker's consumer_timeout bounds a reader that holds one too long.
func (a *Adapter) Queue(ctx *pulumi.Context, name string, in components.QueueInput, parent pulumi.Resource) (*components.Queue, error) {
	p, err := platformOf(in.Platform)
	if err != nil {
		return nil, err
	}
	namespace := p.namespace
	if in.Foundation != nil {
		f, err := foundationOf(in.Foundation)
		if err != nil {
			return nil, err
		}
		namespace = f.namespace
	}
	scope, spec := in.Scope, in.Spec
	opts := childOptions(parent, p.provider, pulumi.DependsOn([]pulumi.Resource{p.vhost}))
	q := a.physical(naming.Kubernetes.Queue, scope, in.Owner)
	dlq := q + "." + deadLetterSuffix
	vhost := pulumi.String(p.vhostName)

	work, err := a.rabbit(ctx, name+"-queue", scope, "Queue", q, namespace, pulumi.Map{
		"name": pulumi.String(q), "vhost": vhost, "type": pulumi.String("quorum"), "durable": pulumi.Bool(true),
	}, opts)
	if err != nil {
		return nil, err
	}
	dead, err := a.rabbit(ctx, name+"-dead-letter", scope, "Queue", q+"-"+deadLetterSuffix, namespace, pulumi.Map{
		"name": pulumi.String(dlq), "vhost": vhost, "type": pulumi.String("quorum"), "durable": pulumi.Bool(true),
	}, opts)
	if err != nil {
		return nil, err
	}
	// Each policy after its queue: RabbitMQ 3.10 applies a policy to the
	// queues it finds when the policy is set, and a quorum queue declared
	// at the same moment may miss it (and never dead-letter). The work
	// queue's also after the dead-letter queue it routes to.
	policy, err := a.rabbit(ctx, name+"-policy", scope, "Policy", q, namespace, pulumi.Map{
		"name": pulumi.String(q), "vhost": vhost, "pattern": pulumi.String(exactly(q)),
		"applyTo": pulumi.String("queues"), "priority": pulumi.Int(policyPriority),
		"definition": pulumi.Map{
			"delivery-limit":          pulumi.Int(spec.MaxReceiveCount - 1),
			"dead-letter-exchange":    pulumi.String(""),
			"dead-letter-routing-key": pulumi.String(dlq),
			"dead-letter-strategy":    pulumi.String("at-least-once"),
			"overflow":                pulumi.String("reject-publish"),
			"message-ttl":             pulumi.Int(spec.RetentionSeconds * 1000),
		},
	}, append(opts, pulumi.DependsOn([]pulumi.Resource{work, dead})))
	if err != nil {
		return nil, err
	}
	deadPolicy, err := a.rabbit(ctx, name+"-dead-letter-policy", scope, "Policy", q+"-"+deadLetterSuffix, namespace, pulumi.Map{
		"name": pulumi.String(dlq), "vhost": vhost, "pattern": pulumi.String(exactly(dlq)),
		"applyTo": pulumi.String("queues"), "priority": pulumi.Int(policyPriority),
		"definition": pulumi.Map{"message-ttl": pulumi.Int(components.DeadLetterRetentionSeconds * 1000)},
	}, append(opts, pulumi.DependsOn([]pulumi.Resource{dead})))
	if err != nil {
		return nil, err
	}
	exchange, err := a.rabbit(ctx, name+"-exchange", scope, "Exchange", q, namespace, pulumi.Map{
		"name": pulumi.String(q), "vhost": vhost, "type": pulumi.String("direct"), "durable": pulumi.Bool(true),
	}, opts, immutableSpec...)
	if err != nil {
		return nil, err
	}
	binding, err := a.rabbit(ctx, name+"-binding", scope, "Binding", q, namespace, pulumi.Map{
		"vhost": vhost, "source": pulumi.String(q), "destination": pulumi.String(q),
		"destinationType": pulumi.String("queue"), "routingKey": pulumi.String(q),
	}, append(opts, pulumi.DependsOn([]pulumi.Resource{work, exchange})), immutableSpec...)
	if err != nil {
		return nil, err
	}
	user, err := a.user(ctx, name, scope, q, namespace, p.vhostName, pulumi.Map{
		"configure": pulumi.String("^$"),
		"write":     pulumi.String(exactly(q)),
		"read":      pulumi.String("^" + regexp.QuoteMeta(q) + `(\.` + deadLetterSuffix + ")?$"),
	}, opts)
	if err != nil {
		return nil, err
	}
	native := map[string]pulumi.Resource{
		"queue": work, "dead-letter-queue": dead, "queue-policy": policy, "dead-letter-policy": deadPolicy,
		"queue-exchange": exchange, "queue-binding": binding,
	}
	for k, r := range user.native {
		native["queue-"+k] = r
	}
	return &components.Queue{
		URL:           pulumi.String(a.amqp.url(q, p.vhostName, url.Values{"queue": {q}, "exchange": {q}})).ToStringOutput(),
		DeadLetterURL: pulumi.String(a.amqp.url(q, p.vhostName, url.Values{"queue": {dlq}})).ToStringOutput(),
		ID:            pulumi.String(q).ToStringOutput(),
		DeadLetterID:  pulumi.String(dlq).ToStringOutput(),
		Native:        native,
		State: &queue{
			name: q, credentials: user.credentials, queue: work,
			ready: []pulumi.Resource{work, dead, policy, deadPolicy, binding, user.permission},
		},
	}, nil
}

// rabbitUser is a RabbitMQ user declared through the operator, and its
// permission in the stack's vhost.
type rabbitUser struct {
	permission  pulumi.Resource
	credentials string // the Secret with its username and password
	native      map[string]pulumi.Resource
}

// user declares the RabbitMQ user named username (also its object's name)
// with the given permissions in the stack's vhost. The operator generates
// the password: the Secret <username>-username it imports holds the
// username only, and the operator writes both into
// <username>-user-credentials, so the password is never in Pulumi's state.
func (a *Adapter) user(ctx *pulumi.Context, name string, scope components.Scope, username string, ns pulumi.StringInput, vhost string, perms pulumi.Map, p []pulumi.ResourceOption) (*rabbitUser, error) {
	imported, err := corev1.NewSecret(ctx, name+"-username", &corev1.SecretArgs{
		Metadata:   a.metadata(scope, username+"-username", ns),
		Type:       pulumi.String("Opaque"),
		StringData: pulumi.StringMap{"username": pulumi.String(username)},
	}, p...)
	if err != nil {
		return nil, fmt.Errorf("kubernetes queue user %s: %w", username, err)
	}
	user, err := a.rabbit(ctx, name+"-user", scope, "User", username, ns, pulumi.Map{
		"importCredentialsSecret": pulumi.Map{"name": pulumi.String(username + "-username")},
	}, append(p, pulumi.DependsOn([]pulumi.Resource{imported})))
	if err != nil {
		return nil, err
	}
	perm, err := a.rabbit(ctx, name+"-permission", scope, "Permission", username, ns, pulumi.Map{
		"vhost":         pulumi.String(vhost),
		"userReference": pulumi.Map{"name": pulumi.String(username)},
		"permissions":   perms,
	}, append(p, pulumi.DependsOn([]pulumi.Resource{user})))
	if err != nil {
		return nil, err
	}
	return &rabbitUser{
		permission:  perm,
		credentials: username + "-user-credentials",
		native:      map[string]pulumi.Resource{"username": imported, "user": user, "permission": perm},
	}, nil
}

// immutableSpec replaces an exchange or binding object when what
// identifies it in RabbitMQ changes, deleting the old one first (the object
// name stays): RabbitMQ cannot change an exchange's type or a binding's
// arguments in place, and the operator's webhook refuses such updates.
// Queue objects never get it: deleting a Queue object deletes the queue and
// its messages, so a change to one is refused (by the operator's webhook,
// or reported as not Ready), never carried out by replacing it. The
// webhook also refuses a new rabbitmqClusterReference on every kind: moving
// a stack to another RabbitMQ (queue.namespace, rabbitmqCluster,
// connectionSecret) is not supported in place.
var immutableSpec = []pulumi.ResourceOption{
	pulumi.ReplaceOnChanges([]string{"spec.name", "spec.vhost", "spec.type", "spec.durable", "spec.arguments",
		"spec.source", "spec.destination", "spec.destinationType", "spec.routingKey"}),
	pulumi.DeleteBeforeReplace(true),
}

// rabbit declares one of the messaging-topology operator's objects (kind
// in rabbitmq.com/v1beta1) named objectName in namespace ns, referencing
// the config's RabbitMQ, and waits until the operator reports it Ready.
func (a *Adapter) rabbit(ctx *pulumi.Context, name string, scope components.Scope, kind, objectName string, ns pulumi.StringInput, spec pulumi.Map, opts []pulumi.ResourceOption, extra ...pulumi.ResourceOption) (*apiextensions.CustomResource, error) {
	spec["rabbitmqClusterReference"] = a.clusterReference()
	r, err := apiextensions.NewCustomResource(ctx, name, &apiextensions.CustomResourceArgs{
		ApiVersion:  pulumi.String(rabbitAPIVersion),
		Kind:        pulumi.String(kind),
		Metadata:    waitForReady(a.metadata(scope, objectName, ns)),
		OtherFields: k8s.UntypedArgs{"spec": spec},
	}, slices.Concat(opts, []pulumi.ResourceOption{operatorTimeouts}, extra)...)
	if err != nil {
		return nil, fmt.Errorf("kubernetes rabbitmq %s %s: %w", kind, objectName, err)
	}
	return r, nil
}

// clusterReference is the rabbitmqClusterReference every object carries:
// the config's RabbitmqCluster or connection Secret, in RabbitMQ's namespace.
func (a *Adapter) clusterReference() pulumi.Map {
	ref := pulumi.Map{"namespace": pulumi.String(a.cfg.Queue.Namespace)}
	if a.cfg.Queue.ConnectionSecret != "" {
		ref["connectionSecret"] = pulumi.Map{"name": pulumi.String(a.cfg.Queue.ConnectionSecret)}
	} else {
		ref["name"] = pulumi.String(a.cfg.Queue.RabbitmqCluster)
	}
	return ref
}

// exactly is a RabbitMQ regular expression (a policy's pattern, a
// permission) matching name alone.
func exactly(name string) string { return "^" + regexp.QuoteMeta(name) + "$" }
