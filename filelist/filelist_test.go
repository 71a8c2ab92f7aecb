package filelist

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scratchpack/scratchpack/internal/rootpath"
)

func mktree(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for _, d := range []string{"usr/lib/x86_64-linux-gnu", "usr/lib64", "usr/share/games/fortunes", "etc", "var/empty"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.Chmod(filepath.Join(root, "var/empty"), 0o777|os.ModeSticky)
	write := func(p, s string, mode os.FileMode) {
		if err := os.WriteFile(filepath.Join(root, p), []byte(s), mode); err != nil {
			t.Fatal(err)
		}
	}
	write("usr/lib/x86_64-linux-gnu/libfoo.so.1.2.3", "ELF", 0o755)
	write("usr/share/games/fortunes/fortunes", "fortune", 0o644)
	write("etc/passwd", "root:x:0:0::/root:/bin/sh\n", 0o644)
	for _, l := range [][2]string{
		{"libfoo.so.1.2.3", "usr/lib/x86_64-linux-gnu/libfoo.so.1"},
		{"usr/lib", "lib"},
		{"usr/lib64", "lib64"},
		{"/lib/x86_64-linux-gnu/libfoo.so.1", "usr/lib64/ld.so"},
		{"fortunes", "usr/share/games/fortunes/fortunes.u8"},
		{"nowhere", "etc/dangling"},
	} {
		if err := os.Symlink(l[0], filepath.Join(root, l[1])); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Link(filepath.Join(root, "etc/passwd"), filepath.Join(root, "etc/passwd-")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(root, "etc/fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

func builder(t *testing.T, root string) *Builder {
	t.Helper()
	r, err := rootpath.New(root)
	if err != nil {
		t.Fatal(err)
	}
	return NewBuilder(r)
}

func summary(l *List) string {
	var b strings.Builder
	for _, e := range l.Entries {
		b.WriteString(e.Path + " " + string(e.Kind))
		if e.Target != "" {
			b.WriteString(" -> " + e.Target)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func TestBuilderFollowsLikeTheKernel(t *testing.T) {
	b := builder(t, mktree(t))
	canon, err := b.Add("/lib64/ld.so", Follow, Reason{Source: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if canon != "/usr/lib/x86_64-linux-gnu/libfoo.so.1.2.3" {
		t.Errorf("canonical path %s", canon)
	}
	want := `/lib symlink -> usr/lib
/lib64 symlink -> usr/lib64
/usr dir
/usr/lib dir
/usr/lib/x86_64-linux-gnu dir
/usr/lib/x86_64-linux-gnu/libfoo.so.1 symlink -> libfoo.so.1.2.3
/usr/lib/x86_64-linux-gnu/libfoo.so.1.2.3 file
/usr/lib64 dir
/usr/lib64/ld.so symlink -> /lib/x86_64-linux-gnu/libfoo.so.1
`
	if got := summary(b.List()); got != want {
		t.Errorf("got\n%swant\n%s", got, want)
	}
}

func TestBuilderKinds(t *testing.T) {
	root := mktree(t)
	b := builder(t, root)
	for _, p := range []string{"/usr/share/games/fortunes/fortunes.u8", "/etc/passwd", "/etc/passwd-", "/var/empty"} {
		if _, err := b.Add(p, Follow, Reason{Source: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.Add("/lib64", NoFollow, Reason{Source: "test"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Add("/etc/new-output", Parent, Reason{Source: "test"}); err != nil {
		t.Fatal(err)
	}
	l := b.List()
	want := `/etc dir
/etc/passwd file
/etc/passwd- hardlink -> /etc/passwd
/lib64 symlink -> usr/lib64
/usr dir
/usr/share dir
/usr/share/games dir
/usr/share/games/fortunes dir
/usr/share/games/fortunes/fortunes file
/usr/share/games/fortunes/fortunes.u8 symlink -> fortunes
/var dir
/var/empty dir
`
	if got := summary(l); got != want {
		t.Errorf("got\n%swant\n%s", got, want)
	}
	if e := l.Lookup("/var/empty"); e == nil || e.Mode != 0o1777 {
		t.Errorf("/var/empty mode = %v", e)
	}
	if e := l.Lookup("/usr/share/games/fortunes/fortunes"); e == nil || e.Size != 7 || e.Mode != 0o644 {
		t.Errorf("fortunes entry = %+v", e)
	}
	files, dirs, links, hard, bytes := l.Totals()
	if files != 2 || dirs != 7 || links != 2 || hard != 1 || bytes != 7+26 {
		t.Errorf("Totals = %d %d %d %d %d", files, dirs, links, hard, bytes)
	}
}

func TestBuilderErrors(t *testing.T) {
	b := builder(t, mktree(t))
	_, err := b.Add("/etc/missing", Follow, Reason{Source: "strace", Where: "app.strace:12"})
	var me *MissingError
	if !errors.As(err, &me) || !strings.Contains(err.Error(), "/etc/missing") || !strings.Contains(err.Error(), "app.strace:12") {
		t.Errorf("missing: %v", err)
	}
	_, err = b.Add("/etc/dangling", Follow, Reason{})
	if !errors.As(err, &me) {
		t.Errorf("dangling: %v", err)
	}
	// the dangling link itself is kept when asked for without following
	if _, err := b.Add("/etc/dangling", NoFollow, Reason{}); err != nil {
		t.Errorf("NoFollow dangling: %v", err)
	}
	_, err = b.Add("/etc/fifo", Follow, Reason{})
	var se *SkippedError
	if !errors.As(err, &se) || se.Type != "FIFO" {
		t.Errorf("fifo: %v", err)
	}
	if _, err := b.Add("relative/path", Follow, Reason{}); err == nil {
		t.Error("relative path accepted")
	}
	if b.Has("/etc/fifo") {
		t.Error("fifo was added")
	}
}

func TestTextAndJSON(t *testing.T) {
	b := builder(t, mktree(t))
	for _, p := range []string{"/lib64/ld.so", "/usr/share/games/fortunes/fortunes.u8"} {
		if _, err := b.Add(p, Follow, Reason{Source: "strace", Detail: "openat", Where: "a.strace:3"}); err != nil {
			t.Fatal(err)
		}
	}
	l := b.List()
	var text bytes.Buffer
	if err := WriteText(&text, l); err != nil {
		t.Fatal(err)
	}
	wantText := `/lib
/lib64
/usr/lib/x86_64-linux-gnu/libfoo.so.1
/usr/lib/x86_64-linux-gnu/libfoo.so.1.2.3
/usr/lib64/ld.so
/usr/share/games/fortunes/fortunes
/usr/share/games/fortunes/fortunes.u8
`
	if text.String() != wantText {
		t.Errorf("text:\n%s", text.String())
	}
	reqs, err := Read(&text, "l.txt")
	if err != nil || len(reqs) != 7 || reqs[0].Reason.Where != "l.txt:1" {
		t.Fatalf("Read text: %v %+v", err, reqs)
	}
	var js bytes.Buffer
	if err := WriteJSON(&js, l); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(js.String(), `"mode": "0755"`) || !strings.Contains(js.String(), `"where": "a.strace:3"`) {
		t.Errorf("json lacks mode or reason:\n%s", js.String())
	}
	reqs, err = Read(&js, "l.json")
	if err != nil || len(reqs) != len(l.Entries) {
		t.Fatalf("Read json: %v, %d requests", err, len(reqs))
	}
	for _, r := range reqs {
		if r.Path == "/lib64" && r.Mode != NoFollow {
			t.Errorf("symlink /lib64 read back as mode %v", r.Mode)
		}
	}
}

func TestReadErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/ok\nrelative\n", "l:2: expected an absolute path"},
		{"/ok\n\x00bin\n", "l:2: expected an absolute path, got binary data"},
		{"/" + strings.Repeat("a", MaxListLine) + "\n", "l:1: line longer than"},
		{`{"entries": [{"path": "x"}]}`, "entry 1: expected an absolute"},
		{`{"entries": [`, "invalid JSON"},
		{`{"entries": [{"path": "/a", "mode": "999"}]}`, "octal mode"},
	}
	for _, tt := range tests {
		_, err := Read(strings.NewReader(tt.in), "l")
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Read(%.30q) = %v, want %q", tt.in, err, tt.want)
		}
	}
	reqs, err := Read(strings.NewReader("# comment\n\n/a\r\n"), "l")
	if err != nil || len(reqs) != 1 || reqs[0].Path != "/a" {
		t.Errorf("comments and CRLF: %v %+v", err, reqs)
	}
}

func FuzzRead(f *testing.F) {
	f.Add([]byte("/a\n/b/c\n# x\n"))
	f.Add([]byte(`{"root": "/", "entries": [{"path": "/a", "kind": "symlink", "mode": "0755"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		reqs, err := Read(bytes.NewReader(data), "fuzz")
		if err != nil {
			return
		}
		for _, r := range reqs {
			if !strings.HasPrefix(r.Path, "/") {
				t.Fatalf("relative path accepted: %q", r.Path)
			}
		}
	})
}

// TestAddEmptyDir: the directory every image has is made (mode, root's,
// the given time), replaces one the program used (same entry whatever the
// host's is like), leaves a symlink alone, and is left out by an exclude
// of its own name, not by one of its contents.
func TestAddEmptyDir(t *testing.T) {
	epoch := time.Unix(0, 0).UTC()
	why := Reason{Source: SourceImage}
	for _, tc := range []struct {
		name     string
		setup    func(t *testing.T, root string, b *Builder)
		excludes []string
		added    bool
		kind     Kind
	}{
		{"absent", nil, nil, true, Dir},
		{"contents excluded", nil, []string{"/tmp/**"}, true, Dir},
		{"excluded", nil, []string{"/tmp"}, false, ""},
		{"used by the program", func(t *testing.T, root string, b *Builder) {
			os.Mkdir(filepath.Join(root, "tmp"), 0o700)
			os.Chtimes(filepath.Join(root, "tmp"), time.Now(), time.Now())
			if _, err := b.AddRuntimeDir("/tmp/x", true, Reason{Source: "strace"}); err != nil {
				t.Fatal(err)
			}
		}, nil, true, Dir},
		{"a symlink", func(t *testing.T, root string, b *Builder) {
			os.Mkdir(filepath.Join(root, "var"), 0o755)
			os.Mkdir(filepath.Join(root, "var/tmp"), 0o1777)
			os.Symlink("var/tmp", filepath.Join(root, "tmp"))
			if _, err := b.Add("/tmp", Mode(0), Reason{Source: "strace"}); err != nil {
				t.Fatal(err)
			}
		}, nil, false, Symlink},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			b := builder(t, root)
			pats, err := ParsePatterns(tc.excludes)
			if err != nil {
				t.Fatal(err)
			}
			b.SetFilter(&Filter{Exclude: pats})
			if tc.setup != nil {
				tc.setup(t, root, b)
			}
			added, err := b.AddEmptyDir("/tmp", 0o1777, epoch, why)
			if err != nil || added != tc.added {
				t.Fatalf("added %v, %v; want %v", added, err, tc.added)
			}
			e := b.List().Lookup("/tmp")
			switch {
			case tc.kind == "":
				if e != nil {
					t.Errorf("excluded, but in the list: %+v", e)
				}
			case e == nil || e.Kind != tc.kind:
				t.Errorf("entry %+v, want a %s", e, tc.kind)
			case tc.kind == Dir && (e.Mode != 0o1777 || e.UID != 0 || e.GID != 0 || !e.ModTime.Equal(epoch) || e.Data == nil):
				t.Errorf("entry %+v: expected the made directory", e)
			}
		})
	}
	if _, err := builder(t, t.TempDir()).AddEmptyDir("tmp", 0o1777, epoch, why); err == nil {
		t.Error("a relative path was accepted")
	}
}
