package strace

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"testing"
)

func TestUnquote(t *testing.T) {
	tests := []struct {
		in        string
		want      string
		n         int
		truncated bool
		err       string
	}{
		{in: `"plain"`, want: "plain", n: 7},
		{in: `"/etc/passwd", O_RDONLY`, want: "/etc/passwd", n: 13},
		{in: `"quote\"dq"`, want: `quote"dq`, n: 11},
		{in: `"back\\slash"`, want: `back\slash`, n: 13},
		{in: `"single\'q"`, want: `single'q`, n: 11},
		{in: `"new\nline\ttab\rcr\vvt\ffeed"`, want: "new\nline\ttab\rcr\vvt\ffeed", n: 30},
		// octal: 1-3 digits, padded to 3 only when a digit follows
		{in: `"ctl\1\177.txt"`, want: "ctl\x01\x7f.txt", n: 15},
		{in: `"oct\0012x"`, want: "oct\x012x", n: 11},
		{in: `"oct\1x"`, want: "oct\x01x", n: 8},
		{in: `"latin1_\351\377.bin"`, want: "latin1_\xe9\xff.bin", n: 21},
		{in: `"utf8_\303\251\342\202\254.txt"`, want: "utf8_é€.txt", n: 31},
		{in: `"\x2f\x65\x74\x63"`, want: "/etc", n: 18},
		{in: `"\x2F\x6C"`, want: "/l", n: 10},
		{in: `"cat /etc/hostname >/dev/null; ls"...`, want: "cat /etc/hostname >/dev/null; ls", n: 37, truncated: true},
		{in: `""`, want: "", n: 2},
		{in: `"unterminated`, err: "unterminated"},
		{in: `"bad\q"`, err: "unknown escape"},
		{in: `"bad\x4"`, err: "two hex digits"},
		{in: `"big\777"`, err: "larger than a byte"},
		{in: `"end\`, err: "unterminated"},
		{in: `noquote`, err: "expected a string"},
	}
	for _, tt := range tests {
		got, n, tr, err := unquote([]byte(tt.in))
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("unquote(%s): err = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || string(got) != tt.want || n != tt.n || tr != tt.truncated {
			t.Errorf("unquote(%s) = %q, %d, %v, %v; want %q, %d, %v", tt.in, got, n, tr, err, tt.want, tt.n, tt.truncated)
		}
	}
}

// TestSplitLine covers every line shape of strace-format.md section 1.
func TestSplitLine(t *testing.T) {
	tests := []struct {
		name   string
		line   string
		pid    int
		kind   lineKind
		call   string
		body   string
		newPid int
	}{
		{"-f -o", `8100  openat(AT_FDCWD, "/etc/passwd", O_RDONLY) = 3`, 8100, kindCall, "openat", `AT_FDCWD, "/etc/passwd", O_RDONLY) = 3`, 0},
		{"no -f", `openat(AT_FDCWD, "/etc/passwd", O_RDONLY) = 3`, -1, kindCall, "openat", `AT_FDCWD, "/etc/passwd", O_RDONLY) = 3`, 0},
		{"padding before =", `15476 close(3)                          = 0`, 15476, kindCall, "close", `3)                          = 0`, 0},
		{"-Y comm", `19444<sh> access("/etc/ld.so.preload", R_OK) = -1 ENOENT (No such file or directory)`, 19444, kindCall, "access", `"/etc/ld.so.preload", R_OK) = -1 ENOENT (No such file or directory)`, 0},
		{"-t", `19402 14:34:08 brk(NULL)                = 0x56102a619000`, 19402, kindCall, "brk", `NULL)                = 0x56102a619000`, 0},
		{"-tt", `19408 14:34:08.309120 brk(NULL) = 0x5`, 19408, kindCall, "brk", `NULL) = 0x5`, 0},
		{"-ttt", `19414 1795358048.352029 brk(NULL) = 0x5`, 19414, kindCall, "brk", `NULL) = 0x5`, 0},
		{"unix ns", `19438 1795358048.522459067 brk(NULL)    = 0x5 <0.000079342>`, 19438, kindCall, "brk", `NULL)    = 0x5`, 0},
		{"-r", `19420      0.001393 brk(NULL)           = 0x564f1d553000`, 19420, kindCall, "brk", `NULL)           = 0x564f1d553000`, 0},
		{"-r no -f", `     0.000000 execve("/usr/bin/sh", ["sh"], 0x7ffd /* 39 vars */) = 0`, -1, kindCall, "execve", `"/usr/bin/sh", ["sh"], 0x7ffd /* 39 vars */) = 0`, 0},
		{"-ttt no -f", `1795358048.352029 execve("/bin/true", ["true"], 0x7 /* 1 var */) = 0`, -1, kindCall, "execve", `"/bin/true", ["true"], 0x7 /* 1 var */) = 0`, 0},
		{"-tt -r", `19426 14:34:08.439521 (+     0.001596) brk(NULL) = 0x558ec2093000`, 19426, kindCall, "brk", `NULL) = 0x558ec2093000`, 0},
		{"-T", `19432 1795358048.482279 openat(AT_FDCWD, "/etc/ld.so.cache", O_RDONLY|O_CLOEXEC) = 3 <0.000026>`, 19432, kindCall, "openat", `AT_FDCWD, "/etc/ld.so.cache", O_RDONLY|O_CLOEXEC) = 3`, 0},
		{"-y result kept", `8122  openat(AT_FDCWD</tmp>, "x", O_RDONLY) = 3</tmp/x>`, 8122, kindCall, "openat", `AT_FDCWD</tmp>, "x", O_RDONLY) = 3</tmp/x>`, 0},
		{"stderr [pid]", `[pid 19451] execve("/usr/bin/cat", ["cat"], 0x5 /* 39 vars */ <unfinished ...>`, 19451, kindUnfinished, "execve", `"/usr/bin/cat", ["cat"], 0x5 /* 39 vars */ `, 0},
		{"unfinished", `15477 openat(AT_FDCWD, "/etc/passwd", O_RDONLY <unfinished ...>`, 15477, kindUnfinished, "openat", `AT_FDCWD, "/etc/passwd", O_RDONLY `, 0},
		{"unfinished empty args", `15476 wait4(-1,  <unfinished ...>`, 15476, kindUnfinished, "wait4", `-1,  `, 0},
		{"resumed", `15476 <... wait4 resumed>NULL, 0, NULL) = 8107`, 15476, kindResumed, "wait4", `NULL, 0, NULL) = 8107`, 0},
		{"resumed clone3", `15476 <... clone3 resumed> => {parent_tid=[15477]}, 88) = 15477`, 15476, kindResumed, "clone3", ` => {parent_tid=[15477]}, 88) = 15477`, 0},
		{"died mid-call", `23826 <... read resumed>)               = ? <unavailable>`, 23826, kindResumed, "read", `)               = ? <unavailable>`, 0},
		{"died resumed unfinished", `23825 <... read resumed> <unfinished ...>) = ?`, 23825, kindResumed, "read", ` <unfinished ...>) = ?`, 0},
		{"odd name", `23749 ???( <unfinished ...>`, 23749, kindUnfinished, "???", ` `, 0},
		{"unknown syscall number", `5000  syscall_0x3e8(0x1, 0x2, 0, 0, 0, 0) = -1 ENOSYS (Function not implemented)`, 5000, kindCall, "syscall_0x3e8", `0x1, 0x2, 0, 0, 0, 0) = -1 ENOSYS (Function not implemented)`, 0},
		{"signal", `15476 --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=15481} ---`, 15476, kindSignal, "", "", 0},
		{"stopped", `15509 --- stopped by SIGSTOP ---`, 15509, kindSignal, "", "", 0},
		{"exited", `15476 +++ exited with 0 +++`, 15476, kindExit, "", "", 0},
		{"killed", `15482 +++ killed by SIGKILL +++`, 15482, kindExit, "", "", 0},
		{"core dumped", `5 +++ killed by SIGSEGV (core dumped) +++`, 5, kindExit, "", "", 0},
		{"superseded", `15549 +++ superseded by execve in pid 15550 +++`, 15549, kindSuperseded, "", "", 15550},
		{"32 bit", `[ Process PID=4242 runs in 32 bit mode. ]`, -1, kindInfo, "", "", 0},
		{"detached", `123 <detached ...>`, 123, kindInfo, "", "", 0},
		{"strace notice", `strace: Process 19451 attached`, -1, kindInfo, "", "", 0},
		{"pid changed (-ff)", `execve("/bin/true", ["true"], 0x7ffc /* 39 vars */ <pid changed to 22011 ...>`, -1, kindPidChanged, "execve", `"/bin/true", ["true"], 0x7ffc /* 39 vars */ `, 22011},
		{"restart", `15476 restart_syscall(<... resuming interrupted clock_nanosleep ...>) = 0`, 15476, kindCall, "restart_syscall", `<... resuming interrupted clock_nanosleep ...>) = 0`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rl, err := splitLine([]byte(tt.line))
			if err != nil {
				t.Fatalf("splitLine: %v", err)
			}
			if rl.pid != tt.pid || rl.kind != tt.kind || string(rl.name) != tt.call || string(rl.body) != tt.body || rl.newPid != tt.newPid {
				t.Errorf("got pid=%d kind=%d name=%q body=%q newPid=%d\nwant pid=%d kind=%d name=%q body=%q newPid=%d",
					rl.pid, rl.kind, rl.name, rl.body, rl.newPid, tt.pid, tt.kind, tt.call, tt.body, tt.newPid)
			}
		})
	}
}

func TestSplitLineErrors(t *testing.T) {
	for _, line := range []string{
		`)                                       = 5`, // -z continuation line
		`NULL)                                   = ? ERESTART_RESTARTBLOCK`,
		`12 hello world`,
		`[pid 12 openat(`,
		`12 14:34:08x brk(NULL) = 0`,
		`12 <... wait4 NULL) = 1`,
		`12 Open(AT_FDCWD) = 3`,
	} {
		if _, err := splitLine([]byte(line)); err == nil {
			t.Errorf("splitLine(%q): expected an error", line)
		}
	}
}

func TestSplitArgs(t *testing.T) {
	tests := []struct {
		body string
		args []string
		ret  string
	}{
		{`AT_FDCWD, "/etc/passwd", O_RDONLY) = 3`, []string{"AT_FDCWD", `"/etc/passwd"`, "O_RDONLY"}, "3"},
		{`"a, b", [1, 2], {x=1, y=[3, 4]}) = 0`, []string{`"a, b"`, "[1, 2]", "{x=1, y=[3, 4]}"}, "0"},
		{`-1, [{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL) = 8107`, []string{"-1", "[{WIFEXITED(s) && WEXITSTATUS(s) == 0}]", "0", "NULL"}, "8107"},
		{`AT_FDCWD</tmp/a, b>, "x)y", O_RDONLY) = 3</tmp/a, b/x)y>`, []string{"AT_FDCWD</tmp/a, b>", `"x)y"`, "O_RDONLY"}, "3</tmp/a, b/x)y>"},
		{`3</tmp/doomed.txt>(deleted), "z", 1) = 1`, []string{"3</tmp/doomed.txt>(deleted)", `"z"`, "1"}, "1"},
		{`3</dev/null<char 1:3>>, "", AT_EMPTY_PATH) = 0`, []string{"3</dev/null<char 1:3>>", `""`, "AT_EMPTY_PATH"}, "0"},
		{`-100 /* AT_FDCWD */, "x", 0x80000 /* O_RDONLY|O_CLOEXEC */) = 3`, []string{"-100", `"x"`, "0x80000"}, "3"},
		{`"/bin/sh", ["sh", "-c", "x"...], 0x7ffd /* 39 vars */) = 0`, []string{`"/bin/sh"`, `["sh", "-c", "x"...]`, "0x7ffd"}, "0"},
		{`) = 14591`, nil, "14591"},
		{`<... resuming interrupted clock_nanosleep ...>) = 0`, []string{"<... resuming interrupted clock_nanosleep ...>"}, "0"},
		{`AT_FDCWD, "x", O_RDONLY) = -1 ENOENT (No such file or directory)`, []string{"AT_FDCWD", `"x"`, "O_RDONLY"}, "-1 ENOENT (No such file or directory)"},
	}
	for _, tt := range tests {
		var c call
		if err := splitArgs([]byte(tt.body), &c, true); err != nil {
			t.Errorf("splitArgs(%s): %v", tt.body, err)
			continue
		}
		var got []string
		for _, a := range c.args {
			got = append(got, string(a))
		}
		if strings.Join(got, "\x00") != strings.Join(tt.args, "\x00") || string(c.ret) != tt.ret {
			t.Errorf("splitArgs(%s)\n got %q = %q\nwant %q = %q", tt.body, got, c.ret, tt.args, tt.ret)
		}
	}
	for _, bad := range []string{`"x", O_RDONLY`, `"unterminated) = 3`, `3</x, 1) = 0`, `/* open, 1) = 0`} {
		var c call
		if err := splitArgs([]byte(bad), &c, true); err == nil {
			t.Errorf("splitArgs(%s): expected an error", bad)
		}
	}
}

