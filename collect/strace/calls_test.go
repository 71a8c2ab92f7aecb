package strace

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/pkg/errors"

	"github.com/scratchpack/scratchpack/internal/testenv"
)

func TestCountCalls(t *testing.T) {
	for _, tt := range []struct {
		name    string
		log     string
		skip    []string
		counts  string // "name:n ..." sorted
		skipped int
		unnamed int
	}{
		{
			name: "the launcher's calls and its thread's are skipped",
			log: `100 execve("/sp", ["sp", "__chroot-exec"], 0x1 /* 1 vars */) = 0
100 brk(NULL)                         = 0x1
100 clone3({flags=CLONE_VM|CLONE_THREAD, exit_signal=0}, 88) = 101
101 futex(0x1, FUTEX_WAIT, 0, NULL <unfinished ...>
100 chroot("/r")                      = 0
100 execve("/usr/bin/app", ["app"], 0x1 /* 1 vars */ <unfinished ...>
101 <... futex resumed>)              = ?
101 +++ exited with 0 +++
100 <... execve resumed>)             = 0
100 getpid()                          = 100
100 fork()                            = 102
102 uname({sysname="Linux", ...})     = 0
102 +++ exited with 0 +++
100 exit_group(0)                     = ?
100 +++ exited with 0 +++
`,
			skip:    []string{"/sp"},
			counts:  "execve:1 exit_group:1 fork:1 getpid:1 uname:1", // (the execve that succeeds is the app's)
			skipped: 5,
		},
		{
			// build --from's init forks the command (Go's vfork-like
			// clone), and on a loaded machine strace writes the child's
			// lines, its execve and its exit before the parent's clone
			// returns: the child's calls before its execve are still the
			// launcher's, as when the lines come in order (next case)
			name: "a child that execs and exits before its parent's clone returns",
			log: `10 execve("/sp", ["sp", "__container-init"], 0x1 /* 1 vars */) = 0
10 clone(child_stack=NULL, flags=CLONE_VM|CLONE_VFORK|SIGCHLD <unfinished ...>
11 rt_sigaction(SIGHUP, {sa_handler=SIG_DFL, sa_mask=~[], sa_flags=SA_RESTORER}, NULL, 8) = 0
11 chroot("/r")                      = 0
11 execve("/bin/true", ["true"], 0x1 /* 1 vars */) = 0
11 brk(NULL)                         = 0x1
11 exit_group(0)                     = ?
11 +++ exited with 0 +++
10 <... clone resumed>, parent_tid=[7]) = 11
10 wait4(-1, NULL, 0, NULL)          = 11
`,
			skip:    []string{"/sp"},
			counts:  "brk:1 execve:1 exit_group:1",
			skipped: 5,
		},
		{
			name: "the same lines in order",
			log: `10 execve("/sp", ["sp", "__container-init"], 0x1 /* 1 vars */) = 0
10 clone(child_stack=NULL, flags=CLONE_VM|CLONE_VFORK|SIGCHLD, parent_tid=[7]) = 11
11 rt_sigaction(SIGHUP, {sa_handler=SIG_DFL, sa_mask=~[], sa_flags=SA_RESTORER}, NULL, 8) = 0
11 chroot("/r")                      = 0
11 execve("/bin/true", ["true"], 0x1 /* 1 vars */) = 0
11 brk(NULL)                         = 0x1
11 exit_group(0)                     = ?
11 +++ exited with 0 +++
10 wait4(-1, NULL, 0, NULL)          = 11
`,
			skip:    []string{"/sp"},
			counts:  "brk:1 execve:1 exit_group:1",
			skipped: 5,
		},
		{
			// an unfinished execve is the new program's once it returns
			// (as a complete line is), the caller's when it fails
			name: "an execve interrupted by another process's line",
			log: `20 execve("/sp", ["sp"], 0x1 /* 1 vars */) = 0
20 clone(child_stack=NULL, flags=CLONE_VM|CLONE_VFORK|SIGCHLD <unfinished ...>
21 chroot("/r")                      = 0
21 execve("/bin/true", ["true"], 0x1 /* 1 vars */ <unfinished ...>
20 <... clone resumed>, parent_tid=[7]) = 21
21 <... execve resumed>)             = 0
21 brk(NULL)                         = 0x1
21 execve("/nope", ["nope"], 0x1 /* 1 vars */ <unfinished ...>
20 getpid()                          = 20
21 <... execve resumed>)             = -1 ENOENT (No such file or directory)
21 exit_group(0)                     = ?
21 +++ exited with 0 +++
`,
			skip:    []string{"/sp"},
			counts:  "brk:1 execve:2 exit_group:1",
			skipped: 4,
		},
		{
			name: "a thread's execve: the process runs the new program",
			log: `30 execve("/sp", ["sp"], 0x1 /* 1 vars */) = 0
30 clone3({flags=CLONE_VM|CLONE_THREAD, exit_signal=0}, 88) = 31
31 execve("/app", ["app"], 0x1 /* 1 vars */ <unfinished ...>
30 +++ superseded by execve in pid 31 +++
30 <... execve resumed>)             = 0
30 brk(NULL)                         = 0x1
30 exit_group(0)                     = ?
30 +++ exited with 0 +++
`,
			skip:    []string{"/sp", "/app"},
			counts:  "",
			skipped: 5,
		},
		{
			name: "a child's calls before its parent's clone returns",
			log: `200 execve("/bin/sh", ["sh"], 0x1 /* 1 vars */) = 0
200 clone(child_stack=NULL, flags=CLONE_CHILD_SETTID|SIGCHLD <unfinished ...>
201 getuid()                          = 0
200 <... clone resumed>, child_tidptr=0x7f) = 201
201 execve("/sp", ["sp"], 0x1 /* 1 vars */) = 0
201 brk(NULL)                         = 0x1
201 +++ exited with 0 +++
200 wait4(-1, NULL, 0, NULL)          = 201
`,
			skip:    []string{"/sp"},
			counts:  "clone:1 execve:1 getuid:1 wait4:1",
			skipped: 2,
		},
		{
			name: "without skip everything counts; failed calls count; unnamed calls do not",
			log: `300 execve("/bin/x", ["x"], 0x1 /* 1 vars */) = 0
300 openat(AT_FDCWD</a = b>, "/a = b", O_RDONLY) = 3</a = b>
300 openat(AT_FDCWD</>, "/nope", O_RDONLY) = -1 ENOENT (No such file or directory)
300 syscall_0x3e8(0x1, 0x2)           = -1 ENOSYS (Function not implemented)
300 ???( <unfinished ...>
300 --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED} ---
300 rt_sigreturn({mask=[]})           = 0
300 +++ exited with 0 +++
`,
			counts:  "execve:1 openat:2 rt_sigreturn:1",
			unnamed: 2,
		},
		{
			name:   "a log without -f",
			log:    "execve(\"/bin/true\", [\"true\"], 0x1 /* 1 vars */) = 0\nbrk(NULL) = 0x1\nexit_group(0) = ?\n+++ exited with 0 +++\n",
			skip:   []string{"/sp"},
			counts: "brk:1 execve:1 exit_group:1",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := CountCallsIn(strings.NewReader(tt.log), "test.log", CallOptions{Skip: tt.skip, Warn: func(err error) { t.Errorf("warning: %v", err) }})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, n := range c.Names() {
				got = append(got, n+":"+strconv.Itoa(c.Counts[n]))
			}
			if strings.Join(got, " ") != tt.counts || c.Skipped != tt.skipped || c.Unnamed != tt.unnamed {
				t.Errorf("counts %q skipped %d unnamed %d, want %q %d %d", strings.Join(got, " "), c.Skipped, c.Unnamed, tt.counts, tt.skipped, tt.unnamed)
			}
		})
	}
}

