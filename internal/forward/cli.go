package forward

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes of tenantfleet-forwarder.
const (
	// ExitOK: stopped by SIGTERM or SIGINT after finishing its batch.
	ExitOK = 0
	// ExitFailed: the shutdown deadline passed with a batch unfinished (it
	// is forwarded again on restart), or an unexpected failure.
	ExitFailed = 1
	// ExitConfig: a usage error, a bad environment, or the brokers refused
	// the credentials, permissions or certificate.
	ExitConfig = 2
)

// Usage is what --help prints: the contract with the DigitalOcean adapter.
const Usage = `Usage: tenantfleet-forwarder

Forwards the records of a Kafka topic (a tenantfleet fanout on DigitalOcean)
that match a filter into another Kafka topic (a subscriber's queue), at least
once: a batch's offsets are committed only after every kept record of it is
acknowledged by the queue topic (idempotent producer, acks=all). Each
forwarded record keeps its key, value, headers and timestamp and gains the
header ` + HeaderForwardedFrom + `: <topic>/<partition>/<offset>.

Environment:
  ` + EnvFrom + `      kafka://<user>@<host>:<port>/<topic>?group=<group>   (required)
                    the fanout topic and this subscription's consumer group
  ` + EnvTo + `        kafka://<user>@<host>:<port>/<topic>                 (required)
                    the subscriber's queue topic
  ` + EnvPassword + `  SASL password of the user(s) above       (required, secret)
  ` + EnvFilter + `    optional filter policy, JSON:
                    {"attribute":"event_type","values":["invoice.paid","invoice.failed"]}
                    forwards only records with a header "attribute" equal to one
                    of "values"; unset forwards every record
  ` + EnvCACert + `   optional PEM CA certificate(s) of the brokers (a DigitalOcean
                    cluster's CA certificate); unset uses the system roots

URL query parameters:
  group=<group>          consumer group (` + EnvFrom + ` only, required there)
  start=latest|earliest  where a new group starts (` + EnvFrom + ` only); default latest:
                         like an SNS subscription, only records produced after
                         the subscription first runs are forwarded
  mechanism=SCRAM-SHA-256|SCRAM-SHA-512|PLAIN
                         SASL mechanism; default SCRAM-SHA-256 (DigitalOcean)
  tls=true|false         default true; false only for a local or test broker

Never put the password in the URL (user:password@ is refused).

Stops on SIGTERM or SIGINT: stops polling, finishes producing and commits the
batch in flight, leaves the group and exits 0 (within 20s; a second signal
stops at once). Logs are JSON lines on stderr.

Exit codes: 0 stopped by a signal; 1 failed (the batch in flight is forwarded
again on restart); 2 usage or configuration error, or the brokers refused the
credentials, permissions or certificate.
`

// Main runs tenantfleet-forwarder in this process and returns its exit code.
// The first SIGTERM or SIGINT stops it gracefully; a second one at once.
func Main() int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		<-sigs
		cancel()
		<-sigs
		fmt.Fprintln(os.Stderr, "tenantfleet-forwarder: second signal: stopping at once")
		os.Exit(ExitFailed)
	}()
	return Command(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
}

// Command runs tenantfleet-forwarder with the command line args (without the
// program name) and the environment getenv until ctx is cancelled, logging
// JSON to stderr, and returns the exit code.
func Command(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tenantfleet-forwarder", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			if _, err := fmt.Fprint(stdout, Usage); err != nil {
				return ExitFailed
			}
			return ExitOK
		}
		// The exit code reports the usage error even when stderr cannot.
		_, _ = fmt.Fprintf(stderr, "tenantfleet-forwarder: %v\nRun 'tenantfleet-forwarder --help' for usage.\n", err)
		return ExitConfig
	}
	if fs.NArg() > 0 {
		_, _ = fmt.Fprintf(stderr, "tenantfleet-forwarder: unexpected argument %q: the configuration comes from the environment\nRun 'tenantfleet-forwarder --help' for usage.\n", fs.Arg(0))
		return ExitConfig
	}

	log := slog.New(slog.NewJSONHandler(stderr, nil))
	cfg, err := LoadConfig(getenv)
	if err != nil {
		log.Error("invalid configuration; run tenantfleet-forwarder --help for the contract", "error", err.Error())
		return ExitConfig
	}
	if err := Run(ctx, cfg, log); err != nil {
		log.Error("forwarder failed", "error", err.Error())
		var cerr *ConfigError
		if errors.As(err, &cerr) {
			return ExitConfig
		}
		return ExitFailed
	}
	return ExitOK
}
