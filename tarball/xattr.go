package tarball

import (
	"bytes"
	"sort"
	"strings"
	"syscall"
	"unsafe"
)

// xattrs returns the extended attributes of an open file worth carrying
// into an image, keyed as PAX records. security.selinux (a host label)
// and system.* (ACLs, handled by other records) are left out.
func xattrs(fd int) (map[string]string, error) {
	names, err := flistxattr(fd)
	if err != nil || len(names) == 0 {
		return nil, err
	}
	var out map[string]string
	for _, n := range names {
		if n == "security.selinux" || strings.HasPrefix(n, "system.") {
			continue
		}
		v, err := fgetxattr(fd, n)
		if err != nil {
			if err == syscall.ENODATA {
				continue
			}
			return nil, err
		}
		if out == nil {
			out = map[string]string{}
		}
		out["SCHILY.xattr."+n] = string(v)
	}
	return out, nil
}

func flistxattr(fd int) ([]string, error) {
	buf := make([]byte, 1024)
	for {
		n, _, errno := syscall.Syscall(syscall.SYS_FLISTXATTR, uintptr(fd), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)))
		switch errno {
		case 0:
		case syscall.ERANGE:
			buf = make([]byte, len(buf)*4)
			continue
		case syscall.ENOTSUP:
			return nil, nil
		default:
			return nil, errno
		}
		var names []string
		for _, b := range bytes.Split(buf[:n], []byte{0}) {
			if len(b) > 0 {
				names = append(names, string(b))
			}
		}
		sort.Strings(names)
		return names, nil
	}
}

func fgetxattr(fd int, name string) ([]byte, error) {
	p, err := syscall.BytePtrFromString(name)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, 256)
	for {
		n, _, errno := syscall.Syscall6(syscall.SYS_FGETXATTR, uintptr(fd), uintptr(unsafe.Pointer(p)), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0, 0)
		switch errno {
		case 0:
			return buf[:n], nil
		case syscall.ERANGE:
			buf = make([]byte, len(buf)*4)
		default:
			return nil, errno
		}
	}
}
