package forward

import (
	"errors"
	"fmt"

	"github.com/tenantfleet/tenantfleet/queue"
)

// SASL mechanisms an Endpoint may name with mechanism=.
const (
	// MechanismScramSHA256 is the default: DigitalOcean's managed Kafka
	// authenticates users with SCRAM-SHA-256 over TLS.
	MechanismScramSHA256 = queue.KafkaMechanismScramSHA256
	MechanismScramSHA512 = queue.KafkaMechanismScramSHA512
	MechanismPlain       = queue.KafkaMechanismPlain
)

// Where a consumer group with no committed offset starts (start=).
const (
	// StartLatest reads only records produced after the group first joins,
	// as an SNS subscription receives only messages published after it
	// exists. It is the default.
	StartLatest = queue.KafkaStartLatest
	// StartEarliest reads every record the topic still retains.
	StartEarliest = queue.KafkaStartEarliest
)

// Endpoint is a parsed kafka:// URL, tenantfleet's one form of a Kafka
// address (queue.KafkaEndpoint, whose parser ParseURL uses):
//
//	kafka://<user>@<host>:<port>/<topic>[?<param>=<value>&...]
//
// with, for the forwarder, the parameters
//
//	group=<consumer group>                       consuming side only
//	start=latest|earliest                        consuming side only; default latest
//	mechanism=SCRAM-SHA-256|SCRAM-SHA-512|PLAIN  default SCRAM-SHA-256
//	tls=true|false                               default true; false only for a local or test broker
//
// The URL never carries a password: it travels separately (FORWARD_PASSWORD).
type Endpoint = queue.KafkaEndpoint

// ParseURL parses a kafka:// URL (see Endpoint) with queue.ParseKafkaURL and
// refuses the parameters that are a work queue consumer's, not the
// forwarder's (maxReceiveCount, visibilityTimeout). Its errors say which part
// is wrong and never repeat the URL itself, so a password put there by
// mistake is not echoed; callers prefix the name of the variable that held it.
func ParseURL(raw string) (Endpoint, error) {
	e, err := queue.ParseKafkaURL(raw)
	switch {
	case errors.Is(err, queue.ErrPasswordInKafkaURL):
		return Endpoint{}, fmt.Errorf("%w, the password belongs in %s", err, EnvPassword)
	case err != nil:
		return Endpoint{}, err
	case e.MaxReceiveCount != 0:
		return Endpoint{}, errors.New(`query parameter "maxReceiveCount" is a work queue consumer's (QUEUE_URL), not the forwarder's: want group, start, mechanism or tls`)
	case e.VisibilityTimeout != 0:
		return Endpoint{}, errors.New(`query parameter "visibilityTimeout" is a work queue consumer's (QUEUE_URL), not the forwarder's: want group, start, mechanism or tls`)
	}
	return e, nil
}
