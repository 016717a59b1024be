// Command pulumi-resource-tenantfleet-local is the Pulumi resource provider
// plugin of tenantfleet's local cloud. The engine starts it (it finds the
// binary on PATH or in its plugin cache); it serves the Database, Queue,
// Topic, Subscription and Process resources of package tenantfleet-local and
// drives the local cloud runtime of the data directory
// $TENANTFLEET_LOCAL_DIR (inherited from the engine; see
// localcloud.DefaultDataDir), starting the runtime on the first call that
// needs it.
//
// Logs go to stderr, which the engine shows to the user, so only warnings
// and errors are logged unless TENANTFLEET_LOG_LEVEL is debug or info.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/tenantfleet/tenantfleet/cmd/pulumi-resource-tenantfleet-local/localprovider"
	"github.com/tenantfleet/tenantfleet/internal/localcloud"
)

func main() {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: logLevel()})))
	prov, err := localprovider.New(connect)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", localprovider.Name, err)
		os.Exit(1)
	}
	if err := prov.Run(context.Background(), localprovider.Name, localprovider.Version); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", localprovider.Name, err)
		os.Exit(1)
	}
}

// connect opens the runtime of the default data directory, starting it on demand.
func connect(ctx context.Context) (localcloud.API, error) {
	dir, err := localcloud.DefaultDataDir()
	if err != nil {
		return nil, err
	}
	slog.Debug("connecting to the local cloud runtime", "dataDir", dir)
	return localcloud.Connect(ctx, dir)
}

func logLevel() slog.Level {
	switch strings.ToLower(os.Getenv("TENANTFLEET_LOG_LEVEL")) {
	case "debug":
		return slog.LevelDebug
	case "info":
		return slog.LevelInfo
	case "error":
		return slog.LevelError
	}
	return slog.LevelWarn
}
