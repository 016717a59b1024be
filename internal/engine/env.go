package engine

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/tenantfleet/tenantfleet/internal/localcloud"
)

// Environment variables the stack commands read or set for the engine.
const (
	envBackendURL      = "PULUMI_BACKEND_URL"
	envPassphrase      = "PULUMI_CONFIG_PASSPHRASE"
	envPassphraseFile  = "PULUMI_CONFIG_PASSPHRASE_FILE"
	envPulumiHome      = "PULUMI_HOME"
	envSkipUpdateCheck = "PULUMI_SKIP_UPDATE_CHECK"
	envFallbackToState = "PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER"
	envXDGStateHome    = "XDG_STATE_HOME"
)

// pluginBinary is the local cloud's provider plugin, built next to tenantfleet.
const pluginBinary = "pulumi-resource-tenantfleet-local"

// StateDir is where tenantfleet keeps its own state: $XDG_STATE_HOME/tenantfleet,
// or ~/.local/state/tenantfleet when XDG_STATE_HOME is unset or not absolute
// (as the XDG base directory specification says).
func StateDir() (string, error) {
	base := os.Getenv(envXDGStateHome)
	if !filepath.IsAbs(base) {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("find the state directory: %w (set %s)", err, envXDGStateHome)
		}
		base = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(base, "tenantfleet"), nil
}

// engineEnv is everything the stack commands hand the Pulumi engine: which
// backend, which secrets passphrase, which PULUMI_HOME, and a PATH that finds
// the local cloud's provider plugin.
type engineEnv struct {
	stateDir   string
	backendURL string
	// backendSource says where backendURL came from, for messages.
	backendSource string
	// passphraseFile is the generated passphrase file, or "" when the user's
	// PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE is used.
	passphraseFile string
	// vars are set on every pulumi command, on top of this process's environment.
	vars map[string]string
}

// resolveEngineEnv works out the backend, the passphrase, PULUMI_HOME and PATH:
//
//   - backend: the --backend flag, else $PULUMI_BACKEND_URL, else
//     file://<state dir>/state (created when missing);
//   - secrets: the passphrase provider, with the user's
//     PULUMI_CONFIG_PASSPHRASE(_FILE) when set, else a random passphrase
//     generated once into <state dir>/passphrase (mode 0600), passed to the
//     engine as PULUMI_CONFIG_PASSPHRASE_FILE so it never appears in an
//     environment listing;
//   - PULUMI_HOME: the user's when set, else <state dir>/pulumi-home, so the
//     engine never reads or writes ~/.pulumi behind the user's back (plugin
//     cache, selected stack, credentials);
//   - PATH: the directory of the tenantfleet binary (which holds
//     pulumi-resource-tenantfleet-local), then <project dir>/bin, then the
//     directory of the pulumi CLI, then $PATH;
//   - TENANTFLEET_LOCAL_IMAGES: the user's when set (made absolute), else
//     the images directory next to the tenantfleet binary when there is one
//     (`make build` fills bin/images), so the local cloud started on demand
//     finds the example app's image without any set-up. The stack commands
//     also set it in this process (setProcessEnv), where the inline program's
//     local adapter checks the images before anything is created.
func resolveEngineEnv(backendFlag, exeDir, projectDir, pulumiDir string) (*engineEnv, error) {
	stateDir, err := StateDir()
	if err != nil {
		return nil, err
	}
	// A stack file without an encryption salt (a fresh clone's, or the
	// signup service's generated one) takes its secrets manager from the
	// stack's state. Otherwise the engine mints a new salt and then either
	// refuses the right passphrase ("incorrect passphrase") or, with a wrong
	// one, silently re-keys the state.
	e := &engineEnv{stateDir: stateDir, vars: map[string]string{envSkipUpdateCheck: "true", envFallbackToState: "true"}}

	switch {
	case backendFlag != "":
		e.backendURL, e.backendSource = backendFlag, "--backend"
	case os.Getenv(envBackendURL) != "":
		e.backendURL, e.backendSource = os.Getenv(envBackendURL), envBackendURL
	default:
		dir := filepath.Join(stateDir, "state")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create the default backend directory: %w", err)
		}
		e.backendURL, e.backendSource = "file://"+filepath.ToSlash(dir), "default"
	}
	e.vars[envBackendURL] = crashSafeBackend(e.backendURL)

	if !userPassphraseSet() {
		e.passphraseFile = filepath.Join(stateDir, "passphrase")
		if err := ensurePassphraseFile(e.passphraseFile); err != nil {
			return nil, err
		}
		e.vars[envPassphraseFile] = e.passphraseFile
	}

	if os.Getenv(envPulumiHome) == "" {
		home := filepath.Join(stateDir, "pulumi-home")
		if err := os.MkdirAll(home, 0o700); err != nil {
			return nil, fmt.Errorf("create PULUMI_HOME: %w", err)
		}
		e.vars[envPulumiHome] = home
	}

	switch images := os.Getenv(localcloud.EnvImagesDir); {
	case images == "":
		if dir := binaryImagesDir(exeDir); dir != "" {
			e.vars[localcloud.EnvImagesDir] = dir
		}
	case images != "" && !filepath.IsAbs(images):
		// The runtime runs in its data directory: there a relative path
		// would name another directory than the one the user meant.
		abs, err := filepath.Abs(images)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", localcloud.EnvImagesDir, err)
		}
		e.vars[localcloud.EnvImagesDir] = abs
	}

	var path []string
	for _, dir := range []string{exeDir, filepath.Join(projectDir, "bin"), pulumiDir} {
		if info, err := os.Stat(dir); err == nil && info.IsDir() && dir != "" && !slices.Contains(path, dir) {
			path = append(path, dir)
		}
	}
	if p := os.Getenv("PATH"); p != "" {
		path = append(path, p)
	}
	e.vars["PATH"] = strings.Join(path, string(os.PathListSeparator))
	return e, nil
}

