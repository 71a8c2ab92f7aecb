package cli

import (
	"github.com/spf13/cobra"

	"github.com/scratchpack/scratchpack"
)

// sources are the flags that say where uses come from, shared by
// filelist and pack.
type sources struct {
	strace        []string
	ldd           []string
	files         []string
	root          string
	cwd           string
	ignoreMissing bool
}

func (s *sources) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringArrayVar(&s.strace, "strace", nil, "strace log written by strace -o (repeatable; the FILE.PID files of -ff together)")
	f.StringArrayVar(&s.ldd, "ldd", nil, "file holding ldd output (repeatable)")
	f.StringArrayVar(&s.files, "files", nil, "file list, text or JSON, as written by 'scratchpack filelist'; - reads stdin (repeatable)")
	f.StringVar(&s.root, "root", "/", "root filesystem the program ran in (an extracted image)")
	f.StringVar(&s.cwd, "cwd", "", "working directory of the traced program, for relative paths in logs made without -y (default: the current directory)")
	f.BoolVar(&s.ignoreMissing, "ignore-missing", false, "warn about listed paths that do not exist instead of failing")
}

func (s *sources) empty() bool { return len(s.strace)+len(s.ldd)+len(s.files) == 0 }

func (s *sources) options(g *globals, outputs ...string) scratchpack.ListOptions {
	return scratchpack.ListOptions{
		Root:          s.root,
		StraceLogs:    s.strace,
		LddFiles:      s.ldd,
		Lists:         s.files,
		Cwd:           s.cwd,
		IgnoreMissing: s.ignoreMissing,
		Outputs:       outputs,
		Warn:          g.warn,
	}
}
