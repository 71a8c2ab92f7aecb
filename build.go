package scratchpack

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/pkg/errors"

	"github.com/scratchpack/scratchpack/collect"
	"github.com/scratchpack/scratchpack/collect/elfdeps"
	"github.com/scratchpack/scratchpack/collect/tracer"
	"github.com/scratchpack/scratchpack/filelist"
	"github.com/scratchpack/scratchpack/internal/rootpath"
)

// BuildOptions configure Build: trace a command, resolve what it used,
// and pack it.
type BuildOptions struct {
	// Command to run, as argv. A name without a slash is found through
	// the PATH of Env (inside Root).
	Command []string
	Root    string   // the filesystem to run in ("" or "/": the host)
	Dir     string   // working directory (default: the current one; "/" with Root)
	Env     []string // the command's environment (nil: this process's)

	Trace tracer.Options // Probes, ProbeTimeout, Duration, Grace, Signals, stdio, Launcher
	// FailOnExit makes a non-zero exit of the command an error (by
	// default it is a warning).
	FailOnExit bool
	// KeepLog, when set, is where the strace log is kept.
	KeepLog string

	LddFiles      []string
	KeepCreated   bool
	IgnoreMissing bool
	Paths         PathOptions // sets, includes, excludes

	Pack PackOptions // Output, Dockerfile, compression...
	Warn func(error)
}

// BuildResult reports a build.
type BuildResult struct {
	Trace    *tracer.Result
	List     *filelist.List
	Pack     *PackResult
	Largest  []*filelist.Entry // the 10 largest files
	Program  string            // the command's absolute path inside the root
	Timings  map[string]time.Duration
	ExitWarn error  // the command's non-zero exit, when not an error
	Report   string // the JSON report written beside the archive
}

