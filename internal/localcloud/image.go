package localcloud

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ImageError is an image reference, or the program to run from it, that the
// runtime cannot start a process from. Field is "image" or "command[0]", as
// in ProcessSpec; the API answers it with 400 Bad Request.
type ImageError struct {
	Field  string
	Reason string
}

func (e *ImageError) Error() string { return e.Field + ": " + e.Reason }

func imageError(field, format string, args ...any) error {
	return &ImageError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// ImageDir maps an image reference to its local directory,
// <imagesDir>/<last path segment of the repository>/<tag, or "latest">
// ("registry:5000/team/app:1.2@sha256:..." maps to <imagesDir>/app/1.2),
// and fails with an *ImageError naming the directory it looked for when that
// does not exist. The runtime resolves every process's image with it.
func ImageDir(imagesDir, image string) (string, error) {
	ref := strings.TrimSpace(image)
	digest := ""
	if i := strings.Index(ref, "@"); i >= 0 {
		ref, digest = ref[:i], ref[i+1:]
	}
	slash := strings.LastIndex(ref, "/")
	tag := ""
	if colon := strings.LastIndex(ref, ":"); colon > slash {
		ref, tag = ref[:colon], ref[colon+1:]
	}
	repo := ref[slash+1:]
	if tag == "" {
		if digest != "" {
			return "", imageError("image", "%q names a digest only; local images are found by tag: use repository:tag", image)
		}
		tag = "latest"
	}
	for _, part := range []string{repo, tag} {
		if part == "" || part == "." || part == ".." || strings.ContainsAny(part, `\`) {
			return "", imageError("image", "%q is not an image reference like repository[:tag]", image)
		}
	}
	dir := filepath.Join(imagesDir, repo, tag)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return "", imageError("image", "no local image %q: looked for the directory %s", image, dir)
	}
	return dir, nil
}

// CheckImage checks what the runtime checks before it accepts a process of
// image and command, for a caller that wants to refuse a spec before it
// creates anything: the image's directory exists under imagesDir and holds
// the program to run, its executable entrypoint or, when command[0] is a
// path (/app/worker), that file. A bare command name absent from the image
// is looked up on the runtime's PATH when the process starts, which only the
// runtime knows, so it passes here. Errors are *ImageError.
func CheckImage(imagesDir, image string, command []string) error {
	dir, err := ImageDir(imagesDir, image)
	if err != nil {
		return err
	}
	if len(command) > 0 && !strings.Contains(command[0], "/") {
		return nil
	}
	_, _, err = resolveCommand(dir, command)
	return err
}

// resolveCommand finds the program a process runs and its arguments: the
// image's "entrypoint" unless Command is set, in which case Command[0] is
// resolved inside the image directory (/app/worker is <dir>/app/worker), or,
// when it is a bare name absent there, on PATH (like "sh" in a container).
func resolveCommand(dir string, command []string) (string, []string, error) {
	if len(command) == 0 {
		entry := filepath.Join(dir, "entrypoint")
		if !isExecutable(entry) {
			return "", nil, imageError("image", "no executable entrypoint in the image directory: looked for %s (or set command)", entry)
		}
		return entry, nil, nil
	}
	name := command[0]
	inImage := filepath.Join(dir, filepath.Clean("/"+name))
	if isExecutable(inImage) {
		return inImage, command[1:], nil
	}
	if !strings.Contains(name, "/") {
		if path, err := exec.LookPath(name); err == nil {
			return path, command[1:], nil
		}
	}
	return "", nil, imageError("command[0]", "%q is not an executable in the image directory %s (looked for %s)", name, dir, inImage)
}

// isExecutable reports whether path is a regular file someone may execute.
func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}
