package strace

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// unreads parses log and returns what Options.Unreadable received, as
// "pid syscall exe uid line", and the paths of the events.
func unreads(log string, o Options) (got []string, paths []string, err error) {
	o.Warn = func(error) {}
	o.Unreadable = func(u Unread) {
		got = append(got, fmt.Sprintf("%d %s %s %d %d", u.Pid, u.Syscall, u.Exe, u.UID, u.Line))
	}
	p := NewParser(o, func(e Event) { paths = append(paths, e.Path) })
	err = p.Parse(strings.NewReader(log), "t.log", -1)
	return got, paths, err
}

// TestUnreadable: each call whose path strace printed as an address is
// counted, with the process's pid, program and effective uid, and makes
// no event; NULL, quoted "0x" names and EFAULT (the kernel could not
// read it either) are not such calls.
func TestUnreadable(t *testing.T) {
	root := 0
	for _, tc := range []struct {
		name string
		log  string
		uid  *int
		want []string
	}{
		{"openat", `1 openat(AT_FDCWD, 0x55d2c8cc8b90, O_RDONLY) = 3`, nil, []string{"1 openat  -1 1"}},
		{"failed openat (dropped early otherwise)", `1 openat(AT_FDCWD, 0x55d2c8cc8b90, O_RDONLY) = -1 ENOENT (No such file or directory)`, nil, []string{"1 openat  -1 1"}},
		{"dirfd with -y", `1 newfstatat(AT_FDCWD</etc>, 0x7f57a36b9460, 0x7fff776263b0, 0) = -1 ENOENT (No such file or directory)`, nil, []string{"1 newfstatat  -1 1"}},
		{"fd stat", `1 newfstatat(3, 0x7f57a38d7dd5, 0x7fff77626120, AT_EMPTY_PATH) = 0`, nil, []string{"1 newfstatat  -1 1"}},
		{"raw dirfd", `1 faccessat2(0x3, 0x564c381c5139, 0x4, 0x200) = -1 ENOENT (No such file or directory)`, nil, []string{"1 faccessat2  -1 1"}},
		{"execve", `1 execve(0x5555d0a0, ["x"], 0x7ffd /* 3 vars */) = -1 ENOENT (No such file or directory)`, nil, []string{"1 execve  -1 1"}},
		{"rename's new name", `1 renameat2(AT_FDCWD, "/a", AT_FDCWD, 0x7f00, RENAME_NOREPLACE) = -1 EEXIST (File exists)`, nil, []string{"1 renameat2  -1 1"}},
		{"unlink", `1 unlink(0x7ffe87624912) = -1 ENOENT (No such file or directory)`, nil, []string{"1 unlink  -1 1"}},
		{"NULL is no address", `1 utimensat(3, NULL, NULL, 0) = 0`, nil, nil},
		{"a name that looks like one", `1 openat(AT_FDCWD, "0x55d2c8cc8b90", O_RDONLY) = 3`, nil, nil},
		{"EFAULT", `1 newfstatat(AT_FDCWD, 0x8, 0x7ffcc7756160, 0) = -1 EFAULT (Bad address)`, nil, nil},
		{"a buffer address", `1 readlink("/tmp", 0x7ffc2e743590, 1023) = -1 EINVAL (Invalid argument)`, nil, nil},
		{"the uid through setresuid, and the program", `1 execve("/usr/sbin/apache2", ["apache2"], 0x7ffd /* 3 vars */) = 0
1 setresuid(-1, 33, -1) = 0
1 openat(AT_FDCWD, 0x1f, O_RDONLY) = 3`, &root, []string{"1 openat /usr/sbin/apache2 33 3"}},
		{"setuid, setreuid, a failed setuid", `1 setuid(7) = 0
1 openat(AT_FDCWD, 0x1f, O_RDONLY) = 3
1 setreuid(-1, 8) = 0
1 openat(AT_FDCWD, 0x1f, O_RDONLY) = 3
1 setuid(9) = -1 EPERM (Operation not permitted)
1 setreuid(10, -1) = 0
1 openat(AT_FDCWD, 0x1f, O_RDONLY) = 3`, &root, []string{"1 openat  7 2", "1 openat  8 4", "1 openat  8 7"}},
		{"a child inherits the uid; the start uid", `1 openat(AT_FDCWD, 0x1f, O_RDONLY) = 3
1 setresuid(65534, 65534, 65534) = 0
1 clone(child_stack=NULL, flags=SIGCHLD) = 2
2 openat(AT_FDCWD, 0x2f, O_RDONLY) = 3
1 openat(AT_FDCWD, 0x3f, O_RDONLY) = 3`, &root, []string{"1 openat  0 1", "2 openat  65534 4", "1 openat  65534 5"}},
		{"a thread's calls are its process's", `1 clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID, child_tid=0x7f, parent_tid=0x7f, exit_signal=0, stack=0x7f, stack_size=0x7fff00, tls=0x7f} => {parent_tid=[2]}, 88) = 2
2 openat(AT_FDCWD, 0x1f, O_RDONLY) = 3
3 openat(AT_FDCWD, 0x2f, O_RDONLY) = 3
1 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f) = 4
4 openat(AT_FDCWD, 0x3f, O_RDONLY) = 3`, nil, []string{"1 openat  -1 2", "3 openat  -1 3", "4 openat  -1 5"}},
		{"clone3 unread: a thread, until it runs a program", `1 clone3(0x7ffd8d194a30, 88) = 2
2 openat(AT_FDCWD, 0x1f, O_RDONLY) = 3
1 clone3(0x7ffd8d194a30, 88) = 3
3 execve("/bin/true", ["true"], 0x7ffd /* 3 vars */) = 0
3 openat(AT_FDCWD, 0x2f, O_RDONLY) = 3`, nil, []string{"1 openat  -1 2", "3 openat /bin/true -1 5"}},
		{"unfinished and resumed", `1 openat(AT_FDCWD, 0x1f, O_RDONLY <unfinished ...>
2 exit_group(0) = ?
1 <... openat resumed>) = 3`, nil, []string{"1 openat  -1 3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, failed := range []bool{false, true} {
				got, paths, err := unreads(tc.log+"\n", Options{Cwd: "/cwd", Failed: failed, UID: tc.uid})
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, tc.want) {
					t.Errorf("failed %v: unread %q, want %q", failed, got, tc.want)
				}
				for _, p := range paths {
					if strings.Contains(p, "/0x") && !strings.Contains(tc.log, `"0x`) {
						t.Errorf("failed %v: an address taken for a path: %s", failed, p)
					}
				}
			}
		})
	}
}

