package image

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// keychain hands out one username and password for every registry.
type keychain struct{ user, password string }

func (k keychain) Resolve(authn.Resource) (authn.Authenticator, error) {
	return &authn.Basic{Username: k.user, Password: k.password}, nil
}

// newRegistry starts go-containerregistry's in-process registry behind
// HTTP basic authentication as user:password and returns its host:port.
func newRegistry(t *testing.T, user, password string) string {
	t.Helper()
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != user || p != password {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// An image pushed from its layout and from its tarball is the same image,
// pulled back by digest; wrong credentials push nothing.
func TestPush(t *testing.T) {
	t.Parallel()
	caPath, _ := caBundle(t)
	p := mustLookup(t, "tenantfleet-forwarder")
	img, err := Build(Spec{Program: p, Binary: staticBinary(t, p), CACerts: caPath})
	if err != nil {
		t.Fatal(err)
	}
	out, err := Write(t.TempDir(), img)
	if err != nil {
		t.Fatal(err)
	}
	host := newRegistry(t, "pusher", "s3cret")
	creds := keychain{"pusher", "s3cret"}

	for _, c := range []struct{ from, tag string }{{out.Layout, "1.4.0"}, {out.Tarball, "from-tarball"}} {
		opened, err := Open(c.from)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := name.NewTag(host + "/team/tenantfleet-forwarder:" + c.tag)
		if err != nil {
			t.Fatal(err)
		}
		pushed, err := Push(t.Context(), opened, ref, creds)
		if err != nil {
			t.Fatalf("push %s: %v", c.from, err)
		}
		if want := host + "/team/tenantfleet-forwarder@" + out.Digest; pushed.String() != want {
			t.Errorf("push %s: %s, want %s", c.from, pushed, want)
		}

		// Pulled back by the digest reference push returned.
		pulled, err := remote.Image(pushed, remote.WithAuthFromKeychain(creds))
		if err != nil {
			t.Fatal(err)
		}
		pulledDigest, err := pulled.Digest()
		if err != nil || pulledDigest.String() != out.Digest {
			t.Errorf("pull %s: digest %v (%v), want %s", pushed, pulledDigest, err, out.Digest)
		}
		want, _ := img.RawManifest()
		got, err := pulled.RawManifest()
		if err != nil || !cmp.Equal(want, got) {
			t.Errorf("pull %s: manifest %s (%v), want %s", pushed, got, err, want)
		}
		wantCfg, _ := img.RawConfigFile()
		gotCfg, err := pulled.RawConfigFile()
		if err != nil || !cmp.Equal(wantCfg, gotCfg) {
			t.Errorf("pull %s: config %s (%v), want %s", pushed, gotCfg, err, wantCfg)
		}
		// The tag names the same manifest.
		desc, err := remote.Head(ref, remote.WithAuthFromKeychain(creds))
		if err != nil || desc.Digest.String() != out.Digest {
			t.Errorf("HEAD %s: %v (%v), want %s", ref, desc, err, out.Digest)
		}
	}

	ref, _ := name.NewTag(host + "/team/tenantfleet-forwarder:denied")
	_, err = Push(t.Context(), img, ref, keychain{"pusher", "wrong"})
	if err == nil || !strings.Contains(err.Error(), "401 Unauthorized") {
		t.Errorf("push with a wrong password: %v, want 401 Unauthorized", err)
	}
	if _, err := remote.Head(ref, remote.WithAuthFromKeychain(creds)); err == nil {
		t.Errorf("push with a wrong password: %s exists", ref)
	}
}
