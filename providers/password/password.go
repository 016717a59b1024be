// Package password is the one policy for the database passwords an adapter
// generates itself (where the cloud does not): pulumi-random, so the value is
// made once, kept in state as a secret and stable across updates.
package password

import (
	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// New registers name, a 32-character password of letters and digits with at
// least one upper-case letter, one lower-case letter and one digit (accepted
// by every cloud's PostgreSQL and safe in a connection string), and returns
// it with its value as a secret.
func New(ctx *pulumi.Context, name string, opts ...pulumi.ResourceOption) (*random.RandomPassword, pulumi.StringOutput, error) {
	p, err := random.NewRandomPassword(ctx, name, &random.RandomPasswordArgs{
		Length: pulumi.Int(32), Special: pulumi.Bool(false),
		MinUpper: pulumi.Int(1), MinLower: pulumi.Int(1), MinNumeric: pulumi.Int(1),
	}, opts...)
	if err != nil {
		return nil, pulumi.StringOutput{}, err
	}
	return p, pulumi.ToSecret(p.Result).(pulumi.StringOutput), nil
}
