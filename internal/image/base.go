package image

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/x509"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// What every image holds besides its program: distroless's layout, so an
// image from here and one from the Dockerfile (distroless/static:nonroot)
// run the same way.
const (
	// UID and GID are the user and group the images run as: nonroot, as in
	// distroless.
	UID = 65532
	GID = 65532
	// User is the images' config User.
	User = "65532:65532"
	// WorkingDir is the nonroot user's home, the images' working directory.
	WorkingDir = "/home/nonroot"
	// CACertsPath is where the image holds the CA certificates bundle (the
	// path Go's crypto/x509 reads first on Linux, and SSL_CERT_FILE).
	CACertsPath = "/etc/ssl/certs/ca-certificates.crt"
	// PathEnv is the images' PATH.
	PathEnv = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
)

const (
	passwd = "root:x:0:0:root:/root:/sbin/nologin\n" +
		"nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n" +
		"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
	group = "root:x:0:\n" +
		"nobody:x:65534:\n" +
		"nonroot:x:65532:\n"
	// nsswitch makes Go's resolver (and any libc) read /etc/hosts before
	// DNS, as distroless does, so a runtime's host aliases win.
	nsswitch = "hosts: files dns\n"
)

// CACertsFiles are where build machines keep their CA certificates bundle:
// FindCACerts takes the first that exists (Go's crypto/x509 list for Linux).
var CACertsFiles = []string{
	"/etc/ssl/certs/ca-certificates.crt",                // Debian, Ubuntu, Gentoo, Arch
	"/etc/pki/tls/certs/ca-bundle.crt",                  // Fedora, RHEL 6
	"/etc/ssl/ca-bundle.pem",                            // openSUSE
	"/etc/pki/tls/cacert.pem",                           // OpenELEC
	"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", // CentOS, RHEL 7
	"/etc/ssl/cert.pem",                                 // Alpine, macOS
}

// FindCACerts returns the first of CACertsFiles that exists.
func FindCACerts() (string, error) {
	for _, path := range CACertsFiles {
		if _, err := os.Stat(path); err == nil {
			return path, nil
		}
	}
	return "", fmt.Errorf("no CA certificates bundle on this machine (looked for %s)", strings.Join(CACertsFiles, ", "))
}

// entry is one file or directory of a layer.
type entry struct {
	name     string // relative to /, directories end in /
	mode     int64  // permission bits, with the sticky bit for /tmp
	uid, gid int
	data     []byte // nil for a directory
}

// baseEntries is the base layer: the users, /tmp, the nonroot home and
// the CA certificates bundle certs.
func baseEntries(certs []byte) []entry {
	return []entry{
		{name: "etc/", mode: 0o755},
		{name: "etc/group", mode: 0o644, data: []byte(group)},
		{name: "etc/nsswitch.conf", mode: 0o644, data: []byte(nsswitch)},
		{name: "etc/passwd", mode: 0o644, data: []byte(passwd)},
		{name: "etc/ssl/", mode: 0o755},
		{name: "etc/ssl/certs/", mode: 0o755},
		{name: CACertsPath[1:], mode: 0o644, data: certs},
		{name: "home/", mode: 0o755},
		{name: WorkingDir[1:] + "/", mode: 0o700, uid: UID, gid: GID},
		{name: "tmp/", mode: 0o1777},
	}
}

// readCACerts reads the PEM bundle at path and checks it holds
// certificates.
func readCACerts(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the CA certificates bundle: %w", err)
	}
	if !x509.NewCertPool().AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("the CA certificates bundle %s holds no PEM certificate", path)
	}
	return b, nil
}

// newLayer is a gzip-compressed OCI layer of entries, in their order, every
// one owned by root unless it says otherwise and modified at mtime: the same
// entries give the same bytes, hence the same digest.
func newLayer(entries []entry, mtime time.Time) (v1.Layer, error) {
	var tarBuf bytes.Buffer
	tw := tar.NewWriter(&tarBuf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: e.mode, Uid: e.uid, Gid: e.gid, ModTime: mtime, Format: tar.FormatPAX}
		if e.data == nil {
			h.Typeflag = tar.TypeDir
		} else {
			h.Typeflag = tar.TypeReg
			h.Size = int64(len(e.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("layer: %s: %w", e.name, err)
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, fmt.Errorf("layer: %s: %w", e.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("layer: %w", err)
	}
	// Compressed once, here: the layers are written twice (layout and
	// tarball) and maybe pushed, each time from these bytes. gzip's default
	// level: its best is three times slower for 1 % less on a Go binary.
	var gzBuf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&gzBuf, gzip.DefaultCompression)
	if err != nil {
		return nil, fmt.Errorf("layer: %w", err)
	}
	if _, err := zw.Write(tarBuf.Bytes()); err != nil {
		return nil, fmt.Errorf("layer: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("layer: %w", err)
	}
	compressed := gzBuf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(compressed)), nil
	}, tarball.WithMediaType(types.OCILayer))
}
