package queue

// Azure Service Bus, for tenant units on Azure (providers/azure).
//
// QUEUE_URL is https://<namespace>.servicebus.windows.net/<queue> and
// DEAD_LETTER_QUEUE_URL that plus /$DeadLetterQueue. The fanout's topicId is
// the topic's Azure resource id,
// /subscriptions/<s>/resourceGroups/<g>/providers/Microsoft.ServiceBus/namespaces/<namespace>/topics/<topic>,
// whose namespace is <namespace>.servicebus.windows.net.
//
// The client is Microsoft's azservicebus over AMQP, signed in with
// azidentity's DefaultAzureCredential: on Container Apps the app's
// user-assigned identity (the adapter sets AZURE_CLIENT_ID), elsewhere the
// environment's service principal or `az login`. The namespace has SAS keys
// disabled, so there is no connection string to give.
//
//   - Receive is a peek-lock receive: a message is locked for the queue's lock
//     duration (the spec's visibilityTimeoutSeconds, at most 5 minutes) and
//     Message.Deliveries is Service Bus's DeliveryCount.
//   - Ack completes the message.
//   - Nack abandons it: Service Bus counts the delivery and, once the count
//     reaches the queue's maxDeliveryCount (the spec's maxReceiveCount),
//     moves it to $DeadLetterQueue itself. Service Bus cannot abandon with a
//     delay, so a Nack with a delay abandons when the delay has passed, or,
//     when the delay outlasts the lock, lets the lock expire, which makes the
//     message visible again at the lock's end and counts the delivery too.
//   - Send (the web app into its queue, publish into the fanout topic) sends
//     one message with Attributes as application properties.
//
// Tested here only with an interface double: Service Bus has no emulator
// that runs on this machine (Microsoft's emulator is a Docker image with SQL
// Edge). What a real namespace would show first: the lock-expiry path of a
// long delayed Nack, and the identity's sign-in.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
)

// serviceBusSuffix is the public cloud's namespace domain; the adapter
// deploys there only.
const serviceBusSuffix = ".servicebus.windows.net"

// serviceBusScope is the OAuth scope of every Service Bus namespace.
const serviceBusScope = "https://servicebus.azure.net/.default"

// Service Bus Standard's limits (learn.microsoft.com/azure/service-bus-messaging/service-bus-quotas):
// a message of at most 256 KB, its header (application properties
// included) at most 64 KB.
const (
	serviceBusMaxMessage = 256 * 1024
	serviceBusMaxHeader  = 64 * 1024
)

// sbReceiver and sbSender are the parts of azservicebus's Receiver and
// Sender this driver uses, so tests can put a double in their place.
type sbReceiver interface {
	ReceiveMessages(ctx context.Context, maxMessages int, options *azservicebus.ReceiveMessagesOptions) ([]*azservicebus.ReceivedMessage, error)
	CompleteMessage(ctx context.Context, message *azservicebus.ReceivedMessage, options *azservicebus.CompleteMessageOptions) error
	AbandonMessage(ctx context.Context, message *azservicebus.ReceivedMessage, options *azservicebus.AbandonMessageOptions) error
	Close(ctx context.Context) error
}

type sbSender interface {
	SendMessage(ctx context.Context, message *azservicebus.Message, options *azservicebus.SendMessageOptions) error
	Close(ctx context.Context) error
}

// azureHooks replace the Service Bus connection in tests.
type azureHooks struct {
	receiver func(namespace, queue string) (sbReceiver, error)
	sender   func(namespace, entity string) (sbSender, error)
	// credential replaces DefaultAzureCredential (the publish check).
	credential func() (azcore.TokenCredential, error)
	// afterFunc replaces time.AfterFunc (delayed Nack).
	afterFunc func(d time.Duration, f func()) func() bool
	now       func() time.Time
}

// serviceBusEntity is a parsed QUEUE_URL: the namespace's host name and the
// queue.
type serviceBusEntity struct {
	Namespace string // <namespace>.servicebus.windows.net
	Name      string
}

