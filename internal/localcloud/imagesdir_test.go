package localcloud

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// hermeticImages makes the images lookup depend on the test alone: no
// $TENANTFLEET_LOCAL_IMAGES, no $TENANTFLEET_BIN, and a PATH holding no
// tenantfleet (the test binary's own directory holds none either).
func hermeticImages(t *testing.T) {
	t.Helper()
	t.Setenv(EnvImagesDir, "")
	t.Setenv("TENANTFLEET_BIN", "")
	t.Setenv("PATH", t.TempDir())
}

// mkdirs creates root and each directory under it, and returns root.
func mkdirs(t *testing.T, root string, dirs ...string) string {
	t.Helper()
	for _, d := range append([]string{"."}, dirs...) {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// fakeTenantfleet writes an executable named tenantfleet into dir.
func fakeTenantfleet(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(mkdirs(t, dir), "tenantfleet")
	if err := os.WriteFile(path, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestRuntimeImagesDir: the one rule of the runtime's images directory,
// for the tenantfleet binary in binDir.
func TestRuntimeImagesDir(t *testing.T) {
	dataDir := "/data"
	withImages := mkdirs(t, t.TempDir(), "images")
	imagesIsAFile := t.TempDir()
	if err := os.WriteFile(filepath.Join(imagesIsAFile, "images"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		reason string
		env    string
		binDir string
		want   string
	}{
		{"the variable wins over images next to the binary", "/env-images", withImages, "/env-images"},
		{"images next to the binary (make build's bin/images)", "", withImages, filepath.Join(withImages, "images")},
		{"no images directory next to the binary", "", t.TempDir(), "/data/images"},
		{"a file named images is not an images directory", "", imagesIsAFile, "/data/images"},
		{"no binary known", "", "", "/data/images"},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			t.Setenv(EnvImagesDir, tc.env)
			if got := RuntimeImagesDir(dataDir, tc.binDir); got != tc.want {
				t.Errorf("RuntimeImagesDir(%q, %q) = %q, want %q", dataDir, tc.binDir, got, tc.want)
			}
		})
	}
}

// TestDefaultImagesDir: a program applies the runtime's rule to the
// tenantfleet binary Connect would start.
//
//nolint:paralleltest // each case sets the environment with t.Setenv (hermeticImages).
func TestDefaultImagesDir(t *testing.T) {
	dataDir := t.TempDir()
	cases := []struct {
		reason string
		// setup prepares the machine and returns the images directory wanted.
		setup func(t *testing.T) string
	}{
		{"no tenantfleet anywhere: <data dir>/images", func(*testing.T) string {
			return filepath.Join(dataDir, "images")
		}},
		{"$TENANTFLEET_BIN's directory holds images", func(t *testing.T) string {
			dir := mkdirs(t, t.TempDir(), "images")
			t.Setenv("TENANTFLEET_BIN", fakeTenantfleet(t, dir))
			return filepath.Join(dir, "images")
		}},
		{"$TENANTFLEET_BIN's directory holds none: not the images of a tenantfleet on PATH", func(t *testing.T) string {
			onPath := mkdirs(t, t.TempDir(), "images")
			fakeTenantfleet(t, onPath)
			t.Setenv("PATH", onPath)
			t.Setenv("TENANTFLEET_BIN", fakeTenantfleet(t, t.TempDir()))
			return filepath.Join(dataDir, "images")
		}},
		{"$TENANTFLEET_BIN is a link: the images next to the binary it names, as the runtime resolves itself", func(t *testing.T) string {
			target := mkdirs(t, t.TempDir(), "images")
			link := filepath.Join(t.TempDir(), "tenantfleet")
			if err := os.Symlink(fakeTenantfleet(t, target), link); err != nil {
				t.Fatal(err)
			}
			t.Setenv("TENANTFLEET_BIN", link)
			return filepath.Join(target, "images")
		}},
		{"tenantfleet on PATH with images next to it", func(t *testing.T) string {
			dir := mkdirs(t, t.TempDir(), "images")
			fakeTenantfleet(t, dir)
			t.Setenv("PATH", dir)
			return filepath.Join(dir, "images")
		}},
		{"$TENANTFLEET_LOCAL_IMAGES wins over the binary's images", func(t *testing.T) string {
			dir := mkdirs(t, t.TempDir(), "images")
			t.Setenv("TENANTFLEET_BIN", fakeTenantfleet(t, dir))
			t.Setenv(EnvImagesDir, "/env-images")
			return "/env-images"
		}},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			hermeticImages(t)
			want := tc.setup(t)
			if got := DefaultImagesDir(dataDir); got != want {
				t.Errorf("DefaultImagesDir = %q, want %q", got, want)
			}
			if got, err := ImagesDir(dataDir); err != nil || got != want {
				t.Errorf("ImagesDir with no runtime running = %q, %v; want %q", got, err, want)
			}
		})
	}
}

// TestImagesDirRunningRuntimeWins: a running runtime's own images
// directory, recorded in its lock file, wins over every default; a lock
// file nobody holds any more (a runtime that stopped or crashed) does not.
func TestImagesDirRunningRuntimeWins(t *testing.T) {
	hermeticImages(t)
	dataDir, running := t.TempDir(), filepath.Join(t.TempDir(), "run-images")
	bin := mkdirs(t, t.TempDir(), "images")
	t.Setenv("TENANTFLEET_BIN", fakeTenantfleet(t, bin))
	t.Setenv(EnvImagesDir, "/env-images")

	lock, err := lockDataDir(layout{dataDir: dataDir, imagesDir: running})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := ImagesDir(dataDir); err != nil || got != running {
		t.Errorf("a runtime holds the data directory: %q, %v; want its images directory %s", got, err, running)
	}
	lock.release()
	if got, err := ImagesDir(dataDir); err != nil || got != "/env-images" {
		t.Errorf("the lock file left by a stopped runtime: %q, %v; want $%s again", got, err, EnvImagesDir)
	}
	t.Setenv(EnvImagesDir, "")
	if got, err := ImagesDir(dataDir); err != nil || got != filepath.Join(bin, "images") {
		t.Errorf("the lock file left by a stopped runtime, no variable: %q, %v; want %s", got, err, filepath.Join(bin, "images"))
	}
}

// imagesHelperEnv makes TestImagesDirHelperProcess print ImagesDir of the
// data directory it names.
const imagesHelperEnv = "LOCALCLOUD_TEST_IMAGES_OF"

// TestImagesDirHelperProcess is not a test: run by
// TestImagesDirBesideTheProgram as a copy of the test binary, it prints
// what ImagesDir says in that process.
func TestImagesDirHelperProcess(t *testing.T) {
	t.Parallel()

	dataDir := os.Getenv(imagesHelperEnv)
	if dataDir == "" {
		t.Skip("helper process of TestImagesDirBesideTheProgram")
	}
	dir, err := ImagesDir(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stdout.WriteString("images=" + dir + "\n"); err != nil {
		t.Fatal(err)
	}
}

// TestImagesDirBesideTheProgram: the layout a stock `pulumi up` runs, with
// the program built to bin/tenantfleet-program (Pulumi.yaml buildTarget)
// and nothing in the environment: the program checks images in bin/images,
// where the runtime that the plugin (bin/pulumi-resource-tenantfleet-local)
// starts from bin/tenantfleet looks for them, not in <data dir>/images.
func TestImagesDirBesideTheProgram(t *testing.T) {
	t.Parallel()

	cases := []struct {
		reason      string
		tenantfleet bool // bin/tenantfleet exists
		images      bool // bin/images exists
		want        func(bin, dataDir string) string
	}{
		{"make build's layout: bin/tenantfleet and bin/images", true, true,
			func(bin, _ string) string { return filepath.Join(bin, "images") }},
		{"bin/images without bin/tenantfleet: no runtime would use it", false, true,
			func(_, dataDir string) string { return filepath.Join(dataDir, "images") }},
		{"bin/tenantfleet without bin/images", true, false,
			func(_, dataDir string) string { return filepath.Join(dataDir, "images") }},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			t.Parallel()

			bin, dataDir := filepath.Join(t.TempDir(), "bin"), t.TempDir()
			mkdirs(t, bin)
			if tc.images {
				mkdirs(t, bin, "images")
			}
			if tc.tenantfleet {
				fakeTenantfleet(t, bin)
			}
			program := filepath.Join(bin, "tenantfleet-program")
			copyExecutable(t, testBinary(t), program)

			cmd := exec.Command(program, "-test.run=^TestImagesDirHelperProcess$", "-test.count=1")
			cmd.Env = append(withoutVars(os.Environ(), EnvImagesDir, "TENANTFLEET_BIN", "PATH"),
				"PATH="+t.TempDir(), imagesHelperEnv+"="+dataDir)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%s: %v\n%s", program, err, out)
			}
			want := "images=" + tc.want(bin, dataDir) + "\n"
			if !strings.Contains(string(out), want) {
				t.Errorf("the program in %s printed:\n%s\nwant %q", bin, out, want)
			}
		})
	}
}

// copyExecutable makes dst a copy of src (a hard link when it can).
func copyExecutable(t *testing.T, src, dst string) {
	t.Helper()
	if err := os.Link(src, dst); err == nil {
		return
	}
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = in.Close() }() // read-only
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// withoutVars is env without the variables named.
func withoutVars(env []string, names ...string) []string {
	var out []string
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		drop := false
		for _, n := range names {
			drop = drop || name == n
		}
		if !drop {
			out = append(out, kv)
		}
	}
	return out
}
