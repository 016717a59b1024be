package cli

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/spf13/cobra"

	"github.com/tenantfleet/tenantfleet/internal/image"
)

// Where `image build` reads the static binaries and writes the images, and
// where `image push` finds an image by its name: relative to the current
// directory, which is the repository's root when make runs them.
const (
	imageOutDefault      = "bin/oci"
	imageBinariesDefault = "bin/oci/linux_amd64"
)

// envSourceDateEpoch is the reproducible-builds variable
// (https://reproducible-builds.org/specs/source-date-epoch/): the images'
// creation and file times.
const envSourceDateEpoch = "SOURCE_DATE_EPOCH"

// imageFlagOf maps image.Spec's fields to the flags that set them.
var imageFlagOf = map[string]string{
	"Binary":  "--binaries",
	"CACerts": "--ca-certs",
	"Version": "--version",
}

type imageBuildFlags struct {
	images   []string
	out      string
	binaries string
	version  string
	revision string
	source   string
	caCerts  string
	json     bool
}

func (a *App) imageCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Build the example app's and the forwarder's OCI images without Docker, and push them",
		Long: `The image commands build OCI images of the example tenant app (examples/tenant-app)
and of DigitalOcean's fanout forwarder (cmd/tenantfleet-forwarder) without Docker and
without pulling a base image, and push one to a container registry with the login
docker, podman or crane left. examples/tenant-app/Dockerfile builds the same app with
Docker, for those who prefer it.`,
		Example: `  make images
  tenantfleet image push tenant-app registry.digitalocean.com/my-registry/tenant-app:1.4.0`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(a.imageBuildCommand(), a.imagePushCommand())
	return cmd
}

func (a *App) imageBuildCommand() *cobra.Command {
	var f imageBuildFlags
	cmd := &cobra.Command{
		Use:   "build",
		Short: "Build the images from static binaries into OCI layouts and docker-load tarballs",
		Long: `Build packs each program's static linux/amd64 binary into an OCI image, without Docker
and without pulling anything: a base layer made here (users root and nonroot 65532,
/etc/nsswitch.conf, /tmp with mode 1777, /home/nonroot, and the CA certificates bundle
of this machine or --ca-certs at ` + image.CACertsPath + `), then the binary
as /<name>, the entrypoint, with no default arguments. The image runs as user
` + image.User + ` in ` + image.WorkingDir + ` with PATH and SSL_CERT_FILE set, is for linux/amd64
and is labelled org.opencontainers.image.title, description, version, revision and
source (revision and source default to what the Go toolchain stamped in the binary).

The images:
  tenant-app             the example app: tenant-app web|worker (TENANTFLEET_WORKLOAD or
                         the argument picks the role), exposes 8080/tcp
  tenantfleet-forwarder  DigitalOcean's fanout forwarder (its --help lists its variables)

Each binary is read from <binaries>/<name>; make images builds them with
  CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -trimpath -ldflags='-s -w'
and then runs this command. A binary that is dynamically linked, for another platform
or of another program is refused. Each image is written to --out twice: as an OCI
image layout, <out>/<name>/ (tag --version), and as a tarball for docker load,
<out>/<name>.tar (tagged tenantfleet/<name>:<version>). Each line printed gives the
image's digest, which image push reports too.

Builds are reproducible: every time in the image is $SOURCE_DATE_EPOCH (seconds) when
set, else 1970-01-01T00:00:00Z, so the same binaries and CA bundle give the same digests
(the bundle used is printed on stderr).

Exit codes: 0 built; 1 writing an image failed; 2 usage error (an unknown image, a
missing or unsuitable binary, no CA bundle, a malformed SOURCE_DATE_EPOCH).`,
		Example: `  make images                                     # builds the binaries, then runs this
  tenantfleet image build
  tenantfleet image build --image tenant-app --version 1.4.0
  SOURCE_DATE_EPOCH=$(git log -1 --format=%ct) tenantfleet image build --version 1.4.0
  docker load -i bin/oci/tenant-app.tar           # tenantfleet/tenant-app:dev, for Docker users
  skopeo copy oci:bin/oci/tenant-app:dev docker://registry.example.com/tenant-app:dev   # the layout, to any registry`,
		Args: cobra.NoArgs,
		RunE: func(_ *cobra.Command, _ []string) error { return a.imageBuild(f) },
	}
	fl := cmd.Flags()
	fl.StringSliceVar(&f.images, "image", nil, "an image to build (repeatable, or comma-separated): "+strings.Join(image.Names(), ", ")+" (default: all)")
	fl.StringVar(&f.out, "out", imageOutDefault, "the directory the layouts and tarballs are written to")
	fl.StringVar(&f.binaries, "binaries", imageBinariesDefault, "the directory holding each image's static linux/amd64 binary, named as the image")
	fl.StringVar(&f.version, "version", image.VersionDefault, "the images' version: their org.opencontainers.image.version label and tag")
	fl.StringVar(&f.revision, "revision", "", "the source revision label, e.g. $(git rev-parse HEAD) (default: the binary's vcs.revision, else none)")
	fl.StringVar(&f.source, "source", "", "the source URL label (default: https://<module path> for a module on github.com)")
	fl.StringVar(&f.caCerts, "ca-certs", "", "the PEM bundle of CA certificates the images trust (default: this machine's, the first of "+strings.Join(image.CACertsFiles, ", ")+")")
	fl.BoolVar(&f.json, "json", false, "print a JSON array describing the images to stdout, and nothing else there")
	return cmd
}

