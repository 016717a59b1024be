package forward

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"unicode"
)

// SASL mechanisms an Endpoint may name with mechanism=.
const (
	// MechanismScramSHA256 is the default: DigitalOcean's managed Kafka
	// authenticates users with SCRAM-SHA-256 over TLS.
	MechanismScramSHA256 = "SCRAM-SHA-256"
	MechanismScramSHA512 = "SCRAM-SHA-512"
	MechanismPlain       = "PLAIN"
)

// Where a consumer group with no committed offset starts (start=).
const (
	// StartLatest reads only records produced after the group first joins,
	// as an SNS subscription receives only messages published after it
	// exists. It is the default.
	StartLatest = "latest"
	// StartEarliest reads every record the topic still retains.
	StartEarliest = "earliest"
)

// Endpoint is a parsed kafka:// URL:
//
//	kafka://<user>@<host>:<port>/<topic>[?<param>=<value>&...]
//
// with the parameters
//
//	group=<consumer group>                       consuming side only
//	start=latest|earliest                        consuming side only; default latest
//	mechanism=SCRAM-SHA-256|SCRAM-SHA-512|PLAIN  default SCRAM-SHA-256
//	tls=true|false                               default true; false only for a local or test broker
//
// The URL never carries a password: it travels separately (FORWARD_PASSWORD).
type Endpoint struct {
	// User is the SASL user.
	User string
	// Broker is the bootstrap broker's host:port.
	Broker string
	// Topic is the Kafka topic.
	Topic string
	// Group is the consumer group, "" when the URL names none.
	Group string
	// Start is StartLatest or StartEarliest, "" when the URL does not say
	// (which means StartLatest).
	Start string
	// Mechanism is the SASL mechanism, one of the Mechanism constants.
	Mechanism string
	// TLS is false only when the URL says tls=false.
	TLS bool
}

// String renders e as a kafka:// URL (it holds no secret).
func (e Endpoint) String() string {
	q := url.Values{}
	if e.Group != "" {
		q.Set("group", e.Group)
	}
	if e.Start != "" {
		q.Set("start", e.Start)
	}
	if e.Mechanism != MechanismScramSHA256 {
		q.Set("mechanism", e.Mechanism)
	}
	if !e.TLS {
		q.Set("tls", "false")
	}
	u := url.URL{Scheme: "kafka", User: url.User(e.User), Host: e.Broker, Path: "/" + e.Topic, RawQuery: q.Encode()}
	return u.String()
}

// ParseURL parses a kafka:// URL (see Endpoint). Its errors say which part is
// wrong and never repeat the URL itself, so a password put there by mistake
// is not echoed; callers prefix the name of the variable that held it.
func ParseURL(raw string) (Endpoint, error) {
	if strings.TrimSpace(raw) == "" {
		return Endpoint{}, errors.New("required, and empty")
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error repeats the whole URL: report only the cause.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return Endpoint{}, fmt.Errorf("not a URL: %w", err)
	}
	if u.Scheme != "kafka" {
		return Endpoint{}, fmt.Errorf("scheme %q: want kafka://<user>@<host>:<port>/<topic>", u.Scheme)
	}
	if u.Opaque != "" {
		return Endpoint{}, errors.New("want kafka://<user>@<host>:<port>/<topic> (missing //)")
	}
	if u.Fragment != "" || strings.HasSuffix(raw, "#") {
		return Endpoint{}, errors.New("a #fragment is not allowed")
	}

	e := Endpoint{Mechanism: MechanismScramSHA256, TLS: true}
	if u.User == nil || u.User.Username() == "" {
		return Endpoint{}, errors.New("no user: want kafka://<user>@<host>:<port>/<topic>")
	}
	if _, hasPassword := u.User.Password(); hasPassword {
		return Endpoint{}, fmt.Errorf("the user info carries a password (user:password@): give only the user, the password belongs in %s", EnvPassword)
	}
	e.User = u.User.Username()

	host, port, err := net.SplitHostPort(u.Host)
	if err != nil || host == "" {
		return Endpoint{}, fmt.Errorf("broker %q: want <host>:<port>", u.Host)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return Endpoint{}, fmt.Errorf("broker port %q: want a number from 1 to 65535", port)
	}
	e.Broker = u.Host

	topic := strings.TrimPrefix(u.Path, "/")
	if err := validTopic(topic); err != nil {
		return Endpoint{}, err
	}
	e.Topic = topic

	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return Endpoint{}, fmt.Errorf("query: %w", err)
	}
	for key, values := range q {
		if len(values) != 1 {
			return Endpoint{}, fmt.Errorf("query parameter %q given %d times", key, len(values))
		}
		v := values[0]
		switch key {
		case "group":
			if v == "" || strings.IndexFunc(v, unicode.IsControl) >= 0 {
				return Endpoint{}, fmt.Errorf("group %q: want a non-empty name without control characters", v)
			}
			e.Group = v
		case "start":
			switch strings.ToLower(v) {
			case StartLatest, StartEarliest:
				e.Start = strings.ToLower(v)
			default:
				return Endpoint{}, fmt.Errorf("start %q: want %s or %s", v, StartLatest, StartEarliest)
			}
		case "mechanism":
			switch m := strings.ToUpper(v); m {
			case MechanismScramSHA256, MechanismScramSHA512, MechanismPlain:
				e.Mechanism = m
			default:
				return Endpoint{}, fmt.Errorf("mechanism %q: want %s, %s or %s", v, MechanismScramSHA256, MechanismScramSHA512, MechanismPlain)
			}
		case "tls":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return Endpoint{}, fmt.Errorf("tls %q: want true or false", v)
			}
			e.TLS = b
		default:
			return Endpoint{}, fmt.Errorf("unknown query parameter %q: want group, start, mechanism or tls", key)
		}
	}
	return e, nil
}

// validTopic applies Kafka's rules for topic names.
func validTopic(t string) error {
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
