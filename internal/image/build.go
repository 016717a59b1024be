package image

import (
	"cmp"
	"debug/buildinfo"
	"debug/elf"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Defaults of Spec.
const (
	// VersionDefault is the version, and the tag, of an image built without one.
	VersionDefault = "dev"
	// Repository is the repository of the tag a tarball carries for
	// `docker load`: tenantfleet/<name>:<version>.
	Repository = "tenantfleet"
)

// Platform is the one platform the images are built for.
var Platform = v1.Platform{OS: "linux", Architecture: "amd64"}

// The OCI annotation keys of the config's labels
// (https://github.com/opencontainers/image-spec/blob/main/annotations.md).
const (
	labelTitle       = "org.opencontainers.image.title"
	labelDescription = "org.opencontainers.image.description"
	labelVersion     = "org.opencontainers.image.version"
	labelRevision    = "org.opencontainers.image.revision"
	labelSource      = "org.opencontainers.image.source"
)

// Spec is what Build makes an image of.
type Spec struct {
	// Program is the program in the image.
	Program Program
	// Binary is the program's static linux/amd64 executable
	// (CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build); the image holds it,
	// byte for byte, as /<Program.Name>.
	Binary string
	// CACerts is the PEM bundle of CA certificates the image holds at
	// CACertsPath; default FindCACerts's, the build machine's.
	CACerts string
	// Version is the image's version label and tag; default VersionDefault.
	Version string
	// Revision is the source revision label; default the vcs.revision the
	// Go toolchain stamped into Binary, else none.
	Revision string
	// Source is the source URL label; default https://<module path> for a
	// module on github.com, else none.
	Source string
	// Created is the image's creation time and every file's modification
	// time; default the Unix epoch. Pass $SOURCE_DATE_EPOCH's time here.
	Created time.Time
}

// FieldError is Build's error about one field of Spec.
type FieldError struct {
	Field string // Binary, CACerts, Version, Program
	Err   error
}

func (e *FieldError) Error() string { return "Spec." + e.Field + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

// Image is an image Build made.
type Image struct {
	v1.Image
	// Program is the program in it.
	Program Program
	// Tag is the tag its tarball carries: Repository/<name>:<version>.
	Tag name.Tag
}

// Build makes the image of spec.Program: two layers, the base (users root
// and nonroot, /etc/nsswitch.conf, /tmp, the nonroot home and the CA
// certificates) and the binary, /<name>, the entrypoint, with no default
// arguments; it runs as User in WorkingDir, with PATH and SSL_CERT_FILE set.
// The same Spec (the same binary, bundle and time) gives the same digest.
//
// Build refuses a Binary that is not a static linux/amd64 executable of
// spec.Program.Package: the image has no dynamic loader or libc.
func Build(spec Spec) (*Image, error) {
	p := spec.Program
	if p.Name == "" {
		return nil, &FieldError{Field: "Program", Err: errors.New("no program")}
	}
	version := cmp.Or(spec.Version, VersionDefault)
	tag, err := name.NewTag(Repository + "/" + p.Name + ":" + version)
	if err != nil {
		return nil, &FieldError{Field: "Version", Err: fmt.Errorf("%q is not a valid tag: %w", version, err)}
	}
	info, err := checkBinary(spec.Binary, p)
	if err != nil {
		return nil, &FieldError{Field: "Binary", Err: err}
	}
	binary, err := os.ReadFile(spec.Binary)
	if err != nil {
		return nil, &FieldError{Field: "Binary", Err: err}
	}
	certsPath := spec.CACerts
	if certsPath == "" {
		if certsPath, err = FindCACerts(); err != nil {
			return nil, &FieldError{Field: "CACerts", Err: err}
		}
	}
	certs, err := readCACerts(certsPath)
	if err != nil {
		return nil, &FieldError{Field: "CACerts", Err: err}
	}
	created := spec.Created
	if created.IsZero() {
		created = time.Unix(0, 0)
	}
	created = created.UTC().Truncate(time.Second)

	base, err := newLayer(baseEntries(certs), created)
	if err != nil {
		return nil, fmt.Errorf("base %w", err)
	}
	app, err := newLayer([]entry{{name: p.Name, mode: 0o755, data: binary}}, created)
	if err != nil {
		return nil, fmt.Errorf("%s %w", p.Name, err)
	}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err = mutate.Append(img,
		mutate.Addendum{Layer: base, MediaType: types.OCILayer, History: v1.History{
			Created:   v1.Time{Time: created},
			CreatedBy: "tenantfleet image build: base (users root and nonroot 65532, /tmp, " + CACertsPath + ")",
		}},
		mutate.Addendum{Layer: app, MediaType: types.OCILayer, History: v1.History{
			Created:   v1.Time{Time: created},
			CreatedBy: "tenantfleet image build: /" + p.Name + " (" + p.Package + ")",
		}},
	)
	if err != nil {
		return nil, fmt.Errorf("append the layers: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	cf = cf.DeepCopy()
	cf.Created = v1.Time{Time: created}
	cf.OS, cf.Architecture = Platform.OS, Platform.Architecture
	labels := map[string]string{
		labelTitle:       p.Name,
		labelDescription: p.Description,
		labelVersion:     version,
	}
	if r := cmp.Or(spec.Revision, setting(info, "vcs.revision")); r != "" {
		labels[labelRevision] = r
	}
	if s := cmp.Or(spec.Source, sourceURL(info)); s != "" {
		labels[labelSource] = s
	}
	cf.Config = v1.Config{
		Entrypoint: []string{"/" + p.Name},
		User:       User,
		WorkingDir: WorkingDir,
		Env:        []string{"PATH=" + PathEnv, "SSL_CERT_FILE=" + CACertsPath},
		Labels:     labels,
	}
	if len(p.Ports) > 0 {
		cf.Config.ExposedPorts = map[string]struct{}{}
		for _, port := range p.Ports {
			cf.Config.ExposedPorts[port] = struct{}{}
		}
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return &Image{Image: img, Program: p, Tag: tag}, nil
}

// checkBinary checks that path is a static linux/amd64 Go executable of
// p.Package and returns its build information.
func checkBinary(path string, p Program) (*buildinfo.BuildInfo, error) {
	f, err := elf.Open(path)
	if err != nil {
		var pathErr *fs.PathError
		if errors.As(err, &pathErr) {
			return nil, err
		}
		return nil, fmt.Errorf("%s is not a linux executable (ELF: %w): build it with GOOS=linux GOARCH=amd64", path, err)
	}
	defer func() { _ = f.Close() }() // read only: a close error loses nothing
	if f.Class != elf.ELFCLASS64 || f.Machine != elf.EM_X86_64 {
		return nil, fmt.Errorf("%s is built for %s, not amd64: build it with GOARCH=amd64", path, f.Machine)
	}
	if f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		return nil, fmt.Errorf("%s is not an executable (%s)", path, f.Type)
	}
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return nil, fmt.Errorf("%s is dynamically linked, and the image has no dynamic loader or libc: build it with CGO_ENABLED=0", path)
		}
	}
	info, err := buildinfo.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s is not a Go program (%w): want a build of %s", path, err, p.Package)
	}
	if info.Path != p.Package {
		return nil, fmt.Errorf("%s is a build of %s, not of %s", path, info.Path, p.Package)
	}
	if goos := setting(info, "GOOS"); goos != "" && goos != Platform.OS {
		return nil, fmt.Errorf("%s is built for GOOS=%s, not linux", path, goos)
	}
	return info, nil
}

// setting is the build setting key of info ("" when absent).
func setting(info *buildinfo.BuildInfo, key string) string {
	for _, s := range info.Settings {
		if s.Key == key {
			return s.Value
		}
	}
	return ""
}

// sourceURL is the web address of info's main module when it is on
// github.com (its module path is then its repository).
func sourceURL(info *buildinfo.BuildInfo) string {
	mod := info.Main.Path
	if !strings.HasPrefix(mod, "github.com/") {
		return ""
	}
	parts := strings.Split(mod, "/")
	if len(parts) < 3 {
		return ""
	}
	return "https://" + strings.Join(parts[:3], "/")
}
