package seccomp

// The container runtime loads the filter before it execs the program, so
// its own last calls must pass the filter too: a profile made from the
// program's calls alone stops the container before the program starts
// ("operation not permitted" from runc, exit 127 or 1).
//
// runc (runc init, a Go program) loads the filter early when the process
// may gain privileges (podman's and Docker's default: no no_new_privs),
// before it drops capabilities and changes user, and as late as it can
// otherwise. Between the filter and the exec it sets the groups, uid, gid
// and capabilities, checks its parent, finds the program, signals the
// runtime through its FIFO (opened through /proc/self/fd) and closes its
// descriptors; its Go runtime meanwhile schedules threads, takes locks,
// polls, and may be preempted by a signal at any point.

// RuntimeGroup is a set of syscalls that a runtime needs, and why.
type RuntimeGroup struct {
	Why      string
	Syscalls []string
}

// RuntimeSyscalls are the syscalls that the container runtime makes after
// loading the filter. The first group was measured: `strace -f` on
// `podman --runtime runc run` (runc 1.1.5, podman 4.3.1, Debian 12): every
// call made by the threads of runc init from its prctl(PR_SET_SECCOMP) to
// its execve. The others are calls that the same code makes depending on
// timing (Go's scheduler, garbage collector, preemption signals: a later
// run also made rt_sigreturn and tgkill) or on the runtime (crun sets ids
// with setresuid and closes descriptors with close_range; runc 1.2 closes
// with close_range too). scripts/e2e-seccomp.sh measures runc's calls again
// on each run and checks that the profile allows them.
var RuntimeSyscalls = []RuntimeGroup{
	{
		Why: "runc init between the filter and the exec (measured)",
		Syscalls: []string{
			"capget", "capset", "chdir", "close", "epoll_ctl", "epoll_pwait",
			"execve", "faccessat2", "fcntl", "fstat", "fstatfs", "futex",
			"getcwd", "getdents64", "getpid", "getppid", "nanosleep",
			"newfstatat", "openat", "prctl", "read", "sched_yield", "setgid",
			"setgroups", "setuid", "write",
		},
	},
	{
		Why: "Go runtime of runc init, depending on timing: threads, memory, preemption signals",
		Syscalls: []string{
			"clone", "exit", "exit_group", "gettid", "madvise", "mmap",
			"munmap", "rt_sigprocmask", "rt_sigreturn", "sigaltstack", "tgkill",
		},
	},
	{
		Why:      "crun and newer runc: ids and descriptors",
		Syscalls: []string{"close_range", "setresgid", "setresuid"},
	},
}

// runtimeNames returns every name of RuntimeSyscalls.
func runtimeNames() map[string]bool {
	m := map[string]bool{}
	for _, g := range RuntimeSyscalls {
		for _, s := range g.Syscalls {
			m[s] = true
		}
	}
	return m
}
