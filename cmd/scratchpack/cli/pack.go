package cli

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/scratchpack/scratchpack"
	"github.com/scratchpack/scratchpack/internal/humanize"
	"github.com/scratchpack/scratchpack/tarball"
)

func newPack(g *globals) *cobra.Command {
	var src sources
	var af archiveFlags
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
      --dockerfile out/Dockerfile --cmd '["/usr/games/fortune"]'
  scratchpack pack --files app.lst --cmd '["/usr/games/fortune"]' --image docker-archive:fortune.tar:fortune:1.0`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if src.empty() {
				return usagef("nothing to pack: give --files, --strace or --ldd")
			}
			af.image.user = src.paths.user
			opts, err := af.options(g, true)
			if err != nil {
				return err
			}
			l, res, err := scratchpack.PackFrom(cmd.Context(), src.options(g), opts)
			if err != nil {
				return err
			}
			g.upxSummary(res.UPX)
			g.packSummary(l, res)
			return nil
		},
	}
	src.register(cmd)
	af.register(cmd)
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

// human formats a byte count: 18.0 MiB.
func human(n int64) string { return humanize.Bytes(n) }
