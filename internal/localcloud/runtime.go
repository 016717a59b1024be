package localcloud

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// Options configures Run.
type Options struct {
	DataDir   string       // default DefaultDataDir()
	ImagesDir string       // default DefaultImagesDir(DataDir)
	Logger    *slog.Logger // default slog.Default()
}

// runtime is a running local cloud: what the HTTP API serves.
type runtime struct {
	log       *slog.Logger
	l         layout
	pg        *postgresServer
	nats      *natsServer
	databases *databases
	queues    *queues
	topics    *topics
	processes *processes
	// warnings are what the runtime had to change at start (a port taken),
	// reported in its status until it stops.
	warnings []string

	closing      atomic.Bool
	shutdown     chan struct{}
	shutdownOnce sync.Once
}

// Run runs the local cloud of opts.DataDir in the foreground until ctx is
// done or a client asks it to shut down (POST /v1/shutdown). Only one
// runtime may run per data directory. On the way out it stops the
// processes, NATS and PostgreSQL, and keeps the desired state, so the next
// Run brings everything back.
func Run(ctx context.Context, opts Options) (err error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	dataDir := opts.DataDir
	if dataDir == "" {
		if dataDir, err = DefaultDataDir(); err != nil {
			return err
		}
	}
	if dataDir, err = filepath.Abs(dataDir); err != nil {
		return fmt.Errorf("localcloud: data directory: %w", err)
	}
	imagesDir := opts.ImagesDir
	if imagesDir == "" {
		imagesDir = DefaultImagesDir(dataDir)
	}
	if imagesDir, err = filepath.Abs(imagesDir); err != nil {
		return fmt.Errorf("localcloud: images directory: %w", err)
	}
	l := layout{dataDir: dataDir, imagesDir: imagesDir}
	if err := checkSocketPath(l.socket()); err != nil {
		return fmt.Errorf("localcloud: %w", err)
	}
	if err := prepareDataDir(dataDir); err != nil {
		return fmt.Errorf("localcloud: %w", err)
	}
	lock, err := lockDataDir(l)
	if err != nil {
		return fmt.Errorf("localcloud: %w", err)
	}
	defer lock.release()
	log = log.With("dataDir", dataDir)

	rt, err := start(ctx, log, l)
	if err != nil {
		return fmt.Errorf("localcloud: start the runtime in %s: %w", dataDir, err)
	}

	_ = os.Remove(l.socket()) // a stale socket: we hold the lock
	ln, err := net.Listen("unix", l.socket())
	if err != nil {
		rt.stop()
		return fmt.Errorf("localcloud: listen on %s: %w", l.socket(), err)
	}
	if err := os.Chmod(l.socket(), 0o600); err != nil {
		_ = ln.Close() // the chmod error is the one to report
		rt.stop()
		return fmt.Errorf("localcloud: chmod %s: %w", l.socket(), err)
	}
	srv := &http.Server{Handler: rt.routes(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	log.Info("local cloud runtime is ready", "socket", l.socket(), "pid", os.Getpid(),
		"postgresPort", rt.pg.port, "nats", rt.nats.url())

	select {
	case <-ctx.Done():
		log.Info("stopping the local cloud runtime", "reason", context.Cause(ctx))
	case <-rt.shutdown:
		log.Info("stopping the local cloud runtime", "reason", "shutdown requested")
	case err = <-serveErr:
		log.Error("the API server stopped", "err", err)
		err = fmt.Errorf("localcloud: serve %s: %w", l.socket(), err)
	}
	// Keep answering status while stopping; refuse changes.
	rt.closing.Store(true)
	rt.stop()
	closeCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(closeCtx)
	_ = os.Remove(l.socket())
	log.Info("local cloud runtime stopped")
	return err
}

// prepareDataDir creates the data directory, private to its owner. A root
// runtime leaves it traversable (0711) so the postgres user can reach its
// cluster inside; nothing in it is readable by others.
func prepareDataDir(dataDir string) error {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return fmt.Errorf("create data directory %s: %w", dataDir, err)
	}
	mode := fs.FileMode(0o700)
	if os.Geteuid() == 0 {
		mode = 0o711
	}
	if err := os.Chmod(dataDir, mode); err != nil {
		return fmt.Errorf("chmod data directory %s: %w", dataDir, err)
	}
	for _, dir := range []string{filepath.Join(dataDir, "logs"), filepath.Join(dataDir, "nats")} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("create %s: %w", dir, err)
		}
	}
	return nil
}

// start brings up PostgreSQL, NATS and the processes of the saved state.
func start(ctx context.Context, log *slog.Logger, l layout) (*runtime, error) {
	state, err := loadState(l.stateFile())
	if err != nil {
		return nil, err
	}
	pg, err := preparePostgres(ctx, l, log.With("component", "postgres"))
	if err != nil {
		return nil, err
	}
	var pgPort, natsPort int
	var warnings []string
	state.read(func(st *desiredState) { pgPort, natsPort = st.PostgresPort, st.NATSPort })
	for _, s := range []struct {
		what string
		port *int
	}{{"PostgreSQL", &pgPort}, {"NATS", &natsPort}} {
		port, warning, err := keepSavedPort(s.what, *s.port)
		if err != nil {
			return nil, err
		}
		if warning != "" {
			log.Warn(warning)
			warnings = append(warnings, warning)
		}
		*s.port = port
	}
	if natsPort == pgPort {
		if natsPort, err = freePort(); err != nil {
			return nil, err
		}
	}
	if err := state.update(func(st *desiredState) error {
		st.PostgresPort, st.NATSPort = pgPort, natsPort
		return nil
	}); err != nil {
		return nil, err
	}

	pg.port = pgPort
	if err := pg.start(ctx); err != nil {
		return nil, err
	}
	nats, err := startNATS(ctx, log, l.natsDir(), natsPort)
	if err != nil {
		pg.stop()
		return nil, err
	}
	rt := &runtime{
		log:       log,
		l:         l,
		pg:        pg,
		nats:      nats,
		databases: &databases{pg: pg, state: state},
		queues:    &queues{nats: nats, state: state},
		topics:    &topics{nats: nats, state: state},
		processes: newProcesses(log, l, l.imagesDir, state),
		shutdown:  make(chan struct{}),
	}
	restored, err := rt.processes.restore()
	if err != nil {
		rt.stop()
		return nil, err
	}
	rt.warnings = append(warnings, restored...)
	return rt, nil
}

// stop stops the processes, then NATS, then PostgreSQL.
func (rt *runtime) stop() {
	rt.processes.stopAll()
	rt.nats.stop()
	rt.pg.stop()
}

func (rt *runtime) requestShutdown() {
	rt.shutdownOnce.Do(func() { close(rt.shutdown) })
}

func (rt *runtime) status() Status {
	var st Status
	st.DataDir = rt.l.dataDir
	st.PID = os.Getpid()
	st.Postgres.Port = rt.pg.port
	st.Postgres.Running = rt.pg.running()
	st.NATS.URL = rt.nats.url()
	st.NATS.Running = rt.nats.running()
	st.Processes = rt.processes.list()
	st.Warnings = rt.warnings
	return st
}

// errClosing answers changes made while the runtime stops.
var errClosing = errors.New("the local cloud runtime is shutting down")
