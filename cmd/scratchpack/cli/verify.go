package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/scratchpack/scratchpack/collect/tracer"
	"github.com/scratchpack/scratchpack/verify"
)

type verifyFlags struct {
	env           []string
	compareOutput bool
	timeout       time.Duration
	json          bool
	dir           string
	collector     string
	strict        bool
}

func (v *verifyFlags) register(cmd *cobra.Command, prefix string) {
	f := cmd.Flags()
	f.StringArrayVar(&v.env, prefix+"env", nil, "KEY=VALUE added to the clean environment of both runs (repeatable)")
	f.BoolVar(&v.compareOutput, prefix+"compare-output", false, "also compare stdout (the exit status always is)")
	f.DurationVar(&v.timeout, prefix+"timeout", 60*time.Second, "stop each run after this long")
	if prefix == "" { // (build --verify passes the build's own)
		f.StringVar(&v.dir, "dir", "", "working directory of the command, inside the image and on the host (default /)")
		f.StringVar(&v.collector, "collector", "ptrace", "how the image run is traced: ptrace (scratchpack's own tracer: no strace needed, sees workers that drop privileges) or strace")
		f.BoolVar(&v.strict, "strict", false, "calls of the image run whose path the tracer could not read (a process that dropped privileges, traced without CAP_SYS_PTRACE) are an error, not a warning")
	}
}

func (v *verifyFlags) options(g *globals, archive string, command []string) verify.Options {
	o := verify.Options{Archive: archive, Command: command, Env: v.env, CompareOutput: v.compareOutput, Timeout: v.timeout, Dir: v.dir,
		Collector: tracer.Collector(v.collector), Strict: v.strict, Warn: g.warn}
	if exe, err := os.Executable(); err == nil {
		o.Launcher = []string{exe, chrootExecCommand}
	}
	return o
}

// report prints a verification; it returns the mismatch as an error
// with exit code 3.
func (g *globals) verifyReport(r *verify.Result, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(g.out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			return err
		}
	} else if r.Match {
		note := ""
		if n := unreadNote(r); n != "" {
			note = ", but " + n
		}
		fmt.Fprintf(g.out, "verify: OK: the rootfs behaves as the host (exit status %d)%s\n", r.Image.ExitCode, note)
	} else {
		fmt.Fprintf(g.out, "verify: MISMATCH: %s\n", strings.Join(r.Differs, "; "))
		if s := strings.TrimSpace(r.Image.Stderr); s != "" {
			fmt.Fprintf(g.out, "the command's stderr in the rootfs:\n%s\n", indent(s))
		}
		for _, m := range r.Missing {
			fmt.Fprintf(g.out, "  %s\n", m)
		}
		if len(r.Includes) > 0 {
			fmt.Fprintf(g.out, "to add them: %s\n", strings.Join(r.Includes, " "))
		}
		if n := unreadNote(r); n != "" {
			fmt.Fprintf(g.out, "and %s\n", n)
		}
	}
	if !r.Match {
		return exitError{fmt.Errorf("the rootfs does not behave as the host: %s", strings.Join(r.Differs, "; ")), ExitMismatch}
	}
	return nil
}

// unreadNote says, even under -q, that the image run made calls the
// collector could not read (each was a warning): "" when none.
func unreadNote(r *verify.Result) string {
	if len(r.Unreadable) == 0 {
		return ""
	}
	n := 0
	for _, u := range r.Unreadable {
		n += u.Count
	}
	return fmt.Sprintf("%d calls of %d processes named a path the %s collector could not read: files they needed may be missing from the rootfs, unnamed (the warnings name the processes)", n, len(r.Unreadable), r.Collector)
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}

func newVerify(g *globals) *cobra.Command {
	var vf verifyFlags
	cmd := &cobra.Command{
		Use:   "verify ROOTFS.tar.gz [flags] -- COMMAND [ARGS...]",
		Short: "Prove that a rootfs runs a command: run it in an empty root and compare with the host",
		Long: `verify extracts the archive into a fresh directory (refusing unsafe entry names),
runs the command there chrooted with a clean environment (PATH only, plus --env)
under scratchpack's own tracer (--collector ptrace, the default: no strace needed;
--collector strace runs strace), runs it on the host too, and compares the exit
status (and stdout with --compare-output). When they differ it lists each path the
rootfs run failed to find (ENOENT) or read (EACCES) that exists on the host, with
the program that asked for it, and the --include flags that would fix it. It exits
0 only when the runs match, 3 when they do not.

Never silent: under strace without CAP_SYS_PTRACE (a docker or podman build), a
process that changes its uid without exec (a server's workers) has calls whose path
cannot be read, and what those failed to find cannot be named. verify counts them
per process, warns once for each (pid, command, uid, count), says so beside OK or
MISMATCH and in --json ("unreadable"); --strict makes them an error (exit 1). The
ptrace collector keeps such processes readable. Without CAP_SYS_ADMIN the rootfs
run has no /proc (a warning).`,
		Example: `  scratchpack verify rootfs.tar.gz -- /usr/games/fortune
  scratchpack verify --dir /srv/app rootfs.tar.gz -- /usr/bin/jq -c . in.json
  scratchpack verify --compare-output rootfs.tar.gz -- /usr/bin/python3 -c 'print(1)'`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.ArgsLenAtDash() != 1 {
				return usagef("expected ROOTFS.tar.gz -- COMMAND [ARGS...]")
			}
			c, err := tracer.ParseCollector(vf.collector)
			if err == nil && c == tracer.Fanotify {
				err = verify.ErrFanotify
			}
			if err != nil {
				return usagef("--collector: %v", err)
			}
			r, err := verify.Verify(cmd.Context(), vf.options(g, args[0], args[1:]))
			if err != nil {
				return err
			}
			return g.verifyReport(r, vf.json)
		},
	}
	vf.register(cmd, "")
	cmd.Flags().BoolVar(&vf.json, "json", false, "print the result as JSON")
	return cmd
}
