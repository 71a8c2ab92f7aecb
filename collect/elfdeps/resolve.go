package elfdeps

import (
	"debug/elf"
	"os"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/pkg/errors"

	"github.com/scratchpack/scratchpack/internal/rootpath"
)

// Object is what the resolver knows of one ELF file.
type Object struct {
	Class    elf.Class
	Machine  elf.Machine
	Interp   string
	Soname   string
	Needed   []string
	RPath    []string
	RunPath  []string
	NoDefLib bool // DF_1_NODEFLIB: no cache, no system directories
	Static   bool // no PT_INTERP and no dynamic section
}

// Lib is one library found for a program.
type Lib struct {
	Name string // the DT_NEEDED name, or the interpreter's path
	Path string // the path as the loader opens it
	// Canonical is Path with every symlink resolved (inside the root).
	Canonical string
	// By is the object (its Path) whose DT_NEEDED asked for it; "" for
	// the interpreter.
	By string
}

// Tree is the resolution of one program or library.
type Tree struct {
	Path   string
	Interp string
	Static bool
	// Libs in load order (breadth first, as the loader maps them), each
	// once; the interpreter first when there is one.
	Libs []Lib
	// Missing lists "NAME needed by PATH" for libraries not found.
	Missing []string
	// Needs maps each object's Path to the Paths of its DT_NEEDED, for
	// printing a tree.
	Needs map[string][]string
	// Config lists the files the loader reads to find the libraries:
	// musl's search path file (/etc/ld-musl-ARCH.path) when a search
	// reached it and it exists. (glibc's ld.so.cache is a cache: a
	// program starts without it.)
	Config []string
}

// NotELFError is returned for files that are not ELF.
type NotELFError struct{ Path string }

func (e *NotELFError) Error() string { return e.Path + " is not an ELF file" }

// Resolver finds the shared libraries of ELF files the way the dynamic
// loader would inside a root, without running them. It parses each ELF
// file and the loader cache once, and is safe for concurrent use.
type Resolver struct {
	res *rootpath.Resolver
	// LibraryPath is LD_LIBRARY_PATH, searched after DT_RPATH and before
	// DT_RUNPATH.
	LibraryPath []string

	mu      sync.Mutex
	objects map[string]*objResult // by canonical path

	cacheOnce sync.Once
	cache     *Cache
	cacheErr  error
	confDirs  []string

	muslMu sync.Mutex
	musl   map[string]muslSearch // by loader path
}

type objResult struct {
	once sync.Once
	obj  *Object
	err  error
}

// NewResolver returns a resolver for files under res's root.
func NewResolver(res *rootpath.Resolver) *Resolver {
	return &Resolver{res: res, objects: map[string]*objResult{}}
}

// Object parses (once) the ELF file at canonical path p.
func (r *Resolver) Object(p string) (*Object, error) {
	r.mu.Lock()
	or, ok := r.objects[p]
	if !ok {
		or = &objResult{}
		r.objects[p] = or
	}
	r.mu.Unlock()
	or.once.Do(func() { or.obj, or.err = readObject(r.res.HostPath(p), p) })
	return or.obj, or.err
}

func readObject(host, name string) (*Object, error) {
	f, err := os.Open(host)
	if err != nil {
		return nil, errors.Wrap(err, "reading ELF file")
	}
	defer f.Close()
	var magic [4]byte
	if _, err := f.ReadAt(magic[:], 0); err != nil || string(magic[:]) != elf.ELFMAG {
		return nil, &NotELFError{Path: name}
	}
	ef, err := elf.NewFile(f)
	if err != nil {
		return nil, errors.Wrapf(err, "reading ELF headers of %s", name)
	}
	defer ef.Close()
	o := &Object{Class: ef.Class, Machine: ef.Machine}
	if o.Interp, err = Interpreter(f); err != nil {
		return nil, errors.Wrapf(err, "reading %s", name)
	}
	dyn := ef.Section(".dynamic")
	hasDynamic := false
	for _, p := range ef.Progs {
		if p.Type == elf.PT_DYNAMIC {
			hasDynamic = true
		}
	}
	if !hasDynamic && dyn == nil {
		o.Static = o.Interp == ""
		return o, nil
	}
	if o.Needed, err = ef.DynString(elf.DT_NEEDED); err != nil {
		return nil, errors.Wrapf(err, "reading DT_NEEDED of %s", name)
	}
	so, _ := ef.DynString(elf.DT_SONAME)
	if len(so) > 0 {
		o.Soname = so[0]
	}
	for _, rp := range mustDyn(ef, elf.DT_RPATH) {
		o.RPath = append(o.RPath, splitPath(rp)...)
	}
	for _, rp := range mustDyn(ef, elf.DT_RUNPATH) {
		o.RunPath = append(o.RunPath, splitPath(rp)...)
	}
	if vals, err := ef.DynValue(elf.DT_FLAGS_1); err == nil {
		for _, v := range vals {
			if v&uint64(elf.DF_1_NODEFLIB) != 0 {
				o.NoDefLib = true
			}
		}
	}
	o.Static = o.Interp == "" && len(o.Needed) == 0 && o.Soname == "" && isStaticPIE(ef)
	return o, nil
}

