package scratchpack

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scratchpack/scratchpack/image"
	"github.com/scratchpack/scratchpack/tarball"
	"github.com/scratchpack/scratchpack/upx"
)

// treeRoot makes a root with what a tree must keep: owners, a setuid
// file, a directory's mode and attribute, a file capability, a symlink,
// a hardlink, times before and after the epoch.
func treeRoot(t *testing.T) (root, list string) {
	t.Helper()
	root = t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "srv/data"), 0o750))
	must(os.MkdirAll(filepath.Join(root, "usr/bin"), 0o755))
	elf, err := os.ReadFile("/usr/bin/true") // an ELF: the image's architecture
	must(err)
	must(os.WriteFile(filepath.Join(root, "usr/bin/app"), append(elf, bytes.Repeat([]byte("app data "), 50000)...), 0o755))
	must(os.Link(filepath.Join(root, "usr/bin/app"), filepath.Join(root, "usr/bin/app-alias")))
	must(os.Symlink("app", filepath.Join(root, "usr/bin/app-link")))
	must(os.WriteFile(filepath.Join(root, "usr/bin/suid"), []byte("suid"), 0o755))
	must(os.WriteFile(filepath.Join(root, "srv/data/owned"), []byte("owned"), 0o640))
	must(os.WriteFile(filepath.Join(root, "srv/data/new"), []byte("newer than the epoch"), 0o644))
	old := time.Date(2020, 5, 6, 7, 8, 9, 0, time.UTC)
	for _, p := range []string{"srv/data/owned", "usr/bin/app", "usr/bin/suid", "srv/data", "usr/bin"} {
		must(os.Chtimes(filepath.Join(root, p), old, old))
	}
	must(os.Lchown(filepath.Join(root, "srv/data/owned"), 1234, 5678))
	must(os.Lchown(filepath.Join(root, "srv/data"), 1234, 0))
	must(os.Chmod(filepath.Join(root, "usr/bin/suid"), 0o755|os.ModeSetuid))
	must(syscall.Setxattr(filepath.Join(root, "srv/data"), "user.team", []byte("tools"), 0))
	// cap_net_bind_service+ep (VFS_CAP_REVISION_2); last, as chown drops it
	capv := make([]byte, 20)
	binary.LittleEndian.PutUint32(capv[0:], 0x02000001)
	binary.LittleEndian.PutUint32(capv[4:], 1<<10)
	must(syscall.Setxattr(filepath.Join(root, "usr/bin/app"), "security.capability", capv, 0))
	list = filepath.Join(t.TempDir(), "app.lst")
	must(os.WriteFile(list, []byte("/usr/bin/app\n/usr/bin/app-alias\n/usr/bin/app-link\n/usr/bin/suid\n/srv/data/owned\n/srv/data/new\n"), 0o644))
	return root, list
}

