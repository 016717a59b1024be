package queue

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// SASL mechanisms a kafka:// URL may name with mechanism=.
const (
	// KafkaMechanismScramSHA256 is the default: DigitalOcean's managed
	// Kafka authenticates users with SCRAM-SHA-256 over TLS.
	KafkaMechanismScramSHA256 = "SCRAM-SHA-256"
	KafkaMechanismScramSHA512 = "SCRAM-SHA-512"
	KafkaMechanismPlain       = "PLAIN"
)

// Where a consumer group with no committed offset starts (start=; the
// forwarder's FORWARD_FROM only: a work queue's group always starts at the
// oldest record).
const (
	// KafkaStartLatest reads only records produced after the group first
	// joins, as an SNS subscription receives only messages published after
	// it exists.
	KafkaStartLatest = "latest"
	// KafkaStartEarliest reads every record the topic still retains.
	KafkaStartEarliest = "earliest"
)

// ErrPasswordInKafkaURL is ParseKafkaURL's error for a URL whose user info
// carries a password; callers add where the password belongs.
var ErrPasswordInKafkaURL = errors.New("the user info carries a password (user:password@): give only the user")

// KafkaEndpoint is a parsed kafka:// URL, the one form every Kafka address of
// tenantfleet takes (QUEUE_URL, DEAD_LETTER_QUEUE_URL and the fanout's
// topicUrl on DigitalOcean, the forwarder's FORWARD_FROM and FORWARD_TO):
//
//	kafka://<user>@<host>:<port>/<topic>[?<param>=<value>&...]
//
// with the parameters
//
//	group=<consumer group>                       consuming side only
//	start=latest|earliest                        the forwarder's consuming side only
//	maxReceiveCount=<n>                          a work queue's consumer only: deliveries before dead-lettering
//	visibilityTimeout=<s>s                       a work queue's consumer only: time to settle a delivery
//	mechanism=SCRAM-SHA-256|SCRAM-SHA-512|PLAIN  default SCRAM-SHA-256
//	tls=true|false                               default true; false only for a local or test broker
//
// Which parameters belong where is for each user to check; ParseKafkaURL
// checks their values. The URL never carries a password: it travels
// separately (QUEUE_PASSWORD, FORWARD_PASSWORD).
type KafkaEndpoint struct {
	// User is the SASL user.
	User string
	// Broker is the bootstrap broker's host:port.
	Broker string
	// Topic is the Kafka topic.
	Topic string
	// Group is the consumer group, "" when the URL names none.
	Group string
	// Start is KafkaStartLatest or KafkaStartEarliest, "" when the URL
	// does not say.
	Start string
	// Mechanism is the SASL mechanism, one of the KafkaMechanism constants.
	Mechanism string
	// TLS is false only when the URL says tls=false.
	TLS bool
	// MaxReceiveCount is maxReceiveCount, 0 when the URL does not say
	// (when it does, at least 1).
	MaxReceiveCount int
	// VisibilityTimeout is visibilityTimeout, 0 when the URL does not say
	// (when it does, positive).
	VisibilityTimeout time.Duration
}

// String renders e as a kafka:// URL (it holds no secret).
func (e KafkaEndpoint) String() string {
	q := url.Values{}
	if e.Group != "" {
		q.Set("group", e.Group)
	}
	if e.Start != "" {
		q.Set("start", e.Start)
	}
	if e.MaxReceiveCount != 0 {
		q.Set("maxReceiveCount", strconv.Itoa(e.MaxReceiveCount))
	}
	if e.VisibilityTimeout != 0 {
		v := e.VisibilityTimeout.String()
		if e.VisibilityTimeout%time.Second == 0 {
			v = strconv.FormatInt(int64(e.VisibilityTimeout/time.Second), 10) + "s"
		}
		q.Set("visibilityTimeout", v)
	}
	if e.Mechanism != KafkaMechanismScramSHA256 {
		q.Set("mechanism", e.Mechanism)
	}
	if !e.TLS {
		q.Set("tls", "false")
	}
	u := url.URL{Scheme: "kafka", User: url.User(e.User), Host: e.Broker, Path: "/" + e.Topic, RawQuery: q.Encode()}
	return u.String()
}

