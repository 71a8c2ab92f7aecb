package tracer

import (
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pkg/errors"

	"github.com/scratchpack/scratchpack/internal/rootpath"
	"github.com/scratchpack/scratchpack/internal/sandbox"
)

// Args returns the strace command line for a run.
func Args(straceBin string, seccomp bool, o Options) []string {
	return argsFor(straceBin, seccomp, TraceSet, o)
}

// WatchTraceSet is what strace follows beside a fanotify watch: the
// calls that change directories and names, which fanotify's mount marks
// cannot report (mkdir, rename, unlink...), the cwd, and the process
// tree. Programs make few of these: the command is rarely stopped.
const WatchTraceSet = "%process,mkdir,mkdirat,rename,renameat,renameat2,unlink,unlinkat,rmdir,link,linkat,symlink,symlinkat,mknod,mknodat,chdir,fchdir,chroot,unshare," + CredSet

func argsFor(straceBin string, seccomp bool, set string, o Options) []string {
	// -s 256: paths are never cut by -s, but readlink results and argv
	// are; 4096 made logs 6x larger in the reference measurements
	// (failed execve PATH probes repeat the whole argv).
	// -DDD (strace 5.3 and later, as --seccomp-bpf): strace traces from
	// a grandchild in a session of its own, and the process we start
	// (which Setsid makes a session and process group leader) becomes the
	// command. Whatever the command signals, even its whole group
	// (apache's kill(0, SIGTERM)), reaches neither strace nor scratchpack.
	// An older strace is itself the session leader, with the command in
	// its group; it blocks the fatal signals (-I3, the default with -o).
	args := []string{straceBin, "-f", "-y", "-s", "256", "-o", o.Log}
	if seccomp {
		args = append(args, "-DDD")
	}
	if o.AllSyscalls {
		set = "" // strace's default: every syscall (--seccomp-bpf would not help)
	}
	if seccomp && set != "" {
		args = append(args, "--seccomp-bpf")
	}
	if set != "" {
		args = append(args, "-e", "trace="+set)
	}
	args = append(args, "--")
	if launcher := LauncherProgram(o); launcher != "" {
		if len(o.Launcher) > 0 {
			dir := o.Dir
			if dir == "" {
				dir = "/"
			}
			args = append(append(args, o.Launcher...), o.Root, dir, "--")
		} else {
			args = append(args, launcher, o.Root)
		}
	}
	return append(args, o.Command...)
}

// LauncherProgram is the program strace starts first, which chroots into
// Root and execs the command: Launcher[0], or chroot(1). It is "" without
// a Root. Its own calls are not the command's.
func LauncherProgram(o Options) string {
	if rootpath.NormRoot(o.Root) == "/" {
		return ""
	}
	if len(o.Launcher) > 0 {
		return o.Launcher[0]
	}
	chroot, err := exec.LookPath("chroot")
	if err != nil {
		chroot = "/usr/sbin/chroot"
	}
	return chroot
}

var versionRe = regexp.MustCompile(`version (\d+)\.(\d+)`)

// SupportsSeccomp reports whether the strace binary knows --seccomp-bpf
// (strace 5.3 and later).
func SupportsSeccomp(straceBin string) bool { return straceAtLeast(straceBin, 5, 3) }

// straceAtLeast reports whether strace -V says major.minor or later.
func straceAtLeast(straceBin string, major, minor int) bool {
	m := versionRe.FindStringSubmatch(StraceVersion(straceBin))
	if m == nil {
		return false
	}
	maj, _ := strconv.Atoi(m[1])
	min, _ := strconv.Atoi(m[2])
	return maj > major || maj == major && min >= minor
}

// straceVersions holds, per strace binary, a function that runs its -V
// once (the version does not change while we run).
var straceVersions sync.Map

// StraceVersion is the first line of what strace -V prints ("strace --
// version 6.1"), or "" when it cannot run. It runs once per binary and
// process: the features a run needs and the report ask it again.
func StraceVersion(straceBin string) string {
	f, ok := straceVersions.Load(straceBin)
	if !ok {
		f, _ = straceVersions.LoadOrStore(straceBin, sync.OnceValue(func() string {
			out, err := exec.Command(straceBin, "-V").Output()
			if err != nil {
				return ""
			}
			first, _, _ := strings.Cut(string(out), "\n")
			return strings.TrimSpace(first)
		}))
	}
	return f.(func() string)()
}