// sameTree checks that the tree holds what the archive holds, entry by
// entry, and nothing else: type, mode, owner, time, attributes,
// contents, link targets, hardlinks.
func sameTree(t *testing.T, archive []byte, tree string) {
	t.Helper()
	r, err := tarball.NewReader(bytes.NewReader(archive))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	seen := map[string]bool{}
	var checked, xattrs int
	err = tarball.Walk(context.Background(), r, func(name string, h *tar.Header) error {
		seen[name] = true
		checked++
		p := filepath.Join(tree, name)
		var st syscall.Stat_t
		if err := syscall.Lstat(p, &st); err != nil {
			t.Errorf("%s: in the archive, not in the tree: %v", name, err)
			return nil
		}
		types := map[byte]uint32{tar.TypeDir: syscall.S_IFDIR, tar.TypeReg: syscall.S_IFREG, tar.TypeSymlink: syscall.S_IFLNK, tar.TypeLink: syscall.S_IFREG}
		if st.Mode&syscall.S_IFMT != types[h.Typeflag] {
			t.Errorf("%s: type %o in the tree, %c in the archive", name, st.Mode&syscall.S_IFMT, h.Typeflag)
		}
		if int(st.Uid) != h.Uid || int(st.Gid) != h.Gid {
			t.Errorf("%s: owner %d:%d in the tree, %d:%d in the archive", name, st.Uid, st.Gid, h.Uid, h.Gid)
		}
		switch h.Typeflag {
		case tar.TypeSymlink:
			if target, _ := os.Readlink(p); target != h.Linkname {
				t.Errorf("%s: points to %q in the tree, %q in the archive", name, target, h.Linkname)
			}
			return nil
		case tar.TypeLink:
			var src syscall.Stat_t
			if syscall.Lstat(filepath.Join(tree, h.Linkname), &src) != nil || src.Ino != st.Ino {
				t.Errorf("%s: not a hardlink of %s in the tree", name, h.Linkname)
			}
			return nil
		}
		if int64(st.Mode&0o7777) != h.Mode {
			t.Errorf("%s: mode %o in the tree, %o in the archive", name, st.Mode&0o7777, h.Mode)
		}
		if st.Mtim.Sec != h.ModTime.Unix() {
			t.Errorf("%s: time %d in the tree, %d in the archive", name, st.Mtim.Sec, h.ModTime.Unix())
		}
		want := map[string]string{}
		for k, v := range h.PAXRecords {
			if x, ok := strings.CutPrefix(k, "SCHILY.xattr."); ok {
				want[x] = v
			}
		}
		got := map[string]string{}
		names := make([]byte, 4096)
		n, _ := syscall.Listxattr(p, names)
		for _, x := range strings.Split(string(names[:n]), "\x00") {
			if x != "" {
				v := make([]byte, 256)
				m, _ := syscall.Getxattr(p, x, v)
				got[x] = string(v[:max(m, 0)])
			}
		}
		if len(want) != len(got) {
			t.Errorf("%s: attributes %q in the tree, %q in the archive", name, got, want)
		}
		for k, v := range want {
			xattrs++
			if got[k] != v {
				t.Errorf("%s: attribute %s %q in the tree, %q in the archive", name, k, got[k], v)
			}
		}
		if h.Typeflag == tar.TypeReg {
			data, err := os.ReadFile(p)
			a, _ := io.ReadAll(r)
			if err != nil || sha256.Sum256(data) != sha256.Sum256(a) {
				t.Errorf("%s: contents differ (%v)", name, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var extra []string
	filepath.Walk(tree, func(p string, _ os.FileInfo, err error) error {
		if rel, _ := filepath.Rel(tree, p); err == nil && rel != "." && !seen[rel] {
			extra = append(extra, rel)
		}
		return nil
	})
	sort.Strings(extra)
	if len(extra) > 0 {
		t.Errorf("in the tree, not in the archive: %q", extra)
	}
	if checked == 0 {
		t.Error("the archive is empty")
	}
	t.Logf("%s: %d entries, %d attributes", tree, checked, xattrs)
}

// TestOutputDirIsTheArchive: --output-dir, made from the archive's tar
// stream as it is written (one read of each file), holds what the
// archive holds: owners, modes (setuid), times (clamped to the epoch as
// in the archive), attributes (a file capability), symlinks, hardlinks;
// with -o FILE, -o - and none, with and without --image; the archive is
// the same bytes with and without the tree, and the image's layer is
// the archive.
func TestOutputDirIsTheArchive(t *testing.T) {
	needTools(t)
	root, list := treeRoot(t)
	epoch := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	pack := func(t *testing.T, po PackOptions) {
		t.Helper()
		po.Epoch = &epoch
		po.Secrets = SecretsOff
		po.Cmd = []string{"/usr/bin/app"}
		po.NoPackageMetadata = true
		if _, _, err := PackFrom(context.Background(), ListOptions{Root: root, Lists: []string{list}}, po); err != nil {
			t.Fatal(err)
		}
	}
	alone := filepath.Join(t.TempDir(), "alone.tar.gz")
	pack(t, PackOptions{Output: alone})
	want, err := os.ReadFile(alone)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, output string
		image        bool
	}{
		{"file", "rootfs.tar.gz", false},
		{"file and image", "rootfs.tar.gz", true},
		{"stdout", "-", false},
		{"stdout and image", "-", true},
		{"image", "", true},
		{"tree alone", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var stdout bytes.Buffer
			po := PackOptions{OutputDir: filepath.Join(dir, "tree"), Stdout: &stdout}
			if tc.output != "" && tc.output != "-" {
				po.Output = filepath.Join(dir, tc.output)
			} else {
				po.Output = tc.output
			}
			layout := filepath.Join(dir, "layout")
			if tc.image {
				dest, err := image.ParseDest("oci:" + layout + ":v1")
				if err != nil {
					t.Fatal(err)
				}
				po.Image.Dests = []image.Dest{dest}
			}
			pack(t, po)
			var got []byte
			switch tc.output {
			case "-":
				got = stdout.Bytes()
			case "":
			default:
				if got, err = os.ReadFile(po.Output); err != nil {
					t.Fatal(err)
				}
			}
			if got != nil && !bytes.Equal(got, want) {
				t.Errorf("the archive differs from the one written without --output-dir (%d and %d bytes)", len(got), len(want))
			}
			if tc.image {
				layer := ociLayer(t, layout)
				data, _ := io.ReadAll(layer)
				layer.Close()
				if !bytes.Equal(data, want) {
					t.Errorf("the image's layer is not the archive")
				}
			}
			sameTree(t, want, po.OutputDir)
			if fi, err := os.Stat(filepath.Join(po.OutputDir, "srv/data/new")); err != nil || !fi.ModTime().Equal(epoch) {
				t.Errorf("a file newer than the epoch: %v %v (want the epoch, as in the archive)", fi, err)
			}
			if names, _ := filepath.Glob(filepath.Join(dir, ".tree.tmp-*")); len(names) > 0 {
				t.Errorf("temporary trees left: %q", names)
			}
		})
	}
}

// TestOutputDirFails: an output that fails leaves no tree, no temporary
// tree and no archive: the tree cannot take an entry (a FIFO, included
// by hand: the extractor refuses it), the archive cannot be written, the
// tree's directory is not empty (refused before anything is read).
func TestOutputDirFails(t *testing.T) {
	needTools(t)
	root, list := treeRoot(t)
	if err := syscall.Mkfifo(filepath.Join(root, "srv/data/fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		setup    func(dir string) (output string, includes []string)
		wantErr  string
		treeKept bool // the refused directory is left as it was
	}{
		{"fifo", func(dir string) (string, []string) {
			return filepath.Join(dir, "rootfs.tar.gz"), []string{"/srv/data/fifo"}
		}, "tree: refusing entry srv/data/fifo: type 6 (devices, FIFOs) is not extracted", false},
		{"archive unwritable", func(dir string) (string, []string) {
			os.WriteFile(filepath.Join(dir, "file"), nil, 0o644)
			return filepath.Join(dir, "file", "rootfs.tar.gz"), nil
		}, "rootfs.tar.gz", false},
		{"tree not empty", func(dir string) (string, []string) {
			os.MkdirAll(filepath.Join(dir, "tree"), 0o755)
			os.WriteFile(filepath.Join(dir, "tree", "mine"), nil, 0o644)
			return filepath.Join(dir, "rootfs.tar.gz"), nil
		}, "tree is not empty", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			output, includes := tc.setup(dir)
			po := PackOptions{Output: output, OutputDir: filepath.Join(dir, "tree"), Secrets: SecretsOff}
			po.NoPackageMetadata = true
			_, _, err := PackFrom(context.Background(), ListOptions{Root: root, Lists: []string{list}, PathOptions: PathOptions{Includes: includes}}, po)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one saying %q", err, tc.wantErr)
			}
			if _, err := os.Stat(output); err == nil {
				t.Errorf("the archive %s was written", output)
			}
			names, _ := filepath.Glob(filepath.Join(dir, "*"))
			hidden, _ := filepath.Glob(filepath.Join(dir, ".*"))
			if len(hidden) > 0 {
				t.Errorf("left behind: %q", hidden)
			}
			_, statErr := os.Stat(filepath.Join(dir, "tree"))
			if (statErr == nil) != tc.treeKept {
				t.Errorf("the tree exists: %v (want %v); in the directory: %q", statErr == nil, tc.treeKept, names)
			}
		})
	}
}

// TestOutputDirUPX: a build with --upx, -o, --output-dir and --image
// puts the packed program in the tree as in the archive and the image;
// the report names the upx that ran (TestReportTools has strace's).
func TestOutputDirUPX(t *testing.T) {
	needTools(t, "strace", "tar", "/usr/bin/perl")
	bin := upxPath(t, "3.96")
	dir := t.TempDir()
	dest, err := image.ParseDest("oci:" + filepath.Join(dir, "layout") + ":v1")
	if err != nil {
		t.Fatal(err)
	}
	po := PackOptions{Output: filepath.Join(dir, "rootfs.tar.gz"), OutputDir: filepath.Join(dir, "tree"),
		UPX: &upx.Options{Path: bin, CacheDir: t.TempDir()}, Image: ImageOptions{Dests: []image.Dest{dest}}}
	_, r := build(t, BuildOptions{Command: []string{"/usr/bin/perl", "-e", "print 42"}, Dir: "/", Pack: po})
	rep, err := ReadReport(r.Report)
	if err != nil {
		t.Fatal(err)
	}
	if v := rep.Tools["upx"]; !strings.HasPrefix(v, "upx 3.96") || v != r.Pack.UPX.Version {
		t.Errorf("tools: upx %q, the stage ran %q", v, r.Pack.UPX.Version)
	}
	archive, err := os.ReadFile(po.Output)
	if err != nil {
		t.Fatal(err)
	}
	sameTree(t, archive, po.OutputDir)
	perl, _ := os.ReadFile(filepath.Join(po.OutputDir, "usr/bin/perl"))
	if !bytes.Contains(perl[:min(len(perl), 4096)], []byte("UPX!")) {
		t.Error("/usr/bin/perl in the tree is not UPX-packed")
	}
	layer := ociLayer(t, filepath.Join(dir, "layout"))
	data, _ := io.ReadAll(layer)
	layer.Close()
	if !bytes.Equal(data, archive) {
		t.Error("the image's layer is not the archive")
	}
}
