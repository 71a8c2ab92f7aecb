package tarball

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// whiteout and opaque are the layer entries that remove.
func whiteout(dir, name string) ent {
	return ent{typ: tar.TypeReg, name: filepath.Join(dir, ".wh."+name), mode: 0o600}
}
func opaque(dir string) ent {
	return ent{typ: tar.TypeReg, name: filepath.Join(dir, ".wh..wh..opq"), mode: 0o600}
}

// applyCases are images (layers of entries) and what applying them must
// do; FuzzApplyLayers starts from them too. err and want are as in
// extractCases, and want's "absent" says nothing is there.
var applyCases = []struct {
	name   string
	layers [][]ent
	err    string
	want   map[string]string
}{
	{name: "a later layer replaces a file",
		layers: [][]ent{{reg("etc/motd", "one")}, {reg("etc/motd", "two")}},
		want:   map[string]string{"etc/motd": "two"}},
	{name: "whiteout removes a file of an earlier layer",
		layers: [][]ent{{dir("etc/"), reg("etc/a", "a"), reg("etc/b", "b")}, {dir("etc/"), whiteout("etc", "a")}},
		want:   map[string]string{"etc/a": "absent", "etc/b": "b"}},
	{name: "whiteout removes a directory tree",
		layers: [][]ent{{reg("d/sub/f", "f"), reg("keep", "k")}, {whiteout(".", "d")}},
		want:   map[string]string{"d": "absent", "keep": "k"}},
	{name: "whiteout of a symlink to outside removes the link",
		layers: [][]ent{{symlink("escape", "@OUT/canary")}, {whiteout(".", "escape")}},
		want:   map[string]string{"escape": "absent"}},
	{name: "whiteout of a name never made", layers: [][]ent{{whiteout("x", "nothing")}}},
	{name: "opaque directory",
		layers: [][]ent{{reg("d/old", "old"), reg("d/sub/deep", "deep"), reg("other", "o")}, {dir("d/"), opaque("d"), reg("d/new", "new")}},
		want:   map[string]string{"d": "dir", "d/old": "absent", "d/sub": "absent", "d/new": "new", "other": "o"}},
	{name: "opaque marker after the entries of its layer keeps them",
		layers: [][]ent{{reg("d/old", "old"), reg("d/sub/old", "x")}, {dir("d/"), reg("d/new", "new"), reg("d/sub/new", "y"), opaque("d")}},
		want:   map[string]string{"d/old": "absent", "d/new": "new", "d/sub/old": "absent", "d/sub/new": "y"}},
	{name: "hardlink to a file of an earlier layer",
		layers: [][]ent{{reg("bin/tool", "tool")}, {hardlink("usr/bin/tool", "bin/tool")}},
		want:   map[string]string{"usr/bin/tool": "tool", "bin/tool": "tool"}},
	{name: "file over a directory of an earlier layer",
		layers: [][]ent{{reg("d/f", "f")}, {reg("d", "now a file")}},
		want:   map[string]string{"d": "now a file"}},
	{name: "directory over a file of an earlier layer",
		layers: [][]ent{{reg("d", "file")}, {dir("d/"), reg("d/f", "f")}},
		want:   map[string]string{"d": "dir", "d/f": "f"}},
	{name: "directory over a symlink to outside replaces the link",
		layers: [][]ent{{symlink("escape", "@OUT")}, {dir("escape/"), reg("escape/canary", "inside")}},
		want:   map[string]string{"escape": "dir", "escape/canary": "inside"}},
	{name: "file over a symlink to an outside file replaces the link",
		layers: [][]ent{{symlink("escape", "@OUT/canary")}, {reg("escape", "inside")}},
		want:   map[string]string{"escape": "inside"}},
	{name: "symlink over a file",
		layers: [][]ent{{reg("lib", "x")}, {symlink("lib", "usr/lib")}},
		want:   map[string]string{"lib": "-> usr/lib"}},
	{name: "fifo is made", layers: [][]ent{{{typ: tar.TypeFifo, name: "run/fifo", mode: 0o600}}}},
	{name: "devices are skipped",
		layers: [][]ent{{{typ: tar.TypeChar, name: "dev/null", mode: 0o666}, {typ: tar.TypeBlock, name: "dev/sda", mode: 0o660}}},
		want:   map[string]string{"dev/null": "absent", "dev/sda": "absent", "dev": "dir"}},

	{name: "whiteout under a fifo does not block (it opened the fifo)",
		layers: [][]ent{{{typ: tar.TypeFifo, name: "escape", mode: 0o600}}, {whiteout("escape", "canary")}}},
	{name: "whiteout of ..", layers: [][]ent{{reg("a/f", "f")}, {reg("a/.wh...", "")}}, err: refused},
	{name: "whiteout of .", layers: [][]ent{{reg("a/f", "f")}, {reg("a/.wh..", "")}}, err: refused},
	{name: "whiteout with an empty name", layers: [][]ent{{reg("a/f", "f")}, {reg("a/.wh.", "")}}, err: refused},
	{name: "whiteout of .. at the top", layers: [][]ent{{reg(".wh...", "")}}, err: refused},
	{name: "whiteout with an absolute name", layers: [][]ent{{reg("/.wh.outside", "")}}, err: refused},
	{name: "whiteout with an absolute name to the canary", layers: [][]ent{{reg("@OUT/.wh.canary", "")}}, err: refused},
	{name: "whiteout with .. in its directory", layers: [][]ent{{reg("../outside/.wh.canary", "")}}, err: refused},
	{name: "whiteout through a symlink", layers: [][]ent{{symlink("escape", "@OUT")}, {whiteout("escape", "canary")}}, err: refused},
	{name: "whiteout through a relative symlink", layers: [][]ent{{symlink("escape", "../outside")}, {whiteout("escape/sub", "file")}}, err: refused},
	{name: "opaque marker in a symlink to outside", layers: [][]ent{{symlink("escape", "@OUT")}, {opaque("escape")}}, err: refused},
	{name: "opaque marker at the top of a symlinked path", layers: [][]ent{{symlink("escape", "../outside")}, {opaque("escape/sub")}}, err: refused},
	{name: "file through a symlink of an earlier layer", layers: [][]ent{{symlink("escape", "@OUT")}, {reg("escape/new", "x")}}, err: refused},
	{name: "directory through a symlink of an earlier layer", layers: [][]ent{{symlink("escape", "../outside")}, {dir("escape/sub/new/")}}, err: refused},
	{name: "hardlink to an outside file", layers: [][]ent{{reg("f", "f")}, {hardlink("link", "../outside/canary")}}, err: refused},
	{name: "hardlink to an absolute outside file", layers: [][]ent{{hardlink("link", "@OUT/canary")}}, err: refused},
	{name: "hardlink through a symlink of an earlier layer", layers: [][]ent{{symlink("escape", "@OUT")}, {hardlink("link", "escape/canary")}}, err: refused},
	{name: "hardlink to a symlink to outside links the symlink",
		layers: [][]ent{{symlink("s", "@OUT/canary")}, {hardlink("h", "s")}},
		want:   map[string]string{"h": "-> @OUT/canary"}},
	{name: "symlink named through a symlink", layers: [][]ent{{symlink("escape", "@OUT")}, {symlink("escape/new", "x")}}, err: refused},
	{name: "xattr on a directory replacing a symlink stays inside",
		layers: [][]ent{{symlink("escape", "@OUT")}, {{typ: tar.TypeDir, name: "escape", mode: 0o700, pax: map[string]string{"SCHILY.xattr.user.evil": "x"}}}},
		want:   map[string]string{"escape": "dir"}},
}

