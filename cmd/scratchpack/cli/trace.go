package cli

import (
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/scratchpack/scratchpack"

	"github.com/scratchpack/scratchpack/collect/tracer"
)

// traceFlags are the flags of a traced run, shared by trace and build.
type traceFlags struct {
	root         string
	dir          string
	probes       []string
	probeTimeout time.Duration
	duration     time.Duration
	grace        time.Duration
	failOnExit   bool
}

func (t *traceFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&t.root, "root", "/", "run the command chrooted into this filesystem (an extracted image)")
	f.StringVar(&t.dir, "dir", "", "working directory of the command (default: the current one; / with --root)")
	f.StringArrayVar(&t.probes, "probe", nil, "shell command run once the command started, retried until it succeeds; then the command is stopped (repeatable)")
	f.DurationVar(&t.probeTimeout, "probe-timeout", 30*time.Second, "how long the probes may take")
	f.DurationVar(&t.duration, "duration", 0, "trace for this long, then stop the command (for servers, without probes)")
	f.DurationVar(&t.grace, "grace", 5*time.Second, "time between SIGTERM and SIGKILL when stopping the command")
	f.BoolVar(&t.failOnExit, "fail-on-exit", false, "a non-zero exit of the command is an error, not a warning")
}

// options maps the flags; signals reach the traced command.
func (t *traceFlags) options(g *globals) (tracer.Options, func()) {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	launcher := []string{}
	if exe, err := os.Executable(); err == nil {
		launcher = []string{exe, chrootExecCommand}
	}
	return tracer.Options{
		Launcher:     launcher,
		Stdin:        g.in,
		Stdout:       g.out,
		Stderr:       g.err,
		Probes:       t.probes,
		ProbeTimeout: t.probeTimeout,
		Duration:     t.duration,
		Grace:        t.grace,
		Signals:      sigs,
	}, func() { signal.Stop(sigs) }
}

func newTrace(g *globals) *cobra.Command {
	var tf traceFlags
	var output string
	cmd := &cobra.Command{
		Use:   "trace -o LOG [flags] -- COMMAND [ARGS...]",
		Short: "Run a command under strace and write the log that filelist and pack read",
		Long: `trace runs the command under strace, following forks, with a filter of the
syscalls that name paths (and --seccomp-bpf to keep the overhead low). The command
keeps its stdin, stdout and stderr; SIGINT and SIGTERM are forwarded to it. Its exit
status is reported; a non-zero exit is a warning unless --fail-on-exit.

For servers, --probe runs shell commands against the started server (retried until
they succeed), then stops it with SIGTERM, and SIGKILL after --grace; --duration
traces for a fixed time. No traced process is left running afterwards.`,
		Example: `  scratchpack trace -o app.strace -- /usr/games/fortune
  scratchpack trace -o nginx.strace --probe 'curl -sf http://127.0.0.1:8080/' -- nginx -g 'daemon off;'
  scratchpack trace -o app.strace --root /tmp/rootfs -- /usr/bin/python3 /app/main.py`,
		Args: needCommand("scratchpack trace -o app.strace -- /usr/games/fortune"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output == "" {
				return usagef("no output: give -o LOG")
			}
			topts, stop := tf.options(g)
			defer stop()
			res, err := scratchpack.Trace(cmd.Context(), scratchpack.TraceOptions{
				Command:    args,
				Root:       tf.root,
				Dir:        tf.dir,
				Log:        output,
				Trace:      topts,
				FailOnExit: tf.failOnExit,
				Warn:       g.warn,
			})
			if err != nil {
				return err
			}
			g.infof("wrote %s (traced for %s)\n", output, res.Elapsed.Round(time.Millisecond))
			return nil
		},
	}
	tf.register(cmd)
	cmd.Flags().StringVarP(&output, "output", "o", "", "the strace log to write")
	return cmd
}

// exitError carries the traced command's status as scratchpack's.
type exitError struct {
	err  error
	code int
}

func (e exitError) Error() string { return e.err.Error() }
func (e exitError) ExitCode() int {
	if e.code > 0 && e.code < 256 {
		return e.code
	}
	return ExitError
}

const chrootExecCommand = "__chroot-exec"

// newChrootExec is the launcher trace uses with --root: chroot, chdir,
// exec. It is hidden: users never call it.
func newChrootExec() *cobra.Command {
	return &cobra.Command{
		Use:                chrootExecCommand + " ROOT DIR -- COMMAND...",
		Hidden:             true,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) < 4 || args[2] != "--" {
				return usagef("usage: %s ROOT DIR -- COMMAND...", chrootExecCommand)
			}
			return tracer.Launch(args, os.Environ())
		},
	}
}
