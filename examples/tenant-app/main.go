// Command tenant-app is tenantfleet's example tenant application: one binary
// that is either the tenant's web app or its worker, written only against the
// environment contract (README "The environment contract"), so the same
// image runs on every cloud.
//
//	tenant-app [web|worker]
//
// The argument overrides TENANTFLEET_WORKLOAD. See README.md next to this file.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/tenantfleet/tenantfleet/queue"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil)).With("app", "tenant-app")
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, log); err != nil {
		log.Error("tenant-app failed", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, log *slog.Logger) error {
	role, err := roleFrom(args, getenv)
	if err != nil {
		return err
	}
	cfg, err := loadConfig(role, getenv)
	if err != nil {
		return err
	}
	log = log.With("tenant", cfg.TenantID, "workload", cfg.Role)
	log.Info("starting", "cloud", cfg.Cloud, "stack", cfg.Stack, "image", cfg.Image, "release", cfg.Release, "database", cfg.DB)

	conns := 1
	if cfg.Role == roleWeb {
		conns = 4
	}
	store, err := newPGStore(cfg.DB, "tenant-app-"+cfg.Role, conns)
	if err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		store.Close(cctx)
	}()

	qc := cfg.Queue
	qc.Name, qc.Logger = "tenant-app-"+cfg.Role, log
	switch cfg.Role {
	case roleWorker:
		q, err := queue.OpenReceiver(ctx, qc)
		if err != nil {
			return err
		}
		defer closeQueue(q, log)
		if cfg.Port == 0 {
			return runWorker(ctx, q, store, log, defaultWorkerOptions())
		}
		// Cloud Run sets PORT in the worker too and counts the revision
		// ready only once something listens there: answer /healthz.
		return runWorkerWithHealth(ctx, ":"+strconv.Itoa(cfg.Port), q, store, log)
	case roleWeb:
		info := appInfo{TenantID: cfg.TenantID, Cloud: cfg.Cloud, Stack: cfg.Stack, Image: cfg.Image, Release: cfg.Release, Workload: cfg.Role, Env: cfg.Shown}
		app := &webApp{info: info, store: store, log: log}
		// The pages work without a queue client; only /api/enqueue needs one.
		if q, err := queue.OpenSender(ctx, qc); err != nil {
			log.Warn("no queue client: POST /api/enqueue answers 503", "err", err)
			app.queueErr = err
		} else {
			defer closeQueue(q, log)
			app.queue = q
		}
		return serveWeb(ctx, ":"+strconv.Itoa(cfg.Port), app, log)
	default:
		return fmt.Errorf("unknown workload %q", cfg.Role)
	}
}

// closeQueue closes the queue client as the app exits; a failure is logged,
// as nothing is left to return it to.
func closeQueue(q interface{ Close() error }, log *slog.Logger) {
	if err := q.Close(); err != nil {
		log.Warn("close the queue client", "err", err)
	}
}

// runWorkerWithHealth runs the worker and, beside it, a listener on addr
// answering GET /healthz, until ctx ends or the listener fails.
func runWorkerWithHealth(ctx context.Context, addr string, q queue.Receiver, store Store, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ok\n")
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("health endpoint listening", "addr", ln.Addr().String())
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- runWorker(wctx, q, store, log, defaultWorkerOptions()) }()
	select {
	case err = <-errc: // the listener failed: stop the worker too
		cancel()
		if werr := <-done; werr != nil {
			log.Warn("worker stopped with an error", "err", werr)
		}
		return err
	case err = <-done:
	}
	sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer scancel()
	_ = srv.Shutdown(sctx)
	return err
}

// serveWeb serves app on addr until ctx ends, then drains requests.
func serveWeb(ctx context.Context, addr string, app *webApp, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           app.routes(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	go func() {
		if err := app.ping(ctx); err != nil {
			log.Warn("database not reachable yet", "err", err)
		} else {
			log.Info("database reachable")
		}
	}()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}