// isStaticPIE: a static-pie has a dynamic section but no PT_INTERP and
// no DT_NEEDED; ldd calls it "statically linked".
func isStaticPIE(ef *elf.File) bool { return ef.Type == elf.ET_DYN }

func mustDyn(ef *elf.File, tag elf.DynTag) []string {
	v, _ := ef.DynString(tag)
	return v
}

func splitPath(s string) []string {
	var out []string
	for _, d := range strings.Split(s, ":") {
		if d != "" {
			out = append(out, d)
		}
	}
	return out
}

// arch describes the loader conventions for one ELF class and machine.
type arch struct {
	cacheFlags int32 // ld.so.cache flags; -1: do not filter
	triplet    string
	platform   string
}

func archOf(class elf.Class, m elf.Machine) arch {
	switch {
	case class == elf.ELFCLASS64 && m == elf.EM_X86_64:
		return arch{0x0303, "x86_64-linux-gnu", "x86_64"}
	case class == elf.ELFCLASS32 && m == elf.EM_X86_64:
		return arch{0x0803, "x86_64-linux-gnux32", "x86_64"}
	case class == elf.ELFCLASS32 && m == elf.EM_386:
		return arch{0x0003, "i386-linux-gnu", "i686"}
	case class == elf.ELFCLASS64 && m == elf.EM_AARCH64:
		return arch{0x0a03, "aarch64-linux-gnu", "aarch64"}
	}
	return arch{cacheFlags: -1, platform: strings.ToLower(strings.TrimPrefix(m.String(), "EM_"))}
}

func (r *Resolver) loadCache() {
	r.cacheOnce.Do(func() {
		host := r.res.HostPath("/etc/ld.so.cache")
		if _, err := os.Stat(host); err == nil {
			r.cache, r.cacheErr = ReadCache(host)
		}
		root := r.res.Root()
		if root == "/" {
			root = ""
		}
		r.confDirs, _ = ReadConf(root, "/etc/ld.so.conf")
	})
}

// systemDirs are the loader's built-in directories for an arch: Debian's
// multiarch layout when the root has it, else /lib64 and /usr/lib64 for
// 64-bit (RHEL) or /lib and /usr/lib.
func (r *Resolver) systemDirs(a arch, class elf.Class) []string {
	if a.triplet != "" {
		if info, _, err := r.res.Lstat("/usr/lib/" + a.triplet); err == nil && info != nil {
			return []string{"/lib/" + a.triplet, "/usr/lib/" + a.triplet, "/lib", "/usr/lib"}
		}
	}
	if class == elf.ELFCLASS64 {
		return []string{"/lib64", "/usr/lib64"}
	}
	return []string{"/lib", "/usr/lib"}
}

type loaded struct {
	lib    Lib
	obj    *Object
	loader *loaded // who loaded it, for the DT_RPATH chain
	// listed is false for the default loader of a library given
	// directly: it is mapped, but listed only once something needs it.
	listed bool
}

