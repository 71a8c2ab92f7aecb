package tarball

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/scratchpack/scratchpack/filelist"
	"github.com/scratchpack/scratchpack/internal/rootpath"
)

var update = flag.Bool("update", false, "rewrite golden files")

// fixture makes a small root with fixed contents, modes, owners and
// times, and returns its list. Owners need root: CI runs as root.
func fixture(t *testing.T) (string, *filelist.List) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to set owners and file capabilities (CI runs as root)")
	}
	root := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "usr/bin"), 0o755))
	must(os.MkdirAll(filepath.Join(root, "usr/lib"), 0o755))
	must(os.MkdirAll(filepath.Join(root, "srv/ünïcode dir"), 0o750))
	must(os.WriteFile(filepath.Join(root, "usr/bin/app"), bytes.Repeat([]byte("app binary "), 5000), 0o755))
	must(os.WriteFile(filepath.Join(root, "usr/lib/libx.so.1.0"), []byte("library"), 0o644))
	must(os.WriteFile(filepath.Join(root, "srv/ünïcode dir/"+strings.Repeat("long-name-", 12)), []byte("x"), 0o600))
	must(os.Symlink("libx.so.1.0", filepath.Join(root, "usr/lib/libx.so.1")))
	must(os.Symlink("usr/lib", filepath.Join(root, "lib")))
	must(os.Link(filepath.Join(root, "usr/bin/app"), filepath.Join(root, "usr/bin/app-alias")))
	must(os.Chmod(filepath.Join(root, "usr/bin/app"), 0o755|os.ModeSetuid))
	mtime := time.Date(2024, 1, 2, 3, 4, 5, 600, time.UTC)
	err := filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if err := os.Lchown(p, 1000, 1000); err != nil {
			return err
		}
		return lutimes(p, mtime)
	})
	must(err)
	must(os.Lchown(filepath.Join(root, "usr/bin/app"), 0, 0))
	must(os.Chmod(filepath.Join(root, "usr/bin/app"), 0o755|os.ModeSetuid)) // chown cleared setuid
	must(os.Chtimes(filepath.Join(root, "usr/bin/app"), mtime, mtime))
	// Capabilities last: chown drops security.capability.
	// cap_net_bind_service+ep, VFS_CAP_REVISION_2
	capv := make([]byte, 20)
	binary.LittleEndian.PutUint32(capv[0:], 0x02000001)
	binary.LittleEndian.PutUint32(capv[4:], 1<<10)
	must(syscall.Setxattr(filepath.Join(root, "usr/lib/libx.so.1.0"), "security.capability", capv, 0))
	must(syscall.Setxattr(filepath.Join(root, "usr/lib/libx.so.1.0"), "user.origin", []byte("test"), 0))
	res, err := rootpath.New(root)
	must(err)
	b := filelist.NewBuilder(res)
	for _, p := range []string{"/lib/libx.so.1", "/usr/bin/app", "/usr/bin/app-alias", "/srv/ünïcode dir/" + strings.Repeat("long-name-", 12)} {
		_, err := b.Add(p, filelist.Follow, filelist.Reason{Source: "test"})
		must(err)
	}
	return root, b.List()
}

func write(t *testing.T, root string, l *filelist.List, opts Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := Write(context.Background(), &buf, root, l.Entries, opts); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestGolden(t *testing.T) {
	root, l := fixture(t)
	for _, c := range []Compression{None, Gzip, Zstd} {
		t.Run(string(c), func(t *testing.T) {
			a := write(t, root, l, Options{Compression: c})
			b := write(t, root, l, Options{Compression: c})
			if !bytes.Equal(a, b) {
				t.Fatal("two writes of the same files differ")
			}
			golden := filepath.Join("testdata", "rootfs.tar."+string(c))
			if *update {
				os.MkdirAll("testdata", 0o755)
				if err := os.WriteFile(golden, a, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (go test -update writes it)", err)
			}
			if !bytes.Equal(a, want) {
				t.Errorf("archive differs from %s (%d vs %d bytes); go test -update rewrites it after review", golden, len(a), len(want))
			}
		})
	}
}

type entry struct {
	hdr  *tar.Header
	data []byte
}

func readTar(t *testing.T, r io.Reader) []entry {
	t.Helper()
	tr := tar.NewReader(r)
	var out []entry
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, entry{h, data})
	}
}

