package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

// Exit codes.
const (
	ExitOK       = 0
	ExitError    = 1
	ExitUsage    = 2
	ExitMismatch = 3 // verify: the rootfs does not behave as the host
)

type globals struct {
	debug bool
	quiet bool
	in    io.Reader
	out   io.Writer
	err   io.Writer
}

// warn prints a warning; libraries hand warnings to this function.
func (g *globals) warn(err error) {
	if g.quiet {
		return
	}
	if g.debug {
		fmt.Fprintf(g.err, "scratchpack: warning: %+v\n", err)
		return
	}
	fmt.Fprintf(g.err, "scratchpack: warning: %v\n", err)
}

func (g *globals) infof(format string, args ...any) {
	if !g.quiet {
		fmt.Fprintf(g.err, format, args...)
	}
}

type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// NewRoot returns the root command.
func NewRoot(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "scratchpack",
		Short: "Shrink a container image down to exactly what one program needs",
		Long: `scratchpack finds the files a program uses (from strace logs, ldd output
and its ELF headers), resolves them inside a root filesystem the way the
kernel does (symlinks kept as links, their targets and every directory link
on the way), and writes a deterministic rootfs tar.gz that runs the program
FROM scratch.`,
		Example: `  strace -f -o app.strace /usr/games/fortune
  ldd /usr/games/fortune > app.ldd
  scratchpack filelist --strace app.strace --ldd app.ldd > app.lst
  scratchpack pack -o rootfs.tar.gz --files app.lst \
      --dockerfile Dockerfile --cmd '["/usr/games/fortune"]'`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(g.in)
	root.SetOut(g.out)
	root.SetErr(g.err)
	root.PersistentFlags().BoolVar(&g.debug, "debug", false, "print stack traces with errors")
	root.PersistentFlags().BoolVarP(&g.quiet, "quiet", "q", false, "print only errors")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newFilelist(g), newPack(g), newBuild(g), newTrace(g), newDeps(g), newSets(g), newVerify(g), newInspect(g), newVersion(g), newChrootExec(), newContainerExec(containerExecCommand), newContainerExec(containerInitCommand))
	return root
}

// Main runs the command line and returns the exit code.
func Main(args []string, in io.Reader, out, errw io.Writer) int {
	g := &globals{in: in, out: out, err: errw}
	root := NewRoot(g)
	root.SetArgs(args)
	ctx, stop := interruptible()
	defer stop()
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return ExitOK
	}
	var ie *interruptedError
	if errors.Is(err, context.Canceled) && errors.As(context.Cause(ctx), &ie) {
		// say what interrupted us, not "context canceled"
		fmt.Fprintf(errw, "scratchpack: %v\n", ie)
		return ie.ExitCode()
	}
	if g.debug {
		fmt.Fprintf(errw, "scratchpack: %+v\n", err)
	} else {
		fmt.Fprintf(errw, "scratchpack: %v\n", err)
	}
	var ue usageError
	if errors.As(err, &ue) || isCobraUsage(err) {
		fmt.Fprintln(errw, helpHint(cmd))
		return ExitUsage
	}
	var ce interface{ ExitCode() int }
	if errors.As(err, &ce) {
		return ce.ExitCode()
	}
	return ExitError
}

// isCobraUsage recognizes cobra's own argument errors.
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand", "accepts ", "requires at least", "requires at most", "invalid argument"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

// interruptedError is a build stopped by a signal sent to scratchpack.
type interruptedError struct{ sig os.Signal }

func (e *interruptedError) Error() string {
	name := e.sig.String()
	if s, ok := e.sig.(syscall.Signal); ok {
		name = fmt.Sprintf("%s (signal %d, %s)", signalNames[s], int(s), s)
	}
	return "interrupted by " + name
}

// signalNames are the signals scratchpack stops on.
var signalNames = map[syscall.Signal]string{syscall.SIGINT: "SIGINT", syscall.SIGTERM: "SIGTERM"}

// ExitCode is 128+N, as a shell reports a command killed by signal N.
func (e *interruptedError) ExitCode() int {
	if s, ok := e.sig.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return ExitError
}

// interruptible returns a context canceled, with an *interruptedError as
// its cause, by SIGINT or SIGTERM.
func interruptible() (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	quit := make(chan struct{})
	go func() {
		select {
		case s := <-sigs:
			cancel(&interruptedError{sig: s})
		case <-quit:
		}
	}()
	return ctx, func() {
		signal.Stop(sigs)
		close(quit)
		cancel(nil)
	}
}
