package scratchpack

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pkg/errors"

	"github.com/scratchpack/scratchpack/collect"
	"github.com/scratchpack/scratchpack/collect/strace"
	"github.com/scratchpack/scratchpack/filelist"
	"github.com/scratchpack/scratchpack/internal/atomicfile"
	"github.com/scratchpack/scratchpack/internal/rootpath"
)

// ListOptions say where to find what a program uses.
type ListOptions struct {
	// Root is the filesystem the program ran in ("" or "/": the host).
	Root string
	// StraceLogs are `strace -o` files; the files of one -ff run share a
	// prefix (FILE.PID).
	StraceLogs []string
	// Count, when set, also counts the syscalls of StraceLogs (one -f
	// log, made with every syscall traced) in the same pass as the paths
	// are read: Count.Calls holds them once List returns.
	Count *strace.Counting
	// ExecLogs are strace logs of --exec runs: their uses are tagged.
	ExecLogs []ExecLog
	// LddFiles are files holding ldd output.
	LddFiles []string
	// Uses are paths from another collector (a fanotify watch), inside
	// Root.
	Uses []collect.Use
	// LinkScan adds the symlinks that point at used paths (see linksTo):
	// for collectors that see files, not the names used to reach them.
	LinkScan bool
	// Lists are file lists (text or JSON) to add, as written by
	// `scratchpack filelist`; "-" reads Stdin (default os.Stdin).
	Lists []string
	Stdin io.Reader
	// Cwd is the working directory of the traced program, for relative
	// paths in logs made without -y. Default: the current directory.
	Cwd string
	// IgnoreMissing turns a listed path that does not exist from an error
	// into a warning.
	IgnoreMissing bool
	// Outputs (and the logs) are always left out.
	Outputs []string
	PathOptions
	// ResolveDeps runs the ELF dependency resolver (collect/elfdeps) on
	// every ELF file that ends up in the list, dlopen'ed ones included.
	ResolveDeps bool
	// LibraryPath is the LD_LIBRARY_PATH the program ran with.
	LibraryPath []string
	// Path is the PATH the program saw, to resolve "#!/usr/bin/env NAME".
	// Default: this process's PATH.
	Path []string
	// HostPaths says the strace logs hold host paths: the program ran
	// chrooted into Root while strace ran outside. Paths under Root are
	// taken relative to it, the others (the launcher's) are dropped.
	HostPaths bool
	// Provided are paths the container runtime that runs the image puts
	// there itself (build --from: /etc/hosts, /etc/resolv.conf,
	// /etc/hostname): used but missing from the root, they are left out
	// without a word.
	Provided []string
	// KeepCreated packs files the program created during the trace
	// (by default only their directories are kept).
	KeepCreated bool
	// Keep are paths inside the root that the default excludes leave in,
	// with what is under them, each with what it is to the command ("the
	// command's working directory", "named in the command's arguments"):
	// a build run in /tmp/work keeps /tmp/work and its inputs. When one of
	// the user's excludes drops such a path, a warning names --include.
	Keep map[string]string
	// Warn receives warnings: bad log lines, missing files when
	// IgnoreMissing is set, special files left out.
	Warn func(error)
	// TraceUID is the effective uid the traced command started with (nil:
	// unknown): the uid of a process whose paths could not be read.
	TraceUID *int
	// Unreadable, when set, receives once per process the calls of the
	// strace logs whose path could not be read (see collect.Unreadable).
	// Without it, each process is a warning (an *UnreadableError).
	Unreadable func(collect.Unreadable)
}

// PathOptions control what is added by name and what is left out.
type PathOptions struct {
	// Sets are named groups of files (collect/sets): nss, certs, tzdata,
	// locale, users, shell. Locale and User configure two of them.
	Sets   []string
	Locale string
	User   string
	// Includes are paths added by hand: a file, or a directory taken
	// whole. IncludeFrom and ExcludeFrom are files of such lines.
	Includes    []string
	IncludeFrom []string
	// Excludes are globs (see filelist.Pattern) left out whatever brings
	// them; only an include of exactly the same path beats one. The
	// defaults (filelist.DefaultExcludes) apply unless NoDefaultExcludes.
	Excludes          []string
	ExcludeFrom       []string
	NoDefaultExcludes bool
	// Complete names kinds of units (pkgmeta/units: python, node, ruby,
	// perl, os, all; comma-separated values too) kept whole for every
	// kept file that belongs to one; CompletePackages are OS packages
	// kept whole. What they add goes through the same pipeline as the
	// traced files (excludes, ELF libraries, interpreters).
	Complete         []string
	CompletePackages []string
}

