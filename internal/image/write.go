package image

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// refNameAnnotation is the OCI layout annotation naming an image's tag
// (skopeo's and buildah's oci:DIR:TAG).
const refNameAnnotation = "org.opencontainers.image.ref.name"

// Output says where Write put an image and what it is.
type Output struct {
	Name    string `json:"name"`
	Tag     string `json:"tag"`     // the tarball's docker-load tag
	Digest  string `json:"digest"`  // the manifest's, as a registry will show it
	Layout  string `json:"layout"`  // the OCI image layout directory
	Tarball string `json:"tarball"` // the docker-load tarball
	// Size is what a registry stores: the manifest, config and compressed
	// layers, in bytes.
	Size int64 `json:"size"`
}

// Write writes img into dir as an OCI image layout, dir/<name>/ (one
// image, its tag's version as org.opencontainers.image.ref.name), and as a
// tarball `docker load` reads, dir/<name>.tar (tagged img.Tag). Both replace
// what was there; each appears whole or not at all.
func Write(dir string, img *Image) (Output, error) {
	out := Output{
		Name:    img.Program.Name,
		Tag:     img.Tag.String(),
		Layout:  filepath.Join(dir, img.Program.Name),
		Tarball: filepath.Join(dir, img.Program.Name+".tar"),
	}
	digest, err := img.Digest()
	if err != nil {
		return Output{}, fmt.Errorf("image %s: %w", out.Name, err)
	}
	out.Digest = digest.String()
	if out.Size, err = storedSize(img); err != nil {
		return Output{}, fmt.Errorf("image %s: %w", out.Name, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Output{}, err
	}
	if err := writeLayout(out.Layout, img); err != nil {
		return Output{}, fmt.Errorf("image %s: OCI layout %s: %w", out.Name, out.Layout, err)
	}
	if err := writeTarball(out.Tarball, img); err != nil {
		return Output{}, fmt.Errorf("image %s: tarball %s: %w", out.Name, out.Tarball, err)
	}
	return out, nil
}

func writeLayout(path string, img *Image) error {
	tmp, err := os.MkdirTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(tmp) }() // best effort; nothing is left once renamed
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	lp, err := layout.Write(tmp, empty.Index)
	if err != nil {
		return err
	}
	if err := lp.AppendImage(img,
		layout.WithAnnotations(map[string]string{refNameAnnotation: img.Tag.TagStr()}),
		layout.WithPlatform(Platform),
	); err != nil {
		return err
	}
	if err := os.RemoveAll(path); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func writeTarball(path string, img *Image) error {
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	defer func() { _ = os.Remove(tmp) }() // best effort; nothing is left once renamed
	if err := tarball.WriteToFile(tmp, img.Tag, img); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// storedSize is the size of img's manifest, config and layers.
func storedSize(img v1.Image) (int64, error) {
	m, err := img.Manifest()
	if err != nil {
		return 0, err
	}
	raw, err := img.RawManifest()
	if err != nil {
		return 0, err
	}
	size := int64(len(raw)) + m.Config.Size
	for _, l := range m.Layers {
		size += l.Size
	}
	return size, nil
}

// Open reads one image back: from an OCI image layout directory holding
// one image, or from a tarball in `docker save` format holding one. A
// tarball's image is given OCI media types again (that format keeps none),
// so an image Write wrote has the same digest read from either.
func Open(path string) (v1.Image, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		return openLayout(path)
	}
	img, err := tarball.ImageFromPath(path, nil)
	if err != nil {
		return nil, fmt.Errorf("%s is not an image tarball (docker save format) holding one image: %w", path, err)
	}
	return withOCITypes(img)
}

func openLayout(path string) (v1.Image, error) {
	idx, err := layout.ImageIndexFromPath(path)
	if err != nil {
		return nil, fmt.Errorf("%s is not an OCI image layout: %w", path, err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("%s is not an OCI image layout: %w", path, err)
	}
	var images []v1.Descriptor
	for _, d := range m.Manifests {
		if d.MediaType.IsImage() {
			images = append(images, d)
		}
	}
	if len(images) != 1 || len(m.Manifests) != 1 {
		return nil, fmt.Errorf("the OCI image layout %s holds %d manifests (%d images): want one image", path, len(m.Manifests), len(images))
	}
	return idx.Image(images[0].Digest)
}

// withOCITypes is img with OCI media types for its manifest, config and
// gzip layers, and img's config unchanged.
func withOCITypes(img v1.Image) (v1.Image, error) {
	mt, err := img.MediaType()
	if err != nil {
		return nil, err
	}
	if mt == types.OCIManifestSchema1 {
		return img, nil
	}
	if mt != types.DockerManifestSchema2 {
		return nil, errors.New("unsupported manifest media type " + string(mt))
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, err
	}
	adds := make([]mutate.Addendum, len(layers))
	for i, l := range layers {
		lt, err := l.MediaType()
		if err != nil {
			return nil, err
		}
		if lt == types.DockerLayer {
			lt = types.OCILayer
		}
		adds[i] = mutate.Addendum{Layer: l, MediaType: lt}
	}
	out, err := mutate.Append(mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON), adds...)
	if err != nil {
		return nil, err
	}
	// The config as it was (rootfs and history included), not Append's.
	return mutate.ConfigFile(out, cf)
}
