package localcloud

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestImageDir(t *testing.T) {
	t.Parallel()

	images := t.TempDir()
	for _, dir := range []string{"app/latest", "app/1.2", "worker/v3"} {
		if err := os.MkdirAll(filepath.Join(images, dir), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		reason string
		image  string
		want   string // relative to images; "" means an error
		errHas string
	}{
		{"a bare name is its latest tag", "app", "app/latest", ""},
		{"a tag picks the directory", "app:1.2", "app/1.2", ""},
		{"only the repository's last segment counts", "ghcr.io/acme/team/app:1.2", "app/1.2", ""},
		{"a registry port is not a tag", "localhost:5000/app", "app/latest", ""},
		{"a registry port and a tag", "localhost:5000/worker:v3", "worker/v3", ""},
		{"a digest after a tag is ignored", "app:1.2@sha256:abc", "app/1.2", ""},
		{"a digest alone cannot be found", "app@sha256:abc", "", "digest"},
		{"an absent tag names the directory looked in", "app:9", "", filepath.Join(images, "app", "9")},
		{"an absent repository names the directory looked in", "nope", "", filepath.Join(images, "nope", "latest")},
		{"no climbing out of the images directory", "..:x", "", "not an image reference"},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			t.Parallel()

			got, err := ImageDir(images, tc.image)
			if tc.want == "" {
				if err == nil || statusOf(err) != 400 || !strings.Contains(err.Error(), tc.errHas) {
					t.Errorf("ImageDir(%q) = %q, %v; want a 400 containing %q", tc.image, got, err, tc.errHas)
				}
				return
			}
			if want := filepath.Join(images, tc.want); err != nil || got != want {
				t.Errorf("ImageDir(%q) = %q, %v; want %q", tc.image, got, err, want)
			}
		})
	}
}

func TestResolveCommand(t *testing.T) {
	t.Parallel()

	files := map[string]os.FileMode{"entrypoint": 0o755, "app/worker": 0o755, "data.txt": 0o644}
	// image writes the files but those left out into a new directory.
	image := func(leaveOut ...string) string {
		dir := t.TempDir()
		for path, mode := range files {
			if slices.Contains(leaveOut, path) {
				continue
			}
			full := filepath.Join(dir, path)
			if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(full, []byte("#!/bin/sh\n"), mode); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	dir := image()
	cases := []struct {
		reason   string
		command  []string
		wantPath string
		wantArgs []string
		errField string
	}{
		{"no command runs the entrypoint", nil, filepath.Join(dir, "entrypoint"), nil, ""},
		{"an absolute command is inside the image", []string{"/app/worker", "-v"}, filepath.Join(dir, "app/worker"), []string{"-v"}, ""},
		{"a relative command is inside the image", []string{"app/worker"}, filepath.Join(dir, "app/worker"), nil, ""},
		{"no climbing out of the image", []string{"../../bin/sh"}, "", nil, "command[0]"},
		{"a bare name absent from the image is looked up on PATH", []string{"sh", "-c", "true"}, "", []string{"-c", "true"}, ""},
		{"a file that is not executable", []string{"/data.txt"}, "", nil, "command[0]"},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			t.Parallel()

			path, args, err := resolveCommand(dir, tc.command)
			if tc.errField != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.errField+":") {
					t.Errorf("resolveCommand(%q) = %q, %v; want an error about %s", tc.command, path, err, tc.errField)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantPath != "" && path != tc.wantPath {
				t.Errorf("path = %q, want %q", path, tc.wantPath)
			}
			if tc.wantPath == "" && !filepath.IsAbs(path) {
				t.Errorf("path = %q, want an absolute path from PATH", path)
			}
			if !slices.Equal(args, tc.wantArgs) {
				t.Errorf("args = %q, want %q", args, tc.wantArgs)
			}
		})
	}
	// The same image without its entrypoint (its own directory: the cases
	// above run in parallel, after this function returns).
	bare := image("entrypoint")
	if _, _, err := resolveCommand(bare, nil); err == nil || !strings.Contains(err.Error(), filepath.Join(bare, "entrypoint")) {
		t.Errorf("without an entrypoint: %v; want an error naming it", err)
	}
}