// Resolve finds every library the ELF file at p (absolute, inside the
// root) needs, recursively. A file that is not ELF gives *NotELFError.
func (r *Resolver) Resolve(p string) (*Tree, error) {
	canon, err := r.res.Canonical(p)
	if err != nil {
		return nil, err
	}
	main, err := r.Object(canon)
	if err != nil {
		return nil, err
	}
	t := &Tree{Path: p, Interp: main.Interp, Needs: map[string][]string{}}
	if main.Static || (main.Interp == "" && len(main.Needed) == 0) {
		t.Static = true
		return t, nil
	}
	r.loadCache()
	a := archOf(main.Class, main.Machine)
	interp, listed := main.Interp, true
	if interp == "" {
		// a shared library given directly: the default loader maps it
		interp, listed = r.defaultInterp(main), false
	}
	musl := isMusl(interp)
	// The program's origin is its canonical directory (/proc/self/exe).
	root := &loaded{lib: Lib{Name: p, Path: canon, Canonical: canon}, obj: main, listed: true}
	all := []*loaded{root}
	byName := map[string]*loaded{}
	byCanon := map[string]*loaded{canon: root}
	if interp != "" {
		if ic, err := r.res.Canonical(interp); err == nil {
			l := &loaded{lib: Lib{Name: interp, Path: interp, Canonical: ic}, listed: listed}
			if o, err := r.Object(ic); err == nil {
				l.obj = o
				if o.Soname != "" {
					byName[o.Soname] = l
				}
			}
			byName[path.Base(interp)] = l
			byCanon[ic] = l
			if listed {
				t.Libs = append(t.Libs, l.lib)
			}
		} else if listed {
			t.Missing = append(t.Missing, interp+" (the program interpreter) needed by "+p)
		}
	}
	for i := 0; i < len(all); i++ {
		cur := all[i]
		if cur.obj == nil {
			continue
		}
		for _, name := range cur.obj.Needed {
			if musl && muslSelf(name) && byName[path.Base(interp)] != nil {
				name = path.Base(interp) // libc.so, libc.musl-x86_64.so.1...: the loader itself
			}
			if l, ok := byName[name]; ok {
				if !l.listed {
					l.listed = true
					t.Libs = append(t.Libs, l.lib)
				}
				t.Needs[cur.lib.Path] = append(t.Needs[cur.lib.Path], l.lib.Path)
				continue
			}
			found, fc, fo := r.search(name, cur, a, musl, interp, t)
			if found == "" {
				t.Missing = append(t.Missing, name+" needed by "+cur.lib.Path)
				continue
			}
			if l, ok := byCanon[fc]; ok {
				if !l.listed {
					l.listed = true
					t.Libs = append(t.Libs, l.lib)
				}
				byName[name] = l
				t.Needs[cur.lib.Path] = append(t.Needs[cur.lib.Path], l.lib.Path)
				continue
			}
			l := &loaded{lib: Lib{Name: name, Path: found, Canonical: fc, By: cur.lib.Path}, obj: fo, loader: cur, listed: true}
			byName[name] = l
			if fo.Soname != "" && fo.Soname != name {
				if _, dup := byName[fo.Soname]; !dup {
					byName[fo.Soname] = l
				}
			}
			byCanon[fc] = l
			all = append(all, l)
			t.Libs = append(t.Libs, l.lib)
			t.Needs[cur.lib.Path] = append(t.Needs[cur.lib.Path], found)
		}
	}
	return t, nil
}

func defaultInterp(class elf.Class, m elf.Machine) string {
	switch {
	case class == elf.ELFCLASS64 && m == elf.EM_X86_64:
		return "/lib64/ld-linux-x86-64.so.2"
	case class == elf.ELFCLASS32 && m == elf.EM_386:
		return "/lib/ld-linux.so.2"
	case class == elf.ELFCLASS64 && m == elf.EM_AARCH64:
		return "/lib/ld-linux-aarch64.so.1"
	}
	return ""
}

