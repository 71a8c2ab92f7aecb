package strace

import "encoding/binary"

// Op says what a syscall did with a path.
type Op uint8

// The operations an Event can carry.
const (
	OpExec   Op = iota + 1 // execve, execveat: the file was run
	OpRead                 // opened without creating or truncating it: it existed and was used
	OpWrite                // opened to write a new file (O_CREAT|O_TRUNC, O_EXCL, creat)
	OpStat                 // stat, access, readlink, xattrs...: existence or metadata
	OpList                 // getdents: the directory was listed
	OpChdir                // chdir, fchdir
	OpChroot               // chroot
	OpCreate               // mkdir, mknod, symlink, link (Path is the new name)
	OpDelete               // unlink, rmdir
	OpRename               // rename: Path is the old name, Path2 the new one
	OpModify               // chmod, chown, utime, truncate, setxattr: it existed
)

var opNames = [...]string{"", "exec", "read", "write", "stat", "list", "chdir", "chroot", "create", "delete", "rename", "modify"}

func (o Op) String() string {
	if int(o) < len(opNames) {
		return opNames[o]
	}
	return "op?"
}

// spec tells where a syscall's paths are. Indexes are 0-based argument
// numbers; -1 means none.
type spec struct {
	op     Op
	dirfd  int // dirfd of path, -1: relative to the cwd
	path   int // path argument, -1: the fd argument names the file
	fd     int // fd argument for fd-only calls (fchdir, getdents)
	dirfd2 int // second path's dirfd
	path2  int // second path (rename, link, symlink's new name)
	flags  int // open flags (or the openat2 struct); for *at stat calls, the AT_ flags
	kind   kindOfCall
	name   string // the key in specs (set by init)
	// set by init from the name, so that no line compares names:
	open   openKind   // open, openat, openat2
	follow followKind // how the call treats a final symlink
}

// openKind tells the open calls, whose flags are O_ flags.
type openKind uint8

const (
	notOpen    openKind = iota
	openPlain           // open, openat: O_ flags
	openStruct          // openat2: the flags inside its struct
)

// followKind says whether a call follows a final symlink.
type followKind uint8

const (
	follows        followKind = iota
	followsNever              // lstat, readlink, l*xattr, lchown
	followsAtFlags            // unless its AT_ flags have AT_SYMLINK_NOFOLLOW
)

// specOf holds every spec by pointer, with its name: a split line
// carries one word, not the spec.
var specOf = func() map[string]*spec {
	m := make(map[string]*spec, len(specs))
	for name, sp := range specs {
		sp.name = name
		switch name {
		case "open", "openat":
			sp.open = openPlain
		case "openat2":
			sp.open = openStruct
		case "lstat", "lstat64", "oldlstat", "readlink", "readlinkat", "lgetxattr", "llistxattr",
			"lchown", "lchown32", "lsetxattr", "lremovexattr":
			sp.follow = followsNever
		case "newfstatat", "fstatat64", "statx", "faccessat2", "fchownat", "utimensat", "execveat":
			sp.follow = followsAtFlags
		}
		m[name] = &sp
	}
	return m
}()

type kindOfCall uint8

const (
	callPath    kindOfCall = iota // a path syscall
	callClone                     // clone, clone3, fork, vfork
	callClose                     // close: forget an fd
	callDup                       // dup, dup2, dup3, fcntl(F_DUPFD)
	callUnshare                   // unshare(CLONE_FS)
	callSetuid                    // setuid, setreuid, setresuid: the effective uid (see Unread)
)

func p(op Op, path int) spec {
	return spec{op: op, dirfd: -1, path: path, fd: -1, dirfd2: -1, path2: -1, flags: -1}
}

func at(op Op, dirfd, path int) spec {
	return spec{op: op, dirfd: dirfd, path: path, fd: -1, dirfd2: -1, path2: -1, flags: -1}
}

func withFlags(s spec, flags int) spec { s.flags = flags; return s }

func fdOnly(op Op, fd int) spec {
	return spec{op: op, dirfd: -1, path: -1, fd: fd, dirfd2: -1, path2: -1, flags: -1}
}

func two(op Op, d1, p1, d2, p2 int) spec {
	return spec{op: op, dirfd: d1, path: p1, fd: -1, dirfd2: d2, path2: p2, flags: -1}
}

func other(k kindOfCall) spec {
	return spec{dirfd: -1, path: -1, fd: -1, dirfd2: -1, path2: -1, flags: -1, kind: k}
}

