package upx

import (
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pkg/errors"

	"github.com/scratchpack/scratchpack/filelist"
	"github.com/scratchpack/scratchpack/internal/rootpath"
	"github.com/scratchpack/scratchpack/internal/sandbox"
)

// DefaultArgs are upx's arguments unless told otherwise.
var DefaultArgs = []string{"-9", "--lzma"}

// Options configure the stage.
type Options struct {
	// Path of upx (default: upx, then upx-ucl, on PATH).
	Path string
	// Args for upx (default DefaultArgs).
	Args []string
	// Exclude: files never packed.
	Exclude []filelist.Pattern
	// CacheDir holds packed results (default $XDG_CACHE_HOME or
	// ~/.cache, /scratchpack/upx).
	CacheDir string
	// Jobs packing in parallel (default the number of CPUs).
	Jobs int
	// NoCheck skips running the packed programs (not recommended).
	NoCheck bool
	// CheckTimeout bounds each start check (default 10s).
	CheckTimeout time.Duration
}

// File is the outcome for one executable.
type File struct {
	Path   string `json:"path"`
	Before int64  `json:"before"`
	After  int64  `json:"after"` // == Before when the original is kept
	Packed bool   `json:"packed"`
	Cached bool   `json:"cached,omitempty"`
	// Why the original was kept: upx refused, it gained nothing, the
	// packed program did not start.
	Why string `json:"why,omitempty"`
}

// Result of the stage.
type Result struct {
	Version string `json:"upx"`
	Files   []File `json:"files"`
	// Stage is the directory of the packed copies: entries point at it
	// until the archive is written; Cleanup removes it.
	Stage string `json:"-"`
}

// Cleanup removes the staged copies.
func (r *Result) Cleanup() {
	if r != nil && r.Stage != "" {
		os.RemoveAll(r.Stage)
	}
}

// ErrNoUPX is returned when upx cannot be found.
var ErrNoUPX = errors.New("upx is not installed: install it (Debian 11: apt-get install upx-ucl; Alpine: apk add upx) or give --upx-path")

// Pack packs the candidate executables of l, pointing their entries at
// the packed copies (Entry.Content, Entry.Size). root is the host
// directory the list's files are under.
func Pack(ctx context.Context, l *filelist.List, opts Options) (*Result, error) {
	bin, err := findUPX(opts.Path)
	if err != nil {
		return nil, err
	}
	if opts.Args == nil {
		opts.Args = DefaultArgs
	}
	if opts.Jobs <= 0 {
		opts.Jobs = runtime.NumCPU()
	}
	if opts.CheckTimeout <= 0 {
		opts.CheckTimeout = 10 * time.Second
	}
	version, err := upxVersion(bin)
	if err != nil {
		return nil, err
	}
	if opts.CacheDir == "" {
		opts.CacheDir = defaultCache()
	}
	if err := os.MkdirAll(opts.CacheDir, 0o755); err != nil {
		return nil, errors.Wrap(err, "creating the UPX cache")
	}
	stage, err := os.MkdirTemp("", "scratchpack-upx-")
	if err != nil {
		return nil, errors.Wrap(err, "creating the UPX staging directory")
	}
	res := &Result{Version: version, Stage: stage}
	host := func(p string) string {
		if l.Root == "/" || l.Root == "" {
			return p
		}
		return strings.TrimRight(l.Root, "/") + p
	}
	var cands []*filelist.Entry
	for _, e := range l.Entries {
		if e.Kind != filelist.File || e.Data != nil {
			continue
		}
		if why := skipReason(e, host(e.Path), opts.Exclude); why != "" {
			continue
		}
		cands = append(cands, e)
	}
	files := make([]File, len(cands))
	staged := make([]string, len(cands))
	var wg sync.WaitGroup
	sem := make(chan struct{}, opts.Jobs)
	for i, e := range cands {
		wg.Add(1)
		go func(i int, e *filelist.Entry) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			files[i], staged[i] = packOne(ctx, bin, version, opts, host(e.Path), e, stage)
		}(i, e)
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		res.Cleanup()
		return nil, err
	}
	for i, e := range cands {
		if files[i].Packed {
			e.Content, e.Size = staged[i], files[i].After
		}
	}
	if !opts.NoCheck {
		if err := check(ctx, l, host, cands, files, opts.CheckTimeout); err != nil {
			res.Cleanup()
			return nil, err
		}
	}
	res.Files = files
	sort.Slice(res.Files, func(i, j int) bool { return res.Files[i].Path < res.Files[j].Path })
	return res, nil
}

