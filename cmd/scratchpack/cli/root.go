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
	root.AddCommand(newFilelist(g), newPack(g), newBuild(g), newTrace(g), newDeps(g), newSets(g), newVerify(g), newInspect(g), newVersion(g), newChrootExec())
	return root
}

// Main runs the command line and returns the exit code.
func Main(args []string, in io.Reader, out, errw io.Writer) int {
	g := &globals{in: in, out: out, err: errw}
	root := NewRoot(g)
	root.SetArgs(args)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return ExitOK
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
