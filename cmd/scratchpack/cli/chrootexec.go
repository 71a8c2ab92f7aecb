package cli

import (
	"os"
	"runtime"
	"syscall"

	"github.com/pkg/errors"

	"github.com/spf13/cobra"

	"github.com/scratchpack/scratchpack/collect/fanotify"
	"github.com/scratchpack/scratchpack/collect/ptrace"
	"github.com/scratchpack/scratchpack/collect/tracer"
	"github.com/scratchpack/scratchpack/internal/sandbox"
)

// The launcher execs from the main thread: when a Go program execs from
// another thread, the kernel gives the new program the thread group
// leader's pid, and strace 6.1 (with --seccomp-bpf) then misses the first
// calls of the new program: musl's loader opening /etc/ld-musl-ARCH.path
// was lost that way. Locking the main goroutine in an init function keeps
// it on the main thread.
func init() {
	if len(os.Args) > 1 && (os.Args[1] == chrootExecCommand || os.Args[1] == containerInitCommand) {
		runtime.LockOSThread()
	}
}

// The container launcher (build --from): __container-exec RUNDIR ROOT
// DIR -- COMMAND... makes the namespaces, and runs itself again as their
// first process with __container-init, which mounts, pivots and starts
// the command. Hidden: users never call them.
const (
	containerExecCommand = "__container-exec"
	containerInitCommand = "__container-init"
)

func newContainerExec(name string) *cobra.Command {
	return &cobra.Command{
		Use:                name + " RUNDIR ROOT DIR -- COMMAND...",
		Hidden:             true,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) < 5 || args[3] != "--" {
				return usagef("usage: %s RUNDIR ROOT DIR -- COMMAND...", name)
			}
			watched := os.Getenv(tracer.WatchFDEnv) != ""
			if name == containerExecCommand {
				// under the ptrace collector: traced before the init is
				// cloned, so that the tracer follows it
				if err := ptrace.AwaitTracer(); err != nil {
					return err
				}
				return sandbox.Launch([]string{containerInitCommand}, args[0], args[1], args[2], args[4:], watched)
			}
			var ready func(string) error
			if watched {
				// a fanotify watch (build --collector fanotify): the
				// container's mounts are marked before the command starts
				ready = func(proc string) error {
					os.Unsetenv(tracer.WatchFDEnv)
					defer syscall.Close(3)
					defer syscall.Close(4)
					if _, err := fanotify.MarkNamespaceWith(3, proc); err != nil {
						return errors.WithMessage(err, "watching the container's mounts")
					}
					// the watch reads the events' paths after we are gone:
					// it holds our mount namespace until then
					ns, err := syscall.Open(proc+"/ns/mnt", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
					if err != nil {
						return errors.Wrap(err, "opening the container's mount namespace")
					}
					defer syscall.Close(ns)
					return errors.Wrap(syscall.Sendmsg(4, []byte{0}, syscall.UnixRights(ns), nil, 0), "handing the mount namespace to the watch")
				}
			}
			if ptrace.Launching() {
				// (the wait reads /proc, which the mounts replace)
				if err := ptrace.AwaitTracer(); err != nil {
					return err
				}
				// the ptrace collector: the filter is loaded on the thread
				// that starts the command (the init's main thread), once
				// the mounts are made
				ready = func(string) error {
					_, err := ptrace.Prepare(nil)
					return err
				}
			}
			return sandbox.Init(args[0], args[1], args[2], args[4:], ready)
		},
	}
}
