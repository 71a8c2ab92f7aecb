package tracer

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pkg/errors"

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

// children maps each pid to its children, from /proc/*/stat.
func children() map[int][]int {
	m := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces and parentheses
		s := string(data)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		m[ppid] = append(m[ppid], pid)
	}
	return m
}

func descendants(of int, m map[int][]int) []int {
	var out []int
	queue := append([]int{}, m[of]...)
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		out = append(out, p)
		queue = append(queue, m[p]...)
	}
	return out
}

// signalTracees sends sig to every process below strace (the traced
// command and its children) and to orphans that were reparented to us.
// When the command is not run by strace (a watched run), it is the
// leader itself and is signalled too.
func signalTracees(stracePid int, sig syscall.Signal, leaderToo bool) {
	m := children()
	targets := descendants(stracePid, m)
	if leaderToo {
		targets = append([]int{stracePid}, targets...)
	}
	for _, p := range m[os.Getpid()] {
		if p != stracePid {
			targets = append(targets, p)
			targets = append(targets, descendants(p, m)...)
		}
	}
	for _, p := range targets {
		syscall.Kill(p, sig)
	}
}

// killDescendants kills every process below us but keep (strace, which
// exits once its tracees are gone).
func killDescendants(sig syscall.Signal, keep int) {
	for round := 0; round < 50; round++ {
		m := children()
		var targets []int
		for _, p := range descendants(os.Getpid(), m) {
			if p != keep && !isZombie(p) {
				targets = append(targets, p)
			}
		}
		if len(targets) == 0 {
			return
		}
		for _, p := range targets {
			syscall.Kill(p, sig)
		}
		reapOrphans(keep)
		time.Sleep(20 * time.Millisecond)
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

// reapOrphans waits for exited orphans that were reparented to us, but
// not for keep (strace, whose exec.Cmd waits for it).
func reapOrphans(keep int) {
	m := children()
	for _, p := range m[os.Getpid()] {
		if p != keep && isZombie(p) {
			var ws syscall.WaitStatus
			syscall.Wait4(p, &ws, syscall.WNOHANG, nil)
		}
	}
}

// ChrootExec is the launcher's body: chroot into root, change to dir,
// and replace the process with argv (found through PATH inside the
// root when it has no slash).
func ChrootExec(root, dir string, argv []string, env []string) error {
	if len(argv) == 0 {
		return errors.New("no command")
	}
	if err := syscall.Chroot(root); err != nil {
		return errors.Wrapf(err, "chroot %s", root)
	}
	if err := os.Chdir(dir); err != nil {
		return errors.Wrapf(err, "changing to %s inside %s", dir, root)
	}
	prog, err := findProgram("/", argv[0], env, dir)
	if err != nil {
		return errors.WithMessagef(err, "inside %s", root)
	}
	return errors.Wrapf(syscall.Exec(prog, argv, env), "running %s inside %s", prog, root)
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
