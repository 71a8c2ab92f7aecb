package collect

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/scratchpack/scratchpack/collect/strace"
)

func trace(t *testing.T, log string) map[string]Use {
	t.Helper()
	tr := NewTrace()
	p := strace.NewParser(strace.Options{Cwd: "/w"}, tr.Add)
	if err := p.Parse(strings.NewReader(log), "t.log", -1); err != nil {
		t.Fatal(err)
	}
	m := map[string]Use{}
	for _, u := range tr.Uses() {
		m[u.Path] = u
	}
	return m
}

// TestTraceNeeds: what the image needs of each path, by what the program
// did with it.
func TestTraceNeeds(t *testing.T) {
	uses := trace(t, `1 execve("/usr/bin/app", ["app"], 0x1 /* 1 var */) = 0
1 openat(AT_FDCWD, "/etc/app.conf", O_RDONLY) = 3
1 openat(AT_FDCWD, "/var/log/app.log", O_WRONLY|O_CREAT|O_APPEND, 0644) = 4
1 openat(AT_FDCWD, "/var/log/app.log", O_RDONLY) = 5
1 newfstatat(AT_FDCWD, "/usr/share/app", {st_mode=S_IFDIR|0755, st_size=4096, ...}, 0) = 0
1 lstat("/etc/alternatives/x", {st_mode=S_IFLNK|0777, st_size=4, ...}) = 0
1 openat(AT_FDCWD, "/usr/share/app/plugins", O_RDONLY|O_DIRECTORY) = 6
1 getdents64(6, 0x1 /* 3 entries */, 32768) = 80
1 mkdir("/run/app", 0755) = 0
1 unlink("/run/app.pid") = 0
1 rename("/etc/app.conf.new", "/etc/app.conf.tmp") = 0
1 openat(AT_FDCWD, "/etc/missing", O_RDONLY) = -1 ENOENT (No such file or directory)
1 chdir("/srv") = 0
1 openat(AT_FDCWD, "data.db", O_RDWR) = 7
`)
	want := map[string]struct {
		need Need
		exec bool
		gone bool
	}{
		"/usr/bin/app":           {NeedFile, true, false},
		"/etc/app.conf":          {NeedFile, false, false},
		"/var/log/app.log":       {NeedParent, false, false}, // created, then read: not an input
		"/usr/share/app":         {NeedFile, false, false},   // a stat: the directory itself
		"/etc/alternatives/x":    {NeedLink, false, false},
		"/usr/share/app/plugins": {NeedDir, false, false},
		"/run/app":               {NeedDir, false, false}, // made: a runtime directory
		"/run/app.pid":           {NeedParent, false, true},
		"/etc/app.conf.new":      {NeedParent, false, true},
		"/etc/app.conf.tmp":      {NeedParent, false, false},
		"/srv":                   {NeedDir, false, false},
		"/srv/data.db":           {NeedFile, false, false},
	}
	for p, w := range want {
		u, ok := uses[p]
		if !ok {
			t.Errorf("%s: no use", p)
			continue
		}
		if u.Need != w.need || u.Exec != w.exec || u.Gone != w.gone {
			t.Errorf("%s: need %d exec %v gone %v; want %d %v %v", p, u.Need, u.Exec, u.Gone, w.need, w.exec, w.gone)
		}
		if u.Source != SourceStrace || !strings.HasPrefix(u.Where, "t.log:") {
			t.Errorf("%s: source %s where %s", p, u.Source, u.Where)
		}
	}
	if _, ok := uses["/etc/missing"]; ok {
		t.Error("a failed open became a use")
	}
	if u := uses["/etc/app.conf"]; u.Detail != "openat" || u.Where != "t.log:2" {
		t.Errorf("reason of /etc/app.conf: %q at %q", u.Detail, u.Where)
	}
	if len(uses) != len(want) {
		t.Errorf("%d uses, want %d", len(uses), len(want))
	}
}

func TestMkdirExisting(t *testing.T) {
	tr := NewTrace()
	p := strace.NewParser(strace.Options{Failed: true}, tr.Add)
	err := p.Parse(strings.NewReader(`1 mkdir("/var/lib/nginx/body", 0700) = -1 EEXIST (File exists)
1 mkdir("/var/lib/new", 0700) = 0
1 openat(AT_FDCWD, "/etc/none", O_RDONLY) = -1 ENOENT (No such file or directory)
`), "t.log", -1)
	if err != nil {
		t.Fatal(err)
	}
	uses := map[string]Use{}
	for _, u := range tr.Uses() {
		uses[u.Path] = u
	}
	if u := uses["/var/lib/nginx/body"]; u.Need != NeedDir {
		t.Errorf("existing dir: %+v", u)
	}
	if u := uses["/var/lib/new"]; u.Need != NeedDir || !u.Created || !u.RuntimeDir() {
		t.Errorf("created dir: %+v", u)
	}
	if _, ok := uses["/etc/none"]; ok || len(uses) != 2 {
		t.Errorf("uses: %v", uses)
	}
}

