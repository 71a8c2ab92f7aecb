package fanotify

import (
	"encoding/binary"
	"syscall"
	"time"
	"unsafe"
)

const (
	statxBtime  = 0x800
	atEmptyPath = 0x1000
)

// birthTime returns when the file open as fd was created, when the
// filesystem records it.
func birthTime(fd int) (time.Time, bool) {
	if sysStatx == 0 {
		return time.Time{}, false
	}
	var buf [256]byte
	empty := [1]byte{}
	_, _, errno := syscall.Syscall6(sysStatx, uintptr(fd), uintptr(unsafe.Pointer(&empty[0])),
		atEmptyPath, statxBtime, uintptr(unsafe.Pointer(&buf[0])), 0)
	if errno != 0 {
		return time.Time{}, false
	}
	mask := binary.NativeEndian.Uint32(buf[0:4])
	if mask&statxBtime == 0 {
		return time.Time{}, false
	}
	sec := int64(binary.NativeEndian.Uint64(buf[80:88]))
	nsec := int64(binary.NativeEndian.Uint32(buf[88:92]))
	return time.Unix(sec, nsec), true
}

// coarseNow reads CLOCK_REALTIME_COARSE, the clock the kernel stamps new
// files with: a file made after it never has an earlier birth time (the
// precise clock can be a few milliseconds ahead of it).
func coarseNow() time.Time {
	const clockRealtimeCoarse = 5
	var ts syscall.Timespec
	if _, _, errno := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockRealtimeCoarse, uintptr(unsafe.Pointer(&ts)), 0); errno != 0 {
		return time.Now().Add(-10 * time.Millisecond)
	}
	return time.Unix(ts.Sec, ts.Nsec)
}
