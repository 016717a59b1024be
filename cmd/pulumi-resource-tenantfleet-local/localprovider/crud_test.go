package localprovider

import (
	"context"
	"errors"
	"maps"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"

	"github.com/tenantfleet/tenantfleet/internal/localcloud"
)

// connectTo returns a runtime connecting to cloud and the count of connections made.
func connectTo(cloud localcloud.API) (*runtime, *atomic.Int32) {
	n := &atomic.Int32{}
	return &runtime{connect: func(context.Context) (localcloud.API, error) {
		n.Add(1)
		return cloud, nil
	}}, n
}

// noRuntime is a runtime a test must never reach.
func noRuntime(t *testing.T) *runtime {
	return &runtime{connect: func(context.Context) (localcloud.API, error) {
		t.Error("the runtime was contacted")
		return nil, errors.New("no runtime in this test")
	}}
}

// wantDiff checks a Diff's answer: the changed keys and which replace.
func wantDiff(t *testing.T, why string, got p.DiffResponse, update, replace []string) {
	t.Helper()
	want := map[string]p.DiffKind{}
	for _, k := range update {
		want[k] = p.Update
	}
	for _, k := range replace {
		want[k] = p.UpdateReplace
	}
	kinds := map[string]p.DiffKind{}
	for k, d := range got.DetailedDiff {
		kinds[k] = d.Kind
	}
	if !maps.Equal(kinds, want) {
		t.Errorf("%s: diff = %v, want %v", why, kinds, want)
	}
	if got.HasChanges != (len(want) > 0) {
		t.Errorf("%s: HasChanges = %v, want %v", why, got.HasChanges, len(want) > 0)
	}
	if got.DeleteBeforeReplace != (len(replace) > 0) {
		t.Errorf("%s: DeleteBeforeReplace = %v, want %v (physical names are fixed)", why, got.DeleteBeforeReplace, len(replace) > 0)
	}
}

var urlSafe = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

func TestDatabaseLifecycle(t *testing.T) {
	t.Parallel()

	ctx := t.Context()
	cloud := newFakeCloud()
	rt, _ := connectTo(cloud)
	db := &Database{rt: rt}
	in := DatabaseArgs{Name: "db_dev_acme", Tags: Tags{"tenant": "acme"}}

	created, err := db.Create(ctx, infer.CreateRequest[DatabaseArgs]{Name: "acme-db", Inputs: in})
	if err != nil {
		t.Fatal(err)
	}
	s := created.Output
	if created.ID != in.Name || s.Host != "127.0.0.1" || s.Port != 54320 || s.User != in.Name {
		t.Errorf("create: id %q, state %+v", created.ID, s)
	}
	if len(s.Password) < 24 || !urlSafe.MatchString(s.Password) {
		t.Errorf("password %q: want 24+ URL-safe characters", s.Password)
	}
	if cloud.databases[in.Name].Password != s.Password {
		t.Error("the runtime did not get the generated password")
	}
	again, err := db.Create(ctx, infer.CreateRequest[DatabaseArgs]{Name: "other", Inputs: DatabaseArgs{Name: "db_other"}})
	if err != nil {
		t.Fatal(err)
	}
	if again.Output.Password == s.Password {
		t.Error("two databases got the same password")
	}

	// A tags change updates in place and keeps the password.
	newIn := in
	newIn.Tags = Tags{"tenant": "acme", "stack": "dev"}
	diff, _ := db.Diff(ctx, infer.DiffRequest[DatabaseArgs, DatabaseState]{ID: created.ID, State: s, Inputs: newIn})
	wantDiff(t, "tags change", diff, []string{"tags"}, nil)
	updated, err := db.Update(ctx, infer.UpdateRequest[DatabaseArgs, DatabaseState]{ID: created.ID, State: s, Inputs: newIn})
	if err != nil {
		t.Fatal(err)
	}
	if updated.Output.Password != s.Password || cloud.databases[in.Name].Password != s.Password {
		t.Errorf("update changed the password: %q -> %q", s.Password, updated.Output.Password)
	}
	if !maps.Equal(updated.Output.Tags, newIn.Tags) {
		t.Errorf("update kept tags %v, want %v", updated.Output.Tags, newIn.Tags)
	}

	// A new name replaces, deleting first.
	renamed := newIn
	renamed.Name = "db_dev_acme2"
	diff, _ = db.Diff(ctx, infer.DiffRequest[DatabaseArgs, DatabaseState]{ID: created.ID, State: updated.Output, Inputs: renamed})
	wantDiff(t, "rename", diff, nil, []string{"name"})

	// Deleted behind the engine's back: Read reports drift.
	if err := cloud.DeleteDatabase(ctx, in.Name); err != nil {
		t.Fatal(err)
	}
	read, err := db.Read(ctx, infer.ReadRequest[DatabaseArgs, DatabaseState]{ID: created.ID, Inputs: newIn, State: updated.Output})
	if err != nil || read.ID != "" {
		t.Errorf("read after delete: id %q, err %v; want an empty id (drift)", read.ID, err)
	}
	// Delete is idempotent.
	if _, err := db.Delete(ctx, infer.DeleteRequest[DatabaseState]{ID: created.ID, State: updated.Output}); err != nil {
		t.Errorf("delete of an absent database: %v", err)
	}
}