func TestParseResult(t *testing.T) {
	tests := []struct {
		ret   string
		ok    bool
		known bool
		errno string
		fd    int
		path  string
	}{
		{"3", true, true, "", 3, ""},
		{"3</usr/lib/x86_64-linux-gnu/libc.so.6>", true, true, "", 3, "/usr/lib/x86_64-linux-gnu/libc.so.6"},
		{"0 (INJECTED)", true, true, "", 0, ""},
		{"0x7f21c782c000", true, true, "", 0, ""},
		{"-1 ENOENT (No such file or directory)", false, true, "ENOENT", 0, ""},
		{"-1 (errno 38)", false, true, "errno 38", 0, ""},
		{"? ERESTARTSYS (To be restarted if SA_RESTART is set)", false, false, "", 0, ""},
		{"?", false, false, "", 0, ""},
		{"? <unavailable>", false, false, "", 0, ""},
		{"5<socket:[17139]>", true, true, "", 5, ""},
		{`3<\x2f\x65\x74\x63>`, true, true, "", 3, "/etc"},
		{`3</tmp/angle\74br\76.txt>`, true, true, "", 3, "/tmp/angle<br>.txt"},
		// --pidns-translation (build --from): the child's pid in strace's
		// namespace, which its lines carry
		{"2 /* 18585 in strace's PID NS */", true, true, "", 18585, ""},
		{"1 /* x in strace's PID NS */", true, true, "", 1, ""},
		{"1/* in strace's PID NS */", true, true, "", 1, ""},
		{"1 /*/* in strace's PID NS */", true, true, "", 1, ""},
	}
	for _, tt := range tests {
		r := parseResult([]byte(tt.ret))
		if r.ok != tt.ok || r.known != tt.known || r.errno != tt.errno || (tt.ok && r.fd.fd != tt.fd) || string(r.fd.path) != tt.path {
			t.Errorf("parseResult(%q) = %+v", tt.ret, r)
		}
	}
}

