package image

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// userAgent is how pushes introduce themselves to registries.
const userAgent = "tenantfleet"

// Push uploads img to the registry as ref, with the credentials keychain
// finds for ref's registry (authn.DefaultKeychain: the docker, podman and
// crane login configuration), and returns the pushed image's digest
// reference, REGISTRY/REPOSITORY@sha256:....
func Push(ctx context.Context, img v1.Image, ref name.Tag, keychain authn.Keychain) (name.Digest, error) {
	digest, err := img.Digest()
	if err != nil {
		return name.Digest{}, fmt.Errorf("image digest: %w", err)
	}
	if err := remote.Write(ref, img,
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(keychain),
		remote.WithUserAgent(userAgent),
	); err != nil {
		return name.Digest{}, fmt.Errorf("push %s: %w", ref, err)
	}
	return ref.Context().Digest(digest.String()), nil
}