func TestPycSource(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"/usr/lib/python3.11/__pycache__/os.cpython-311.pyc", "/usr/lib/python3.11/os.py"},
		{"/usr/lib/python3.11/json/__pycache__/__init__.cpython-311.opt-1.pyc", "/usr/lib/python3.11/json/__init__.py"},
		{"/app/__pycache__/my.mod.cpython-312.pyc", "/app/my.mod.py"},
		{"/usr/lib/python3.11/os.pyc", ""},
		{"/x/__pycache__/.pyc", ""},
		{"/x/__pycache__/noTag.pyc", ""},
	} {
		got, ok := pycSource(tt.in)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("pycSource(%q) = %q, %v; want %q", tt.in, got, ok, tt.want)
		}
	}
}

func TestPythonLib(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"/usr/lib/python3.11/json/decoder.py", "/usr/lib/python3.11"},
		{"/usr/local/lib/python3.12/site-packages/x.py", "/usr/local/lib/python3.12"},
		{"/usr/lib/python3/dist-packages/x.py", ""},
		{"/usr/lib/python3.11", ""},
		{"/opt/lib/pythonX.Y/a", ""},
	} {
		got, ok := pythonLib(tt.in)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("pythonLib(%q) = %q, %v; want %q", tt.in, got, ok, tt.want)
		}
	}
}

// TestQuietLinesChangeNothing: FromStrace drops fd stats and failed
// calls before splitting their arguments; on every sample log it gives
// the same uses as a parser that reads every line.
func TestQuietLinesChangeNothing(t *testing.T) {
	logs, _ := filepath.Glob("strace/testdata/samples/*.log")
	if len(logs) < 50 {
		t.Fatalf("%d sample logs", len(logs))
	}
	for _, log := range logs {
		fast, fastUnread, err := FromStrace([]string{log}, strace.Options{Cwd: "/cwd"})
		tr := NewTrace()
		var unread unreadCounter
		full := strace.ParseFiles([]string{log}, strace.Options{Cwd: "/cwd", Failed: true, Unreadable: unread.add, UIDChange: unread.uidChange}, tr.Add)
		if (err == nil) != (full == nil) {
			t.Errorf("%s: errors %v and %v", log, err, full)
			continue
		}
		if slow := tr.Uses(); !(len(fast) == 0 && len(slow) == 0) && !reflect.DeepEqual(fast, slow) {
			t.Errorf("%s: uses differ:\n%v\n%v", log, fast, tr.Uses())
		}
		if slow := unread.list(); !reflect.DeepEqual(fastUnread, slow) {
			t.Errorf("%s: unreadable calls differ:\n%v\n%v", log, fastUnread, slow)
		}
	}
}

// TestDeletedFiles: a file the program used and then removed (a stale pid
// file: read, unlinked, made anew, unlinked at exit) is Deleted and Gone,
// whatever the spelling of its path ("./postmaster.pid" relative to the
// cwd, "//"); so is a file renamed over. A file it made and removed is
// neither needed nor noted.
func TestDeletedFiles(t *testing.T) {
	uses := trace(t, `1 chdir("/srv/db") = 0
1 openat(AT_FDCWD, "./postmaster.pid", O_RDWR|O_CREAT|O_EXCL, 0600) = -1 EEXIST (File exists)
1 openat(AT_FDCWD, "./postmaster.pid", O_RDONLY) = 3
1 unlink("postmaster.pid") = 0
1 openat(AT_FDCWD, "./postmaster.pid", O_RDWR|O_CREAT|O_EXCL, 0600) = 3
1 openat(AT_FDCWD, "/srv//db/./postmaster.opts", O_WRONLY|O_CREAT|O_TRUNC, 0600) = 4
1 unlink("/srv/db/postmaster.pid") = 0
1 openat(AT_FDCWD, "/etc/app/state", O_RDONLY) = 5
1 openat(AT_FDCWD, "/etc/app/state.tmp", O_WRONLY|O_CREAT|O_EXCL, 0600) = 6
1 rename("/etc/app/state.tmp", "/etc/app/state") = 0
1 openat(AT_FDCWD, "/etc/app/../app/conf", O_RDONLY) = 7
1 openat(AT_FDCWD, "/run/x.tmp", O_WRONLY|O_CREAT|O_EXCL, 0600) = 8
1 unlink("/run/x.tmp") = 0
`)
	for p, u := range uses {
		if strings.Contains(p, "/./") || strings.Contains(p, "//") || strings.Contains(p, "..") {
			t.Errorf("not normalised: %q (%+v)", p, u)
		}
	}
	want := map[string]Use{
		"/srv/db/postmaster.pid":  {Need: NeedParent, Gone: true, Deleted: true},
		"/srv/db/postmaster.opts": {Need: NeedParent, Created: true},
		"/etc/app/state":          {Need: NeedParent, Created: true, Deleted: true},
		"/etc/app/state.tmp":      {Need: NeedParent, Gone: true},
		"/etc/app/conf":           {Need: NeedFile},
		"/run/x.tmp":              {Need: NeedParent, Gone: true},
	}
	for p, w := range want {
		u, ok := uses[p]
		if !ok {
			t.Errorf("%s: no use", p)
			continue
		}
		if u.Need != w.Need || u.Gone != w.Gone || u.Deleted != w.Deleted || u.Created != w.Created {
			t.Errorf("%s: need %d gone %v deleted %v created %v; want %d %v %v %v", p, u.Need, u.Gone, u.Deleted, u.Created, w.Need, w.Gone, w.Deleted, w.Created)
		}
	}
}

