// Package cli is scratchpack's command line: one file per cobra command,
// each RunE mapping flags to a call of the scratchpack library. Only this
// package prints.
package cli
