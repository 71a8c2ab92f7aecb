package cli

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/scratchpack/scratchpack"
	"github.com/scratchpack/scratchpack/filelist"
	"github.com/scratchpack/scratchpack/tarball"
	"github.com/scratchpack/scratchpack/upx"
)

// upxFlags are the UPX stage's flags, shared by pack and build.
type upxFlags struct {
	on      bool
	path    string
	args    string
	exclude []string
}

func (u *upxFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.BoolVar(&u.on, "upx", false, "pack ELF executables with UPX (never libraries, the loader, setuid files); each packed program is run to prove it starts")
	f.StringVar(&u.path, "upx-path", "", "the upx binary (default: upx or upx-ucl on PATH)")
	f.StringVar(&u.args, "upx-args", "-9 --lzma", "upx's arguments")
	f.StringArrayVar(&u.exclude, "upx-exclude", nil, "never pack files matching GLOB (repeatable)")
}

func (u *upxFlags) options() (*upx.Options, error) {
	if !u.on {
		if u.path != "" || len(u.exclude) > 0 {
			return nil, usagef("--upx-path and --upx-exclude go with --upx")
		}
		return nil, nil
	}
	pats, err := filelist.ParsePatterns(u.exclude)
	if err != nil {
		return nil, usageError{err}
	}
	return &upx.Options{Path: u.path, Args: strings.Fields(u.args), Exclude: pats}, nil
}

func (g *globals) upxSummary(r *upx.Result) {
	if r == nil || g.quiet {
		return
	}
	g.infof("UPX (%s):\n", r.Version)
	for _, f := range r.Files {
		if f.Packed {
			note := ""
			if f.Cached {
				note = " (cached)"
			}
			g.infof("  %10s -> %10s  %s%s\n", human(f.Before), human(f.After), f.Path, note)
		} else {
			g.warn(fmt.Errorf("UPX: %s kept as it is: %s", f.Path, f.Why))
		}
	}
}

func newPack(g *globals) *cobra.Command {
	var src sources
	var uf upxFlags
	var output, compression, dockerfile, cmdJSON, workdir string
	var level int
	var env []string
	cmd := &cobra.Command{
		Use:   "pack -o ROOTFS.tar.gz (--files LIST | --strace LOG | --ldd FILE)...",
		Short: "Write the files of a list as a deterministic rootfs archive",
		Long: `pack resolves every path of the list inside the root (adding symlinks,
their targets and parent directories), and writes a tar archive with PAX
headers, modes, numeric owners, hardlinks and file capabilities kept. The
archive is written to a temporary file and renamed: the output is never left
half-written. With SOURCE_DATE_EPOCH set, modification times are clamped to it;
the same files always give the same bytes.`,
		Example: `  scratchpack pack -o rootfs.tar.gz --files app.lst
  scratchpack filelist --strace app.strace | scratchpack pack -o - --files - > rootfs.tar.gz
  scratchpack pack -o rootfs.tar.zst --compression zstd --strace app.strace --ldd app.ldd
  scratchpack pack -o out/rootfs.tar.gz --files app.lst \
      --dockerfile out/Dockerfile --cmd '["/usr/games/fortune"]'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output == "" {
				return usagef("no output: give -o FILE (or -o - for stdout)")
			}
			if src.empty() {
				return usagef("nothing to pack: give --files, --strace or --ldd")
			}
			comp, err := tarball.ParseCompression(compression)
			if err != nil {
				return usageError{err}
			}
			epoch, err := scratchpack.EpochFromEnv()
			if err != nil {
				return usageError{err}
			}
			upxOpts, err := uf.options()
			if err != nil {
				return err
			}
			var cmdv []string
			if dockerfile != "" {
				if cmdv, err = scratchpack.ParseCmd(cmdJSON); err != nil {
					return usageError{err}
				}
			} else if cmdJSON != "" {
				return usagef("--cmd goes with --dockerfile")
			}
			l, err := scratchpack.List(cmd.Context(), src.options(g, output, dockerfile))
			if err != nil {
				return err
			}
			opts := scratchpack.PackOptions{
				Output:     output,
				Stdout:     g.out,
				Dockerfile: dockerfile,
				Cmd:        cmdv,
				Env:        env,
				Workdir:    workdir,
				UPX:        upxOpts,
				Options: tarball.Options{
					Compression: comp,
					Level:       level,
					Epoch:       epoch,
					Progress:    g.progress(),
				},
			}
			res, err := scratchpack.Pack(cmd.Context(), l, opts)
			if err != nil {
				return err
			}
			g.upxSummary(res.UPX)
			files, dirs, links, hard, bytes := l.Totals()
			if output != "-" {
				g.infof("wrote %s: %d files (%s), %d symlinks, %d hardlinks, %d directories; %s compressed\n",
					output, files, human(bytes), links, hard, dirs, human(res.Compressed))
			}
			if res.Dockerfile != "" {
				g.infof("wrote %s\n", res.Dockerfile)
			}
			return nil
		},
	}
	src.register(cmd)
	uf.register(cmd)
	f := cmd.Flags()
	f.StringVarP(&output, "output", "o", "", "archive to write (- for stdout)")
	f.StringVar(&compression, "compression", "gzip", "gzip, zstd or none")
	f.IntVar(&level, "level", 0, "compression level (gzip 1-9, default 6; zstd 1-22, default 3)")
	f.StringVar(&dockerfile, "dockerfile", "", "also write a Dockerfile: FROM scratch, ADD the archive, CMD")
	f.StringVar(&cmdJSON, "cmd", "", `the image's command in exec form, as JSON: '["/usr/games/fortune"]'`)
	f.StringArrayVar(&env, "env", nil, "ENV KEY=VALUE line for the Dockerfile (repeatable)")
	f.StringVar(&workdir, "workdir", "", "WORKDIR for the Dockerfile")
	return cmd
}

// progress returns a progress printer when stderr is a terminal: it
// shows files, bytes and rate once a pack has run for a second.
func (g *globals) progress() func(tarball.Progress) {
	if g.quiet {
		return nil
	}
	f, ok := g.err.(*os.File)
	if !ok {
		return nil
	}
	if st, err := f.Stat(); err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return nil
	}
	shown := false
	return func(p tarball.Progress) {
		if p.Elapsed < time.Second && !shown {
			return
		}
		shown = true
		rate := float64(p.Bytes) / p.Elapsed.Seconds()
		fmt.Fprintf(g.err, "\rpacking: %d/%d files, %s/%s, %s/s   ", p.Files, p.TotalFiles, human(p.Bytes), human(p.TotalBytes), human(int64(rate)))
		if p.Done {
			fmt.Fprintln(g.err)
		}
	}
}

func human(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
