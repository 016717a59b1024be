package forward

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// maxBatch bounds a polled batch, so a batch is produced and committed well
// within the group's rebalance timeout.
const maxBatch = 1000

// commitAttempts is how often a batch's commit is tried before giving up on
// it (its records are then delivered again, never lost).
const commitAttempts = 5

// Run forwards until ctx is cancelled, then finishes the in-flight batch
// (produce and commit, within cfg.ShutdownTimeout), leaves the group and
// returns nil. Transient failures are logged and retried; it returns a
// *ConfigError for failures that retrying cannot fix (credentials,
// permissions, certificates).
func Run(ctx context.Context, cfg Config, log *slog.Logger) error {
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = DefaultShutdownTimeout
	}
	if cfg.StatsInterval <= 0 {
		cfg.StatsInterval = DefaultStatsInterval
	}
	f := &forwarder{cfg: cfg, log: log}
	log.Info("forwarder started", "config", cfg)
	statsDone := make(chan struct{})
	go f.stats(statsDone)
	err := f.run(ctx)
	close(statsDone)
	log.Info("forwarder stopped", f.counters()...)
	return err
}

func (f *forwarder) run(ctx context.Context) error {
	cfg, log := f.cfg, f.log
	// Check the source side, and pin a new subscription to the topic's
	// end, before the group consumer exists: it would otherwise join and
	// pick its start offsets at once.
	admin, err := kgo.NewClient(clientOpts(cfg, cfg.From, log)...)
	if err != nil {
		return fmt.Errorf("%s: create a client: %w", EnvFrom, err)
	}
	err = f.ping(ctx, EnvFrom, cfg.From, admin)
	if err == nil && cfg.From.Start != StartEarliest {
		err = f.pinNewGroup(ctx, admin)
	}
	admin.Close()
	if err != nil || ctx.Err() != nil {
		return err
	}

	f.producer, err = kgo.NewClient(append(clientOpts(cfg, cfg.To, log),
		kgo.DefaultProduceTopic(cfg.To.Topic),
		kgo.RequiredAcks(kgo.AllISRAcks()), // the default, and required by idempotence
		kgo.ProducerLinger(0),
		// Surface a broker outage as an error now and then (logged, then
		// retried) rather than blocking silently.
		kgo.RecordDeliveryTimeout(time.Minute),
	)...)
	if err != nil {
		return fmt.Errorf("%s: create the producer: %w", EnvTo, err)
	}
	defer f.producer.Close()
	if err := f.ping(ctx, EnvTo, cfg.To, f.producer); err != nil || ctx.Err() != nil {
		return err
	}

	f.consumer, err = kgo.NewClient(append(clientOpts(cfg, cfg.From, log),
		kgo.ConsumerGroup(cfg.From.Group),
		kgo.ConsumeTopics(cfg.From.Topic),
		kgo.DisableAutoCommit(),
		// A rebalance waits until the polled batch is produced and
		// committed, so no commit lands on a partition owned elsewhere.
		kgo.BlockRebalanceOnPoll(),
		// A partition without a commit is read from its start: with
		// start=earliest that is every partition of a new group; with
		// start=latest only partitions added after the subscription
		// (pinNewGroup committed the others). A committed offset that
		// retention deleted also resumes at the oldest record left.
		kgo.ConsumeStartOffset(kgo.NewOffset().AtStart()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
	)...)
	if err != nil {
		return fmt.Errorf("%s: create the consumer: %w", EnvFrom, err)
	}
	defer func() {
		// Leave the group now, so its partitions move on at once, but do
		// not hang on an unreachable broker.
		lctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		f.consumer.AllowRebalance()
		if err := f.consumer.LeaveGroupContext(lctx); err != nil {
			log.Warn("leave the consumer group", "group", cfg.From.Group, "error", err.Error())
		}
		f.consumer.Close()
	}()

	// work outlives ctx by ShutdownTimeout: the batch in flight when ctx is
	// cancelled is still produced and committed.
	work, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	stopDrain := context.AfterFunc(ctx, func() {
		log.Info("forwarder stopping: finishing the batch in flight", "deadline", cfg.ShutdownTimeout.String())
		time.AfterFunc(cfg.ShutdownTimeout, stopWork)
	})
	defer stopDrain()
	return f.loop(ctx, work)
}

// clientOpts are the connection options for ep.
func clientOpts(cfg Config, ep Endpoint, log *slog.Logger) []kgo.Opt {
	opts := []kgo.Opt{
		kgo.SeedBrokers(ep.Broker),
		kgo.ClientID("tenantfleet-forwarder"),
		kgo.SASL(mechanism(ep, cfg.Password)),
		kgo.WithLogger(kgoLogger{log.With("topic", ep.Topic)}),
	}
	if ep.TLS {
		host, _, _ := net.SplitHostPort(ep.Broker)
		opts = append(opts, kgo.DialTLSConfig(&tls.Config{
			MinVersion: tls.VersionTLS12,
			RootCAs:    cfg.RootCAs,
			ServerName: host,
		}))
	}
	return opts
}

func mechanism(ep Endpoint, password string) sasl.Mechanism {
	switch ep.Mechanism {
	case MechanismPlain:
		return plain.Auth{User: ep.User, Pass: password}.AsMechanism()
	case MechanismScramSHA512:
		return scram.Auth{User: ep.User, Pass: password}.AsSha512Mechanism()
	default:
		return scram.Auth{User: ep.User, Pass: password}.AsSha256Mechanism()
	}
}

type forwarder struct {
	cfg      Config
	log      *slog.Logger
	consumer *kgo.Client
	producer *kgo.Client

	forwarded, filtered, errors atomic.Int64
}

func (f *forwarder) loop(ctx, work context.Context) error {
	for ctx.Err() == nil {
		fetches := f.consumer.PollRecords(ctx, maxBatch)
		err := f.fetchErrors(fetches)
		if err == nil {
			if records := fetches.Records(); len(records) > 0 {
				err = f.forwardBatch(work, records)
			}
		}
		f.consumer.AllowRebalance()
		if err != nil {
			return err
		}
	}
	return nil
}

// ping waits until the brokers of ep answer, so bad credentials or
// certificates stop the forwarder at start with a clear message.
func (f *forwarder) ping(ctx context.Context, side string, ep Endpoint, cl *kgo.Client) error {
	for attempt := 0; ; attempt++ {
		pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := cl.Ping(pctx)
		cancel()
		if err == nil || ctx.Err() != nil {
			return nil
		}
		if perr := permanent(side, ep, err); perr != nil {
			return perr
		}
		f.errors.Add(1)
		f.log.Warn("broker not reachable yet, retrying", "side", side, "broker", ep.Broker, "error", err.Error())
		if !sleep(ctx, backoff(attempt)) {
			return nil
		}
	}
}

// fetchErrors logs the errors of a poll and returns the first permanent one.
func (f *forwarder) fetchErrors(fetches kgo.Fetches) error {
	var perr error
	fetches.EachError(func(topic string, partition int32, err error) {
		if perr != nil || errors.Is(err, context.Canceled) || errors.Is(err, kgo.ErrClientClosed) {
			return
		}
		if perr = permanent(EnvFrom, f.cfg.From, err); perr != nil {
			return
		}
		f.errors.Add(1)
		f.log.Warn("fetch failed, retrying", "topic", topic, "partition", partition, "error", err.Error())
	})
	return perr
}

// forwardBatch produces the records of records that pass the filter, waits
// for all of them to be acknowledged, then commits every record of records.
func (f *forwarder) forwardBatch(work context.Context, records []*kgo.Record) error {
	kept := make([]*kgo.Record, 0, len(records))
	for _, r := range records {
		if f.cfg.Filter.Match(r.Headers) {
			kept = append(kept, f.outgoing(r))
		}
	}
	if err := f.produce(work, kept); err != nil {
		return err
	}
	f.forwarded.Add(int64(len(kept)))
	f.filtered.Add(int64(len(records) - len(kept)))
	if f.cfg.beforeCommit != nil {
		if err := f.cfg.beforeCommit(); err != nil {
			return err
		}
	}
	return f.commit(work, records)
}

// outgoing is the record produced for r: same key, value, headers and
// timestamp, plus HeaderForwardedFrom.
func (f *forwarder) outgoing(r *kgo.Record) *kgo.Record {
	headers := make([]kgo.RecordHeader, 0, len(r.Headers)+1)
	headers = append(headers, r.Headers...)
	headers = append(headers, kgo.RecordHeader{
		Key:   HeaderForwardedFrom,
		Value: []byte(r.Topic + "/" + strconv.Itoa(int(r.Partition)) + "/" + strconv.FormatInt(r.Offset, 10)),
	})
	return &kgo.Record{Topic: f.cfg.To.Topic, Key: r.Key, Value: r.Value, Headers: headers, Timestamp: r.Timestamp}
}

// produce produces records and returns once every one is acknowledged,
// retrying the failed ones with backoff. It gives up only on a permanent
// error or when work ends (the shutdown deadline).
func (f *forwarder) produce(work context.Context, records []*kgo.Record) error {
	pending := records
	for attempt := 0; len(pending) > 0; attempt++ {
		var failed []*kgo.Record
		var firstErr error
		for _, res := range f.producer.ProduceSync(work, pending...) {
			if res.Err == nil {
				continue
			}
			if perr := permanent(EnvTo, f.cfg.To, res.Err); perr != nil {
				return perr
			}
			if firstErr == nil {
				firstErr = res.Err
			}
			r := res.Record
			failed = append(failed, &kgo.Record{Topic: r.Topic, Key: r.Key, Value: r.Value, Headers: r.Headers, Timestamp: r.Timestamp})
		}
		if len(failed) == 0 {
			return nil
		}
		if work.Err() != nil {
			return fmt.Errorf("%s: shutdown deadline passed with %d records not acknowledged; nothing of the batch was committed, so it is forwarded again on restart", EnvTo, len(failed))
		}
		f.errors.Add(1)
		f.log.Warn("produce failed, retrying", "topic", f.cfg.To.Topic, "records", len(failed), "attempt", attempt+1, "error", firstErr.Error())
		if !sleep(work, backoff(attempt)) {
			return fmt.Errorf("%s: shutdown deadline passed with %d records not acknowledged; nothing of the batch was committed, so it is forwarded again on restart", EnvTo, len(failed))
		}
		pending = failed
	}
	return nil
}

// commit commits the offsets past records. A commit that keeps failing is
// logged and dropped: the records are then delivered again (duplicates),
// which at-least-once allows.
func (f *forwarder) commit(work context.Context, records []*kgo.Record) error {
	for attempt := 0; ; attempt++ {
		err := f.consumer.CommitRecords(work, records...)
		if err == nil {
			return nil
		}
		if perr := permanent(EnvFrom, f.cfg.From, err); perr != nil {
			return perr
		}
		f.errors.Add(1)
		if work.Err() != nil {
			return fmt.Errorf("%s: shutdown deadline passed before the batch's offsets were committed; its %d records are forwarded again on restart", EnvFrom, len(records))
		}
		if attempt+1 == commitAttempts {
			f.log.Error("commit failed, giving up on this batch's commit: its records will be forwarded again", "records", len(records), "error", err.Error())
			return nil
		}
		f.log.Warn("commit failed, retrying", "attempt", attempt+1, "error", err.Error())
		if !sleep(work, backoff(attempt)) {
			return fmt.Errorf("%s: shutdown deadline passed before the batch's offsets were committed; its %d records are forwarded again on restart", EnvFrom, len(records))
		}
	}
}

func (f *forwarder) stats(done <-chan struct{}) {
	t := time.NewTicker(f.cfg.StatsInterval)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			f.log.Info("forwarder counters", f.counters()...)
		}
	}
}

