package image

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// file is what a test sees of one entry of an image's filesystem.
type file struct {
	mode     int64
	uid, gid int
	dir      bool
	sha256   string
	mtime    time.Time
}

// Each image, built and written, then opened with go-containerregistry as a
// runtime or registry would: its config, its platform and the files of its
// layers, the binary byte for byte the one built.
func TestBuild(t *testing.T) {
	t.Parallel()
	caPath, caPEM := caBundle(t)
	for _, p := range Programs() {
		t.Run(p.Name, func(t *testing.T) {
			t.Parallel()
			binPath := staticBinary(t, p)
			binary, err := os.ReadFile(binPath)
			if err != nil {
				t.Fatal(err)
			}
			img, err := Build(Spec{Program: p, Binary: binPath, CACerts: caPath, Version: "1.4.0", Revision: "0123abc"})
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			out, err := Write(dir, img)
			if err != nil {
				t.Fatal(err)
			}
			if out.Layout != filepath.Join(dir, p.Name) || out.Tarball != filepath.Join(dir, p.Name+".tar") || out.Tag != "tenantfleet/"+p.Name+":1.4.0" {
				t.Errorf("Write: %+v", out)
			}
			t.Logf("%s: %s, %d bytes stored", p.Name, out.Digest, out.Size)

			// The layout, read with go-containerregistry's own reader.
			idx, err := layout.ImageIndexFromPath(out.Layout)
			if err != nil {
				t.Fatal(err)
			}
			im, err := idx.IndexManifest()
			if err != nil {
				t.Fatal(err)
			}
			if len(im.Manifests) != 1 {
				t.Fatalf("layout index: %d manifests, want 1", len(im.Manifests))
			}
			desc := im.Manifests[0]
			if desc.MediaType != types.OCIManifestSchema1 || desc.Platform == nil || desc.Platform.OS != "linux" || desc.Platform.Architecture != "amd64" ||
				desc.Annotations[refNameAnnotation] != "1.4.0" || desc.Digest.String() != out.Digest {
				t.Errorf("layout index descriptor: %+v (platform %+v), want an OCI manifest for linux/amd64, ref.name 1.4.0, digest %s", desc, desc.Platform, out.Digest)
			}
			got, err := idx.Image(desc.Digest)
			if err != nil {
				t.Fatal(err)
			}
			m, err := got.Manifest()
			if err != nil {
				t.Fatal(err)
			}
			if m.Config.MediaType != types.OCIConfigJSON || len(m.Layers) != 2 || m.Layers[0].MediaType != types.OCILayer || m.Layers[1].MediaType != types.OCILayer {
				t.Errorf("manifest: config %s, layers %+v; want OCI config and two OCI gzip layers", m.Config.MediaType, m.Layers)
			}

			cf, err := got.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			wantLabels := map[string]string{
				labelTitle: p.Name, labelDescription: p.Description, labelVersion: "1.4.0", labelRevision: "0123abc",
				labelSource: "https://github.com/tenantfleet/tenantfleet",
			}
			wantConfig := v1.Config{
				Entrypoint: []string{"/" + p.Name},
				User:       "65532:65532",
				WorkingDir: "/home/nonroot",
				Env:        []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"},
				Labels:     wantLabels,
			}
			if p.Name == "tenant-app" {
				wantConfig.ExposedPorts = map[string]struct{}{"8080/tcp": {}}
			}
			if diff := cmp.Diff(wantConfig, cf.Config); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
			if cf.OS != "linux" || cf.Architecture != "amd64" || !cf.Created.Equal(time.Unix(0, 0)) {
				t.Errorf("config: %s/%s created %v, want linux/amd64 created at the epoch", cf.OS, cf.Architecture, cf.Created)
			}

			files := extract(t, got)
			wantNames := []string{
				"etc", "etc/group", "etc/nsswitch.conf", "etc/passwd", "etc/ssl", "etc/ssl/certs", "etc/ssl/certs/ca-certificates.crt",
				"home", "home/nonroot", "tmp", p.Name,
			}
			gotNames := make([]string, 0, len(files))
			for n := range files {
				gotNames = append(gotNames, n)
			}
			slices.Sort(gotNames)
			slices.Sort(wantNames)
			if diff := cmp.Diff(wantNames, gotNames); diff != "" {
				t.Errorf("files (-want +got):\n%s", diff)
			}
			checks := []struct {
				path string
				want file
			}{
				{p.Name, file{mode: 0o755, sha256: sha256Hex(binary)}},
				{"etc/ssl/certs/ca-certificates.crt", file{mode: 0o644, sha256: sha256Hex(caPEM)}},
				{"tmp", file{mode: 0o1777, dir: true}},
				{"home/nonroot", file{mode: 0o700, uid: 65532, gid: 65532, dir: true}},
				{"etc/passwd", file{mode: 0o644, sha256: sha256Hex([]byte(passwd))}},
			}
			for _, c := range checks {
				c.want.mtime = time.Unix(0, 0)
				if diff := cmp.Diff(c.want, files[c.path], cmp.AllowUnexported(file{})); diff != "" {
					t.Errorf("%s (-want +got):\n%s", c.path, diff)
				}
			}
			for n, f := range files {
				if !f.mtime.Equal(time.Unix(0, 0)) {
					t.Errorf("%s: modified %v, want the epoch", n, f.mtime)
				}
			}
			// The config's user is nonroot in the image's own /etc/passwd and group.
			if !strings.Contains(passwd, "\nnonroot:x:65532:65532:") || !strings.Contains(group, "\nnonroot:x:65532:") {
				t.Errorf("passwd and group lack nonroot 65532:\n%s%s", passwd, group)
			}

			// The tarball: docker load's tag, and the same image read back.
			mf, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(out.Tarball) })
			if err != nil {
				t.Fatal(err)
			}
			if len(mf) != 1 || !slices.Equal(mf[0].RepoTags, []string{"tenantfleet/" + p.Name + ":1.4.0"}) {
				t.Errorf("tarball manifest.json: %+v, want one image tagged tenantfleet/%s:1.4.0", mf, p.Name)
			}
			for _, path := range []string{out.Layout, out.Tarball} {
				opened, err := Open(path)
				if err != nil {
					t.Fatal(err)
				}
				if d, err := opened.Digest(); err != nil || d.String() != out.Digest {
					t.Errorf("Open(%s): digest %v (%v), want %s", path, d, err, out.Digest)
				}
			}
		})
	}
}

