// Package tracer runs a command under strace and writes the log that
// collect/strace reads, or watches it with fanotify (collect/fanotify)
// beside a narrow strace. It keeps the command's stdin, stdout and
// stderr, runs it as the leader of a session of its own (strace traces it
// from another: what the command signals, even its whole group, reaches
// neither strace nor the caller), forwards signals to it, runs probes
// against servers, and makes sure no traced process is left running when
// it returns.
package tracer

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pkg/errors"

	"github.com/scratchpack/scratchpack/collect/fanotify"
	"github.com/scratchpack/scratchpack/internal/rootpath"
	"github.com/scratchpack/scratchpack/internal/sandbox"
)

// TraceSet is the syscall filter: every call that names a path, process
// creation and exit, and the fd calls the parser needs to follow cwds
// and listings.
const TraceSet = "%file,%process,fchdir,getdents,getdents64,unshare"

// Options for one traced run.
type Options struct {
	Command []string
	Log     string // the strace log to write
	// Root, when set, runs the command chrooted into it (strace runs on
	// the host, so its paths are host paths under Root).
	Root string
	Dir  string // working directory (inside Root when set)
	// Launcher starts the command inside Root: it is run as
	// LAUNCHER... ROOT DIR -- COMMAND... (see ChrootExec). Without it,
	// chroot(1) is used, which cannot set a working directory.
	Launcher []string
	Env      []string // nil: the current environment
	// Stdin, Stdout, Stderr of the command (nil: /dev/null for stdin,
	// discard for the others).
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Strace is the strace binary (default: found on PATH).
	Strace string
	// Probes are shell commands run (with sh -c) once the command has
	// started, each retried until it succeeds or ProbeTimeout passes;
	// then the command is stopped.
	Probes       []string
	ProbeTimeout time.Duration // default 30s
	// Duration, when set, stops the command after that long.
	Duration time.Duration
	// Grace is how long a stopped command gets between SIGTERM and
	// SIGKILL (default 5s).
	Grace time.Duration
	// Signals are forwarded to the traced command (SIGINT, SIGTERM from
	// the CLI). strace itself ignores them when it writes to a file.
	Signals <-chan os.Signal
	// Collector is how the files are seen: strace (the default) writes
	// Log; fanotify watches the mounts of a namespace of the command's
	// own and fills Result.Watch, while strace writes to Log only the
	// calls the watch cannot see (WatchTraceSet), when strace is there.
	Collector Collector
	// Program is the file Command runs, inside Root (default: Command[0]
	// found through the PATH of Env). strace finds it itself.
	Program string
	// AllSyscalls traces every syscall, not only TraceSet (for a seccomp
	// profile: see collect/strace.CountCalls). strace then stops the
	// command at every call, and the log grows with them. It needs the
	// strace collector.
	AllSyscalls bool
	// AfterProbes, when set, runs once the probes have succeeded and
	// before the command is stopped (a server runs meanwhile); its error
	// is Run's.
	AfterProbes func(ctx context.Context) error
	// Nested marks a run made while another runs (from AfterProbes): its
	// signals and final sweep reach only its own command, its children
	// and its session, not the other run's processes.
	Nested bool
}

// Collector names a way to see the files a command uses.
type Collector string

// The collectors.
const (
	// Strace stops the command at every file system call (ptrace, with a
	// seccomp filter): it sees every name used, failed lookups, stats and
	// the symlinks on the way.
	Strace Collector = "strace"
	// Fanotify does not stop the command: the kernel queues an event when
	// a file is opened or run. It sees the files, not the names used to
	// reach them, and nothing that was only looked at.
	Fanotify Collector = "fanotify"
)

// ParseCollector reads a --collector value.
func ParseCollector(s string) (Collector, error) {
	switch Collector(s) {
	case "", Strace:
		return Strace, nil
	case Fanotify:
		return Fanotify, nil
	}
	return "", errors.Errorf("unknown collector %q (expected strace or fanotify)", s)
}

// Result of a run.
type Result struct {
	ExitCode int    // the command's exit status; 128+N when killed by signal N
	Signal   string // the signal that ended it, if any
	Stopped  bool   // scratchpack stopped it (probes done, duration over)
	Args     []string
	Elapsed  time.Duration
	Probes   []ProbeResult
	// Watch is what a fanotify run saw (nil for strace runs), with the
	// mounts it watched.
	Watch  *fanotify.Result
	Mounts []fanotify.Mount
	// WatchLog is set when a watched run also wrote Log: strace followed
	// the calls fanotify cannot see (see WatchTraceSet).
	WatchLog bool
}

// ProbeResult is the outcome of one probe.
type ProbeResult struct {
	Command  string
	Attempts int
	Output   string
}

// ErrNoStrace is returned when strace cannot be found.
var ErrNoStrace = errors.New("strace is not installed: install it (Debian/Ubuntu: apt-get install strace; Alpine: apk add strace; RHEL/Fedora: dnf install strace)")