func TestQuietLines(t *testing.T) {
	r := newRules(Options{FailedCalls: []string{"mkdir"}})
	all := newRules(Options{Failed: true})
	tests := []struct {
		line       string
		quiet, all bool // with FailedCalls mkdir; with Failed
	}{
		{`1 newfstatat(3, "", {st_mode=S_IFREG|0644, st_size=1, ...}, AT_EMPTY_PATH) = 0`, true, true},
		{`1 newfstatat(3</usr/lib/x, y>, "", {st_mode=S_IFREG|0644, ...}, AT_EMPTY_PATH) = 0`, true, true},
		{`1 newfstatat(AT_FDCWD, "/etc/passwd", {st_mode=S_IFREG|0644, ...}, 0) = 0`, false, false},
		{`1 newfstatat(3, "rel", {st_mode=S_IFREG|0644, ...}, 0) = 0`, false, false},
		{`1 statx(3, "", AT_STATX_SYNC_AS_STAT|AT_EMPTY_PATH, STATX_ALL, {stx_mask=STATX_ALL}) = 0`, true, true},
		{`1 openat(AT_FDCWD, "/etc/none", O_RDONLY) = -1 ENOENT (No such file or directory)`, true, false},
		{`1 openat(AT_FDCWD, "/a) = -1 (x)", O_RDONLY) = 3`, false, false},
		{`1 mkdir("/var/lib/x", 0700) = -1 EEXIST (File exists)`, false, false},
		{`1 execveat(3, "", [], [], AT_EMPTY_PATH) = 0`, false, false},
		{`1 openat(AT_FDCWD, "/etc/x", O_RDONLY) = 3</etc/x>`, false, false},
		{`1 access("/etc/ld.so.preload", R_OK) = -1 ENOENT (No such file or directory)`, true, false},
	}
	for _, tt := range tests {
		var a, b split
		a.prepare([]byte(tt.line), nil, r, true, interner{})
		b.prepare([]byte(tt.line), nil, all, true, interner{})
		if a.quiet != tt.quiet || b.quiet != tt.all {
			t.Errorf("%s: quiet %v (Failed: %v), want %v (%v)", tt.line, a.quiet, b.quiet, tt.quiet, tt.all)
		}
	}
}