func TestCountCallsErrors(t *testing.T) {
	if _, err := CountCallsIn(strings.NewReader(""), "empty.log", CallOptions{}); !errors.Is(err, ErrEmpty) {
		t.Errorf("empty log: %v", err)
	}
	if _, err := CountCallsIn(strings.NewReader("hello world\n"), "x.log", CallOptions{}); !errors.Is(err, ErrNotStrace) {
		t.Errorf("not a log: %v", err)
	}
	var warns []string
	_, err := CountCallsIn(strings.NewReader("1 getpid() = 1\n1 (((\n"), "bad.log", CallOptions{Warn: func(err error) { warns = append(warns, err.Error()) }})
	if err != nil || len(warns) != 1 || !strings.HasPrefix(warns[0], "bad.log:2: ") {
		t.Errorf("bad line: %v %q", err, warns)
	}
	// names strace never prints are not syscalls: never counted (they
	// would become profile entries), warned about once each
	warns = nil
	c, err := CountCallsIn(strings.NewReader("1 getpid() = 1\n1 getpid() = 1\n1 getuid() = 0\n1 hello(1) = 0\n1 hello(2) = 0\n"), "names.log", CallOptions{Warn: func(err error) { warns = append(warns, err.Error()) }})
	if err != nil || c.Counts["hello"] != 0 || c.Counts["getpid"] != 2 || len(warns) != 1 || !strings.Contains(warns[0], `unknown syscall "hello"`) {
		t.Errorf("unknown names: %v %v %q", err, c, warns)
	}
	// the parser's rule for a log that is mostly not strace output
	junk := "1 getpid() = 1\n" + strings.Repeat("1 foo_bar(2) = 0\n", 10)
	if _, err := CountCallsIn(strings.NewReader(junk), "junk.log", CallOptions{}); !errors.As(err, new(*JunkError)) {
		t.Errorf("mostly junk: %v, want a *JunkError", err)
	}
	if _, err := CountCalls(filepath.Join(t.TempDir(), "missing.log"), CallOptions{}); err == nil || !strings.Contains(err.Error(), "missing.log") {
		t.Errorf("missing file: %v", err)
	}
}

