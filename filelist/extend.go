package filelist

import (
	"io/fs"
	"strings"
	"time"

	"github.com/pkg/errors"

	"github.com/scratchpack/scratchpack/internal/rootpath"
)

// Extend returns a builder that holds copies of the list's entries, so
// that more can be added (package metadata after the list is final)
// without changing the list. It has no filter.
func (l *List) Extend(res *rootpath.Resolver) *Builder {
	b := NewBuilder(res)
	for _, e := range l.Entries {
		c := *e
		c.Reasons = append([]Reason(nil), e.Reasons...)
		b.entries[c.Path] = &c
	}
	return b
}

// AddGenerated adds a file made by scratchpack, like AddData, but its
// directories need not exist under the root: the missing ones are made
// (0755, owned by root, modified at modTime).
func (b *Builder) AddGenerated(p string, data []byte, mode uint32, modTime time.Time, why Reason) error {
	if !strings.HasPrefix(p, "/") || p == "/" || cleanPath(p) != p {
		return errors.Errorf("%s: expected a clean absolute file path", p)
	}
	if e, ok := b.entries[p]; ok && e.Data == nil {
		return errors.Errorf("%s: already in the list (from the root), not replaced by a generated file", p)
	}
	e := &Entry{Path: p, Kind: File, Mode: Perm(mode), Size: int64(len(data)), Data: data, ModTime: modTime}
	e.addReason(why)
	b.entries[p] = e
	for dir := rootpath.Parent(p); dir != "/"; dir = rootpath.Parent(dir) {
		if _, ok := b.entries[dir]; ok {
			return nil
		}
		d := &Entry{Path: dir, Kind: Dir}
		info, _, err := b.res.Lstat(dir)
		switch {
		case err == nil && info.IsDir():
			fillMeta(d, info)
		case err == nil || errors.Is(err, fs.ErrNotExist):
			// not in the root (or not a directory there): made
			d.Mode, d.ModTime, d.Data = 0o755, modTime, []byte{}
		default:
			return errors.Wrapf(err, "adding directory %s", dir)
		}
		d.addReason(Reason{Source: "parent"})
		b.entries[dir] = d
	}
	return nil
}

// Hardlink makes the file p another name of the file target (both
// regular files already in the builder, target before p in the list's
// order): its content is stored once. It is for files scratchpack knows
// to be identical (the same license text in several packages).
func (b *Builder) Hardlink(p, target string) error {
	e, t := b.entries[p], b.entries[target]
	if e == nil || t == nil || e.Kind != File || t.Kind != File || target >= p {
		return errors.Errorf("%s cannot become a hardlink to %s: both must be files, the target first", p, target)
	}
	e.Kind, e.Target, e.Size, e.nlink = Hardlink, target, 0, 0
	return nil
}

// AddEmptyDir adds a directory made by scratchpack, with mode and
// modTime and owned by root, that every image has (/tmp), unless the
// filter excludes it: then it returns false. A directory already in the
// list (the program used it) becomes that made one, with its reasons, so
// that the entry is the same whatever the host's directory is like;
// anything else under the name (a symlink) stays as it is. What the list
// has under it stays (the default excludes keep /tmp's contents out).
func (b *Builder) AddEmptyDir(p string, mode uint32, modTime time.Time, why Reason) (bool, error) {
	if !strings.HasPrefix(p, "/") || p == "/" || cleanPath(p) != p {
		return false, errors.Errorf("%s: expected a clean absolute directory path", p)
	}
	if b.filter.excluded(p) != nil {
		return false, nil
	}
	if e, ok := b.entries[p]; ok {
		if e.Kind != Dir {
			return false, nil
		}
		e.Mode, e.UID, e.GID, e.ModTime, e.Data = Perm(mode), 0, 0, modTime, []byte{}
		e.addReason(why)
		return true, nil
	}
	e := &Entry{Path: p, Kind: Dir, Mode: Perm(mode), ModTime: modTime, Data: []byte{}}
	e.addReason(why)
	b.entries[p] = e
	return true, b.addParents(p)
}