// Build runs the command under strace, lists what it used with the ELF
// libraries and interpreters of everything it ran or loaded, and writes
// the rootfs archive (and a Dockerfile when asked).
func Build(ctx context.Context, o BuildOptions) (*BuildResult, error) {
	if len(o.Command) == 0 {
		return nil, errors.New("no command: give it after --")
	}
	warn := o.Warn
	if warn == nil {
		warn = func(error) {}
	}
	env := o.Env
	if env == nil {
		env = os.Environ()
	}
	root := o.Root
	if root == "" {
		root = "/"
	}
	dir := o.Dir
	if dir == "" {
		if root != "/" {
			dir = "/"
		} else if wd, err := os.Getwd(); err == nil {
			dir = wd
		}
	}
	res, err := rootpath.New(root)
	if err != nil {
		return nil, err
	}
	// As a shell does when it starts a command in a directory; a stale
	// PWD would send programs that check it (dash, Go) to the host's cwd.
	env = setEnv(env, "PWD", dir)
	pathList := filepath.SplitList(envValue(env, "PATH"))
	program, err := lookPathIn(res, o.Command[0], pathList, dir)
	if err != nil {
		return nil, err
	}
	r := &BuildResult{Program: program, Timings: map[string]time.Duration{}}
	// Fail before the trace, not after it, when an output cannot be written.
	for _, out := range []string{o.Pack.Output, o.Pack.Dockerfile, o.KeepLog} {
		if out == "" || out == "-" {
			continue
		}
		if st, err := os.Stat(filepath.Dir(out)); err != nil || !st.IsDir() {
			return nil, errors.Errorf("cannot write %s: its directory %s does not exist", out, filepath.Dir(out))
		}
	}

	watched := o.Trace.Collector == tracer.Fanotify
	logDir, err := os.MkdirTemp("", "scratchpack-trace-")
	if err != nil {
		return nil, errors.Wrap(err, "creating a directory for the trace")
	}
	defer os.RemoveAll(logDir)
	log := filepath.Join(logDir, "trace.log")
	topts := o.Trace
	topts.Command, topts.Log, topts.Env, topts.Program = o.Command, log, env, program
	if root != "/" {
		topts.Root, topts.Dir = res.Root(), dir
	} else {
		topts.Dir = dir
	}
	t0 := time.Now()
	tctx := ctx
	if topts.Signals != nil {
		// Signals go to the command, which decides; they do not cut the trace.
		tctx = context.WithoutCancel(ctx)
	}
	r.Trace, err = tracer.Run(tctx, topts)
	r.Timings["trace"] = time.Since(t0)
	if err != nil {
		return r, errors.WithMessage(err, "tracing "+o.Command[0])
	}
	if r.Trace.ExitCode != 0 && !r.Trace.Stopped {
		exitErr := errors.Errorf("%s exited with status %d%s", o.Command[0], r.Trace.ExitCode, sigNote(r.Trace.Signal))
		if o.FailOnExit {
			return r, exitErr
		}
		r.ExitWarn = exitErr
		warn(errors.WithMessage(exitErr, "packing what it used anyway (--fail-on-exit makes this an error)"))
	}
	var uses []collect.Use
	logs := []string{log}
	if watched {
		for _, m := range r.Trace.Mounts {
			if m.Err != nil {
				warn(errors.WithMessagef(m.Err, "files under %s (%s) are not watched", m.Point, m.FSType))
			}
		}
		if !r.Trace.WatchLog {
			logs = nil
			warn(errors.New("strace was not found: the fanotify run cannot see directories the command creates, renames or deletes, nor its working directories"))
			if o.KeepLog != "" {
				return r, errors.New("--keep-log: the fanotify run wrote no log (strace was not found)")
			}
		}
		uses = collect.FromWatch(r.Trace.Watch.Accesses)
		if root != "/" {
			uses = insideRoot(uses, res.Root())
		}
		// The watch sees the file a name led to, not the name: the
		// command as it was given comes with its links.
		uses = append(uses,
			collect.Use{Path: program, Need: collect.NeedFile, Exec: true, Source: collect.SourceFanotify, Detail: "the command"},
			collect.Use{Path: dir, Need: collect.NeedDir, Source: collect.SourceFanotify, Detail: "the working directory"})
	}
	if o.KeepLog != "" {
		if err := copyFile(log, o.KeepLog); err != nil {
			return r, err
		}
	}

	t0 = time.Now()
	outputs := []string{o.Pack.Output, o.Pack.Dockerfile, o.KeepLog, o.Pack.OutputDir}
	cwd := dir
	if root != "/" {
		cwd = filepath.Join(res.Root(), dir) // the log's paths are host paths
	}
	r.List, err = List(ctx, ListOptions{
		Root:          root,
		StraceLogs:    logs,
		Uses:          uses,
		LinkScan:      watched,
		LddFiles:      o.LddFiles,
		Cwd:           cwd,
		IgnoreMissing: o.IgnoreMissing,
		Outputs:       outputs,
		ResolveDeps:   true,
		LibraryPath:   filepath.SplitList(envValue(env, "LD_LIBRARY_PATH")),
		Path:          pathList,
		HostPaths:     root != "/",
		KeepCreated:   o.KeepCreated,
		PathOptions:   o.Paths,
		Warn:          warn,
	})
	r.Timings["list"] = time.Since(t0)
	if err != nil {
		return r, err
	}
	if r.List.Lookup(program) == nil && r.List.Lookup(mustCanonical(res, program)) == nil {
		return r, errors.Errorf("%s is not in the file list: did the command run?", program)
	}

	pk := o.Pack
	if pk.Dockerfile != "" && len(pk.Cmd) == 0 {
		pk.Cmd = append([]string{program}, o.Command[1:]...)
		if p := envValue(env, "PATH"); p != "" {
			pk.Env = append([]string{"PATH=" + p}, pk.Env...)
		}
		if pk.Workdir == "" && dir != "/" {
			pk.Workdir = dir
		}
	}
	t0 = time.Now()
	r.Pack, err = Pack(ctx, r.List, pk)
	r.Timings["pack"] = time.Since(t0)
	if err != nil {
		return r, err
	}
	r.Largest = Largest(r.List, 10)
	if pk.Output != "-" && pk.Output != "" {
		if r.Report, err = writeReport(o, r, dir); err != nil {
			return r, err
		}
	}
	return r, nil
}

