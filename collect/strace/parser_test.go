package strace

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

const samples = "testdata/samples"

func dump(t *testing.T, files []string, opts Options) (string, []error) {
	t.Helper()
	var b strings.Builder
	var warns []error
	opts.Warn = func(err error) { warns = append(warns, err) }
	if opts.Cwd == "" {
		opts.Cwd = "/CWD"
	}
	opts.Unreadable = func(u Unread) {
		fmt.Fprintf(&b, "%d %s unreadable exe %q uid %d line %d\n", u.Pid, u.Syscall, u.Exe, u.UID, u.Line)
	}
	err := ParseFiles(files, opts, func(e Event) {
		fmt.Fprintf(&b, "%d %s %s %q", e.Pid, e.Syscall, e.Op, e.Path)
		if e.Path2 != "" {
			fmt.Fprintf(&b, " -> %q", e.Path2)
		}
		if !e.OK {
			fmt.Fprintf(&b, " %s", e.Errno)
		}
		if e.Dir {
			b.WriteString(" dir")
		}
		if e.NoFollow {
			b.WriteString(" nofollow")
		}
		b.WriteByte('\n')
	})
	if err != nil {
		warns = append(warns, err)
	}
	for _, w := range warns {
		fmt.Fprintf(&b, "warning: %v\n", w)
	}
	return b.String(), warns
}

// TestGoldenSamples parses every real strace 6.1 sample and compares the
// events with testdata/golden. Run with -update after checking a change.
func TestGoldenSamples(t *testing.T) {
	logs, _ := filepath.Glob(filepath.Join(samples, "*.log"))
	if len(logs) < 60 {
		t.Fatalf("found %d sample logs in %s", len(logs), samples)
	}
	runs := map[string][]string{}
	for _, l := range logs {
		runs[strings.TrimSuffix(filepath.Base(l), ".log")] = []string{l}
	}
	for _, dir := range []string{"ff", "ff_ttt"} {
		files, _ := filepath.Glob(filepath.Join(samples, dir, "trace.*"))
		runs[dir] = files
	}
	for name, files := range runs {
		t.Run(name, func(t *testing.T) {
			got, _ := dump(t, files, Options{Failed: true})
			golden := filepath.Join("testdata", "golden", name+".events")
			if *update {
				os.MkdirAll(filepath.Dir(golden), 0o755)
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if got != string(want) {
				t.Errorf("events differ from %s (go test -update rewrites it):\n%s", golden, firstDiff(string(want), got))
			}
		})
	}
}

func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			return fmt.Sprintf("line %d:\nwant %s\n got %s", i+1, a, b)
		}
	}
	return ""
}

var pidRe = regexp.MustCompile(`(?m)^\d+ `)

// TestOutputModesAgree: the same program traced with -y, -yy, -x, -xx,
// --strings-in-hex=non-ascii-chars, -X raw, -X verbose, -v, -s 8 and
// -s 4096 gives the same events (pids and the work directory aside).
func TestOutputModesAgree(t *testing.T) {
	norm := func(s string) string {
		s = pidRe.ReplaceAllString(s, "PID ")
		s = strings.ReplaceAll(s, "/tmp/research-strace", "/tmp/strace-examples")
		s = strings.ReplaceAll(s, `/play/." dir`, `/play" dir`) // getdents of "." with and without -y
		// These runs started one directory down: execve("../bin/paths").
		s = strings.ReplaceAll(s, `"/CWD/../bin/paths"`, `"/CWD/bin/paths"`)
		// execveat(6, "true") where fd 6 is openat("/bin"): -y shows the
		// canonical /usr/bin, the fd table the name it was opened with.
		s = strings.ReplaceAll(s, `execveat exec "/bin/true"`, `execveat exec "/usr/bin/true"`)
		return s
	}
	base, warns := dump(t, []string{filepath.Join(samples, "paths_y.log")}, Options{})
	if len(warns) > 0 {
		t.Fatalf("paths_y.log: %v", warns)
	}
	base = norm(base)
	if n := strings.Count(base, "\n"); n < 60 {
		t.Fatalf("paths_y.log gave only %d events", n)
	}
	for _, mode := range []string{"default", "yy", "x", "xx", "xnonasciichars", "Xraw", "Xverbose", "v", "s8", "s4096"} {
		got, warns := dump(t, []string{filepath.Join(samples, "paths_"+mode+".log")}, Options{})
		if len(warns) > 0 {
			t.Errorf("paths_%s.log: %v", mode, warns)
		}
		if g := norm(got); g != base {
			t.Errorf("paths_%s.log differs from paths_y.log:\n%s", mode, firstDiff(base, g))
		}
	}
}

