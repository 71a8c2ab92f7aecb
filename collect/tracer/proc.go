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

// procStat is what the sweep reads of a process in /proc/PID/stat.
type procStat struct {
	pid, ppid, session int
}

// procStats reads /proc/*/stat of every process; those that exit while
// it reads are skipped.
func procStats() []procStat {
	var out []procStat
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
		// pid (comm) state ppid pgrp session ...: comm may hold spaces
		// and parentheses
		s := string(data)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 4 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		session, _ := strconv.Atoi(f[3])
		out = append(out, procStat{pid: pid, ppid: ppid, session: session})
	}
	return out
}

// children maps each pid to its children.
func children() map[int][]int {
	m := map[int][]int{}
	for _, p := range procStats() {
		m[p.ppid] = append(m[p.ppid], p.pid)
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

// sweeper signals and kills what a run started: the command (leader of
// its own session), its descendants, and, unless scoped, every other
// process below us (orphans that were reparented to us, the subreaper).
// It never touches keep: strace, which exits once its tracees are gone
// and must finish its log.
type sweeper struct {
	leader, keep int
	// scoped: only the leader, its descendants and its session (a run
	// made while another runs must not reach the other's processes).
	scoped bool
}

// targets are the live processes the sweep reaches now.
func (s sweeper) targets() []int {
	m := children()
	var out []int
	seen := map[int]bool{}
	add := func(p int) {
		if p != s.keep && p > 0 && !seen[p] && !isZombie(p) {
			seen[p] = true
			out = append(out, p)
		}
	}
	add(s.leader)
	for _, p := range descendants(s.leader, m) {
		add(p)
	}
	if s.scoped {
		for p := range sessionMembers(s.leader) {
			add(p)
		}
		return out
	}
	for _, p := range descendants(os.Getpid(), m) {
		add(p)
	}
	return out
}

func (s sweeper) signal(sig syscall.Signal) {
	for _, p := range s.targets() {
		syscall.Kill(p, sig)
	}
}

// kill sends SIGKILL until nothing is left.
func (s sweeper) kill() {
	for round := 0; round < 50; round++ {
		targets := s.targets()
		if len(targets) == 0 {
			return
		}
		for _, p := range targets {
			syscall.Kill(p, syscall.SIGKILL)
		}
		s.reap()
		time.Sleep(20 * time.Millisecond)
	}
}

// reap waits for exited orphans that were reparented to us (not for the
// leader, whose exec.Cmd waits for it). A scoped sweep reaps only its
// own tracer: the other run's processes are waited for by that run.
func (s sweeper) reap() {
	if s.scoped {
		return
	}
	m := children()
	for _, p := range m[os.Getpid()] {
		if p != s.leader && isZombie(p) {
			var ws syscall.WaitStatus
			syscall.Wait4(p, &ws, syscall.WNOHANG, nil)
		}
	}
}

// sessionMembers are the processes of the session sid.
func sessionMembers(sid int) map[int]bool {
	out := map[int]bool{}
	for _, p := range procStats() {
		if p.session == sid {
			out[p.pid] = true
		}
	}
	return out
}

// findTracer returns the pid of the strace that traces pid (strace -D
// forks it and it attaches before the command runs), or 0 when pid
// exited first (strace could not start).
func findTracer(pid int) int {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
		if err != nil {
			return 0
		}
		for _, l := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(l, "TracerPid:"); ok {
				if t, _ := strconv.Atoi(strings.TrimSpace(v)); t > 0 {
					return t
				}
			}
		}
		if isZombie(pid) {
			return 0
		}
		time.Sleep(time.Millisecond)
	}
	return 0
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
