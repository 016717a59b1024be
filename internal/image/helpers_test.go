package image

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// static holds the programs' static binaries, compiled once per run of the
// test binary (into a directory TestMain removes).
var static struct {
	once sync.Once
	dir  string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if static.dir != "" {
		_ = os.RemoveAll(static.dir)
	}
	os.Exit(code)
}

// staticBinary is p's binary built as `make images` builds it (the
// Makefile's STATIC_GO_BUILD), from this repository.
func staticBinary(t *testing.T, p Program) string {
	t.Helper()
	static.once.Do(func() {
		// Not t.TempDir: the binaries outlive the test that first asks for them.
		static.dir, static.err = os.MkdirTemp("", "image-test-") //nolint:usetesting // shared by every test; TestMain removes it
		if static.err != nil {
			return
		}
		root, err := filepath.Abs(filepath.Join("..", ".."))
		if err != nil {
			static.err = err
			return
		}
		errs := make(chan error, len(programs))
		for _, p := range programs {
			go func() {
				cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", filepath.Join(static.dir, p.Name), p.Package)
				cmd.Dir = root
				cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
				if out, err := cmd.CombinedOutput(); err != nil {
					errs <- fmt.Errorf("go build %s: %w\n%s", p.Package, err, out)
					return
				}
				errs <- nil
			}()
		}
		for range programs {
			if err := <-errs; err != nil && static.err == nil {
				static.err = err
			}
		}
	})
	if static.err != nil {
		t.Fatal(static.err)
	}
	return filepath.Join(static.dir, p.Name)
}

// caBundle writes a PEM bundle of one self-signed CA certificate into a
// test directory and returns its path and contents: the tests do not depend
// on the machine's bundle.
func caBundle(t *testing.T) (string, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "image test CA"},
		NotBefore: time.Unix(0, 0), NotAfter: time.Unix(0, 0).AddDate(100, 0, 0),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, pemBytes, 0o644); err != nil {
		t.Fatal(err)
	}
	return path, pemBytes
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func mustLookup(t *testing.T, name string) Program {
	t.Helper()
	p, err := Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
