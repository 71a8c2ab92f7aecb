package elfdeps

import (
	"debug/elf"
	"os"
	"path"
	"strings"
)

// musl's dynamic loader is libc itself (/lib/ld-musl-ARCH.so.1), and its
// rules differ from glibc's:
//
//   - a DT_NEEDED name "lib" + one of c, pthread, rt, m, dl, util, xnet +
//     "." is the loader itself: libc.so (musl-gcc), libc.musl-x86_64.so.1
//     (Alpine), libpthread.so.0...
//   - the search path is LD_LIBRARY_PATH, then the run path of the object
//     and of each object that loaded it (DT_RUNPATH, else DT_RPATH; only
//     $ORIGIN is expanded), then the lines of PREFIX/etc/ld-musl-ARCH.path
//     (colon or newline separated; PREFIX is the loader's path without its
//     last two components: "" for /lib/ld-musl-x86_64.so.1), or
//     /lib:/usr/local/lib:/usr/lib when that file does not exist.
//   - there is no cache: ld.so.cache and ld.so.conf mean nothing to it.

// isMusl reports whether a program interpreter is musl's loader.
func isMusl(interp string) bool {
	return strings.HasPrefix(path.Base(interp), "ld-musl-")
}

// muslReserved are the libraries musl's libc provides itself.
var muslReserved = []string{"c", "pthread", "rt", "m", "dl", "util", "xnet"}

// muslSelf reports whether musl's loader satisfies a DT_NEEDED name with
// itself.
func muslSelf(name string) bool {
	rest, ok := strings.CutPrefix(name, "lib")
	if !ok {
		return false
	}
	for _, r := range muslReserved {
		if strings.HasPrefix(rest, r+".") {
			return true
		}
	}
	return false
}

// muslRunPath is the run path musl uses for an object: DT_RUNPATH when it
// has one, else DT_RPATH.
func muslRunPath(o *Object) []string {
	if len(o.RunPath) > 0 {
		return o.RunPath
	}
	return o.RPath
}

// DefaultMuslPath is musl's search path when the path file does not exist.
var DefaultMuslPath = []string{"/lib", "/usr/local/lib", "/usr/lib"}

// muslSearch is the system search path of one musl loader.
type muslSearch struct {
	file string   // the path file, when it exists
	dirs []string // its directories, or DefaultMuslPath
}

// MuslPathFile returns the path file musl's loader at interp reads:
// PREFIX/etc/ld-musl-ARCH.path.
func MuslPathFile(interp string) string {
	base := path.Base(interp) // ld-musl-x86_64.so.1
	archName := strings.TrimSuffix(strings.TrimPrefix(base, "ld-musl-"), ".so.1")
	prefix := ""
	if strings.HasPrefix(interp, "/") {
		prefix = path.Dir(path.Dir(interp))
		if prefix == "/" {
			prefix = ""
		}
	}
	return prefix + "/etc/ld-musl-" + archName + ".path"
}

// ParseMuslPath splits the contents of a musl path file into its
// directories, as the loader does: colons and newlines separate them,
// empty entries are skipped. Relative entries (relative to the working
// directory for the loader) are dropped.
func ParseMuslPath(data string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(data, func(c rune) bool { return c == ':' || c == '\n' }) {
		if strings.HasPrefix(f, "/") {
			out = append(out, f)
		}
	}
	return out
}

// muslPath reads (once per loader) the path file of the loader at interp.
func (r *Resolver) muslPath(interp string) muslSearch {
	r.muslMu.Lock()
	defer r.muslMu.Unlock()
	if s, ok := r.musl[interp]; ok {
		return s
	}
	if r.musl == nil {
		r.musl = map[string]muslSearch{}
	}
	s := muslSearch{dirs: DefaultMuslPath}
	file := MuslPathFile(interp)
	if canon, err := r.res.Canonical(file); err == nil {
		if data, err := os.ReadFile(r.res.HostPath(canon)); err == nil {
			s = muslSearch{file: file, dirs: ParseMuslPath(string(data))}
		}
	}
	r.musl[interp] = s
	return s
}

// muslArch is musl's name for an ELF class and machine (ld-musl-ARCH.so.1).
func muslArch(class elf.Class, m elf.Machine) string {
	switch {
	case class == elf.ELFCLASS64 && m == elf.EM_X86_64:
		return "x86_64"
	case class == elf.ELFCLASS32 && m == elf.EM_386:
		return "i386"
	case class == elf.ELFCLASS64 && m == elf.EM_AARCH64:
		return "aarch64"
	case class == elf.ELFCLASS64 && m == elf.EM_RISCV:
		return "riscv64"
	case class == elf.ELFCLASS64 && m == elf.EM_S390:
		return "s390x"
	}
	return ""
}

// defaultInterp is the loader that maps a shared library given directly
// (it has no PT_INTERP): musl's when the library needs musl's libc
// (libc.so, libc.musl-ARCH.so.1; glibc's is libc.so.6) or when the root
// has musl's loader and not glibc's; glibc's otherwise.
func (r *Resolver) defaultInterp(o *Object) string {
	glibc := defaultInterp(o.Class, o.Machine)
	ma := muslArch(o.Class, o.Machine)
	if ma == "" {
		return glibc
	}
	musl := "/lib/ld-musl-" + ma + ".so.1"
	for _, n := range o.Needed {
		if n == "libc.so" || strings.HasPrefix(n, "libc.musl-") {
			return musl
		}
	}
	if glibc != "" {
		if _, err := r.res.Canonical(glibc); err == nil {
			return glibc
		}
	}
	if _, err := r.res.Canonical(musl); err == nil {
		return musl
	}
	return glibc
}
