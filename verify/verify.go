package verify

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pkg/errors"

	"github.com/scratchpack/scratchpack/collect"
	"github.com/scratchpack/scratchpack/collect/strace"
	"github.com/scratchpack/scratchpack/collect/tracer"
	"github.com/scratchpack/scratchpack/internal/rootpath"
	"github.com/scratchpack/scratchpack/tarball"
)

// DefaultPath is the PATH of the clean environment.
const DefaultPath = rootpath.DefaultPath

// Options for Verify.
type Options struct {
	Archive string
	Command []string
	// Env adds KEY=VALUE to the clean environment (PATH=DefaultPath).
	Env []string
	// CompareOutput also compares stdout (the exit status always is).
	CompareOutput bool
	// Timeout bounds each run (default 60s).
	Timeout time.Duration
	// Dir is the command's working directory, inside the image and on
	// the host (default /): a command that names files relative to it
	// (jq -c . in.json in /srv/app) runs there in both.
	Dir string
	// Reference, when set, is the run the image's is compared with, in
	// place of a run on the host (build --from: the traced run in the
	// source image, whose stdout was not kept: CompareOutput needs the
	// host run).
	Reference *Run
	// Collector traces the image run: tracer.Ptrace, scratchpack's own
	// tracer (the CLI's default; it needs Launcher), or tracer.Strace
	// ("": strace, found on PATH or Strace). tracer.Fanotify is refused:
	// it sees no lookup that failed.
	Collector tracer.Collector
	// Strict makes calls of the image run whose path the collector could
	// not read an error (a *tracer.UnreadableError), as build --strict
	// does; by default each process that made them is a warning, and
	// they are in Result.Unreadable.
	Strict bool
	// Warn receives the warnings (nil: dropped): the processes with
	// unread calls, a run without /proc.
	Warn func(error)
	// Launcher, Strace: see tracer.Options.
	Launcher []string
	Strace   string
}

// Run is the outcome of one run.
type Run struct {
	ExitCode int    `json:"exit_code"`
	Signal   string `json:"signal,omitempty"`
	Stdout   string `json:"stdout"`
	Stderr   string `json:"stderr"`
}

// Missing is a path the image run did not find but the host has.
type Missing struct {
	Path    string `json:"path"`
	Errno   string `json:"errno"`
	Syscall string `json:"syscall"`
	By      string `json:"needed_by,omitempty"` // the program that asked
}

func (m Missing) String() string {
	s := "missing " + m.Path
	if m.Errno == "EACCES" {
		s = "not readable " + m.Path
	}
	if m.By != "" {
		s += ", needed by " + m.By
	}
	return s
}

// Result of a verification.
type Result struct {
	Host    Run       `json:"host"`
	Image   Run       `json:"image"`
	Match   bool      `json:"match"`
	Differs []string  `json:"differs,omitempty"` // what differs: "exit status 0 != 127"
	Missing []Missing `json:"missing,omitempty"`
	// Includes are the flags that would add the missing paths.
	Includes []string `json:"includes,omitempty"`
	// Collector traced the image run.
	Collector tracer.Collector `json:"collector"`
	// Unreadable are the processes of the image run that made calls whose
	// path the collector could not read: what those failed to find is not
	// in Missing (each was a warning, or Strict made them an error).
	Unreadable []collect.Unreadable `json:"unreadable,omitempty"`
	// NoProc says that the image run had no /proc: mounting one needs
	// CAP_SYS_ADMIN (it was a warning).
	NoProc bool `json:"no_proc,omitempty"`
}

// StrictOutcome is what verify --strict makes of unread calls.
const StrictOutcome = "the rootfs is not verified"

// NoProcWarning is the warning of an image run without /proc.
var NoProcWarning = errors.New("the rootfs ran without /proc: mounting one needs CAP_SYS_ADMIN (docker/podman build --cap-add SYS_ADMIN); " +
	"a program that reads /proc (a UPX-packed one: /proc/self/exe) may fail here though it runs in a container")

// ErrFanotify refuses the fanotify collector.
var ErrFanotify = errors.New("verify cannot use the fanotify collector: it sees the files opened, not the lookups that failed, which verify names; use ptrace or strace")

// collector checks Options.Collector.
func collector(c tracer.Collector) (tracer.Collector, error) {
	switch c {
	case "", tracer.Strace:
		return tracer.Strace, nil
	case tracer.Ptrace:
		return c, nil
	case tracer.Fanotify:
		return "", ErrFanotify
	}
	return "", errors.Errorf("unknown collector %q (expected ptrace or strace)", c)
}

