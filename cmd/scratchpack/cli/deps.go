package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/scratchpack/scratchpack"
	"github.com/scratchpack/scratchpack/collect/elfdeps"
)

func newDeps(g *globals) *cobra.Command {
	var root string
	var list bool
	cmd := &cobra.Command{
		Use:   "deps [--list] [--root DIR] FILE...",
		Short: "Show the shared libraries of ELF files, found as the loader finds them, without running them",
		Long: `deps reads each ELF file's PT_INTERP, DT_NEEDED, DT_RPATH and DT_RUNPATH ($ORIGIN,
$LIB and $PLATFORM expanded) and finds every library the way the dynamic loader
does: RPATH of the object and its loaders, LD_LIBRARY_PATH, RUNPATH,
/etc/ld.so.cache (or ld.so.conf and its includes when there is no cache), then the
system directories; files of another ELF class or machine are skipped. For a musl
program (interpreter ld-musl-ARCH.so.1) it follows musl's rules: the loader itself is
libc.so, libc.musl-ARCH.so.1 (and libm, libpthread, libdl... ), the search path is
LD_LIBRARY_PATH, the run paths, then /etc/ld-musl-ARCH.path (listed with the
libraries when it is used) or /lib:/usr/local/lib:/usr/lib; there is no cache. Unlike ldd it
never runs the file, so it is safe on untrusted binaries and works inside --root.`,
		Example: `  scratchpack deps /usr/games/fortune
  scratchpack deps --list /usr/bin/python3 /usr/sbin/nginx
  scratchpack deps --root /tmp/rootfs /usr/bin/perl`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			trees, err := scratchpack.Deps(cmd.Context(), scratchpack.DepsOptions{
				Root:        root,
				Files:       args,
				LibraryPath: filepath.SplitList(os.Getenv("LD_LIBRARY_PATH")),
			})
			if err != nil {
				return err
			}
			if list {
				for _, p := range elfdeps.Paths(trees) {
					fmt.Fprintln(g.out, p)
				}
			} else {
				for _, t := range trees {
					printTree(g.out, t)
				}
			}
			var missing []string
			for _, t := range trees {
				missing = append(missing, t.Missing...)
			}
			if len(missing) > 0 {
				return fmt.Errorf("not found: %s", strings.Join(missing, "; "))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&root, "root", "/", "resolve inside this filesystem (an extracted image)")
	cmd.Flags().BoolVar(&list, "list", false, "print the unique library paths, one per line")
	return cmd
}

// printTree prints what each object needs, each library expanded once.
func printTree(w io.Writer, t *elfdeps.Tree) {
	fmt.Fprintln(w, t.Path)
	if t.Static {
		fmt.Fprintln(w, "    statically linked")
		return
	}
	names := map[string]string{}
	for _, l := range t.Libs {
		names[l.Path] = l.Name
	}
	top := t.Path
	for _, l := range t.Libs {
		if l.By == "" {
			fmt.Fprintf(w, "├── %s (interpreter)\n", l.Path)
		} else if top == t.Path {
			top = l.By // the program's canonical path, as the resolver saw it
		}
	}
	shown := map[string]bool{}
	var walk func(obj, indent string)
	walk = func(obj, indent string) {
		deps := t.Needs[obj]
		for i, d := range deps {
			branch, next := "├── ", "│   "
			if i == len(deps)-1 {
				branch, next = "└── ", "    "
			}
			label := names[d] + " => " + d
			if names[d] == d {
				label = d
			}
			if shown[d] {
				fmt.Fprintf(w, "%s%s%s (above)\n", indent, branch, label)
				continue
			}
			shown[d] = true
			fmt.Fprintf(w, "%s%s%s\n", indent, branch, label)
			walk(d, indent+next)
		}
	}
	walk(top, "")
	for _, c := range t.Config {
		fmt.Fprintf(w, "    search path: %s\n", c)
	}
	for _, m := range t.Missing {
		fmt.Fprintf(w, "    not found: %s\n", m)
	}
}
