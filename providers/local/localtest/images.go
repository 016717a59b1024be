package localtest

import (
	"os"
	"path/filepath"
	"testing"
)

// Images prepares, for a test that runs the local adapter in-process, the
// images its specs name, as a machine running the stack would have them
// (the adapter refuses a tenant whose image is not there): it sets
// TENANTFLEET_LOCAL_DIR to an empty data directory, where no runtime runs,
// and TENANTFLEET_LOCAL_IMAGES to a new images directory holding programs,
// each an executable file at a path relative to it
// (<repository's last path segment>/<tag>/entrypoint, or a path a command
// names, like tenant-app/1.0.0/app/worker). It returns the images directory.
// It uses tb.Setenv: the test may not run in parallel.
func Images(tb testing.TB, programs ...string) string {
	tb.Helper()
	base := tb.TempDir()
	images := filepath.Join(base, "images")
	for _, p := range programs {
		path := filepath.Join(images, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	tb.Setenv("TENANTFLEET_LOCAL_DIR", filepath.Join(base, "local"))
	tb.Setenv("TENANTFLEET_LOCAL_IMAGES", images)
	return images
}

// ScenarioImages are the programs of the conformance scenario's images
// (providers/conformance), for Images.
var ScenarioImages = []string{
	"tenant-app/1.0.0/entrypoint",
	"tenant-app/1.0.0/app/worker",
	"tenant-worker/2.1.0/entrypoint",
}