// extract reads the flattened filesystem of img.
func extract(t *testing.T, img v1.Image) map[string]file {
	t.Helper()
	rc := mutate.Extract(img)
	defer func() { _ = rc.Close() }() // read to the end below
	files := map[string]file{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		f := file{mode: h.Mode, uid: h.Uid, gid: h.Gid, dir: h.Typeflag == tar.TypeDir, mtime: h.ModTime}
		if !f.dir {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			f.sha256 = sha256Hex(b)
		}
		files[strings.TrimSuffix(h.Name, "/")] = f
	}
	return files
}

// Two builds of the same binary give the same digest and the same layout,
// byte for byte; another creation time gives another digest.
func TestBuildIsReproducible(t *testing.T) {
	t.Parallel()
	caPath, _ := caBundle(t)
	p := mustLookup(t, "tenantfleet-forwarder")
	spec := Spec{Program: p, Binary: staticBinary(t, p), CACerts: caPath}
	var outs []Output
	for range 2 {
		img, err := Build(spec)
		if err != nil {
			t.Fatal(err)
		}
		out, err := Write(t.TempDir(), img)
		if err != nil {
			t.Fatal(err)
		}
		outs = append(outs, out)
	}
	if outs[0].Digest != outs[1].Digest {
		t.Fatalf("two builds: digests %s and %s", outs[0].Digest, outs[1].Digest)
	}
	if a, b := readTree(t, outs[0].Layout), readTree(t, outs[1].Layout); !cmp.Equal(a, b) {
		t.Errorf("two builds: the layouts differ:\n%s", cmp.Diff(a, b))
	}

	later := spec
	later.Created = time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	img, err := Build(later)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := img.Digest(); d.String() == outs[0].Digest {
		t.Errorf("a build created at %v has the digest of one created at the epoch", later.Created)
	}
	for n, f := range extract(t, img) {
		if !f.mtime.Equal(later.Created) {
			t.Errorf("created %v: %s modified %v", later.Created, n, f.mtime)
		}
	}
}