func (f *forwarder) counters() []any {
	return []any{"forwarded", f.forwarded.Load(), "filtered", f.filtered.Load(), "errors", f.errors.Load()}
}

// backoff is the wait before retry attempt+1: 250ms doubling to 30s.
func backoff(attempt int) time.Duration {
	d := 250 * time.Millisecond
	for range min(attempt, 7) {
		d *= 2
	}
	return min(d, 30*time.Second)
}

// sleep waits d and reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// kgoLogger passes franz-go's warnings and errors to slog.
type kgoLogger struct{ log *slog.Logger }

func (l kgoLogger) Level() kgo.LogLevel { return kgo.LogLevelWarn }

func (l kgoLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	lv := slog.LevelWarn
	if level == kgo.LogLevelError {
		lv = slog.LevelError
	}
	l.log.Log(context.Background(), lv, "kafka client: "+msg, keyvals...)
}

// pinNewGroup makes start=latest hold for good: when the group has no
// committed offset on the topic at all (a new subscription), it commits the
// topic's current end offsets for it. Without this, a partition that sees no
// record before the forwarder restarts would start at the end again and skip
// what was published to it meanwhile.
func (f *forwarder) pinNewGroup(ctx context.Context, cl *kgo.Client) error {
	ep := f.cfg.From
	meta := kmsg.NewPtrMetadataRequest()
	mt := kmsg.NewMetadataRequestTopic()
	mt.Topic = kmsg.StringPtr(ep.Topic)
	meta.Topics = append(meta.Topics, mt)
	for attempt := 0; ; attempt++ {
		err := f.tryPin(ctx, cl, meta)
		if err == nil || ctx.Err() != nil {
			return nil
		}
		if perr := permanent(EnvFrom, ep, err); perr != nil {
			return perr
		}
		f.errors.Add(1)
		f.log.Warn("pin the new subscription to the topic's end, retrying", "topic", ep.Topic, "group", ep.Group, "error", err.Error())
		if !sleep(ctx, backoff(attempt)) {
			return nil
		}
	}
}

