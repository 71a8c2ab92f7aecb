package ptrace

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pkg/errors"
)

// launcherEnv, in the launcher's environment, says that it runs under
// this tracer, and which filter to load: "files" or "all". The launcher
// removes it before it runs the command.
const launcherEnv = "SCRATCHPACK_PTRACE_FILTER"

func init() {
	// The launcher must run its main goroutine, which waits for the
	// tracer, loads the filter and execs, on the thread the tracer
	// seized: the process's first.
	if os.Getenv(launcherEnv) != "" {
		runtime.LockOSThread()
	}
}

// Launching reports whether this process is a launcher started by
// Start: Exec must then be the way it runs the command.
func Launching() bool { return os.Getenv(launcherEnv) != "" }

// attached is set once the launcher has seen its tracer.
var attached bool

// AwaitTracer, in a launcher started by Start (Launching), waits until
// the tracer has attached; elsewhere it does nothing. A launcher that
// chroots calls it first: the wait reads /proc.
func AwaitTracer() error {
	if !Launching() || attached {
		return nil
	}
	if err := waitTracer(10 * time.Second); err != nil {
		return err
	}
	attached = true
	return nil
}

// Exec replaces the process with prog. In a launcher started by Start
// (Launching), it first readies the process with Prepare: the command's
// calls from the exec on are traced. Elsewhere it is syscall.Exec.
func Exec(prog string, argv, env []string) error {
	env, err := Prepare(env)
	if err != nil {
		return err
	}
	return errors.Wrapf(syscall.Exec(prog, argv, env), "running %s", prog)
}

// Prepare, in a launcher started by Start (Launching) or a process it
// started, waits until the tracer has attached (unless AwaitTracer did),
// loads the seccomp filter on this thread (what it forks or execs from
// here on inherits it) and returns env without launcherEnv, for the
// command; it also removes launcherEnv from this process's environment.
// Elsewhere it returns env as it is. A launcher that starts the command
// as a child (the container's init) calls it on the thread that forks.
func Prepare(env []string) ([]string, error) {
	mode := os.Getenv(launcherEnv)
	if mode == "" {
		return env, nil
	}
	if err := AwaitTracer(); err != nil {
		return nil, err
	}
	if err := installFilter(mode == "all"); err != nil {
		return nil, err
	}
	os.Unsetenv(launcherEnv)
	return dropEnv(env, launcherEnv), nil
}

// waitTracer waits until this thread is traced.
func waitTracer(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		data, err := os.ReadFile("/proc/thread-self/status")
		if err != nil {
			return errors.Wrap(err, "reading the tracer pid")
		}
		if tracerPid(string(data)) > 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.Errorf("no tracer attached within %s", limit)
		}
		time.Sleep(200 * time.Microsecond)
	}
}

// tracerPid reads TracerPid from a /proc status file.
func tracerPid(status string) int {
	_, rest, ok := strings.Cut(status, "\nTracerPid:")
	if !ok {
		return 0
	}
	line, _, _ := strings.Cut(rest, "\n")
	n, _ := strconv.Atoi(strings.TrimSpace(line))
	return n
}

func dropEnv(env []string, key string) []string {
	out := make([]string, 0, len(env))
	for _, e := range env {
		if !strings.HasPrefix(e, key+"=") {
			out = append(out, e)
		}
	}
	return out
}