// straceBinary is Options.Strace, or strace found on PATH.
func straceBinary(o Options) (string, error) {
	if o.Strace != "" {
		return o.Strace, nil
	}
	p, err := exec.LookPath("strace")
	if err != nil {
		return "", ErrNoStrace
	}
	return p, nil
}

// straceCommand runs the command under strace following set, with the
// command's stdio and environment.
func straceCommand(bin, set string, o Options) *exec.Cmd {
	args := argsFor(bin, SupportsSeccomp(bin), set, o)
	if o.LauncherMounts && len(o.Launcher) > 0 && straceAtLeast(bin, 5, 9) {
		// the container's processes are in a PID namespace of their own:
		// a clone returns the child's pid there, the child's lines carry
		// its pid in ours. strace 5.9 and later give both ("= 2 /* 18585
		// in strace's PID NS */"), so that the log links each child to
		// its parent (the syscall count leaves the launcher's children
		// out; a child's uid is its parent's).
		args = append([]string{args[0], "--pidns-translation"}, args[1:]...)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = o.Stdin, o.Stdout, o.Stderr
	cmd.Env = o.Env
	if o.Root == "/" {
		cmd.Dir = o.Dir
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	return cmd
}

// startStrace is the strace collector's start phase: strace -f writes
// Log. With -DDD (strace 5.3 and later) the process started is the
// command and strace traces it from a process of its own, which the
// sweep leaves alone and the session waits for: it has written the
// whole log once it exits. An older strace is the process started, and
// leads the command's session.
func startStrace(o Options) (*started, error) {
	bin, err := straceBinary(o)
	if err != nil {
		return nil, err
	}
	cmd := straceCommand(bin, TraceSet, o)
	st := &started{res: &Result{Args: cmd.Args, Strace: StraceVersion(bin)}, start: time.Now()}
	start := func() error { return errors.Wrapf(cmd.Start(), "starting %s", bin) }
	if o.Proc {
		// strace and the command inherit the thread's mount namespace
		err = sandbox.OnThread(func() error {
			proc, err := sandbox.ContainerRoot(o.Root)
			st.res.NoProc = !proc
			if err != nil {
				return err
			}
			return start()
		})
	} else {
		err = start()
	}
	if err != nil {
		return nil, err
	}
	st.leader = cmd.Process.Pid
	if detaches(cmd.Args) {
		st.tracer = findTracer(st.leader, bin) // 0: strace failed before it attached
	} else {
		st.tracer = st.leader // it leads, and is never signalled
	}
	st.wait = waitCmdAndTracer(cmd, st.tracer)
	st.ours = tracedBy(st.tracer)
	st.verdict = func(res *Result) error {
		if res.ExitCode != 0 && !res.Stopped {
			return checkLog(o.Log)
		}
		return nil
	}
	return st, nil
}

// waitCmdAndTracer waits for the process started, then for the strace
// that traced it (it follows the command's children, a daemon whose
// parent exited too, and has written the whole log once it exits).
func waitCmdAndTracer(cmd *exec.Cmd, tracer int) func() error {
	return func() error {
		err := cmd.Wait()
		waitExit(tracer)
		return err
	}
}

// checkLog tells strace's own failures (empty log) from the command's.
func checkLog(log string) error {
	f, err := os.Open(log)
	if err != nil {
		return errors.Wrap(err, "strace wrote no log")
	}
	defer f.Close()
	head := make([]byte, 256)
	n, _ := f.Read(head)
	if n == 0 {
		return errors.Errorf("strace could not start the command (its log %s is empty; see strace's message above)", log)
	}
	return nil
}

// detaches reports whether a strace command line runs the tracer apart
// (-DDD) and the command as the process started.
func detaches(args []string) bool {
	for _, a := range args {
		if a == "--" {
			break
		}
		if a == "-DDD" {
			return true
		}
	}
	return false
}
