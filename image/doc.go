// Package image turns a rootfs archive into a container image without a
// container engine: one layer (the archive's own bytes), a config made
// from the command, environment, ports and labels, and an OCI manifest.
// It writes the image as an OCI layout (oci:DIR[:TAG]), as a file that
// docker load and podman load accept (docker-archive:FILE[:NAME:TAG]),
// or pushes it to a registry (docker://REGISTRY/REPO:TAG), with
// go-containerregistry. The same archive and config always give the
// same image digest. The package never prints: pushes report progress
// through Options.Progress.
package image
