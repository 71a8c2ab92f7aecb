package rootpath

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/pkg/errors"
)

// MaxLinks is the number of symlinks one resolution may follow before it
// fails with ELOOP, as Linux's MAXSYMLINKS.
const MaxLinks = 40

// MaxPath is the longest path accepted, as Linux's PATH_MAX.
const MaxPath = 4096

// Link is a symlink met while resolving a path.
type Link struct {
	// Path is the canonical path of the link itself inside the root.
	Path string
	// Target is the link's content, exactly as stored on disk.
	Target string
}

// Result describes one resolution.
type Result struct {
	// Path is the canonical path (no symlink components) inside the root.
	// When the resolution failed, it is the deepest canonical prefix reached.
	Path string
	// Info is the lstat of Path; nil when the resolution failed.
	Info fs.FileInfo
	// Links lists the symlinks followed, in the order they were met.
	Links []Link
}

// Error is returned when a path cannot be resolved.
type Error struct {
	Path string // the path asked for
	At   string // the canonical path where resolution stopped
	Err  error  // a syscall.Errno: ENOENT, ENOTDIR, ELOOP, ENAMETOOLONG, EACCES...
}

func (e *Error) Error() string {
	if e.At != "" && e.At != e.Path {
		return "resolve " + e.Path + ": " + e.At + ": " + e.Err.Error()
	}
	return "resolve " + e.Path + ": " + e.Err.Error()
}

// Unwrap lets errors.Is(err, fs.ErrNotExist) work.
func (e *Error) Unwrap() error { return e.Err }

type node struct {
	info   fs.FileInfo
	target string
	err    error
}

// Resolver resolves paths inside one root. It caches lstat results, so it
// assumes the tree does not change while it is in use. It is safe for
// concurrent use.
type Resolver struct {
	root  string
	mu    sync.Mutex
	cache map[string]node
}

// New returns a resolver for root ("" or "/" is the host's root).
func New(root string) (*Resolver, error) {
	if root == "" {
		root = "/"
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, errors.Wrapf(err, "resolving root %s", root)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return nil, errors.Wrap(err, "opening root")
	}
	if !st.IsDir() {
		return nil, errors.Errorf("root %s is not a directory", root)
	}
	if abs == "/" {
		abs = ""
	}
	return &Resolver{root: abs, cache: map[string]node{}}, nil
}

// Root is the host directory this resolver is confined to ("/" for the host).
func (r *Resolver) Root() string {
	if r.root == "" {
		return "/"
	}
	return r.root
}

// HostPath maps a canonical path inside the root to the host's path.
func (r *Resolver) HostPath(canon string) string {
	if r.root == "" {
		return canon
	}
	if canon == "/" {
		return r.root
	}
	return r.root + canon
}

// Lstat returns the cached lstat of a canonical path and, for a symlink,
// its target.
func (r *Resolver) Lstat(canon string) (fs.FileInfo, string, error) {
	r.mu.Lock()
	n, ok := r.cache[canon]
	r.mu.Unlock()
	if ok {
		return n.info, n.target, n.err
	}
	hp := r.HostPath(canon)
	info, err := os.Lstat(hp)
	if err == nil && info.Mode()&fs.ModeSymlink != 0 {
		n.target, err = os.Readlink(hp)
	}
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		info = nil
	}
	n.info, n.err = info, err
	r.mu.Lock()
	r.cache[canon] = n
	r.mu.Unlock()
	return n.info, n.target, n.err
}

// Resolve resolves p, an absolute path inside the root, component by
// component. Every symlink met is followed and reported in Links; the
// final component is followed only when followFinal is set (as open(2)
// does, unlike lstat(2)). Relative paths are taken from the root.
func (r *Resolver) Resolve(p string, followFinal bool) (Result, error) {
	var res Result
	if len(p) > MaxPath {
		return res, &Error{Path: p, Err: syscall.ENAMETOOLONG}
	}
	if strings.IndexByte(p, 0) >= 0 {
		return res, &Error{Path: p, Err: syscall.EINVAL}
	}
	cur := "/"
	rest := p
	links := 0
	for {
		// Take the next component from rest.
		rest = strings.TrimLeft(rest, "/")
		if rest == "" {
			break
		}
		var comp string
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			comp, rest = rest[:i], rest[i:]
		} else {
			comp, rest = rest, ""
		}
		final := strings.TrimLeft(rest, "/") == ""
		switch comp {
		case ".":
			continue
		case "..":
			cur = parent(cur)
			continue
		}
		next := join(cur, comp)
		info, target, err := r.Lstat(next)
		if err != nil {
			res.Path = next
			return res, &Error{Path: p, At: next, Err: err}
		}
		if info.Mode()&fs.ModeSymlink != 0 && (!final || followFinal) {
			links++
			if links > MaxLinks {
				res.Path = next
				return res, &Error{Path: p, At: next, Err: syscall.ELOOP}
			}
			res.Links = append(res.Links, Link{Path: next, Target: target})
			if strings.HasPrefix(target, "/") {
				cur = "/"
			}
			if len(target)+len(rest) > MaxPath*2 {
				return res, &Error{Path: p, At: next, Err: syscall.ENAMETOOLONG}
			}
			rest = target + "/" + rest
			continue
		}
		if !final && !info.IsDir() {
			res.Path = next
			return res, &Error{Path: p, At: next, Err: syscall.ENOTDIR}
		}
		cur = next
	}
	res.Path = cur
	info, _, err := r.Lstat(cur)
	if err != nil {
		return res, &Error{Path: p, At: cur, Err: err}
	}
	res.Info = info
	return res, nil
}

// Canonical is Resolve(p, true).Path.
func (r *Resolver) Canonical(p string) (string, error) {
	res, err := r.Resolve(p, true)
	return res.Path, err
}

func join(dir, name string) string {
	if dir == "/" {
		return "/" + name
	}
	return dir + "/" + name
}

func parent(p string) string {
	if p == "/" {
		return "/"
	}
	i := strings.LastIndexByte(p, '/')
	if i <= 0 {
		return "/"
	}
	return p[:i]
}

// Parent returns the parent of a canonical path ("/" for "/").
func Parent(p string) string { return parent(p) }

// Join joins a canonical directory and a relative path without cleaning
// "..": the result is for Resolve, which handles ".." after symlinks as the
// kernel does.
func Join(dir, rel string) string {
	if strings.HasPrefix(rel, "/") {
		return rel
	}
	if rel == "" {
		return dir
	}
	if strings.HasSuffix(dir, "/") {
		return dir + rel
	}
	return dir + "/" + rel
}
