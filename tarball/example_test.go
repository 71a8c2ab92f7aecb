package tarball_test

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/scratchpack/scratchpack/filelist"
	"github.com/scratchpack/scratchpack/internal/rootpath"
	"github.com/scratchpack/scratchpack/tarball"
)

// exampleRoot makes a small root: a program, a library behind a symlink,
// and returns its file list with a generated /etc/passwd.
func exampleRoot() (string, *filelist.List, error) {
	root, err := os.MkdirTemp("", "example-root")
	if err != nil {
		return "", nil, err
	}
	for _, step := range []error{
		os.Mkdir(filepath.Join(root, "etc"), 0o755),
		os.MkdirAll(filepath.Join(root, "usr/bin"), 0o755),
		os.MkdirAll(filepath.Join(root, "usr/lib"), 0o755),
		os.WriteFile(filepath.Join(root, "usr/bin/hello"), []byte("#!/bin/sh\necho hello\n"), 0o755),
		os.WriteFile(filepath.Join(root, "usr/lib/libhello.so.1"), []byte("not really a library"), 0o644),
		os.Symlink("libhello.so.1", filepath.Join(root, "usr/lib/libhello.so")),
		// modes as written, whatever the umask
		os.Chmod(filepath.Join(root, "etc"), 0o755),
		os.Chmod(filepath.Join(root, "usr"), 0o755),
		os.Chmod(filepath.Join(root, "usr/bin"), 0o755),
		os.Chmod(filepath.Join(root, "usr/lib"), 0o755),
		os.Chmod(filepath.Join(root, "usr/bin/hello"), 0o755),
		os.Chmod(filepath.Join(root, "usr/lib/libhello.so.1"), 0o644),
	} {
		if step != nil {
			return root, nil, step
		}
	}
	res, err := rootpath.New(root)
	if err != nil {
		return root, nil, err
	}
	b := filelist.NewBuilder(res)
	why := filelist.Reason{Source: "example"}
	for _, p := range []string{"/usr/bin/hello", "/usr/lib/libhello.so"} {
		if _, err := b.Add(p, filelist.Follow, why); err != nil {
			return root, nil, err
		}
	}
	if err := b.AddData("/etc/passwd", []byte("root:x:0:0::/:/sbin/nologin\n"), 0o644, why); err != nil {
		return root, nil, err
	}
	return root, b.List(), nil
}

// list prints the entries of an archive as tar tv would, without owners
// and times.
func list(archive []byte) error {
	r, err := tarball.NewReader(bytes.NewReader(archive))
	if err != nil {
		return err
	}
	defer r.Close()
	fmt.Println("compression:", r.Compression)
	for {
		h, err := r.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		link := ""
		if h.Linkname != "" {
			link = " -> " + h.Linkname
		}
		fmt.Printf("%c %04o %3d %s%s\n", h.Typeflag, h.Mode, h.Size, h.Name, link)
	}
}

// Write packs the entries of a file list, parents first, into an archive
// whose bytes depend only on the files and the epoch.
func ExampleWrite() {
	root, l, err := exampleRoot()
	defer os.RemoveAll(root)
	if err != nil {
		fmt.Println(err)
		return
	}
	epoch := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC) // SOURCE_DATE_EPOCH
	var a, b bytes.Buffer
	for _, buf := range []*bytes.Buffer{&a, &b} {
		st, err := tarball.Write(context.Background(), buf, root, l.Entries, tarball.Options{Compression: tarball.Zstd, Epoch: &epoch})
		if err != nil {
			fmt.Println(err)
			return
		}
		if buf == &a {
			fmt.Printf("%d entries, %d files, %d bytes of contents\n", st.Entries, st.Files, st.Bytes)
		}
	}
	fmt.Println("the same bytes twice:", bytes.Equal(a.Bytes(), b.Bytes()))
	if err := list(a.Bytes()); err != nil {
		fmt.Println(err)
	}
	// Output:
	// 8 entries, 3 files, 69 bytes of contents
	// the same bytes twice: true
	// compression: zstd
	// 5 0755   0 etc/
	// 0 0644  28 etc/passwd
	// 5 0755   0 usr/
	// 5 0755   0 usr/bin/
	// 0 0755  21 usr/bin/hello
	// 5 0755   0 usr/lib/
	// 2 0777   0 usr/lib/libhello.so -> libhello.so.1
	// 0 0644  20 usr/lib/libhello.so.1
}

// Extract unpacks an archive into an empty directory and refuses entries
// that would lead outside it.
func ExampleExtract() {
	root, l, err := exampleRoot()
	defer os.RemoveAll(root)
	if err != nil {
		fmt.Println(err)
		return
	}
	var buf bytes.Buffer
	if _, err := tarball.Write(context.Background(), &buf, root, l.Entries, tarball.Options{}); err != nil {
		fmt.Println(err)
		return
	}
	dir, err := os.MkdirTemp("", "example-extract")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	os.Mkdir(filepath.Join(dir, "good"), 0o755)
	os.Mkdir(filepath.Join(dir, "evil"), 0o755)
	r, err := tarball.NewReader(&buf)
	if err != nil {
		fmt.Println(err)
		return
	}
	err = tarball.Extract(context.Background(), r, filepath.Join(dir, "good"), tarball.ExtractOptions{})
	r.Close()
	if err != nil {
		fmt.Println(err)
		return
	}
	filepath.WalkDir(filepath.Join(dir, "good"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fmt.Println(info.Mode(), rel)
		return nil
	})

	// A symlink to / and then a file through it: refused, nothing written.
	var evil bytes.Buffer
	tw := tar.NewWriter(&evil)
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: "escape", Linkname: "/"})
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "escape/tmp/x", Size: 1, Mode: 0o644})
	tw.Write([]byte("x"))
	tw.Close()
	r, err = tarball.NewReader(&evil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close()
	fmt.Println(tarball.Extract(context.Background(), r, filepath.Join(dir, "evil"), tarball.ExtractOptions{}))
	// Output:
	// drwxr-xr-x good
	// drwxr-xr-x good/etc
	// -rw-r--r-- good/etc/passwd
	// drwxr-xr-x good/usr
	// drwxr-xr-x good/usr/bin
	// -rwxr-xr-x good/usr/bin/hello
	// drwxr-xr-x good/usr/lib
	// Lrwxrwxrwx good/usr/lib/libhello.so
	// -rw-r--r-- good/usr/lib/libhello.so.1
	// refusing entry escape/tmp/x: its directory /escape is a symlink
}

// Inspect summarizes an archive: counts, the largest files, setuid
// files, capabilities and symlinks that lead nowhere.
func ExampleInspect() {
	root, l, err := exampleRoot()
	defer os.RemoveAll(root)
	if err != nil {
		fmt.Println(err)
		return
	}
	var buf bytes.Buffer
	if _, err := tarball.Write(context.Background(), &buf, root, l.Entries, tarball.Options{Compression: tarball.None}); err != nil {
		fmt.Println(err)
		return
	}
	r, err := tarball.NewReader(&buf)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close()
	in, err := tarball.Inspect(context.Background(), r, 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s: %d files, %d directories, %d symlinks, %d bytes\n", in.Compression, in.Files, in.Dirs, in.Symlinks, in.Bytes)
	fmt.Println("largest:", in.Largest[0].Path, in.Largest[0].Size)
	fmt.Println("dangling symlinks:", len(in.Dangling))
	// Output:
	// none: 3 files, 4 directories, 1 symlinks, 69 bytes
	// largest: /etc/passwd 28
	// dangling symlinks: 0
}