func (s *sandbox) apply(t testing.TB, layers [][]ent, lenient bool, opts ExtractOptions) (*Applier, error) {
	t.Helper()
	a := NewApplier(s.target, opts)
	for _, l := range layers {
		r, err := NewReader(bytes.NewReader(s.tarOf(t, l, lenient)))
		if err != nil {
			return a, err
		}
		err = a.Apply(context.Background(), r)
		r.Close()
		if err != nil {
			return a, err
		}
	}
	return a, a.Finish()
}

func TestApplyLayers(t *testing.T) {
	for _, tt := range applyCases {
		t.Run(tt.name, func(t *testing.T) {
			s := newSandbox(t)
			before := snapshot(t, s.outside)
			_, err := s.apply(t, tt.layers, false, ExtractOptions{})
			s.checkResult(t, before, "applying the layers", err, tt.err)
			s.checkWant(t, tt.want)
		})
	}
}

// TestApplyMetadata: owners, modes, xattrs and times, of symlinks too,
// and directory times as the last layer naming them set them, although
// later layers added entries to them.
func TestApplyMetadata(t *testing.T) {
	root := os.Geteuid() == 0
	s := newSandbox(t)
	old := time.Date(2011, 1, 2, 3, 4, 5, 0, time.UTC)
	newer := time.Date(2022, 6, 7, 8, 9, 10, 0, time.UTC)
	var l1, l2 bytes.Buffer
	w := func(buf *bytes.Buffer, hs ...*tar.Header) {
		tw := tar.NewWriter(buf)
		for _, h := range hs {
			h.Format = tar.FormatPAX
			if err := tw.WriteHeader(h); err != nil {
				t.Fatal(err)
			}
			if h.Size > 0 {
				tw.Write(bytes.Repeat([]byte("x"), int(h.Size)))
			}
		}
		tw.Close()
	}
	w(&l1,
		&tar.Header{Typeflag: tar.TypeDir, Name: "srv/", Mode: 0o750, Uid: 1000, Gid: 1001, ModTime: old},
		&tar.Header{Typeflag: tar.TypeReg, Name: "srv/app", Mode: 0o4755, Uid: 1000, Gid: 1001, Size: 3, ModTime: old,
			PAXRecords: map[string]string{"SCHILY.xattr.user.team": "tools"}},
		&tar.Header{Typeflag: tar.TypeSymlink, Name: "srv/current", Linkname: "app", Uid: 1002, Gid: 1003, ModTime: old})
	w(&l2,
		&tar.Header{Typeflag: tar.TypeDir, Name: "opt/", Mode: 0o700, ModTime: newer},
		&tar.Header{Typeflag: tar.TypeReg, Name: "srv/added", Mode: 0o600, Size: 1, ModTime: newer})
	a := NewApplier(s.target, ExtractOptions{Owners: root})
	for _, l := range []*bytes.Buffer{&l1, &l2} {
		r, err := NewReader(l)
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Apply(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Finish(); err != nil {
		t.Fatal(err)
	}
	check := func(name string, mode os.FileMode, uid, gid int, mtime time.Time) {
		t.Helper()
		var st syscall.Stat_t
		if err := syscall.Lstat(filepath.Join(s.target, name), &st); err != nil {
			t.Fatal(err)
		}
		if got := os.FileMode(st.Mode & 0o7777); mode != 0 && got != mode {
			t.Errorf("%s: mode %o, want %o", name, got, mode)
		}
		if root && (int(st.Uid) != uid || int(st.Gid) != gid) {
			t.Errorf("%s: owner %d:%d, want %d:%d", name, st.Uid, st.Gid, uid, gid)
		}
		if got := time.Unix(st.Mtim.Sec, st.Mtim.Nsec); !got.Equal(mtime) {
			t.Errorf("%s: mtime %v, want %v", name, got.UTC(), mtime)
		}
	}
	check("srv", 0o750, 1000, 1001, old) // srv/added came later
	check("srv/app", 0o4755, 1000, 1001, old)
	check("srv/current", 0, 1002, 1003, old)
	check("opt", 0o700, 0, 0, newer)
	if got := xattrList(filepath.Join(s.target, "srv/app")); got != "[user.team=746f6f6c73]" {
		t.Errorf("srv/app xattrs %s", got)
	}
}
