// Command scratchpack shrinks a container image down to what one program
// needs. See `scratchpack --help`.
package main

import (
	"os"

	"github.com/scratchpack/scratchpack/cmd/scratchpack/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