// TestRoundTrip reads the archive back: names, order, types, modes,
// owners, links, capabilities and every byte of every file.
// decompressed is the tar stream of an archive written with compression c.
func decompressed(t *testing.T, c Compression, raw []byte) io.Reader {
	t.Helper()
	var r io.Reader = bytes.NewReader(raw)
	switch c {
	case Gzip:
		zr, err := gzip.NewReader(r)
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	case Zstd:
		zr, err := zstd.NewReader(r)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(zr.Close)
		r = zr
	}
	return r
}

func TestRoundTrip(t *testing.T) {
	root, l := fixture(t)
	for _, c := range []Compression{Gzip, Zstd, None} {
		raw := write(t, root, l, Options{Compression: c})
		got := readTar(t, decompressed(t, c, raw))
		if len(got) != len(l.Entries) {
			t.Fatalf("%s: %d entries, want %d", c, len(got), len(l.Entries))
		}
		for i, e := range l.Entries {
			h := got[i].hdr
			name := strings.TrimPrefix(e.Path, "/")
			if e.Kind == filelist.Dir {
				name += "/"
			}
			if h.Name != name || h.Uname != "" || h.Gname != "" || h.ModTime.Nanosecond() != 0 {
				t.Errorf("%s: header %+v", e.Path, h)
			}
			if h.Mode != int64(e.Mode) || h.Uid != e.UID || h.Gid != e.GID {
				t.Errorf("%s: mode %o uid %d gid %d, want %o %d %d", e.Path, h.Mode, h.Uid, h.Gid, e.Mode, e.UID, e.GID)
			}
			switch e.Kind {
			case filelist.File:
				src, err := os.ReadFile(filepath.Join(root, e.Path))
				if err != nil {
					t.Fatal(err)
				}
				if h.Typeflag != tar.TypeReg || !bytes.Equal(got[i].data, src) {
					t.Errorf("%s: content differs from the source", e.Path)
				}
			case filelist.Symlink:
				if h.Typeflag != tar.TypeSymlink || h.Linkname != e.Target {
					t.Errorf("%s: link %q", e.Path, h.Linkname)
				}
			case filelist.Hardlink:
				if h.Typeflag != tar.TypeLink || h.Linkname != strings.TrimPrefix(e.Target, "/") {
					t.Errorf("%s: hardlink %q", e.Path, h.Linkname)
				}
			}
		}
		var sawCap, sawSetuid bool
		for _, g := range got {
			if g.hdr.Name == "usr/lib/libx.so.1.0" {
				sawCap = len(g.hdr.PAXRecords["SCHILY.xattr.security.capability"]) == 20 && g.hdr.PAXRecords["SCHILY.xattr.user.origin"] == "test"
			}
			if g.hdr.Name == "usr/bin/app" {
				sawSetuid = g.hdr.Mode&04000 != 0 && g.hdr.Uid == 0
			}
		}
		if !sawCap || !sawSetuid {
			t.Errorf("%s: capability kept %v, setuid kept %v", c, sawCap, sawSetuid)
		}
	}
}

func TestEpochClamp(t *testing.T) {
	root, l := fixture(t)
	epoch := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, g := range readTar(t, bytes.NewReader(write(t, root, l, Options{Compression: None, Epoch: &epoch}))) {
		if g.hdr.ModTime.After(epoch) {
			t.Errorf("%s: mtime %v after the epoch", g.hdr.Name, g.hdr.ModTime)
		}
	}
	late := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, g := range readTar(t, bytes.NewReader(write(t, root, l, Options{Compression: None, Epoch: &late}))) {
		if g.hdr.Typeflag == tar.TypeReg && g.hdr.ModTime.Year() != 2024 {
			t.Errorf("%s: an mtime before the epoch was changed to %v", g.hdr.Name, g.hdr.ModTime)
		}
	}
}

