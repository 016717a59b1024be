package aws

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ecs"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/rds"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/providers/naming"
)

// foundation is a tenant's shared AWS pieces. Traffic flows only
// internet → load balancer → workloads → database, each hop its own security group.
type foundation struct {
	net           *network
	lbSG          *ec2.SecurityGroup
	workloadSG    *ec2.SecurityGroup
	databaseSG    *ec2.SecurityGroup
	subnetGroup   *rds.SubnetGroup
	cluster       *ecs.Cluster
	logGroup      *cloudwatch.LogGroup
	executionRole *iam.Role
}

// logRetentionDays keeps workload logs a month.
const logRetentionDays = 30

// Foundation implements components.FoundationProvisioner.
func (a *Adapter) Foundation(ctx *pulumi.Context, name string, in components.FoundationInput, parent pulumi.Resource) (*components.Foundation, error) {
	scope := in.Scope
	net := a.network(ctx)
	opts := childOptions(parent)
	f := &foundation{net: net}
	var err error
	everywhere := ec2.SecurityGroupEgressArray{ec2.SecurityGroupEgressArgs{
		Protocol: pulumi.String("-1"), FromPort: pulumi.Int(0), ToPort: pulumi.Int(0),
		CidrBlocks: pulumi.StringArray{pulumi.String("0.0.0.0/0")}, Ipv6CidrBlocks: pulumi.StringArray{pulumi.String("::/0")},
	}}

	lbPorts := []int{80}
	if a.cfg.CertificateARN != "" {
		lbPorts = append(lbPorts, 443)
	}
	var lbIngress ec2.SecurityGroupIngressArray
	for _, port := range lbPorts {
		lbIngress = append(lbIngress, ec2.SecurityGroupIngressArgs{
			Description: pulumi.Sprintf("HTTP(S) from the internet to the %s web app", scope.Tenant),
			Protocol:    pulumi.String("tcp"), FromPort: pulumi.Int(port), ToPort: pulumi.Int(port),
			CidrBlocks: pulumi.StringArray{pulumi.String("0.0.0.0/0")}, Ipv6CidrBlocks: pulumi.StringArray{pulumi.String("::/0")},
		})
	}
	if f.lbSG, err = ec2.NewSecurityGroup(ctx, name+"-lb-sg", &ec2.SecurityGroupArgs{
		Name:        physical(naming.AWS.SecurityGroup, scope, "lb"),
		Description: pulumi.Sprintf("tenantfleet %s: public load balancer", scope.Tenant),
		VpcId:       net.vpcID, Ingress: lbIngress, Egress: everywhere, Tags: tags(scope),
	}, opts...); err != nil {
		return nil, fmt.Errorf("load balancer security group: %w", err)
	}
	// Ingress to the workloads is the web app's port from the load balancer
	// only; it is added by WebApp, which knows the port.
	if f.workloadSG, err = ec2.NewSecurityGroup(ctx, name+"-workload-sg", &ec2.SecurityGroupArgs{
		Name:        physical(naming.AWS.SecurityGroup, scope, "workload"),
		Description: pulumi.Sprintf("tenantfleet %s: web app and worker tasks", scope.Tenant),
		VpcId:       net.vpcID, Egress: everywhere, Tags: tags(scope),
	}, opts...); err != nil {
		return nil, fmt.Errorf("workload security group: %w", err)
	}
	// EC2 takes a-z, A-Z, 0-9, spaces and ._-:/()#,@[]+=&;{}!$* in security
	// group and rule descriptions: no apostrophe (see Rules).
	if f.databaseSG, err = ec2.NewSecurityGroup(ctx, name+"-db-sg", &ec2.SecurityGroupArgs{
		Name:        physical(naming.AWS.SecurityGroup, scope, "db"),
		Description: pulumi.Sprintf("tenantfleet %s: PostgreSQL, reachable from the tenant tasks only", scope.Tenant),
		VpcId:       net.vpcID,
		Ingress: ec2.SecurityGroupIngressArray{ec2.SecurityGroupIngressArgs{
			Description: pulumi.String("PostgreSQL from the tenant tasks"),
			Protocol:    pulumi.String("tcp"), FromPort: pulumi.Int(5432), ToPort: pulumi.Int(5432),
			SecurityGroups: pulumi.StringArray{f.workloadSG.ID()},
		}},
		Tags: tags(scope),
	}, opts...); err != nil {
		return nil, fmt.Errorf("database security group: %w", err)
	}
	if f.subnetGroup, err = rds.NewSubnetGroup(ctx, name+"-db-subnets", &rds.SubnetGroupArgs{
		Name:        physical(naming.AWS.DBSubnetGroup, scope, "db"),
		Description: pulumi.Sprintf("tenantfleet %s database subnets", scope.Tenant),
		SubnetIds:   net.privateSubnets, Tags: tags(scope),
	}, opts...); err != nil {
		return nil, fmt.Errorf("database subnet group: %w", err)
	}
	if f.cluster, err = ecs.NewCluster(ctx, name+"-cluster", &ecs.ClusterArgs{
		Name: physical(naming.AWS.ECSCluster, scope),
		Settings: ecs.ClusterSettingArray{ecs.ClusterSettingArgs{
			Name: pulumi.String("containerInsights"), Value: pulumi.String("enabled"),
		}},
		Tags: tags(scope),
	}, opts...); err != nil {
		return nil, fmt.Errorf("ECS cluster: %w", err)
	}
	if f.logGroup, err = cloudwatch.NewLogGroup(ctx, name+"-logs", &cloudwatch.LogGroupArgs{
		Name:            pulumi.Sprintf("/tenantfleet/%s/%s", scope.Stack, scope.Tenant),
		RetentionInDays: pulumi.Int(logRetentionDays), Tags: tags(scope),
	}, opts...); err != nil {
		return nil, fmt.Errorf("log group: %w", err)
	}
	// The execution role is ECS's, not the app's: it pulls the image, writes
	// logs and reads the database secret to inject DATABASE_PASSWORD.
	if f.executionRole, err = newRole(ctx, name+"-execution-role", scope, "execution", "ecs-tasks.amazonaws.com", opts); err != nil {
		return nil, err
	}
	if _, err = iam.NewRolePolicyAttachment(ctx, name+"-execution-role-managed", &iam.RolePolicyAttachmentArgs{
		Role:      f.executionRole.Name,
		PolicyArn: pulumi.String("arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"),
	}, opts...); err != nil {
		return nil, fmt.Errorf("execution role policy attachment: %w", err)
	}
	return &components.Foundation{
		State: f,
		Native: map[string]pulumi.Resource{
			"lb-security-group": f.lbSG, "workload-security-group": f.workloadSG, "database-security-group": f.databaseSG,
			"database-subnet-group": f.subnetGroup, "cluster": f.cluster, "log-group": f.logGroup, "execution-role": f.executionRole,
		},
	}, nil
}

// foundationOf recovers the adapter's foundation from a component input.
func foundationOf(f *components.Foundation) (*foundation, error) {
	if f == nil {
		return nil, fmt.Errorf("aws: no tenant foundation: call Foundation first")
	}
	state, ok := f.State.(*foundation)
	if !ok {
		return nil, fmt.Errorf("aws: the tenant foundation was made by another adapter (%T)", f.State)
	}
	return state, nil
}

// newRole creates an IAM role that only service may assume.
func newRole(ctx *pulumi.Context, name string, scope components.Scope, role, service string, opts []pulumi.ResourceOption) (*iam.Role, error) {
	trust, err := jsonString(map[string]any{
		"Version": "2012-10-17",
		"Statement": []map[string]any{{
			"Effect": "Allow", "Action": "sts:AssumeRole",
			"Principal": map[string]any{"Service": service},
		}},
	})
	if err != nil {
		return nil, err
	}
	r, err := iam.NewRole(ctx, name, &iam.RoleArgs{
		Name:             physical(naming.AWS.IAMRole, scope, role),
		AssumeRolePolicy: pulumi.String(trust),
		Tags:             tags(scope),
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("IAM role %s: %w", role, err)
	}
	return r, nil
}
