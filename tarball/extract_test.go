package tarball

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ent is one entry of a test archive. In name and link, @DIR stands for
// the sandbox's directory (the parent of the target) and @OUT for the
// canary directory beside the target.
type ent struct {
	typ  byte
	name string
	link string
	mode int64
	body string
	pax  map[string]string
}

func reg(name, body string) ent { return ent{typ: tar.TypeReg, name: name, body: body, mode: 0o644} }
func dir(name string) ent       { return ent{typ: tar.TypeDir, name: name, mode: 0o755} }
func symlink(name, to string) ent {
	return ent{typ: tar.TypeSymlink, name: name, link: to, mode: 0o777}
}
func hardlink(name, to string) ent {
	return ent{typ: tar.TypeLink, name: name, link: to, mode: 0o644}
}

// sandbox is dir/target, where archives are extracted, beside dir/outside,
// a canary tree that no extraction may change.
type sandbox struct {
	dir, target, outside string
}

var canaryTime = time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)

func newSandbox(t testing.TB) *sandbox {
	t.Helper()
	s := &sandbox{dir: t.TempDir()}
	s.target, s.outside = filepath.Join(s.dir, "target"), filepath.Join(s.dir, "outside")
	if err := s.make(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.unlock(s.dir) })
	return s
}

// make creates the target and the canary tree.
func (s *sandbox) make() error {
	for _, step := range []error{
		os.Mkdir(s.target, 0o755),
		os.MkdirAll(filepath.Join(s.outside, "sub"), 0o750),
		os.WriteFile(filepath.Join(s.outside, "canary"), []byte("canary"), 0o640),
		os.WriteFile(filepath.Join(s.outside, "sub", "file"), []byte("file"), 0o600),
		os.Symlink("canary", filepath.Join(s.outside, "link")),
		lutimes(filepath.Join(s.outside, "link"), canaryTime),
		os.Chtimes(filepath.Join(s.outside, "canary"), canaryTime, canaryTime),
		os.Chtimes(filepath.Join(s.outside, "sub", "file"), canaryTime, canaryTime),
		os.Chtimes(filepath.Join(s.outside, "sub"), canaryTime, canaryTime),
		os.Chtimes(s.outside, canaryTime, canaryTime),
	} {
		if step != nil {
			return step
		}
	}
	return nil
}

// unlock lets the owner search and remove every directory under p: an
// archive may make directories without permissions, which only root could
// remove.
func (s *sandbox) unlock(p string) {
	filepath.WalkDir(p, func(p string, e fs.DirEntry, err error) error {
		if e != nil && e.IsDir() {
			os.Chmod(p, 0o700)
		}
		return nil
	})
}

// reset empties the target for the next extraction, or, when escaped
// is set, makes the whole sandbox again.
func (s *sandbox) reset(escaped bool) error {
	p := s.target
	if escaped {
		p = s.dir
	}
	s.unlock(p)
	if err := os.RemoveAll(p); err != nil {
		return err
	}
	if escaped {
		if err := os.Mkdir(s.dir, 0o700); err != nil {
			return err
		}
		return s.make()
	}
	return os.Mkdir(s.target, 0o755)
}

func (s *sandbox) expand(p string) string {
	p = strings.ReplaceAll(p, "@OUT", s.outside)
	return strings.ReplaceAll(p, "@DIR", s.dir)
}

// tarOf writes the entries as an uncompressed archive. Entries that
// archive/tar refuses to write are left out when lenient is set.
func (s *sandbox) tarOf(t testing.TB, ents []ent, lenient bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range ents {
		h := &tar.Header{
			Typeflag:   e.typ,
			Name:       s.expand(e.name),
			Linkname:   s.expand(e.link),
			Mode:       e.mode,
			Size:       int64(len(e.body)),
			ModTime:    time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC),
			PAXRecords: e.pax,
			Format:     tar.FormatPAX,
		}
		if e.typ != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			if lenient {
				continue
			}
			t.Fatalf("writing %q: %v", e.name, err)
		}
		if h.Size > 0 {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// snapshot describes every file under root: type, mode, owners, links,
// size, times, contents and extended attributes.
func snapshot(t testing.TB, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		var st syscall.Stat_t
		if err := syscall.Lstat(p, &st); err != nil {
			return err
		}
		desc := fmt.Sprintf("mode %o nlink %d uid %d gid %d size %d mtime %d.%d", st.Mode, st.Nlink, st.Uid, st.Gid, st.Size, st.Mtim.Sec, st.Mtim.Nsec)
		switch st.Mode & syscall.S_IFMT {
		case syscall.S_IFLNK:
			l, err := os.Readlink(p)
			if err != nil {
				return err
			}
			desc += " -> " + l
		case syscall.S_IFREG:
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			desc += fmt.Sprintf(" sha256 %x", sha256.Sum256(data))
		}
		if st.Mode&syscall.S_IFMT != syscall.S_IFLNK {
			desc += " xattrs " + xattrList(p)
		}
		out[strings.TrimPrefix(p, root)] = desc
		return nil
	})
	if err != nil {
		t.Fatalf("walking %s: %v", root, err)
	}
	return out
}

