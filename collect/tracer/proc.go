package tracer

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pkg/errors"

	"github.com/scratchpack/scratchpack/collect/elfdeps"
	"github.com/scratchpack/scratchpack/collect/ptrace"
	"github.com/scratchpack/scratchpack/internal/rootpath"
)

const prSetChildSubreaper = 36

func setSubreaper() error {
	_, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// findTracer returns the pid of the strace that traces pid (strace -DDD
// forks it and it attaches before the command runs), or 0 when pid exited
// before it attached (strace could not start). A command that exits at
// once may be gone before its TracerPid could be read: the tracer is then
// found as what it is, a child of ours (the subreaper: its parent exited)
// in a session of its own, running bin, started after pid.
func findTracer(pid int, bin string) int {
	self, err := readStat(pid)
	if err != nil {
		return 0
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		t, ok := tracerOf(pid)
		if t > 0 {
			return t
		}
		if !ok || isZombie(pid) {
			return tracerChild(self, bin)
		}
		time.Sleep(time.Millisecond)
	}
	return 0
}

// tracerChild finds the tracer of the command p that has exited (see
// findTracer); 0 when there is none.
func tracerChild(p procStat, bin string) int {
	name := filepath.Base(bin)
	if len(name) > 15 {
		name = name[:15] // comm's length
	}
	me := os.Getpid()
	best := 0
	var bestStart uint64
	for _, c := range procStats() {
		if c.ppid != me || c.pid == p.pid || c.session != c.pid || c.start < p.start || c.comm != name && c.comm != "strace" {
			continue
		}
		if best == 0 || c.start < bestStart {
			best, bestStart = c.pid, c.start
		}
	}
	return best
}

// waitExit waits until pid has exited, and reaps it when it is our child
// (a subreaper inherits strace -D's tracer).
func waitExit(pid int) {
	if pid <= 0 {
		return
	}
	for {
		var ws syscall.WaitStatus
		if wpid, _ := syscall.Wait4(pid, &ws, syscall.WNOHANG, nil); wpid == pid {
			return
		}
		if isZombie(pid) { // true for a gone process too
			// not our child (yet): its parent reaps it
			syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// mountNamespace names the mount namespace of pid ("mnt:[4026532]"), or
// "" when it cannot be read.
func mountNamespace(pid int) string {
	ns, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/ns/mnt")
	if err != nil {
		return ""
	}
	return ns
}

// inNamespace reports whether a live process is in the mount namespace ns.
func inNamespace(ns string) bool {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if mountNamespace(pid) == ns && !isZombie(pid) {
			return true
		}
	}
	return false
}

func isZombie(pid int) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] == 'Z'
}

// ChrootExec is the launcher's body: chroot into root, change to dir,
// and replace the process with argv (found through PATH inside the
// root when it has no slash).
func ChrootExec(root, dir string, argv []string, env []string) error {
	if len(argv) == 0 {
		return errors.New("no command")
	}
	if err := ptrace.AwaitTracer(); err != nil { // (it reads /proc)
		return err
	}
	if root != "/" {
		if err := syscall.Chroot(root); err != nil {
			return errors.Wrapf(err, "chroot %s", root)
		}
	}
	if err := os.Chdir(dir); err != nil {
		return errors.Wrapf(err, "changing to %s inside %s", dir, root)
	}
	prog, err := findProgram("/", argv[0], env, dir)
	if err != nil {
		return errors.WithMessagef(err, "inside %s", root)
	}
	// (under the ptrace collector, the seccomp filter is loaded first)
	return errors.WithMessagef(ptrace.Exec(prog, argv, env), "inside %s", root)
}

// findProgram finds prog through the PATH of env (the default PATH when
// it has none) inside root, with rootpath's one LookPath: symlinks are
// resolved inside the root. The path returned is inside root.
func findProgram(root, prog string, env []string, dir string) (string, error) {
	res, err := rootpath.New(root)
	if err != nil {
		return "", err
	}
	return res.LookPath(prog, rootpath.PathOf(env), dir)
}

// straceFiles are the canonical paths strace runs itself: its program
// and the ELF interpreter that loads it.
func straceFiles(bin string) []string {
	var out []string
	if p, err := filepath.EvalSymlinks(bin); err == nil {
		out = append(out, p)
		if f, err := os.Open(p); err == nil {
			if ip, err := elfdeps.Interpreter(f); err == nil && ip != "" {
				if ip, err := filepath.EvalSymlinks(ip); err == nil {
					out = append(out, ip)
				}
			}
			f.Close()
		}
	}
	return out
}
