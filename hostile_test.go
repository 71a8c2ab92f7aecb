package scratchpack

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/scratchpack/scratchpack/filelist"
	"github.com/scratchpack/scratchpack/tarball"
)

// hostileRoot makes a --root with links out of it, loops, odd names,
// special files and a deep tree.
func hostileRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	w := func(p, s string) {
		full := filepath.Join(root, p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	w("etc/hostname", "inside\n")
	w("data/ok.txt", "ok")
	os.Symlink("/etc/hostname", filepath.Join(root, "data/abs-out")) // means ROOT/etc/hostname
	os.Symlink("../../../../../../etc/hostname", filepath.Join(root, "data/rel-out"))
	os.Symlink("loop-b", filepath.Join(root, "data/loop-a"))
	os.Symlink("loop-a", filepath.Join(root, "data/loop-b"))
	w("data/latin1_\xe9\xff.bin", "latin1")
	w("data/new\nline.txt", "newline")
	w("data/quote\"dq 'sq'.txt", "quotes")
	syscall.Mkfifo(filepath.Join(root, "data/fifo"), 0o644)
	deep := "data"
	for i := 0; i < 40; i++ {
		deep += "/" + strings.Repeat("d", 60) // about 2,500 bytes in all
	}
	w(deep+"/deep.txt", "deep")
	return root
}

func listIn(t *testing.T, root string, reqs []string, inc []string, warn func(error)) (*filelist.List, error) {
	t.Helper()
	data, _ := jsonList(reqs)
	lst := filepath.Join(t.TempDir(), "l.json")
	os.WriteFile(lst, data, 0o644)
	o := ListOptions{Root: root, Lists: []string{lst}, Warn: warn}
	o.Includes = inc
	return List(context.Background(), o)
}

func jsonList(paths []string) ([]byte, error) {
	l := &filelist.List{Root: "/"}
	for _, p := range paths {
		l.Entries = append(l.Entries, &filelist.Entry{Path: p, Kind: filelist.File})
	}
	var b bytes.Buffer
	err := filelist.WriteJSON(&b, l)
	return b.Bytes(), err
}

// TestHostileRoot: links out of the root resolve inside it, ".." never
// climbs out, loops and long names are clear errors, odd names survive
// byte for byte, special files are left out with a warning unless
// included.
func TestHostileRoot(t *testing.T) {
	root := hostileRoot(t)
	var warns []string
	warn := func(err error) { warns = append(warns, err.Error()) }
	deep, _ := filepath.Glob(filepath.Join(root, "data", strings.Repeat("d", 60)))
	deepFile := ""
	filepath.Walk(deep[0], func(p string, info os.FileInfo, err error) error {
		if err == nil && info.Name() == "deep.txt" {
			deepFile = strings.TrimPrefix(p, root)
		}
		return nil
	})
	paths := []string{"/data/abs-out", "/data/rel-out", "/data/../../../../etc/hostname", "/data/latin1_\xe9\xff.bin",
		"/data/new\nline.txt", "/data/quote\"dq 'sq'.txt", "/data/fifo", deepFile}
	l, err := listIn(t, root, paths, nil, warn)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/etc/hostname", "/data/abs-out", "/data/rel-out", "/data/latin1_\xe9\xff.bin", "/data/new\nline.txt", "/data/quote\"dq 'sq'.txt", deepFile} {
		if l.Lookup(p) == nil {
			t.Errorf("%q is not listed", p)
		}
	}
	if l.Lookup("/data/fifo") != nil || len(warns) != 1 || !strings.Contains(warns[0], "FIFO") || !strings.Contains(warns[0], "--include /data/fifo") {
		t.Errorf("fifo: listed %v, warnings %v", l.Lookup("/data/fifo") != nil, warns)
	}
	// everything listed is inside the root: nothing of the host's /etc
	if e := l.Lookup("/etc/hostname"); e == nil || e.Size != int64(len("inside\n")) {
		t.Errorf("/etc/hostname is not the root's: %+v", e)
	}
	// pack it, extract it with tar, and compare every byte and name
	out := filepath.Join(t.TempDir(), "r.tar")
	if _, err := Pack(context.Background(), l, PackOptions{Output: out, Options: tarball.Options{Compression: tarball.None}}); err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	if b, err := exec.Command("tar", "-xf", out, "-C", dst).CombinedOutput(); err != nil {
		t.Fatalf("tar: %v %s", err, b)
	}
	for _, e := range l.Entries {
		if e.Kind != filelist.File {
			continue
		}
		a, err1 := os.ReadFile(filepath.Join(root, e.Path))
		b, err2 := os.ReadFile(filepath.Join(dst, e.Path))
		if err1 != nil || err2 != nil || !bytes.Equal(a, b) {
			t.Errorf("%q differs after the round trip: %v %v", e.Path, err1, err2)
		}
	}
	// included by hand, the FIFO is packed as a FIFO
	l, err = listIn(t, root, []string{"/data/ok.txt"}, []string{"/data/fifo"}, warn)
	if err != nil {
		t.Fatal(err)
	}
	if e := l.Lookup("/data/fifo"); e == nil || e.Kind != filelist.Special || e.Type != "fifo" {
		t.Errorf("included fifo: %+v", e)
	}
	var buf bytes.Buffer
	if _, err := tarball.Write(context.Background(), &buf, root, l.Entries, tarball.Options{Compression: tarball.None}); err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(&buf)
	var sawFifo bool
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		sawFifo = sawFifo || (h.Name == "data/fifo" && h.Typeflag == tar.TypeFifo)
	}
	if !sawFifo {
		t.Error("the included FIFO is not in the archive as a FIFO")
	}
	// loops and overlong paths are errors that name the path
	for _, p := range []string{"/data/loop-a", "/data/" + strings.Repeat("x", 5000)} {
		_, err := listIn(t, root, []string{p}, nil, warn)
		if err == nil || !strings.Contains(err.Error(), p[:min(len(p), 20)]) {
			t.Errorf("%.30s: err = %v", p, err)
		}
		if err != nil && !(errors.Is(err, syscall.ELOOP) || errors.Is(err, syscall.ENAMETOOLONG)) {
			t.Errorf("%.30s: %v is neither ELOOP nor ENAMETOOLONG", p, err)
		}
	}
}