func TestCheckImage(t *testing.T) {
	t.Parallel()

	images := t.TempDir()
	for path, mode := range map[string]os.FileMode{"app/1/entrypoint": 0o755, "app/1/bin/worker": 0o755, "bare/1/README": 0o644} {
		full := filepath.Join(images, path)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		reason   string
		image    string
		command  []string
		errField string // "" = accepted
		errHas   string
	}{
		{"the entrypoint runs", "app:1", nil, "", ""},
		{"a command path in the image", "app:1", []string{"/bin/worker"}, "", ""},
		{"a bare name may come from the runtime's PATH", "bare:1", []string{"no-such-program-anywhere"}, "", ""},
		{"an absent image names the directory", "app:2", nil, "image", filepath.Join(images, "app", "2")},
		{"no entrypoint", "bare:1", nil, "image", filepath.Join(images, "bare", "1", "entrypoint")},
		{"a command path not in the image", "app:1", []string{"/bin/nope"}, "command[0]", filepath.Join(images, "app", "1", "bin", "nope")},
		{"a digest alone", "app@sha256:abc", nil, "image", "digest"},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			t.Parallel()

			err := CheckImage(images, tc.image, tc.command)
			if tc.errField == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var ie *ImageError
			if !errors.As(err, &ie) || ie.Field != tc.errField || !strings.Contains(ie.Reason, tc.errHas) || statusOf(err) != 400 {
				t.Errorf("CheckImage(%q, %q) = %v; want a 400 *ImageError on %s containing %q", tc.image, tc.command, err, tc.errField, tc.errHas)
			}
		})
	}
}

// TestImagesDir: the running runtime's images directory wins (it was
// chosen when it started); without one, the one a new runtime would use.
func TestImagesDir(t *testing.T) {
	dataDir, env, running := t.TempDir(), filepath.Join(t.TempDir(), "env-images"), filepath.Join(t.TempDir(), "run-images")
	hermeticImages(t)
	if got, err := ImagesDir(dataDir); err != nil || got != filepath.Join(dataDir, "images") {
		t.Errorf("no runtime, no variable: %q, %v; want <data dir>/images", got, err)
	}
	t.Setenv("TENANTFLEET_LOCAL_IMAGES", env)
	if got, err := ImagesDir(dataDir); err != nil || got != env {
		t.Errorf("no runtime: %q, %v; want $TENANTFLEET_LOCAL_IMAGES %s", got, err, env)
	}
	lock, err := lockDataDir(layout{dataDir: dataDir, imagesDir: running})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := ImagesDir(dataDir); err != nil || got != running {
		t.Errorf("a runtime holds the data directory: %q, %v; want its images directory %s", got, err, running)
	}
	if pid := lockHolder(layout{dataDir: dataDir}); pid != strconv.Itoa(os.Getpid()) {
		t.Errorf("lock holder = %q, want this process", pid)
	}
	lock.release()
	if got, err := ImagesDir(dataDir); err != nil || got != env {
		t.Errorf("after the runtime stopped: %q, %v; want %s again", got, err, env)
	}
}

// TestKeepSavedPort: a saved port another program took is replaced, with
// a warning that says what is stale and what to run.
func TestKeepSavedPort(t *testing.T) {
	t.Parallel()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() }) // closed below; again when the test fails first
	taken := ln.Addr().(*net.TCPAddr).Port

	port, warning, err := keepSavedPort("PostgreSQL", taken)
	if err != nil || port == taken || port == 0 {
		t.Fatalf("keepSavedPort(taken %d) = %d, %v; want another port", taken, port, err)
	}
	for _, want := range []string{"PostgreSQL", strconv.Itoa(taken), "taken by another program", strconv.Itoa(port), "tenantfleet refresh", "tenantfleet up"} {
		if !strings.Contains(warning, want) {
			t.Errorf("the warning does not say %q: %s", want, warning)
		}
	}
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	if again, warning, err := keepSavedPort("PostgreSQL", port); err != nil || again != port || warning != "" {
		t.Errorf("a free saved port: %d, %q, %v; want it kept silently", again, warning, err)
	}
	if _, warning, err := keepSavedPort("NATS", 0); err != nil || warning != "" {
		t.Errorf("no saved port (first start): %q, %v; want no warning", warning, err)
	}
}