// TestLookupName: the name table answers as the maps it is built from.
func TestLookupName(t *testing.T) {
	for name := range knownNames {
		sp, listed := lookupName([]byte(name))
		if !listed || sp != specOf[name] {
			t.Errorf("%s: spec %v, listed %v", name, sp, listed)
		}
	}
	for name, want := range specOf {
		if sp, listed := lookupName([]byte(name)); sp != want || !listed || sp.name != name {
			t.Errorf("%s: spec %+v, want %+v", name, sp, want)
		}
	}
	for _, name := range []string{"", "openat3", "syscall_0x1b4", "OPENAT", "open\x00"} {
		if sp, listed := lookupName([]byte(name)); sp != nil || listed {
			t.Errorf("%q: spec %v, listed %v: want neither", name, sp, listed)
		}
	}
}

// TestLastParen: lastParen is bytes.LastIndexByte(s, ')') at every length
// and position, with bytes around ')' that a carry could confuse.
func TestLastParen(t *testing.T) {
	fill := []byte{0, 1, 0x28, 0x2a, 0x7f, 0x80, 0xa9, 0xff, ' ', 'a'}
	for n := 0; n <= 40; n++ {
		for _, f := range fill {
			s := bytes.Repeat([]byte{f}, n)
			if got, want := lastParen(s), bytes.LastIndexByte(s, ')'); got != want {
				t.Fatalf("lastParen(%q) = %d, want %d", s, got, want)
			}
			for i := range s {
				for j := i; j < n; j += 3 {
					s2 := bytes.Clone(s)
					s2[i], s2[j] = ')', ')'
					if got, want := lastParen(s2), bytes.LastIndexByte(s2, ')'); got != want {
						t.Fatalf("lastParen(%q) = %d, want %d", s2, got, want)
					}
				}
			}
		}
	}
}