func TestQueueUpdatesInPlaceAndReplacesOnRename(t *testing.T) {
	t.Parallel()

	ctx := t.Context()
	cloud := newFakeCloud()
	rt, _ := connectTo(cloud)
	q := &Queue{rt: rt}
	in := QueueArgs{Name: "dev-acme-work", MaxDeliver: 5, AckWaitSeconds: 30, RetentionSeconds: 345600}
	created, err := q.Create(ctx, infer.CreateRequest[QueueArgs]{Inputs: in})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(created.Output.URL, "stream=dev-acme-work") || !strings.Contains(created.Output.DeadLetterURL, "dev-acme-work-dlq") {
		t.Errorf("urls %q, %q", created.Output.URL, created.Output.DeadLetterURL)
	}

	cases := []struct {
		name            string
		change          func(*QueueArgs)
		update, replace []string
	}{
		{"no change", func(*QueueArgs) {}, nil, nil},
		{"max deliveries", func(a *QueueArgs) { a.MaxDeliver = 3 }, []string{"maxDeliver"}, nil},
		{"ack wait and retention", func(a *QueueArgs) { a.AckWaitSeconds, a.RetentionSeconds = 120, 86400 }, []string{"ackWaitSeconds", "retentionSeconds"}, nil},
		{"rename", func(a *QueueArgs) { a.Name = "dev-acme-jobs" }, nil, []string{"name"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()

			next := in
			tc.change(&next)
			diff, err := q.Diff(ctx, infer.DiffRequest[QueueArgs, QueueState]{State: created.Output, Inputs: next})
			if err != nil {
				t.Fatal(err)
			}
			wantDiff(t, tc.name, diff, tc.update, tc.replace)
		})
	}

	next := in
	next.MaxDeliver = 3
	updated, err := q.Update(ctx, infer.UpdateRequest[QueueArgs, QueueState]{ID: created.ID, State: created.Output, Inputs: next})
	if err != nil {
		t.Fatal(err)
	}
	if cloud.queues[in.Name].MaxDeliver != 3 || updated.Output.MaxDeliver != 3 || updated.Output.URL != created.Output.URL {
		t.Errorf("update: runtime has %+v, state %+v", cloud.queues[in.Name], updated.Output)
	}
}

