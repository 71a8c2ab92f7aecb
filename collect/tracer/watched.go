package tracer

import (
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/pkg/errors"

	"github.com/scratchpack/scratchpack/collect/fanotify"
	"github.com/scratchpack/scratchpack/internal/sandbox"
)

// startWatched starts the command in a copy of our mount namespace
// whose mounts are marked before it starts: the watch sees all of it,
// and nothing of any other process.
func startWatched(o Options) (*started, error) {
	w, err := fanotify.New()
	if err != nil {
		return nil, err
	}
	root, dir := o.Root, o.Dir
	if dir == "" && root != "/" {
		dir = "/"
	}
	var cmd *exec.Cmd
	bin, err := straceBinary(o)
	// (inside a root, a working directory other than / needs the launcher)
	straced := err == nil && o.Log != "" && (root == "/" || len(o.Launcher) > 0 || dir == "/")
	if straced {
		// strace follows the few calls fanotify cannot see; its own opens
		// (it starts in the watched namespace) are left out by pid.
		cmd = straceCommand(bin, WatchTraceSet, o)
	} else if o.LauncherMounts && len(o.Launcher) > 0 {
		args := append(append(append([]string{}, o.Launcher[1:]...), root, dir, "--"), o.Command...)
		cmd = exec.Command(o.Launcher[0], args...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = o.Stdin, o.Stdout, o.Stderr
		cmd.Env = o.Env
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	} else {
		prog := o.Program
		if prog == "" {
			if prog, err = findProgram(root, o.Command[0], o.Env, dir); err != nil {
				w.Close()
				return nil, errors.WithMessagef(err, "inside %s", root)
			}
		}
		cmd = &exec.Cmd{Path: prog, Args: o.Command, Dir: dir, Env: o.Env}
		cmd.Stdin, cmd.Stdout, cmd.Stderr = o.Stdin, o.Stdout, o.Stderr
		// a session of its own: what it signals does not reach us
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if root != "/" {
			// chroot, then chdir to Dir inside it (as the kernel sees it:
			// Path is inside the root too).
			cmd.SysProcAttr.Chroot = root
		}
	}
	args := cmd.Args
	if !straced && !o.LauncherMounts {
		args = append([]string{cmd.Path}, o.Command[1:]...) // the file run, not argv[0]
	}
	hold := -1
	if o.LauncherMounts {
		if hold, err = passWatch(w, cmd); err != nil {
			w.Close()
			return nil, err
		}
		// (the child has its copies once started)
		defer func() {
			for _, f := range cmd.ExtraFiles {
				f.Close()
			}
		}()
	}
	st := &started{res: &Result{Args: args, WatchLog: straced}}
	if straced {
		st.res.Strace = StraceVersion(bin)
	}
	var ns string // the namespace's name (read here: the command may be gone before it could be read from its pid)
	err = sandbox.WithPrivateMounts(func() error {
		ns, _ = os.Readlink("/proc/thread-self/ns/mnt")
		mounts, err := w.MarkNamespace("/proc/thread-self")
		st.res.Mounts = mounts
		if err != nil {
			return errors.WithMessage(err, "watching the mounts")
		}
		st.start = time.Now()
		if err := cmd.Start(); err != nil {
			return errors.Wrapf(err, "starting %s", o.Command[0])
		}
		return nil
	})
	if err == nil {
		st.leader = cmd.Process.Pid
		if straced {
			// The process started is strace until it runs the command
			// (-DDD): its own files are left out until then. Before the
			// reader starts: the queue waits.
			if detaches(cmd.Args) {
				w.ExcludeUntilExec(st.leader, straceFiles(bin))
			} else {
				w.Exclude(st.leader)
				st.tracer = st.leader // an older strace leads
			}
		}
		if err = w.Start(); err != nil {
			cmd.Process.Kill() // started, but nobody would read its events
			cmd.Wait()
		}
	}
	if err != nil {
		w.Stop()
		w.Close()
		if hold >= 0 {
			syscall.Close(hold)
		}
		return nil, err
	}
	if straced && st.tracer == 0 {
		st.tracer = findTracer(st.leader, bin) // 0: strace failed before it attached
	}
	tracerWait := waitCmdAndTracer(cmd, st.tracer)
	st.wait = func() error {
		err := tracerWait()
		// As strace does for its tracees: a watched run goes on while any
		// process of the command's namespace lives (zombies have no
		// namespace left).
		for ns != "" && inNamespace(ns) {
			time.Sleep(20 * time.Millisecond)
		}
		return err
	}
	traced := tracedBy(st.tracer)
	st.ours = func(pid int) bool { return traced != nil && traced(pid) || ns != "" && mountNamespace(pid) == ns }
	st.finish = func(res *Result) error {
		// Every watched process is gone: the queue holds all their events.
		var err error
		res.Watch, err = w.Stop()
		w.Close()
		if hold >= 0 {
			syscall.Close(hold) // the launcher's namespace, held until now
		}
		if err != nil {
			return err
		}
		if len(res.Watch.Accesses) == 0 {
			return errors.Errorf("the command did not start: nothing was opened (exit status %d; see the message above)", res.ExitCode)
		}
		return nil
	}
	return st, nil
}

// WatchFDEnv names the fd of the fanotify group a launcher that makes
// its own mounts marks them with (Options.LauncherMounts).
const WatchFDEnv = "SCRATCHPACK_FANOTIFY_FD"

// passWatch gives the launcher cmd the fanotify group (fd 3) and one end
// of a socket (fd 4) on which its container's init sends an fd of its
// mount namespace; the other end, returned, holds that namespace (and
// so its mounts, which the events' paths go through) until closed.
func passWatch(w *fanotify.Watcher, cmd *exec.Cmd) (int, error) {
	f, err := w.File()
	if err != nil {
		return -1, err
	}
	sp, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		f.Close()
		return -1, errors.Wrap(err, "creating a socket for the launcher")
	}
	h := os.NewFile(uintptr(sp[1]), "hold")
	cmd.ExtraFiles = []*os.File{f, h}
	env := cmd.Env
	if env == nil {
		env = os.Environ()
	}
	cmd.Env = append(append([]string{}, env...), WatchFDEnv+"=3")
	return sp[0], nil
}