func events(t *testing.T, files []string, opts Options) []Event {
	t.Helper()
	var out []Event
	if opts.Cwd == "" {
		opts.Cwd = "/CWD"
	}
	if err := ParseFiles(files, opts, func(e Event) { out = append(out, e) }); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCloneFS checks the cwd semantics verified in clonefs_y.log: a
// CLONE_FS child's chdir moves its parent; a fork's does not; a
// posix_spawn child (clone3 CLONE_VM|CLONE_VFORK) seen before its
// parent's clone returns inherits the parent's cwd.
func TestCloneFS(t *testing.T) {
	for _, withY := range []bool{true, false} {
		log := filepath.Join(samples, "clonefs_y.log")
		if !withY {
			// Drop the -y decorations: the tracker alone must get it right.
			data, err := os.ReadFile(log)
			if err != nil {
				t.Fatal(err)
			}
			data = regexp.MustCompile(`(AT_FDCWD|\d)<[^>]*>`).ReplaceAll(data, []byte("$1"))
			log = filepath.Join(t.TempDir(), "clonefs_plain.log")
			os.WriteFile(log, data, 0o644)
		}
		got := map[string]bool{}
		for _, e := range events(t, []string{log}, Options{}) {
			got[e.Syscall+" "+e.Path] = true
		}
		for _, want := range []string{
			"openat /usr/share/doc", // parent, after the CLONE_FS child's chdir
			"openat /var/lib",       // parent's own chdir("/var"), not the fork's
			"execve /usr/bin/ls",
		} {
			if !got[want] {
				t.Errorf("withY=%v: missing %q in %v", withY, want, got)
			}
		}
	}
}

// TestFFMatchesF: the per-thread files of -ff give the same paths as the
// same program traced with -f, except where one thread's relative open
// follows another thread's chdir: without timestamps the order of lines
// across files is unknown (TestFFMergedByTime covers -ff -ttt).
func TestFFMatchesF(t *testing.T) {
	paths := func(evs []Event) []string {
		seen := map[string]bool{}
		for _, e := range evs {
			if e.OK && !strings.HasSuffix(e.Path, "/lib") && !strings.HasSuffix(e.Path, "/share") {
				seen[e.Syscall+" "+e.Path] = true
			}
		}
		var out []string
		for p := range seen {
			out = append(out, p)
		}
		sort.Strings(out)
		return out
	}
	ff, _ := filepath.Glob(filepath.Join(samples, "ff", "trace.*"))
	got := paths(events(t, ff, Options{Cwd: "/tmp/strace-examples"}))
	want := paths(events(t, []string{filepath.Join(samples, "threads_f.log")}, Options{Cwd: "/tmp/strace-examples"}))
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("-ff paths differ from -f:\n ff: %v\n  f: %v", got, want)
	}
	if len(got) < 8 {
		t.Errorf("only %d paths: %v", len(got), got)
	}
}