// TestCountCallsMatchesStrace traces a real program with threads, a
// child and a shell (strace -f -C: the log, then strace's own count of
// every syscall) and checks that CountCalls finds exactly strace's counts
// (and the calls that never return, which strace does not count).
func TestCountCallsMatchesStrace(t *testing.T) {
	testenv.Need(t, "strace", "gcc")
	dir := t.TempDir()
	src := filepath.Join(dir, "p.c")
	os.WriteFile(src, []byte(`#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
static void *run(void *a) { unsigned c, n; syscall(SYS_getcpu, &c, &n, 0); return a; }
int main(void) {
	pthread_t th[4];
	for (int i = 0; i < 4; i++) pthread_create(&th[i], 0, run, 0);
	for (int i = 0; i < 4; i++) pthread_join(th[i], 0);
	if (fork() == 0) { execl("/bin/sh", "sh", "-c", "echo hi > /dev/null; uname > /dev/null", (char *)0); _exit(1); }
	wait(0);
	return system("true");
}
`), 0o644)
	prog := filepath.Join(dir, "p")
	if out, err := exec.Command("gcc", "-O1", "-pthread", "-o", prog, src).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	log := filepath.Join(dir, "p.log")
	if out, err := exec.Command("strace", "-f", "-y", "-C", "-o", log, prog).CombinedOutput(); err != nil {
		t.Fatalf("strace: %v\n%s", err, out)
	}
	data, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	trace, summary, ok := strings.Cut(string(data), "% time")
	if !ok {
		t.Fatalf("no summary in %s", log)
	}
	want := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(summary))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 5 || f[len(f)-1] == "total" || strings.HasPrefix(f[0], "-") {
			continue
		}
		n, err := strconv.Atoi(f[3])
		if err != nil {
			continue
		}
		want[f[len(f)-1]] = n
	}
	c, err := CountCallsIn(strings.NewReader(trace), log, CallOptions{Warn: func(err error) { t.Errorf("warning: %v", err) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(want) < 20 || want["getcpu"] != 4 {
		t.Fatalf("strace's summary looks wrong: %v", want)
	}
	for n, k := range want {
		if c.Counts[n] != k {
			t.Errorf("%s: counted %d, strace %d", n, c.Counts[n], k)
		}
	}
	for n := range c.Counts {
		// strace counts a call when it returns: exit and exit_group never do
		if _, ok := want[n]; !ok && n != "exit" && n != "exit_group" {
			t.Errorf("%s counted, not in strace's summary", n)
		}
	}
	if c.Counts["exit_group"] == 0 || c.Counts["exit"] == 0 {
		t.Errorf("the threads' exit and the processes' exit_group were not counted: %v", c.Counts)
	}
	// The shell's calls are the shell's: skipping /bin/sh leaves uname
	// (run by the shell's child, which execs uname) and drops sh's own.
	c2, err := CountCallsIn(strings.NewReader(trace), log, CallOptions{Skip: []string{"/bin/sh"}})
	if err != nil {
		t.Fatal(err)
	}
	if c2.Skipped == 0 || c2.Counts["getcpu"] != 4 {
		t.Errorf("skipping /bin/sh: skipped %d, counts %v", c2.Skipped, c2.Counts)
	}
}

func FuzzCountCalls(f *testing.F) {
	for _, s := range []string{
		"100 execve(\"/sp\", [\"sp\"], 0x1 /* 1 vars */) = 0\n100 clone3({flags=CLONE_VM}, 88) = 101\n101 getpid() = 1\n",
		"1 execve(\"/a\", [], 0x1 <unfinished ...>\n2 +++ superseded by execve in pid 1 +++\n1 <... execve resumed>) = 0\n",
		"1 fork() = 1\n1 fork() = 1\n1 +++ exited with 0 +++\n1 getpid() = 1\n",
		"???( <unfinished ...>\nsyscall_0x3e8() = 0\n",
		"1 clone( <unfinished ...>\n2 getuid() = 0\n1 <... clone resumed>) = 2\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, log string) {
		c, err := CountCallsIn(strings.NewReader(log), "fuzz.log", CallOptions{Skip: []string{"/sp", ""}})
		if err != nil {
			return
		}
		for n, k := range c.Counts {
			if k <= 0 || n == "" {
				t.Fatalf("count %q = %d", n, k)
			}
		}
	})
}