func TestNormalize(t *testing.T) {
	// /l is a symlink to /usr/lib: "/l/.." is /usr, as the kernel sees it
	canon := func(d string) string {
		if d == "/l" || strings.HasPrefix(d, "/l/") {
			return "/usr/lib" + strings.TrimPrefix(d, "/l")
		}
		return d
	}
	for _, c := range []struct{ in, want string }{
		{"/srv/db/./postmaster.pid", "/srv/db/postmaster.pid"},
		{"/srv//db///x", "/srv/db/x"},
		{"/srv/db/", "/srv/db"},
		{"/a/b/../c", "/a/c"},
		{"/l/../share/x", "/usr/share/x"},
		{"/l/./x/../y", "/usr/lib/y"},
		{"/root/.pyenv/./x", "/root/.pyenv/x"},
		{"/root/.pyenv/..x/.y", "/root/.pyenv/..x/.y"},
		{"/..", "/"},
		{"/", "/"},
		{"", ""},
		{"relative/./x", "relative/./x"},
	} {
		if got := Normalize(c.in, canon); got != c.want {
			t.Errorf("Normalize(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if got := Normalize("/l/../x", nil); got != "/x" {
		t.Errorf("lexical: %q", got)
	}
}

// FuzzNormalize: an absolute path comes back absolute, without ".", ".."
// or repeated slashes, and normalising again changes nothing.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"/srv/db/./postmaster.pid", "/a//b/../c/", "/..", "/./.", "/a/b/c/../../..", "/.hidden/./x", "/.hidden/x", "/a/..b/.c", "/a/b/.."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if !strings.HasPrefix(p, "/") {
			return
		}
		n := Normalize(p, nil)
		if !strings.HasPrefix(n, "/") || strings.Contains(n, "//") || strings.Contains(n+"/", "/./") || strings.Contains(n+"/", "/../") {
			t.Errorf("Normalize(%q) = %q", p, n)
		}
		if isClean(p) != (filepath.Clean(p) == p) {
			t.Errorf("isClean(%q) = %v, but filepath.Clean gives %q", p, isClean(p), filepath.Clean(p))
		}
		if again := Normalize(n, nil); again != n {
			t.Errorf("Normalize(%q) = %q, then %q", p, n, again)
		}
	})
}

// TestUnreadableProcesses: the calls whose path strace could not read are
// counted per process, with its program and the uid it took (apache's
// worker: setgid makes it unreadable, setuid then names www-data), the
// distinct calls sorted, and the first one's place; the uid is the one
// the command started with when the log shows no change.
func TestUnreadableProcesses(t *testing.T) {
	log := filepath.Join(t.TempDir(), "t.log")
	os.WriteFile(log, []byte(`1 execve("/usr/sbin/apache2", ["apache2"], 0x7ffd /* 3 vars */) = 0
1 clone(child_stack=NULL, flags=SIGCHLD) = 2
2 openat(AT_FDCWD, 0x7f01, O_RDONLY) = 7
2 newfstatat(7, 0x7f02, 0x7ffe, AT_EMPTY_PATH) = 0
2 openat(AT_FDCWD, 0x7f03, O_RDONLY) = -1 ENOENT (No such file or directory)
2 setuid(33) = 0
1 openat(AT_FDCWD, 0x7f04, O_RDONLY) = 3
1 openat(AT_FDCWD, "/etc/hostname", O_RDONLY) = 3
`), 0o644)
	root := 0
	uses, unread, err := FromStrace([]string{log}, strace.Options{Cwd: "/", UID: &root})
	if err != nil {
		t.Fatal(err)
	}
	want := []Unreadable{
		{Pid: 2, Command: "/usr/sbin/apache2", UID: 33, Count: 3, Calls: []string{"newfstatat", "openat"}, Where: log + ":3"},
		{Pid: 1, Command: "/usr/sbin/apache2", UID: 0, Count: 1, Calls: []string{"openat"}, Where: log + ":7"},
	}
	if !reflect.DeepEqual(unread, want) {
		t.Errorf("unreadable:\n%+v\nwant\n%+v", unread, want)
	}
	if len(uses) != 2 {
		t.Errorf("uses: %+v", uses)
	}
	if s := unread[0].String(); !strings.Contains(s, "pid 2 (/usr/sbin/apache2, uid 33): 3 calls (newfstatat, openat)") {
		t.Errorf("String: %s", s)
	}
}
