package localcloud

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

const (
	// metaQueue and metaTopic, in a stream's metadata, name the queue or
	// topic the stream belongs to. Queue stream names fold '-' into '_', so
	// two queue names can map to one stream: the metadata tells them apart.
	metaQueue = "tenantfleet.queue"
	metaTopic = "tenantfleet.topic"

	workerConsumer = "worker"
	topicMaxAge    = 7 * 24 * time.Hour
	deadLetterAge  = 14 * 24 * time.Hour
)

// Stream and subject names of queues and topics.
func queueStream(name string) string {
	return "Q_" + strings.NewReplacer("-", "_", ".", "_").Replace(name)
}
func deadLetterStream(name string) string { return queueStream(name) + "_DLQ" }
func queueSubject(name string) string     { return "queue." + name }
func deadLetterSubject(name string) string {
	return queueSubject(name) + ".dlq"
}
func topicStream(name string) string  { return "T_" + name }
func topicSubject(name string) string { return "topic." + name }

// natsServer is the embedded NATS server with JetStream and the runtime's
// own client connection to it.
type natsServer struct {
	log  *slog.Logger
	srv  *server.Server
	nc   *nats.Conn
	js   jetstream.JetStream
	port int

	// mu serializes changes to streams: a queue stream's config is read,
	// changed and written back when subscriptions come and go.
	mu         sync.Mutex
	deadLetter *deadLetterer
}

func (n *natsServer) url() string { return fmt.Sprintf("nats://127.0.0.1:%d", n.port) }

// startNATS starts the embedded server on 127.0.0.1:port with its JetStream
// store in storeDir, connects to it in-process and starts the dead-letterer.
func startNATS(ctx context.Context, log *slog.Logger, storeDir string, port int) (*natsServer, error) {
	opts := &server.Options{
		ServerName: "tenantfleet-local",
		Host:       "127.0.0.1",
		Port:       port,
		JetStream:  true,
		StoreDir:   storeDir,
		NoSigs:     true,
		// No HTTP monitoring, no cluster, no leaf nodes: one loopback port.
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("configure nats: %w", err)
	}
	srv.SetLogger(natsLogger{log: log.With("component", "nats")}, false, false)
	srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, fmt.Errorf("nats did not accept connections on 127.0.0.1:%d within 30s", port)
	}
	nc, err := nats.Connect("", nats.InProcessServer(srv), nats.Name("tenantfleet-local-runtime"),
		nats.MaxReconnects(-1))
	if err != nil {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, fmt.Errorf("connect to nats: %w", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	n := &natsServer{log: log, srv: srv, nc: nc, js: js, port: port}
	n.deadLetter, err = startDeadLetterer(ctx, log, js)
	if err != nil {
		n.stop()
		return nil, err
	}
	n.waitSources(ctx)
	log.Info("nats is ready", "url", n.url())
	return n, nil
}

// waitSources waits until the sources of every stream are set up again
// after a restart, before anyone may publish: a source is resumed no
// earlier than its stream's newest message, so a message another source
// stored first could make it skip what was published just before.
func (n *natsServer) waitSources(ctx context.Context) {
	lister := n.js.ListStreams(ctx)
	for info := range lister.Info() {
		s, err := n.js.Stream(ctx, info.Config.Name)
		if err != nil {
			continue
		}
		for _, src := range info.Config.Sources {
			if src == nil {
				continue
			}
			if err := waitSourceActive(ctx, s, src.Name); err != nil {
				n.log.Warn("a stream source is not set up yet", "stream", info.Config.Name, "source", src.Name, "err", err)
			}
		}
	}
	if err := lister.Err(); err != nil {
		n.log.Warn("list streams", "err", err)
	}
}

func (n *natsServer) running() bool {
	return n != nil && n.srv.Running() && n.nc.IsConnected()
}

func (n *natsServer) stop() {
	if n.deadLetter != nil {
		n.deadLetter.stop()
	}
	n.nc.Close()
	n.srv.Shutdown()
	n.srv.WaitForShutdown()
	n.log.Info("nats stopped")
}

// stream returns the named stream's info, or nil when it does not exist.
func (n *natsServer) stream(ctx context.Context, name string) (*jetstream.StreamInfo, error) {
	s, err := n.js.Stream(ctx, name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look up stream %s: %w", name, err)
	}
	info := s.CachedInfo()
	return info, nil
}

// deleteStream deletes a stream; an absent one is fine.
func (n *natsServer) deleteStream(ctx context.Context, name string) error {
	err := n.js.DeleteStream(ctx, name)
	if err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("delete stream %s: %w", name, err)
	}
	return nil
}

// natsLogger forwards the server's warnings and errors to slog and drops
// the rest.
type natsLogger struct{ log *slog.Logger }

func (l natsLogger) Noticef(string, ...any) {}
func (l natsLogger) Debugf(string, ...any)  {}
func (l natsLogger) Tracef(string, ...any)  {}
func (l natsLogger) Warnf(format string, v ...any) {
	l.log.Warn(fmt.Sprintf(format, v...))
}
func (l natsLogger) Errorf(format string, v ...any) {
	l.log.Error(fmt.Sprintf(format, v...))
}
func (l natsLogger) Fatalf(format string, v ...any) {
	l.log.Error(fmt.Sprintf(format, v...))
}