func TestProcessKilledIsDriftAndUpdateRestartsIt(t *testing.T) {
	t.Parallel()

	ctx := t.Context()
	cloud := newFakeCloud()
	rt, _ := connectTo(cloud)
	proc := &Process{rt: rt}
	in := ProcessArgs{
		Name: "dev-acme-web", Image: "registry.example.com/tenant-app:1.0.0", Web: true,
		Env:       map[string]string{"TENANT_ID": "acme", "PORT": "8080"},
		SecretEnv: map[string]string{"DATABASE_PASSWORD": "s3cret"},
	}
	created, err := proc.Create(ctx, infer.CreateRequest[ProcessArgs]{Inputs: in})
	if err != nil {
		t.Fatal(err)
	}
	s := created.Output
	if !s.Running || s.Port == 0 || s.URL == "" || s.LogPath == "" {
		t.Errorf("create: state %+v", s)
	}
	if env := cloud.processes[in.Name].Env; env["DATABASE_PASSWORD"] != "s3cret" || env["TENANT_ID"] != "acme" {
		t.Errorf("the process environment is %v, want env and secretEnv merged", env)
	}

	diff, _ := proc.Diff(ctx, infer.DiffRequest[ProcessArgs, ProcessState]{State: s, Inputs: in})
	wantDiff(t, "running, unchanged", diff, nil, nil)

	cloud.kill(in.Name)
	read, err := proc.Read(ctx, infer.ReadRequest[ProcessArgs, ProcessState]{ID: created.ID, Inputs: in, State: s})
	if err != nil {
		t.Fatal(err)
	}
	if read.ID != created.ID || read.State.Running {
		t.Fatalf("refresh of a killed process: id %q, running %v; want the same id and running=false", read.ID, read.State.Running)
	}
	if read.State.SecretEnv["DATABASE_PASSWORD"] != "s3cret" || read.State.URL != s.URL {
		t.Errorf("refresh lost state: %+v", read.State)
	}
	diff, _ = proc.Diff(ctx, infer.DiffRequest[ProcessArgs, ProcessState]{State: read.State, Inputs: in})
	wantDiff(t, "killed, unchanged inputs", diff, []string{"running"}, nil)

	puts := len(cloud.puts)
	healed, err := proc.Update(ctx, infer.UpdateRequest[ProcessArgs, ProcessState]{ID: created.ID, State: read.State, Inputs: in})
	if err != nil {
		t.Fatal(err)
	}
	if !healed.Output.Running || !cloud.running[in.Name] || len(cloud.puts) != puts+1 {
		t.Errorf("update did not restart the process: state %+v", healed.Output)
	}
	if healed.Output.Port != s.Port {
		t.Errorf("restart moved the port %d -> %d", s.Port, healed.Output.Port)
	}

	cases := []struct {
		name            string
		change          func(*ProcessArgs)
		update, replace []string
	}{
		{"image", func(a *ProcessArgs) { a.Image = "registry.example.com/tenant-app:1.1.0" }, []string{"image"}, nil},
		{"command", func(a *ProcessArgs) { a.Command = []string{"/app/web", "--debug"} }, []string{"command"}, nil},
		{"env", func(a *ProcessArgs) { a.Env = map[string]string{"TENANT_ID": "acme"} }, []string{"env"}, nil},
		{"password", func(a *ProcessArgs) { a.SecretEnv = map[string]string{"DATABASE_PASSWORD": "new"} }, []string{"secretEnv"}, nil},
		{"rename", func(a *ProcessArgs) { a.Name = "dev-acme-www" }, nil, []string{"name"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()

			next := in
			tc.change(&next)
			diff, _ := proc.Diff(ctx, infer.DiffRequest[ProcessArgs, ProcessState]{State: healed.Output, Inputs: next})
			wantDiff(t, tc.name, diff, tc.update, tc.replace)
		})
	}
}