func findUPX(p string) (string, error) {
	if p != "" {
		if _, err := exec.LookPath(p); err != nil {
			return "", errors.Wrapf(err, "--upx-path %s", p)
		}
		return p, nil
	}
	for _, n := range []string{"upx", "upx-ucl"} {
		if found, err := exec.LookPath(n); err == nil {
			return found, nil
		}
	}
	return "", ErrNoUPX
}

func upxVersion(bin string) (string, error) {
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		return "", errors.Wrapf(err, "running %s --version", bin)
	}
	first, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimSpace(first), nil
}

func defaultCache() string {
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "scratchpack", "upx")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".cache", "scratchpack", "upx")
	}
	return filepath.Join(os.TempDir(), "scratchpack-upx-cache")
}

// skipReason says why a file is not a candidate ("" for a candidate).
func skipReason(e *filelist.Entry, host string, exclude []filelist.Pattern) string {
	if e.Mode&04000 != 0 || e.Mode&02000 != 0 {
		return "setuid or setgid"
	}
	for _, p := range exclude {
		if p.Match(e.Path) {
			return "excluded by " + p.String()
		}
	}
	f, err := os.Open(host)
	if err != nil {
		return "unreadable"
	}
	defer f.Close()
	ef, err := elf.NewFile(f)
	if err != nil {
		return "not ELF"
	}
	defer ef.Close()
	interp := false
	for _, p := range ef.Progs {
		if p.Type == elf.PT_INTERP {
			interp = true
		}
	}
	soname, _ := ef.DynString(elf.DT_SONAME)
	switch {
	case ef.Type == elf.ET_EXEC:
	case ef.Type == elf.ET_DYN && interp && len(soname) == 0:
		// a PIE program (libc.so.6 has PT_INTERP too, but a soname)
	default:
		return "a shared library or the loader"
	}
	head := make([]byte, 4096)
	n, _ := f.ReadAt(head, 0)
	if bytes.Contains(head[:n], []byte("UPX!")) {
		return "already packed"
	}
	return ""
}

// packOne packs one file into the cache (or finds it there) and stages
// a copy. It never fails the stage: problems keep the original.
func packOne(ctx context.Context, bin, version string, opts Options, host string, e *filelist.Entry, stage string) (File, string) {
	f := File{Path: e.Path, Before: e.Size, After: e.Size}
	sum, err := hashFile(host)
	if err != nil {
		f.Why = "reading it: " + err.Error()
		return f, ""
	}
	key := sha256.Sum256([]byte(sum + "\x00" + version + "\x00" + strings.Join(opts.Args, "\x00")))
	cached := filepath.Join(opts.CacheDir, hex.EncodeToString(key[:16]))
	if _, err := os.Stat(cached); err == nil {
		f.Cached = true
	} else if _, err := os.Stat(cached + ".refused"); err == nil {
		why, _ := os.ReadFile(cached + ".refused")
		f.Why, f.Cached = string(why), true
		return f, ""
	} else {
		tmp := cached + ".tmp-" + sum[:8]
		os.Remove(tmp)
		args := append(append([]string{}, opts.Args...), "-q", "-o", tmp, host)
		var errb bytes.Buffer
		c := exec.CommandContext(ctx, bin, args...)
		c.Stderr, c.Stdout = &errb, io.Discard
		if err := c.Run(); err != nil {
			os.Remove(tmp)
			why := lastLine(errb.String())
			if why == "" {
				why = err.Error()
			}
			f.Why = "upx refused it: " + why
			if ctx.Err() == nil {
				os.WriteFile(cached+".refused", []byte(f.Why), 0o644)
			}
			return f, ""
		}
		if err := os.Rename(tmp, cached); err != nil {
			f.Why = "caching: " + err.Error()
			return f, ""
		}
	}
	st, err := os.Stat(cached)
	if err != nil {
		f.Why = "reading the packed copy: " + err.Error()
		return f, ""
	}
	if st.Size() >= e.Size {
		f.Why = "packing gains nothing"
		return f, ""
	}
	out := filepath.Join(stage, sum[:16]+"-"+filepath.Base(e.Path))
	if err := copyFile(cached, out, 0o755); err != nil {
		f.Why = "staging: " + err.Error()
		return f, ""
	}
	f.Packed, f.After = true, st.Size()
	return f, out
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	l := strings.TrimSpace(lines[len(lines)-1])
	if i := strings.Index(l, ": "); i >= 0 && strings.Contains(l[:i], "upx") {
		l = l[i+2:]
	}
	return l
}

