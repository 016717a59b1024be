package queue

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
)

// kafkaSender produces to one topic: the work queue's (the web app handing
// work to its worker) or a fanout's (publish).
type kafkaSender struct {
	cl   *kgo.Client
	side kafkaSide
}

func newKafkaSender(ctx context.Context, side kafkaSide, password, caCert, name string, log *slog.Logger) (*kafkaSender, error) {
	roots, err := kafkaRoots(side.caVar, caCert)
	if err != nil {
		return nil, err
	}
	cl, err := kgo.NewClient(append(kafkaClientOpts(side, password, roots, name, log), kgo.DefaultProduceTopic(side.ep.Topic))...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", side.urlVar, err)
	}
	if err := kafkaPing(ctx, side, cl, log); err != nil {
		cl.Close()
		return nil, err
	}
	return &kafkaSender{cl: cl, side: side}, nil
}

// Send produces one record with m's attributes as headers, waits for the
// brokers' acknowledgement (all in-sync replicas, idempotent producer) and
// returns <topic>/<partition>/<offset>.
func (s *kafkaSender) Send(ctx context.Context, m Outgoing) (string, error) {
	if m.ID != "" {
		return "", refuseID(CloudDigitalOcean)
	}
	headers, err := kafkaHeaders(m.Attributes)
	if err != nil {
		return "", err
	}
	r, err := s.cl.ProduceSync(ctx, &kgo.Record{Topic: s.side.ep.Topic, Value: m.Body, Headers: headers}).First()
	if err != nil {
		return "", s.side.wrap(fmt.Sprintf("produce to topic %q", s.side.ep.Topic), err)
	}
	return kafkaID(r), nil
}

func (s *kafkaSender) Close() error {
	s.cl.Close()
	return nil
}

// kafkaHeaders turns attributes into record headers, sorted by name.
func kafkaHeaders(attrs map[string]string) ([]kgo.RecordHeader, error) {
	headers := make([]kgo.RecordHeader, 0, len(attrs))
	for _, k := range slices.Sorted(maps.Keys(attrs)) {
		v := attrs[k]
		if err := checkAttribute(k, v); err != nil {
			return nil, err
		}
		for _, reserved := range kafkaReservedHeaders {
			if strings.EqualFold(k, reserved) {
				return nil, fmt.Errorf("attribute %q: the name is reserved for the queue client's own bookkeeping", k)
			}
		}
		headers = append(headers, kgo.RecordHeader{Key: k, Value: []byte(v)})
	}
	return headers, nil
}

// kafkaReservedHeaders are the header names Send refuses.
var kafkaReservedHeaders = []string{
	KafkaHeaderDeliveries, KafkaHeaderNotBefore, KafkaHeaderMessageID,
	KafkaHeaderDeadLetterFrom, KafkaHeaderDeadLetterReason,
}

// kafkaID is a record's <topic>/<partition>/<offset>.
func kafkaID(r *kgo.Record) string {
	return r.Topic + "/" + strconv.Itoa(int(r.Partition)) + "/" + strconv.FormatInt(r.Offset, 10)
}
