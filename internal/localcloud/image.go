package localcloud

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// imageDir maps an image reference to its local directory:
// <imagesDir>/<last path segment of the repository>/<tag, or "latest">.
// "registry:5000/team/app:1.2@sha256:..." maps to <imagesDir>/app/1.2.
func imageDir(imagesDir, image string) (string, error) {
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
			return "", badRequest("image", "%q names a digest only; local images are found by tag: use repository:tag", image)
		}
		tag = "latest"
	}
	for _, part := range []string{repo, tag} {
		if part == "" || part == "." || part == ".." || strings.ContainsAny(part, `\`) {
			return "", badRequest("image", "%q is not an image reference like repository[:tag]", image)
		}
	}
	dir := filepath.Join(imagesDir, repo, tag)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return "", badRequest("image", "no local image %q: looked for the directory %s", image, dir)
	}
	return dir, nil
}

// resolveCommand finds the program a process runs and its arguments: the
// image's "entrypoint" unless Command is set, in which case Command[0] is
// resolved inside the image directory (/app/worker is <dir>/app/worker), or,
// when it is a bare name absent there, on PATH (like "sh" in a container).
func resolveCommand(dir string, command []string) (string, []string, error) {
	if len(command) == 0 {
		entry := filepath.Join(dir, "entrypoint")
		if !isExecutable(entry) {
			return "", nil, badRequest("image", "no executable entrypoint in the image directory: looked for %s (or set command)", entry)
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
	return "", nil, badRequest("command[0]", "%q is not an executable in the image directory %s (looked for %s)", name, dir, inImage)
}

// isExecutable reports whether path is a regular file someone may execute.
func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}
