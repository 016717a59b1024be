// Package image builds OCI images of the repository's programs without Docker
// and without pulling a base image: a base layer made here (a non-root user,
// /tmp, the CA certificates) under the program's static linux/amd64 binary,
// with fixed timestamps so that the same binary always gives the same digest.
// It writes them as OCI image layouts and docker-load tarballs, opens either
// again, and pushes one to a registry with go-containerregistry.
package image
