package queue

// DigitalOcean's managed Kafka, for tenant units on DigitalOcean
// (providers/digitalocean), with franz-go's kgo.
//
// QUEUE_URL is
// kafka://<user>@<host>:<port>/<topic>?group=<group>&maxReceiveCount=<n>&visibilityTimeout=<s>s
// and DEAD_LETTER_QUEUE_URL kafka://<user>@<host>:<port>/<dead-letter topic>
// (the same user on the same cluster). QUEUE_PASSWORD is the user's
// SASL/SCRAM-SHA-256 password and QUEUE_CA_CERT the PEM certificate of the
// cluster's CA, which signs the brokers' certificates; TLS is on unless the
// URL says tls=false. The fanout output publisher.url is
// kafka://<publisher>@<host>:<port>/<topic>, opened with TopicConfig's
// Password and CACert (the publisher's). ParseKafkaURL (kafka_url.go) is the
// one parser of these URLs; the forwarder (internal/forward) uses it too.
//
// # A work queue on a log
//
// Kafka counts no deliveries and hides no message: a topic read by a
// consumer group is a log with one committed offset per partition. The
// receiver keeps the rest itself, per partition it owns, for the records it
// has polled:
//
//   - Receive polls the group's records (up to limit) and returns each as a
//     Message: ID <topic>/<partition>/<offset> (of the message's first
//     record: a redelivery keeps it, as SQS keeps a MessageId), Subject the
//     topic, Attributes the record's headers but the client's bookkeeping
//     ones, Deliveries 1 + the failed deliveries counted in the header
//     tenantfleet-deliveries.
//   - Ack marks the record done. The committed offset of a partition is its
//     first record not done: acks may come in any order, and whatever was
//     not finished is delivered again after a crash. Commits happen every
//     few seconds, before a partition is revoked, and on Close.
//   - Close first hands back every message neither acked nor nacked: a copy
//     to the end of the queue, its delivery not counted (a shutdown is not
//     the message's failure), a held record's not-before time kept. Then the
//     commit gets past every record polled, and the receiver leaves the
//     group: a consumer started afterwards gets exactly the messages not
//     acked, none twice.
//   - Nack produces a copy of the record (body, key, headers) and, once the
//     broker acknowledged it, marks the original done. The copy goes to the
//     same topic with tenantfleet-deliveries incremented and, for a delay, a
//     not-before time (tenantfleet-not-before), or, when the message has had
//     maxReceiveCount deliveries, to the dead-letter topic with the headers
//     tenantfleet-dead-letter-from (<topic>/<partition>/<offset>) and
//     tenantfleet-dead-letter-reason. A record whose not-before time is in
//     the future is held (not returned, not committed past) until it is due.
//   - A delivery neither acked nor nacked within visibilityTimeout counts as
//     failed: the next Receive nacks it (no delay), and a late Ack or Nack
//     of it is an error saying so.
//   - On a rebalance, the revoked partitions' done records are committed
//     (after waiting a little for Nacks in flight) and their state dropped;
//     an Ack or Nack of their messages is then an error: the new owner gets
//     them again. Rebalances are held only while polled records are taken
//     in (kgo.BlockRebalanceOnPoll, released at once), never while messages
//     are processed.
//
// Delivery is at least once, as on SQS. A message is delivered again, done
// or not, when its partition's commit did not get past it: after a crash or
// a lost partition (everything since the last commit), after a rebalance
// (the acked records behind a revoked partition's first unsettled one), and
// when a Nack's copy was produced but the consumer stopped before the
// original's commit (the copy and the original both come back). A crash also loses the count
// of a delivery in progress. Held records cost the same: a Nack with a long
// delay keeps its partition's commit behind it until it is due, so a crash
// meanwhile delivers the records after it again too.
//
// No transactions. A transaction (GroupTransactSession, read_committed)
// makes "produce the copy, commit the offset" atomic only when the offset
// committed is the nacked record's own; here the committed offset is the
// first record not done, so the transaction would have to stay open until
// every earlier record is settled, holding every later Nack with it.
// DigitalOcean also documents no ACL for transactional ids: its users get
// consume, produce or produceconsume on topics, and a transactional
// producer needs WRITE on its transactional id. At-least-once with the
// duplicates above is what SQS and the forwarder give too.
//
// Unlike SQS: only the consumer owning a partition sees its messages, so
// a message whose consumer stops calling Receive is handed back only when it
// calls again, closes or leaves the group; a Nack puts the message at the
// end of the queue; at most as many consumers share a queue as it has
// partitions (3); the web app and the worker share the queue's user.
//
// Tested against franz-go's kfake with SASL/SCRAM-SHA-256 and TLS, and as
// users holding only topic and group ACLs (kafka_test.go). kfake closes the
// connection on a wrong password where Kafka answers
// SASL_AUTHENTICATION_FAILED; the test answers as Kafka would. Unverified on
// a real DigitalOcean cluster: whether produceconsume lets its user join and
// commit in a consumer group named as the topic (the tests grant READ on
// the group), whether it lets the user start an idempotent producer (kfake,
// as Kafka 3, allows it with WRITE on any topic), and rebalances among
// consumers on separate machines.

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Headers this client keeps on records. Receive hides the first three from
// Message.Attributes, and Send refuses all five as attribute names.
const (
	// KafkaHeaderDeliveries counts a message's failed deliveries so far.
	KafkaHeaderDeliveries = "tenantfleet-deliveries"
	// KafkaHeaderNotBefore is when a nacked message's copy is due
	// (RFC 3339, UTC).
	KafkaHeaderNotBefore = "tenantfleet-not-before"
	// KafkaHeaderMessageID is the message's ID, carried by its copies.
	KafkaHeaderMessageID = "tenantfleet-message-id"
	// KafkaHeaderDeadLetterFrom is the <topic>/<partition>/<offset> of the
	// record a dead-letter record was copied from.
	KafkaHeaderDeadLetterFrom = "tenantfleet-dead-letter-from"
	// KafkaHeaderDeadLetterReason says why a record was dead-lettered.
	KafkaHeaderDeadLetterReason = "tenantfleet-dead-letter-reason"
)

