package ptrace

import (
	"sort"
	"unsafe"

	"github.com/pkg/errors"
	"golang.org/x/sys/unix"

	"github.com/scratchpack/scratchpack/collect/strace"
)

// The data the filter returns with SECCOMP_RET_TRACE, which the tracer
// reads with PTRACE_GETEVENTMSG.
const (
	retNative  = 1 // a native call of the traced set
	retForeign = 2 // a call of another ABI (i386, x32): not decoded
)

// dropCalls change a process's credentials: on their return the tracer
// makes the process dumpable again (see the package doc).
var dropCalls = []string{"setuid", "setreuid", "setresuid", "setgid", "setregid", "setresgid",
	"setgroups", "capset", "setfsuid", "setfsgid"}

// sysNumbers maps the names of this architecture's syscalls to their
// numbers; sysName is the reverse, by number.
var sysNumbers, sysName = func() (map[string]int, []string) {
	m := map[string]int{}
	top := 0
	for nr, name := range sysNames {
		m[name] = nr
		top = max(top, nr)
	}
	names := make([]string, top+1)
	for nr, name := range sysNames {
		names[nr] = name
	}
	return m, names
}()

// nameOf returns the name of syscall nr, or syscall_0xNNN (as strace
// prints a number it has no name for).
func nameOf(nr int) string {
	if nr >= 0 && nr < len(sysName) && sysName[nr] != "" {
		return sysName[nr]
	}
	return "syscall_0x" + hex(uint64(nr))
}

func hex(v uint64) string {
	const digits = "0123456789abcdef"
	if v == 0 {
		return "0"
	}
	var b [16]byte
	i := len(b)
	for v > 0 {
		i--
		b[i] = digits[v&15]
		v >>= 4
	}
	return string(b[i:])
}

// tracedNumbers are the numbers of the calls the filter stops at: those
// that name, list or change files (strace.ArgsOf), and the credential
// changes. Process creation needs no stop of its own: the ptrace
// options report forks, clones and execs.
func tracedNumbers() []int {
	var out []int
	for name, nr := range sysNumbers {
		if _, ok := strace.ArgsOf(name); ok {
			out = append(out, nr)
		}
	}
	for _, name := range dropCalls {
		if nr, ok := sysNumbers[name]; ok {
			out = append(out, nr)
		}
	}
	sort.Ints(out)
	return out
}

// emptyPathCalls are the stat calls glibc makes for fstat() and
// statx(fd, ""): with AT_EMPTY_PATH in their flags (argument number
// given) they are about an open fd, and the filter lets them through.
// (A call that names a path and also gives AT_EMPTY_PATH, which only
// matters for an empty path, is let through too: no program seen does
// that.)
var emptyPathCalls = map[string]int{"newfstatat": 3, "statx": 2}

// filter is the seccomp program: SECCOMP_RET_TRACE for the traced calls
// (every call with all), SECCOMP_RET_ALLOW for the others. Calls of
// another ABI are traced too: the tracer counts them as unreadable.
func filter(all bool) []unix.SockFilter {
	var b bpf
	b.ld(4) // seccomp_data.arch
	b.jeq(auditArch, "", "foreign")
	b.ld(0) // seccomp_data.nr
	b.jge(foreignNr, "foreign", "")
	if all {
		b.ret(unix.SECCOMP_RET_TRACE | retNative)
	} else {
		nrs := tracedNumbers()
		special := map[int]string{}
		for name := range emptyPathCalls {
			if nr, ok := sysNumbers[name]; ok {
				special[nr] = name
			}
		}
		for _, nr := range nrs {
			if name, ok := special[nr]; ok {
				b.jeq(uint32(nr), "empty:"+name, "")
				continue
			}
			b.jeq(uint32(nr), "trace", "")
		}
		b.jump("allow")
		for _, nr := range nrs {
			name, ok := special[nr]
			if !ok {
				continue
			}
			b.label("empty:" + name)
			b.ld(uint32(16 + 8*emptyPathCalls[name])) // the low word of the flags argument
			b.jset(strace.AtEmptyPath, "allow", "trace")
		}
		b.label("allow")
		b.ret(unix.SECCOMP_RET_ALLOW)
		b.label("trace")
		b.ret(unix.SECCOMP_RET_TRACE | retNative)
	}
	b.label("foreign")
	b.ret(unix.SECCOMP_RET_TRACE | retForeign)
	return b.program()
}

// bpf assembles a classic BPF program with forward jumps to labels.
type bpf struct {
	insns  []unix.SockFilter
	labels map[string]int
	fixups []fixup
}

type fixup struct {
	at     int
	jt, jf string
	ja     bool
}

func (b *bpf) ld(off uint32) {
	b.insns = append(b.insns, unix.SockFilter{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: off})
}

func (b *bpf) ret(v uint32) {
	b.insns = append(b.insns, unix.SockFilter{Code: unix.BPF_RET | unix.BPF_K, K: v})
}

func (b *bpf) cond(op uint16, k uint32, jt, jf string) {
	b.fixups = append(b.fixups, fixup{at: len(b.insns), jt: jt, jf: jf})
	b.insns = append(b.insns, unix.SockFilter{Code: unix.BPF_JMP | op | unix.BPF_K, K: k})
}

func (b *bpf) jeq(k uint32, jt, jf string)  { b.cond(unix.BPF_JEQ, k, jt, jf) }
func (b *bpf) jge(k uint32, jt, jf string)  { b.cond(unix.BPF_JGE, k, jt, jf) }
func (b *bpf) jset(k uint32, jt, jf string) { b.cond(unix.BPF_JSET, k, jt, jf) }

func (b *bpf) jump(to string) {
	b.fixups = append(b.fixups, fixup{at: len(b.insns), jt: to, ja: true})
	b.insns = append(b.insns, unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JA})
}

func (b *bpf) label(name string) {
	if b.labels == nil {
		b.labels = map[string]int{}
	}
	b.labels[name] = len(b.insns)
}

// program resolves the jumps ("" is the next instruction). It panics on
// a jump backwards or too far: the program is made here, not read.
func (b *bpf) program() []unix.SockFilter {
	off := func(from int, to string, limit int) int {
		if to == "" {
			return 0
		}
		target, ok := b.labels[to]
		d := target - from - 1
		if !ok || d < 0 || d > limit {
			panic("seccomp filter: bad jump to " + to)
		}
		return d
	}
	for _, f := range b.fixups {
		in := &b.insns[f.at]
		if f.ja {
			in.K = uint32(off(f.at, f.jt, 1<<31))
			continue
		}
		in.Jt, in.Jf = uint8(off(f.at, f.jt, 255)), uint8(off(f.at, f.jf, 255))
	}
	return b.insns
}

// installFilter loads the filter into the calling thread. Without
// CAP_SYS_ADMIN the kernel takes a filter only from a thread that set
// no_new_privs, which then holds for the command and its children: a
// set-user-ID program it runs does not gain privileges (as under
// strace --seccomp-bpf).
func installFilter(all bool) error {
	prog := filter(all)
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	load := func() unix.Errno {
		_, _, e := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, uintptr(unsafe.Pointer(&fprog)))
		return e
	}
	e := load()
	if e == unix.EACCES {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return errors.Wrap(err, "setting no_new_privs for the seccomp filter")
		}
		e = load()
	}
	if e != 0 {
		return errors.Wrap(e, "installing the seccomp filter")
	}
	return nil
}
