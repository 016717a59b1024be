package forward

import (
	"cmp"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// The environment the DigitalOcean adapter sets on every forwarder.
const (
	// EnvFrom is the fanout topic to consume, with the consumer group:
	// kafka://<user>@<host>:<port>/<topic>?group=<group>. Required.
	EnvFrom = "FORWARD_FROM"
	// EnvTo is the subscriber's queue topic to produce to:
	// kafka://<user>@<host>:<port>/<topic>. Required.
	EnvTo = "FORWARD_TO"
	// EnvPassword is the SASL password of the users in EnvFrom and EnvTo.
	// Required; secret: never logged, never in an error.
	EnvPassword = "FORWARD_PASSWORD"
	// EnvFilter is the optional filter policy, JSON
	// {"attribute":"<header>","values":["<value>",...]}.
	EnvFilter = "FORWARD_FILTER"
	// EnvCACert is an optional PEM bundle of the CAs that sign the brokers'
	// certificates (a DigitalOcean cluster's CA certificate); unset means
	// the system's roots.
	EnvCACert = "FORWARD_CA_CERT"
)

// HeaderForwardedFrom is the header the forwarder adds to every record it
// produces: <source topic>/<partition>/<offset>, for tracing.
const HeaderForwardedFrom = "tenantfleet-forwarded-from"

// Defaults for the Config fields the environment does not set.
const (
	DefaultShutdownTimeout = 20 * time.Second
	DefaultStatsInterval   = time.Minute
)

// Config is what a forwarder needs. LoadConfig builds it from the
// environment; it logs (LogValue) without the password.
type Config struct {
	// From is the fanout topic and the consumer group (Group is set).
	From Endpoint
	// To is the subscriber's queue topic.
	To Endpoint
	// Password is the SASL password of From.User and To.User.
	Password string
	// Filter keeps only matching records; nil forwards every record.
	Filter *Filter
	// RootCAs verify the brokers' certificates; nil means the system roots.
	RootCAs *x509.CertPool

	// ShutdownTimeout bounds how long, after the context is cancelled, the
	// in-flight batch may take to be produced and committed.
	ShutdownTimeout time.Duration
	// StatsInterval is how often the counters are logged.
	StatsInterval time.Duration

	// beforeCommit, when set (tests only), runs after a batch is produced
	// and before it is committed; an error stops the forwarder there, as a
	// crash would.
	beforeCommit func() error
}

// LogValue logs c without its password.
func (c Config) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.String("from", c.From.String()),
		slog.String("to", c.To.String()),
		slog.String("start", cmp.Or(c.From.Start, StartLatest)),
		slog.Bool("custom_ca", c.RootCAs != nil),
	}
	if c.Filter != nil {
		attrs = append(attrs, slog.String("filter_attribute", c.Filter.Attribute), slog.Any("filter_values", c.Filter.Values))
	}
	return slog.GroupValue(attrs...)
}

// Filter is a subscription's filter policy on one message attribute (a
// Kafka record header).
type Filter struct {
	Attribute string   `json:"attribute"`
	Values    []string `json:"values"`
}

// Match reports whether a record with headers passes f: some header named
// f.Attribute has one of f.Values. A nil filter passes every record.
func (f *Filter) Match(headers []kgo.RecordHeader) bool {
	if f == nil {
		return true
	}
	for _, h := range headers {
		if h.Key == f.Attribute && slices.Contains(f.Values, string(h.Value)) {
			return true
		}
	}
	return false
}

// ParseFilter parses a filter policy: {"attribute":"<header>","values":[...]}
// with a non-empty attribute and at least one value; nothing else.
func ParseFilter(s string) (*Filter, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	var f *Filter
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf(`not a filter policy {"attribute":"<header>","values":["<value>",...]}: %w`, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("unexpected data after the JSON object")
	}
	switch {
	case f == nil:
		return nil, errors.New(`want a JSON object {"attribute":"<header>","values":["<value>",...]}, got null`)
	case f.Attribute == "":
		return nil, errors.New(`"attribute" is missing or empty`)
	case len(f.Values) == 0:
		return nil, errors.New(`"values" is missing or empty: a filter needs at least one value`)
	}
	return f, nil
}

// LoadConfig reads the forwarder's environment through getenv (os.Getenv).
// Every problem is reported, each naming its variable; no error contains
// the password.
func LoadConfig(getenv func(string) string) (Config, error) {
	cfg := Config{ShutdownTimeout: DefaultShutdownTimeout, StatsInterval: DefaultStatsInterval}
	var errs []error
	bad := func(variable string, err error) { errs = append(errs, fmt.Errorf("%s: %w", variable, err)) }

	var err error
	if cfg.From, err = ParseURL(getenv(EnvFrom)); err != nil {
		bad(EnvFrom, err)
	} else if cfg.From.Group == "" {
		bad(EnvFrom, errors.New("no consumer group: add ?group=<group> (one group per subscription)"))
	}
	if cfg.To, err = ParseURL(getenv(EnvTo)); err != nil {
		bad(EnvTo, err)
	} else {
		if cfg.To.Group != "" {
			bad(EnvTo, errors.New("query parameter \"group\" belongs in "+EnvFrom+", the consuming side"))
		}
		if cfg.To.Start != "" {
			bad(EnvTo, errors.New("query parameter \"start\" belongs in "+EnvFrom+", the consuming side"))
		}
	}
	if cfg.Password = getenv(EnvPassword); cfg.Password == "" {
		bad(EnvPassword, errors.New("required: the SASL password of the user in "+EnvFrom+" and "+EnvTo))
	}
	if s := getenv(EnvFilter); strings.TrimSpace(s) != "" {
		if cfg.Filter, err = ParseFilter(s); err != nil {
			bad(EnvFilter, err)
		}
	}
	if s := getenv(EnvCACert); strings.TrimSpace(s) != "" {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM([]byte(s)) {
			bad(EnvCACert, errors.New("no PEM certificate in it"))
		} else {
			cfg.RootCAs = pool
		}
	}
	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}
	return cfg, nil
}
