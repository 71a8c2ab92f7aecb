package cli

import (
	"os"
	"runtime"
)

// The launcher execs from the main thread: when a Go program execs from
// another thread, the kernel gives the new program the thread group
// leader's pid, and strace 6.1 (with --seccomp-bpf) then misses the first
// calls of the new program: musl's loader opening /etc/ld-musl-ARCH.path
// was lost that way. Locking the main goroutine in an init function keeps
// it on the main thread.
func init() {
	if len(os.Args) > 1 && os.Args[1] == chrootExecCommand {
		runtime.LockOSThread()
	}
}
