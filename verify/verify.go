// Package verify proves that a rootfs archive runs a command: it
// extracts the archive into a fresh directory, runs the command there
// chrooted with a clean environment under strace, runs it on the host
// too, and compares. When they differ, it names each path the image run
// failed to find that exists on the host, with the program that asked
// for it, and the --include flags that would fix it.
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

	"github.com/scratchpack/scratchpack/collect/strace"
	"github.com/scratchpack/scratchpack/collect/tracer"
	"github.com/scratchpack/scratchpack/internal/rootpath"
	"github.com/scratchpack/scratchpack/internal/sandbox"
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
}

// ErrNeedsRoot is returned when verify cannot chroot.
var ErrNeedsRoot = errors.New("verify runs the command chrooted: run it as root (inside the builder container)")

// Verify runs the command in the archive's rootfs and on the host.
func Verify(ctx context.Context, o Options) (*Result, error) {
	if len(o.Command) == 0 {
		return nil, errors.New("no command: give it after --")
	}
	if os.Geteuid() != 0 {
		return nil, ErrNeedsRoot
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

	r := &Result{}
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
	var tres *tracer.Result
	// As in a container, the command sees a /proc (UPX-packed programs
	// need /proc/self/exe); it is mounted in a private namespace only.
	err = sandbox.WithProc(root, func() error {
		var err error
		tres, err = tracer.Run(ctx, tracer.Options{
			Command:  o.Command,
			Log:      log,
			Root:     root,
			Dir:      wd,
			Env:      env,
			Stdout:   &stdout,
			Stderr:   &stderr,
			Duration: o.Timeout,
			Launcher: o.Launcher,
			Strace:   o.Strace,
			Grace:    2 * time.Second,
		})
		return err
	})
	if err != nil {
		return nil, errors.WithMessage(err, "running the command in the rootfs")
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
	if r.Missing, err = missing(log, root); err != nil {
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

// missing reads the image run's trace: every path it failed to find
// (ENOENT) or to read (EACCES) inside the root that the host has.
func missing(log, root string) ([]Missing, error) {
	seen := map[string]bool{}
	var out []Missing
	inside := func(p string) (string, bool) {
		if p == root {
			return "/", true
		}
		if strings.HasPrefix(p, root+"/") {
			return p[len(root):], true
		}
		return "", false
	}
	err := strace.ParseFiles([]string{log}, strace.Options{Failed: true, Cwd: root}, func(e strace.Event) {
		if e.OK || (e.Errno != "ENOENT" && e.Errno != "EACCES") {
			return
		}
		switch e.Op {
		case strace.OpExec, strace.OpRead, strace.OpStat, strace.OpChdir, strace.OpList:
		default:
			return
		}
		p, ok := inside(e.Path)
		if !ok {
			return
		}
		p = filepath.Clean(p)
		for _, pre := range []string{"/proc", "/sys", "/dev"} {
			if p == pre || strings.HasPrefix(p, pre+"/") {
				return
			}
		}
		if seen[p] {
			return
		}
		if _, err := os.Lstat(p); err != nil {
			return // the host does not have it either: a search path
		}
		seen[p] = true
		// /lib/x and /usr/lib/x are one file on merged-/usr hosts
		if canon, err := filepath.EvalSymlinks(p); err == nil && canon != p {
			if seen["canon:"+canon] {
				return
			}
			seen["canon:"+canon] = true
		} else {
			seen["canon:"+p] = true
		}
		by, _ := inside(e.Exe)
		out = append(out, Missing{Path: p, Errno: e.Errno, Syscall: e.Syscall, By: by})
	})
	if err != nil {
		return nil, errors.WithMessage(err, "reading the trace of the image run")
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
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
