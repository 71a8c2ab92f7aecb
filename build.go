package scratchpack

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/pkg/errors"

	"github.com/scratchpack/scratchpack/collect"
	"github.com/scratchpack/scratchpack/collect/strace"
	"github.com/scratchpack/scratchpack/collect/tracer"
	"github.com/scratchpack/scratchpack/filelist"
	"github.com/scratchpack/scratchpack/internal/sandbox"
	"github.com/scratchpack/scratchpack/pkgmeta/units"
	"github.com/scratchpack/scratchpack/seccomp"
	"github.com/scratchpack/scratchpack/verify"
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
	// Strict makes calls whose path the collector could not read an
	// error (an *UnreadableError) before anything is written; by default
	// each process that made them is a warning. With Verify, those of
	// the verify run too (after the archive is written).
	Strict bool
	// KeepLog, when set, is where the strace log is kept.
	KeepLog string
	// SeccompProfile, when set, is where the seccomp profile of the run is
	// written (see package seccomp): every syscall is then traced.
	SeccompProfile string

	LddFiles      []string
	KeepCreated   bool
	IgnoreMissing bool
	Paths         PathOptions // sets, includes, excludes

	Pack PackOptions // Output, Dockerfile, compression...
	// Verify, when set, runs verify on the archive with the same command
	// (its Archive and Command are filled in; by default its Collector is
	// the build's, ptrace for fanotify, and its Strict and Warn are the
	// build's).
	Verify *verify.Options
	Warn   func(error)
	// ReportHTML, when set, is where the report goes as one HTML page
	// (see Report.WriteHTML), with or without an archive file.
	ReportHTML string
	// Execs are shell commands traced as the command is (same collector,
	// root, directory, environment): after it exits, or, with probes,
	// while the server runs once they succeeded. Their files join the
	// list, tagged with the exec; one that fails is an error.
	Execs []string
	// From, when its Ref is set, is the image to shrink (build --from):
	// the command (by default its ENTRYPOINT and CMD) runs in its root as
	// a container runtime runs it, and the result keeps its config.
	From FromOptions
	// containerDir is the run directory of a build --from's container.
	containerDir string
	// provided are the files the container got from the host (and a
	// runtime gives the result): see ListOptions.Provided.
	provided []string
}

// BuildResult reports a build.
type BuildResult struct {
	Trace    *tracer.Result
	List     *filelist.List
	Pack     *PackResult
	Largest  []*filelist.Entry // the 10 largest files
	Program  string            // the command's absolute path inside the root
	Timings  map[string]time.Duration
	ExitWarn error          // the command's non-zero exit, when not an error
	Report   string         // the JSON report written beside the archive
	Verify   *verify.Result // when BuildOptions.Verify was set
	Seccomp  *seccomp.Result
	Dir      string     // the command's working directory, inside the root
	Execs    []*ExecRun // the --exec runs
	// Source is the image of a build --from.
	Source *SourceImage
	// Unreadable are the processes that made calls whose path could not
	// be read (each was a warning, or Strict made them an error).
	Unreadable []collect.Unreadable
}

// Validate checks the options that need no files and no trace, so that
// a build that cannot finish fails before it starts.
func (o BuildOptions) Validate() error {
	if len(o.Command) == 0 && o.From.Ref == "" {
		return errors.New("no command: give it after --")
	}
	if err := o.Pack.Validate(); err != nil {
		return err
	}
	if _, err := units.ParseKinds(o.Paths.Complete); err != nil {
		return err
	}
	if o.Verify != nil && (o.Pack.Output == "-" || o.Pack.Output == "" || len(o.Trace.Probes) > 0 || o.Trace.Duration > 0) {
		return errors.New("--verify needs an archive file and a command that exits (no --probe, no --duration)")
	}
	if err := distinctOutputs(o.outputFiles()); err != nil {
		return err
	}
	if o.From.Ref != "" && o.Verify != nil && o.Verify.CompareOutput {
		return errors.New("--verify with --from compares the exit status only (the traced run's output is not kept to compare)")
	}
	return o.validateSeccomp()
}