// Timings of the receiver.
const (
	// kafkaCommitInterval is how often acked records are committed.
	kafkaCommitInterval = 5 * time.Second
	// kafkaCommitTimeout bounds one commit (and leaving the group).
	kafkaCommitTimeout = 10 * time.Second
	// kafkaSettleWait is how long a rebalance or Close waits for Nacks in
	// flight before committing without them.
	kafkaSettleWait = 10 * time.Second
	// kafkaMinPoll is the shortest poll Receive makes while waiting for a
	// held record or a visibility timeout.
	kafkaMinPoll = 20 * time.Millisecond
	// kafkaExpireRetry is how long Receive waits before it tries again to
	// hand back timed-out messages whose copy could not be produced (a
	// dead-letter topic refusing writes, say); meanwhile it goes on
	// receiving. Each try is bounded by kafkaCommitTimeout.
	kafkaExpireRetry = 5 * time.Second
)

// kafkaHooks are the test hooks of this driver.
type kafkaHooks struct {
	// now replaces time.Now for not-before times and visibility timeouts.
	now func() time.Time
	// commitInterval replaces kafkaCommitInterval.
	commitInterval time.Duration
	// opts are added to the receiver's client options (group timings).
	opts []kgo.Opt
}

func openKafkaReceiver(ctx context.Context, c Config) (Receiver, error) {
	side, dlq, err := kafkaReceiverConfig(c)
	if err != nil {
		return nil, err
	}
	roots, _ := kafkaRoots(EnvQueueCACert, c.CACert) // checked above
	r := &kafkaReceiver{
		side:        side,
		dlq:         dlq,
		maxReceive:  side.ep.MaxReceiveCount,
		visibility:  side.ep.VisibilityTimeout,
		now:         time.Now,
		log:         c.Logger,
		commitEvery: cmp.Or(c.hooks.kafka.commitInterval, kafkaCommitInterval),
		parts:       map[int32]*kafkaPartition{},
		loopDone:    make(chan struct{}),
	}
	if c.hooks.kafka.now != nil {
		r.now = c.hooks.kafka.now
	}
	opts := append(kafkaClientOpts(side, c.Password, roots, c.Name, c.Logger),
		kgo.ConsumerGroup(side.ep.Group),
		kgo.ConsumeTopics(side.ep.Topic),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		// A new group reads the queue from its oldest record, as a new
		// SQS consumer gets what was sent before it ran; so does a group
		// whose committed offset retention deleted.
		kgo.ConsumeStartOffset(kgo.NewOffset().AtStart()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.OnPartitionsAssigned(r.assigned),
		kgo.OnPartitionsRevoked(r.revoked),
		kgo.OnPartitionsLost(r.lost),
	)
	opts = append(opts, c.hooks.kafka.opts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", EnvQueueURL, err)
	}
	if err := kafkaPing(ctx, side, cl, c.Logger); err != nil {
		cl.Close()
		return nil, err
	}
	r.cl = cl
	r.ctx, r.cancel = context.WithCancel(context.Background())
	go r.commitLoop()
	return r, nil
}

// kafkaReceiverConfig checks what the receiver reads: QUEUE_URL with its
// group, maxReceiveCount and visibilityTimeout, DEAD_LETTER_QUEUE_URL on the
// same cluster for the same user, QUEUE_PASSWORD and QUEUE_CA_CERT. It
// reports every problem, each naming its variable.
func kafkaReceiverConfig(c Config) (kafkaSide, string, error) {
	var errs []error
	side, err := parseKafkaSide(kafkaQueueSide(), c.URL)
	if err != nil {
		errs = append(errs, err)
	} else {
		ep := side.ep
		if ep.Group == "" {
			errs = append(errs, fmt.Errorf("%s: no consumer group: want ?group=<group>", EnvQueueURL))
		}
		if ep.MaxReceiveCount == 0 {
			errs = append(errs, fmt.Errorf("%s: no maxReceiveCount: the client dead-letters a message after that many deliveries (want &maxReceiveCount=<n>)", EnvQueueURL))
		}
		if ep.VisibilityTimeout == 0 {
			errs = append(errs, fmt.Errorf("%s: no visibilityTimeout: the client hands a message back when it is not settled within it (want &visibilityTimeout=<s>s)", EnvQueueURL))
		}
		if ep.Start != "" {
			errs = append(errs, fmt.Errorf("%s: query parameter \"start\" is the forwarder's: a work queue's group reads from the oldest record", EnvQueueURL))
		}
	}
	var dlq string
	dside, err := parseKafkaSide(kafkaSide{urlVar: EnvDeadLetterURL, passwordVar: EnvQueuePassword, caVar: EnvQueueCACert}, c.DeadLetterURL)
	switch {
	case strings.TrimSpace(c.DeadLetterURL) == "":
		errs = append(errs, fmt.Errorf("%s: required: the client moves a message there after maxReceiveCount deliveries", EnvDeadLetterURL))
	case err != nil:
		errs = append(errs, err)
	default:
		d := dside.ep
		if d.Group != "" || d.Start != "" || d.MaxReceiveCount != 0 || d.VisibilityTimeout != 0 {
			errs = append(errs, fmt.Errorf("%s: query parameters group, start, maxReceiveCount and visibilityTimeout belong in %s", EnvDeadLetterURL, EnvQueueURL))
		}
		if side.ep.Topic != "" {
			q := side.ep
			if d.User != q.User || d.Broker != q.Broker || d.Mechanism != q.Mechanism || d.TLS != q.TLS {
				errs = append(errs, fmt.Errorf("%s: user %q at %s differs from %s's user %q at %s: both are reached with %s on one cluster",
					EnvDeadLetterURL, d.User, d.Broker, EnvQueueURL, q.User, q.Broker, EnvQueuePassword))
			}
			if d.Topic == q.Topic {
				errs = append(errs, fmt.Errorf("%s: topic %q is the queue's own", EnvDeadLetterURL, d.Topic))
			}
		}
		dlq = d.Topic
	}
	errs = append(errs, kafkaSecrets(side, c.Password, c.CACert)...)
	return side, dlq, errors.Join(errs...)
}

func kafkaQueueSide() kafkaSide {
	return kafkaSide{urlVar: EnvQueueURL, passwordVar: EnvQueuePassword, caVar: EnvQueueCACert}
}

// kafkaSecrets checks the password and the CA certificate of side.
func kafkaSecrets(side kafkaSide, password, caCert string) []error {
	var errs []error
	if password == "" {
		who := "the user in " + side.urlVar
		if side.ep.User != "" {
			who = fmt.Sprintf("user %q in %s", side.ep.User, side.urlVar)
		}
		errs = append(errs, fmt.Errorf("%s: required: the SASL password of %s", side.passwordVar, who))
	}
	if _, err := kafkaRoots(side.caVar, caCert); err != nil {
		errs = append(errs, err)
	}
	return errs
}

func openKafkaSender(ctx context.Context, c Config) (Sender, error) {
	// The web app gets the worker's QUEUE_URL: its consumer parameters
	// are of no concern to a sender.
	side, err := parseKafkaSide(kafkaQueueSide(), c.URL)
	errs := []error{err}
	errs = append(errs, kafkaSecrets(side, c.Password, c.CACert)...)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return newKafkaSender(ctx, side, c.Password, c.CACert, c.Name, c.Logger)
}

func openKafkaTopic(ctx context.Context, t TopicConfig) (Sender, error) {
	side := kafkaSide{urlVar: "topic", passwordVar: "TopicConfig.Password", caVar: "TopicConfig.CACert"}
	side, err := parseKafkaSide(side, t.Topic)
	errs := []error{err}
	if err == nil {
		ep := side.ep
		if ep.Group != "" || ep.Start != "" || ep.MaxReceiveCount != 0 || ep.VisibilityTimeout != 0 {
			errs = append(errs, errors.New("topic: query parameters group, start, maxReceiveCount and visibilityTimeout are a consumer's: the fanout's topicUrl names none"))
		}
	}
	if t.Password == "" {
		who := "the fanout's publisher user"
		if side.ep.User != "" {
			who = fmt.Sprintf("the fanout's publisher user %q", side.ep.User)
		}
		errs = append(errs, fmt.Errorf("topic: no password: DigitalOcean's Kafka needs the SASL/SCRAM password of %s (TopicConfig.Password)", who))
	}
	if _, err := kafkaRoots(side.caVar, t.CACert); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return newKafkaSender(ctx, side, t.Password, t.CACert, t.Name, t.Logger)
}

var (
	_ Receiver = (*kafkaReceiver)(nil)
	_ Sender   = (*kafkaSender)(nil)
)
