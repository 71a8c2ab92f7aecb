package cli

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/scratchpack/scratchpack"
	"github.com/scratchpack/scratchpack/filelist"
)

func newInspect(g *globals) *cobra.Command {
	var asJSON bool
	var top int
	var htmlOut string
	cmd := &cobra.Command{
		Use:   "inspect ROOTFS.tar.gz [--json] [--top N] [--html FILE]",
		Short: "Show what is inside a rootfs archive",
		Long: `inspect reads the archive (gzip, zstd or plain tar) and shows its totals (files,
links, directories, bytes uncompressed and compressed), the N largest files,
duplicate contents (the same bytes at several paths, with the bytes wasted),
setuid and setgid files, files with capabilities, and dangling symlinks (resolved
inside the archive, as in the image). When the build report (ROOTFS.report.json,
written by build beside the archive) is there, each file's reason is shown.

--html FILE writes one self-contained HTML page instead (it loads nothing from
the network): a treemap of the image by package and directory, the packages,
why each file is there, the secret-scan findings and the sizes. Without a
build report it is made from the archive's entries and package metadata.`,
		Example: `  scratchpack inspect rootfs.tar.gz
  scratchpack inspect --top 30 rootfs.tar.gz
  scratchpack inspect --json rootfs.tar.gz | jq .largest
  scratchpack inspect --html report.html rootfs.tar.gz`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if htmlOut != "" {
				if asJSON {
					return usagef("--html and --json: give one")
				}
				if err := scratchpack.WriteInspectHTML(cmd.Context(), args[0], htmlOut); err != nil {
					return err
				}
				g.infof("wrote %s\n", htmlOut)
				return nil
			}
			r, err := scratchpack.Inspect(cmd.Context(), args[0], top)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(g.out)
				enc.SetIndent("", "  ")
				return enc.Encode(r)
			}
			w := g.out
			fmt.Fprintf(w, "%s: %s compressed (%s), %s uncompressed\n", r.Archive, human(r.Compressed), r.Compression, human(r.Bytes))
			fmt.Fprintf(w, "  %d files, %d symlinks, %d hardlinks, %d directories\n", r.Files, r.Symlinks, r.Hardlinks, r.Dirs)
			fmt.Fprintf(w, "largest files:\n")
			for _, m := range r.Largest {
				fmt.Fprintf(w, "  %10s  %s%s\n", human(m.Size), m.Path, reasonNote(r.Reasons[m.Path]))
			}
			if len(r.Duplicates) > 0 {
				fmt.Fprintf(w, "duplicate contents:\n")
				for _, d := range r.Duplicates {
					fmt.Fprintf(w, "  %10s wasted: %s\n", human(d.Wasted), strings.Join(d.Paths, ", "))
				}
			}
			list := func(title string, items []string) {
				if len(items) > 0 {
					fmt.Fprintf(w, "%s:\n", title)
					for _, i := range items {
						fmt.Fprintf(w, "  %s\n", i)
					}
				}
			}
			list("setuid", r.Setuid)
			list("setgid", r.Setgid)
			list("with capabilities", r.Capabilities)
			if len(r.Dangling) > 0 {
				fmt.Fprintf(w, "dangling symlinks:\n")
				for _, d := range r.Dangling {
					fmt.Fprintf(w, "  %s -> %s\n", d.Path, d.Target)
				}
			}
			inspectPackages(w, r.Packages)
			inspectCut(w, r.Cut, r.Completed)
			if r.Report != "" {
				fmt.Fprintf(w, "reasons from %s\n", r.Report)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().IntVar(&top, "top", 10, "how many of the largest files to show")
	cmd.Flags().StringVar(&htmlOut, "html", "", "write the inspection as one self-contained HTML page to FILE")
	return cmd
}

func reasonNote(reasons []filelist.Reason) string {
	if len(reasons) == 0 {
		return ""
	}
	r := reasons[0]
	s := "  [" + string(r.Source)
	if r.Detail != "" {
		s += ": " + r.Detail
	}
	return s + "]"
}
