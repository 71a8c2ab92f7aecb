// Package scratchpack shrinks a container image to what one program
// needs. It composes the stages (collect -> filelist -> tarball) into
// the operations the CLI exposes, so that commands only map flags to
// these functions and tests call them directly.
package scratchpack

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/pkg/errors"

	"github.com/scratchpack/scratchpack/collect"
	"github.com/scratchpack/scratchpack/collect/elfdeps"
	"github.com/scratchpack/scratchpack/collect/sets"
	"github.com/scratchpack/scratchpack/collect/strace"
	"github.com/scratchpack/scratchpack/filelist"
	"github.com/scratchpack/scratchpack/internal/atomicfile"
	"github.com/scratchpack/scratchpack/internal/rootpath"
	"github.com/scratchpack/scratchpack/tarball"
	"github.com/scratchpack/scratchpack/upx"
)

// Version is set at build time with -ldflags "-X ...Version=v1.2.3".
var Version = "dev"

// ListOptions say where to find what a program uses.
type ListOptions struct {
	// Root is the filesystem the program ran in ("" or "/": the host).
	Root string
	// StraceLogs are `strace -o` files; the files of one -ff run share a
	// prefix (FILE.PID).
	StraceLogs []string
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
	// KeepCreated packs files the program created during the trace
	// (by default only their directories are kept).
	KeepCreated bool
	// Warn receives warnings: bad log lines, missing files when
	// IgnoreMissing is set, special files left out.
	Warn func(error)
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
}