// specs lists every syscall that reveals a path or changes the state the
// parser tracks (processes, cwd, fds). Other syscalls are skipped quickly.
var specs = map[string]spec{
	"execve":   p(OpExec, 0),
	"execveat": withFlags(at(OpExec, 0, 1), 4),

	"open":    withFlags(p(OpRead, 0), 1),
	"openat":  withFlags(at(OpRead, 0, 1), 2),
	"openat2": withFlags(at(OpRead, 0, 1), 2),
	"creat":   p(OpWrite, 0),
	"uselib":  p(OpRead, 0),

	"stat":              p(OpStat, 0),
	"lstat":             p(OpStat, 0),
	"stat64":            p(OpStat, 0),
	"lstat64":           p(OpStat, 0),
	"oldstat":           p(OpStat, 0),
	"oldlstat":          p(OpStat, 0),
	"statfs":            p(OpStat, 0),
	"statfs64":          p(OpStat, 0),
	"access":            p(OpStat, 0),
	"readlink":          p(OpStat, 0),
	"getxattr":          p(OpStat, 0),
	"lgetxattr":         p(OpStat, 0),
	"listxattr":         p(OpStat, 0),
	"llistxattr":        p(OpStat, 0),
	"newfstatat":        withFlags(at(OpStat, 0, 1), 3),
	"fstatat64":         withFlags(at(OpStat, 0, 1), 3),
	"statx":             withFlags(at(OpStat, 0, 1), 2),
	"faccessat":         at(OpStat, 0, 1),
	"faccessat2":        withFlags(at(OpStat, 0, 1), 3),
	"readlinkat":        at(OpStat, 0, 1),
	"name_to_handle_at": withFlags(at(OpStat, 0, 1), 4),
	"inotify_add_watch": p(OpStat, 1),
	"fanotify_mark":     at(OpStat, 3, 4),

	"chdir":      p(OpChdir, 0),
	"fchdir":     fdOnly(OpChdir, 0),
	"chroot":     p(OpChroot, 0),
	"getdents":   fdOnly(OpList, 0),
	"getdents64": fdOnly(OpList, 0),

	"mkdir":     p(OpCreate, 0),
	"mkdirat":   at(OpCreate, 0, 1),
	"mknod":     p(OpCreate, 0),
	"mknodat":   at(OpCreate, 0, 1),
	"symlink":   p(OpCreate, 1),
	"symlinkat": at(OpCreate, 1, 2),
	"link":      two(OpCreate, -1, 1, -1, -1),
	"linkat":    two(OpCreate, 2, 3, -1, -1),
	"unlink":    p(OpDelete, 0),
	"unlinkat":  at(OpDelete, 0, 1),
	"rmdir":     p(OpDelete, 0),
	"rename":    two(OpRename, -1, 0, -1, 1),
	"renameat":  two(OpRename, 0, 1, 2, 3),
	"renameat2": two(OpRename, 0, 1, 2, 3),

	"truncate":     p(OpModify, 0),
	"truncate64":   p(OpModify, 0),
	"chmod":        p(OpModify, 0),
	"fchmodat":     at(OpModify, 0, 1),
	"fchmodat2":    at(OpModify, 0, 1),
	"chown":        p(OpModify, 0),
	"lchown":       p(OpModify, 0),
	"chown32":      p(OpModify, 0),
	"lchown32":     p(OpModify, 0),
	"fchownat":     at(OpModify, 0, 1),
	"utime":        p(OpModify, 0),
	"utimes":       p(OpModify, 0),
	"futimesat":    at(OpModify, 0, 1),
	"utimensat":    at(OpModify, 0, 1),
	"setxattr":     p(OpModify, 0),
	"lsetxattr":    p(OpModify, 0),
	"removexattr":  p(OpModify, 0),
	"lremovexattr": p(OpModify, 0),

	"clone":   other(callClone),
	"clone2":  other(callClone),
	"clone3":  other(callClone),
	"fork":    other(callClone),
	"vfork":   other(callClone),
	"close":   other(callClose),
	"dup":     other(callDup),
	"dup2":    other(callDup),
	"dup3":    other(callDup),
	"fcntl":   other(callDup),
	"fcntl64": other(callDup),
	"unshare": other(callUnshare),

	"setuid":      other(callSetuid),
	"setuid32":    other(callSetuid),
	"setreuid":    other(callSetuid),
	"setreuid32":  other(callSetuid),
	"setresuid":   other(callSetuid),
	"setresuid32": other(callSetuid),
}

// Open flag bits (x86_64 and most architectures), for -X raw logs.
const (
	oWRONLY    = 0x1
	oRDWR      = 0x2
	oCREAT     = 0x40
	oEXCL      = 0x80
	oTRUNC     = 0x200
	oDIRECTORY = 0x10000
	oNOFOLLOW  = 0x20000
	oPATH      = 0x200000

	atSymlinkNofollow = 0x100
	atEmptyPath       = 0x1000
)

// nameSlots is the size of nameTable: a power of two, about four times
// the number of names.
const (
	nameBits  = 11
	nameSlots = 1 << nameBits
)

type nameEntry struct {
	k0, k1 uint64 // nameKey
	n      int    // the length of name; 0: a free slot
	name   string
	sp     *spec // nil: the parser does not follow the syscall
}

