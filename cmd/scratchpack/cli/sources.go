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
	paths         pathFlags
}

// pathFlags are the sets, includes and excludes, shared by filelist,
// pack and build.
type pathFlags struct {
	with        []string
	locale      string
	user        string
	include     []string
	includeFrom []string
	exclude     []string
	excludeFrom []string
	noDefaults  bool
	deps        bool
	complete    []string
	completePkg []string
}

func (p *pathFlags) register(cmd *cobra.Command, deps bool) {
	f := cmd.Flags()
	f.StringArrayVar(&p.with, "with", nil, "add named sets: nss, certs, tzdata, locale, users, shell (comma-separated or repeated; see 'scratchpack sets')")
	f.StringVar(&p.locale, "locale", "C.UTF-8", "the locale the locale set brings")
	f.StringVar(&p.user, "user", "", "a user the users set adds to the generated passwd and group")
	f.StringArrayVar(&p.include, "include", nil, "add a file, or a directory taken whole (repeatable); an include of exactly an excluded path beats the exclude")
	f.StringArrayVar(&p.includeFrom, "include-from", nil, "add the paths listed in FILE, one a line")
	f.StringArrayVar(&p.exclude, "exclude", nil, "leave out paths matching GLOB (** for any depth; repeatable); beats the trace, the sets and included directories")
	f.StringArrayVar(&p.excludeFrom, "exclude-from", nil, "leave out the globs listed in FILE, one a line")
	f.BoolVar(&p.noDefaults, "no-default-excludes", false, "do not exclude /proc, /sys, /dev, the contents of /run, /tmp, /var/tmp and apt's caches")
	f.StringArrayVar(&p.complete, "complete", nil, "keep whole the unit of every kept file: python (its top-level package), node (npm package), ruby (gem or library), perl (namespace), os (dpkg/apk package, without docs), all (comma-separated or repeated)")
	f.StringArrayVar(&p.completePkg, "complete-package", nil, "keep this OS package whole, docs aside (repeatable)")
	if deps {
		f.BoolVar(&p.deps, "deps", false, "also add the shared libraries of every ELF file in the list (as 'scratchpack deps' finds them)")
	}
}

func (p *pathFlags) apply(o *scratchpack.ListOptions) {
	o.Sets, o.Locale, o.User = p.with, p.locale, p.user
	o.Includes, o.IncludeFrom = p.include, p.includeFrom
	o.Excludes, o.ExcludeFrom, o.NoDefaultExcludes = p.exclude, p.excludeFrom, p.noDefaults
	o.ResolveDeps = o.ResolveDeps || p.deps
	o.Complete, o.CompletePackages = p.complete, p.completePkg
}

func (s *sources) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringArrayVar(&s.strace, "strace", nil, "strace log written by strace -o (repeatable; the FILE.PID files of -ff together)")
	f.StringArrayVar(&s.ldd, "ldd", nil, "file holding ldd output (repeatable)")
	f.StringArrayVar(&s.files, "files", nil, "file list, text or JSON, as written by 'scratchpack filelist'; - reads stdin (repeatable)")
	f.StringVar(&s.root, "root", "/", "root filesystem the program ran in (an extracted image)")
	f.StringVar(&s.cwd, "cwd", "", "working directory of the traced program, for relative paths in logs made without -y (default: the current directory)")
	f.BoolVar(&s.ignoreMissing, "ignore-missing", false, "warn about listed paths that do not exist instead of failing")
	s.paths.register(cmd, true)
}

func (s *sources) empty() bool {
	return len(s.strace)+len(s.ldd)+len(s.files)+len(s.paths.with)+len(s.paths.include)+len(s.paths.includeFrom) == 0
}

func (s *sources) options(g *globals, outputs ...string) scratchpack.ListOptions {
	o := scratchpack.ListOptions{
		Root:          s.root,
		StraceLogs:    s.strace,
		LddFiles:      s.ldd,
		Lists:         s.files,
		Stdin:         g.in,
		Cwd:           s.cwd,
		IgnoreMissing: s.ignoreMissing,
		Outputs:       outputs,
		Warn:          g.warn,
	}
	s.paths.apply(&o)
	return o
}