// parseServiceBusQueueURL parses https://<namespace>.servicebus.windows.net/<queue>.
func parseServiceBusQueueURL(what, raw string) (serviceBusEntity, error) {
	bad := func(why string) (serviceBusEntity, error) {
		return serviceBusEntity{}, fmt.Errorf("%s: %s (want https://<namespace>%s/<queue>)", what, why, serviceBusSuffix)
	}
	if strings.TrimSpace(raw) == "" {
		return bad("empty")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return bad("not a URL")
	}
	if u.Scheme != "https" {
		return bad(fmt.Sprintf("scheme %q is not https", u.Scheme))
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return bad("user info, a query or a fragment is not part of a queue URL")
	}
	ns, ok := strings.CutSuffix(strings.ToLower(u.Host), serviceBusSuffix)
	if !ok || u.Port() != "" {
		return bad(fmt.Sprintf("host %q is not a Service Bus namespace", u.Host))
	}
	if err := checkServiceBusNamespace(ns); err != nil {
		return bad(err.Error())
	}
	name := strings.TrimPrefix(u.Path, "/")
	if strings.EqualFold(name, "$DeadLetterQueue") || strings.HasSuffix(strings.ToLower(name), "/$deadletterqueue") {
		return bad("this is a dead-letter queue; QUEUE_URL names the queue itself")
	}
	if err := checkServiceBusEntity(name); err != nil {
		return bad(err.Error())
	}
	return serviceBusEntity{Namespace: ns + serviceBusSuffix, Name: name}, nil
}

// parseServiceBusTopicID parses a topic's Azure resource id.
func parseServiceBusTopicID(raw string) (serviceBusEntity, error) {
	const want = "/subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.ServiceBus/namespaces/<namespace>/topics/<topic>"
	parts := strings.Split(strings.Trim(raw, "/"), "/")
	if len(parts) != 10 || !strings.EqualFold(parts[0], "subscriptions") || !strings.EqualFold(parts[2], "resourceGroups") ||
		!strings.EqualFold(parts[4], "providers") || !strings.EqualFold(parts[5], "Microsoft.ServiceBus") ||
		!strings.EqualFold(parts[6], "namespaces") || !strings.EqualFold(parts[8], "topics") {
		return serviceBusEntity{}, fmt.Errorf("topic %q: not a Service Bus topic's resource id (want %s)", raw, want)
	}
	ns := strings.ToLower(parts[7])
	if err := checkServiceBusNamespace(ns); err != nil {
		return serviceBusEntity{}, fmt.Errorf("topic %q: %w", raw, err)
	}
	if err := checkServiceBusEntity(parts[9]); err != nil {
		return serviceBusEntity{}, fmt.Errorf("topic %q: %w", raw, err)
	}
	return serviceBusEntity{Namespace: ns + serviceBusSuffix, Name: parts[9]}, nil
}

// checkServiceBusNamespace applies the namespace name rule: 6-50 letters,
// digits and hyphens, starting with a letter, not ending with a hyphen
// (the rule providers/azure/rules.go cites).
func checkServiceBusNamespace(ns string) error {
	if len(ns) < 6 || len(ns) > 50 {
		return fmt.Errorf("namespace %q: want 6 to 50 characters", ns)
	}
	for i, r := range ns {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' || i == 0 && (r < 'a' || r > 'z') {
			return fmt.Errorf("namespace %q: want letters, digits and hyphens, starting with a letter", ns)
		}
	}
	if strings.HasSuffix(ns, "-") {
		return fmt.Errorf("namespace %q: may not end with a hyphen", ns)
	}
	return nil
}

// checkServiceBusEntity applies the queue and topic name rule: 1-260
// letters, digits, '.', '-', '_' and '/', starting and ending with a letter
// or digit.
func checkServiceBusEntity(name string) error {
	if name == "" {
		return errors.New("no queue or topic name")
	}
	if len(name) > 260 {
		return fmt.Errorf("name of %d characters: Service Bus allows 260", len(name))
	}
	alnum := func(r byte) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' }
	for i := range len(name) {
		if c := name[i]; !alnum(c) && c != '.' && c != '-' && c != '_' && c != '/' {
			return fmt.Errorf("name %q: want letters, digits, '.', '-', '_' and '/'", name)
		}
	}
	if !alnum(name[0]) || !alnum(name[len(name)-1]) {
		return fmt.Errorf("name %q: must start and end with a letter or digit", name)
	}
	return nil
}

// serviceBusClient signs in with DefaultAzureCredential.
func serviceBusClient(namespace string) (*azservicebus.Client, error) {
	cred, err := azidentity.NewDefaultAzureCredential(nil)
	if err != nil {
		return nil, fmt.Errorf("azure credentials: %w", err)
	}
	return azservicebus.NewClient(namespace, cred, nil)
}