// FuzzUnreadableQuiet: the early drop of failed calls never drops one
// whose path is an address: a parser that reads every line counts the
// same calls.
func FuzzUnreadableQuiet(f *testing.F) {
	for _, l := range []string{
		`1 openat(AT_FDCWD, 0x55d2c8cc8b90, O_RDONLY) = -1 ENOENT (No such file or directory)`,
		`1 newfstatat(AT_FDCWD</a\>b>, 0x7f, 0x7fff, 0) = -1 ENOENT (No such file or directory)`,
		`1 faccessat2(0x3, 0x564c381c5139, 0x4, 0x200) = -1 ENOENT (No such file or directory)`,
		`1 renameat2(AT_FDCWD, "/a", 4, 0x7f00, RENAME_NOREPLACE) = -1 EEXIST (File exists)`,
		`1 symlinkat(0x1, AT_FDCWD, 0x2) = -1 EEXIST (File exists)`,
		`1 linkat(AT_FDCWD, "/a", 3</d>, 0x2, 0) = -1 EEXIST (File exists)`,
	} {
		f.Add(l)
	}
	f.Fuzz(func(t *testing.T, line string) {
		log := line + "\n"
		fast, _, err1 := unreads(log, Options{Cwd: "/cwd", MaxLineBytes: 4096})
		full, _, err2 := unreads(log, Options{Cwd: "/cwd", MaxLineBytes: 4096, Failed: true})
		if (err1 == nil) != (err2 == nil) || !reflect.DeepEqual(fast, full) {
			t.Fatalf("%q: counted %q with the early drop, %q without", line, fast, full)
		}
	})
}
