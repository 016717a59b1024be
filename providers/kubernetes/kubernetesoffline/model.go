package kubernetesoffline

import (
	"hash/fnv"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/providers/offline"
)

// Model answers the engine the way a cluster would (see Outputs).
var Model = offline.Model{Outputs: Outputs}

// Password is the modelled generated database password.
const Password = "mock-Password-k8s-1"

// Outputs adds what the API server computes: metadata.uid and
// metadata.generation on every object (its inputs echo the rest, as
// server-side apply returns the object as applied), and the result of the
// generated password.
func Outputs(args pulumi.MockResourceArgs) resource.PropertyMap {
	out := resource.PropertyMap{}
	switch {
	case args.TypeToken == "random:index/randomPassword:RandomPassword":
		out["result"] = resource.MakeSecret(resource.NewStringProperty(Password))
	case strings.HasPrefix(args.TypeToken, "kubernetes:"):
		meta := resource.PropertyMap{}
		if m, ok := args.Inputs["metadata"]; ok && m.IsObject() {
			meta = m.ObjectValue().Copy()
		}
		h := fnv.New64a()
		h.Write([]byte(args.TypeToken + "/" + args.Name))
		meta["uid"] = resource.NewStringProperty("00000000-0000-4000-8000-" + strconv.FormatUint(h.Sum64()%1e12, 10))
		meta["generation"] = resource.NewNumberProperty(1)
		out["metadata"] = resource.NewObjectProperty(meta)
	}
	return out
}