// nameTable finds the spec of a syscall name and whether the name is a
// syscall at all (knownNames) with one hash and mostly one comparison of
// two words: every line's name is looked up, and a map lookup costs
// several times more. Open addressing, linear probing.
var nameTable = func() *[nameSlots]nameEntry {
	var t [nameSlots]nameEntry
	add := func(name string) {
		k0, k1 := nameKey([]byte(name))
		i := nameHash(k0, k1, len(name))
		for t[i].n != 0 {
			if t[i].name == name {
				return
			}
			i = (i + 1) & (nameSlots - 1)
		}
		t[i] = nameEntry{k0: k0, k1: k1, n: len(name), name: name, sp: specOf[name]}
	}
	for name := range specOf {
		add(name)
	}
	for name := range knownNames {
		add(name)
	}
	return &t
}()

// nameKey returns the first 8 bytes of a name (zero past its end) and,
// for a longer one, its last 8: together the whole name up to 16 bytes.
// A short name is read with one load when the slice's capacity allows
// (a name cut from a line is followed by the rest of the line).
func nameKey(b []byte) (k0, k1 uint64) {
	switch {
	case len(b) >= 8:
		return binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint64(b[len(b)-8:])
	case cap(b) >= 8:
		return binary.LittleEndian.Uint64(b[:8]) & (1<<(8*len(b)) - 1), 0
	}
	for i, c := range b {
		k0 |= uint64(c) << (8 * i)
	}
	return k0, 0
}

// nameHash mixes a name's key and length.
func nameHash(k0, k1 uint64, n int) uint32 {
	x := (k0 ^ k1*31 ^ uint64(n)) * 0x9e3779b97f4a7c15
	return uint32(x >> (64 - nameBits))
}

// lookupName returns the spec of a syscall name (nil for one the parser
// does not follow) and whether the name is a syscall's.
func lookupName(name []byte) (*spec, bool) {
	if len(name) == 0 {
		return nil, false
	}
	k0, k1 := nameKey(name)
	for i := nameHash(k0, k1, len(name)); ; i = (i + 1) & (nameSlots - 1) {
		e := &nameTable[i]
		if e.n == 0 {
			return nil, false
		}
		if e.k0 == k0 && e.k1 == k1 && e.n == len(name) && (len(name) <= 16 || e.name == string(name)) {
			return e.sp, true
		}
	}
}

// Classify sets what an event's flags say: an open that writes a new
// file (OpWrite), a directory asked for (O_DIRECTORY, chdir, getdents),
// a final symlink not followed (lstat, O_NOFOLLOW, AT_SYMLINK_NOFOLLOW).
// flags is the call's open flags or AT_ flags (see Args.Flags). Both
// tracers read calls through it: the log parser and collect/ptrace.
func Classify(ev *Event, flags int) {
	classify(specOf[ev.Syscall], ev, flags)
}

// classify is Classify with the spec of the call (nil for a call the
// parser does not follow): what the call is comes from the spec's open
// and follow, set once, not from its name compared on every event.
func classify(sp *spec, ev *Event, flags int) {
	switch {
	case sp == nil:
	case sp.open != notOpen:
		acc := flags & 3
		creat, trunc, excl := flags&oCREAT != 0, flags&oTRUNC != 0, flags&oEXCL != 0
		if acc == oWRONLY && (creat || trunc) || acc == oRDWR && (trunc || excl) || creat && excl {
			ev.Op = OpWrite
		}
		ev.Dir = flags&oDIRECTORY != 0
		ev.NoFollow = flags&oNOFOLLOW != 0
	case sp.follow == followsNever:
		ev.NoFollow = true
	case sp.follow == followsAtFlags:
		ev.NoFollow = flags&atSymlinkNofollow != 0
	}
	switch ev.Op {
	case OpChdir, OpList:
		ev.Dir = true
	}
}

// Args says where the paths of a syscall are: 0-based argument numbers,
// -1 for none.
type Args struct {
	Op     Op
	Dirfd  int // the dirfd of Path; -1: relative to the cwd
	Path   int // the path; -1: the call is about the file open at Fd
	Fd     int // the fd of an fd-only call (fchdir, getdents)
	Dirfd2 int // the dirfd of Path2
	Path2  int // a second path (rename's new name)
	Flags  int // the open flags (openat2: its struct open_how), or the AT_ flags
}

// ArgsOf returns where the paths of a syscall that names or lists files
// are. ok is false for other calls, and for those that only change the
// state the log parser follows (clone, close, dup, unshare).
func ArgsOf(name string) (Args, bool) {
	sp, ok := specOf[name]
	if !ok || sp.kind != callPath {
		return Args{}, false
	}
	return Args{Op: sp.op, Dirfd: sp.dirfd, Path: sp.path, Fd: sp.fd, Dirfd2: sp.dirfd2, Path2: sp.path2, Flags: sp.flags}, true
}

// AtEmptyPath is the AT_EMPTY_PATH flag: an empty path names the dirfd.
const AtEmptyPath = atEmptyPath
