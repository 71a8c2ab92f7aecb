package tarball

import (
	"archive/tar"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pkg/errors"
	"golang.org/x/sys/unix"
)

// The whiteout names of image layers (the OCI image spec's, from aufs).
const (
	whiteoutPrefix = ".wh."
	opaqueMarker   = ".wh..wh..opq"
)

// Applier applies the layers of a container image, in order, into one
// directory, as a runtime does: an entry replaces what earlier layers left
// at its name, .wh.NAME removes NAME, .wh..wh..opq empties its directory
// of what earlier layers put there, and hardlinks may point to files of
// earlier layers (the hardlink's header sets the file's owner, mode and
// times, as containers/storage and docker do). Symlinks get their owners and times, files and
// directories their owners (with Owners), modes, extended attributes and
// times.
//
// Every safeguard of Extract holds across layers: nothing is created,
// removed or changed through a symlink, and no name or link leads out of
// the directory. Device nodes are not created (they are listed in
// Skipped); FIFOs are.
type Applier struct {
	dir  string
	opts ExtractOptions
	// dirTimes are the times the last layer naming each directory gave
	// it, set when all layers are in (entries made later change them).
	dirTimes map[string]time.Time
	// Skipped lists the entries not made, with why.
	Skipped []string
}

// NewApplier applies layers into dir, which should be empty.
func NewApplier(dir string, opts ExtractOptions) *Applier {
	return &Applier{dir: dir, opts: opts, dirTimes: map[string]time.Time{}}
}

// Apply applies one layer.
func (a *Applier) Apply(ctx context.Context, r *Reader) error {
	// made holds the names this layer made, and their parents: an opaque
	// marker keeps them.
	made := map[string]bool{}
	mark := func(name string) {
		for ; name != "." && !made[name]; name = path.Dir(name) {
			made[name] = true
		}
	}
	return Walk(ctx, r, func(name string, h *tar.Header) error {
		base, parent := path.Base(name), path.Dir(name)
		switch {
		case base == opaqueMarker:
			return a.opaque(name, parent, made)
		case strings.HasPrefix(base, whiteoutPrefix+whiteoutPrefix):
			return nil // other aufs metadata (.wh..wh.plnk, .wh..wh.aufs)
		case strings.HasPrefix(base, whiteoutPrefix):
			return a.whiteout(name, parent, strings.TrimPrefix(base, whiteoutPrefix))
		}
		if err := a.entry(ctx, r, name, h); err != nil {
			return err
		}
		mark(name)
		return nil
	})
}

// Finish sets the directories' times, deepest first. Call it once, after
// the last layer.
func (a *Applier) Finish() error {
	names := make([]string, 0, len(a.dirTimes))
	for n := range a.dirTimes {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return strings.Count(names[i], "/") > strings.Count(names[j], "/") })
	for _, n := range names {
		if noSymlinkParents(a.dir, n) != nil {
			continue
		}
		p := filepath.Join(a.dir, n)
		if st, err := os.Lstat(p); err != nil || !st.IsDir() {
			continue // removed or replaced by a later layer
		}
		if err := lutimes(p, a.dirTimes[n]); err != nil {
			return errors.Wrapf(err, "setting the time of %s", n)
		}
	}
	return nil
}

// whiteout removes what earlier layers left at dir/name (entry is the
// whiteout's own name).
func (a *Applier) whiteout(entry, dir, name string) error {
	if name == "" || name == "." || name == ".." {
		return &UnsafeEntryError{entry, "a whiteout of " + strconv.Quote(name)}
	}
	victim := path.Join(dir, name)
	if err := noSymlinkParents(a.dir, victim); err != nil {
		return err
	}
	p := filepath.Join(a.dir, victim)
	// Only what is there: os.RemoveAll of a missing name opens its
	// parent, and a FIFO left there by an earlier entry would block.
	if _, err := os.Lstat(p); err != nil {
		if os.IsNotExist(err) || errors.Is(err, syscall.ENOTDIR) {
			return nil
		}
		return errors.Wrapf(err, "applying the whiteout %s", entry)
	}
	if err := os.RemoveAll(p); err != nil {
		return errors.Wrapf(err, "applying the whiteout %s", entry)
	}
	delete(a.dirTimes, victim)
	return nil
}