// List collects every use from the sources and resolves them into a
// file list under the root. Executables that were run bring their ELF
// interpreter or "#!" interpreter, recursively.
func List(ctx context.Context, opts ListOptions) (*filelist.List, error) {
	res, err := rootpath.New(opts.Root)
	if err != nil {
		return nil, err
	}
	if opts.Warn == nil {
		opts.Warn = func(error) {}
	}
	if opts.Path == nil {
		opts.Path = filepath.SplitList(os.Getenv("PATH"))
	}
	uses, err := collectUses(opts, res)
	if err != nil {
		return nil, err
	}
	uses = settleRemoved(uses, opts.Warn)
	filter, includes, err := makeFilter(opts)
	if err != nil {
		return nil, err
	}
	kept := keptPaths(res, opts.Keep)
	for p := range kept {
		filter.Keep = append(filter.Keep, p)
	}
	sort.Strings(filter.Keep)
	b := filelist.NewBuilder(res)
	b.SetFilter(filter)
	a := newAdder(b, opts)
	a.kept = kept
	for _, phase := range []func() error{
		func() error { return a.addIncludes(includes) },
		func() error { return a.addLists(ctx, opts.Lists, opts.Stdin) },
		func() error { return a.addUses(ctx, uses, newDropper(opts, res), opts.KeepCreated) },
		func() error { return a.addSets(opts, uses) },
		func() error {
			if !opts.ResolveDeps && len(opts.Sets) == 0 {
				return nil
			}
			return a.resolveDeps(ctx, opts.LibraryPath)
		},
		func() error { return a.complete(ctx, opts) },
		a.addTmp,
	} {
		if err := phase(); err != nil {
			return nil, err
		}
	}
	return b.List(), nil
}

// collectUses reads the strace logs and ldd files, adds the other
// collectors' uses and, when asked, the links that lead to them.
func collectUses(opts ListOptions, res *rootpath.Resolver) ([]collect.Use, error) {
	var uses []collect.Use
	if len(opts.StraceLogs) > 0 {
		u, err := fromStrace(opts, res)
		if err != nil {
			return nil, err
		}
		uses = append(uses, u...)
	}
	for _, l := range opts.ExecLogs {
		o := opts
		o.StraceLogs, o.Count = []string{l.Log}, nil
		u, err := fromStrace(o, res)
		if err != nil {
			return nil, errors.WithMessagef(err, "--exec %q", l.Exec)
		}
		for i := range u {
			u[i].ExecTag = l.Exec
		}
		uses = append(uses, u...)
	}
	if len(opts.LddFiles) > 0 {
		u, err := collect.FromLdd(opts.LddFiles)
		if err != nil {
			return nil, err
		}
		uses = append(uses, u...)
	}
	uses = append(uses, opts.Uses...)
	if opts.LinkScan {
		uses = append(uses, linksTo(res, uses, opts.Path)...)
	}
	return uses, nil
}

// fromStrace reads the strace logs; with HostPaths, paths are taken
// inside the root.
func fromStrace(opts ListOptions, res *rootpath.Resolver) ([]collect.Use, error) {
	cwd := opts.Cwd
	if cwd == "" {
		var err error
		if cwd, err = os.Getwd(); err != nil {
			return nil, errors.Wrap(err, "finding the current directory")
		}
	}
	traceRes := res
	if opts.HostPaths {
		var err error
		if traceRes, err = rootpath.New("/"); err != nil {
			return nil, err
		}
	}
	u, unread, err := collect.FromStrace(opts.StraceLogs, strace.Options{
		Cwd:  cwd,
		Warn: opts.Warn,
		UID:  opts.TraceUID,
		Canonical: func(dir string) string {
			if c, err := traceRes.Canonical(dir); err == nil {
				return c
			}
			return filepath.Clean(dir)
		},
		Count: opts.Count,
	})
	if err != nil {
		return nil, errors.Wrap(err, "reading strace logs")
	}
	for _, un := range unread {
		if opts.Unreadable != nil {
			opts.Unreadable(un)
		} else {
			opts.Warn(&UnreadableError{Processes: []collect.Unreadable{un}})
		}
	}
	if opts.HostPaths && res.Root() != "/" {
		u = insideRoot(u, res.Root())
	}
	return u, nil
}

// makeFilter builds the exclude filter and the list of includes.
func makeFilter(opts ListOptions) (*filelist.Filter, []string, error) {
	excl, err := withLines(opts.Excludes, opts.ExcludeFrom)
	if err != nil {
		return nil, nil, err
	}
	pats, err := filelist.ParsePatterns(excl)
	if err != nil {
		return nil, nil, errors.WithMessage(err, "--exclude")
	}
	var defaults []filelist.Pattern
	if !opts.NoDefaultExcludes {
		defaults, _ = filelist.ParsePatterns(filelist.DefaultExcludes)
	}
	secrets, _ := filelist.ParsePatterns(filelist.SecretPatterns)
	incl, err := withLines(opts.Includes, opts.IncludeFrom)
	if err != nil {
		return nil, nil, err
	}
	f := &filelist.Filter{Exclude: pats, Default: defaults, Secrets: secrets, Include: map[string]bool{}}
	for i, p := range incl {
		if !strings.HasPrefix(p, "/") {
			return nil, nil, errors.Errorf("--include %q: expected an absolute path", p)
		}
		incl[i] = filepath.Clean(p)
		f.Include[incl[i]] = true
	}
	return f, incl, nil
}

