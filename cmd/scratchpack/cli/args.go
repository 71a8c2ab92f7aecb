package cli

import (
	"github.com/spf13/cobra"
)

// needCommand is the Args check of the commands that run a command
// given after "--" (build, trace): without one, it says so and shows how.
func needCommand(example string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return usagef("the command to run is missing: give it after --, as in '%s'", example)
		}
		return nil
	}
}

// helpHint is the line printed after a usage error: the help of the
// command that failed ("scratchpack build --help").
func helpHint(cmd *cobra.Command) string {
	path := "scratchpack"
	if cmd != nil {
		path = cmd.CommandPath()
	}
	return "Run '" + path + " --help' for usage."
}
