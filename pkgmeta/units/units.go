package units

import (
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"syscall"

	"github.com/pkg/errors"

	"github.com/scratchpack/scratchpack/internal/rootpath"
	"github.com/scratchpack/scratchpack/pkgmeta"
)

// Entry is one path of a unit, as it is in the root.
type Entry struct {
	Path string
	Size int64 // regular files
	Mode fs.FileMode
	// Doc is documentation an OS package ships (--complete os leaves it
	// out; the unit's totals count it).
	Doc bool
}

// Regular reports whether the entry is a regular file.
func (e Entry) Regular() bool { return e.Mode.IsRegular() }

// Unit is one unit of a root with everything it holds.
type Unit struct {
	Kind Kind
	// Name is the unit's own name: "email", "iconv-lite", "digest",
	// "Encode", "libc6".
	Name string
	// Key tells units apart: the kind and where the unit is.
	Key string
	// Package is the OS package of an os unit; Format is "deb" or "apk".
	Package *pkgmeta.Package
	Format  string
	// Entries are its directories, regular files and symlinks, sorted.
	Entries []Entry
	module  func(string) string
	index   map[string]int
}

// Module returns the language module a path of the unit is part of
// ("" when none: a data file, or an OS unit).
func (u *Unit) Module(p string) string {
	if u.module == nil {
		return ""
	}
	return u.module(p)
}

// Lookup returns the unit's entry at p.
func (u *Unit) Lookup(p string) (Entry, bool) {
	if u.index == nil {
		u.index = make(map[string]int, len(u.Entries))
		for i, e := range u.Entries {
			u.index[e.Path] = i
		}
	}
	i, ok := u.index[p]
	if !ok {
		return Entry{}, false
	}
	return u.Entries[i], true
}

// Finder finds the units of paths in one root; it reads each unit once.
type Finder struct {
	// Warn, when set, hears of what the finder could read in part (a
	// RECORD with a broken line); the units stand without it.
	Warn  func(error)
	res   *rootpath.Resolver
	db    *pkgmeta.DB
	units map[string]*Unit
	// per directory: its names (python entries, ruby and perl roots)
	names map[string][]string
	dists map[string]map[string]string  // python entry -> top-level name -> dist-info dir
	ruby  map[string]bool               // ruby lib directories of the root
	perl  map[string]bool               // perl lib directories of the root
	roots struct{ ruby, perl []string } // the same, sorted
}

// NewFinder returns a finder for the root of res; db (nil when the root
// has no package database) gives the OS units.
func NewFinder(res *rootpath.Resolver, db *pkgmeta.DB) *Finder {
	return &Finder{res: res, db: db, units: map[string]*Unit{}, names: map[string][]string{}, dists: map[string]map[string]string{}}
}

// DB is the package database the finder was made with (nil when none).
func (f *Finder) DB() *pkgmeta.DB { return f.db }

// Of returns the units of kind that the file at p (a canonical path
// inside the root) belongs to: none, one, or for os each package that
// owns it.
func (f *Finder) Of(k Kind, p string) ([]*Unit, error) {
	var u *Unit
	var err error
	switch k {
	case Python:
		u, err = f.python(p)
	case Node:
		u, err = f.node(p)
	case Ruby:
		u, err = f.rubyUnit(p)
	case Perl:
		u, err = f.perlUnit(p)
	case OS:
		if f.db == nil {
			return nil, nil
		}
		var out []*Unit
		for _, pkg := range f.db.Owning(p) {
			u, err := f.pkgUnit(pkg)
			if err != nil {
				return nil, err
			}
			out = append(out, u)
		}
		return out, nil
	default:
		return nil, errors.Errorf("unknown kind of unit %q", k)
	}
	if u == nil || err != nil {
		return nil, err
	}
	return []*Unit{u}, nil
}