// outputFiles are the files a build writes (the output directory is
// made when its parent is missing, so it is not one of them).
func (o BuildOptions) outputFiles() []string {
	return append(o.Pack.outputFiles(), o.KeepLog, o.SeccompProfile, o.ReportHTML)
}

// Build runs the command under strace, lists what it used with the ELF
// libraries and interpreters of everything it ran or loaded, writes the
// rootfs archive (and a Dockerfile when asked), and verifies it when asked.
func Build(ctx context.Context, o BuildOptions) (*BuildResult, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	o.Warn = orDiscard(o.Warn)
	var src *SourceImage
	t0 := time.Now()
	if o.From.Ref != "" {
		var done func()
		var err error
		if o, src, done, err = o.fromImage(ctx); err != nil {
			return nil, err
		}
		defer done()
	}
	rn, err := prepareRun(o.Command, o.Root, o.Dir, o.Env)
	if err != nil {
		if src != nil {
			return nil, errors.WithMessagef(err, "in the image %s", src.Ref)
		}
		return nil, err
	}
	if err := rn.checkOutputs(o.outputFiles()...); err != nil {
		return nil, err
	}
	r := &BuildResult{Program: rn.program, Dir: rn.dir, Timings: map[string]time.Duration{}, Source: src}
	if src != nil {
		r.Timings["open"] = time.Since(t0)
	}
	logDir, err := os.MkdirTemp("", "scratchpack-trace-")
	if err != nil {
		return nil, errors.Wrap(err, "creating a directory for the trace")
	}
	defer os.RemoveAll(logDir)
	log := filepath.Join(logDir, "trace.log")
	count := o.seccompCount(rn) // the list phase counts the syscalls
	for _, phase := range []struct {
		name string
		run  func() error
	}{
		{"trace", func() error { return r.trace(ctx, o, rn, log) }},
		{"list", func() error { return r.list(ctx, o, rn, log, count) }},
		{"seccomp", func() error { return r.seccomp(o, count) }},
		{"pack", func() error { return r.pack(ctx, o, rn) }},
		{"report", func() error { return r.writeReport(o, rn) }},
		{"verify", func() error { return r.verify(ctx, o, rn) }},
	} {
		t0 := time.Now()
		err := phase.run()
		r.Timings[phase.name] = time.Since(t0)
		if err != nil {
			return r, err
		}
	}
	return r, nil
}

// trace runs the command and applies the exit-status rule; the log is
// kept when asked.
func (r *BuildResult) trace(ctx context.Context, o BuildOptions, rn *run, log string) error {
	var err error
	topts := o.Trace
	topts.AllSyscalls = o.SeccompProfile != "" // for the profile
	if len(o.Execs) > 0 && len(topts.Probes) > 0 {
		// while the server runs, once the probes succeeded
		topts.AfterProbes = func(ctx context.Context) error {
			var err error
			r.Execs, err = runExecs(ctx, o.Execs, rn.tracerOptions(o.Trace), filepath.Dir(log), true)
			return err
		}
	}
	r.Trace, err = rn.trace(ctx, topts, log)
	if o.containerDir != "" {
		if err := sandbox.StartError(o.containerDir); err != nil {
			return errors.WithMessagef(err, "running %s in the image %s", o.Command[0], r.Source.Ref)
		}
	}
	if err != nil {
		return err
	}
	var warned error
	if err := rn.exitStatus(r.Trace, o.FailOnExit, func(e error) { warned = e; o.Warn(e) }, "packing what it used anyway (--fail-on-exit makes this an error)"); err != nil {
		return err
	}
	if warned != nil {
		r.ExitWarn = errors.Cause(warned)
	}
	if len(o.Execs) > 0 && len(o.Trace.Probes) == 0 {
		if r.Execs, err = runExecs(signalContext(ctx, o.Trace), o.Execs, rn.tracerOptions(o.Trace), filepath.Dir(log), false); err != nil {
			return err
		}
	}
	if o.KeepLog == "" {
		return nil
	}
	if o.Trace.Collector == tracer.Fanotify && !r.Trace.WatchLog {
		return errors.New("--keep-log: the fanotify run wrote no log (strace was not found)")
	}
	if o.Trace.Collector == tracer.Ptrace {
		return errors.New("--keep-log: the ptrace collector writes no log (use --collector strace for one)")
	}
	return copyFile(log, o.KeepLog)
}

