package localcloud

import (
	"fmt"
	"os"
	"path/filepath"
)

// maxSocketPath is the longest path a unix socket may have on Linux
// (sun_path is 108 bytes including the terminating NUL).
const maxSocketPath = 107

// DefaultDataDir is the runtime's data directory: $TENANTFLEET_LOCAL_DIR,
// else $XDG_STATE_HOME/tenantfleet/local, else ~/.local/state/tenantfleet/local.
func DefaultDataDir() (string, error) {
	if dir := os.Getenv("TENANTFLEET_LOCAL_DIR"); dir != "" {
		return filepath.Abs(dir)
	}
	if state := os.Getenv("XDG_STATE_HOME"); state != "" {
		return filepath.Abs(filepath.Join(state, "tenantfleet", "local"))
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("localcloud: find the data directory: set TENANTFLEET_LOCAL_DIR: %w", err)
	}
	return filepath.Join(home, ".local", "state", "tenantfleet", "local"), nil
}

// SocketPath is the unix socket the runtime of dataDir serves its API on.
func SocketPath(dataDir string) string {
	return filepath.Join(dataDir, "runtime.sock")
}

// DefaultImagesDir is where process images are looked up:
// $TENANTFLEET_LOCAL_IMAGES, else <dataDir>/images.
func DefaultImagesDir(dataDir string) string {
	if dir := os.Getenv("TENANTFLEET_LOCAL_IMAGES"); dir != "" {
		return dir
	}
	return filepath.Join(dataDir, "images")
}

// ImagesDir is the images directory the processes of dataDir's local cloud
// come from: the running runtime's own when one serves dataDir (it may have
// been started with another --images-dir), else DefaultImagesDir(dataDir),
// the one a runtime started now would use. It is absolute, and it reads
// files only: it never calls or starts the runtime.
func ImagesDir(dataDir string) (string, error) {
	dataDir, err := filepath.Abs(dataDir)
	if err != nil {
		return "", fmt.Errorf("localcloud: data directory: %w", err)
	}
	if dir := runningImagesDir(layout{dataDir: dataDir}); dir != "" {
		return dir, nil
	}
	dir, err := filepath.Abs(DefaultImagesDir(dataDir))
	if err != nil {
		return "", fmt.Errorf("localcloud: images directory: %w", err)
	}
	return dir, nil
}

// layout names every path the runtime uses inside its data directory.
type layout struct {
	dataDir   string
	imagesDir string
}

func (l layout) socket() string      { return SocketPath(l.dataDir) }
func (l layout) lockFile() string    { return filepath.Join(l.dataDir, "runtime.lock") }
func (l layout) stateFile() string   { return filepath.Join(l.dataDir, "state.json") }
func (l layout) logsDir() string     { return filepath.Join(l.dataDir, "logs") }
func (l layout) natsDir() string     { return filepath.Join(l.dataDir, "nats") }
func (l layout) postgresDir() string { return filepath.Join(l.dataDir, "postgres") }
func (l layout) postgresLog() string { return filepath.Join(l.dataDir, "postgres.log") }

// processLog is the log file of the supervised process name.
func (l layout) processLog(name string) string {
	return filepath.Join(l.logsDir(), name+".log")
}

// checkSocketPath fails when path cannot be bound as a unix socket.
func checkSocketPath(path string) error {
	if len(path) > maxSocketPath {
		return fmt.Errorf("unix socket path %s is %d bytes, longer than the %d the system allows: use a shorter data directory (TENANTFLEET_LOCAL_DIR)",
			path, len(path), maxSocketPath)
	}
	return nil
}