func (f *forwarder) tryPin(ctx context.Context, cl *kgo.Client, meta *kmsg.MetadataRequest) error {
	ep := f.cfg.From
	mresp, err := meta.RequestWith(ctx, cl)
	if err != nil {
		return err
	}
	if len(mresp.Topics) != 1 {
		return fmt.Errorf("metadata for topic %q: got %d topics", ep.Topic, len(mresp.Topics))
	}
	if err := kerr.ErrorForCode(mresp.Topics[0].ErrorCode); err != nil {
		return fmt.Errorf("metadata for topic %q: %w", ep.Topic, err)
	}
	var parts []int32
	for _, p := range mresp.Topics[0].Partitions {
		parts = append(parts, p.Partition)
	}

	fetch := kmsg.NewPtrOffsetFetchRequest()
	fetch.Group = ep.Group
	ft := kmsg.NewOffsetFetchRequestTopic()
	ft.Topic, ft.Partitions = ep.Topic, parts
	fetch.Topics = append(fetch.Topics, ft)
	fresp, err := fetch.RequestWith(ctx, cl)
	if err != nil {
		return err
	}
	// A group that does not exist yet (GROUP_ID_NOT_FOUND on some brokers)
	// has no commits.
	if err := kerr.ErrorForCode(fresp.ErrorCode); err != nil && !errors.Is(err, kerr.GroupIDNotFound) {
		return fmt.Errorf("fetch the offsets of group %q: %w", ep.Group, err)
	}
	for _, t := range fresp.Topics {
		for _, p := range t.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil && !errors.Is(err, kerr.GroupIDNotFound) {
				return fmt.Errorf("fetch the offsets of group %q: %w", ep.Group, err)
			}
			if p.Offset >= 0 {
				return nil // not a new subscription
			}
		}
	}

	list := kmsg.NewPtrListOffsetsRequest()
	lt := kmsg.NewListOffsetsRequestTopic()
	lt.Topic = ep.Topic
	for _, p := range parts {
		lp := kmsg.NewListOffsetsRequestTopicPartition()
		lp.Partition, lp.Timestamp = p, -1 // the end
		lt.Partitions = append(lt.Partitions, lp)
	}
	list.Topics = append(list.Topics, lt)
	lresp, err := list.RequestWith(ctx, cl)
	if err != nil {
		return err
	}
	commit := kmsg.NewPtrOffsetCommitRequest()
	commit.Group, commit.Generation = ep.Group, -1 // a commit from outside the group
	ct := kmsg.NewOffsetCommitRequestTopic()
	ct.Topic, ct.TopicID = ep.Topic, mresp.Topics[0].TopicID // newer versions name topics by ID
	for _, t := range lresp.Topics {
		for _, p := range t.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				return fmt.Errorf("list the end offsets of topic %q: %w", ep.Topic, err)
			}
			cp := kmsg.NewOffsetCommitRequestTopicPartition()
			cp.Partition, cp.Offset = p.Partition, p.Offset
			ct.Partitions = append(ct.Partitions, cp)
		}
	}
	commit.Topics = append(commit.Topics, ct)
	cresp, err := commit.RequestWith(ctx, cl)
	if err != nil {
		return err
	}
	for _, t := range cresp.Topics {
		for _, p := range t.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				if errors.Is(err, kerr.UnknownMemberID) || errors.Is(err, kerr.IllegalGeneration) || errors.Is(err, kerr.RebalanceInProgress) {
					return nil // another instance of the subscription is already running the group
				}
				return fmt.Errorf("commit the start offsets of group %q: %w", ep.Group, err)
			}
		}
	}
	f.log.Info("new subscription starts at the topic's end", "topic", ep.Topic, "group", ep.Group, "partitions", len(parts))
	return nil
}
