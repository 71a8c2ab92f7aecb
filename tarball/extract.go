package tarball

import (
	"archive/tar"
	"context"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/pkg/errors"
)

// UnsafeEntryError is an entry that would write outside the target or
// that an extractor must not create.
type UnsafeEntryError struct {
	Name   string
	Reason string
}

func (e *UnsafeEntryError) Error() string {
	return "refusing entry " + strings.TrimSpace(e.Name) + ": " + e.Reason
}

// CleanName checks an entry name: relative, no "..", no NUL; it returns
// the name without "./" and trailing slashes.
func CleanName(name string) (string, error) {
	if name == "" || strings.IndexByte(name, 0) >= 0 {
		return "", &UnsafeEntryError{name, "empty name or NUL byte"}
	}
	if strings.HasPrefix(name, "/") {
		return "", &UnsafeEntryError{name, "absolute name"}
	}
	for _, c := range strings.Split(name, "/") {
		if c == ".." {
			return "", &UnsafeEntryError{name, "'..' in the name"}
		}
	}
	clean := path.Clean(name)
	if clean == "." {
		return "", nil
	}
	return clean, nil
}

// ExtractOptions control Extract.
type ExtractOptions struct {
	// Owners sets owners from the archive (needs root).
	Owners bool
}

// Extract unpacks an archive into dir, which should be empty. Entries
// whose names are absolute or hold "..", hardlinks that point outside,
// device files and sparse files are refused. Nothing is written outside
// dir: no entry is created, and no mode, owner, time or attribute set,
// through a symlink that an earlier entry made (a directory entry over
// one is refused).
func Extract(ctx context.Context, r *Reader, dir string, opts ExtractOptions) error {
	x := NewExtractor(dir, opts)
	err := Walk(ctx, r, func(name string, h *tar.Header) error {
		return x.Entry(name, h, fromArchive(ctx, r, name))
	})
	if err != nil {
		return err
	}
	x.Finish()
	return nil
}

// fromArchive copies an entry's contents from the archive.
func fromArchive(ctx context.Context, r *Reader, name string) func(io.Writer) error {
	return func(f io.Writer) error {
		_, err := io.Copy(f, ctxReader{ctx, r})
		return errors.Wrapf(err, "extracting %s", name)
	}
}

// Extractor makes a directory tree of entries given one at a time, with
// Extract's safeguards: Extract gives it an archive's entries, Write
// (Options.Extractor) the entries it writes, as it writes them (an
// archive and a tree from one read of each file).
type Extractor struct {
	dir  string
	opts ExtractOptions
	dirs []dirTime
	// Name is how Write's errors name the tree (default: its directory).
	Name string
}

type dirTime struct {
	path string
	t    time.Time
}

// NewExtractor extracts into dir, which should be empty.
func NewExtractor(dir string, opts ExtractOptions) *Extractor {
	return &Extractor{dir: dir, opts: opts, Name: dir}
}

// Entry makes the entry h, named name (clean: see CleanName), and gives
// it its owner (with Owners), mode, attributes and time. The contents of
// a regular file are what contents writes to it; contents' error is
// returned as it is.
func (x *Extractor) Entry(name string, h *tar.Header, contents func(io.Writer) error) error {
	if err := create(x.dir, name, h, contents); err != nil {
		return err
	}
	if h.Typeflag == tar.TypeSymlink || h.Typeflag == tar.TypeLink {
		return nil
	}
	target := filepath.Join(x.dir, name)
	if err := setMetadata(target, name, h, x.opts); err != nil {
		return err
	}
	if h.Typeflag == tar.TypeDir {
		x.dirs = append(x.dirs, dirTime{target, h.ModTime})
	}
	return nil
}

// Finish sets the directories' times, last made first (making entries in
// a directory changes its time). Call it once, after the last entry.
func (x *Extractor) Finish() {
	for i := len(x.dirs) - 1; i >= 0; i-- {
		os.Chtimes(x.dirs[i].path, x.dirs[i].t, x.dirs[i].t)
	}
}