// crashSafeBackend returns a file:// backend URL with fileblob's
// metadata=skip, unless the URL sets metadata itself. By default gocloud's
// fileblob, which Pulumi's file backend writes through, keeps each state
// file's attributes in a "<file>.attrs" sidecar that it truncates and then
// rewrites in place (gocloud.dev v0.37 blob/fileblob setAttrs): an engine
// killed in between leaves it empty, and every later operation on the stack
// fails with "failed to load checkpoint: EOF". Pulumi reads no attribute it
// needs from there, and without sidecars each write is a temporary file
// renamed over the old one, which a kill cannot leave half done. Sidecars an
// older run wrote are still read.
func crashSafeBackend(backendURL string) string {
	u, err := url.Parse(backendURL)
	if err != nil || u.Scheme != "file" {
		return backendURL
	}
	q := u.Query()
	if _, set := q["metadata"]; set {
		return backendURL
	}
	q.Set("metadata", "skip")
	u.RawQuery = q.Encode()
	return u.String()
}

// binaryImagesDir is the images directory next to the tenantfleet binary
// (make build fills bin/images), or "" when there is none. Every command that
// may start the local cloud defaults to it, so `local start` and `up` agree.
func binaryImagesDir(exeDir string) string {
	if exeDir == "" {
		return ""
	}
	dir := filepath.Join(exeDir, "images")
	if info, err := os.Stat(dir); err == nil && info.IsDir() {
		return dir
	}
	return ""
}

// setProcessEnv sets in this process what the engine gets that the inline
// program, which runs in this process, must see alike: TENANTFLEET_LOCAL_IMAGES,
// so that the local adapter checks images in the directory the runtime the
// engine starts will use.
func (e *engineEnv) setProcessEnv() error {
	if images, ok := e.vars[localcloud.EnvImagesDir]; ok {
		if err := os.Setenv(localcloud.EnvImagesDir, images); err != nil {
			return fmt.Errorf("set %s: %w", localcloud.EnvImagesDir, err)
		}
	}
	return nil
}

// userPassphraseSet reports whether the user chose the passphrase, the way
// the engine reads it: PULUMI_CONFIG_PASSPHRASE set (even empty), or
// PULUMI_CONFIG_PASSPHRASE_FILE set and not empty.
func userPassphraseSet() bool {
	if _, ok := os.LookupEnv(envPassphrase); ok {
		return true
	}
	return os.Getenv(envPassphraseFile) != ""
}

