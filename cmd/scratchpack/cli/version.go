package cli

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/scratchpack/scratchpack"
)

func newVersion(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print the version",
		Example: "  scratchpack version",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(g.out, "scratchpack %s (%s, %s/%s)\n", scratchpack.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return nil
		},
	}
}