func TestSubscriptionReplacesOnTopicOrQueue(t *testing.T) {
	t.Parallel()

	ctx := t.Context()
	cloud := newFakeCloud()
	rt, _ := connectTo(cloud)
	for _, name := range []string{"events", "billing", "audit"} {
		cloud.topics[name] = localcloud.TopicSpec{Name: name}
		cloud.queues[name] = localcloud.QueueSpec{Name: name}
	}
	sub := &Subscription{rt: rt}
	in := SubscriptionArgs{Name: "events-billing", Topic: "events", Queue: "billing"}
	created, err := sub.Create(ctx, infer.CreateRequest[SubscriptionArgs]{Inputs: in})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name            string
		change          func(*SubscriptionArgs)
		update, replace []string
	}{
		{"tags", func(a *SubscriptionArgs) { a.Tags = Tags{"tenant": "shared"} }, []string{"tags"}, nil},
		{"topic", func(a *SubscriptionArgs) { a.Topic = "audit" }, nil, []string{"topic"}},
		{"queue", func(a *SubscriptionArgs) { a.Queue = "audit" }, nil, []string{"queue"}},
	}
	for _, tc := range cases {
		next := in
		tc.change(&next)
		diff, _ := sub.Diff(ctx, infer.DiffRequest[SubscriptionArgs, SubscriptionArgs]{State: created.Output, Inputs: next})
		wantDiff(t, tc.name, diff, tc.update, tc.replace)
	}

	// Relinked behind the engine's back: Read shows the runtime's queue, so
	// the next diff replaces it back.
	cloud.subscriptions[in.Name] = localcloud.SubscriptionSpec{Name: in.Name, Topic: "events", Queue: "audit"}
	read, err := sub.Read(ctx, infer.ReadRequest[SubscriptionArgs, SubscriptionArgs]{ID: created.ID, Inputs: in, State: created.Output})
	if err != nil || read.State.Queue != "audit" {
		t.Fatalf("read: %+v, %v", read.State, err)
	}
	diff, _ := sub.Diff(ctx, infer.DiffRequest[SubscriptionArgs, SubscriptionArgs]{State: read.State, Inputs: in})
	wantDiff(t, "relinked", diff, nil, []string{"queue"})

	// A subscription into a queue that does not exist: the runtime's message, naming the field.
	_, err = sub.Create(ctx, infer.CreateRequest[SubscriptionArgs]{Inputs: SubscriptionArgs{Name: "x", Topic: "events", Queue: "nope"}})
	if err == nil || !strings.Contains(err.Error(), `queue: queue "nope" does not exist`) || !strings.Contains(err.Error(), `subscription "x"`) {
		t.Errorf("error = %v, want the runtime's message naming queue, and the subscription", err)
	}
}