// ProbeError is a probe that did not succeed in time.
type ProbeError struct {
	Probe    string
	Attempts int
	Output   string
	Exited   bool // the command exited before the probe succeeded
}

func (e *ProbeError) Error() string {
	msg := fmt.Sprintf("probe %q did not succeed after %d attempts", e.Probe, e.Attempts)
	if e.Exited {
		msg = fmt.Sprintf("the traced command exited before probe %q succeeded (%d attempts)", e.Probe, e.Attempts)
	}
	if out := strings.TrimSpace(e.Output); out != "" {
		msg += "; its last output: " + clip(out, 300)
	}
	return msg
}

// Args returns the strace command line for a run.
func Args(straceBin string, seccomp bool, o Options) []string {
	return argsFor(straceBin, seccomp, TraceSet, o)
}

// WatchTraceSet is what strace follows beside a fanotify watch: the
// calls that change directories and names, which fanotify's mount marks
// cannot report (mkdir, rename, unlink...), the cwd, and the process
// tree. Programs make few of these: the command is rarely stopped.
const WatchTraceSet = "%process,mkdir,mkdirat,rename,renameat,renameat2,unlink,unlinkat,rmdir,link,linkat,symlink,symlinkat,mknod,mknodat,chdir,fchdir,chroot,unshare"

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
func SupportsSeccomp(straceBin string) bool {
	out, err := exec.Command(straceBin, "-V").Output()
	if err != nil {
		return false
	}
	m := versionRe.FindSubmatch(out)
	if m == nil {
		return false
	}
	major, _ := strconv.Atoi(string(m[1]))
	minor, _ := strconv.Atoi(string(m[2]))
	return major > 5 || major == 5 && minor >= 3
}

// Run traces the command until it exits, or until the probes succeed or
// Duration passes and it has been stopped. A non-zero exit is not an
// error: the caller decides. No traced process is left when Run returns.
func Run(ctx context.Context, o Options) (*Result, error) {
	if len(o.Command) == 0 {
		return nil, errors.New("no command to trace")
	}
	o.Root = rootpath.NormRoot(o.Root) // the one spelling from here on
	if o.Collector != Fanotify && o.Root != "/" && o.Dir != "" && o.Dir != "/" && len(o.Launcher) == 0 {
		return nil, errors.New("a working directory inside --root needs a launcher (scratchpack provides one)")
	}
	if o.AllSyscalls && o.Collector == Fanotify {
		return nil, errors.New("tracing every syscall needs the strace collector (fanotify does not see syscalls)")
	}
	if o.ProbeTimeout <= 0 {
		o.ProbeTimeout = 30 * time.Second
	}
	if o.Grace <= 0 {
		o.Grace = 5 * time.Second
	}
	// Orphans (daemons that fork and let their parent exit) become our
	// children, so that none escapes the final sweep.
	if err := setSubreaper(); err != nil {
		return nil, errors.Wrap(err, "becoming a child subreaper")
	}
	var st *started
	var err error
	if o.Collector == Fanotify {
		st, err = startWatched(o)
	} else {
		st, err = startStrace(o)
	}
	if err != nil {
		return nil, err
	}
	cmd, res, start := st.cmd, st.res, st.start
	// The process started is the command (strace -DDD traces it from a
	// grandchild, or it runs watched alone): the leader of its own session.
	leader := cmd.Process.Pid
	tracerPid := 0
	switch {
	case st.straceLeads:
		tracerPid = leader // an older strace: it leads, and is never signalled
	case st.watch == nil || res.WatchLog:
		tracerPid = findTracer(leader) // 0: strace failed before it attached
	}
	ns := st.ns // a watched run's private namespace
	done := make(chan error, 1)
	go func() {
		err := cmd.Wait()
		// strace follows the command's children (a daemon whose parent
		// exited) and has written the whole log once it exits.
		waitExit(tracerPid)
		// As strace does for its tracees: a watched run goes on while any
		// process of the command's namespace lives.
		for ns != "" && inNamespace(ns) { // (zombies have no namespace left)
			time.Sleep(20 * time.Millisecond)
		}
		done <- err
	}()
	sweep := sweeper{leader: leader, keep: tracerPid, scoped: o.Nested}

	var waitErr error
	finished := false
	stop := func() {
		res.Stopped = true
		sweep.signal(syscall.SIGTERM)
		select {
		case waitErr = <-done:
			finished = true
		case <-time.After(o.Grace):
		}
	}
	var probeErr, afterErr error
	var timer <-chan time.Time
	if o.Duration > 0 {
		timer = time.After(o.Duration)
	}
	probesDone := make(chan error, 1)
	probeCtx, cancelProbes := context.WithCancel(ctx)
	defer cancelProbes()
	if len(o.Probes) > 0 {
		go func() { probesDone <- runProbes(probeCtx, o, res, done) }()
	}
loop:
	for {
		select {
		case waitErr = <-done:
			finished = true
			cancelProbes()
			if len(o.Probes) > 0 {
				if err := <-probesDone; err != nil {
					var pe *ProbeError
					if errors.As(err, &pe) {
						pe.Exited = true
					}
					probeErr = err
				}
			}
			break loop
		case sig := <-o.Signals:
			if s, ok := sig.(syscall.Signal); ok {
				sweep.signal(s)
			}
		case err := <-probesDone:
			probeErr = err
			if err == nil && o.AfterProbes != nil {
				// while the server runs: the caller's own traced runs
				afterErr = o.AfterProbes(ctx)
			}
			stop()
			break loop
		case <-timer:
			stop()
			break loop
		case <-ctx.Done():
			stop()
			break loop
		}
	}
	// The sweep: anything still alive (daemons, stuck children) is killed;
	// strace then finishes its log and exits.
	sweep.kill()
	if !finished {
		select {
		case waitErr = <-done:
		case <-time.After(10 * time.Second):
			if tracerPid > 0 { // 0 is no strace: kill(0) would be our own group
				syscall.Kill(tracerPid, syscall.SIGKILL) // a stuck strace
			}
			waitErr = <-done
		}
	}
	sweep.reap()
	res.Elapsed = time.Since(start)
	res.ExitCode, res.Signal = exitStatus(waitErr)
	if st.watch != nil {
		// Every watched process is gone: the queue holds all their events.
		res.Watch, err = st.watch.Stop()
		st.watch.Close()
		if err != nil {
			return res, err
		}
		if len(res.Watch.Accesses) == 0 {
			return res, errors.Errorf("the command did not start: nothing was opened (exit status %d; see the message above)", res.ExitCode)
		}
	}
	if probeErr != nil {
		return res, probeErr
	}
	if afterErr != nil {
		return res, afterErr
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}
	if res.ExitCode != 0 && !res.Stopped && st.watch == nil {
		if err := checkLog(o.Log); err != nil {
			return res, err
		}
	}
	return res, nil
}

