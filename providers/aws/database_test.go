package aws_test

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/providers/aws"
	"github.com/tenantfleet/tenantfleet/providers/aws/awsoffline"
	"github.com/tenantfleet/tenantfleet/providers/rules"
)

const randomIDType = "random:index/randomId:RandomId"

// lifetimeMocks is awsoffline with pulumi-random's draws tied to a lifetime: a
// run with the same lifetime is an update of the same stack (the draws are
// in state), one with another lifetime is the tenant deleted and signed up
// again (the random resources were deleted with it and are drawn anew).
type lifetimeMocks struct{ lifetime string }

func (m lifetimeMocks) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	id, outs, err := awsoffline.Model.NewResource(args)
	if args.TypeToken == randomIDType {
		outs["hex"] = resource.NewStringProperty(awsoffline.RandomHex(args.Name, m.lifetime))
	}
	return id, outs, err
}

func (lifetimeMocks) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	return awsoffline.Model.Call(args)
}

// finalSnapshots maps each RDS instance's identifier to its final snapshot identifier.
func finalSnapshots(t *testing.T, rec *recorder) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, db := range rec.ofType(rdsType) {
		id, snap := db.Inputs["identifier"], db.Inputs["finalSnapshotIdentifier"]
		if !id.IsString() || !snap.IsString() {
			t.Fatalf("%s: identifier %v, finalSnapshotIdentifier %v: want both known", db.Name, id, snap)
		}
		out[id.StringValue()] = snap.StringValue()
	}
	if len(out) == 0 {
		t.Fatal("no RDS instance registered")
	}
	return out
}

// TestFinalSnapshotIdentifierIsPerLifetime is signup, delete, signup,
// delete: RDS refuses a final snapshot whose name exists, so the second
// deletion failed while the name was "<identifier>-final". The name must
// differ between lifetimes and stay the same across updates of one
// instance, or every up would show a diff.
func TestFinalSnapshotIdentifierIsPerLifetime(t *testing.T) {
	t.Parallel()

	first := finalSnapshots(t, run{mocks: lifetimeMocks{"1"}}.do(t))
	update := finalSnapshots(t, run{mocks: lifetimeMocks{"1"}}.do(t))
	again := finalSnapshots(t, run{mocks: lifetimeMocks{"2"}}.do(t))
	for id, snap := range first {
		if update[id] != snap {
			t.Errorf("%s: an update renames the final snapshot %q to %q: every up would show a diff", id, snap, update[id])
		}
		if again[id] == snap {
			t.Errorf("%s: the re-created instance's final snapshot is %q again: its deletion would fail (snapshot exists)", id, snap)
		}
		if !strings.HasPrefix(snap, id+"-final-") {
			t.Errorf("%s: final snapshot %q does not name its instance", id, snap)
		}
		for _, v := range rules.Evaluate(aws.Rules, rdsType, props(map[string]any{"finalSnapshotIdentifier": snap})) {
			t.Error(v)
		}
	}
}

// TestFinalSnapshotSuffixFollowsTheInstance checks the suffix lives and dies
// with the instance: same parent (deleted with the tenant), and replaced
// whenever the instance is (its keepers are the instance's inputs whose
// change replaces it), so a replaced instance's successor gets a new name too.
func TestFinalSnapshotSuffixFollowsTheInstance(t *testing.T) {
	t.Parallel()

	rec := run{}.do(t)
	suffixes := map[string]pulumi.MockResourceArgs{}
	for _, s := range rec.ofType(randomIDType) {
		suffixes[s.Name] = s
	}
	for _, db := range rec.ofType(rdsType) {
		s, ok := suffixes[db.Name+"-final-snapshot"]
		if !ok {
			t.Fatalf("%s: no final snapshot suffix registered", db.Name)
		}
		if got, want := s.RegisterRPC.GetParent(), db.RegisterRPC.GetParent(); got != want {
			t.Errorf("%s: the suffix's parent is %s, the instance's %s: it would outlive the instance", db.Name, got, want)
		}
		keepers := s.Inputs["keepers"].ObjectValue()
		for keeper, input := range map[string]string{"identifier": "identifier", "dbName": "dbName", "username": "username", "engine": "engine"} {
			if got, want := keepers[resource.PropertyKey(keeper)], db.Inputs[resource.PropertyKey(input)]; !got.DeepEquals(want) {
				t.Errorf("%s: keeper %s = %v, want the instance's %s %v", db.Name, keeper, got, input, want)
			}
		}
	}
}
