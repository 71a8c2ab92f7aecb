package scratchpack

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/scratchpack/scratchpack/collect/tracer"
	"github.com/scratchpack/scratchpack/internal/testenv"
)

// TestBuildSeccompProfile builds the musl program of an Alpine-style root
// (run through chroot(1)) with and without --seccomp-profile: tracing
// every syscall lists the same files, and the profile holds the program's
// calls (musl's open and writev), not those of chroot(1) that launched it.
func TestBuildSeccompProfile(t *testing.T) {
	needTools(t, "strace", "chroot", "tar")
	m := testenv.NewMuslRoot(t)
	_, plain := build(t, BuildOptions{Command: []string{m.App}, Root: m.Dir})
	profile := filepath.Join(t.TempDir(), "app.json")
	root, r := build(t, BuildOptions{Command: []string{m.App}, Root: m.Dir, SeccompProfile: profile})
	if got := runIn(t, root, "", m.App); got != "answer 42 alpine 7\n" {
		t.Errorf("the image printed %q", got)
	}
	var a, b []string
	for _, e := range plain.List.Entries {
		a = append(a, e.Path)
	}
	for _, e := range r.List.Entries {
		b = append(b, e.Path)
	}
	if !slices.Equal(a, b) {
		t.Errorf("the lists differ:\n filtered trace %q\n every syscall   %q", a, b)
	}
	if r.Seccomp == nil || r.Seccomp.Calls.Skipped == 0 {
		t.Fatalf("no profile result, or chroot's calls were not skipped: %+v", r.Seccomp)
	}
	data, err := os.ReadFile(profile)
	if err != nil {
		t.Fatal(err)
	}
	p := r.Seccomp.Profile
	own := p.Syscalls[0].Names
	for _, n := range []string{"open", "writev", "execve", "exit_group", "arch_prctl", "set_tid_address"} {
		if !slices.Contains(own, n) {
			t.Errorf("%s: made by the program, not in %q", n, own)
		}
	}
	for _, n := range []string{"chroot", "openat", "newfstatat"} { // chroot(1)'s, not musl's
		if slices.Contains(own, n) {
			t.Errorf("%s: made by chroot(1), in the program's calls %q", n, own)
		}
	}
	want, _ := p.Marshal()
	if string(data) != string(want) {
		t.Errorf("the file is not the profile:\n%s", data)
	}
	rep, err := os.ReadFile(r.Report)
	if err != nil || !strings.Contains(string(rep), `"traced_syscalls": `+strconv.Itoa(r.Seccomp.Traced)) {
		t.Errorf("the report does not give the profile's counts: %v\n%s", err, rep)
	}
	// A second build writes the same bytes.
	profile2 := filepath.Join(t.TempDir(), "app.json")
	build(t, BuildOptions{Command: []string{m.App}, Root: m.Dir, SeccompProfile: profile2})
	if data2, _ := os.ReadFile(profile2); string(data2) != string(data) {
		t.Errorf("two builds, two profiles:\n%s\n%s", data, data2)
	}
}

func TestSeccompProfileValidate(t *testing.T) {
	for _, tt := range []struct {
		name string
		o    BuildOptions
		err  string
	}{
		{"fanotify", BuildOptions{Command: []string{"true"}, SeccompProfile: "p.json", Pack: PackOptions{Output: "a.tar.gz"}, Trace: tracer.Options{Collector: tracer.Fanotify}}, "needs the ptrace or strace collector"},
		{"the archive", BuildOptions{Command: []string{"true"}, SeccompProfile: "a.tar.gz", Pack: PackOptions{Output: "a.tar.gz"}}, "also another output"},
		{"fine", BuildOptions{Command: []string{"true"}, SeccompProfile: "p.json", Pack: PackOptions{Output: "a.tar.gz"}}, ""},
	} {
		err := tt.o.Validate()
		if tt.err == "" && err != nil || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.err)
		}
	}
}