func (a *App) imageBuild(f imageBuildFlags) error {
	names := f.images
	if len(names) == 0 {
		names = image.Names()
	}
	var programs []image.Program
	for _, n := range names {
		p, err := image.Lookup(n)
		if err != nil {
			return usageErrorf("--image: %v", err)
		}
		programs = append(programs, p)
	}
	created, err := sourceDateEpoch()
	if err != nil {
		return err
	}
	caCerts := f.caCerts
	if caCerts == "" {
		if caCerts, err = image.FindCACerts(); err != nil {
			return usageErrorf("--ca-certs: %v: the images need one: install the ca-certificates package, or pass a PEM bundle", err)
		}
	} else if _, err := os.Stat(caCerts); err != nil {
		return usageErrorf("--ca-certs: %v", err)
	}
	for _, p := range programs {
		bin := filepath.Join(f.binaries, p.Name)
		if _, err := os.Stat(bin); err != nil {
			return usageErrorf("image %s is not built: no binary %s (make images builds it: CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -trimpath -ldflags='-s -w' -o %s %s)",
				p.Name, bin, bin, p.Package)
		}
	}
	var outs []image.Output
	for _, p := range programs {
		img, err := image.Build(image.Spec{
			Program: p, Binary: filepath.Join(f.binaries, p.Name), CACerts: caCerts,
			Version: f.version, Revision: f.revision, Source: f.source, Created: created,
		})
		if err != nil {
			var fieldErr *image.FieldError
			if errors.As(err, &fieldErr) && imageFlagOf[fieldErr.Field] != "" {
				return usageErrorf("image %s: %s: %v", p.Name, imageFlagOf[fieldErr.Field], fieldErr.Err)
			}
			return failedErrorf("image %s: %v", p.Name, err)
		}
		out, err := image.Write(f.out, img)
		if err != nil {
			return failedErrorf("%v", err)
		}
		outs = append(outs, out)
	}
	notef(a.Stderr, "CA certificates from %s\n", caCerts)
	if f.json {
		return writeJSON(a.Stdout, outs)
	}
	tw := tabwriter.NewWriter(a.Stdout, 0, 0, 2, ' ', 0)
	for _, o := range outs {
		_, _ = fmt.Fprintf(tw, "%s\t%s\t%.1f MB\t%s\t%s (%s)\n", o.Name, o.Digest, float64(o.Size)/1e6, o.Layout, o.Tarball, o.Tag)
	}
	return tw.Flush()
}

// sourceDateEpoch is $SOURCE_DATE_EPOCH's time, or the zero time when it
// is not set (image.Build then uses the Unix epoch).
func sourceDateEpoch() (time.Time, error) {
	v := os.Getenv(envSourceDateEpoch)
	if v == "" {
		return time.Time{}, nil
	}
	secs, err := strconv.ParseInt(v, 10, 64)
	if err != nil || secs < 0 {
		return time.Time{}, usageErrorf("%s %q: want the seconds since 1970-01-01T00:00:00Z, e.g. $(git log -1 --format=%%ct)", envSourceDateEpoch, v)
	}
	return time.Unix(secs, 0), nil
}

