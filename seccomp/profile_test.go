package seccomp

import (
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/scratchpack/scratchpack/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestNewGolden: the profile of a few calls, byte for byte; the order of
// the calls given and duplicates do not change it.
func TestNewGolden(t *testing.T) {
	calls := []string{"write", "exit_group", "read", "execve", "brk", "mmap", "getcpu", "read"}
	p, err := New(calls, "amd64")
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "amd64.json")
	if *update {
		os.WriteFile(golden, got, 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("profile differs from %s (go test -update rewrites it):\n%s", golden, got)
	}
	slices.Reverse(calls)
	p2, _ := New(calls, "amd64")
	got2, _ := p2.Marshal()
	if string(got2) != string(got) {
		t.Error("the order of the calls changed the profile")
	}
}

func TestNew(t *testing.T) {
	for _, tt := range []struct {
		name     string
		calls    []string
		arch     string
		native   string
		sub      []string
		runtime  bool // runtime names added
		errMatch string
	}{
		{"x86_64", []string{"read", "write"}, "amd64", "SCMP_ARCH_X86_64", []string{}, true, ""},
		{"a 32-bit process seen (x86 names)", []string{"read", "mmap2", "_llseek"}, "amd64", "SCMP_ARCH_X86_64", []string{"SCMP_ARCH_X86"}, true, ""},
		{"arm64", []string{"read"}, "arm64", "SCMP_ARCH_AARCH64", []string{}, true, ""},
		{"unknown architecture", []string{"read"}, "mips", "", nil, false, "no seccomp architecture for mips"},
		{"no calls", nil, "amd64", "", nil, false, "no syscall"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := New(tt.calls, tt.arch)
			if tt.errMatch != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errMatch) {
					t.Fatalf("error %v, want %q", err, tt.errMatch)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.DefaultAction != "SCMP_ACT_ERRNO" || p.DefaultErrnoRet == nil || *p.DefaultErrnoRet != 1 {
				t.Errorf("default action %s %v, want SCMP_ACT_ERRNO with EPERM", p.DefaultAction, p.DefaultErrnoRet)
			}
			if len(p.ArchMap) != 1 || p.ArchMap[0].Architecture != tt.native || !slices.Equal(p.ArchMap[0].SubArchitectures, tt.sub) {
				t.Errorf("archMap %+v, want %s %v", p.ArchMap, tt.native, tt.sub)
			}
			// every runtime call is allowed once, by the traced rule or the runtime one
			allowed := map[string]int{}
			for _, s := range p.Syscalls {
				if !slices.IsSorted(s.Names) || s.Action != "SCMP_ACT_ALLOW" {
					t.Errorf("rule %+v: unsorted or not an allow", s)
				}
				for _, n := range s.Names {
					allowed[n]++
				}
			}
			for n := range runtimeNames() {
				if allowed[n] != 1 {
					t.Errorf("%s allowed %d times", n, allowed[n])
				}
			}
			for _, n := range tt.calls {
				if allowed[n] != 1 {
					t.Errorf("traced %s allowed %d times", n, allowed[n])
				}
			}
		})
	}
}

// TestFromLog traces a real program with every syscall, makes its
// profile and writes it: the calls it made are allowed, one it never made
// is not, and the file is valid JSON written in place of nothing else.
func TestFromLog(t *testing.T) {
	testenv.Need(t, "strace", "gcc")
	dir := t.TempDir()
	src := filepath.Join(dir, "p.c")
	os.WriteFile(src, []byte(`#define _GNU_SOURCE
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void) { unsigned c, n; syscall(SYS_getcpu, &c, &n, 0); printf("%d\n", getppid() > 0); return 0; }
`), 0o644)
	prog := filepath.Join(dir, "p")
	if out, err := exec.Command("gcc", "-O1", "-o", prog, src).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	log := filepath.Join(dir, "p.log")
	if out, err := exec.Command("strace", "-f", "-o", log, prog).CombinedOutput(); err != nil {
		t.Fatalf("strace: %v\n%s", err, out)
	}
	r, err := FromLog(log, Options{Warn: func(err error) { t.Errorf("warning: %v", err) }})
	if err != nil {
		t.Fatal(err)
	}
	own := r.Profile.Syscalls[0].Names
	for _, n := range []string{"execve", "getcpu", "getppid", "write", "exit_group", "openat", "mmap"} {
		if !slices.Contains(own, n) {
			t.Errorf("%s made, not in the profile's own calls %q", n, own)
		}
	}
	if slices.Contains(own, "sysinfo") || slices.Contains(r.Profile.Syscalls[1].Names, "sysinfo") {
		t.Error("sysinfo allowed, never made")
	}
	if r.Traced != len(own) || r.Total() != r.Traced+len(r.Profile.Syscalls[1].Names) {
		t.Errorf("counts: traced %d runtime %d", r.Traced, r.Runtime)
	}
	out := filepath.Join(dir, "profile.json")
	if err := r.Profile.Write(out); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(out)
	var back Profile
	if err := json.Unmarshal(data, &back); err != nil || back.DefaultAction != "SCMP_ACT_ERRNO" {
		t.Errorf("written profile: %v\n%s", err, data)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 4 { // p.c, p, p.log, profile.json: no temporary file left
		t.Errorf("files left: %v", entries)
	}
	if err := r.Profile.Write(filepath.Join(dir, "no/such/dir/p.json")); err == nil || !strings.Contains(err.Error(), "no/such/dir/p.json") {
		t.Errorf("writing into a missing directory: %v", err)
	}
}
