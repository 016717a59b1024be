package localprovider

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/tenantfleet/tenantfleet/internal/localcloud"
)

// fakeCloud is an in-memory localcloud.API: PUT stores the spec and
// converges (a PUT process runs), GET answers localcloud.ErrNotFound for
// what is absent, DELETE is idempotent. It records every PUT.
type fakeCloud struct {
	mu            sync.Mutex
	databases     map[string]localcloud.DatabaseSpec
	queues        map[string]localcloud.QueueSpec
	topics        map[string]localcloud.TopicSpec
	subscriptions map[string]localcloud.SubscriptionSpec
	processes     map[string]localcloud.ProcessSpec
	running       map[string]bool
	ports         map[string]int
	puts          []string
	// goneOnce, when set, makes the next call fail as if the runtime had stopped.
	goneOnce bool
}

var _ localcloud.API = (*fakeCloud)(nil)

func newFakeCloud() *fakeCloud {
	return &fakeCloud{
		databases: map[string]localcloud.DatabaseSpec{}, queues: map[string]localcloud.QueueSpec{},
		topics: map[string]localcloud.TopicSpec{}, subscriptions: map[string]localcloud.SubscriptionSpec{},
		processes: map[string]localcloud.ProcessSpec{}, running: map[string]bool{}, ports: map[string]int{},
	}
}

// kill stops a process behind the engine's back.
func (f *fakeCloud) kill(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.running[name] = false
}

// lock takes the lock and fails once when goneOnce is set.
func (f *fakeCloud) lock() error {
	f.mu.Lock()
	if f.goneOnce {
		f.goneOnce = false
		f.mu.Unlock()
		return fmt.Errorf("dial runtime.sock: %w", localcloud.ErrNotRunning)
	}
	return nil
}

func notFoundErr(kind, name string) error {
	return fmt.Errorf("%s %q not found (404 Not Found): %w", kind, name, localcloud.ErrNotFound)
}

func badRequest(field, msg string) error {
	return errors.New(field + ": " + msg + " (400 Bad Request)")
}

func (f *fakeCloud) Status(context.Context) (localcloud.Status, error) {
	return localcloud.Status{}, nil
}

func (f *fakeCloud) PutDatabase(_ context.Context, spec localcloud.DatabaseSpec) (localcloud.Database, error) {
	if err := f.lock(); err != nil {
		return localcloud.Database{}, err
	}
	defer f.mu.Unlock()
	if spec.Password == "" {
		return localcloud.Database{}, badRequest("password", "must not be empty")
	}
	f.databases[spec.Name] = spec
	f.puts = append(f.puts, "database/"+spec.Name)
	return f.database(spec.Name), nil
}

func (f *fakeCloud) database(name string) localcloud.Database {
	return localcloud.Database{Name: name, User: name, Host: "127.0.0.1", Port: 54320}
}

func (f *fakeCloud) GetDatabase(_ context.Context, name string) (localcloud.Database, error) {
	if err := f.lock(); err != nil {
		return localcloud.Database{}, err
	}
	defer f.mu.Unlock()
	if _, ok := f.databases[name]; !ok {
		return localcloud.Database{}, notFoundErr("database", name)
	}
	return f.database(name), nil
}

func (f *fakeCloud) DeleteDatabase(_ context.Context, name string) error {
	if err := f.lock(); err != nil {
		return err
	}
	defer f.mu.Unlock()
	delete(f.databases, name)
	return nil
}

func (f *fakeCloud) PutQueue(_ context.Context, spec localcloud.QueueSpec) (localcloud.Queue, error) {
	if err := f.lock(); err != nil {
		return localcloud.Queue{}, err
	}
	defer f.mu.Unlock()
	if spec.MaxDeliver < 1 {
		return localcloud.Queue{}, badRequest("maxDeliver", "must be at least 1")
	}
	f.queues[spec.Name] = spec
	f.puts = append(f.puts, "queue/"+spec.Name)
	return f.queue(spec.Name), nil
}

func (f *fakeCloud) queue(name string) localcloud.Queue {
	return localcloud.Queue{
		Name:          name,
		URL:           "nats://127.0.0.1:4222?stream=" + name + "&subject=queue." + name + "&consumer=worker",
		DeadLetterURL: "nats://127.0.0.1:4222?stream=" + name + "-dlq&subject=dlq." + name + "&consumer=worker",
	}
}

func (f *fakeCloud) GetQueue(_ context.Context, name string) (localcloud.Queue, error) {
	if err := f.lock(); err != nil {
		return localcloud.Queue{}, err
	}
	defer f.mu.Unlock()
	if _, ok := f.queues[name]; !ok {
		return localcloud.Queue{}, notFoundErr("queue", name)
	}
	return f.queue(name), nil
}