// FuzzLookupName: the name table answers as the maps it is built from,
// for a name cut from a longer line (read with one load past its end)
// and for one alone in its slice.
func FuzzLookupName(f *testing.F) {
	for _, s := range []string{"openat", "newfstatat", "sched_get_priority_max", "open\x00", "o", "rt_sigreturn", "landlock_create_rulesetX"} {
		f.Add(s, "(AT_FDCWD")
	}
	f.Fuzz(func(t *testing.T, name, after string) {
		_, inKnown := knownNames[name]
		want, listed := specOf[name], inKnown || specOf[name] != nil
		line := []byte(name + after)
		for _, b := range [][]byte{line[:len(name)], []byte(name)} {
			if sp, ok := lookupName(b); sp != want || ok != listed {
				t.Fatalf("%q (capacity %d): spec %v, listed %v; want %v, %v", name, cap(b), sp, ok, want, listed)
			}
		}
	})
}

// FuzzLeadingDigits: leadingDigits counts the digits that start s, up to 9.
func FuzzLeadingDigits(f *testing.F) {
	for _, s := range []string{"12345 openat(", "123456789012", "", "7", "12345678", "1234567 ", "\xb0\xb9123"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, s []byte) {
		want := 0
		for want < len(s) && want < 9 && s[want] >= '0' && s[want] <= '9' {
			want++
		}
		if got := leadingDigits(s); got != want {
			t.Fatalf("leadingDigits(%q) = %d, want %d", s, got, want)
		}
	})
}

