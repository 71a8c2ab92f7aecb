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

// filter is the seccomp program: SECCOMP_RET_TRACE for the traced calls
// (every call with all), SECCOMP_RET_ALLOW for the others. Calls of
// another ABI are traced too: the tracer counts them as unreadable.
func filter(all bool) []unix.SockFilter {
	stmt := func(code uint16, k uint32) unix.SockFilter { return unix.SockFilter{Code: code, K: k} }
	jump := func(code uint16, k uint32, jt, jf uint8) unix.SockFilter {
		return unix.SockFilter{Code: code, Jt: jt, Jf: jf, K: k}
	}
	var nrs []int
	if !all {
		nrs = tracedNumbers()
	}
	n := len(nrs)
	// 0 ld arch; 1 jeq native; 2 ld nr; 3 jge foreign; 4..4+n-1 jeq nr;
	// 4+n allow; 5+n trace native; 6+n trace foreign
	native, foreign := 5+n, 6+n
	prog := []unix.SockFilter{
		stmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, 4), // seccomp_data.arch
		jump(unix.BPF_JMP|unix.BPF_JEQ|unix.BPF_K, auditArch, 0, uint8(foreign-2)),
		stmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, 0), // seccomp_data.nr
		jump(unix.BPF_JMP|unix.BPF_JGE|unix.BPF_K, foreignNr, uint8(foreign-4), 0),
	}
	for i, nr := range nrs {
		prog = append(prog, jump(unix.BPF_JMP|unix.BPF_JEQ|unix.BPF_K, uint32(nr), uint8(native-(4+i)-1), 0))
	}
	allow := uint32(unix.SECCOMP_RET_ALLOW)
	if all {
		allow = unix.SECCOMP_RET_TRACE | retNative
	}
	return append(prog,
		stmt(unix.BPF_RET|unix.BPF_K, allow),
		stmt(unix.BPF_RET|unix.BPF_K, unix.SECCOMP_RET_TRACE|retNative),
		stmt(unix.BPF_RET|unix.BPF_K, unix.SECCOMP_RET_TRACE|retForeign))
}

// installFilter loads the filter into the calling thread. Without
// CAP_SYS_ADMIN the kernel takes a filter only from a thread that set
// no_new_privs, which then holds for the command and its children: a
// set-user-ID program it runs does not gain privileges (as under
// strace --seccomp-bpf).
func installFilter(all bool) error {
	prog := filter(all)
	if len(prog) > 255 {
		return errors.Errorf("seccomp filter of %d instructions is too long for 8-bit jumps", len(prog))
	}
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