// search looks for a DT_NEEDED name in the loader's order.
func (r *Resolver) search(name string, by *loaded, a arch, musl bool, interp string, t *Tree) (string, string, *Object) {
	try := func(p string) (string, string, *Object) {
		canon, err := r.res.Canonical(p)
		if err != nil {
			return "", "", nil
		}
		o, err := r.Object(canon)
		if err != nil || o.Class != by.obj.Class || o.Machine != by.obj.Machine {
			return "", "", nil // the loader skips files of another class or machine
		}
		return p, canon, o
	}
	inDirs := func(dirs []string, owner *loaded) (string, string, *Object) {
		for _, d := range dirs {
			d = r.expand(d, owner, a)
			if d == "" {
				continue
			}
			if f, c, o := try(strings.TrimRight(d, "/") + "/" + name); f != "" {
				return f, c, o
			}
		}
		return "", "", nil
	}
	if strings.Contains(name, "/") {
		return try(name)
	}
	if musl {
		// LD_LIBRARY_PATH, then the run path (DT_RUNPATH, else DT_RPATH)
		// of the object and of each object that loaded it, then the
		// path file or the default; musl has no cache.
		if f, c, o := inDirs(r.LibraryPath, by); f != "" {
			return f, c, o
		}
		for l := by; l != nil; l = l.loader {
			if l.obj == nil {
				continue
			}
			if f, c, o := inDirs(muslRunPath(l.obj), l); f != "" {
				return f, c, o
			}
		}
		sp := r.muslPath(interp)
		if sp.file != "" && t != nil && !slices.Contains(t.Config, sp.file) {
			t.Config = append(t.Config, sp.file)
		}
		return inDirs(sp.dirs, by)
	}
	// DT_RPATH of the object and of its loaders, unless it has DT_RUNPATH.
	if len(by.obj.RunPath) == 0 {
		for l := by; l != nil; l = l.loader {
			if l.obj == nil {
				continue
			}
			if f, c, o := inDirs(l.obj.RPath, l); f != "" {
				return f, c, o
			}
		}
	}
	if f, c, o := inDirs(r.LibraryPath, by); f != "" {
		return f, c, o
	}
	if f, c, o := inDirs(by.obj.RunPath, by); f != "" {
		return f, c, o
	}
	if by.obj.NoDefLib {
		return "", "", nil
	}
	if r.cache != nil {
		for _, p := range r.cache.Lookup(name, a.cacheFlags) {
			if f, c, o := try(p); f != "" {
				return f, c, o
			}
		}
	} else if f, c, o := inDirs(r.confDirs, by); f != "" {
		return f, c, o
	}
	return inDirs(r.systemDirs(a, by.obj.Class), by)
}

// expand replaces $ORIGIN, $LIB and $PLATFORM (also as ${...}) in a
// search directory. $ORIGIN is the directory of the object's path.
func (r *Resolver) expand(dir string, owner *loaded, a arch) string {
	if !strings.Contains(dir, "$") {
		return dir
	}
	lib := "lib"
	if a.triplet != "" {
		lib = "lib/" + a.triplet
	}
	origin := path.Dir(owner.lib.Path)
	repl := strings.NewReplacer("${ORIGIN}", origin, "$ORIGIN", origin, "${LIB}", lib, "$LIB", lib,
		"${PLATFORM}", a.platform, "$PLATFORM", a.platform)
	out := repl.Replace(dir)
	if !strings.HasPrefix(out, "/") {
		return "" // a relative search directory is ignored
	}
	return out
}

// Paths returns the unique library paths of trees and the loader files
// they need (Config), sorted.
func Paths(trees []*Tree) []string {
	seen := map[string]bool{}
	for _, t := range trees {
		for _, l := range t.Libs {
			seen[l.Path] = true
		}
		for _, c := range t.Config {
			seen[c] = true
		}
	}
	out := make([]string, 0, len(seen))
	for p := range seen {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// IsNotELF reports whether err says a file is not ELF.
func IsNotELF(err error) bool {
	var ne *NotELFError
	return errors.As(err, &ne)
}

// FindLibrary finds a library by soname the way the loader would for the
// ELF file ref (whose class, machine and search paths apply), e.g. an
// NSS module that glibc will dlopen.
func (r *Resolver) FindLibrary(soname, ref string) (string, bool) {
	canon, err := r.res.Canonical(ref)
	if err != nil {
		return "", false
	}
	o, err := r.Object(canon)
	if err != nil {
		return "", false
	}
	r.loadCache()
	by := &loaded{lib: Lib{Path: canon}, obj: o}
	p, _, _ := r.search(soname, by, archOf(o.Class, o.Machine), isMusl(o.Interp), o.Interp, nil)
	return p, p != ""
}