// FuzzQuickArgs: whenever quickArgs takes a body, it splits it as the
// general splitArgs does.
func FuzzQuickArgs(f *testing.F) {
	for _, s := range []string{
		`AT_FDCWD, "/usr/lib/x.so", O_RDONLY|O_CLOEXEC) = 3`,
		`AT_FDCWD, "/etc", {st_mode=S_IFDIR|0755, st_size=4096, ...}, 0) = 0`,
		`"/bin/sh", ["sh", "-c", "x"], 0x7ffd /* 3 vars */) = 0`,
		`3, "", {st_mode=S_IFREG|0644, st_size=1, ...}, AT_EMPTY_PATH) = 0`,
		`AT_FDCWD</tmp>, "x", O_RDONLY) = 3</tmp/x>`,
		`AT_FDCWD, "a\"b"..., O_RDONLY) = -1 ENOENT (No such file or directory)`,
		`AT_FDCWD, "a", {st_mode=S_IFREG|0644, st_size=1, ...} , 0)  =  0 `,
		`) = 0`, `1, 2) =`, `{, 0) = 0`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var quick call
		if !quickArgs(body, &quick) {
			return
		}
		var general call
		general.args = make([][]byte, 0, 1) // not nil: as quickArgs' own
		if err := splitArgsGeneral(body, &general, true); err != nil {
			t.Fatalf("%q: quickArgs took it, splitArgs refused it: %v", body, err)
		}
		if fmt.Sprintf("%q %q %v", quick.args, quick.ret, quick.fdcwd) != fmt.Sprintf("%q %q %v", general.args, general.ret, general.fdcwd) {
			t.Fatalf("%q:\nquickArgs %q = %q (%v)\nsplitArgs %q = %q (%v)", body, quick.args, quick.ret, quick.fdcwd, general.args, general.ret, general.fdcwd)
		}
		for i, a := range quick.args {
			_, plain := plainString(a)
			if marked := i < 64 && quick.plain&(1<<i) != 0; marked && !plain || !marked && plain && len(quick.args) <= 64 {
				t.Fatalf("%q: argument %d %q: marked plain %v, plainString says %v", body, i, a, marked, plain)
			}
		}
	})
}

// FuzzDigitsValue: digitsValue reads the digits leadingDigits counted as
// strconv does.
func FuzzDigitsValue(f *testing.F) {
	for _, s := range []string{"12345 openat(", "123456789012", "7", "12345678", "09 x", "1", "99999999 ("} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, s []byte) {
		n := leadingDigits(s)
		if n == 0 {
			return
		}
		want, err := strconv.Atoi(string(s[:n]))
		if err != nil {
			t.Fatal(err)
		}
		if got := digitsValue(s, n); got != want {
			t.Fatalf("digitsValue(%q, %d) = %d, want %d", s, n, got, want)
		}
	})
}

// FuzzCloneFlags: cloneFlags finds what bytes.Contains finds.
func FuzzCloneFlags(f *testing.F) {
	f.Add([]byte("child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f3b"))
	f.Add([]byte("{flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM, exit_signal=0}, 88"))
	f.Add([]byte("CLONE_CLONE_FS CLONE_"))
	f.Fuzz(func(t *testing.T, text []byte) {
		want := 0
		for bit, name := range map[int]string{cloneThread: "CLONE_THREAD", cloneFS: "CLONE_FS", cloneFiles: "CLONE_FILES"} {
			if bytes.Contains(text, []byte(name)) {
				want |= bit
			}
		}
		if got := cloneFlags(text); got != want {
			t.Fatalf("cloneFlags(%q) = %b, want %b", text, got, want)
		}
	})
}
