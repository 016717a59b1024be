package localcloud

import (
	"context"
	"errors"
)

// The API is JSON over HTTP on the unix socket SocketPath(dataDir):
//
//	GET    /v1/status
//	PUT    /v1/databases/{name}       DatabaseSpec  -> Database
//	GET    /v1/databases/{name}                     -> Database (404 when absent)
//	DELETE /v1/databases/{name}                     (idempotent: 204 when absent)
//	PUT    /v1/queues/{name}          QueueSpec     -> Queue
//	GET    /v1/queues/{name}                        -> Queue
//	DELETE /v1/queues/{name}
//	PUT    /v1/topics/{name}          TopicSpec     -> Topic
//	GET    /v1/topics/{name}                        -> Topic
//	DELETE /v1/topics/{name}
//	PUT    /v1/subscriptions/{name}   SubscriptionSpec -> Subscription
//	GET    /v1/subscriptions/{name}                 -> Subscription
//	DELETE /v1/subscriptions/{name}
//	PUT    /v1/processes/{name}       ProcessSpec   -> Process
//	GET    /v1/processes/{name}                     -> Process
//	DELETE /v1/processes/{name}
//
// PUT creates or converges to the spec (idempotent). Errors are
// {"error": "..."} with 400 for a bad spec, 404 for an absent resource,
// 409 for a conflict (a port taken), 500 otherwise. Names are the caller's
// physical names: lowercase letters, digits, '-' and '_', at most 63 bytes.

// ErrNotFound is returned by Client getters when the resource is absent:
// for a Pulumi Read, that is drift (the resource was removed behind the engine's back).
var ErrNotFound = errors.New("not found")

// Status describes the running runtime.
type Status struct {
	DataDir  string `json:"dataDir"`
	PID      int    `json:"pid"`
	Postgres struct {
		Port    int  `json:"port"`
		Running bool `json:"running"`
	} `json:"postgres"`
	NATS struct {
		URL     string `json:"url"`
		Running bool   `json:"running"`
	} `json:"nats"`
	Processes []Process `json:"processes"`
	// Warnings are what the runtime had to change when it started, such as
	// a saved port another program had taken in the meantime.
	Warnings []string `json:"warnings,omitempty"`
}

// DatabaseSpec is a tenant database: a PostgreSQL database and a login role
// of the same name that owns it. Only that role may connect to it
// (CONNECT is revoked from PUBLIC).
type DatabaseSpec struct {
	Name     string `json:"name"`
	Password string `json:"password"` // set on the role; never returned, never logged
}

// Database is a tenant database as it exists.
type Database struct {
	Name string `json:"name"`
	User string `json:"user"`
	Host string `json:"host"` // 127.0.0.1
	Port int    `json:"port"`
}

// QueueSpec is a durable work queue: a JetStream stream with work-queue
// retention on subject "queue.<name>", one durable pull consumer "worker"
// (MaxDeliver, AckWait), and a dead-letter stream (subject
// "queue.<name>.dlq") into which the runtime moves a message once it has
// been delivered MaxDeliver times without an ack.
type QueueSpec struct {
	Name             string `json:"name"`
	MaxDeliver       int    `json:"maxDeliver"`
	AckWaitSeconds   int    `json:"ackWaitSeconds"`
	RetentionSeconds int    `json:"retentionSeconds"`
}

// Queue is a queue as it exists. URL and DeadLetterURL are what apps get as
// QUEUE_URL and DEAD_LETTER_QUEUE_URL:
//
//	nats://127.0.0.1:<port>?stream=<stream>&subject=<subject>&consumer=<durable>
type Queue struct {
	Name          string `json:"name"`
	URL           string `json:"url"`
	DeadLetterURL string `json:"deadLetterUrl"`
	// Topics feeding this queue through subscriptions.
	Topics []string `json:"topics,omitempty"`
}

// TopicSpec is a fanout topic: a JetStream stream on subject "topic.<name>".
type TopicSpec struct {
	Name string `json:"name"`
}

// Topic is a topic as it exists. URL is nats://127.0.0.1:<port>?stream=<stream>&subject=<subject>.
type Topic struct {
	Name string `json:"name"`
	URL  string `json:"url"`
}

// SubscriptionSpec delivers every message published to Topic into Queue,
// exactly once per subscription (the queue stream sources the topic stream).
type SubscriptionSpec struct {
	Name  string `json:"name"`
	Topic string `json:"topic"`
	Queue string `json:"queue"`
}

// Subscription is a subscription as it exists.
type Subscription = SubscriptionSpec

// ProcessSpec is a supervised local process: a web app or a worker.
// Image is a container image reference; it maps to the directory
// <imagesDir>/<last path segment of the repository>/<tag> (tag "latest" when
// absent), whose executable "entrypoint" runs unless Command is set, in which
// case Command[0] is resolved inside that directory (an absolute path like
// /app/worker means <image dir>/app/worker) and Command[1:] are its arguments.
type ProcessSpec struct {
	Name    string            `json:"name"`
	Image   string            `json:"image"`
	Command []string          `json:"command,omitempty"`
	Env     map[string]string `json:"env,omitempty"` // secrets included: never returned, never logged
	// Web processes get a free loopback port, passed as PORT, kept across
	// restarts while it stays free.
	Web bool `json:"web"`
}

// Process is a supervised process as it exists.
type Process struct {
	Name     string `json:"name"`
	Running  bool   `json:"running"`
	PID      int    `json:"pid,omitempty"`
	Port     int    `json:"port,omitempty"`
	URL      string `json:"url,omitempty"` // http://127.0.0.1:<port> for web processes
	Restarts int    `json:"restarts"`
	LogPath  string `json:"logPath"`
}

// API is what the runtime serves and Client calls.
type API interface {
	Status(ctx context.Context) (Status, error)

	PutDatabase(ctx context.Context, spec DatabaseSpec) (Database, error)
	GetDatabase(ctx context.Context, name string) (Database, error)
	DeleteDatabase(ctx context.Context, name string) error

	PutQueue(ctx context.Context, spec QueueSpec) (Queue, error)
	GetQueue(ctx context.Context, name string) (Queue, error)
	DeleteQueue(ctx context.Context, name string) error

	PutTopic(ctx context.Context, spec TopicSpec) (Topic, error)
	GetTopic(ctx context.Context, name string) (Topic, error)
	DeleteTopic(ctx context.Context, name string) error

	PutSubscription(ctx context.Context, spec SubscriptionSpec) (Subscription, error)
	GetSubscription(ctx context.Context, name string) (Subscription, error)
	DeleteSubscription(ctx context.Context, name string) error

	PutProcess(ctx context.Context, spec ProcessSpec) (Process, error)
	GetProcess(ctx context.Context, name string) (Process, error)
	DeleteProcess(ctx context.Context, name string) error
}
