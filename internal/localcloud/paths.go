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

// EnvImagesDir names the images directory every runtime started while it is
// set uses (unless `tenantfleet local run --images-dir` says otherwise).
const EnvImagesDir = "TENANTFLEET_LOCAL_IMAGES"

// RuntimeImagesDir is the images directory a runtime of dataDir uses when
// it is run by the tenantfleet binary in binDir and nothing chooses one for
// it (no --images-dir): $TENANTFLEET_LOCAL_IMAGES, else <binDir>/images when
// that is a directory (`make build` fills bin/images beside bin/tenantfleet),
// else <dataDir>/images. binDir "" skips the second.
//
// It is the one rule of where images are: the runtime applies it to its
// own binary (`tenantfleet local run`), and a program about to use the
// local cloud applies it, through DefaultImagesDir and ImagesDir, to the
// binary Connect would start, so that both look in the same place whether
// the program runs inside tenantfleet or under a stock `pulumi`.
func RuntimeImagesDir(dataDir, binDir string) string {
	if dir := os.Getenv(EnvImagesDir); dir != "" {
		return dir
	}
	if binDir != "" {
		dir := filepath.Join(binDir, "images")
		if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
			return dir
		}
	}
	return filepath.Join(dataDir, "images")
}

// DefaultImagesDir is the images directory of a runtime of dataDir started
// now from this process: RuntimeImagesDir for the tenantfleet binary Connect
// would run ($TENANTFLEET_BIN, else tenantfleet next to this executable,
// else tenantfleet on PATH; symbolic links resolved, as the runtime resolves
// its own location), or for none when there is no such binary.
//
// Under a stock `pulumi`, the program built to bin/tenantfleet-program
// (Pulumi.yaml buildTarget) finds bin/tenantfleet next to it, as the
// provider plugin bin/pulumi-resource-tenantfleet-local does, so both
// expect bin/images; inside tenantfleet the binary is tenantfleet itself.
func DefaultImagesDir(dataDir string) string {
	binDir := ""
	if bin, err := tenantfleetBinary(); err == nil {
		if resolved, err := filepath.EvalSymlinks(bin); err == nil {
			bin = resolved
		}
		binDir = filepath.Dir(bin)
	}
	return RuntimeImagesDir(dataDir, binDir)
}

// ImagesDir is the images directory the processes of dataDir's local cloud
// come from: the running runtime's own when one serves dataDir (it may have
// been started with another --images-dir; its lock file records it), else
// DefaultImagesDir(dataDir), the one the runtime Connect starts on demand
// would use. It is absolute, and it reads files only: it never calls or
// starts the runtime.
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
