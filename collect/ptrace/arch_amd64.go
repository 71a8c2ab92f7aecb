package ptrace

import "golang.org/x/sys/unix"

// What the tracer needs to know of x86_64. Another architecture is one
// file like this one (and its zsysnum file).

// auditArch is the seccomp_data.arch of native calls.
const auditArch = unix.AUDIT_ARCH_X86_64

// foreignNr marks the calls of another ABI the native arch check lets
// through: x32 numbers have this bit set.
const foreignNr = 0x40000000

// syscallInsnLen is the length of the syscall instruction: the
// injection rewinds the instruction pointer by it to run it again.
const syscallInsnLen = 2

// regs are a stopped thread's registers.
type regs = unix.PtraceRegs

func sysNr(r *regs) int       { return int(int64(r.Orig_rax)) }
func sysRet(r *regs) int64    { return int64(r.Rax) }
func instrPtr(r *regs) uint64 { return r.Rip }

// sysArg returns argument i (0-based) of the call being made.
func sysArg(r *regs, i int) uint64 {
	switch i {
	case 0:
		return r.Rdi
	case 1:
		return r.Rsi
	case 2:
		return r.Rdx
	case 3:
		return r.R10
	case 4:
		return r.R8
	case 5:
		return r.R9
	}
	return 0
}

// setupCall makes r run syscall nr with args once the thread resumes
// from a syscall-exit stop: the instruction pointer goes back to the
// syscall instruction.
func setupCall(r *regs, nr int, args ...uint64) {
	r.Rip -= syscallInsnLen
	r.Rax = uint64(nr)
	r.Orig_rax = uint64(nr)
	set := []*uint64{&r.Rdi, &r.Rsi, &r.Rdx, &r.R10, &r.R8, &r.R9}
	for i, a := range args {
		*set[i] = a
	}
}

func getRegs(tid int, r *regs) error { return unix.PtraceGetRegs(tid, r) }
func setRegs(tid int, r *regs) error { return unix.PtraceSetRegs(tid, r) }

// sysPrctl is prctl's number, for the injection.
const sysPrctl = unix.SYS_PRCTL
