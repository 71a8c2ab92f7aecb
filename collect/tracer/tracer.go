package tracer

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/pkg/errors"

	"github.com/scratchpack/scratchpack/collect"
	"github.com/scratchpack/scratchpack/collect/fanotify"
	"github.com/scratchpack/scratchpack/collect/strace"
	"github.com/scratchpack/scratchpack/internal/rootpath"
)

// TraceSet is the syscall filter: every call that names a path, process
// creation and exit, the fd calls the parser needs to follow cwds and
// listings, and the uid changes (CredSet).
const TraceSet = "%file,%process,fchdir,getdents,getdents64,unshare," + CredSet

// CredSet are the calls that change a process's effective uid. A process
// that changes its uid without exec becomes non-dumpable: strace, without
// CAP_SYS_PTRACE, then prints addresses where paths belong, and the
// parser names the process with the uid it follows through these calls
// (it starts as scratchpack's own). Programs make few of them (a server's
// workers, once each): they cost nothing under --seccomp-bpf. The gid
// calls are left out: the uid is what the warning names.
const CredSet = "setuid,setreuid,setresuid"

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
	// LauncherMounts says the launcher makes mounts of its own (a
	// container's, in a namespace of its own: see sandbox.Launch), which
	// a fanotify watch of our namespace would not see: a watched run then
	// always starts the launcher and gives it the fanotify group as fd 3
	// (WatchFDEnv=3 in its environment), and the launcher marks them
	// (and a socket as fd 4, to which it sends an fd of its mount
	// namespace: held until the watch is drained).
	LauncherMounts bool
	Env            []string // nil: the current environment
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
	// Canonical resolves the symlinks of a host directory, for the uses
	// the ptrace collector records (see collect.Normalize; nil: lexical).
	Canonical func(dir string) string
	// AfterProbes, when set, runs once the probes have succeeded and
	// before the command is stopped (a server runs meanwhile); its error
	// is Run's.
	AfterProbes func(ctx context.Context) error
	// Failed keeps the calls that failed (ENOENT lookups...) of a ptrace
	// run in Result.Failed (ptrace.Options.Failed); the strace
	// collector's are in its log (strace.Options.Failed).
	Failed bool
	// Proc gives the command, chrooted into Root, what a container runtime
	// gives a container (sandbox.ContainerRoot): /proc and the standard
	// /dev nodes, mounted in a mount namespace of its own; without the
	// right to mount (no CAP_SYS_ADMIN: a docker or podman build), the
	// device nodes only (Result.NoProc). The strace and ptrace collectors.
	Proc bool
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
	// Ptrace is scratchpack's own tracer (collect/ptrace): like strace,
	// it stops the command at the file system calls, through a seccomp
	// filter, but reads their paths itself (no strace, no log), and keeps
	// seeing the paths of processes that drop privileges (server workers)
	// without CAP_SYS_PTRACE.
	Ptrace Collector = "ptrace"
)

// ParseCollector reads a --collector value.
func ParseCollector(s string) (Collector, error) {
	switch Collector(s) {
	case "", Strace:
		return Strace, nil
	case Fanotify:
		return Fanotify, nil
	case Ptrace:
		return Ptrace, nil
	}
	return "", errors.Errorf("unknown collector %q (expected ptrace, strace or fanotify)", s)
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
	// Strace is the version of the strace the run used (StraceVersion):
	// set for the strace collector and a watched run with WatchLog, ""
	// when no strace ran.
	Strace string
	// Uses are what a ptrace run saw, as host paths (nil for the other
	// collectors: their log or watch holds it).
	Uses []collect.Use
	// Unreadable are the processes of a ptrace run with calls whose path
	// could not be read.
	Unreadable []collect.Unreadable
	// Calls counts the syscalls of a ptrace run by name: every call with
	// AllSyscalls (for a seccomp profile), else the file calls.
	Calls map[string]int
	// Failed are the failed calls of a ptrace run with Options.Failed.
	Failed []strace.Event
	// NoProc says that the command had no /proc, with Options.Proc: the
	// mount was not permitted.
	NoProc bool
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

// Run traces the command until it exits, or until the probes succeed or
// Duration passes and it has been stopped. A non-zero exit is not an
// error: the caller decides. No traced process is left when Run returns,
// and no process of the caller's is touched.
//
// Run is made of phases that every collector shares but one: the options
// are checked, the sweep takes note of the caller's own children, the
// collector's start phase starts the command (startStrace, startWatched),
// and the session supervises it (probes, signals, duration), sweeps what
// it left and finishes.
func Run(ctx context.Context, o Options) (*Result, error) {
	o, err := o.checked()
	if err != nil {
		return nil, err
	}
	sw, err := newSweeper()
	if err != nil {
		return nil, err
	}
	st, err := o.starter()(o)
	if err != nil {
		return nil, err
	}
	s := newSession(o, st, sw)
	s.supervise(ctx)
	s.end()
	return s.result(ctx)
}

// checked validates the options and fills in the defaults.
func (o Options) checked() (Options, error) {
	if len(o.Command) == 0 {
		return o, errors.New("no command to trace")
	}
	o.Root = rootpath.NormRoot(o.Root) // the one spelling from here on
	if o.Collector != Fanotify && o.Root != "/" && o.Dir != "" && o.Dir != "/" && len(o.Launcher) == 0 {
		return o, errors.New("a working directory inside --root needs a launcher (scratchpack provides one)")
	}
	if o.AllSyscalls && o.Collector == Fanotify {
		return o, errors.New("tracing every syscall needs the strace collector (fanotify does not see syscalls)")
	}
	if o.Proc && (o.Collector == Fanotify || o.Root == "/") {
		return o, errors.New("a /proc for the command needs a root to chroot into and the strace or ptrace collector")
	}
	if o.ProbeTimeout <= 0 {
		o.ProbeTimeout = 30 * time.Second
	}
	if o.Grace <= 0 {
		o.Grace = 5 * time.Second
	}
	return o, nil
}

// starter is the start phase of the collector: it starts the command
// and says how to wait for it, what of the processes left is the run's,
// and how the collector finishes.
func (o Options) starter() func(Options) (*started, error) {
	switch o.Collector {
	case Fanotify:
		return startWatched
	case Ptrace:
		return startPtrace
	}
	return startStrace
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
