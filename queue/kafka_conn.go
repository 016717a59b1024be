package queue

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// kafkaSide is one Kafka address with the names of the settings it came
// from, so errors name them: QUEUE_URL, QUEUE_PASSWORD and QUEUE_CA_CERT, or
// the fanout's topic and TopicConfig's fields.
type kafkaSide struct {
	ep          KafkaEndpoint
	urlVar      string
	passwordVar string
	caVar       string
}

// parseKafkaSide parses raw, the value of s.urlVar, into s.ep.
func parseKafkaSide(s kafkaSide, raw string) (kafkaSide, error) {
	ep, err := ParseKafkaURL(raw)
	if errors.Is(err, ErrPasswordInKafkaURL) {
		return s, fmt.Errorf("%s: %w, the password belongs in %s", s.urlVar, err, s.passwordVar)
	}
	if err != nil {
		return s, fmt.Errorf("%s: %w", s.urlVar, err)
	}
	s.ep = ep
	return s, nil
}

// kafkaRoots parses the CA certificate PEM, nil when empty (the system's
// roots then).
func kafkaRoots(caVar, pemText string) (*x509.CertPool, error) {
	if pemText == "" {
		return nil, nil
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(pemText)) {
		return nil, fmt.Errorf("%s: no PEM certificate in it", caVar)
	}
	return pool, nil
}

// kafkaClientOpts are the options of a client connecting as s.ep.User.
func kafkaClientOpts(s kafkaSide, password string, roots *x509.CertPool, name string, log *slog.Logger) []kgo.Opt {
	opts := []kgo.Opt{
		kgo.SeedBrokers(s.ep.Broker),
		kgo.ClientID(name),
		kgo.SASL(kafkaMechanism(s.ep, password)),
		kgo.WithLogger(kafkaLogger{log.With("topic", s.ep.Topic)}),
		// Every produce here is waited for: send it at once.
		kgo.ProducerLinger(0),
		// Surface a broker outage to Send and Nack as an error rather
		// than blocking them until their context ends.
		kgo.RecordDeliveryTimeout(time.Minute),
	}
	if s.ep.TLS {
		host, _, _ := net.SplitHostPort(s.ep.Broker)
		opts = append(opts, kgo.DialTLSConfig(&tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots, ServerName: host}))
	}
	return opts
}

func kafkaMechanism(ep KafkaEndpoint, password string) sasl.Mechanism {
	switch ep.Mechanism {
	case KafkaMechanismPlain:
		return plain.Auth{User: ep.User, Pass: password}.AsMechanism()
	case KafkaMechanismScramSHA512:
		return scram.Auth{User: ep.User, Pass: password}.AsSha512Mechanism()
	default:
		return scram.Auth{User: ep.User, Pass: password}.AsSha256Mechanism()
	}
}

// kafkaPing checks that the brokers take the credentials and the
// certificate. It fails only on what retrying cannot fix; an unreachable
// broker is logged and left to the client's retries.
func kafkaPing(ctx context.Context, s kafkaSide, cl *kgo.Client, log *slog.Logger) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err := cl.Ping(ctx)
	if err == nil {
		return nil
	}
	if s.permanent(err) != nil {
		return s.wrap("connecting to "+s.ep.Broker, err)
	}
	log.Warn("kafka brokers not reachable yet; the client keeps trying", "broker", s.ep.Broker, "err", err)
	return nil
}

// wrap reports err from doing: explained when retrying cannot fix it, else
// as it is.
func (s kafkaSide) wrap(doing string, err error) error {
	if perr := s.permanent(err); perr != nil {
		err = perr
	}
	return fmt.Errorf("%s: %s: %w", s.urlVar, doing, err)
}

// permanent explains err when retrying cannot fix it (credentials,
// permissions, certificate, a record the topic refuses), naming the setting
// to check; else it returns nil. Nothing here holds the password.
func (s kafkaSide) permanent(err error) error {
	if err == nil {
		return nil
	}
	ep := s.ep
	for _, e := range []*kerr.Error{kerr.SaslAuthenticationFailed, kerr.IllegalSaslState, kerr.UnsupportedSaslMechanism} {
		if errors.Is(err, e) {
			return fmt.Errorf("SASL %s authentication of user %q failed (%w): check the user and %s", ep.Mechanism, ep.User, err, s.passwordVar)
		}
	}
	for _, e := range []*kerr.Error{kerr.TopicAuthorizationFailed, kerr.GroupAuthorizationFailed, kerr.ClusterAuthorizationFailed, kerr.TransactionalIDAuthorizationFailed} {
		if errors.Is(err, e) {
			return fmt.Errorf("user %q is not authorized (%w): check the user's ACLs", ep.User, err)
		}
	}
	for _, e := range []*kerr.Error{kerr.MessageTooLarge, kerr.RecordListTooLarge, kerr.InvalidRecord, kerr.InvalidTopicException, kerr.InvalidGroupID} {
		if errors.Is(err, e) {
			return fmt.Errorf("topic %q refused it for good (%w)", ep.Topic, err)
		}
	}
	var (
		unknownAuthority x509.UnknownAuthorityError
		hostname         x509.HostnameError
		invalid          x509.CertificateInvalidError
		verification     *tls.CertificateVerificationError
		header           tls.RecordHeaderError
	)
	if errors.As(err, &unknownAuthority) || errors.As(err, &hostname) || errors.As(err, &invalid) || errors.As(err, &verification) {
		return fmt.Errorf("broker %s: TLS certificate not trusted (%w): set %s to the cluster's CA certificate", ep.Broker, err, s.caVar)
	}
	if errors.As(err, &header) {
		return fmt.Errorf("broker %s does not speak TLS (%w); tls=false is only for a local or test broker", ep.Broker, err)
	}
	return nil
}

// kafkaLogger passes franz-go's warnings and errors to slog.
type kafkaLogger struct{ log *slog.Logger }

func (l kafkaLogger) Level() kgo.LogLevel { return kgo.LogLevelWarn }

func (l kafkaLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	lv := slog.LevelWarn
	if level == kgo.LogLevelError {
		lv = slog.LevelError
	}
	l.log.Log(context.Background(), lv, "kafka client: "+msg, keyvals...)
}