// TestFFMergedByTime: with -ff -ttt, the files are merged in time order,
// so a thread's chdir (shared by CLONE_FS) moves the relative open that
// another thread makes after it.
func TestFFMergedByTime(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	leader := write("trace.100", `1795360291.000001 execve("/app", ["/app"], 0x7ffc /* 1 var */) = 0
1795360291.000002 clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD, exit_signal=0} => {parent_tid=[101]}, 88) = 101
1795360291.000005 openat(AT_FDCWD, "rel.txt", O_RDONLY) = 3
1795360291.000006 +++ exited with 0 +++
`)
	thread := write("trace.101", `1795360291.000003 chdir("/srv") = 0
1795360291.000004 +++ exited with 0 +++
`)
	var got []string
	if err := ParseFiles([]string{thread, leader}, Options{Cwd: "/"}, func(e Event) { got = append(got, e.Syscall+" "+e.Path) }); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, "|") != "execve /app|chdir /srv|openat /srv/rel.txt" {
		t.Errorf("got %v", got)
	}
	// The same files without timestamps are read in pid order.
	for _, f := range []string{leader, thread} {
		data, _ := os.ReadFile(f)
		data = regexp.MustCompile(`(?m)^\d+\.\d+ `).ReplaceAll(data, nil)
		os.WriteFile(f, data, 0o644)
	}
	got = nil
	if err := ParseFiles([]string{thread, leader}, Options{Cwd: "/"}, func(e Event) { got = append(got, e.Syscall+" "+e.Path) }); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, "|") != "execve /app|openat /rel.txt|chdir /srv" {
		t.Errorf("without timestamps: got %v", got)
	}
}

