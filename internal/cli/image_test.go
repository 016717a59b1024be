package cli

import (
	"bytes"
	"encoding/base64"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// writeTestImage writes a small random image as an OCI layout at
// dir/<layoutName> and as a docker-load tarball at dir/<layoutName>.tar,
// and returns its digest (the layout's).
func writeTestImage(t *testing.T, dir, layoutName string) v1.Hash {
	t.Helper()
	img, err := random.Image(512, 2)
	if err != nil {
		t.Fatal(err)
	}
	lp, err := layout.Write(filepath.Join(dir, layoutName), empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	if err := tarball.WriteToFile(filepath.Join(dir, layoutName+".tar"), name.MustParseReference("tenantfleet/test:dev"), img); err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// isolateLogins points the docker, podman and crane login configuration at
// an empty home, and returns where config.json goes.
func isolateLogins(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("DOCKER_CONFIG", filepath.Join(home, ".docker"))
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	t.Setenv("XDG_RUNTIME_DIR", filepath.Join(home, "run"))
	t.Setenv("REGISTRY_AUTH_FILE", filepath.Join(home, "auth.json"))
	return filepath.Join(home, ".docker", "config.json")
}

// `image push` finds an image by name or path, logs in with the docker
// config's credentials (authn.DefaultKeychain), and prints the digest
// reference a pull by digest finds.
//
//nolint:paralleltest // t.Setenv; App.Run sets the process-wide slog default.
func TestImagePush(t *testing.T) {
	dir := t.TempDir()
	digest := writeTestImage(t, dir, "tenant-app")
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "pusher" || p != "s3cret" {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	creds := &authn.Basic{Username: "pusher", Password: "s3cret"}
	configJSON := isolateLogins(t)

	run := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		app := &App{Stdout: &stdout, Stderr: &stderr}
		code := app.Run(t.Context(), args)
		if strings.Contains(stdout.String()+stderr.String(), "s3cret") {
			t.Errorf("tenantfleet %v: the password is in the output:\n%s%s", args, stdout.String(), stderr.String())
		}
		return code, stdout.String(), stderr.String()
	}

	t.Run("without a login", func(t *testing.T) {
		code, stdout, stderr := run("image", "push", "tenant-app", host+"/team/tenant-app:v1", "--dir", dir)
		want := "401 Unauthorized"
		hint := "log in to " + host + " first, or again: tenantfleet image push --help says how"
		if code != ExitFailed || stdout != "" || !strings.Contains(stderr, want) || !strings.Contains(stderr, hint) {
			t.Errorf("exit %d, stdout %q, stderr %q; want exit %d, %q and %q", code, stdout, stderr, ExitFailed, want, hint)
		}
	})

	if err := os.MkdirAll(filepath.Dir(configJSON), 0o700); err != nil {
		t.Fatal(err)
	}
	auth := base64.StdEncoding.EncodeToString([]byte("pusher:s3cret"))
	if err := os.WriteFile(configJSON, []byte(`{"auths":{"`+host+`":{"auth":"`+auth+`"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}

	pushes := []struct {
		reason string
		image  string
		tag    string
		digest string // "" for whatever the image is
	}{
		{"by name, from --dir", "tenant-app", "v1", digest.String()},
		{"a layout's path", filepath.Join(dir, "tenant-app"), "v2", digest.String()},
		{"a tarball's path", filepath.Join(dir, "tenant-app.tar"), "v3", ""},
	}
	for _, p := range pushes {
		t.Run(p.reason, func(t *testing.T) {
			ref := host + "/team/tenant-app:" + p.tag
			code, stdout, stderr := run("image", "push", p.image, ref, "--dir", dir)
			if code != ExitOK {
				t.Fatalf("exit %d:\n%s", code, stderr)
			}
			printed, err := name.NewDigest(strings.TrimSuffix(stdout, "\n"))
			if err != nil {
				t.Fatalf("stdout %q is not a digest reference: %v", stdout, err)
			}
			if printed.Context().String() != host+"/team/tenant-app" || p.digest != "" && printed.DigestStr() != p.digest {
				t.Errorf("printed %s, want %s/team/tenant-app@%s", printed, host, p.digest)
			}
			pulled, err := remote.Image(printed, remote.WithAuth(creds))
			if err != nil {
				t.Fatal(err)
			}
			if d, err := pulled.Digest(); err != nil || d.String() != printed.DigestStr() {
				t.Errorf("pulled %s: digest %v (%v)", printed, d, err)
			}
			tag, err := name.NewTag(ref)
			if err != nil {
				t.Fatal(err)
			}
			if desc, err := remote.Head(tag, remote.WithAuth(creds)); err != nil || desc.Digest.String() != printed.DigestStr() {
				t.Errorf("HEAD %s: %v (%v), want %s", ref, desc, err, printed.DigestStr())
			}
		})
	}
}

// Bad input to the image commands is a usage error (exit 2) naming the
// argument, flag or variable that is wrong.
//
//nolint:paralleltest // t.Setenv; App.Run sets the process-wide slog default.
func TestImageUsageErrors(t *testing.T) {
	dir := t.TempDir()
	writeTestImage(t, dir, "some-layout")
	notBuilt := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	notImage := filepath.Join(dir, "not-an-image.txt")
	scripts := filepath.Join(dir, "scripts")
	if err := os.MkdirAll(scripts, 0o755); err != nil {
		t.Fatal(err)
	}
	for path, content := range map[string]string{
		ca: "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n", notImage: "hello\n",
		filepath.Join(scripts, "tenant-app"): "#!/bin/sh\n", filepath.Join(scripts, "tenantfleet-forwarder"): "#!/bin/sh\n",
	} {
		if err := os.WriteFile(path, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	layoutPath := filepath.Join(dir, "some-layout")
	cases := []struct {
		reason string
		env    string // SOURCE_DATE_EPOCH
		args   []string
		want   string
	}{
		{"an unknown image to build", "", []string{"image", "build", "--image", "tenant-ap"},
			`--image: no image named "tenant-ap": the images are tenant-app, tenantfleet-forwarder`},
		{"no CA bundle", "", []string{"image", "build", "--ca-certs", filepath.Join(dir, "nope.pem")}, "--ca-certs: stat " + filepath.Join(dir, "nope.pem")},
		{"binaries not built", "", []string{"image", "build", "--binaries", notBuilt, "--ca-certs", ca},
			"image tenant-app is not built: no binary " + filepath.Join(notBuilt, "tenant-app") + " (make images builds it"},
		{"binaries that are scripts", "", []string{"image", "build", "--binaries", scripts, "--ca-certs", ca, "--out", t.TempDir()},
			"image tenant-app: --binaries: " + filepath.Join(scripts, "tenant-app") + " is not a linux executable"},
		{"a malformed SOURCE_DATE_EPOCH", "yesterday", []string{"image", "build", "--ca-certs", ca},
			`SOURCE_DATE_EPOCH "yesterday": want the seconds since 1970-01-01T00:00:00Z`},
		{"push: an unknown image", "", []string{"image", "push", "tenant-ap", "registry.example.com/x:1"},
			`IMAGE "tenant-ap" is neither an image name (tenant-app, tenantfleet-forwarder) nor the path of an OCI layout or a tarball`},
		{"push: an image not built", "", []string{"image", "push", "tenant-app", "registry.example.com/x:1", "--dir", notBuilt},
			"IMAGE tenant-app is not built: no OCI layout " + filepath.Join(notBuilt, "tenant-app")},
		{"push: a file that is no image", "", []string{"image", "push", notImage, "registry.example.com/x:1"},
			"IMAGE " + notImage + ": " + notImage + " is not an image tarball"},
		{"push: a reference that cannot be", "", []string{"image", "push", layoutPath, "registry.example.com/Tenant App:1"},
			`REF "registry.example.com/Tenant App:1": `},
		{"push: no registry", "", []string{"image", "push", layoutPath, "tenant-app:1"},
			`REF "tenant-app:1": `},
		{"push: no tag", "", []string{"image", "push", layoutPath, "registry.example.com/tenant-app"},
			`REF "registry.example.com/tenant-app": `},
		{"push: a digest", "", []string{"image", "push", layoutPath, "registry.example.com/tenant-app@sha256:" + strings.Repeat("0", 64)},
			"names a digest: name a tag"},
		{"push: no REF", "", []string{"image", "push", "tenant-app"}, "accepts 2 arg(s), received 1"},
	}
	for _, c := range cases {
		t.Setenv(envSourceDateEpoch, c.env)
		var out bytes.Buffer
		app := &App{Stdout: &out, Stderr: &out}
		if code := app.Run(t.Context(), c.args); code != ExitUsage || !strings.Contains(out.String(), c.want) {
			t.Errorf("%s: tenantfleet %v: exit %d, want %d with %q:\n%s", c.reason, c.args, code, ExitUsage, c.want, out.String())
		}
	}
}