func (f *fakeCloud) DeleteQueue(_ context.Context, name string) error {
	if err := f.lock(); err != nil {
		return err
	}
	defer f.mu.Unlock()
	delete(f.queues, name)
	return nil
}

func (f *fakeCloud) PutTopic(_ context.Context, spec localcloud.TopicSpec) (localcloud.Topic, error) {
	if err := f.lock(); err != nil {
		return localcloud.Topic{}, err
	}
	defer f.mu.Unlock()
	f.topics[spec.Name] = spec
	f.puts = append(f.puts, "topic/"+spec.Name)
	return localcloud.Topic{Name: spec.Name, URL: "nats://127.0.0.1:4222?stream=" + spec.Name + "&subject=topic." + spec.Name}, nil
}

func (f *fakeCloud) GetTopic(_ context.Context, name string) (localcloud.Topic, error) {
	if err := f.lock(); err != nil {
		return localcloud.Topic{}, err
	}
	defer f.mu.Unlock()
	if _, ok := f.topics[name]; !ok {
		return localcloud.Topic{}, notFoundErr("topic", name)
	}
	return localcloud.Topic{Name: name, URL: "nats://127.0.0.1:4222?stream=" + name + "&subject=topic." + name}, nil
}

func (f *fakeCloud) DeleteTopic(_ context.Context, name string) error {
	if err := f.lock(); err != nil {
		return err
	}
	defer f.mu.Unlock()
	delete(f.topics, name)
	return nil
}

func (f *fakeCloud) PutSubscription(_ context.Context, spec localcloud.SubscriptionSpec) (localcloud.Subscription, error) {
	if err := f.lock(); err != nil {
		return localcloud.Subscription{}, err
	}
	defer f.mu.Unlock()
	if _, ok := f.topics[spec.Topic]; !ok {
		return localcloud.Subscription{}, badRequest("topic", fmt.Sprintf("topic %q does not exist", spec.Topic))
	}
	if _, ok := f.queues[spec.Queue]; !ok {
		return localcloud.Subscription{}, badRequest("queue", fmt.Sprintf("queue %q does not exist", spec.Queue))
	}
	f.subscriptions[spec.Name] = spec
	f.puts = append(f.puts, "subscription/"+spec.Name)
	return spec, nil
}

func (f *fakeCloud) GetSubscription(_ context.Context, name string) (localcloud.Subscription, error) {
	if err := f.lock(); err != nil {
		return localcloud.Subscription{}, err
	}
	defer f.mu.Unlock()
	s, ok := f.subscriptions[name]
	if !ok {
		return localcloud.Subscription{}, notFoundErr("subscription", name)
	}
	return s, nil
}

func (f *fakeCloud) DeleteSubscription(_ context.Context, name string) error {
	if err := f.lock(); err != nil {
		return err
	}
	defer f.mu.Unlock()
	delete(f.subscriptions, name)
	return nil
}

func (f *fakeCloud) PutProcess(_ context.Context, spec localcloud.ProcessSpec) (localcloud.Process, error) {
	if err := f.lock(); err != nil {
		return localcloud.Process{}, err
	}
	defer f.mu.Unlock()
	if strings.TrimSpace(spec.Image) == "" {
		return localcloud.Process{}, badRequest("image", "must not be empty")
	}
	spec.Env = maps.Clone(spec.Env)
	spec.Command = slices.Clone(spec.Command)
	f.processes[spec.Name] = spec
	f.running[spec.Name] = true
	if spec.Web && f.ports[spec.Name] == 0 {
		f.ports[spec.Name] = 18000 + len(f.ports)
	}
	f.puts = append(f.puts, "process/"+spec.Name)
	return f.process(spec.Name), nil
}

func (f *fakeCloud) process(name string) localcloud.Process {
	p := localcloud.Process{Name: name, Running: f.running[name], LogPath: "/data/logs/" + name + ".log"}
	if f.processes[name].Web {
		p.Port = f.ports[name]
		p.URL = fmt.Sprintf("http://127.0.0.1:%d", p.Port)
	}
	return p
}

func (f *fakeCloud) GetProcess(_ context.Context, name string) (localcloud.Process, error) {
	if err := f.lock(); err != nil {
		return localcloud.Process{}, err
	}
	defer f.mu.Unlock()
	if _, ok := f.processes[name]; !ok {
		return localcloud.Process{}, notFoundErr("process", name)
	}
	return f.process(name), nil
}

func (f *fakeCloud) DeleteProcess(_ context.Context, name string) error {
	if err := f.lock(); err != nil {
		return err
	}
	defer f.mu.Unlock()
	delete(f.processes, name)
	delete(f.running, name)
	return nil
}