// ErrNeedsRoot is returned when verify cannot chroot.
var ErrNeedsRoot = errors.New("verify runs the command chrooted: run it as root (inside the builder container)")

// Verify runs the command in the archive's rootfs and on the host.
func Verify(ctx context.Context, o Options) (*Result, error) {
	if len(o.Command) == 0 {
		return nil, errors.New("no command: give it after --")
	}
	c, err := collector(o.Collector)
	if err != nil {
		return nil, err
	}
	if os.Geteuid() != 0 {
		return nil, ErrNeedsRoot
	}
	warn := o.Warn
	if warn == nil {
		warn = func(error) {}
	}
	if o.Timeout <= 0 {
		o.Timeout = 60 * time.Second
	}
	env := []string{"PATH=" + DefaultPath}
	for _, kv := range o.Env {
		if !strings.Contains(kv, "=") {
			return nil, errors.Errorf("--env %q: expected KEY=VALUE", kv)
		}
		env = append(env, kv)
	}
	dir, err := os.MkdirTemp("", "scratchpack-verify-")
	if err != nil {
		return nil, errors.Wrap(err, "creating a directory to extract into")
	}
	defer os.RemoveAll(dir)
	root := filepath.Join(dir, "root")
	if err := os.Mkdir(root, 0o755); err != nil {
		return nil, errors.Wrap(err, "creating a directory to extract into")
	}
	ar, err := tarball.Open(o.Archive)
	if err != nil {
		return nil, err
	}
	err = tarball.Extract(ctx, ar, root, tarball.ExtractOptions{Owners: true})
	ar.Close()
	if err != nil {
		return nil, errors.WithMessagef(err, "extracting %s", o.Archive)
	}

	r := &Result{Collector: c}
	wd := o.Dir
	if wd == "" {
		wd = "/"
	}
	if !strings.HasPrefix(wd, "/") {
		return nil, errors.Errorf("--dir %q: expected an absolute path (inside the image)", o.Dir)
	}
	// as a runtime takes WORKDIR: lexically clean, so that the directory
	// made and the one the command runs in are the same
	wd = filepath.Clean(wd)
	if err := makeWorkdir(root, wd); err != nil {
		return nil, err
	}
	if o.Reference != nil {
		r.Host = *o.Reference
	} else {
		r.Host = runHost(ctx, o.Command, env, o.Timeout, wd)
	}

	var stdout, stderr bytes.Buffer
	log := filepath.Join(dir, "image.strace")
	// As in a container, the command sees a /proc (UPX-packed programs
	// need /proc/self/exe) and /dev nodes, mounted in a private namespace
	// only (Proc).
	tres, err := tracer.Run(ctx, tracer.Options{
		Command:   o.Command,
		Log:       log,
		Root:      root,
		Dir:       wd,
		Env:       env,
		Stdout:    &stdout,
		Stderr:    &stderr,
		Duration:  o.Timeout,
		Launcher:  o.Launcher,
		Strace:    o.Strace,
		Grace:     2 * time.Second,
		Collector: c,
		Failed:    true,
		Proc:      true,
	})
	if err != nil {
		return nil, errors.WithMessage(err, "running the command in the rootfs")
	}
	if r.NoProc = tres.NoProc; r.NoProc {
		warn(NoProcWarning)
	}
	r.Image = Run{ExitCode: tres.ExitCode, Signal: tres.Signal, Stdout: stdout.String(), Stderr: stderr.String()}
	if tres.Stopped {
		r.Image.Signal = "stopped after " + o.Timeout.String()
	}
	if r.Host.ExitCode != r.Image.ExitCode {
		r.Differs = append(r.Differs, "exit status: host "+strconv.Itoa(r.Host.ExitCode)+", image "+strconv.Itoa(r.Image.ExitCode))
	}
	if o.CompareOutput && r.Host.Stdout != r.Image.Stdout {
		r.Differs = append(r.Differs, "stdout")
	}
	r.Match = len(r.Differs) == 0
	f := &finder{root: root, seen: map[string]bool{}}
	if c == tracer.Ptrace {
		for _, e := range tres.Failed {
			f.add(e)
		}
		r.Unreadable = tres.Unreadable
	} else if r.Unreadable, err = f.strace(log); err != nil {
		return nil, err
	}
	r.Missing = f.list()
	if err := unreadable(r, o.Strict, warn); err != nil {
		return nil, err
	}
	for _, m := range r.Missing {
		r.Includes = append(r.Includes, "--include "+m.Path)
	}
	return r, nil
}