// TestReadAfterDeleteIsDrift checks every resource: deleted by the plugin
// (or behind the engine's back), Read answers an empty ID, and a second
// Delete succeeds.
func TestReadAfterDeleteIsDrift(t *testing.T) {
	t.Parallel()

	ctx := t.Context()
	cloud := newFakeCloud()
	rt, _ := connectTo(cloud)
	cloud.topics["t"], cloud.queues["q"] = localcloud.TopicSpec{Name: "t"}, localcloud.QueueSpec{Name: "q"}

	type lifecycle struct {
		create func() (string, error)
		read   func(id string) (string, error)
		delete func(id string) error
	}
	db, q, topic, sub, proc := &Database{rt: rt}, &Queue{rt: rt}, &Topic{rt: rt}, &Subscription{rt: rt}, &Process{rt: rt}
	cases := map[string]lifecycle{
		"database": {
			func() (string, error) {
				r, err := db.Create(ctx, infer.CreateRequest[DatabaseArgs]{Inputs: DatabaseArgs{Name: "d"}})
				return r.ID, err
			},
			func(id string) (string, error) {
				r, err := db.Read(ctx, infer.ReadRequest[DatabaseArgs, DatabaseState]{ID: id})
				return r.ID, err
			},
			func(id string) error {
				_, err := db.Delete(ctx, infer.DeleteRequest[DatabaseState]{ID: id})
				return err
			},
		},
		"queue": {
			func() (string, error) {
				r, err := q.Create(ctx, infer.CreateRequest[QueueArgs]{Inputs: QueueArgs{Name: "q2", MaxDeliver: 1, AckWaitSeconds: 1, RetentionSeconds: 60}})
				return r.ID, err
			},
			func(id string) (string, error) {
				r, err := q.Read(ctx, infer.ReadRequest[QueueArgs, QueueState]{ID: id})
				return r.ID, err
			},
			func(id string) error {
				_, err := q.Delete(ctx, infer.DeleteRequest[QueueState]{ID: id})
				return err
			},
		},
		"topic": {
			func() (string, error) {
				r, err := topic.Create(ctx, infer.CreateRequest[TopicArgs]{Inputs: TopicArgs{Name: "t2"}})
				return r.ID, err
			},
			func(id string) (string, error) {
				r, err := topic.Read(ctx, infer.ReadRequest[TopicArgs, TopicState]{ID: id})
				return r.ID, err
			},
			func(id string) error {
				_, err := topic.Delete(ctx, infer.DeleteRequest[TopicState]{ID: id})
				return err
			},
		},
		"subscription": {
			func() (string, error) {
				r, err := sub.Create(ctx, infer.CreateRequest[SubscriptionArgs]{Inputs: SubscriptionArgs{Name: "s", Topic: "t", Queue: "q"}})
				return r.ID, err
			},
			func(id string) (string, error) {
				r, err := sub.Read(ctx, infer.ReadRequest[SubscriptionArgs, SubscriptionArgs]{ID: id})
				return r.ID, err
			},
			func(id string) error {
				_, err := sub.Delete(ctx, infer.DeleteRequest[SubscriptionArgs]{ID: id})
				return err
			},
		},
		"process": {
			func() (string, error) {
				r, err := proc.Create(ctx, infer.CreateRequest[ProcessArgs]{Inputs: ProcessArgs{Name: "w", Image: "app:1"}})
				return r.ID, err
			},
			func(id string) (string, error) {
				r, err := proc.Read(ctx, infer.ReadRequest[ProcessArgs, ProcessState]{ID: id})
				return r.ID, err
			},
			func(id string) error {
				_, err := proc.Delete(ctx, infer.DeleteRequest[ProcessState]{ID: id})
				return err
			},
		},
	}
	for name, lc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()

			id, err := lc.create()
			if err != nil || id == "" {
				t.Fatalf("create: id %q, %v", id, err)
			}
			if got, err := lc.read(id); err != nil || got != id {
				t.Fatalf("read of a live resource: id %q, %v", got, err)
			}
			if err := lc.delete(id); err != nil {
				t.Fatalf("delete: %v", err)
			}
			if got, err := lc.read(id); err != nil || got != "" {
				t.Errorf("read after delete: id %q, %v; want an empty id (drift)", got, err)
			}
			if err := lc.delete(id); err != nil {
				t.Errorf("second delete: %v; want success (idempotent)", err)
			}
		})
	}
}