// readTree is every file under dir, by relative path, with its contents.
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	tree := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		rel, _ := filepath.Rel(dir, path)
		tree[rel] = sha256Hex(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return tree
}

// Build refuses a binary an image cannot run, and a CA bundle or version
// it cannot use, naming the Spec field.
func TestBuildRefuses(t *testing.T) {
	t.Parallel()
	caPath, _ := caBundle(t)
	app := mustLookup(t, "tenant-app")
	forwarder := mustLookup(t, "tenantfleet-forwarder")
	dir := t.TempDir()
	text := filepath.Join(dir, "text")
	noCerts := filepath.Join(dir, "no-certs.pem")
	for path, content := range map[string]string{text: "#!/bin/sh\necho hello\n", noCerts: "not a certificate\n"} {
		if err := os.WriteFile(path, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	good := Spec{Program: forwarder, Binary: staticBinary(t, forwarder), CACerts: caPath}
	cases := []struct {
		reason string
		edit   func(s *Spec)
		field  string
		want   string
	}{
		{"no program", func(s *Spec) { s.Program = Program{} }, "Program", "no program"},
		{"a missing binary", func(s *Spec) { s.Binary = filepath.Join(dir, "nope") }, "Binary", "no such file"},
		{"a script, not an executable", func(s *Spec) { s.Binary = text }, "Binary", "is not a linux executable"},
		{"another program's binary", func(s *Spec) { s.Binary = staticBinary(t, app) }, "Binary",
			"is a build of github.com/tenantfleet/tenantfleet/examples/tenant-app, not of github.com/tenantfleet/tenantfleet/cmd/tenantfleet-forwarder"},
		{"a missing CA bundle", func(s *Spec) { s.CACerts = filepath.Join(dir, "nope.pem") }, "CACerts", "no such file"},
		{"a CA bundle without a certificate", func(s *Spec) { s.CACerts = noCerts }, "CACerts", "holds no PEM certificate"},
		{"a version that cannot be a tag", func(s *Spec) { s.Version = "1.4.0 beta" }, "Version", `"1.4.0 beta" is not a valid tag`},
	}
	// A dynamically linked amd64 executable, where the machine has one.
	if sh, err := exec.LookPath("sh"); err == nil && runtime.GOOS == "linux" && runtime.GOARCH == "amd64" {
		if b, err := os.ReadFile(sh); err == nil && bytes.Contains(b, []byte("ld-linux")) {
			cases = append(cases, struct {
				reason string
				edit   func(s *Spec)
				field  string
				want   string
			}{"a dynamically linked executable", func(s *Spec) { s.Binary = sh }, "Binary", "is dynamically linked"})
		}
	}
	for _, c := range cases {
		spec := good
		c.edit(&spec)
		_, err := Build(spec)
		var fieldErr *FieldError
		if !errors.As(err, &fieldErr) || fieldErr.Field != c.field || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Build: %v, want a FieldError on %s with %q", c.reason, err, c.field, c.want)
		}
	}
	if _, err := Build(good); err != nil {
		t.Errorf("the good spec: %v", err)
	}
}

func TestLookup(t *testing.T) {
	t.Parallel()
	if _, err := Lookup("tenant-ap"); err == nil || !strings.Contains(err.Error(), `no image named "tenant-ap": the images are tenant-app, tenantfleet-forwarder`) {
		t.Errorf("Lookup(tenant-ap): %v", err)
	}
	for _, n := range Names() {
		if p, err := Lookup(n); err != nil || p.Name != n || !strings.HasPrefix(p.Package, "github.com/tenantfleet/tenantfleet/") {
			t.Errorf("Lookup(%s): %+v, %v", n, p, err)
		}
	}
}
