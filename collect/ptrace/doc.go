// Package ptrace is scratchpack's own tracer: it sees the files a
// command uses without strace, and records them straight into the
// collect.Use records the strace log parser yields (collect.Trace).
//
// The command is started by a launcher (a program that ends in Exec:
// scratchpack's hidden launcher command) that this package seizes
// (PTRACE_SEIZE, from one locked OS thread that makes every ptrace
// request) and that loads, just before it runs the command, a seccomp
// filter returning SECCOMP_RET_TRACE for the calls that name, list or
// change files (strace.ArgsOf: the set the strace collector traces, with
// the deletions and directory changes) and for the credential changes,
// and SECCOMP_RET_ALLOW for every other call: those run at full speed.
// Without CAP_SYS_ADMIN the kernel takes a filter only with
// no_new_privs set, which then holds for the command: a set-user-ID
// program it runs gains no privileges (as under strace --seccomp-bpf).
//
// At each seccomp stop the tracer reads the path arguments itself
// (process_vm_readv, else PTRACE_PEEKDATA) and resolves dirfds, the cwd
// and the root through /proc/TID at that moment; the call's result comes
// from its syscall-exit stop. A failed call makes no use, as under the
// strace collector; with Options.Failed it is kept (Result.Failed: the
// first of each path and errno, with the program that made it, as
// strace.Options.Failed reports them), for verify's missing files. Forks, vforks, clones and execs are followed
// through the ptrace options (no stop of their own), an execve from a
// thread through PTRACE_EVENT_EXEC's former thread id, group stops with
// PTRACE_LISTEN, and signals are delivered as they were sent.
//
// Privilege drops stay visible: when a process returns from setuid,
// setresuid, setgid, setgroups, capset and the like, the kernel makes
// it non-dumpable, and a tracer without CAP_SYS_PTRACE could no longer
// read its memory nor its /proc files. The tracer then injects
// prctl(PR_SET_DUMPABLE, 1) into it (registers saved, the syscall
// instruction run again, registers restored): the traced program
// becomes dumpable, as under any debugger. PTRACE_PEEKDATA from the
// attached tracer then works, and /proc/TID/fd, cwd and root are read
// with the tracer thread's fsuid and fsgid set to the process's ids.
// A path that still cannot be read is counted (collect.Unreadable),
// never skipped silently.
//
// The architecture-specific parts (registers, syscall numbers, the
// injection) are in arch_GOARCH.go and zsysnum_GOARCH.go; x86_64 only.
package ptrace