// TestWriteFileAtomic: a failed write leaves neither the target nor a
// temporary file; a good one replaces the target whole.
func TestWriteFileAtomic(t *testing.T) {
	root, l := fixture(t)
	out := t.TempDir()
	target := filepath.Join(out, "rootfs.tar.gz")
	os.WriteFile(target, []byte("old"), 0o644)
	bad := append([]*filelist.Entry{}, l.Entries...)
	bad = append(bad, &filelist.Entry{Path: "/vanished", Kind: filelist.File, Mode: 0o644})
	if _, err := WriteFile(context.Background(), target, root, bad, Options{}); err == nil || !strings.Contains(err.Error(), "/vanished") {
		t.Fatalf("err = %v", err)
	}
	if data, _ := os.ReadFile(target); string(data) != "old" {
		t.Error("the failed write changed the target")
	}
	if files, _ := os.ReadDir(out); len(files) != 1 {
		t.Errorf("left behind: %v", files)
	}
	st, err := WriteFile(context.Background(), target, root, l.Entries, Options{})
	if err != nil {
		t.Fatal(err)
	}
	info, _ := os.Stat(target)
	if info.Size() != st.Compressed || st.Files != 3 {
		t.Errorf("size %d, stats %+v", info.Size(), st)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := WriteFile(ctx, filepath.Join(out, "cancelled.tar.gz"), root, l.Entries, Options{}); err == nil {
		t.Error("a cancelled write succeeded")
	}
	if _, err := os.Stat(filepath.Join(out, "cancelled.tar.gz")); !os.IsNotExist(err) {
		t.Error("a cancelled write left its target")
	}
}

func TestRefusesBadNames(t *testing.T) {
	for _, p := range []string{"/../etc/passwd", "/a/../../b", "/"} {
		_, err := Write(context.Background(), io.Discard, "/", []*filelist.Entry{{Path: p, Kind: filelist.Dir, Mode: 0o755}}, Options{})
		if err == nil || !strings.Contains(err.Error(), "refusing") {
			t.Errorf("%s: err = %v", p, err)
		}
	}
}

func TestOptions(t *testing.T) {
	for _, tt := range []struct {
		opts Options
		want string
	}{
		{Options{Compression: Gzip, Level: 10}, "gzip level 10"},
		{Options{Compression: Zstd, Level: 30}, "zstd level 30"},
		{Options{Compression: None, Level: 3}, "no meaning"},
		{Options{Compression: "lz4"}, "expected gzip, zstd or none"},
	} {
		_, err := Write(context.Background(), io.Discard, "/", nil, tt.opts)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: err = %v", tt.opts, err)
		}
	}
	if c, err := ParseCompression("ZSTD"); err != nil || c != Zstd {
		t.Errorf("ParseCompression: %v %v", c, err)
	}
}

func TestProgress(t *testing.T) {
	root, l := fixture(t)
	var calls []Progress
	write(t, root, l, Options{Progress: func(p Progress) { calls = append(calls, p) }, ProgressEvery: time.Nanosecond})
	last := calls[len(calls)-1]
	if !last.Done || last.Files != 3 || last.TotalFiles != 3 || last.Bytes != last.TotalBytes {
		t.Errorf("last progress %+v", last)
	}
}

// TestHashWhileWriting: with Hash, the stats carry the sha256 of the
// bytes written and of the tar stream inside them, as a reader that
// decompresses the archive finds them (an image layer's digest and
// diffID, taken without reading the archive back).
func TestHashWhileWriting(t *testing.T) {
	root, l := fixture(t)
	for _, c := range []Compression{Gzip, Zstd, None} {
		var buf bytes.Buffer
		st, err := Write(context.Background(), &buf, root, l.Entries, Options{Compression: c, Hash: true})
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(buf.Bytes())
		if st.Digest != hex.EncodeToString(sum[:]) {
			t.Errorf("%s: digest %s, the bytes written hash to %x", c, st.Digest, sum)
		}
		h := sha256.New()
		if _, err := io.Copy(h, decompressed(t, c, buf.Bytes())); err != nil {
			t.Fatal(err)
		}
		if st.DiffID != hex.EncodeToString(h.Sum(nil)) {
			t.Errorf("%s: diffID %s, the tar stream hashes to %x", c, st.DiffID, h.Sum(nil))
		}
		if st.Compressed != int64(buf.Len()) {
			t.Errorf("%s: %d bytes counted, %d written", c, st.Compressed, buf.Len())
		}
		if plain, _ := Write(context.Background(), io.Discard, root, l.Entries, Options{Compression: c}); plain.Digest != "" || plain.DiffID != "" {
			t.Errorf("%s: hashes without Hash: %+v", c, plain)
		}
	}
}

