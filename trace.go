package scratchpack

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pkg/errors"

	"github.com/scratchpack/scratchpack/collect/tracer"
	"github.com/scratchpack/scratchpack/internal/rootpath"
)

// TraceOptions configure Trace: run a command under strace and keep the
// log.
type TraceOptions struct {
	// Command to run, as argv. A name without a slash is found through
	// the PATH of Env (inside Root).
	Command []string
	Root    string   // the filesystem to run in ("" or "/": the host)
	Dir     string   // working directory (default: the current one; "/" with Root)
	Env     []string // the command's environment (nil: this process's)
	// Log is the strace log to write.
	Log string
	// Trace holds the rest: probes, duration, grace, signals, stdio,
	// launcher, collector. Its Command, Log, Env, Root, Dir and Program
	// are set from the fields above.
	Trace tracer.Options
	// FailOnExit makes a non-zero exit of the command an error (by
	// default it is a warning).
	FailOnExit bool
	Warn       func(error)
}

// ExitError is a traced command's non-zero exit, when it is an error
// (FailOnExit). ExitCode gives the command's status for scratchpack's own.
type ExitError struct {
	Command string
	Code    int
	Signal  string // the signal that ended it, if any
}

func (e *ExitError) Error() string {
	return fmt.Sprintf("%s exited with status %d%s", e.Command, e.Code, signalNote(e.Signal))
}

// ExitCode is the command's status when it fits an exit status, else 1.
func (e *ExitError) ExitCode() int {
	if e.Code > 0 && e.Code < 256 {
		return e.Code
	}
	return 1
}

// Trace runs the command under strace (the trace command), with the
// same defaults and exit-status rules as Build.
func Trace(ctx context.Context, o TraceOptions) (*tracer.Result, error) {
	if o.Log == "" {
		return nil, errors.New("no output: give -o LOG")
	}
	rn, err := prepareRun(o.Command, o.Root, o.Dir, o.Env)
	if err != nil {
		return nil, err
	}
	if err := rn.checkOutputs(o.Log); err != nil {
		return nil, err
	}
	res, err := rn.trace(ctx, o.Trace, o.Log)
	if err != nil {
		return res, err
	}
	return res, rn.exitStatus(res, o.FailOnExit, orDiscard(o.Warn), "--fail-on-exit makes this an error")
}

// run is a command ready to be traced: its root, working directory,
// environment and program, normalised once for Trace and Build.
type run struct {
	command []string
	root    string // "/" for the host
	dir     string
	env     []string
	res     *rootpath.Resolver
	path    []string // the command's PATH
	program string   // the command's path inside the root
}

// prepareRun applies the defaults: the host's root, the current
// directory ("/" inside another root), this process's environment, and
// finds the program through PATH inside the root.
func prepareRun(command []string, root, dir string, env []string) (*run, error) {
	if len(command) == 0 {
		return nil, errors.New("no command: give it after --")
	}
	rn := &run{command: command, root: rootpath.NormRoot(root), dir: dir, env: env}
	if rn.env == nil {
		rn.env = os.Environ()
	}
	if rn.dir == "" {
		if rn.root != "/" {
			rn.dir = "/"
		} else if wd, err := os.Getwd(); err == nil {
			rn.dir = wd
		}
	}
	var err error
	if rn.res, err = rootpath.New(rn.root); err != nil {
		return nil, err
	}
	// As a shell does when it starts a command in a directory; a stale
	// PWD would send programs that check it (dash, Go) to the host's cwd.
	rn.env = setEnv(rn.env, "PWD", rn.dir)
	rn.path = filepath.SplitList(envValue(rn.env, "PATH"))
	if rn.program, err = rn.res.LookPath(command[0], rn.path, rn.dir); err != nil {
		return nil, err
	}
	return rn, nil
}

// checkOutputs fails before the trace, not after it, when an output
// cannot be written.
func (rn *run) checkOutputs(outputs ...string) error {
	for _, out := range outputs {
		if out == "" || out == "-" {
			continue
		}
		if st, err := os.Stat(filepath.Dir(out)); err != nil || !st.IsDir() {
			return errors.Errorf("cannot write %s: its directory %s does not exist", out, filepath.Dir(out))
		}
	}
	return nil
}

// trace runs the command under the collector of topts, writing log.
func (rn *run) trace(ctx context.Context, topts tracer.Options, log string) (*tracer.Result, error) {
	topts = rn.tracerOptions(topts)
	topts.Command, topts.Log, topts.Program = rn.command, log, rn.program
	res, err := tracer.Run(signalContext(ctx, topts), topts)
	if err != nil {
		return res, errors.WithMessage(err, "tracing "+rn.command[0])
	}
	return res, nil
}

// exitStatus applies the exit-status rule: a non-zero exit of a command
// scratchpack did not stop is an *ExitError with failOnExit, else a
// warning that ends with note.
func (rn *run) exitStatus(res *tracer.Result, failOnExit bool, warn func(error), note string) error {
	if res.ExitCode == 0 || res.Stopped {
		return nil
	}
	err := &ExitError{Command: rn.command[0], Code: res.ExitCode, Signal: res.Signal}
	if failOnExit {
		return err
	}
	warn(errors.WithMessage(err, note))
	return nil
}

// tracerOptions are topts with the run's root, working directory and
// environment: those of the command, and of each --exec.
func (rn *run) tracerOptions(topts tracer.Options) tracer.Options {
	topts.Env, topts.Dir, topts.Root = rn.env, rn.dir, ""
	if rn.root != "/" {
		topts.Root = rn.res.Root()
	}
	if topts.Canonical == nil {
		topts.Canonical = hostCanonical() // the ptrace collector's uses are host paths
	}
	return topts
}

// signalContext is the context of a traced run: when signals are
// forwarded (topts.Signals), they go to the command, which decides; they
// do not cut the trace.
func signalContext(ctx context.Context, topts tracer.Options) context.Context {
	if topts.Signals != nil {
		return context.WithoutCancel(ctx)
	}
	return ctx
}

// signalNote is what an exit status says of the signal that ended it.
func signalNote(sig string) string {
	if sig == "" {
		return ""
	}
	return " (killed by " + sig + ")"
}

func orDiscard(warn func(error)) func(error) {
	if warn == nil {
		return func(error) {}
	}
	return warn
}

func envValue(env []string, key string) string {
	v := ""
	for _, kv := range env {
		if strings.HasPrefix(kv, key+"=") {
			v = kv[len(key)+1:]
		}
	}
	return v
}

// setEnv returns env with key set to value.
func setEnv(env []string, key, value string) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if !strings.HasPrefix(kv, key+"=") {
			out = append(out, kv)
		}
	}
	return append(out, key+"="+value)
}

func mustCanonical(res *rootpath.Resolver, p string) string {
	c, err := res.Canonical(p)
	if err != nil {
		return p
	}
	return c
}

// hostCanonical resolves a host directory's symlinks (lexically when
// that fails).
func hostCanonical() func(string) string {
	host, err := rootpath.New("/")
	return func(dir string) string {
		if err == nil {
			if c, err := host.Canonical(dir); err == nil {
				return c
			}
		}
		return filepath.Clean(dir)
	}
}
