package verify_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scratchpack/scratchpack"
	"github.com/scratchpack/scratchpack/collect/tracer"
	"github.com/scratchpack/scratchpack/internal/testenv"
	"github.com/scratchpack/scratchpack/verify"
)

// dropperData is the file the dropper opens: the host has it, the
// image does not.
const dropperData = "/etc/hostname"

// dropperArchive compiles the dropper (testdata/dropper.c: it drops to
// uid 65534 without exec, then opens the file it is given) and packs it, with what it needs
// but dropperData, as scratchpack does.
func dropperArchive(t *testing.T) (archive, prog string) {
	t.Helper()
	testenv.Need(t, "gcc")
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	prog = filepath.Join(dir, "dropper")
	if out, err := exec.Command("gcc", "-o", prog, "testdata/dropper.c").CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	lst := filepath.Join(dir, "dropper.lst")
	os.WriteFile(lst, []byte(prog+"\n"), 0o644)
	l, err := scratchpack.List(context.Background(), scratchpack.ListOptions{Lists: []string{lst}, ResolveDeps: true})
	if err != nil {
		t.Fatal(err)
	}
	if l.Lookup(dropperData) != nil {
		t.Fatalf("%s is in the list", dropperData)
	}
	archive = filepath.Join(dir, "rootfs.tar.gz")
	if _, err := scratchpack.Pack(context.Background(), l, scratchpack.PackOptions{Output: archive}); err != nil {
		t.Fatal(err)
	}
	return archive, prog
}

// TestVerifyPrivilegeDrop verifies, under docker's default capabilities
// (no CAP_SYS_PTRACE, no CAP_SYS_ADMIN: a `RUN scratchpack verify` in a
// docker build), an image that lacks a file a worker opens after it
// dropped privileges. The ptrace collector names the file and the
// program; strace cannot read the worker's calls, and verify says so:
// a warning per process (pid, program, uid, count), Result.Unreadable,
// and with Strict an error. Before, strace's unread calls were dropped
// and nothing was named; and verify did not run at all without
// CAP_SYS_ADMIN (the /proc mount): NoProc is a warning now.
func TestVerifyPrivilegeDrop(t *testing.T) {
	testenv.Need(t, "strace", "gcc")
	if !testenv.UnderDockerCaps(t, "TestVerifyPrivilegeDrop") {
		return
	}
	archive, prog := dropperArchive(t)
	for _, tc := range []struct {
		name      string
		collector tracer.Collector
		strict    bool
		// named: the missing file is named; unread: the worker's calls are
		// counted and warned about (or, strict, an error)
		named, unread bool
	}{
		{"ptrace", tracer.Ptrace, false, true, false},
		{"ptrace strict", tracer.Ptrace, true, true, false},
		{"strace", tracer.Strace, false, false, true},
		{"strace strict", tracer.Strace, true, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var warns []error
			r, err := verify.Verify(context.Background(), verify.Options{
				Archive: archive, Command: []string{prog, dropperData},
				Collector: tc.collector, Strict: tc.strict, Launcher: launcher(t),
				Warn: func(err error) { warns = append(warns, err) },
			})
			var unreadWarns []string
			for _, w := range warns {
				var ue *tracer.UnreadableError
				switch {
				case errors.As(w, &ue):
					unreadWarns = append(unreadWarns, w.Error())
				case w != verify.NoProcWarning:
					t.Errorf("warning: %v", w)
				}
			}
			if tc.unread && tc.strict {
				var ue *tracer.UnreadableError
				if !errors.As(err, &ue) || !ue.Strict || len(ue.Processes) != 1 || ue.Processes[0].UID != 65534 ||
					!strings.Contains(err.Error(), "--strict: ") || !strings.Contains(err.Error(), verify.StrictOutcome) ||
					!strings.Contains(err.Error(), "--collector ptrace") {
					t.Fatalf("strict: %v (%+v)", err, r)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%+v", r)
			if r.Match || r.Host.ExitCode != 0 || r.Image.ExitCode != 1 || r.Collector != tc.collector {
				t.Errorf("expected a mismatch (host 0, image 1) by %s: %+v", tc.collector, r)
			}
			if !r.NoProc {
				t.Errorf("under docker's capabilities the rootfs had a /proc: %+v", r)
			}
			var named *verify.Missing
			for i, m := range r.Missing {
				if m.Path == dropperData {
					named = &r.Missing[i]
				}
			}
			switch {
			case tc.named && (named == nil || named.By != prog || named.Errno != "ENOENT"):
				t.Errorf("%s not named as missing, needed by %s: %+v", dropperData, prog, r.Missing)
			case !tc.named && named != nil:
				t.Errorf("strace read the worker's call after all: %+v (the test shows nothing)", named)
			}
			if !tc.unread {
				if len(r.Unreadable) > 0 || len(unreadWarns) > 0 {
					t.Errorf("unread calls under %s: %+v %q", tc.collector, r.Unreadable, unreadWarns)
				}
				return
			}
			if len(r.Unreadable) != 1 || len(unreadWarns) != 1 {
				t.Fatalf("unread: %+v, warnings %q (expected the worker, once)", r.Unreadable, unreadWarns)
			}
			u := r.Unreadable[0]
			if u.UID != 65534 || u.Command != prog || u.Count < 1 || u.Pid <= 0 || u.Where != "" {
				t.Errorf("the worker: %+v", u)
			}
			for _, want := range []string{"uid 65534", prog, "could not be read", "--collector ptrace", "--cap-add SYS_PTRACE"} {
				if !strings.Contains(unreadWarns[0], want) {
					t.Errorf("warning %q lacks %q", unreadWarns[0], want)
				}
			}
		})
	}
}

// TestVerifyCollectors: each collector verifies a good image (OK) and
// names the library a bad one lacks; fanotify, which sees no failed
// lookup, and an unknown name are refused.
func TestVerifyCollectors(t *testing.T) {
	need(t)
	good, bad := fortuneArchive(t, ""), fortuneArchive(t, "librecode")
	for _, c := range []tracer.Collector{tracer.Ptrace, tracer.Strace, ""} {
		name := string(c)
		if name == "" {
			name = "default"
		}
		t.Run(name, func(t *testing.T) {
			o := verify.Options{Archive: good, Command: []string{"/usr/games/fortune"}, Collector: c, Launcher: launcher(t)}
			r, err := verify.Verify(context.Background(), o)
			if err != nil || !r.Match || r.Image.Stdout == "" || r.NoProc || len(r.Unreadable) > 0 {
				t.Fatalf("good rootfs: %v %+v", err, r)
			}
			want := c
			if want == "" {
				want = tracer.Strace
			}
			if r.Collector != want {
				t.Errorf("collector %q, want %q", r.Collector, want)
			}
			o.Archive = bad
			if r, err = verify.Verify(context.Background(), o); err != nil {
				t.Fatal(err)
			}
			found := false
			for _, m := range r.Missing {
				found = found || strings.HasSuffix(m.Path, "/librecode.so.0") && m.By == "/usr/games/fortune"
			}
			if r.Match || !found {
				t.Errorf("bad rootfs: %+v", r)
			}
		})
	}
	for _, c := range []tracer.Collector{tracer.Fanotify, "dtrace"} {
		_, err := verify.Verify(context.Background(), verify.Options{Archive: good, Command: []string{"/usr/games/fortune"}, Collector: c})
		if err == nil || !strings.Contains(err.Error(), "ptrace or strace") {
			t.Errorf("collector %q: %v", c, err)
		}
	}
}