// TestExtractWhileWriting: with an Extractor, Write makes the tree as
// it writes the entries, the same tree as Extract makes of the archive
// (types, modes, setuid, owners, times, attributes, capabilities,
// links, hardlinks, contents), and the archive is the same bytes as
// without it; an extractor that fails stops the write and says which
// tree.
func TestExtractWhileWriting(t *testing.T) {
	root, l := fixture(t)
	epoch := time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC) // a day before the fixture's times
	for _, c := range []Compression{Gzip, Zstd, None} {
		tree, ref := t.TempDir(), t.TempDir()
		x := NewExtractor(tree, ExtractOptions{Owners: os.Geteuid() == 0})
		var buf bytes.Buffer
		if _, err := Write(context.Background(), &buf, root, l.Entries, Options{Compression: c, Epoch: &epoch, Extractor: x}); err != nil {
			t.Fatal(err)
		}
		x.Finish()
		if without := write(t, root, l, Options{Compression: c, Epoch: &epoch}); !bytes.Equal(without, buf.Bytes()) {
			t.Errorf("%s: the archive differs with an Extractor", c)
		}
		r, err := NewReader(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		if err := Extract(context.Background(), r, ref, ExtractOptions{Owners: os.Geteuid() == 0}); err != nil {
			t.Fatal(err)
		}
		got, want := treeState(t, tree), treeState(t, ref)
		if len(want) != len(l.Entries) {
			t.Errorf("%s: Extract made %d entries, the list has %d", c, len(want), len(l.Entries))
		}
		for name, w := range want {
			if got[name] != w {
				t.Errorf("%s: %s is\n%s\nwant (as extracted)\n%s", c, name, got[name], w)
			}
		}
		for name := range got {
			if _, ok := want[name]; !ok {
				t.Errorf("%s: %s made, not in the archive", c, name)
			}
		}
	}
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o644)
	x := NewExtractor(filepath.Join(file, "tree"), ExtractOptions{})
	x.Name = "the tree"
	if _, err := Write(context.Background(), io.Discard, root, l.Entries, Options{Extractor: x}); err == nil || !strings.Contains(err.Error(), "writing the tree: ") {
		t.Errorf("an extractor that cannot write: %v", err)
	}
}

// treeState describes each entry under dir: type, mode, owner, time,
// attributes, link target or contents, and the first name of its inode.
func treeState(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	inodes := map[uint64]string{}
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		st := info.Sys().(*syscall.Stat_t)
		s := fmt.Sprintf("mode %o owner %d:%d", st.Mode, st.Uid, st.Gid)
		switch {
		case info.Mode()&os.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			s += " -> " + target
		case info.Mode().IsRegular():
			data, _ := os.ReadFile(p)
			first, ok := inodes[st.Ino]
			if !ok {
				inodes[st.Ino], first = rel, rel
			}
			s += fmt.Sprintf(" time %d sha256 %x inode of %s", st.Mtim.Sec, sha256.Sum256(data), first)
		default:
			s += fmt.Sprintf(" time %d", st.Mtim.Sec)
		}
		if info.Mode()&os.ModeSymlink == 0 {
			names := make([]byte, 4096)
			n, _ := syscall.Listxattr(p, names)
			xs := strings.Split(strings.TrimRight(string(names[:max(n, 0)]), "\x00"), "\x00")
			sort.Strings(xs)
			for _, x := range xs {
				if x != "" {
					v := make([]byte, 256)
					m, _ := syscall.Getxattr(p, x, v)
					s += fmt.Sprintf(" %s=%x", x, v[:max(m, 0)])
				}
			}
		}
		out[rel] = s
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