// list resolves what the trace saw into the file list; with count, it
// counts the trace's syscalls in the same pass.
func (r *BuildResult) list(ctx context.Context, o BuildOptions, rn *run, log string, count *strace.Counting) error {
	logs := []string{log}
	var uses []collect.Use
	watched := o.Trace.Collector == tracer.Fanotify
	if watched {
		logs, uses = r.watchedUses(o, rn, log)
	} else if rn.dir != "/" {
		src := collect.SourceStrace
		if o.Trace.Collector == tracer.Ptrace {
			src = collect.SourcePtrace
		}
		uses = append(uses, workdirUse(rn.dir, src))
	}
	if o.Trace.Collector == tracer.Ptrace {
		logs = nil // its uses came with the result
		uses = append(uses, traceUses(r.Trace.Uses, rn.res.Root())...)
	}
	xuses, xlogs := execUses(r.Execs, rn.res.Root())
	uses = append(uses, xuses...)
	cwd := rn.dir
	if rn.root != "/" {
		cwd = filepath.Join(rn.res.Root(), rn.dir) // the log's paths are host paths
	}
	uid := os.Geteuid() // the command runs as we do
	var err error
	r.List, err = List(ctx, ListOptions{
		Count:         count,
		Root:          rn.root,
		StraceLogs:    logs,
		ExecLogs:      xlogs,
		Uses:          uses,
		LinkScan:      watched,
		LddFiles:      o.LddFiles,
		Cwd:           cwd,
		IgnoreMissing: o.IgnoreMissing,
		Outputs:       append(o.outputFiles(), o.Pack.OutputDir),
		ResolveDeps:   true,
		LibraryPath:   filepath.SplitList(envValue(rn.env, "LD_LIBRARY_PATH")),
		Path:          rn.path,
		HostPaths:     rn.root != "/",
		KeepCreated:   o.KeepCreated,
		Provided:      o.provided,
		PathOptions:   o.Paths,
		Keep:          commandPaths(rn.res, rn.program, o.Command[1:], rn.dir),
		Warn:          o.Warn,
		TraceUID:      &uid,
		Unreadable:    func(u collect.Unreadable) { r.Unreadable = append(r.Unreadable, u) },
	})
	if err != nil {
		return err
	}
	// the ptrace collector's unread calls come with its results (never silent)
	r.Unreadable = append(r.Unreadable, r.Trace.Unreadable...)
	for _, e := range r.Execs {
		r.Unreadable = append(r.Unreadable, e.unreadable...)
	}
	if err := r.unreadable(o, log); err != nil {
		return err
	}
	if r.List.Lookup(rn.program) == nil && r.List.Lookup(mustCanonical(rn.res, rn.program)) == nil {
		return errors.Errorf("%s is not in the file list: did the command run?", rn.program)
	}
	return nil
}

// unreadable names where the unread calls are (the trace's logs are
// temporary) and warns once per process, or fails with Strict.
func (r *BuildResult) unreadable(o BuildOptions, log string) error {
	if len(r.Unreadable) == 0 {
		return nil
	}
	logs := map[string]string{log: "the trace log"}
	if o.KeepLog != "" {
		logs[log] = o.KeepLog
	}
	for _, e := range r.Execs {
		logs[e.log] = fmt.Sprintf("the trace log of --exec %q", e.Command)
	}
	for i, u := range r.Unreadable {
		if f, line, ok := cutLine(u.Where); ok && logs[f] != "" {
			if f == log && o.KeepLog != "" {
				r.Unreadable[i].Where = o.KeepLog + ":" + line
			} else {
				r.Unreadable[i].Where = logs[f] + ", line " + line
			}
		}
	}
	if o.Strict {
		return &UnreadableError{Processes: r.Unreadable, Strict: true, Collector: o.Trace.Collector}
	}
	for _, u := range r.Unreadable {
		o.Warn(&UnreadableError{Processes: []collect.Unreadable{u}, Collector: o.Trace.Collector})
	}
	return nil
}

