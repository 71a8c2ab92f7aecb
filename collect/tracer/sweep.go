package tracer

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pkg/errors"
)

// sweeper signals, kills and reaps what a run started, and nothing else:
//   - the command (leader, which leads a session of its own), every
//     process of that session, and their descendants;
//   - the orphans reparented to us (Run makes us a child subreaper, so a
//     daemon whose parent exited lands here) that carry a mark of the run
//     (ours: traced by the run's tracer, or in its mount namespace), and
//     their descendants.
//
// The caller's own children are not the run's: those it had when the run
// started (before, by pid and start time) are never touched, and one it
// starts meanwhile carries no mark. The tracer (keep) is never signalled:
// it exits once its tracees are gone and must finish its log.
type sweeper struct {
	self         int
	selfSession  int
	leader, keep int
	ours         func(pid int) bool // nil: no orphan is the run's
	before       map[int]uint64     // the caller's children at the start: pid -> start time
	// seen are the run's processes the sweep found alive (pid -> start
	// time), and the sessions they were in: their zombies are reaped.
	seen     map[int]uint64
	sessions map[int]bool
}

// newSweeper makes us a subreaper, so that orphans (daemons that fork and
// let their parent exit) become our children and none escapes the sweep,
// and takes note of the caller's children.
func newSweeper() (*sweeper, error) {
	if err := setSubreaper(); err != nil {
		return nil, errors.Wrap(err, "becoming a child subreaper")
	}
	s := &sweeper{self: os.Getpid(), before: map[int]uint64{}, seen: map[int]uint64{}, sessions: map[int]bool{}}
	for _, p := range procStats() {
		if p.ppid == s.self {
			s.before[p.pid] = p.start
		}
		if p.pid == s.self {
			s.selfSession = p.session
		}
	}
	return s, nil
}

// callers reports whether p is a child the caller had before the run.
func (s *sweeper) callers(p procStat) bool {
	start, ok := s.before[p.pid]
	return ok && start == p.start
}

// targets are the live processes of the run now.
func (s *sweeper) targets() []int {
	procs := procStats()
	byPid := make(map[int]procStat, len(procs))
	kids := map[int][]int{}
	for _, p := range procs {
		byPid[p.pid] = p
		kids[p.ppid] = append(kids[p.ppid], p.pid)
	}
	roots := []int{s.leader}
	for _, p := range procs {
		switch {
		case p.pid == s.leader || p.pid == s.self || p.pid == s.keep:
		case s.leader > 0 && p.session == s.leader:
			roots = append(roots, p.pid)
		case p.ppid == s.self && !s.callers(p) && !p.zombie() && s.ours != nil && s.ours(p.pid):
			roots = append(roots, p.pid)
		}
	}
	var out []int
	done := map[int]bool{}
	for len(roots) > 0 {
		pid := roots[0]
		roots = roots[1:]
		p, ok := byPid[pid]
		if done[pid] || !ok || pid == s.self || pid <= 0 {
			continue
		}
		done[pid] = true
		roots = append(roots, kids[pid]...) // the tracer's children are not its tracees
		if pid == s.keep || p.zombie() {
			continue
		}
		s.seen[pid], s.sessions[p.session] = p.start, true
		out = append(out, pid)
	}
	return out
}

func (s *sweeper) signal(sig syscall.Signal) {
	for _, p := range s.targets() {
		syscall.Kill(p, sig)
	}
}

// kill sends SIGKILL until nothing is left.
func (s *sweeper) kill() {
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

// reap waits for the run's exited orphans that were reparented to us:
// those the sweep saw alive, and those of a session it saw (a
// background job of the command's that exited by itself). Not the leader,
// whose exec.Cmd waits for it, nor anything of the caller's (its
// exec.Cmd would find its child gone).
func (s *sweeper) reap() {
	for _, p := range procStats() {
		if p.ppid != s.self || !p.zombie() || p.pid == s.leader || s.callers(p) {
			continue
		}
		if s.wasSeen(p) || p.session != s.selfSession && (p.session == s.leader || s.sessions[p.session]) {
			var ws syscall.WaitStatus
			syscall.Wait4(p.pid, &ws, syscall.WNOHANG, nil)
		}
	}
}

// wasSeen reports whether p is a process the sweep found alive.
func (s *sweeper) wasSeen(p procStat) bool {
	start, ok := s.seen[p.pid]
	return ok && start == p.start
}

// settle waits, up to a second, until the run's processes that the sweep
// found are zombies (or gone), killing those still there: a process that
// is exiting has left its namespace and its tracer already, so no mark
// finds it any more, and it would become a zombie after the last reap.
func (s *sweeper) settle() {
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		dying := false
		for _, p := range procStats() {
			if p.ppid == s.self && !p.zombie() && p.pid != s.leader && p.pid != s.keep && s.wasSeen(p) {
				dying = true
				syscall.Kill(p.pid, syscall.SIGKILL)
			}
		}
		if !dying {
			return
		}
	}
}

// tracedBy marks the processes that tracer traces (0: none).
func tracedBy(tracer int) func(pid int) bool {
	if tracer <= 0 {
		return nil
	}
	return func(pid int) bool {
		t, _ := tracerOf(pid)
		return t == tracer
	}
}

// tracerOf is the TracerPid of pid (0: not traced); false when pid is
// gone.
func tracerOf(pid int) (int, bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, false
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "TracerPid:"); ok {
			t, _ := strconv.Atoi(strings.TrimSpace(v))
			return t, true
		}
	}
	return 0, true
}

// procStat is what the sweep reads of a process in /proc/PID/stat.
type procStat struct {
	pid, ppid, session int
	comm               string
	state              byte
	start              uint64 // in clock ticks after boot: tells a reused pid
}

func (p procStat) zombie() bool { return p.state == 'Z' || p.state == 'X' }

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
		if p, ok := parseStat(pid, string(data)); ok {
			out = append(out, p)
		}
	}
	return out
}

// readStat reads /proc/PID/stat of one process.
func readStat(pid int) (procStat, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, err
	}
	p, ok := parseStat(pid, string(data))
	if !ok {
		return p, errors.Errorf("/proc/%d/stat: unexpected format %q", pid, data)
	}
	return p, nil
}

// parseStat reads "pid (comm) state ppid pgrp session ... starttime ...":
// comm may hold spaces and parentheses.
func parseStat(pid int, s string) (procStat, bool) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return procStat{}, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 || len(f[0]) != 1 {
		return procStat{}, false
	}
	p := procStat{pid: pid, state: f[0][0]}
	if j := strings.IndexByte(s, '('); j >= 0 && j < i {
		p.comm = s[j+1 : i]
	}
	p.ppid, _ = strconv.Atoi(f[1])
	p.session, _ = strconv.Atoi(f[3])
	p.start, _ = strconv.ParseUint(f[19], 10, 64)
	return p, true
}
