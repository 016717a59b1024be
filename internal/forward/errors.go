package forward

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
)

// ConfigError is a failure that retrying cannot fix: the brokers refused the
// credentials or the permissions, did not present a trusted certificate, or
// refused a record for good. The forwarder stops with it (exit code 2).
type ConfigError struct {
	// Side is EnvFrom or EnvTo: which connection failed.
	Side string
	Err  error
}

func (e *ConfigError) Error() string { return e.Side + ": " + e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// permanent classifies err for side (EnvFrom or EnvTo) and returns a
// *ConfigError explaining it, or nil when err may be transient.
func permanent(side string, ep Endpoint, err error) error {
	if err == nil {
		return nil
	}
	for _, e := range []*kerr.Error{kerr.SaslAuthenticationFailed, kerr.IllegalSaslState, kerr.UnsupportedSaslMechanism} {
		if errors.Is(err, e) {
			return &ConfigError{side, fmt.Errorf("SASL %s authentication of user %q failed (%w): check the user, %s and mechanism=", ep.Mechanism, ep.User, err, EnvPassword)}
		}
	}
	for _, e := range []*kerr.Error{kerr.TopicAuthorizationFailed, kerr.GroupAuthorizationFailed, kerr.ClusterAuthorizationFailed} {
		if errors.Is(err, e) {
			return &ConfigError{side, fmt.Errorf("user %q is not allowed to use topic %q or its group (%w): check the user's ACLs", ep.User, ep.Topic, err)}
		}
	}
	for _, e := range []*kerr.Error{kerr.MessageTooLarge, kerr.RecordListTooLarge, kerr.InvalidRecord, kerr.InvalidTopicException, kerr.InvalidGroupID} {
		if errors.Is(err, e) {
			return &ConfigError{side, fmt.Errorf("topic %q refused for good (%w): check the topic's configuration", ep.Topic, err)}
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
		return &ConfigError{side, fmt.Errorf("broker %s: TLS certificate not trusted (%w): set %s to the cluster's CA certificate", ep.Broker, err, EnvCACert)}
	}
	if errors.As(err, &header) {
		return &ConfigError{side, fmt.Errorf("broker %s does not speak TLS (%w); tls=false is only for a local or test broker", ep.Broker, err)}
	}
	return nil
}