// cutLine splits "file:line".
func cutLine(where string) (file, line string, ok bool) {
	i := strings.LastIndexByte(where, ':')
	if i < 0 {
		return "", "", false
	}
	return where[:i], where[i+1:], true
}

// watchedUses turns a fanotify watch into uses (and the narrow strace
// log, when there is one).
func (r *BuildResult) watchedUses(o BuildOptions, rn *run, log string) ([]string, []collect.Use) {
	logs := []string{log}
	for _, m := range r.Trace.Mounts {
		if m.Err != nil {
			o.Warn(errors.WithMessagef(m.Err, "files under %s (%s) are not watched", m.Point, m.FSType))
		}
	}
	if !r.Trace.WatchLog {
		logs = nil
		o.Warn(errors.New("strace was not found: the fanotify run cannot see directories the command creates, renames or deletes, nor its working directories"))
	}
	uses := collect.FromWatch(r.Trace.Watch.Accesses)
	if rn.root != "/" {
		uses = insideRoot(uses, rn.res.Root())
	}
	// The watch sees the file a name led to, not the name: the command
	// as it was given comes with its links.
	uses = append(uses,
		collect.Use{Path: rn.program, Need: collect.NeedFile, Exec: true, Source: collect.SourceFanotify, Detail: "the command"},
		workdirUse(rn.dir, collect.SourceFanotify))
	return logs, uses
}

// pack writes the archive (with the Dockerfile's and the image's
// command, PATH and WORKDIR from the traced run).
func (r *BuildResult) pack(ctx context.Context, o BuildOptions, rn *run) error {
	pk := o.Pack
	if (pk.Dockerfile != "" || len(pk.Image.Dests) > 0) && len(pk.Cmd) == 0 && pk.Image.Base == nil {
		pk.Cmd = append([]string{rn.program}, o.Command[1:]...)
		pk.Env = append([]string{"PATH=" + ImagePath(r.List, rn.path)}, pk.Env...)
		if pk.Workdir == "" && rn.dir != "/" {
			pk.Workdir = rn.dir
		}
	}
	if pk.Warn == nil {
		pk.Warn = o.Warn
	}
	var err error
	if r.Pack, err = Pack(ctx, r.List, pk); err != nil {
		return err
	}
	r.Timings["secrets"] = r.Pack.SecretsScan
	r.Timings["cut"] = r.Pack.CutScan
	r.List = r.Pack.List // with the package metadata
	r.Largest = Largest(r.List, 10)
	return nil
}

// writeReport writes the report beside an archive file, and the HTML
// page when asked.
func (r *BuildResult) writeReport(o BuildOptions, rn *run) error {
	toFile := o.Pack.Output != "-" && o.Pack.Output != ""
	if !toFile && o.ReportHTML == "" {
		return nil
	}
	rep := r.report(o, rn)
	if toFile {
		r.Report = ReportPath(r.Pack.Output)
		if err := rep.Write(r.Report); err != nil {
			return err
		}
	}
	if o.ReportHTML == "" {
		return nil
	}
	return rep.WriteHTML(o.ReportHTML, r.Pack.Packages.OwnerName)
}