func TestTimestamp(t *testing.T) {
	tests := []struct {
		line string
		ns   int64
		ok   bool
	}{
		{"14:34:08 brk(NULL) = 0", (14*3600 + 34*60 + 8) * 1e9, true},
		{"14:34:08.309120 brk(NULL) = 0", (14*3600+34*60+8)*1e9 + 309120000, true},
		{"1795358048.352029 brk(NULL) = 0", 1795358048*1e9 + 352029000, true},
		{"1795358048.522459067 brk(NULL) = 0", 1795358048*1e9 + 522459067, true},
		{"12345 brk(NULL) = 0", 0, false},
		{"brk(NULL) = 0", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		ns, ok := timestamp([]byte(tt.line))
		if ns != tt.ns || ok != tt.ok {
			t.Errorf("timestamp(%q) = %d, %v; want %d, %v", tt.line, ns, ok, tt.ns, tt.ok)
		}
	}
}

// TestThreadExecve: an execve from a non-leader thread completes on the
// leader's pid after "superseded" and is reported once, successful.
func TestThreadExecve(t *testing.T) {
	n := 0
	for _, e := range events(t, []string{filepath.Join(samples, "threads_f.log")}, Options{}) {
		if e.Syscall == "execve" && e.Path == "/bin/true" {
			n++
			if !e.OK {
				t.Errorf("execve /bin/true not OK: %+v", e)
			}
		}
	}
	if n != 2 { // one from vfork, one from the thread
		t.Errorf("execve /bin/true seen %d times, want 2", n)
	}
}

// TestStderrFormat: a log written to stderr (no -o) has no prefix for the
// first process, [pid N] for the others, and an attach notice spliced
// into a line.
func TestStderrFormat(t *testing.T) {
	var cat bool
	evs := events(t, []string{filepath.Join(samples, "stderr_f.log")}, Options{Warn: func(err error) { t.Errorf("warning: %v", err) }})
	for _, e := range evs {
		if e.Syscall == "execve" && e.Path == "/usr/bin/cat" && e.OK {
			cat = true
		}
	}
	if !cat {
		t.Errorf("execve of /usr/bin/cat in [pid 19451] lines not found in %d events", len(evs))
	}
}

// TestBadInput: truncated lines, binary garbage, a 1 MB line and unknown
// syscalls are reported with the file and line and skipped.
func TestBadInput(t *testing.T) {
	long := strings.Repeat("a", 1<<20+10)
	input := strings.Join([]string{
		`100 openat(AT_FDCWD, "/etc/good", O_RDONLY) = 3`,
		`100 openat(AT_FDCWD, "/etc/trunc`, // truncated
		"100 \x00\x01\x02\xff garbage \x00",
		`100 openat(AT_FDCWD, "/` + long + `", O_RDONLY) = 3`,
		`100 frobnicate("/etc/x") = 0`,
		`100 openat(AT_FDCWD, "/etc/bad\q", O_RDONLY) = 3`,
		"\xff\xfe\xfd not a line at all",
		`100 openat(AT_FDCWD, "/etc/after", O_RDONLY) = 3`,
	}, "\n") + "\n"
	var warns []error
	var got []string
	p := NewParser(Options{Warn: func(err error) { warns = append(warns, err) }}, func(e Event) { got = append(got, e.Path) })
	if err := p.Parse(strings.NewReader(input), "bad.log", -1); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != "/etc/good,/etc/after" {
		t.Errorf("%d events, want /etc/good and /etc/after", len(got))
	}
	wantLines := map[int]string{2: "unterminated", 3: "NUL", 4: "longer than", 5: "unknown syscall", 6: "unknown escape", 7: "expected"}
	for _, w := range warns {
		var le *LineError
		if !errors.As(w, &le) {
			t.Errorf("warning %v is not a *LineError", w)
			continue
		}
		if le.File != "bad.log" {
			t.Errorf("warning names file %q", le.File)
		}
		sub, ok := wantLines[le.Line]
		if !ok || !strings.Contains(le.Error(), sub) {
			t.Errorf("unexpected warning %v", le)
		}
		delete(wantLines, le.Line)
	}
	if len(wantLines) > 0 {
		t.Errorf("no warning for lines %v", wantLines)
	}
}

func TestNotAStraceLog(t *testing.T) {
	p := NewParser(Options{}, func(Event) {})
	err := p.Parse(strings.NewReader("hello\nworld\n"), "notes.txt", -1)
	if !errors.Is(err, ErrNotStrace) || !strings.Contains(err.Error(), "notes.txt") {
		t.Errorf("err = %v", err)
	}
	err = p.Parse(bytes.NewReader(nil), "empty.log", -1)
	if !errors.Is(err, ErrEmpty) {
		t.Errorf("err = %v", err)
	}
	err = ParseFiles([]string{filepath.Join(samples, "missing_cmd.log")}, Options{}, func(Event) {})
	if !errors.Is(err, ErrEmpty) || !strings.Contains(err.Error(), "missing_cmd.log") {
		t.Errorf("missing_cmd.log: %v", err)
	}
}

// TestWarningsBounded: a file of garbage gives a bounded number of
// warnings and a count of the rest, and is refused.
func TestWarningsBounded(t *testing.T) {
	var warns []error
	p := NewParser(Options{Warn: func(err error) { warns = append(warns, err) }}, func(Event) {})
	input := strings.Repeat("garbage line\n", 1000) + "1 exit_group(0) = ?\n"
	var je *JunkError
	if err := p.Parse(strings.NewReader(input), "g.log", -1); !errors.As(err, &je) || je.Valid != 1 || je.Lines != 1001 {
		t.Fatalf("err = %v, want a *JunkError: 1 of 1001 lines", err)
	}
	if len(warns) != 21 || !strings.Contains(warns[20].Error(), "980 more") {
		t.Errorf("%d warnings, last %v", len(warns), warns[len(warns)-1])
	}
}

// TestRelativeDirfdWithoutY: without -y, openat(3, "rel") uses the path
// the fd was opened with.
func TestRelativeDirfdWithoutY(t *testing.T) {
	input := `1 chdir("/srv") = 0
1 openat(AT_FDCWD, "data", O_RDONLY|O_DIRECTORY) = 3
1 openat(3, "file.txt", O_RDONLY) = 4
1 fcntl(3, F_DUPFD_CLOEXEC, 10) = 10
1 newfstatat(10, "other", {st_mode=S_IFREG|0644, st_size=1, ...}, 0) = 0
1 fchdir(3) = 0
1 access("rel", R_OK) = 0
1 close(3) = 0
1 openat(3, "lost", O_RDONLY) = 5
`
	var got []string
	var warns []error
	p := NewParser(Options{Warn: func(err error) { warns = append(warns, err) }}, func(e Event) { got = append(got, e.Syscall+" "+e.Path) })
	if err := p.Parse(strings.NewReader(input), "r.log", -1); err != nil {
		t.Fatal(err)
	}
	want := "chdir /srv|openat /srv/data|openat /srv/data/file.txt|newfstatat /srv/data/other|fchdir /srv/data|access /srv/data/rel"
	if strings.Join(got, "|") != want {
		t.Errorf("got  %s\nwant %s", strings.Join(got, "|"), want)
	}
	if len(warns) != 1 || !strings.Contains(warns[0].Error(), "fd 3") {
		t.Errorf("warnings = %v", warns)
	}
}

func TestOpenFlags(t *testing.T) {
	tests := []struct {
		line string
		op   Op
		dir  bool
	}{
		{`1 openat(AT_FDCWD, "/a", O_RDONLY|O_CLOEXEC) = 3`, OpRead, false},
		{`1 openat(AT_FDCWD, "/a", O_WRONLY|O_CREAT|O_TRUNC, 0644) = 3`, OpWrite, false},
		{`1 openat(AT_FDCWD, "/a", O_WRONLY|O_CREAT|O_APPEND, 0644) = 3`, OpWrite, false},
		{`1 openat(AT_FDCWD, "/a", O_RDWR|O_CREAT|O_EXCL, 0600) = 3`, OpWrite, false},
		{`1 openat(AT_FDCWD, "/a", O_RDWR) = 3`, OpRead, false},
		{`1 openat(AT_FDCWD, "/a", O_RDWR|O_CREAT, 0644) = 3`, OpRead, false},
		{`1 openat(AT_FDCWD, "/a", O_WRONLY) = 3`, OpRead, false},
		{`1 openat(AT_FDCWD, "/a", O_RDONLY|O_NONBLOCK|O_CLOEXEC|O_DIRECTORY) = 3`, OpRead, true},
		{`1 openat(-100, "/a", 0x241, 0644) = 3`, OpWrite, false},
		{`1 openat(-100, "/a", 0x80000) = 3`, OpRead, false},
		{`1 openat2(AT_FDCWD, "/a", {flags=O_WRONLY|O_CREAT|O_TRUNC, mode=0644}, 24) = 3`, OpWrite, false},
		{`1 open("/a", O_RDONLY) = 3`, OpRead, false},
		{`1 creat("/a", 0644) = 3`, OpWrite, false},
	}
	for _, tt := range tests {
		var got []Event
		p := NewParser(Options{}, func(e Event) { got = append(got, e) })
		if err := p.Parse(strings.NewReader(tt.line+"\n"), "f.log", -1); err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Op != tt.op || got[0].Dir != tt.dir {
			t.Errorf("%s: got %+v", tt.line, got)
		}
	}
}

// TestManyStringsLinear: a long line of many strings parses in linear
// time (it once allocated the rest of the line for each string).
func TestManyStringsLinear(t *testing.T) {
	line := `1 execve("/bin/x", [` + strings.Repeat(`"a", `, 150000) + `"z"], 0x1 /* 0 vars */) = 0` + "\n"
	var n int
	p := NewParser(Options{}, func(Event) { n++ })
	if err := p.Parse(strings.NewReader(line), "long.log", -1); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("%d events", n)
	}
}