type serviceBusQueue struct {
	entity    serviceBusEntity
	receiver  sbReceiver
	sender    sbSender
	log       *slog.Logger
	afterFunc func(d time.Duration, f func()) func() bool
	now       func() time.Time

	mu      sync.Mutex
	pending map[*azservicebus.ReceivedMessage]func() bool // delayed abandons, to stop on Close
}

func newServiceBusQueue(e serviceBusEntity, h azureHooks) *serviceBusQueue {
	q := &serviceBusQueue{entity: e, afterFunc: h.afterFunc, now: h.now, pending: map[*azservicebus.ReceivedMessage]func() bool{}}
	if q.afterFunc == nil {
		q.afterFunc = func(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }
	}
	if q.now == nil {
		q.now = time.Now
	}
	return q
}

func openServiceBusReceiver(_ context.Context, c Config) (Receiver, error) {
	e, err := parseServiceBusQueueURL(EnvQueueURL, c.URL)
	if err != nil {
		return nil, err
	}
	q := newServiceBusQueue(e, c.hooks.azure)
	q.log = c.Logger
	if f := c.hooks.azure.receiver; f != nil {
		q.receiver, err = f(e.Namespace, e.Name)
	} else {
		var client *azservicebus.Client
		if client, err = serviceBusClient(e.Namespace); err == nil {
			q.receiver, err = client.NewReceiverForQueue(e.Name, &azservicebus.ReceiverOptions{ReceiveMode: azservicebus.ReceiveModePeekLock})
		}
	}
	if err != nil {
		return nil, fmt.Errorf("service bus queue %s/%s: %w", e.Namespace, e.Name, err)
	}
	return q, nil
}

func openServiceBusSender(_ context.Context, c Config) (Sender, error) {
	e, err := parseServiceBusQueueURL(EnvQueueURL, c.URL)
	if err != nil {
		return nil, err
	}
	return newServiceBusSender(e, c.hooks.azure, c.Logger)
}

func openServiceBusTopic(ctx context.Context, t TopicConfig) (Sender, error) {
	e, err := parseServiceBusTopicID(t.Topic)
	if err != nil {
		return nil, err
	}
	if t.hooks.azure.sender == nil || t.hooks.azure.credential != nil {
		// Fail fast, naming what to do, rather than on the first send.
		if err := checkAzureCredential(ctx, t.hooks.azure.credential); err != nil {
			return nil, err
		}
	}
	return newServiceBusSender(e, t.hooks.azure, t.Logger)
}

// checkAzureCredential gets a Service Bus token, so a missing sign-in is
// reported before anything is sent.
func checkAzureCredential(ctx context.Context, newCred func() (azcore.TokenCredential, error)) error {
	if newCred == nil {
		newCred = func() (azcore.TokenCredential, error) { return azidentity.NewDefaultAzureCredential(nil) }
	}
	const how = "sign in with `az login`, or set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (or AZURE_FEDERATED_TOKEN_FILE), or run with a managed identity"
	cred, err := newCred()
	if err != nil {
		return fmt.Errorf("no Azure credentials: %s", how)
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if _, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{serviceBusScope}}); err != nil {
		return fmt.Errorf("no Azure credentials for Service Bus: %s", how)
	}
	return nil
}

func newServiceBusSender(e serviceBusEntity, h azureHooks, log *slog.Logger) (Sender, error) {
	q := newServiceBusQueue(e, h)
	q.log = log
	var err error
	if h.sender != nil {
		q.sender, err = h.sender(e.Namespace, e.Name)
	} else {
		var client *azservicebus.Client
		if client, err = serviceBusClient(e.Namespace); err == nil {
			q.sender, err = client.NewSender(e.Name, nil)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("service bus %s/%s: %w", e.Namespace, e.Name, err)
	}
	return q, nil
}

func (q *serviceBusQueue) Receive(ctx context.Context, limit int, wait time.Duration) ([]Message, error) {
	// ReceiveMessages waits for a first message over the AMQP link: give a
	// caller asking for what is there now (wait 0) a moment to get it.
	rctx, cancel := context.WithTimeout(ctx, max(wait, time.Second))
	defer cancel()
	msgs, err := q.receiver.ReceiveMessages(rctx, max(limit, 1), nil)
	if err != nil {
		if rctx.Err() != nil && len(msgs) == 0 {
			return nil, nil // nothing within wait, or the caller is done
		}
		if len(msgs) == 0 {
			return nil, fmt.Errorf("receive from %s: %w", q.entity.Name, err)
		}
	}
	out := make([]Message, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, serviceBusMessage(q.entity.Name, m))
	}
	return out, nil
}

