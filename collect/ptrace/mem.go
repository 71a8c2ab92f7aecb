package ptrace

import (
	"bytes"
	"encoding/binary"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// maxPath is the longest path read: the kernel refuses longer ones
// (ENAMETOOLONG) and so does the call.
const maxPath = 4096

// readFailure says why an argument could not be read.
type readFailure uint8

const (
	readOK     readFailure = iota
	badAddress             // the call itself fails (EFAULT): nothing to see
	denied                 // the tracer may not read the memory: unreadable
	gone                   // the thread is gone (killed mid-call)
)

// reader reads a stopped thread's memory into one buffer reused across
// calls (the tracer runs on one thread).
type reader struct {
	buf [maxPath]byte
}

// str reads the NUL-terminated string at addr: process_vm_readv, page
// by page (a path may end just before an unmapped page), and
// PTRACE_PEEKDATA when that is refused. After a uid change
// process_vm_readv checks the uids, while PTRACE_PEEKDATA from the
// attached tracer only needs the process to be dumpable (see the
// package doc). A string without a NUL within maxPath is returned cut.
func (r *reader) str(tid int, addr uint64) (string, readFailure) {
	if addr == 0 {
		return "", badAddress
	}
	n := 0
	for n < maxPath {
		chunk := int(pageSize - (addr+uint64(n))%pageSize)
		chunk = min(chunk, maxPath-n)
		got, f := r.read(tid, addr+uint64(n), r.buf[n:n+chunk])
		if i := bytes.IndexByte(r.buf[n:n+got], 0); i >= 0 {
			return string(r.buf[:n+i]), readOK
		}
		n += got
		if f != readOK {
			if n > 0 && f == badAddress {
				return string(r.buf[:n]), readOK // (the kernel fails it: EFAULT)
			}
			return "", f
		}
	}
	return string(r.buf[:n]), readOK
}

// u64 reads one word at addr (openat2's struct open_how starts with its
// flags).
func (r *reader) u64(tid int, addr uint64) (uint64, readFailure) {
	var b [8]byte
	got, f := r.read(tid, addr, b[:])
	if got < 8 {
		if f == readOK {
			f = badAddress
		}
		return 0, f
	}
	return binary.LittleEndian.Uint64(b[:]), readOK
}

var pageSize = uint64(unix.Getpagesize())

// read fills buf from addr (within one page); got is how many bytes it
// read.
func (r *reader) read(tid int, addr uint64, buf []byte) (int, readFailure) {
	local := unix.Iovec{Base: &buf[0]}
	local.SetLen(len(buf))
	remote := unix.RemoteIovec{Base: uintptr(addr), Len: len(buf)}
	got, err := unix.ProcessVMReadv(tid, []unix.Iovec{local}, []unix.RemoteIovec{remote}, 0)
	switch err {
	case nil:
		if got == 0 {
			return 0, badAddress
		}
		return got, readOK
	case unix.EFAULT:
		return 0, badAddress
	case unix.ESRCH:
		return 0, gone
	}
	// EPERM (another uid), ENOSYS: the attached tracer's way, a word at
	// a time
	return r.peek(tid, addr, buf)
}

func (r *reader) peek(tid int, addr uint64, buf []byte) (int, readFailure) {
	const word = int(unsafe.Sizeof(uintptr(0)))
	got := 0
	for got < len(buf) {
		var w [word]byte
		aligned := (addr + uint64(got)) &^ uint64(word-1)
		off := int(addr + uint64(got) - aligned)
		_, err := unix.PtracePeekData(tid, uintptr(aligned), w[:])
		if err != nil {
			if err == syscall.ESRCH {
				return got, gone
			}
			if got > 0 {
				return got, badAddress
			}
			return 0, denied // EIO: not dumpable, or a bad address (the kernel does not tell)
		}
		got += copy(buf[got:], w[off:])
	}
	return got, readOK
}