// TestPreviewChangesNothing runs every Create and Update as a preview
// against a runtime that must not be contacted.
func TestPreviewChangesNothing(t *testing.T) {
	t.Parallel()

	ctx := t.Context()
	rt := noRuntime(t)
	db, q, topic, sub, proc := &Database{rt: rt}, &Queue{rt: rt}, &Topic{rt: rt}, &Subscription{rt: rt}, &Process{rt: rt}
	errs := []error{}
	add := func(_ any, err error) { errs = append(errs, err) }
	add(db.Create(ctx, infer.CreateRequest[DatabaseArgs]{Inputs: DatabaseArgs{Name: "d"}, DryRun: true}))
	add(db.Update(ctx, infer.UpdateRequest[DatabaseArgs, DatabaseState]{Inputs: DatabaseArgs{Name: "d"}, DryRun: true}))
	add(q.Create(ctx, infer.CreateRequest[QueueArgs]{Inputs: QueueArgs{Name: "q"}, DryRun: true}))
	add(q.Update(ctx, infer.UpdateRequest[QueueArgs, QueueState]{Inputs: QueueArgs{Name: "q"}, DryRun: true}))
	add(topic.Create(ctx, infer.CreateRequest[TopicArgs]{Inputs: TopicArgs{Name: "t"}, DryRun: true}))
	add(topic.Update(ctx, infer.UpdateRequest[TopicArgs, TopicState]{Inputs: TopicArgs{Name: "t"}, DryRun: true}))
	add(sub.Create(ctx, infer.CreateRequest[SubscriptionArgs]{Inputs: SubscriptionArgs{Name: "s"}, DryRun: true}))
	add(sub.Update(ctx, infer.UpdateRequest[SubscriptionArgs, SubscriptionArgs]{Inputs: SubscriptionArgs{Name: "s"}, DryRun: true}))
	add(proc.Create(ctx, infer.CreateRequest[ProcessArgs]{Inputs: ProcessArgs{Name: "p"}, DryRun: true}))
	add(proc.Update(ctx, infer.UpdateRequest[ProcessArgs, ProcessState]{Inputs: ProcessArgs{Name: "p"}, DryRun: true}))
	// Diff never needs the runtime either.
	add(proc.Diff(ctx, infer.DiffRequest[ProcessArgs, ProcessState]{Inputs: ProcessArgs{Name: "p"}}))
	if err := errors.Join(errs...); err != nil {
		t.Error(err)
	}
}

func TestConnectsLazilyOnceAndAgainAfterTheRuntimeStops(t *testing.T) {
	t.Parallel()

	ctx := t.Context()
	cloud := newFakeCloud()
	rt, connects := connectTo(cloud)
	topic := &Topic{rt: rt}
	if connects.Load() != 0 {
		t.Fatal("connected before any call")
	}
	for _, name := range []string{"a", "b"} {
		if _, err := topic.Create(ctx, infer.CreateRequest[TopicArgs]{Inputs: TopicArgs{Name: name}}); err != nil {
			t.Fatal(err)
		}
	}
	if n := connects.Load(); n != 1 {
		t.Errorf("connected %d times for two calls, want once", n)
	}
	cloud.goneOnce = true
	if _, err := topic.Create(ctx, infer.CreateRequest[TopicArgs]{Inputs: TopicArgs{Name: "c"}}); err != nil {
		t.Fatalf("a call after the runtime stopped: %v; want a reconnect and a retry", err)
	}
	if n := connects.Load(); n != 2 {
		t.Errorf("connected %d times, want 2 (one reconnect)", n)
	}
	if _, ok := cloud.topics["c"]; !ok {
		t.Error("the retried PUT did not reach the runtime")
	}
}

func TestConnectFailureIsReportedAndRetried(t *testing.T) {
	t.Parallel()

	ctx := t.Context()
	cloud, fail := newFakeCloud(), true
	rt := &runtime{connect: func(context.Context) (localcloud.API, error) {
		if fail {
			return nil, errors.New("postgres did not start: see /data/postgres.log")
		}
		return cloud, nil
	}}
	q := &Queue{rt: rt}
	in := QueueArgs{Name: "q", MaxDeliver: 1, AckWaitSeconds: 1, RetentionSeconds: 60}
	_, err := q.Create(ctx, infer.CreateRequest[QueueArgs]{Inputs: in})
	if err == nil || !strings.Contains(err.Error(), "connect to the local cloud runtime: postgres did not start") {
		t.Fatalf("error = %v", err)
	}
	fail = false
	if _, err := q.Create(ctx, infer.CreateRequest[QueueArgs]{Inputs: in}); err != nil {
		t.Fatalf("after the runtime came up: %v", err)
	}
}