func serviceBusMessage(queue string, m *azservicebus.ReceivedMessage) Message {
	attrs := make(map[string]string, len(m.ApplicationProperties))
	for k, v := range m.ApplicationProperties {
		attrs[k] = fmt.Sprint(v)
	}
	return Message{ID: m.MessageID, Subject: queue, Body: m.Body, Attributes: attrs, Deliveries: int(m.DeliveryCount), handle: m}
}

func sbMsg(m Message) (*azservicebus.ReceivedMessage, error) {
	rm, ok := m.handle.(*azservicebus.ReceivedMessage)
	if !ok || rm == nil {
		return nil, errors.New("message was not received from this queue")
	}
	return rm, nil
}

func (q *serviceBusQueue) Ack(ctx context.Context, m Message) error {
	rm, err := sbMsg(m)
	if err != nil {
		return err
	}
	q.cancelPending(rm)
	return q.receiver.CompleteMessage(ctx, rm, nil)
}

func (q *serviceBusQueue) Nack(ctx context.Context, m Message, delay time.Duration) error {
	rm, err := sbMsg(m)
	if err != nil {
		return err
	}
	if delay <= 0 {
		q.cancelPending(rm)
		return q.receiver.AbandonMessage(ctx, rm, nil)
	}
	if rm.LockedUntil != nil && !q.now().Add(delay).Before(*rm.LockedUntil) {
		// The lock ends first: Service Bus redelivers then, counting the
		// delivery, as an abandon would.
		return nil
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.pending[rm] = q.afterFunc(delay, func() {
		q.mu.Lock()
		_, still := q.pending[rm]
		delete(q.pending, rm)
		q.mu.Unlock()
		if !still {
			return
		}
		actx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := q.receiver.AbandonMessage(actx, rm, nil); err != nil {
			q.log.Warn("delayed abandon failed; the message is redelivered when its lock expires", "id", rm.MessageID, "err", err)
		}
	})
	return nil
}

func (q *serviceBusQueue) cancelPending(rm *azservicebus.ReceivedMessage) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if stop, ok := q.pending[rm]; ok {
		stop()
		delete(q.pending, rm)
	}
}

func (q *serviceBusQueue) Send(ctx context.Context, m Outgoing) (string, error) {
	if m.ID != "" {
		return "", refuseID(CloudAzure)
	}
	props := make(map[string]any, len(m.Attributes))
	header := 0
	for k, v := range m.Attributes {
		if err := checkAttribute(k, v); err != nil {
			return "", err
		}
		props[k] = v
		header += len(k) + len(v)
	}
	if header > serviceBusMaxHeader {
		return "", fmt.Errorf("attributes of %d bytes: Service Bus allows %d bytes of properties", header, serviceBusMaxHeader)
	}
	if len(m.Body)+header > serviceBusMaxMessage {
		return "", fmt.Errorf("message of %d bytes: Service Bus Standard allows %d", len(m.Body)+header, serviceBusMaxMessage)
	}
	// Service Bus answers a send with no id: give the message one, which
	// the receiver sees as its MessageId.
	var b [16]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	if err := q.sender.SendMessage(ctx, &azservicebus.Message{MessageID: &id, Body: m.Body, ApplicationProperties: props}, nil); err != nil {
		return "", fmt.Errorf("send to %s: %w", q.entity.Name, err)
	}
	return id, nil
}

func (q *serviceBusQueue) Close() error {
	q.mu.Lock()
	for rm, stop := range q.pending {
		// Abandon now rather than drop the delay: the lock would otherwise
		// hold the message until it expires.
		stop()
		delete(q.pending, rm)
		if q.receiver != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_ = q.receiver.AbandonMessage(ctx, rm, nil)
			cancel()
		}
	}
	q.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var errs []error
	if q.receiver != nil {
		errs = append(errs, q.receiver.Close(ctx))
	}
	if q.sender != nil {
		errs = append(errs, q.sender.Close(ctx))
	}
	return errors.Join(errs...)
}