// TestGoThreadExecve: a Go program's execve runs on a non-leader thread;
// strace 6.1 then prints a bogus failure on the leader's resumed line.
// The process went on, so the execve succeeded; a chroot by that thread
// applies to the path (threads share their fs).
func TestGoThreadExecve(t *testing.T) {
	log := `15094 execve("/work/bin/launcher", ["launcher"], 0x7ffd /* 39 vars */) = 0
15094 clone(child_stack=0xc000060000, flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_SYSVSEM|CLONE_THREAD, tls=0xc000050098) = 15097
15097 chroot("/tmp/rd/image")           = 0
15097 chdir("/")                        = 0
15097 execve("/bin/sh", ["/bin/sh", "-c", "sort x"], 0x386082208000 /* 39 vars */ <unfinished ...>
15094 +++ superseded by execve in pid 15097 +++
15094 <... execve resumed>)             = -1 (errno 18446744073709551595)
15094 openat(AT_FDCWD, "/etc/x", O_RDONLY) = 3
`
	var got []string
	p := NewParser(Options{}, func(e Event) {
		if e.OK {
			got = append(got, e.Syscall+" "+e.Path)
		}
	})
	if err := p.Parse(strings.NewReader(log), "go.log", -1); err != nil {
		t.Fatal(err)
	}
	want := "execve /work/bin/launcher|chroot /tmp/rd/image|chdir /tmp/rd/image/|execve /tmp/rd/image/bin/sh|openat /tmp/rd/image/etc/x"
	if strings.Join(got, "|") != want {
		t.Errorf("got  %s\nwant %s", strings.Join(got, "|"), want)
	}
}
