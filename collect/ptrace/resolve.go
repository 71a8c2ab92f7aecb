package ptrace

import (
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// ResolveAt returns the path a call names, as the log parser of
// collect/strace writes it for the same call: an absolute path p is
// taken inside root (the process's root directory as the tracer sees
// it, "/" unless it chrooted); a relative one is joined to base, the
// directory it is relative to (the cwd, or the dirfd's directory), which
// the tracer read from /proc and so already includes root. The result is
// not cleaned: a ".." after a symlink keeps the kernel's meaning until
// collect.Normalize takes it. It is "" when p is "" or base is not a
// path (a dirfd that is a pipe or a socket).
func ResolveAt(root, base, p string) string {
	if p == "" {
		return ""
	}
	if p[0] == '/' {
		if root == "" || root == "/" {
			return p
		}
		return strings.TrimSuffix(root, "/") + p
	}
	if base == "" || base[0] != '/' {
		return ""
	}
	if strings.HasSuffix(base, "/") {
		return base + p
	}
	return base + "/" + p
}

// procLink reads /proc/TID/NAME (cwd, root, fd/N) as the tracer thread.
// When the kernel refuses it (the thread changed its uid: /proc checks
// the reader's fsuid and fsgid against the process's ids), it reads it
// again with the thread's fsuid and fsgid taken from its effective ids.
// The caller runs on its own locked OS thread: setfsuid is per thread.
func procLink(tid int, name string) (string, error) {
	p := "/proc/" + strconv.Itoa(tid) + "/" + name
	s, err := os.Readlink(p)
	if err == nil || !permission(err) {
		return s, err
	}
	uid, gid, ok := effectiveIDs(tid)
	if !ok {
		return "", err
	}
	oldGid, _ := unix.SetfsgidRetGid(gid)
	oldUid, _ := unix.SetfsuidRetUid(uid)
	s, err = os.Readlink(p)
	unix.SetfsuidRetUid(oldUid)
	unix.SetfsgidRetGid(oldGid)
	return s, err
}

func permission(err error) bool {
	if pe, ok := err.(*os.PathError); ok {
		err = pe.Err
	}
	return err == syscall.EACCES || err == syscall.EPERM
}

// effectiveIDs reads the effective uid and gid of tid from its status
// (readable by anyone).
func effectiveIDs(tid int) (uid, gid int, ok bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(tid) + "/status")
	if err != nil {
		return 0, 0, false
	}
	u, okU := statusField(string(data), "Uid:", 1)
	g, okG := statusField(string(data), "Gid:", 1)
	return u, g, okU && okG
}

// statusField returns the i-th number of a /proc status line.
func statusField(status, key string, i int) (int, bool) {
	for _, line := range strings.Split(status, "\n") {
		if rest, ok := strings.CutPrefix(line, key); ok {
			f := strings.Fields(rest)
			if i < len(f) {
				n, err := strconv.Atoi(f[i])
				return n, err == nil
			}
		}
	}
	return 0, false
}