// ensurePassphraseFile makes sure path holds a passphrase readable only by
// its owner: it generates 32 random bytes (base64) once, and afterwards only
// checks the file and narrows its permissions to 0600 when they are wider.
// The passphrase is never printed or logged.
func ensurePassphraseFile(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create the passphrase directory: %w", err)
	}
	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		if err := createPassphraseFile(path); err != nil {
			return err
		}
	}

	info, err := os.Lstat(path)
	if err != nil {
		return fmt.Errorf("check the secrets passphrase file: %w", err)
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("secrets passphrase file %s is not a regular file", path)
	}
	if info.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(path, 0o600); err != nil {
			return fmt.Errorf("restrict the secrets passphrase file %s to 0600: %w", path, err)
		}
		slog.Warn("secrets passphrase file was readable by others; restricted it to 0600",
			"file", path, "was", info.Mode().Perm().String())
	}
	if info.Size() == 0 {
		return fmt.Errorf("secrets passphrase file %s is empty; restore it from a backup "+
			"(stacks encrypted with it cannot be decrypted without it)", path)
	}
	return nil
}

// createPassphraseFile writes a new random passphrase to path, atomically:
// a concurrent first run either creates it or finds it whole, never empty.
func createPassphraseFile(path string) error {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return fmt.Errorf("generate a secrets passphrase: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".passphrase-*")
	if err != nil {
		return fmt.Errorf("create the secrets passphrase file: %w", err)
	}
	defer func() {
		// Linked to path below, or not wanted after a failure: either way
		// this name goes, and a copy of the passphrase left behind is worth
		// a warning.
		if err := os.Remove(tmp.Name()); err != nil {
			slog.Warn("could not remove a temporary copy of the secrets passphrase; remove it by hand", "file", tmp.Name(), "err", err)
		}
	}()
	_, err = tmp.WriteString(base64.RawURLEncoding.EncodeToString(raw) + "\n")
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o600)
	}
	if err != nil {
		return fmt.Errorf("write the secrets passphrase file: %w", err)
	}
	// Link fails when path exists: then another run created it first.
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create the secrets passphrase file %s: %w", path, err)
	} else if err == nil {
		slog.Info("generated a secrets passphrase; back it up to keep the stacks' secrets readable", "file", path)
	}
	return nil
}

// findPulumi returns the pulumi CLI to drive: next to the tenantfleet binary
// (make puts both in ./bin), else <project dir>/bin, else on $PATH.
func findPulumi(exeDir, projectDir string) (string, error) {
	var tried []string
	for _, dir := range []string{exeDir, filepath.Join(projectDir, "bin")} {
		if dir == "" {
			continue
		}
		candidate := filepath.Join(dir, "pulumi")
		tried = append(tried, candidate)
		if isExecutable(candidate) {
			return candidate, nil
		}
	}
	tried = append(tried, "$PATH")
	if p, err := exec.LookPath("pulumi"); err == nil {
		if abs, err := filepath.Abs(p); err == nil {
			return abs, nil
		}
		return p, nil
	}
	return "", usageErrorf("the pulumi CLI was not found (looked at %s); run `make cli` in the "+
		"tenantfleet checkout to build ./bin/pulumi, or install Pulumi", strings.Join(tried, ", "))
}

func isExecutable(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.Mode().IsRegular() && info.Mode().Perm()&0o111 != 0
}

// FindProjectDir returns the nearest directory upward from start that holds
// a Pulumi.yaml (or Pulumi.yml); its error is a usage error.
func FindProjectDir(start string) (string, error) { return findProjectDir(start) }

// findProjectDir returns the nearest directory upward from start that holds
// a Pulumi.yaml (or Pulumi.yml).
func findProjectDir(start string) (string, error) {
	dir, err := filepath.Abs(start)
	if err != nil {
		return "", err
	}
	for {
		if projectFile(dir) != "" {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", usageErrorf("no Pulumi.yaml in %s or any directory above it; "+
				"run tenantfleet inside the project or pass --project-dir", start)
		}
		dir = parent
	}
}

// projectFile returns the path of dir's Pulumi.yaml or Pulumi.yml, or "".
func projectFile(dir string) string {
	for _, name := range []string{"Pulumi.yaml", "Pulumi.yml"} {
		p := filepath.Join(dir, name)
		if info, err := os.Stat(p); err == nil && info.Mode().IsRegular() {
			return p
		}
	}
	return ""
}