// ParseKafkaURL parses a kafka:// URL (see KafkaEndpoint). Its errors say
// which part is wrong and never repeat the URL itself, so a password put
// there by mistake is not echoed; callers prefix the name of the variable
// that held it. A password in the user info is ErrPasswordInKafkaURL.
func ParseKafkaURL(raw string) (KafkaEndpoint, error) {
	if strings.TrimSpace(raw) == "" {
		return KafkaEndpoint{}, errors.New("required, and empty")
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url's errors quote the URL or a part of it (a password with a
		// '/' in it makes "invalid port \":<start of the password>\""), so
		// say nothing of the cause but whether user info holds a password.
		rest := strings.TrimPrefix(raw, "kafka://")
		if at := strings.LastIndex(rest, "@"); at >= 0 && strings.Contains(rest[:at], ":") {
			return KafkaEndpoint{}, ErrPasswordInKafkaURL
		}
		return KafkaEndpoint{}, errors.New("not a URL: want kafka://<user>@<host>:<port>/<topic>")
	}
	if u.Scheme != "kafka" {
		return KafkaEndpoint{}, fmt.Errorf("scheme %q: want kafka://<user>@<host>:<port>/<topic>", u.Scheme)
	}
	if u.Opaque != "" {
		return KafkaEndpoint{}, errors.New("want kafka://<user>@<host>:<port>/<topic> (missing //)")
	}
	if u.Fragment != "" || strings.HasSuffix(raw, "#") {
		return KafkaEndpoint{}, errors.New("a #fragment is not allowed")
	}

	e := KafkaEndpoint{Mechanism: KafkaMechanismScramSHA256, TLS: true}
	if u.User == nil || u.User.Username() == "" {
		return KafkaEndpoint{}, errors.New("no user: want kafka://<user>@<host>:<port>/<topic>")
	}
	if _, hasPassword := u.User.Password(); hasPassword {
		return KafkaEndpoint{}, ErrPasswordInKafkaURL
	}
	e.User = u.User.Username()

	host, port, err := net.SplitHostPort(u.Host)
	if err != nil || host == "" {
		return KafkaEndpoint{}, fmt.Errorf("broker %q: want <host>:<port>", u.Host)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return KafkaEndpoint{}, fmt.Errorf("broker port %q: want a number from 1 to 65535", port)
	}
	e.Broker = u.Host

	topic := strings.TrimPrefix(u.Path, "/")
	if err := validKafkaTopic(topic); err != nil {
		return KafkaEndpoint{}, err
	}
	e.Topic = topic

	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return KafkaEndpoint{}, fmt.Errorf("query: %w", err)
	}
	for _, key := range slices.Sorted(maps.Keys(q)) { // the same error for the same URL
		values := q[key]
		if len(values) != 1 {
			return KafkaEndpoint{}, fmt.Errorf("query parameter %q given %d times", key, len(values))
		}
		if err := e.setParam(key, values[0]); err != nil {
			return KafkaEndpoint{}, err
		}
	}
	return e, nil
}

// setParam sets the query parameter key to v.
func (e *KafkaEndpoint) setParam(key, v string) error {
	switch key {
	case "group":
		if v == "" || strings.IndexFunc(v, unicode.IsControl) >= 0 {
			return fmt.Errorf("group %q: want a non-empty name without control characters", v)
		}
		e.Group = v
	case "start":
		switch strings.ToLower(v) {
		case KafkaStartLatest, KafkaStartEarliest:
			e.Start = strings.ToLower(v)
		default:
			return fmt.Errorf("start %q: want %s or %s", v, KafkaStartLatest, KafkaStartEarliest)
		}
	case "maxReceiveCount":
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return fmt.Errorf("maxReceiveCount %q: want a whole number of at least 1", v)
		}
		e.MaxReceiveCount = n
	case "visibilityTimeout":
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("visibilityTimeout %q: want a positive duration in seconds such as 30s", v)
		}
		e.VisibilityTimeout = d
	case "mechanism":
		switch m := strings.ToUpper(v); m {
		case KafkaMechanismScramSHA256, KafkaMechanismScramSHA512, KafkaMechanismPlain:
			e.Mechanism = m
		default:
			return fmt.Errorf("mechanism %q: want %s, %s or %s", v, KafkaMechanismScramSHA256, KafkaMechanismScramSHA512, KafkaMechanismPlain)
		}
	case "tls":
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("tls %q: want true or false", v)
		}
		e.TLS = b
	default:
		return fmt.Errorf("unknown query parameter %q: want group, start, maxReceiveCount, visibilityTimeout, mechanism or tls", key)
	}
	return nil
}

// validKafkaTopic applies Kafka's rules for topic names.
func validKafkaTopic(t string) error {
	switch {
	case t == "":
		return errors.New("no topic: want kafka://<user>@<host>:<port>/<topic>")
	case len(t) > 249:
		return fmt.Errorf("topic is %d characters long: Kafka allows 249", len(t))
	case t == "." || t == "..":
		return fmt.Errorf("topic %q is not allowed", t)
	}
	for _, r := range t {
		if (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') && r != '.' && r != '_' && r != '-' {
			return fmt.Errorf("topic %q: Kafka allows only ASCII letters, digits, '.', '_' and '-'", t)
		}
	}
	return nil
}