// Largest returns the n largest files of a list, largest first.
func Largest(l *filelist.List, n int) []*filelist.Entry {
	var files []*filelist.Entry
	for _, e := range l.Entries {
		if e.Kind == filelist.File {
			files = append(files, e)
		}
	}
	sort.SliceStable(files, func(i, j int) bool { return files[i].Size > files[j].Size })
	if len(files) > n {
		files = files[:n]
	}
	return files
}

func sigNote(sig string) string {
	if sig == "" {
		return ""
	}
	return " (killed by " + sig + ")"
}

func envValue(env []string, key string) string {
	v := ""
	for _, kv := range env {
		if strings.HasPrefix(kv, key+"=") {
			v = kv[len(key)+1:]
		}
	}
	return v
}

// setEnv returns env with key set to value.
func setEnv(env []string, key, value string) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if !strings.HasPrefix(kv, key+"=") {
			out = append(out, kv)
		}
	}
	return append(out, key+"="+value)
}

func mustCanonical(res *rootpath.Resolver, p string) string {
	c, err := res.Canonical(p)
	if err != nil {
		return p
	}
	return c
}

// lookPathIn finds a command as execvp would inside the root.
func lookPathIn(res *rootpath.Resolver, name string, path []string, dir string) (string, error) {
	if strings.Contains(name, "/") {
		if !strings.HasPrefix(name, "/") {
			name = filepath.Join(dir, name)
		}
		if _, err := res.Resolve(name, true); err != nil {
			return "", errors.Wrapf(err, "finding the command %s", name)
		}
		return name, nil
	}
	if p, ok := searchPath(res, name, path); ok {
		return p, nil
	}
	return "", errors.Errorf("%s: command not found in PATH %s (inside %s)", name, strings.Join(path, ":"), res.Root())
}

// searchPath finds an executable regular file named name in the
// absolute directories of path, inside the root, as execvp would.
func searchPath(res *rootpath.Resolver, name string, path []string) (string, bool) {
	for _, d := range path {
		if !strings.HasPrefix(d, "/") {
			continue
		}
		p := strings.TrimRight(d, "/") + "/" + name
		if r, err := res.Resolve(p, true); err == nil && r.Info.Mode().IsRegular() && r.Info.Mode()&0o111 != 0 {
			return p, true
		}
	}
	return "", false
}

func copyFile(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return errors.Wrap(err, "reading the trace log")
	}
	return errors.Wrap(os.WriteFile(dst, data, 0o644), "keeping the trace log")
}

// DepsOptions configure Deps.
type DepsOptions struct {
	Root        string
	Files       []string
	LibraryPath []string
}

// Deps resolves the shared libraries of ELF files without running them.
func Deps(ctx context.Context, o DepsOptions) ([]*elfdeps.Tree, error) {
	res, err := rootpath.New(o.Root)
	if err != nil {
		return nil, err
	}
	r := elfdeps.NewResolver(res)
	r.LibraryPath = o.LibraryPath
	var out []*elfdeps.Tree
	for _, f := range o.Files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		p := f
		if !strings.HasPrefix(p, "/") {
			if res.Root() != "/" {
				return nil, errors.Errorf("%s: give absolute paths inside --root", f)
			}
			if p, err = filepath.Abs(f); err != nil {
				return nil, err
			}
		}
		t, err := r.Resolve(p)
		if err != nil {
			return nil, errors.WithMessagef(err, "resolving the libraries of %s", f)
		}
		out = append(out, t)
	}
	return out, nil
}
