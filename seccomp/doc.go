// Package seccomp writes a seccomp profile from a trace: the JSON format
// that Docker, Podman and CRI-O read (docker run --security-opt
// seccomp=FILE), which the runtime turns into the OCI seccomp filter.
//
// The profile refuses every syscall with EPERM (defaultAction
// SCMP_ACT_ERRNO, defaultErrnoRet 1) except the syscalls the traced
// processes made (read from a log of every syscall: see
// collect/strace.CountCalls, or strace.Options.Count when the parser that
// reads the log's paths counts them in the same pass, and FromCalls) and
// those the container runtime makes
// between loading the filter and exec'ing the program (see
// RuntimeSyscalls). Names are those of the architecture the trace ran on
// (archMap); a profile is written for that architecture only.
package seccomp