func hashFile(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// check runs every packed program in a chroot made from the list (the
// packed copies in place of the originals) and keeps the original of
// each one that does not start: killed by a signal, or the loader's 127.
// It runs the program with --version, stdin closed and a clean
// environment: the point is that the UPX stub unpacks and hands over to
// the program, not what the program then does.
func check(ctx context.Context, l *filelist.List, host func(string) string, cands []*filelist.Entry, files []File, timeout time.Duration) error {
	var packed []int
	for i := range files {
		if files[i].Packed {
			packed = append(packed, i)
		}
	}
	if len(packed) == 0 {
		return nil
	}
	if os.Geteuid() != 0 {
		return errors.New("checking UPX-packed programs needs root (a chroot): run as root, or skip the check")
	}
	dir, err := os.MkdirTemp("", "scratchpack-upx-check-")
	if err != nil {
		return errors.Wrap(err, "creating the check root")
	}
	defer os.RemoveAll(dir)
	if err := assemble(l, host, dir); err != nil {
		return err
	}
	// A container has /proc; UPX's stub reads /proc/self/exe.
	return sandbox.WithProc(dir, func() error {
		for _, i := range packed {
			e := cands[i]
			ok, why := starts(ctx, dir, e.Path, timeout)
			if ok {
				continue
			}
			// keep the original
			files[i].Packed, files[i].After = false, files[i].Before
			files[i].Why = "the packed program did not start (" + why + "): kept the original"
			e.Content, e.Size = "", files[i].Before
		}
		return nil
	})
}

// assemble makes a root from the list: directories, links, and copies of
// the files (the staged copy when there is one).
func assemble(l *filelist.List, host func(string) string, dir string) error {
	for _, e := range l.Entries {
		target := filepath.Join(dir, e.Path)
		var err error
		switch e.Kind {
		case filelist.Dir:
			err = os.MkdirAll(target, 0o755)
		case filelist.Symlink:
			err = os.Symlink(e.Target, target)
		case filelist.Hardlink:
			err = os.Link(filepath.Join(dir, e.Target), target)
		case filelist.File:
			switch {
			case e.Data != nil:
				err = os.WriteFile(target, e.Data, os.FileMode(e.Mode&0o777))
			case e.Content != "":
				err = copyFile(e.Content, target, os.FileMode(e.Mode&0o777))
			default:
				// a copy, never a hardlink: the programs run as root in
				// this root, and must not be able to write the sources
				err = copyFile(host(e.Path), target, os.FileMode(e.Mode&0o777))
			}
		}
		if err != nil {
			return errors.Wrap(err, "making the root to check packed programs in")
		}
	}
	return nil
}

func starts(ctx context.Context, root, prog string, timeout time.Duration) (bool, string) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c := exec.CommandContext(ctx, prog, "--version")
	c.SysProcAttr = &syscall.SysProcAttr{Chroot: root, Setpgid: true}
	c.Dir = "/"
	c.Env = []string{"PATH=" + rootpath.DefaultPath}
	c.Stdout, c.Stderr = io.Discard, io.Discard
	err := c.Run()
	if ctx.Err() == context.DeadlineExceeded {
		return true, "" // it ran until stopped: the stub handed over
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok {
			if ws.Signaled() {
				return false, "killed by " + ws.Signal().String()
			}
			if ws.ExitStatus() == 127 {
				return false, "exit status 127"
			}
		}
		return true, ""
	}
	if err != nil {
		return false, err.Error()
	}
	return true, ""
}
