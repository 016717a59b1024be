package aws

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/appautoscaling"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ecs"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lb"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/providers/naming"
)

// webCPUTarget is the average CPU the web service scales to hold.
const webCPUTarget = 60

// WebApp implements components.WebAppProvisioner: a Fargate service behind
// the tenant's own internet-facing Application Load Balancer, scaled on CPU
// between MinInstances and MaxInstances. /healthz is the health check.
func (a *Adapter) WebApp(ctx *pulumi.Context, name string, in components.WebAppInput, parent pulumi.Resource) (*components.WebApp, error) {
	cpu, mem, err := fargateSize("web", in.Spec.CPU, in.Spec.MemoryMiB)
	if err != nil {
		return nil, err
	}
	f, err := foundationOf(in.Foundation)
	if err != nil {
		return nil, err
	}
	opts := childOptions(parent)
	scope := in.Scope

	ingress, err := ec2.NewSecurityGroupRule(ctx, name+"-ingress", &ec2.SecurityGroupRuleArgs{
		Type: pulumi.String("ingress"), Description: pulumi.String("web app port from the load balancer"),
		SecurityGroupId: f.workloadSG.ID(), SourceSecurityGroupId: f.lbSG.ID(),
		Protocol: pulumi.String("tcp"), FromPort: pulumi.Int(in.Spec.Port), ToPort: pulumi.Int(in.Spec.Port),
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("web ingress rule: %w", err)
	}
	alb, err := lb.NewLoadBalancer(ctx, name+"-lb", &lb.LoadBalancerArgs{
		Name:                    physical(naming.AWS.LoadBalancer, scope),
		LoadBalancerType:        pulumi.String("application"),
		Internal:                pulumi.Bool(false),
		SecurityGroups:          pulumi.StringArray{f.lbSG.ID()},
		Subnets:                 f.net.publicSubnets,
		DropInvalidHeaderFields: pulumi.Bool(true),
		Tags:                    tags(scope),
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("load balancer: %w", err)
	}
	tg, err := lb.NewTargetGroup(ctx, name+"-targets", &lb.TargetGroupArgs{
		Name:                physical(naming.AWS.TargetGroup, scope),
		Port:                pulumi.Int(in.Spec.Port),
		Protocol:            pulumi.String("HTTP"),
		TargetType:          pulumi.String("ip"),
		VpcId:               f.net.vpcID,
		DeregistrationDelay: pulumi.Int(30),
		HealthCheck: &lb.TargetGroupHealthCheckArgs{
			Path: pulumi.String("/healthz"), Matcher: pulumi.String("200-399"),
			Interval: pulumi.Int(15), HealthyThreshold: pulumi.Int(2), UnhealthyThreshold: pulumi.Int(3),
		},
		Tags: tags(scope),
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("target group: %w", err)
	}
	forward := lb.ListenerDefaultActionArray{lb.ListenerDefaultActionArgs{Type: pulumi.String("forward"), TargetGroupArn: tg.Arn}}
	scheme := "http"
	listeners := []pulumi.Resource{}
	if a.cfg.CertificateARN != "" {
		scheme = "https"
		https, err := lb.NewListener(ctx, name+"-https", &lb.ListenerArgs{
			LoadBalancerArn: alb.Arn, Port: pulumi.Int(443), Protocol: pulumi.String("HTTPS"),
			SslPolicy: pulumi.String("ELBSecurityPolicy-TLS13-1-2-2021-06"), CertificateArn: pulumi.String(a.cfg.CertificateARN),
			DefaultActions: forward, Tags: tags(scope),
		}, opts...)
		if err != nil {
			return nil, fmt.Errorf("HTTPS listener: %w", err)
		}
		listeners = append(listeners, https)
		forward = lb.ListenerDefaultActionArray{lb.ListenerDefaultActionArgs{
			Type: pulumi.String("redirect"),
			Redirect: &lb.ListenerDefaultActionRedirectArgs{
				Port: pulumi.String("443"), Protocol: pulumi.String("HTTPS"), StatusCode: pulumi.String("HTTP_301"),
			},
		}}
	}
	httpListener, err := lb.NewListener(ctx, name+"-http", &lb.ListenerArgs{
		LoadBalancerArn: alb.Arn, Port: pulumi.Int(80), Protocol: pulumi.String("HTTP"),
		DefaultActions: forward, Tags: tags(scope),
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("HTTP listener: %w", err)
	}
	listeners = append(listeners, httpListener, ingress)

	td, taskRole, err := a.taskDefinition(ctx, name, in.Workload, task{
		role: components.WorkloadWeb, image: in.Spec.Image, port: in.Spec.Port,
		cpuUnits: cpu, memoryMiB: mem, queueActions: produceActions,
	}, opts)
	if err != nil {
		return nil, err
	}
	svc, err := a.service(ctx, name, in.Workload, components.WorkloadWeb, td, in.Spec.MinInstances, &ecs.ServiceArgs{
		LoadBalancers: ecs.ServiceLoadBalancerArray{ecs.ServiceLoadBalancerArgs{
			TargetGroupArn: tg.Arn, ContainerName: pulumi.String(components.WorkloadWeb), ContainerPort: pulumi.Int(in.Spec.Port),
		}},
		HealthCheckGracePeriodSeconds: pulumi.Int(60),
	}, append(opts,
		// ECS attaches a target group only once a listener uses it.
		pulumi.DependsOn(listeners),
		// Autoscaling owns the running count after creation.
		pulumi.IgnoreChanges([]string{"desiredCount"}),
	))
	if err != nil {
		return nil, err
	}

	target, err := appautoscaling.NewTarget(ctx, name+"-scaling", &appautoscaling.TargetArgs{
		ServiceNamespace:  pulumi.String("ecs"),
		ScalableDimension: pulumi.String("ecs:service:DesiredCount"),
		ResourceId:        pulumi.Sprintf("service/%s/%s", f.cluster.Name, svc.Name),
		MinCapacity:       pulumi.Int(in.Spec.MinInstances),
		MaxCapacity:       pulumi.Int(in.Spec.MaxInstances),
		Tags:              tags(scope),
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("autoscaling target: %w", err)
	}
	if _, err := appautoscaling.NewPolicy(ctx, name+"-scaling-cpu", &appautoscaling.PolicyArgs{
		PolicyType:        pulumi.String("TargetTrackingScaling"),
		ResourceId:        target.ResourceId,
		ScalableDimension: target.ScalableDimension,
		ServiceNamespace:  target.ServiceNamespace,
		TargetTrackingScalingPolicyConfiguration: &appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs{
			TargetValue: pulumi.Float64(webCPUTarget),
			PredefinedMetricSpecification: &appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs{
				PredefinedMetricType: pulumi.String("ECSServiceAverageCPUUtilization"),
			},
		},
	}, opts...); err != nil {
		return nil, fmt.Errorf("autoscaling policy: %w", err)
	}

	return &components.WebApp{
		URL: pulumi.Sprintf("%s://%s", scheme, alb.DnsName),
		Native: map[string]pulumi.Resource{
			"load-balancer": alb, "target-group": tg, "web-task-definition": td, "web-task-role": taskRole, "web-service": svc, "web-scaling": target,
		},
	}, nil
}
