package cli

import (
	"github.com/spf13/cobra"

	"github.com/scratchpack/scratchpack"
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
			f, err := scratchpack.ParseListFormat(format)
			if err != nil {
				return usageError{err}
			}
			_, err = scratchpack.WriteList(cmd.Context(), scratchpack.WriteListOptions{
				ListOptions: src.options(g, output),
				Format:      f,
				Output:      output,
				Stdout:      g.out,
			})
			return err
		},
	}
	src.register(cmd)
	cmd.Flags().StringVarP(&output, "output", "o", "", "write the list to FILE (default: stdout)")
	cmd.Flags().StringVar(&format, "format", "text", "text (one path per line) or json (with kinds and reasons)")
	return cmd
}
