package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/scratchpack/scratchpack"
	"github.com/scratchpack/scratchpack/tarball"
	"github.com/scratchpack/scratchpack/verify"
)

func newBuild(g *globals) *cobra.Command {
	var tf traceFlags
	var output, outputDir, dockerfile, cmdJSON, compression, keepLog string
	var level int
	var ldd, env []string
	var keepCreated, ignoreMissing bool
	var paths pathFlags
	var verifyAfter bool
	var uf upxFlags
	var vf verifyFlags
	cmd := &cobra.Command{
		Use:   "build -o ROOTFS.tar.gz [--dockerfile FILE] [flags] -- COMMAND [ARGS...]",
		Short: "Trace a command, resolve everything it needs, and pack it: one command",
		Long: `build runs the command under strace (see 'scratchpack trace'), lists every file
it used, adds what a trace cannot see (the ELF loader and shared libraries of every
program and library in the list, found the way the loader finds them; the
interpreters of scripts, "#!/usr/bin/env NAME" through PATH), and writes the rootfs
archive. Directories the command listed or wrote into are kept; files it created
are not packed unless --keep-created.

With --dockerfile it also writes a Dockerfile: FROM scratch, ADD the archive,
ENV PATH, WORKDIR when not /, and CMD in exec form with the program's absolute
path. A summary shows the files, bytes and the 10 largest files.`,
		Example: `  scratchpack build -o rootfs.tar.gz --dockerfile Dockerfile -- /usr/games/fortune
  scratchpack build -o py.tar.gz -- python3 /app/main.py
  scratchpack build -o nginx.tar.gz --probe 'curl -sf http://127.0.0.1:8080/' -- nginx -g 'daemon off;'
  scratchpack build -o rootfs.tar.gz --root /tmp/image -- /usr/bin/perl -e 'print "hi\n"'`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output == "" && outputDir == "" {
				return usagef("no output: give -o FILE or --output-dir DIR")
			}
			comp, err := tarball.ParseCompression(compression)
			if err != nil {
				return usageError{err}
			}
			epoch, err := scratchpack.EpochFromEnv()
			if err != nil {
				return usageError{err}
			}
			var cmdv []string
			if cmdJSON != "" {
				if cmdv, err = scratchpack.ParseCmd(cmdJSON); err != nil {
					return usageError{err}
				}
			}
			upxOpts, err := uf.options()
			if err != nil {
				return err
			}
			topts, stop := tf.options(g)
			defer stop()
			root := tf.root
			var lo scratchpack.ListOptions
			paths.apply(&lo)
			res, err := scratchpack.Build(cmd.Context(), scratchpack.BuildOptions{
				Command:       args,
				Root:          root,
				Dir:           tf.dir,
				Trace:         topts,
				FailOnExit:    tf.failOnExit,
				KeepLog:       keepLog,
				LddFiles:      ldd,
				KeepCreated:   keepCreated,
				IgnoreMissing: ignoreMissing,
				Paths:         lo.PathOptions,
				Warn:          g.warn,
				Pack: scratchpack.PackOptions{
					Output:     output,
					OutputDir:  outputDir,
					Stdout:     g.out,
					Dockerfile: dockerfile,
					Cmd:        cmdv,
					Env:        env,
					UPX:        upxOpts,
					Options: tarball.Options{
						Compression: comp,
						Level:       level,
						Epoch:       epoch,
						Progress:    g.progress(),
					},
				},
			})
			if err != nil {
				return err
			}
			g.summary(res)
			if !verifyAfter {
				return nil
			}
			if output == "-" || len(tf.probes) > 0 || tf.duration > 0 {
				return usagef("--verify needs an archive file and a command that exits (no --probe, no --duration)")
			}
			vr, err := verify.Verify(cmd.Context(), vf.options(output, append([]string{res.Program}, args[1:]...)))
			if err != nil {
				return err
			}
			return g.verifyReport(vr, false)
		},
	}
	tf.register(cmd)
	paths.register(cmd, false)
	uf.register(cmd)
	cmd.Flags().BoolVar(&verifyAfter, "verify", false, "then run 'scratchpack verify' on the archive with the same command")
	vf.register(cmd, "verify-")
	f := cmd.Flags()
	f.StringVarP(&output, "output", "o", "", "archive to write (- for stdout)")
	f.StringVar(&outputDir, "output-dir", "", "also (or only) write the rootfs as a directory tree, for COPY --from")
	f.StringVar(&dockerfile, "dockerfile", "", "also write a Dockerfile that uses the archive")
	f.StringVar(&cmdJSON, "cmd", "", "the Dockerfile's CMD as a JSON array (default: the traced command)")
	f.StringArrayVar(&env, "env", nil, "extra ENV KEY=VALUE line for the Dockerfile (repeatable)")
	f.StringVar(&compression, "compression", "gzip", "gzip, zstd or none")
	f.IntVar(&level, "level", 0, "compression level (gzip 1-9, default 6; zstd 1-22, default 3)")
	f.StringArrayVar(&ldd, "ldd", nil, "also read this ldd output (repeatable)")
	f.StringVar(&keepLog, "keep-log", "", "keep the strace log at this path")
	f.BoolVar(&keepCreated, "keep-created", false, "also pack files the command created while traced")
	f.BoolVar(&ignoreMissing, "ignore-missing", false, "warn about used paths that no longer exist instead of failing")
	return cmd
}

// summary prints what build made: counts, bytes, the largest files.
func (g *globals) summary(r *scratchpack.BuildResult) {
	if g.quiet {
		return
	}
	g.upxSummary(r.Pack.UPX)
	files, dirs, links, hard, bytes := r.List.Totals()
	status := fmt.Sprintf("exit %d", r.Trace.ExitCode)
	if r.Trace.Stopped {
		status = "stopped after the probes"
		if len(r.Trace.Probes) == 0 {
			status = "stopped after --duration"
		}
	}
	g.infof("traced %s (%s) in %s\n", r.Program, status, r.Trace.Elapsed.Round(time.Millisecond))
	if r.Pack.Output != "-" && r.Pack.Output != "" {
		g.infof("wrote %s: %d files (%s), %d symlinks, %d hardlinks, %d directories; %s compressed\n",
			r.Pack.Output, files, human(bytes), links, hard, dirs, human(r.Pack.Compressed))
	}
	if r.Pack.Dockerfile != "" {
		g.infof("wrote %s\n", r.Pack.Dockerfile)
	}
	if len(r.Largest) > 0 {
		g.infof("largest files:\n")
		for _, e := range r.Largest {
			g.infof("  %10s  %s\n", human(e.Size), e.Path)
		}
	}
}