// opaque removes from the directory dir what earlier layers put in it.
func (a *Applier) opaque(entry, dir string, made map[string]bool) error {
	if err := noSymlinkParents(a.dir, entry); err != nil {
		return err
	}
	root := filepath.Join(a.dir, dir)
	st, err := os.Lstat(root)
	switch {
	case os.IsNotExist(err):
		return nil
	case err != nil:
		return errors.Wrapf(err, "applying the opaque marker %s", entry)
	case !st.IsDir():
		return &UnsafeEntryError{entry, "an opaque marker in " + dir + ", which is not a directory"}
	}
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return errors.Wrapf(err, "applying the opaque marker %s", entry)
		}
		if p == root {
			return nil
		}
		rel, _ := filepath.Rel(a.dir, p)
		if made[filepath.ToSlash(rel)] {
			return nil
		}
		if err := os.RemoveAll(p); err != nil {
			return errors.Wrapf(err, "applying the opaque marker %s", entry)
		}
		if d.IsDir() {
			return filepath.SkipDir
		}
		return nil
	})
}

// entry makes one entry, replacing what earlier layers left at its name
// (a directory over a directory keeps what is in it).
func (a *Applier) entry(ctx context.Context, r *Reader, name string, h *tar.Header) error {
	if err := noSymlinkParents(a.dir, name); err != nil {
		return err
	}
	target := filepath.Join(a.dir, name)
	if st, err := os.Lstat(target); err == nil {
		keep := st.IsDir() && h.Typeflag == tar.TypeDir
		if !keep {
			if err := os.RemoveAll(target); err != nil {
				return errors.Wrapf(err, "replacing %s", name)
			}
			delete(a.dirTimes, name)
		}
	}
	switch h.Typeflag {
	case tar.TypeChar, tar.TypeBlock:
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return errors.Wrap(err, "extracting")
		}
		kind := map[byte]string{tar.TypeChar: "character", tar.TypeBlock: "block"}[h.Typeflag]
		a.Skipped = append(a.Skipped, fmt.Sprintf("%s: %s device %d,%d not created", name, kind, h.Devmajor, h.Devminor))
		return nil
	case tar.TypeFifo:
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return errors.Wrap(err, "extracting")
		}
		if err := unix.Mkfifo(target, 0o600); err != nil {
			return errors.Wrapf(err, "extracting %s", name)
		}
	default:
		if err := create(a.dir, name, h, fromArchive(ctx, r, name)); err != nil {
			return err
		}
	}
	if h.Typeflag == tar.TypeLink {
		// As runtimes do, the link's header sets the metadata of the
		// file it shares; of a symlink (link(2) does not follow it), only
		// what does not follow it.
		if st, err := os.Lstat(target); err == nil && st.Mode()&os.ModeSymlink != 0 {
			h = &tar.Header{Typeflag: tar.TypeSymlink, Uid: h.Uid, Gid: h.Gid, ModTime: h.ModTime}
		}
	}
	switch h.Typeflag {
	case tar.TypeSymlink:
		if a.opts.Owners {
			if err := os.Lchown(target, h.Uid, h.Gid); err != nil {
				return errors.Wrapf(err, "extracting %s", name)
			}
		}
		return errors.Wrapf(lutimes(target, h.ModTime), "extracting %s", name)
	}
	if err := setMetadata(target, name, h, a.opts); err != nil {
		return err
	}
	if h.Typeflag == tar.TypeDir {
		a.dirTimes[name] = h.ModTime
	}
	return nil
}

// lutimes sets the access and modification times of p without following
// a symlink.
func lutimes(p string, t time.Time) error {
	ts := unix.NsecToTimespec(t.UnixNano())
	return unix.UtimesNanoAt(unix.AT_FDCWD, p, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW)
}