// keptPaths returns the paths of keep as the filter sees them: as given
// (cleaned) and canonical inside the root, with what each is.
func keptPaths(res *rootpath.Resolver, keep map[string]string) map[string]string {
	out := map[string]string{}
	for p, why := range keep {
		if !strings.HasPrefix(p, "/") {
			continue
		}
		p = filepath.Clean(p)
		out[p] = why
		if c, err := res.Canonical(p); err == nil {
			out[c] = why
		}
	}
	return out
}

// withLines returns values followed by the lines of each file.
func withLines(values, files []string) ([]string, error) {
	out := append([]string{}, values...)
	for _, f := range files {
		lines, err := readLines(f, "a list of paths")
		if err != nil {
			return nil, err
		}
		out = append(out, lines...)
	}
	return out, nil
}

// readLines reads a file of paths, patterns or commands (what, for the
// error): one a line, blank lines and # comments skipped.
func readLines(name, what string) ([]string, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, errors.Wrap(err, "reading "+what)
	}
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out, nil
}

// insideRoot keeps the uses under root (host paths of a chrooted
// program) as paths inside it.
// traceUses are the uses a ptrace run recorded (host paths), inside root.
func traceUses(uses []collect.Use, root string) []collect.Use {
	uses = append([]collect.Use(nil), uses...)
	if root != "/" {
		uses = insideRoot(uses, root)
	}
	return uses
}

func insideRoot(uses []collect.Use, root string) []collect.Use {
	root = strings.TrimRight(root, "/")
	out := uses[:0]
	for _, u := range uses {
		switch {
		case u.Path == root:
			u.Path = "/"
		case strings.HasPrefix(u.Path, root+"/"):
			u.Path = u.Path[len(root):]
		default:
			continue // the launcher's own files, before chroot
		}
		out = append(out, u)
	}
	return out
}

func readList(name string, stdin io.Reader) ([]filelist.Request, error) {
	if name == "-" {
		if stdin == nil {
			stdin = os.Stdin
		}
		return filelist.Read(stdin, "<stdin>")
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, errors.Wrap(err, "opening file list")
	}
	defer f.Close()
	return filelist.Read(f, name)
}

// dropper leaves out the logs and the outputs themselves.
type dropper struct {
	exact map[string]bool
}

func newDropper(opts ListOptions, res *rootpath.Resolver) *dropper {
	d := &dropper{exact: map[string]bool{}}
	root := res.Root()
	files := append(append(append([]string{}, opts.StraceLogs...), opts.LddFiles...), opts.Outputs...)
	for _, l := range opts.ExecLogs {
		files = append(files, l.Log)
	}
	for _, f := range files {
		if f == "" || f == "-" {
			continue
		}
		abs, err := filepath.Abs(f)
		if err != nil {
			continue
		}
		if root != "/" {
			rel, err := filepath.Rel(root, abs)
			if err != nil || strings.HasPrefix(rel, "..") {
				continue
			}
			abs = "/" + rel
		}
		d.exact[abs] = true
	}
	return d
}

func (d *dropper) match(p string) bool {
	return d.exact[p] || d.exact[filepath.Clean(p)]
}

// ListFormat is how WriteList writes a list.
type ListFormat string

// The list formats: one path a line, or JSON with kinds and reasons.
const (
	ListText ListFormat = "text"
	ListJSON ListFormat = "json"
)

// ParseListFormat reads a --format value.
func ParseListFormat(s string) (ListFormat, error) {
	switch f := ListFormat(s); f {
	case ListText, ListJSON:
		return f, nil
	}
	return "", errors.Errorf("--format %q: expected text or json", s)
}

// WriteListOptions say where WriteList writes.
type WriteListOptions struct {
	ListOptions
	Format ListFormat
	// Output is the file to write (atomically); "" or "-" writes to
	// Stdout.
	Output string
	Stdout io.Writer
}

// WriteList lists what a program used (see List) and writes the list.
func WriteList(ctx context.Context, o WriteListOptions) (*filelist.List, error) {
	if _, err := ParseListFormat(string(o.Format)); err != nil {
		return nil, err
	}
	l, err := List(ctx, o.ListOptions)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if o.Format == ListJSON {
		err = filelist.WriteJSON(&buf, l)
	} else {
		err = filelist.WriteText(&buf, l)
	}
	if err != nil {
		return nil, err
	}
	if o.Output == "" || o.Output == "-" {
		w := o.Stdout
		if w == nil {
			w = os.Stdout
		}
		_, err = w.Write(buf.Bytes())
		return l, errors.Wrap(err, "writing the list")
	}
	return l, atomicfile.WriteFile(o.Output, buf.Bytes(), 0o644)
}
