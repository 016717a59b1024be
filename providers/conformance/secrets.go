package conformance

import (
	"regexp"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// secretKey matches the input keys and variable names that hold secrets.
var secretKey = regexp.MustCompile(`(?i)(password|secretstring|privatekey|connectionstring)`)

// checkSecrets checks that the database credentials are a secret output
// and no registered input holds a secret in plaintext.
func checkSecrets(fs *findings, g *Graph, o *outcome) {
	for id, u := range o.units {
		if !pulumi.IsSecret(u.DatabaseCredentials) {
			fs.add("secret", "tenant %s: DatabaseCredentials is not a secret", id)
		}
	}
	for _, r := range g.Custom() {
		for key, v := range r.Inputs {
			if secretKey.MatchString(string(key)) && v.IsString() && v.StringValue() != "" {
				fs.add("secret", "%s: input %s holds a plaintext value; mark it secret", r, key)
			}
		}
	}
}