func (a *App) imagePushCommand() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "push IMAGE REF",
		Short: "Push one built image to a container registry and print its digest reference",
		Long: `Push uploads one built image to a registry, without Docker. IMAGE is an image's name
(` + strings.Join(image.Names(), ", ") + `: the OCI layout image build wrote to <dir>/<name>),
or the path of an OCI image layout directory or of a docker-save tarball holding one
image. REF is REGISTRY/REPOSITORY:TAG, the registry spelled out.

Push prints the pushed image's digest reference, REGISTRY/REPOSITORY@sha256:..., on
stdout: put that in the tenants' web.image and worker.image (or DigitalOcean's
forwarderImage) so every tenant runs exactly this build. The layout and the tarball
of one build push as the same digest, the one image build printed.

Credentials are the ones docker, podman and crane use, read without a daemon:
$DOCKER_CONFIG/config.json (default ~/.docker/config.json) with its auths, credHelpers
and credsStore, else $REGISTRY_AUTH_FILE or containers/auth.json (podman). Log in once
per registry; crane (go install github.com/google/go-containerregistry/cmd/crane@v0.22.1)
writes that file:

  Amazon ECR (create the repository first: aws ecr create-repository --repository-name tenant-app)
    aws ecr get-login-password --region REGION |
      crane auth login ACCOUNT.dkr.ecr.REGION.amazonaws.com -u AWS --password-stdin
  Google Artifact Registry (a repository of format docker)
    gcloud auth configure-docker REGION-docker.pkg.dev    # makes gcloud the registry's credential helper
    or: gcloud auth print-access-token |
      crane auth login REGION-docker.pkg.dev -u oauth2accesstoken --password-stdin
  Azure Container Registry
    az acr login --name REGISTRY --expose-token --query accessToken --output tsv |
      crane auth login REGISTRY.azurecr.io -u 00000000-0000-0000-0000-000000000000 --password-stdin
  DigitalOcean Container Registry
    doctl registry login                                  # writes the docker config file itself

Tokens from ECR (12 hours), Artifact Registry access tokens (1 hour), ACR (3 hours) and
doctl (--expiry-seconds) expire: log in again when a push answers 401 Unauthorized.

Exit codes: 0 pushed; 1 the push failed (network, credentials, the registry); 2 usage
error (an unknown or unbuilt IMAGE, a malformed REF).`,
		Example: `  tenantfleet image push tenant-app 123456789012.dkr.ecr.eu-west-1.amazonaws.com/tenant-app:1.4.0
  tenantfleet image push tenant-app europe-west1-docker.pkg.dev/my-project/tenantfleet/tenant-app:1.4.0
  tenantfleet image push tenant-app myregistry.azurecr.io/tenant-app:1.4.0
  tenantfleet image push tenantfleet-forwarder registry.digitalocean.com/my-registry/tenantfleet-forwarder:1.4.0
  tenantfleet image push bin/oci/tenant-app.tar ghcr.io/my-org/tenant-app:1.4.0`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := imagePath(args[0], dir)
			if err != nil {
				return err
			}
			ref, err := pushRef(args[1])
			if err != nil {
				return err
			}
			img, err := image.Open(path)
			if err != nil {
				return usageErrorf("IMAGE %s: %v", args[0], err)
			}
			pushed, err := image.Push(cmd.Context(), img, ref, authn.DefaultKeychain)
			var httpErr *transport.Error
			if errors.As(err, &httpErr) && (httpErr.StatusCode == http.StatusUnauthorized || httpErr.StatusCode == http.StatusForbidden) {
				return failedErrorf("IMAGE %s: %v\nlog in to %s first, or again: tenantfleet image push --help says how for each cloud's registry",
					args[0], err, ref.RegistryStr())
			}
			if err != nil {
				return failedErrorf("IMAGE %s: %v", args[0], err)
			}
			notef(a.Stderr, "pushed %s to %s\n", path, ref)
			_, err = fmt.Fprintln(a.Stdout, pushed.String())
			return err
		},
	}
	cmd.Flags().StringVar(&dir, "dir", imageOutDefault, "where image build wrote the images an IMAGE name refers to (its --out)")
	return cmd
}

// imagePath is the layout or tarball IMAGE refers to: an image's name is
// its layout in dir, anything else a path.
func imagePath(arg, dir string) (string, error) {
	if p, err := image.Lookup(arg); err == nil {
		path := filepath.Join(dir, p.Name)
		if _, err := os.Stat(path); err != nil {
			return "", usageErrorf("IMAGE %s is not built: no OCI layout %s (make images builds it; or pass the path of a layout or tarball)", arg, path)
		}
		return path, nil
	}
	if _, err := os.Stat(arg); err != nil {
		return "", usageErrorf("IMAGE %q is neither an image name (%s) nor the path of an OCI layout or a tarball", arg, strings.Join(image.Names(), ", "))
	}
	return arg, nil
}

// pushRef parses REF: a tag with its registry spelled out.
func pushRef(arg string) (name.Tag, error) {
	if strings.Contains(arg, "@") {
		return name.Tag{}, usageErrorf("REF %q names a digest: name a tag, REGISTRY/REPOSITORY:TAG (push prints the digest)", arg)
	}
	ref, err := name.NewTag(arg, name.StrictValidation)
	if err != nil {
		return name.Tag{}, usageErrorf("REF %q: %v: want REGISTRY/REPOSITORY:TAG, e.g. registry.digitalocean.com/my-registry/tenant-app:1.4.0", arg, err)
	}
	return ref, nil
}