func runHost(ctx context.Context, argv, env []string, timeout time.Duration, dir string) Run {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c := exec.CommandContext(ctx, argv[0], argv[1:]...)
	c.Env, c.Dir = env, dir
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	err := c.Run()
	run := Run{Stdout: out.String(), Stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		run.ExitCode = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			run.ExitCode, run.Signal = 128+int(ws.Signal()), ws.Signal().String()
		}
	default:
		run.ExitCode, run.Stderr = 127, err.Error()
	}
	return run
}

// unreadable warns once per process of the image run with unread
// calls, or fails with strict, as a build does.
func unreadable(r *Result, strict bool, warn func(error)) error {
	if len(r.Unreadable) == 0 {
		return nil
	}
	if strict {
		return &tracer.UnreadableError{Processes: r.Unreadable, Strict: true, Collector: r.Collector, Outcome: StrictOutcome}
	}
	for _, u := range r.Unreadable {
		warn(&tracer.UnreadableError{Processes: []collect.Unreadable{u}, Collector: r.Collector})
	}
	return nil
}

// finder names the paths an image run failed to find (ENOENT) or to
// read (EACCES) inside the root that the host has, from its failed calls.
type finder struct {
	root string
	seen map[string]bool
	out  []Missing
}

// strace reads the failed calls of the image run's strace log, and
// counts the calls whose path strace could not read.
func (f *finder) strace(log string) ([]collect.Unreadable, error) {
	uid := os.Geteuid() // the command starts as we run
	unread, err := collect.ParseStrace([]string{log}, strace.Options{Failed: true, Cwd: f.root, UID: &uid}, f.add)
	if err != nil {
		return nil, errors.WithMessage(err, "reading the trace of the image run")
	}
	for i, u := range unread {
		unread[i].Where = "" // a line of a log that is removed
		if p, ok := f.inside(u.Command); ok {
			unread[i].Command = p // the program in the image, as Missing.By
		}
	}
	return unread, nil
}

// inside is the path p names in the image: "" when it is outside root.
func (f *finder) inside(p string) (string, bool) {
	if p == f.root {
		return "/", true
	}
	if strings.HasPrefix(p, f.root+"/") {
		return p[len(f.root):], true
	}
	return "", false
}

// add takes one call of the image run.
func (f *finder) add(e strace.Event) {
	if e.OK || (e.Errno != "ENOENT" && e.Errno != "EACCES") {
		return
	}
	switch e.Op {
	case strace.OpExec, strace.OpRead, strace.OpStat, strace.OpChdir, strace.OpList:
	default:
		return
	}
	p, ok := f.inside(e.Path)
	if !ok {
		return
	}
	p = filepath.Clean(p)
	for _, pre := range []string{"/proc", "/sys", "/dev"} {
		if p == pre || strings.HasPrefix(p, pre+"/") {
			return
		}
	}
	if f.seen[p] {
		return
	}
	if _, err := os.Lstat(p); err != nil {
		return // the host does not have it either: a search path
	}
	f.seen[p] = true
	// /lib/x and /usr/lib/x are one file on merged-/usr hosts
	if canon, err := filepath.EvalSymlinks(p); err == nil && canon != p {
		if f.seen["canon:"+canon] {
			return
		}
		f.seen["canon:"+canon] = true
	} else {
		f.seen["canon:"+p] = true
	}
	by, _ := f.inside(e.Exe)
	f.out = append(f.out, Missing{Path: p, Errno: e.Errno, Syscall: e.Syscall, By: by})
}

// list is the paths found, sorted.
func (f *finder) list() []Missing {
	sort.SliceStable(f.out, func(i, j int) bool { return f.out[i].Path < f.out[j].Path })
	return f.out
}

// makeWorkdir creates the working directory dir inside the extracted
// root when the archive lacks it, as a container runtime does for
// WORKDIR. It never follows a symlink of the archive: at one it stops
// (the chdir inside the chroot follows it there, confined to the root).
func makeWorkdir(root, dir string) error {
	p := root
	for _, c := range strings.Split(strings.Trim(dir, "/"), "/") {
		if c == "" { // dir is clean: only "/" has an empty component
			continue
		}
		p = filepath.Join(p, c)
		st, err := os.Lstat(p)
		switch {
		case err == nil && st.IsDir():
			continue
		case err == nil:
			return nil // a symlink or a file: the chdir decides
		case os.IsNotExist(err):
			if err := os.Mkdir(p, 0o755); err != nil {
				return errors.Wrapf(err, "creating the working directory %s in the rootfs", dir)
			}
		default:
			return errors.Wrapf(err, "creating the working directory %s in the rootfs", dir)
		}
	}
	return nil
}