// verify runs the archive with the same command, when asked.
func (r *BuildResult) verify(ctx context.Context, o BuildOptions, rn *run) error {
	if o.Verify == nil {
		return nil
	}
	vo := *o.Verify
	vo.Archive = o.Pack.Output
	vo.Command = append([]string{rn.program}, o.Command[1:]...)
	if vo.Collector == "" {
		// the build's, but fanotify's, which sees no failed lookup
		vo.Collector = o.Trace.Collector
		if vo.Collector == tracer.Fanotify {
			vo.Collector = tracer.Ptrace
			if len(vo.Launcher) == 0 {
				vo.Collector = tracer.Strace
			}
		}
	}
	if vo.Strace == "" {
		vo.Strace = o.Trace.Strace
	}
	vo.Strict, vo.Warn = o.Strict, o.Warn
	if vo.Dir == "" && rn.root == "/" {
		vo.Dir = rn.dir // where the command ran: relative names mean the same
	}
	if r.Source != nil {
		// the source image is the reference, not the host
		vo.Reference = &verify.Run{ExitCode: r.Trace.ExitCode, Signal: r.Trace.Signal}
		if vo.Dir == "" {
			vo.Dir = rn.dir
		}
		vo.Env = append(append([]string{}, rn.env...), vo.Env...)
	}
	var err error
	r.Verify, err = verify.Verify(ctx, vo)
	return err
}

// report is the build's report (see Report).
func (r *BuildResult) report(o BuildOptions, rn *run) *Report {
	files, _, _, _, bytes := r.List.Totals()
	collector := o.Trace.Collector
	if collector == "" {
		collector = tracer.Strace
	}
	rep := &Report{
		Scratchpack: Version,
		Command:     o.Command,
		Root:        r.List.Root,
		Dir:         rn.dir,
		ExitCode:    r.Trace.ExitCode,
		Stopped:     r.Trace.Stopped,
		Collector:   string(collector),
		Tools:       r.toolVersions(),
		TimingsMS:   map[string]int64{},
		Archive:     r.Pack.Output,
		Compressed:  r.Pack.Compressed,
		Files:       files,
		Bytes:       bytes,
		Entries:     r.List.Entries,
		Secrets:     r.Pack.Secrets,
		Execs:       r.Execs,
		Packages:    r.Pack.Packages,
		Cut:         r.Pack.Cut,
	}
	if r.Pack.Completed.Files > 0 {
		c := r.Pack.Completed
		rep.Completed = &c
	}
	for k, v := range r.Timings {
		rep.TimingsMS[k] = v.Milliseconds()
	}
	rep.Seccomp = r.seccompReport(o)
	rep.SecretsScan, _ = ParseSecretsMode(string(o.Pack.Secrets)) // "" is warn
	if rn.root != "/" {
		rep.RootFiles, rep.RootBytes = treeSize(rn.root)
	}
	if s := r.Source; s != nil {
		rep.Source = &ReportSource{Ref: s.Ref, Name: s.Name, Digest: s.Digest, Size: s.Size, RootSize: s.RootSize}
		if s.RootSize > 0 {
			rep.Source.Ratio = float64(bytes) / float64(s.RootSize)
		}
	}
	rep.Unreadable = r.Unreadable
	return rep
}

// toolVersions names what the build ran with: Go, the kernel, and the
// tools it ran: strace (its collector, or fanotify's narrow strace, as
// the trace asked it once) and upx (the --upx stage). A tool that did
// not run is not named.
func (r *BuildResult) toolVersions() map[string]string {
	tools := map[string]string{"go": runtime.Version()}
	if r.Trace != nil && r.Trace.Strace != "" {
		tools["strace"] = r.Trace.Strace
	}
	for _, e := range r.Execs {
		if e.strace != "" {
			tools["strace"] = e.strace
		}
	}
	if r.Pack != nil && r.Pack.UPX != nil && r.Pack.UPX.Version != "" {
		tools["upx"] = r.Pack.UPX.Version
	}
	var u syscall.Utsname
	if syscall.Uname(&u) == nil {
		var b strings.Builder
		for _, c := range u.Release {
			if c == 0 {
				break
			}
			b.WriteByte(byte(c))
		}
		tools["kernel"] = b.String()
	}
	return tools
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

func copyFile(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return errors.Wrap(err, "reading the trace log")
	}
	return errors.Wrap(os.WriteFile(dst, data, 0o644), "keeping the trace log")
}