func xattrList(p string) string {
	buf := make([]byte, 64<<10)
	n, err := syscall.Listxattr(p, buf)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	var names []string
	for _, b := range bytes.Split(buf[:n], []byte{0}) {
		if len(b) > 0 {
			names = append(names, string(b))
		}
	}
	sort.Strings(names)
	var parts []string
	for _, name := range names {
		v := make([]byte, 64<<10)
		m, _ := syscall.Getxattr(p, name, v)
		parts = append(parts, fmt.Sprintf("%s=%x", name, v[:max(m, 0)]))
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// escapes reports what an extraction changed outside the target: the
// sandbox must hold only target (still a directory) and the canary tree,
// unchanged.
func (s *sandbox) escapes(t testing.TB, before map[string]string) []string {
	t.Helper()
	var bad []string
	names, err := os.ReadDir(s.dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if n.Name() != "target" && n.Name() != "outside" {
			bad = append(bad, "created "+filepath.Join(s.dir, n.Name()))
		}
	}
	if st, err := os.Lstat(s.target); err != nil || !st.IsDir() {
		bad = append(bad, fmt.Sprintf("the target is no longer a directory (%v)", err))
	}
	after := snapshot(t, s.outside)
	for p, d := range after {
		if before[p] != d {
			bad = append(bad, fmt.Sprintf("outside%s: was %q, now %q", p, before[p], d))
		}
	}
	for p := range before {
		if _, ok := after[p]; !ok {
			bad = append(bad, "removed outside"+p)
		}
	}
	sort.Strings(bad)
	return bad
}

func (s *sandbox) extract(t testing.TB, archive []byte, opts ExtractOptions) error {
	t.Helper()
	r, err := NewReader(bytes.NewReader(archive))
	if err != nil {
		return err
	}
	defer r.Close()
	return Extract(context.Background(), r, s.target, opts)
}

// refused is the error Extract gives for an entry it refuses on purpose.
const refused = "UnsafeEntryError"

var (
	deep    = strings.Repeat("d/", 200) + "f"
	tooLong = strings.Repeat("long-name/", 500) + "f" // beyond PATH_MAX
)

// extractCases are archives and what extracting each must do; FuzzExtract
// starts from them too.
var extractCases = []struct {
	name string
	ents []ent
	// err is "" for success, refused for an UnsafeEntryError, or
	// text the error must hold.
	err string
	// want maps a path under the target to what must be there:
	// "dir", "-> link", or a file's contents.
	want map[string]string
}{
	{name: "files dirs and links",
		ents: []ent{dir("etc/"), reg("etc/hostname", "box\n"), symlink("etc/alias", "hostname"), hardlink("etc/again", "etc/hostname"), reg("./bin/sh", "#!")},
		want: map[string]string{"etc": "dir", "etc/hostname": "box\n", "etc/alias": "-> hostname", "etc/again": "box\n", "bin/sh": "#!"}},
	{name: "dot entries are skipped", ents: []ent{dir("./"), dir("."), reg("./a", "a")}, want: map[string]string{"a": "a"}},
	{name: "implied parents", ents: []ent{reg("x/y/z", "z")}, want: map[string]string{"x/y": "dir", "x/y/z": "z"}},
	{name: "deep path", ents: []ent{reg(deep, "deep")}, want: map[string]string{deep: "deep"}},
	{name: "path beyond PATH_MAX", ents: []ent{reg(tooLong, "x")}, err: "file name too long"},
	{name: "symlink pointing outside is kept as a link", ents: []ent{symlink("out", "@OUT/canary"), symlink("rel", "../outside")},
		want: map[string]string{"out": "-> @OUT/canary", "rel": "-> ../outside"}},
	{name: "directory entry twice", ents: []ent{dir("d/"), dir("d/"), reg("d/f", "f")}, want: map[string]string{"d/f": "f"}},

	{name: "absolute name", ents: []ent{reg("/etc/evil", "x")}, err: refused},
	{name: "absolute name to the canary", ents: []ent{reg("@OUT/canary", "x")}, err: refused},
	{name: "dot-dot", ents: []ent{reg("../evil", "x")}, err: refused},
	{name: "dot-dot after a directory", ents: []ent{reg("a/../../evil", "x")}, err: refused},
	{name: "dot-dot that stays inside", ents: []ent{reg("a/../b", "x")}, err: refused},
	{name: "dot-dot directory", ents: []ent{dir("../outside/")}, err: refused},
	{name: "dot-dot symlink name", ents: []ent{symlink("../outside/new", "x")}, err: refused},

	{name: "file through an absolute symlink", ents: []ent{symlink("escape", "@OUT"), reg("escape/canary2", "x")}, err: refused},
	{name: "file through a relative symlink", ents: []ent{symlink("escape", "../outside"), reg("escape/sub/new", "x")}, err: refused},
	{name: "file through a chain of symlinks", ents: []ent{symlink("b", "@DIR"), symlink("a", "b"), reg("a/new", "x")}, err: refused},
	{name: "file through a symlinked parent deep down", ents: []ent{dir("a/"), symlink("a/b", "../../outside"), reg("a/b/c/new", "x")}, err: refused},
	{name: "file over a symlink to an outside file", ents: []ent{symlink("escape", "@OUT/canary"), reg("escape", "overwritten")}, err: "file exists"},
	{name: "file over a dangling symlink", ents: []ent{symlink("escape", "@OUT/new"), reg("escape", "x")}, err: "file exists"},
	{name: "directory over a symlink to an outside directory", ents: []ent{symlink("escape", "@OUT/sub"), {typ: tar.TypeDir, name: "escape/", mode: 0o777}}, err: refused},
	{name: "directory with attributes over a symlink", ents: []ent{symlink("escape", "@OUT"), {typ: tar.TypeDir, name: "escape", mode: 0o700, pax: map[string]string{"SCHILY.xattr.user.evil": "x"}}}, err: refused},
	{name: "directory through a symlink", ents: []ent{symlink("escape", "@OUT"), dir("escape/newdir/")}, err: refused},
	{name: "symlink through a symlink", ents: []ent{symlink("escape", "@OUT"), symlink("escape/new", "x")}, err: refused},

	{name: "hardlink to a relative outside file", ents: []ent{hardlink("link", "../outside/canary")}, err: refused},
	{name: "hardlink to an absolute outside file", ents: []ent{hardlink("link", "@OUT/canary")}, err: refused},
	{name: "hardlink through a symlink", ents: []ent{symlink("escape", "@OUT"), hardlink("link", "escape/canary")}, err: refused},
	{name: "hardlink placed through a symlink", ents: []ent{reg("f", "f"), symlink("escape", "@OUT"), hardlink("escape/new", "f")}, err: refused},
	{name: "hardlink to a symlink to outside links the symlink", ents: []ent{symlink("s", "@OUT/canary"), hardlink("h", "s")},
		want: map[string]string{"h": "-> @OUT/canary"}},
	{name: "hardlink to the target itself", ents: []ent{hardlink("link", ".")}, err: refused},
	{name: "hardlink to a missing file", ents: []ent{hardlink("link", "nothing")}, err: "no such file"},

	{name: "character device", ents: []ent{{typ: tar.TypeChar, name: "null", mode: 0o666}}, err: refused},
	{name: "block device", ents: []ent{{typ: tar.TypeBlock, name: "sda", mode: 0o660}}, err: refused},
	{name: "fifo", ents: []ent{{typ: tar.TypeFifo, name: "fifo", mode: 0o644}}, err: refused},

	{name: "duplicate file", ents: []ent{reg("f", "first"), reg("f", "second")}, err: "file exists"},
	{name: "file over a directory", ents: []ent{dir("d/"), reg("d", "x")}, err: "file exists"},
	{name: "directory over a file", ents: []ent{reg("d", "x"), dir("d/")}, err: "not a directory"},
}

func TestExtract(t *testing.T) {
	for _, tt := range extractCases {
		t.Run(tt.name, func(t *testing.T) {
			s := newSandbox(t)
			before := snapshot(t, s.outside)
			err := s.extract(t, s.tarOf(t, tt.ents, false), ExtractOptions{})
			s.checkResult(t, before, "the extraction", err, tt.err)
			s.checkWant(t, tt.want)
		})
	}
}

// checkResult checks err against want ("" for success, refused for an
// UnsafeEntryError, or text the error must hold) and that what (which
// returned err) changed nothing outside the target.
func (s *sandbox) checkResult(t *testing.T, before map[string]string, what string, err error, want string) {
	t.Helper()
	var ue *UnsafeEntryError
	switch {
	case want == "" && err != nil:
		t.Errorf("err = %v", err)
	case want == refused && !errors.As(err, &ue):
		t.Errorf("err = %v, want an UnsafeEntryError", err)
	case want != "" && want != refused && (err == nil || !strings.Contains(err.Error(), want)):
		t.Errorf("err = %v, want %q", err, want)
	}
	if bad := s.escapes(t, before); len(bad) > 0 {
		t.Errorf("%s changed things outside its directory:\n%s", what, strings.Join(bad, "\n"))
	}
}

// checkWant checks what is at each path of want under the target: "dir",
// "-> link" (@OUT and @DIR expanded), "absent", or a file's contents.
func (s *sandbox) checkWant(t *testing.T, want map[string]string) {
	t.Helper()
	for p, w := range want {
		full := filepath.Join(s.target, p)
		st, err := os.Lstat(full)
		var got string
		switch {
		case os.IsNotExist(err):
			got = "absent"
		case err != nil:
			t.Errorf("%s: %v", p, err)
			continue
		case st.IsDir():
			got = "dir"
		case st.Mode()&os.ModeSymlink != 0:
			l, _ := os.Readlink(full)
			got = "-> " + l
			w = s.expand(w)
		default:
			data, _ := os.ReadFile(full)
			got = string(data)
		}
		if got != w {
			t.Errorf("%s: %q, want %q", p, got, w)
		}
	}
}

// TestExtractMetadata: modes with setuid, setgid and sticky bits,
// modification times, extended attributes and, as root, owners.
func TestExtractMetadata(t *testing.T) {
	s := newSandbox(t)
	mtime := time.Date(2021, 6, 7, 8, 9, 10, 0, time.UTC)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range []*tar.Header{
		{Typeflag: tar.TypeDir, Name: "tmp/", Mode: 0o1777, ModTime: mtime, Uid: 12, Gid: 34},
		{Typeflag: tar.TypeReg, Name: "tmp/suid", Mode: 0o4755, ModTime: mtime, Uid: 56, Gid: 78, Size: 1,
			PAXRecords: map[string]string{"SCHILY.xattr.user.origin": "test"}},
		{Typeflag: tar.TypeReg, Name: "sgid", Mode: 0o2711, ModTime: mtime},
		{Typeflag: tar.TypeSymlink, Name: "tmp/link", Linkname: "suid", ModTime: mtime},
	} {
		h.Format = tar.FormatPAX
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write(make([]byte, h.Size))
	}
	tw.Close()
	root := os.Geteuid() == 0
	if err := s.extract(t, buf.Bytes(), ExtractOptions{Owners: root}); err != nil {
		if strings.Contains(err.Error(), "user.origin") && errors.Is(err, syscall.ENOTSUP) {
			t.Skipf("%s does not keep user extended attributes: %v", s.dir, err)
		}
		t.Fatal(err)
	}
	for _, tt := range []struct {
		path     string
		mode     os.FileMode
		uid, gid int
	}{
		{"tmp", os.ModeDir | os.ModeSticky | 0o777, 12, 34},
		{"tmp/suid", os.ModeSetuid | 0o755, 56, 78},
		{"sgid", os.ModeSetgid | 0o711, 0, 0},
	} {
		st, err := os.Lstat(filepath.Join(s.target, tt.path))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode() != tt.mode || !st.ModTime().Equal(mtime) {
			t.Errorf("%s: mode %v mtime %v, want %v %v", tt.path, st.Mode(), st.ModTime(), tt.mode, mtime)
		}
		sys := st.Sys().(*syscall.Stat_t)
		if root && (int(sys.Uid) != tt.uid || int(sys.Gid) != tt.gid) {
			t.Errorf("%s: owner %d:%d, want %d:%d", tt.path, sys.Uid, sys.Gid, tt.uid, tt.gid)
		}
	}
	v := make([]byte, 16)
	if n, err := syscall.Getxattr(filepath.Join(s.target, "tmp/suid"), "user.origin", v); err != nil || string(v[:n]) != "test" {
		t.Errorf("user.origin: %q %v", v[:max(n, 0)], err)
	}
}

// TestExtractWrittenArchive extracts what Write wrote: the same tree.
func TestExtractWrittenArchive(t *testing.T) {
	root, l := fixture(t)
	for _, c := range []Compression{Gzip, Zstd, None} {
		t.Run(string(c), func(t *testing.T) {
			s := newSandbox(t)
			if err := s.extract(t, write(t, root, l, Options{Compression: c}), ExtractOptions{Owners: true}); err != nil {
				t.Fatal(err)
			}
			for _, e := range l.Entries {
				want := snapshot(t, filepath.Join(root, e.Path))[""]
				got := snapshot(t, filepath.Join(s.target, e.Path))[""]
				// The archive keeps whole seconds; the size of a
				// directory depends on the file system; Extract leaves
				// a symlink's owner and time as the link was made.
				want, got = seconds(want), seconds(got)
				switch e.Kind {
				case "dir":
					want, got = dropField(want, "size"), dropField(got, "size")
				case "symlink":
					for _, f := range []string{"mtime", "uid", "gid"} {
						want, got = dropField(want, f), dropField(got, f)
					}
				}
				if got != want {
					t.Errorf("%s:\n got %s\nwant %s", e.Path, got, want)
				}
			}
		})
	}
}

func seconds(desc string) string {
	f := strings.Fields(desc)
	for i := 0; i+1 < len(f); i++ {
		if f[i] == "mtime" {
			f[i+1], _, _ = strings.Cut(f[i+1], ".")
		}
	}
	return strings.Join(f, " ")
}

func dropField(desc, field string) string {
	f := strings.Fields(desc)
	for i := 0; i+1 < len(f); i++ {
		if f[i] == field {
			return strings.Join(append(f[:i:i], f[i+2:]...), " ")
		}
	}
	return desc
}

// TestExtractRefusesSparse: a sparse file of 5 GB of holes in 10 KB of
// archive (made with Python's tarfile, PAX format GNU 1.0, gzipped) is
// refused at once rather than written out.
func TestExtractRefusesSparse(t *testing.T) {
	s := newSandbox(t)
	data, err := os.ReadFile(filepath.Join("testdata", "sparse-5GB.tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = s.extract(t, data, ExtractOptions{})
	var ue *UnsafeEntryError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "sparse") {
		t.Errorf("err = %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
	if _, err := os.Lstat(filepath.Join(s.target, "big")); !os.IsNotExist(err) {
		t.Errorf("big: %v", err)
	}
}

func TestExtractCancelled(t *testing.T) {
	s := newSandbox(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r, err := NewReader(bytes.NewReader(s.tarOf(t, []ent{reg("f", "x")}, false)))
	if err != nil {
		t.Fatal(err)
	}
	if err := Extract(ctx, r, s.target, ExtractOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
	if entries, _ := os.ReadDir(s.target); len(entries) != 0 {
		t.Errorf("a cancelled extraction wrote %v", entries)
	}
}

func TestCleanName(t *testing.T) {
	for _, tt := range []struct {
		in, want string
		unsafe   bool
	}{
		{"a/b/", "a/b", false},
		{"./a//b", "a/b", false},
		{".", "", false},
		{"./", "", false},
		{"a/./b", "a/b", false},
		{"", "", true},
		{"/a", "", true},
		{"a/../b", "", true},
		{"..", "", true},
		{"a\x00b", "", true},
	} {
		got, err := CleanName(tt.in)
		var ue *UnsafeEntryError
		if got != tt.want || errors.As(err, &ue) != tt.unsafe || (err != nil) != tt.unsafe {
			t.Errorf("CleanName(%q) = %q, %v", tt.in, got, err)
		}
	}
}
