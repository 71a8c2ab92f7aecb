// Package verify proves that a rootfs archive runs a command: it
// extracts the archive into a fresh directory, runs the command there
// chrooted with a clean environment, with /proc and the /dev nodes a
// container has, under a collector (scratchpack's own tracer,
// tracer.Ptrace, or strace), runs it on the host too, and compares.
// When they differ, it names each path the image run failed to find that
// exists on the host, with the program that asked for it, and the
// --include flags that would fix it.
//
// It is never silent about what it could not see: the calls whose path
// the collector could not read (a worker that dropped privileges, traced
// by strace without CAP_SYS_PTRACE, as in a docker build) are counted
// per process in Result.Unreadable and warned about, or, with Strict, an
// error, as build does; a run without /proc (no CAP_SYS_ADMIN to mount
// one) is a warning. Under the ptrace collector a worker's calls stay
// readable: its failed lookups are named like any other.
package verify