// TestChangingFiles: a file that grows while it is packed, or vanishes
// before it is, fails the pack with an error that names it, and leaves
// no archive at the target.
func TestChangingFiles(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.bin")
	f, _ := os.Create(big)
	f.Write(bytes.Repeat([]byte("0123456789abcdef"), 8<<20)) // 128 MiB
	f.Close()
	os.WriteFile(filepath.Join(dir, "gone.txt"), []byte("x"), 0o644)
	res, _ := List(context.Background(), ListOptions{Lists: []string{writeList(t, big, filepath.Join(dir, "gone.txt"))}})
	out := filepath.Join(t.TempDir(), "r.tar.gz")

	os.Remove(filepath.Join(dir, "gone.txt"))
	_, err := Pack(context.Background(), res, PackOptions{Output: out})
	if err == nil || !strings.Contains(err.Error(), "gone.txt") {
		t.Errorf("vanished file: %v", err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Error("a failed pack left the archive")
	}

	res, _ = List(context.Background(), ListOptions{Lists: []string{writeList(t, big)}})
	var stop atomic.Bool
	done := make(chan struct{})
	go func() { // append while it is packed
		defer close(done)
		g, _ := os.OpenFile(big, os.O_WRONLY|os.O_APPEND, 0)
		defer g.Close()
		for !stop.Load() {
			g.Write([]byte("more"))
			time.Sleep(time.Millisecond)
		}
	}()
	defer func() { stop.Store(true); <-done }()
	time.Sleep(10 * time.Millisecond)
	var ce *tarball.ChangedError
	_, err = Pack(context.Background(), res, PackOptions{Output: out, Options: tarball.Options{Compression: tarball.None}})
	if !errors.As(err, &ce) || ce.Path != big {
		t.Errorf("growing file: %v", err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Error("a failed pack left the archive")
	}
	// Streamed (-o -), what was written up to the error is valid tar:
	// the file's entry holds exactly the size its header announced.
	var buf bytes.Buffer
	_, err = tarball.Write(context.Background(), &buf, "/", res.Entries, tarball.Options{Compression: tarball.None})
	if !errors.As(err, &ce) {
		t.Fatalf("streamed: %v", err)
	}
	tr := tar.NewReader(&buf)
	var last *tar.Header
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("the stream is not valid tar: %v", err)
		}
		n, err := io.Copy(io.Discard, tr)
		if err != nil || n != h.Size {
			t.Fatalf("%s: %d of %d bytes: %v", h.Name, n, h.Size, err)
		}
		last = h
	}
	if last == nil || "/"+last.Name != big {
		t.Errorf("last entry %+v", last)
	}
}

func writeList(t *testing.T, paths ...string) string {
	p := filepath.Join(t.TempDir(), "l.txt")
	os.WriteFile(p, []byte(strings.Join(paths, "\n")+"\n"), 0o644)
	return p
}

// TestReproducible: with SOURCE_DATE_EPOCH, the same files give the same
// bytes across runs, after their mtimes and atimes change, and from
// another root directory (another machine's layout).
func TestReproducible(t *testing.T) {
	mk := func(root string) {
		for p, s := range map[string]string{"usr/bin/app": "#!/bin/sh\necho hi\n", "etc/app.conf": "x=1\n", "usr/share/app/data": strings.Repeat("d", 10000)} {
			os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o755)
			os.WriteFile(filepath.Join(root, p), []byte(s), 0o755)
		}
		os.Symlink("../share/app/data", filepath.Join(root, "usr/bin/data"))
	}
	a, b := t.TempDir(), filepath.Join(t.TempDir(), "elsewhere", "root")
	mk(a)
	mk(b)
	epoch := time.Unix(1700000000, 0)
	pack := func(root string) []byte {
		t.Helper()
		lst := writeList(t, "/usr/bin/app", "/etc/app.conf", "/usr/bin/data")
		l, err := List(context.Background(), ListOptions{Root: root, Lists: []string{lst}})
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(t.TempDir(), "r.tar.gz")
		if _, err := Pack(context.Background(), l, PackOptions{Output: out, Options: tarball.Options{Epoch: &epoch}}); err != nil {
			t.Fatal(err)
		}
		data, _ := os.ReadFile(out)
		return data
	}
	first := pack(a)
	if !bytes.Equal(first, pack(a)) {
		t.Error("two runs differ")
	}
	now := time.Now()
	filepath.Walk(a, func(p string, info os.FileInfo, err error) error {
		if err == nil && info.Mode()&os.ModeSymlink == 0 {
			os.Chtimes(p, now, now)
		}
		return nil
	})
	if !bytes.Equal(first, pack(a)) {
		t.Error("changed mtimes changed the archive")
	}
	if !bytes.Equal(first, pack(b)) {
		t.Error("another root directory changed the archive")
	}
}
