package tracer

import (
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pkg/errors"

	"github.com/scratchpack/scratchpack/collect/ptrace"
	"github.com/scratchpack/scratchpack/internal/sandbox"
)

// startPtrace is the ptrace collector's start phase: scratchpack's own
// tracer (collect/ptrace) starts the launcher, which loads the seccomp
// filter and runs the command, and traces it from a thread of this
// process. The process started becomes the command (leader of its own
// session); there is no tracer process to spare, and the uses come with
// the result (no log).
func startPtrace(o Options) (*started, error) {
	if len(o.Launcher) == 0 {
		return nil, errors.New("the ptrace collector needs a launcher (scratchpack provides one)")
	}
	dir := o.Dir
	if dir == "" {
		dir = "."
		if o.Root != "/" {
			dir = "/"
		}
	}
	args := append(append(append([]string{}, o.Launcher...), o.Root, dir, "--"), o.Command...)
	po := ptrace.Options{Args: args, Env: o.Env, Stdin: o.Stdin, Stdout: o.Stdout, Stderr: o.Stderr,
		AllSyscalls: o.AllSyscalls, Canonical: o.Canonical, Failed: o.Failed}
	if o.Root == "/" {
		po.Dir = o.Dir
	}
	st := &started{res: &Result{Args: args}, start: time.Now()}
	if o.Proc {
		// (on the tracer's thread, which starts the launcher)
		po.Setup = func() error {
			proc, err := sandbox.ContainerRoot(o.Root)
			st.res.NoProc = !proc
			return err
		}
	}
	r, err := ptrace.Start(po)
	if err != nil {
		return nil, err
	}
	st.leader = r.Pid()
	var pres *ptrace.Result
	st.wait = func() error {
		res, err := r.Wait()
		if err != nil {
			return err
		}
		pres = res
		if res.Status.Exited() && res.Status.ExitStatus() == 0 {
			return nil
		}
		return &statusError{res.Status}
	}
	tracerTid := r.TracerTid()
	st.ours = func(pid int) bool {
		t, _ := tracerOf(pid)
		return t == tracerTid
	}
	st.finish = func(res *Result) error {
		if pres == nil {
			return nil
		}
		res.Uses, res.Unreadable, res.Calls, res.Failed = pres.Uses, pres.Unreadable, pres.Calls, pres.Failed
		return nil
	}
	return st, nil
}

// statusError is a command's exit that is not 0, from a wait status.
type statusError struct{ ws syscall.WaitStatus }

func (e *statusError) Error() string {
	if e.ws.Signaled() {
		return "killed by " + e.ws.Signal().String()
	}
	return "exit status " + strconv.Itoa(e.ws.ExitStatus())
}

// Launch is the launcher's body, for both collectors: ARGS are
// ROOT DIR -- COMMAND...; it chroots into ROOT (unless it is "/"),
// changes to DIR and runs COMMAND, found through the PATH of env inside
// ROOT. Under the ptrace collector it loads the seccomp filter first.
func Launch(args []string, env []string) error {
	if len(args) < 4 || args[2] != "--" {
		return errors.Errorf("expected ROOT DIR -- COMMAND..., got %q", strings.Join(args, " "))
	}
	return ChrootExec(args[0], args[1], args[3:], env)
}
