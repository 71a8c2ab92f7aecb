// Package sandbox runs code in a private mount namespace with /proc and
// the standard /dev nodes mounted inside a root directory, as a container
// runtime provides them (WithProc, WithPrivateMounts): programs that read
// /proc/self/exe (UPX-packed ones) then work in a chroot. The mount lives
// only in that namespace, so nothing is left on the host, whatever
// happens to the process. Where mounting is not permitted (no
// CAP_SYS_ADMIN: a docker or podman build), ContainerRoot makes the /dev
// nodes with mknod and says that the root has no /proc.
//
// It also runs a command as a container runtime runs an image's (build
// --from: Container, Launch, Init): in namespaces of its own, on an
// overlay over the image's root, as the image's USER (ResolveUser).
package sandbox
