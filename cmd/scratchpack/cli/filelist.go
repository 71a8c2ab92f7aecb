package cli

import (
	"bytes"

	"github.com/spf13/cobra"

	"github.com/scratchpack/scratchpack"
	"github.com/scratchpack/scratchpack/filelist"
	"github.com/scratchpack/scratchpack/internal/atomicfile"
)

func newFilelist(g *globals) *cobra.Command {
	var src sources
	var output, format string
	cmd := &cobra.Command{
		Use:   "filelist --strace LOG... [--ldd FILE...] [-o FILE] [--format text|json]",
		Short: "Merge strace logs, ldd output and lists into one resolved file list",
		Long: `filelist reads what a program used and prints every path its image needs:
the files, every symlink met on the way to them (kept as links), what the links
point to, and directories the program listed or worked in. The text format is
one absolute path per line, sorted (use it with tar --no-recursion -T or zip -@);
the JSON format adds kinds, modes, owners, sizes and the reason for each entry.`,
		Example: `  strace -f -o app.strace /usr/games/fortune
  ldd /usr/games/fortune > app.ldd
  scratchpack filelist --strace app.strace --ldd app.ldd > app.lst
  scratchpack filelist --strace trace.1201 --strace trace.1202 --format json -o app.json
  scratchpack filelist --root /tmp/rootfs --strace app.strace`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if src.empty() {
				return usagef("nothing to list: give --strace, --ldd or --files")
			}
			if format != "text" && format != "json" {
				return usagef("--format %q: expected text or json", format)
			}
			l, err := scratchpack.List(cmd.Context(), src.options(g, output))
			if err != nil {
				return err
			}
			var buf bytes.Buffer
			if format == "json" {
				err = filelist.WriteJSON(&buf, l)
			} else {
				err = filelist.WriteText(&buf, l)
			}
			if err != nil {
				return err
			}
			if output == "" || output == "-" {
				_, err = g.out.Write(buf.Bytes())
				return err
			}
			return atomicfile.WriteFile(output, buf.Bytes(), 0o644)
		},
	}
	src.register(cmd)
	cmd.Flags().StringVarP(&output, "output", "o", "", "write the list to FILE (default: stdout)")
	cmd.Flags().StringVar(&format, "format", "text", "text (one path per line) or json (with kinds and reasons)")
	return cmd
}