// Packages returns the os units of the packages named name
// (--complete-package); an error when the root has none of that name.
func (f *Finder) Packages(name string) ([]*Unit, error) {
	if f.db == nil {
		return nil, errors.Errorf("--complete-package %s: the root has no dpkg or apk database", name)
	}
	pkgs := f.db.Lookup(name)
	if len(pkgs) == 0 {
		return nil, errors.Errorf("--complete-package %s: no installed package of that name in the root's %s database", name, f.db.Kind)
	}
	var out []*Unit
	for _, p := range pkgs {
		u, err := f.pkgUnit(p)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, nil
}

// pkgUnit is the unit of an OS package: the files of the database's
// list that are in the root (directories left out).
func (f *Finder) pkgUnit(pkg *pkgmeta.Package) (*Unit, error) {
	key := "os:" + pkg.Name + ":" + pkg.Arch
	if u := f.units[key]; u != nil {
		return u, nil
	}
	format := "deb"
	if f.db.Kind == pkgmeta.Apk {
		format = "apk"
	}
	u := &Unit{Kind: OS, Name: pkg.Name, Key: key, Package: pkg, Format: format}
	for _, p := range f.db.Files(pkg) {
		info, err := os.Lstat(f.res.HostPath(p))
		if err != nil || info.IsDir() {
			continue // listed but not there (removed, or excluded at install)
		}
		u.Entries = append(u.Entries, Entry{Path: p, Size: size(info), Mode: info.Mode(), Doc: isDoc(p)})
	}
	f.units[key] = u
	return u, nil
}

// isDoc reports whether p is documentation --complete os leaves out:
// /usr/share/doc (but copyright files), man pages, info, lintian.
func isDoc(p string) bool {
	for _, d := range []string{"/usr/share/man/", "/usr/share/info/", "/usr/share/lintian/"} {
		if strings.HasPrefix(p, d) {
			return true
		}
	}
	return strings.HasPrefix(p, "/usr/share/doc/") && path.Base(p) != "copyright"
}

func size(info fs.FileInfo) int64 {
	if info.Mode().IsRegular() {
		return info.Size()
	}
	return 0
}

// unit makes (once) the unit of key from the trees and files at paths:
// a directory is walked whole, but for the names skip refuses below it.
func (f *Finder) unit(k Kind, name, key string, module func(string) string, skip func(string) bool, paths ...string) (*Unit, error) {
	if u := f.units[key]; u != nil {
		return u, nil
	}
	u := &Unit{Kind: k, Name: name, Key: key, module: module}
	seen := map[string]bool{}
	for _, p := range paths {
		if err := f.walk(u, p, skip, seen, 0); err != nil {
			return nil, err
		}
	}
	sort.Slice(u.Entries, func(i, j int) bool { return u.Entries[i].Path < u.Entries[j].Path })
	f.units[key] = u
	return u, nil
}

// walk adds p, and what is under it when it is a directory, to u.
// Symlinks are entries, never followed.
func (f *Finder) walk(u *Unit, p string, skip func(string) bool, seen map[string]bool, depth int) error {
	if seen[p] {
		return nil
	}
	if depth > 64 {
		return errors.Errorf("reading %s: directories nested too deep", p)
	}
	info, err := os.Lstat(f.res.HostPath(p))
	if absent(err) {
		return nil
	}
	if err != nil {
		return errors.Wrapf(err, "reading the %s unit %s", u.Kind, u.Name)
	}
	seen[p] = true
	u.Entries = append(u.Entries, Entry{Path: p, Size: size(info), Mode: info.Mode()})
	if !info.IsDir() {
		return nil
	}
	names, err := f.dir(p)
	if err != nil {
		return errors.WithMessagef(err, "reading the %s unit %s", u.Kind, u.Name)
	}
	for _, n := range names {
		if skip != nil && skip(n) {
			continue
		}
		if err := f.walk(u, path.Join(p, n), skip, seen, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// absent reports whether err says a path the finder made up (a gem's
// gemspec, a Perl namespace's directory in another lib directory) is
// not there: missing, under a file, or too long a name to exist.
func absent(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.ENAMETOOLONG)
}

// dir returns the sorted names in the directory p of the root (nil when
// it is not a directory there).
func (f *Finder) dir(p string) ([]string, error) {
	if names, ok := f.names[p]; ok {
		return names, nil
	}
	d, err := os.Open(f.res.HostPath(p))
	if err != nil {
		f.names[p] = nil
		return nil, nil
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, errors.Wrapf(err, "listing %s", p)
	}
	sort.Strings(names)
	f.names[p] = names
	return names, nil
}

// isDir reports whether p is a directory (not a link) in the root.
func (f *Finder) isDir(p string) bool {
	info, err := os.Lstat(f.res.HostPath(p))
	return err == nil && info.IsDir()
}

// exists reports whether p is in the root (links not followed).
func (f *Finder) exists(p string) bool {
	_, err := os.Lstat(f.res.HostPath(p))
	return err == nil
}

// split returns the components of a clean absolute path.
func split(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

func join(comps []string) string { return "/" + strings.Join(comps, "/") }

// stem is a file name up to its first dot: "_json" for
// _json.cpython-311-x86_64-linux-gnu.so.
func stem(name string) string {
	s, _, _ := strings.Cut(name, ".")
	return s
}