func TestValidateName(t *testing.T) {
	t.Parallel()

	cases := []struct {
		name string
		want string // "" = valid
	}{
		{"tenant-a_1", ""},
		{strings.Repeat("a", 63), ""},
		{"", "name: must not be empty"},
		{strings.Repeat("a", 64), "name: must be at most 63 bytes"},
		{"A B", `name: must be lowercase letters, digits, - or _ (got "A B")`},
		{"a.b", `(got "a.b")`},
		{"a/b", `(got "a/b")`},
		{"é", `(got "é")`},
	}
	for _, tc := range cases {
		err := validateName("name", tc.name)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("validateName(%q) = %v, want valid", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || statusOf(err) != 400):
			t.Errorf("validateName(%q) = %v, want a 400 containing %q", tc.name, err, tc.want)
		}
	}
}

func TestProcessEnv(t *testing.T) {
	t.Setenv("PATH", "/usr/bin:/bin")
	t.Setenv("HOME", "/home/x")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "from-the-runtime")
	t.Setenv("LANG", "C.UTF-8")
	env := processEnv(ProcessSpec{Web: true, Env: map[string]string{"PORT": "1", "HOME": "/app", "A": "b"}}, 8080)
	want := []string{"A=b", "HOME=/app", "LANG=C.UTF-8", "PATH=/usr/bin:/bin", "PORT=8080"}
	if tz, ok := os.LookupEnv("TZ"); ok {
		want = append(want, "TZ="+tz)
	}
	if !slices.Equal(env, want) {
		t.Errorf("processEnv = %q, want %q (the spec overrides the runtime, PORT is the runtime's, nothing else leaks)", env, want)
	}
	if env := processEnv(ProcessSpec{}, 0); slices.ContainsFunc(env, func(kv string) bool { return strings.HasPrefix(kv, "PORT=") }) {
		t.Errorf("a worker got PORT: %q", env)
	}
}

func TestDefaultDataDir(t *testing.T) {
	t.Setenv("TENANTFLEET_LOCAL_DIR", "")
	t.Setenv("XDG_STATE_HOME", "/state")
	if got, err := DefaultDataDir(); err != nil || got != "/state/tenantfleet/local" {
		t.Errorf("with XDG_STATE_HOME: %q, %v", got, err)
	}
	t.Setenv("XDG_STATE_HOME", "")
	t.Setenv("HOME", "/home/u")
	if got, err := DefaultDataDir(); err != nil || got != "/home/u/.local/state/tenantfleet/local" {
		t.Errorf("with HOME: %q, %v", got, err)
	}
	t.Setenv("TENANTFLEET_LOCAL_DIR", "/explicit")
	if got, err := DefaultDataDir(); err != nil || got != "/explicit" {
		t.Errorf("with TENANTFLEET_LOCAL_DIR: %q, %v", got, err)
	}
	if got := SocketPath("/d"); got != "/d/runtime.sock" {
		t.Errorf("SocketPath = %q", got)
	}
	hermeticImages(t)
	if got := DefaultImagesDir("/d"); got != "/d/images" {
		t.Errorf("DefaultImagesDir = %q", got)
	}
	t.Setenv("TENANTFLEET_LOCAL_IMAGES", "/imgs")
	if got := DefaultImagesDir("/d"); got != "/imgs" {
		t.Errorf("DefaultImagesDir with TENANTFLEET_LOCAL_IMAGES = %q", got)
	}
}