// started is a command that runs, under strace or watched.
type started struct {
	straceLeads bool   // strace (older than 5.3: no -DDD) is the process started
	ns          string // the mount namespace made for a watched run
	cmd         *exec.Cmd
	res         *Result
	start       time.Time
	watch       *fanotify.Watcher
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
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = o.Stdin, o.Stdout, o.Stderr
	cmd.Env = o.Env
	if o.Root == "/" {
		cmd.Dir = o.Dir
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	return cmd
}

func startStrace(o Options) (*started, error) {
	bin, err := straceBinary(o)
	if err != nil {
		return nil, err
	}
	cmd := straceCommand(bin, TraceSet, o)
	st := &started{cmd: cmd, res: &Result{Args: cmd.Args}, start: time.Now(), straceLeads: !detaches(cmd.Args)}
	if err := cmd.Start(); err != nil {
		return nil, errors.Wrapf(err, "starting %s", bin)
	}
	return st, nil
}

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
	if !straced {
		args = append([]string{cmd.Path}, o.Command[1:]...) // the file run, not argv[0]
	}
	st := &started{cmd: cmd, res: &Result{Args: args, WatchLog: straced}, watch: w}
	err = sandbox.WithPrivateMounts(func() error {
		// (read here: the command may be gone before Run could read it)
		st.ns, _ = os.Readlink("/proc/thread-self/ns/mnt")
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
		if straced {
			// The process started is strace until it runs the command
			// (-DDD): its own files are left out until then. Before the
			// reader starts: the queue waits.
			if detaches(cmd.Args) {
				w.ExcludeUntilExec(cmd.Process.Pid, straceFiles(bin))
			} else {
				w.Exclude(cmd.Process.Pid)
				st.straceLeads = true
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
		return nil, err
	}
	return st, nil
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

func runProbes(ctx context.Context, o Options, res *Result, done <-chan error) error {
	deadline := time.Now().Add(o.ProbeTimeout)
	for _, p := range o.Probes {
		pr := ProbeResult{Command: p}
		for {
			pr.Attempts++
			actx, cancel := context.WithTimeout(ctx, min(10*time.Second, time.Until(deadline)+time.Millisecond))
			c := exec.CommandContext(actx, "/bin/sh", "-c", p)
			var out bytes.Buffer
			c.Stdout, c.Stderr = &out, &out
			err := c.Run()
			cancel()
			pr.Output = out.String()
			if err == nil {
				break
			}
			if ctx.Err() != nil || time.Now().After(deadline) {
				res.Probes = append(res.Probes, pr)
				return &ProbeError{Probe: p, Attempts: pr.Attempts, Output: pr.Output}
			}
			select {
			case <-ctx.Done():
				res.Probes = append(res.Probes, pr)
				return &ProbeError{Probe: p, Attempts: pr.Attempts, Output: pr.Output}
			case <-time.After(200 * time.Millisecond):
			}
		}
		res.Probes = append(res.Probes, pr)
	}
	return nil
}

func exitStatus(err error) (int, string) {
	if err == nil {
		return 0, ""
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), ws.Signal().String()
		}
		return ee.ExitCode(), ""
	}
	return -1, ""
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
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