// List collects every use from the sources and resolves them into a
// file list under the root. Executables that were run bring their ELF
// interpreter or "#!" interpreter, recursively.
func List(ctx context.Context, opts ListOptions) (*filelist.List, error) {
	res, err := rootpath.New(opts.Root)
	if err != nil {
		return nil, err
	}
	warn := opts.Warn
	if warn == nil {
		warn = func(error) {}
	}
	cwd := opts.Cwd
	if cwd == "" {
		if cwd, err = os.Getwd(); err != nil {
			return nil, errors.Wrap(err, "finding the current directory")
		}
	}
	var uses []collect.Use
	if len(opts.StraceLogs) > 0 {
		traceRes := res
		if opts.HostPaths {
			if traceRes, err = rootpath.New("/"); err != nil {
				return nil, err
			}
		}
		u, err := collect.FromStrace(opts.StraceLogs, strace.Options{
			Cwd:  cwd,
			Warn: warn,
			Canonical: func(dir string) string {
				if c, err := traceRes.Canonical(dir); err == nil {
					return c
				}
				return filepath.Clean(dir)
			},
		})
		if err != nil {
			return nil, errors.Wrap(err, "reading strace logs")
		}
		if opts.HostPaths && res.Root() != "/" {
			u = insideRoot(u, res.Root())
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
	path := opts.Path
	if path == nil {
		path = filepath.SplitList(os.Getenv("PATH"))
	}
	uses = append(uses, opts.Uses...)
	if opts.LinkScan {
		uses = append(uses, linksTo(res, uses, path)...)
	}
	b := filelist.NewBuilder(res)
	filter, includes, err := makeFilter(opts)
	if err != nil {
		return nil, err
	}
	b.SetFilter(filter)
	secrets := map[string]bool{}
	warnExcluded := func(err error, exec bool) error {
		var ex *filelist.ExcludedError
		if !errors.As(err, &ex) {
			return err
		}
		if ex.Secret && !secrets[ex.Path] {
			secrets[ex.Path] = true
			warn(err)
		} else if exec {
			warn(errors.Errorf("%s was run but is excluded by %s: --include %s keeps it", ex.Path, ex.Pattern, ex.Path))
		}
		return nil
	}
	for _, inc := range includes {
		err := b.AddTree(inc, filelist.Reason{Source: "include"}, func(err error) {
			if err := warnExcluded(err, false); err != nil {
				warn(err)
			}
		})
		if err != nil {
			if err := softError(err, opts.IgnoreMissing, false, warn); err != nil {
				return nil, errors.WithMessage(err, "--include")
			}
		}
	}
	for _, name := range opts.Lists {
		reqs, err := readList(name, opts.Stdin)
		if err != nil {
			return nil, err
		}
		for _, r := range reqs {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if _, err := b.Add(r.Path, r.Mode, r.Reason); err != nil {
				if err := warnExcluded(err, false); err == nil {
					continue
				}
				if err := softError(err, opts.IgnoreMissing, false, warn); err != nil {
					return nil, err
				}
			}
		}
	}
	drop := newDropper(opts, res)
	a := &adder{b: b, ignoreMissing: opts.IgnoreMissing, warn: warn, path: path, excluded: warnExcluded}
	for _, u := range uses {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if drop.match(u.Path) {
			continue
		}
		if u.Created && opts.KeepCreated && u.Need == collect.NeedParent && !u.Gone {
			u.Need = collect.NeedFile
		}
		if err := a.add(u); err != nil {
			return nil, err
		}
	}
	if len(opts.Sets) > 0 {
		if err := a.addSets(opts, uses); err != nil {
			return nil, err
		}
	}
	if opts.ResolveDeps || len(opts.Sets) > 0 {
		if err := a.resolveDeps(ctx, opts.LibraryPath); err != nil {
			return nil, err
		}
	}
	return b.List(), nil
}

// makeFilter builds the exclude filter and the list of includes.
func makeFilter(opts ListOptions) (*filelist.Filter, []string, error) {
	excl, err := withLines(opts.Excludes, opts.ExcludeFrom)
	if err != nil {
		return nil, nil, err
	}
	if !opts.NoDefaultExcludes {
		excl = append(excl, filelist.DefaultExcludes...)
	}
	pats, err := filelist.ParsePatterns(excl)
	if err != nil {
		return nil, nil, errors.WithMessage(err, "--exclude")
	}
	secrets, _ := filelist.ParsePatterns(filelist.SecretPatterns)
	incl, err := withLines(opts.Includes, opts.IncludeFrom)
	if err != nil {
		return nil, nil, err
	}
	f := &filelist.Filter{Exclude: pats, Secrets: secrets, Include: map[string]bool{}}
	for i, p := range incl {
		if !strings.HasPrefix(p, "/") {
			return nil, nil, errors.Errorf("--include %q: expected an absolute path", p)
		}
		incl[i] = filepath.Clean(p)
		f.Include[incl[i]] = true
	}
	return f, incl, nil
}

// withLines returns values followed by the lines of each file.
func withLines(values, files []string) ([]string, error) {
	out := append([]string{}, values...)
	for _, f := range files {
		lines, err := readLines(f)
		if err != nil {
			return nil, err
		}
		out = append(out, lines...)
	}
	return out, nil
}

// readLines reads a file of paths or patterns: one a line, blank lines
// and # comments skipped.
func readLines(name string) ([]string, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, errors.Wrap(err, "reading a list of paths")
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

// addSets adds the named sets.
func (a *adder) addSets(opts ListOptions, uses []collect.Use) error {
	list, err := sets.Lookup(opts.Sets)
	if err != nil {
		return err
	}
	res := a.b.Resolver()
	r := a.resolver(opts.LibraryPath)
	ref := "/bin/sh" // the reference ELF file for library lookups
	for _, u := range uses {
		if u.Exec {
			if o, err := r.Object(mustCanonical(res, u.Path)); err == nil && o.Interp != "" {
				ref = u.Path
				break
			}
		}
	}
	env := sets.Env{
		Res:     res,
		Getenv:  os.Getenv,
		Locale:  opts.Locale,
		User:    opts.User,
		FindLib: func(soname string) (string, bool) { return r.FindLibrary(soname, ref) },
	}
	for _, s := range list {
		items, err := s.Items(env)
		if err != nil {
			return errors.WithMessagef(err, "--with %s", s.Name)
		}
		for _, it := range items {
			why := filelist.Reason{Source: "set:" + s.Name, Detail: it.Detail}
			switch {
			case it.Data != nil:
				err = a.b.AddData(it.Path, it.Data, it.Mode, why)
			case it.Tree:
				err = a.b.AddTree(it.Path, why, func(err error) {
					if err := a.excluded(err, false); err != nil {
						a.warn(err)
					}
				})
			default:
				_, err = a.b.Add(it.Path, filelist.Follow, why)
			}
			if err == nil {
				continue
			}
			if errors.Is(err, fs.ErrNotExist) && it.Optional {
				continue
			}
			if err := a.excluded(err, false); err != nil {
				if err := softError(err, a.ignoreMissing, false, a.warn); err != nil {
					return errors.WithMessagef(err, "--with %s", s.Name)
				}
			}
		}
	}
	return nil
}

// insideRoot keeps the uses under root (host paths of a chrooted
// program) as paths inside it.
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

// softError decides what a failed Add means: a missing path is an error
// unless ignoreMissing (or gone, when the program deleted it); a special
// file is a warning.
func softError(err error, ignoreMissing, gone bool, warn func(error)) error {
	var me *filelist.MissingError
	var se *filelist.SkippedError
	switch {
	case errors.As(err, &me):
		if gone {
			return nil
		}
		if ignoreMissing {
			warn(err)
			return nil
		}
		return errors.WithMessage(err, "a listed path is missing (--ignore-missing makes this a warning)")
	case errors.As(err, &se):
		warn(err)
		return nil
	}
	return err
}

// maxInterpDepth bounds #! chains (the kernel allows 4 levels).
const maxInterpDepth = 8

// adder adds uses to the builder with what they bring along.
type adder struct {
	b             *filelist.Builder
	ignoreMissing bool
	warn          func(error)
	path          []string
	// excluded reports an *filelist.ExcludedError (a secret, a program
	// that was run) and returns nil for it; other errors come back.
	excluded func(err error, exec bool) error
	elf      *elfdeps.Resolver // made once: it parses each ELF file once
}

// resolver returns the ELF resolver shared by the sets and the deps pass.
func (a *adder) resolver(libraryPath []string) *elfdeps.Resolver {
	if a.elf == nil {
		a.elf = elfdeps.NewResolver(a.b.Resolver())
		a.elf.LibraryPath = libraryPath
	}
	return a.elf
}

func (a *adder) add(u collect.Use) error {
	why := filelist.Reason{Source: string(u.Source), Detail: u.Detail, Where: u.Where}
	mode := filelist.Follow
	switch u.Need {
	case collect.NeedLink:
		mode = filelist.NoFollow
	case collect.NeedParent:
		mode = filelist.Parent
	}
	canon, err := a.b.Add(u.Path, mode, why)
	if err != nil {
		if err := a.excluded(err, u.Exec); err != nil {
			return softError(err, a.ignoreMissing, u.Gone, a.warn)
		}
		return nil
	}
	if !u.Exec {
		return nil
	}
	return a.interpreters(canon)
}

// interpreters adds what the kernel loads to run canon: the ELF program
// interpreter, or the "#!" interpreter (and, for "#!/usr/bin/env NAME",
// NAME found through PATH), recursively. strace never shows these.
func (a *adder) interpreters(canon string) error {
	for depth := 0; depth < maxInterpDepth && canon != ""; depth++ {
		exe, err := elfdeps.Inspect(a.b.Resolver().HostPath(canon))
		if err != nil {
			a.warn(errors.WithMessagef(err, "finding the interpreter of %s", canon))
			return nil
		}
		if exe.Interp == "" {
			return nil
		}
		src := collect.SourceInterp
		if exe.Kind == elfdeps.Script {
			src = collect.SourceShebang
		}
		next, err := a.b.Add(exe.Interp, filelist.Follow, filelist.Reason{Source: string(src), Detail: "interpreter of " + canon})
		if err != nil {
			if err := a.excluded(err, true); err != nil {
				return softError(err, a.ignoreMissing, false, a.warn)
			}
			return nil
		}
		if exe.Kind == elfdeps.Script && filepath.Base(exe.Interp) == "env" {
			if err := a.interpreters(next); err != nil { // env itself is a program
				return err
			}
			name := envProgram(exe.Arg)
			if name == "" {
				return nil
			}
			found, err := a.lookPath(name)
			if err != nil {
				return softError(err, a.ignoreMissing, false, a.warn)
			}
			if next, err = a.b.Add(found, filelist.Follow, filelist.Reason{Source: string(collect.SourceShebang), Detail: name + " through PATH, for " + canon}); err != nil {
				return softError(err, a.ignoreMissing, false, a.warn)
			}
		}
		canon = next
	}
	return nil
}

// envProgram returns the program that "#!/usr/bin/env ARG" runs: the
// first word of ARG that is not an option or an assignment (env -S).
func envProgram(arg string) string {
	for _, w := range strings.Fields(arg) {
		if strings.HasPrefix(w, "-") || strings.Contains(w, "=") {
			continue
		}
		return w
	}
	return ""
}

// lookPath finds name through PATH inside the root.
func (a *adder) lookPath(name string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	if p, ok := searchPath(a.b.Resolver(), name, a.path); ok {
		return p, nil
	}
	return "", &filelist.MissingError{Path: name, Reason: filelist.Reason{Source: "shebang", Detail: "not found in PATH " + strings.Join(a.path, ":")}}
}

// resolveDeps adds the shared libraries of every ELF file in the list.
func (a *adder) resolveDeps(ctx context.Context, libraryPath []string) error {
	r := a.resolver(libraryPath)
	for _, p := range a.b.Files() {
		if err := ctx.Err(); err != nil {
			return err
		}
		tree, err := r.Resolve(p)
		if err != nil {
			if !elfdeps.IsNotELF(err) {
				a.warn(errors.WithMessagef(err, "resolving the libraries of %s", p))
			}
			continue
		}
		for _, l := range tree.Libs {
			detail := "interpreter of " + p
			if l.By != "" {
				detail = l.Name + " needed by " + l.By
			}
			if _, err := a.b.Add(l.Path, filelist.Follow, filelist.Reason{Source: "elf", Detail: detail}); err != nil {
				if err := a.excluded(err, false); err == nil {
					continue
				}
				if err := softError(err, a.ignoreMissing, false, a.warn); err != nil {
					return err
				}
			}
		}
		for _, m := range tree.Missing {
			a.warn(errors.Errorf("library %s: not found (the program may fail to start)", m))
		}
	}
	return nil
}

// dropper leaves out the logs and the outputs themselves.
type dropper struct {
	exact map[string]bool
}

func newDropper(opts ListOptions, res *rootpath.Resolver) *dropper {
	d := &dropper{exact: map[string]bool{}}
	root := res.Root()
	for _, f := range append(append([]string{}, opts.StraceLogs...), append(opts.LddFiles, opts.Outputs...)...) {
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

// PackOptions say how to write the rootfs archive.
type PackOptions struct {
	// Output is the archive path; "-" writes to Stdout.
	Output string
	// OutputDir, when set, also writes the rootfs as a directory tree
	// (links, modes, owners, hardlinks kept), for COPY --from. It must not
	// exist, or be empty.
	OutputDir string
	Stdout    io.Writer
	tarball.Options
	// Dockerfile, when set, is written beside: FROM scratch, ADD the
	// archive, and an exec-form CMD.
	Dockerfile string
	Cmd        []string
	Env        []string // KEY=VALUE
	Workdir    string
	// UPX, when set, packs the executables with UPX first (upx stage).
	UPX *upx.Options
}

// PackResult reports what was written.
type PackResult struct {
	tarball.Stats
	Output     string
	Dockerfile string
	UPX        *upx.Result
}

// Pack writes the list as a rootfs archive (atomically) and, when asked,
// a Dockerfile that uses it.
func Pack(ctx context.Context, l *filelist.List, opts PackOptions) (*PackResult, error) {
	if opts.Output == "" && opts.OutputDir == "" {
		return nil, errors.New("no output: give -o FILE (or -o - for stdout) or --output-dir DIR")
	}
	if opts.Dockerfile != "" && opts.Output == "-" {
		return nil, errors.New("--dockerfile needs the archive in a file (-o FILE), not stdout")
	}
	if opts.Dockerfile != "" {
		if err := ValidateCmd(opts.Cmd); err != nil {
			return nil, err
		}
	}
	r := &PackResult{Output: opts.Output}
	var err error
	if opts.UPX != nil {
		// Entries point at staged, packed copies until the archive is written.
		saved := make([]filelist.Entry, len(l.Entries))
		for i, e := range l.Entries {
			saved[i] = *e
		}
		if r.UPX, err = upx.Pack(ctx, l, *opts.UPX); err != nil {
			return nil, errors.WithMessage(err, "the UPX stage")
		}
		defer func() {
			r.UPX.Cleanup()
			for i, e := range l.Entries {
				e.Content, e.Size = saved[i].Content, saved[i].Size
			}
		}()
	}
	switch opts.Output {
	case "":
	case "-":
		w := opts.Stdout
		if w == nil {
			w = os.Stdout
		}
		r.Stats, err = tarball.Write(ctx, w, l.Root, l.Entries, opts.Options)
	default:
		r.Stats, err = tarball.WriteFile(ctx, opts.Output, l.Root, l.Entries, opts.Options)
	}
	if err != nil {
		return nil, err
	}
	if opts.OutputDir != "" {
		if err := writeDir(ctx, l, opts.OutputDir); err != nil {
			return nil, err
		}
	}
	if opts.Dockerfile != "" {
		rel, err := filepath.Rel(filepath.Dir(absOr(opts.Dockerfile)), absOr(opts.Output))
		if err != nil || strings.HasPrefix(rel, "..") {
			return nil, errors.Errorf("the archive %s must be inside the Dockerfile's directory (its build context)", opts.Output)
		}
		df := Dockerfile(filepath.ToSlash(rel), opts.Cmd, opts.Env, opts.Workdir)
		if err := atomicfile.WriteFile(opts.Dockerfile, []byte(df), 0o644); err != nil {
			return nil, err
		}
		r.Dockerfile = opts.Dockerfile
	}
	return r, nil
}

// writeDir writes the rootfs as a directory tree: the archive is
// streamed into the safe extractor, in a temporary directory beside the
// target that is renamed into place when complete.
func writeDir(ctx context.Context, l *filelist.List, dir string) error {
	if entries, err := os.ReadDir(dir); err == nil {
		if len(entries) > 0 {
			return errors.Errorf("--output-dir %s is not empty", dir)
		}
		if err := os.Remove(dir); err != nil {
			return errors.Wrap(err, "replacing the empty output directory")
		}
	}
	parent := filepath.Dir(filepath.Clean(dir))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return errors.Wrap(err, "creating the output directory's parent")
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return errors.Wrap(err, "creating the output directory")
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(tmp)
		}
	}()
	pr, pw := io.Pipe()
	go func() {
		_, err := tarball.Write(ctx, pw, l.Root, l.Entries, tarball.Options{Compression: tarball.None})
		pw.CloseWithError(err)
	}()
	tr, err := tarball.NewReader(pr)
	if err != nil {
		pr.CloseWithError(err)
		return err
	}
	if err := tarball.Extract(ctx, tr, tmp, tarball.ExtractOptions{Owners: os.Geteuid() == 0}); err != nil {
		pr.CloseWithError(err)
		return errors.WithMessagef(err, "writing %s", dir)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return errors.Wrap(err, "writing the output directory")
	}
	if err := os.Rename(tmp, dir); err != nil {
		return errors.Wrapf(err, "renaming the output directory to %s", dir)
	}
	ok = true
	return nil
}

func absOr(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// SetReport says what a set would add.
type SetReport struct {
	Name, Summary string
	Paths         []string // what the set names, as found in the root
	Files         int      // regular files it brings, links and trees resolved
	Bytes         int64
	Err           error // the set cannot be used in this root
}

// DescribeSets reports what each set would add in the root.
func DescribeSets(ctx context.Context, opts ListOptions) ([]SetReport, error) {
	var out []SetReport
	for _, s := range sets.All {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		o := opts
		o.Sets = []string{s.Name}
		o.StraceLogs, o.LddFiles, o.Lists, o.Includes, o.IncludeFrom = nil, nil, nil, nil, nil
		rep := SetReport{Name: s.Name, Summary: s.Summary}
		l, err := List(ctx, o)
		if err != nil {
			rep.Err = err
			out = append(out, rep)
			continue
		}
		for _, e := range l.Entries {
			for _, r := range e.Reasons {
				if r.Source == "set:"+s.Name && (len(rep.Paths) == 0 || !strings.HasPrefix(e.Path, rep.Paths[len(rep.Paths)-1]+"/")) {
					rep.Paths = append(rep.Paths, e.Path)
					break
				}
			}
		}
		rep.Files, _, _, _, rep.Bytes = l.Totals()
		out = append(out, rep)
	}
	return out, nil
}

// ParseCmd reads a --cmd value: a JSON array of strings
// ('["/usr/games/fortune", "-s"]').
func ParseCmd(s string) ([]string, error) {
	var cmd []string
	if err := json.Unmarshal([]byte(s), &cmd); err != nil {
		return nil, errors.Errorf("--cmd %s: expected a JSON array of strings such as '[\"/usr/games/fortune\"]' (the exec form: a scratch image has no /bin/sh)", s)
	}
	return cmd, ValidateCmd(cmd)
}

// ValidateCmd checks an exec-form command.
func ValidateCmd(cmd []string) error {
	if len(cmd) == 0 {
		return errors.New("a Dockerfile needs a command: give --cmd '[\"/path/to/program\", \"arg\"]'")
	}
	if !strings.HasPrefix(cmd[0], "/") {
		return errors.Errorf("command %q: expected an absolute path (a scratch image has no PATH lookup through a shell)", cmd[0])
	}
	return nil
}

// Dockerfile returns a Dockerfile that adds the archive to an empty
// image and runs cmd in the exec form.
func Dockerfile(archive string, cmd, env []string, workdir string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Generated by scratchpack %s\n", Version)
	b.WriteString("FROM scratch\n")
	fmt.Fprintf(&b, "ADD %s /\n", archive)
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		fmt.Fprintf(&b, "ENV %s=%s\n", k, dockerQuote(v))
	}
	if workdir != "" && workdir != "/" {
		fmt.Fprintf(&b, "WORKDIR %s\n", workdir)
	}
	var q strings.Builder
	enc := json.NewEncoder(&q)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(cmd) // a []string always encodes
	fmt.Fprintf(&b, "CMD %s", q.String())
	return b.String()
}

// dockerQuote quotes an ENV value: inside double quotes a Dockerfile
// reads backslash escapes and expands $VARS.
func dockerQuote(v string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `\$`, "\n", `\n`)
	return `"` + r.Replace(v) + `"`
}

// EpochFromEnv reads SOURCE_DATE_EPOCH (nil when unset).
func EpochFromEnv() (*time.Time, error) {
	s, ok := os.LookupEnv("SOURCE_DATE_EPOCH")
	if !ok || s == "" {
		return nil, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return nil, errors.Errorf("SOURCE_DATE_EPOCH=%q: expected a number of seconds since 1970", s)
	}
	t := time.Unix(n, 0).UTC()
	return &t, nil
}