func TestStateIsPrivateAndAtomic(t *testing.T) {
	t.Parallel()

	path := filepath.Join(t.TempDir(), "state.json")
	s, err := loadState(path)
	if err != nil {
		t.Fatal(err)
	}
	err = s.update(func(st *desiredState) error {
		st.Processes["p"] = processState{Spec: ProcessSpec{Name: "p", Env: map[string]string{"K": "v"}}, Port: 1234}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}
	// A failing change leaves the state as it was, on disk and in memory.
	boom := errors.New("boom")
	if err := s.update(func(st *desiredState) error { delete(st.Processes, "p"); return boom }); !errors.Is(err, boom) {
		t.Fatalf("update = %v", err)
	}
	again, err := loadState(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range []*stateStore{s, again} {
		st.read(func(d *desiredState) {
			if d.Processes["p"].Port != 1234 || d.Processes["p"].Spec.Env["K"] != "v" {
				t.Errorf("state = %+v", d.Processes)
			}
		})
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("temporary files left beside the state: %v", entries)
	}
}

func TestPostgresUserReach(t *testing.T) {
	t.Parallel()

	if os.Geteuid() != 0 {
		t.Skip("only a root runtime runs PostgreSQL as another user")
	}
	owner, err := currentPGOwner()
	if err != nil {
		t.Skip(err)
	}
	root := t.TempDir() // 0700, as is the test's directory holding it
	dir := filepath.Join(root, "a", "b")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if owner.canReach(dir) {
		t.Errorf("canReach(%s) through a 0700 directory = true", dir)
	}
	for _, d := range []string{filepath.Dir(root), root} {
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	if !owner.canReach(dir) {
		t.Errorf("canReach(%s) after chmod 0711 = false", dir)
	}
}

func TestReadTail(t *testing.T) {
	t.Parallel()

	path := filepath.Join(t.TempDir(), "log")
	if err := os.WriteFile(path, []byte("old line\nfirst\nsecond\nthird\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := readTail(path, 9, 4096); got != "first\nsecond\nthird\n" {
		t.Errorf("from an offset: %q", got)
	}
	if got := readTail(path, 0, 14); got != "second\nthird\n" {
		t.Errorf("limited: %q, want whole lines", got)
	}
	if got := readTail(path, 30, 4096); got != "(nothing)" {
		t.Errorf("past the end: %q", got)
	}
}

// A root runtime whose data directory the postgres user cannot reach (the
// default one under /root, or a 0700 temporary directory) keeps its cluster
// under /var/lib/tenantfleet/local; a temporary one's is removed once its
// data directory is gone.
func TestRootClusterOutsideAnUnreachableDataDir(t *testing.T) {
	t.Parallel()

	if os.Geteuid() != 0 {
		t.Skip("only a root runtime runs PostgreSQL as another user")
	}
	if _, err := findPostgresBinDir(); err != nil {
		t.Skip(err)
	}
	root := t.TempDir() // 0700: unreachable for postgres
	l := layout{dataDir: filepath.Join(root, "data")}
	if err := prepareDataDir(l.dataDir); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	pg, err := preparePostgres(ctxTimeout(t, 90*time.Second), l, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(pg.base) }) // best effort
	if !strings.HasPrefix(pg.base, rootClustersDir+"/pg-") {
		t.Fatalf("cluster base = %s, want it under %s", pg.base, rootClustersDir)
	}
	if target, err := os.Readlink(l.postgresDir()); err != nil || target != pg.base {
		t.Errorf("%s links to %q (%v), want %s", l.postgresDir(), target, err, pg.base)
	}
	if _, err := os.Stat(filepath.Join(pg.base, "data", "PG_VERSION")); err != nil {
		t.Errorf("initdb did not run: %v", err)
	}
	// The same data directory finds the same cluster again.
	again, err := preparePostgres(ctxTimeout(t, 90*time.Second), l, log)
	if err != nil || again.base != pg.base {
		t.Errorf("second prepare: base %v, %v; want %s", again, err, pg.base)
	}

	removeTempClusters(log)
	if _, err := os.Stat(pg.base); err != nil {
		t.Fatalf("the cluster of an existing data directory was removed: %v", err)
	}
	if err := os.RemoveAll(root); err != nil {
		t.Fatal(err)
	}
	removeTempClusters(log)
	if _, err := os.Stat(pg.base); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the cluster of a deleted temporary data directory is still there: %v", err)
	}
}