// create makes the entry h, named name (clean), under dir: a directory,
// a file with the contents contents writes, a symlink or a hardlink.
func create(dir, name string, h *tar.Header, contents func(io.Writer) error) error {
	if sparse(h) {
		// a few bytes of archive could announce terabytes of holes
		return &UnsafeEntryError{h.Name, "sparse files are not extracted"}
	}
	if err := noSymlinkParents(dir, name); err != nil {
		return err
	}
	target := filepath.Join(dir, name)
	switch h.Typeflag {
	case tar.TypeDir:
		// The mode, times and attributes set next would go to where a
		// symlink left here by an earlier entry points.
		if st, err := os.Lstat(target); err == nil && st.Mode()&os.ModeSymlink != 0 {
			return &UnsafeEntryError{h.Name, "a directory entry over the symlink an earlier entry made"}
		}
		return errors.Wrap(os.MkdirAll(target, 0o755), "extracting")
	case tar.TypeReg, tar.TypeRegA:
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return errors.Wrap(err, "extracting")
		}
		f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
		if err != nil {
			return errors.Wrap(err, "extracting")
		}
		if contents != nil {
			if err := contents(f); err != nil {
				f.Close()
				return err
			}
		}
		return errors.Wrapf(f.Close(), "extracting %s", name)
	case tar.TypeSymlink:
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return errors.Wrap(err, "extracting")
		}
		return errors.Wrap(os.Symlink(h.Linkname, target), "extracting")
	case tar.TypeLink:
		src, err := CleanName(h.Linkname)
		if err != nil || src == "" {
			return &UnsafeEntryError{h.Name, "hardlink to " + h.Linkname + " outside the archive"}
		}
		if err := noSymlinkParents(dir, src); err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return errors.Wrap(err, "extracting")
		}
		return errors.Wrap(os.Link(filepath.Join(dir, src), target), "extracting")
	}
	return &UnsafeEntryError{h.Name, "type " + string(h.Typeflag) + " (devices, FIFOs) is not extracted"}
}

// setMetadata gives a file or directory made by create its owner (with
// opts.Owners), mode, extended attributes and, for a file, its time.
func setMetadata(target, name string, h *tar.Header, opts ExtractOptions) error {
	if opts.Owners {
		if err := os.Lchown(target, h.Uid, h.Gid); err != nil {
			return errors.Wrap(err, "extracting")
		}
	}
	mode := os.FileMode(h.Mode & 0o777)
	if h.Mode&04000 != 0 {
		mode |= os.ModeSetuid
	}
	if h.Mode&02000 != 0 {
		mode |= os.ModeSetgid
	}
	if h.Mode&01000 != 0 {
		mode |= os.ModeSticky
	}
	if err := os.Chmod(target, mode); err != nil {
		return errors.Wrap(err, "extracting")
	}
	for k, v := range h.PAXRecords {
		if x, ok := strings.CutPrefix(k, "SCHILY.xattr."); ok {
			if err := syscall.Setxattr(target, x, []byte(v), 0); err != nil {
				return errors.Wrapf(err, "setting %s on %s", x, name)
			}
		}
	}
	if h.Typeflag != tar.TypeDir {
		os.Chtimes(target, h.ModTime, h.ModTime)
	}
	return nil
}

// noSymlinkParents refuses a name whose parent directories, as
// extracted so far, go through a symlink (which could lead outside).
func noSymlinkParents(dir, name string) error {
	cur := dir
	parts := strings.Split(name, "/")
	for _, p := range parts[:len(parts)-1] {
		cur = filepath.Join(cur, p)
		st, err := os.Lstat(cur)
		if err != nil {
			return nil // not created yet
		}
		if st.Mode()&os.ModeSymlink != 0 {
			return &UnsafeEntryError{name, "its directory " + strings.TrimPrefix(cur, dir) + " is a symlink"}
		}
	}
	return nil
}

// sparse reports a sparse file in the PAX formats of GNU tar (the old GNU
// format's type is refused as such).
func sparse(h *tar.Header) bool {
	for k := range h.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return false
}

// ctxReader stops a copy when the context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
