package ptrace

import (
	"io"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pkg/errors"
	"golang.org/x/sys/unix"

	"github.com/scratchpack/scratchpack/collect"
	"github.com/scratchpack/scratchpack/collect/strace"
)

// Options for one traced run.
type Options struct {
	// Args is the launcher's command line: Args[0] is the program run
	// first, which must end by calling Exec (the scratchpack binary's
	// hidden launcher command, or a test binary). Its environment gets
	// launcherEnv.
	Args []string
	Dir  string   // working directory of the launcher
	Env  []string // nil: this process's
	// Stdin, Stdout, Stderr of the command (nil: /dev/null).
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// AllSyscalls stops the command at every syscall and counts them all
	// (for a seccomp profile); by default only the calls that name or
	// change files stop it, and only those are counted.
	AllSyscalls bool
	// Canonical resolves the symlinks of a directory for
	// collect.Normalize (nil: lexical).
	Canonical func(dir string) string
	// Failed also keeps the calls that failed (ENOENT lookups...) in
	// Result.Failed, as strace.Options.Failed reports them.
	Failed bool
	// Setup, when set, runs on the tracer's thread before it starts the
	// launcher, which inherits what it changed of the thread (a mount
	// namespace: sandbox.ContainerRoot). Its error is Start's.
	Setup func() error

	noInject bool // (tests: show what the injection is for)
	// lateEvents (tests): each fork or vfork event is handled only once
	// the child has exited, the parent held stopped until then: the order
	// a loaded machine may give (images.go). It counts them. (Not clone
	// events: a new thread may wait for the one that made it.)
	lateEvents *int
}

// Result of a run.
type Result struct {
	// Status is how the process started ended (the launcher, which became
	// the command).
	Status syscall.WaitStatus
	// Uses are the paths used, as host paths (a chrooted command's paths
	// start with its root).
	Uses []collect.Use
	// Unreadable are the processes with calls whose path could not be
	// read, by pid.
	Unreadable []collect.Unreadable
	// Calls counts the syscalls that stopped, by name: every call with
	// AllSyscalls.
	Calls map[string]int
	// Failed are the calls that failed, with Options.Failed: the first
	// of each path and errno, in the order they were made, each with the
	// program its process ran (Event.Exe) and File "ptrace", Line its
	// sequence number.
	Failed []strace.Event
	// Stops is the number of ptrace stops.
	Stops int
}

// Run is a started trace.
type Run struct {
	pid  int
	tid  int // the tracer thread
	done chan struct{}
	res  *Result
	err  error
}

// Pid is the pid of the process started: the command once the launcher
// has run it. It leads a session of its own.
func (r *Run) Pid() int { return r.pid }

// TracerTid is the thread that traces: /proc/PID/status of a traced
// process names it as TracerPid.
func (r *Run) TracerTid() int { return r.tid }

// Done is closed when every traced process is gone.
func (r *Run) Done() <-chan struct{} { return r.done }

// Wait waits until every traced process is gone and returns what the
// trace saw.
func (r *Run) Wait() (*Result, error) {
	<-r.done
	return r.res, r.err
}

// Start starts the launcher, seizes it and traces it and every process
// and thread it starts until all are gone. All ptrace requests come from
// one locked OS thread, the one that started the launcher.
func Start(o Options) (*Run, error) {
	if len(o.Args) == 0 {
		return nil, errors.New("no launcher to start")
	}
	r := &Run{done: make(chan struct{})}
	started := make(chan error, 1)
	// The tracer waits for any of its thread's children and tracees
	// (wait4(-1, __WNOTHREAD)): its thread must have no child of its own.
	// A thread that forked a child for another goroutine before (exec.Cmd
	// of the caller's), or the first thread (orphans are reparented to
	// it), is held busy meanwhile, so that the next try gets another.
	var held []chan struct{}
	defer func() {
		for _, h := range held {
			close(h)
		}
	}()
	for try := 0; ; try++ {
		clean, hold := make(chan bool, 1), make(chan struct{})
		go func() {
			// Never unlocked: the thread ends with the goroutine (it may
			// have changed its fsuid), and PTRACE_O_EXITKILL kills what it
			// traced.
			runtime.LockOSThread()
			if try < maxThreadTries && !childless() {
				clean <- false
				<-hold
				runtime.UnlockOSThread()
				return
			}
			clean <- true
			defer close(r.done)
			r.tid = unix.Gettid()
			if o.Setup != nil {
				if err := o.Setup(); err != nil {
					r.err = err
					started <- err
					return
				}
			}
			t := newTracer(o)
			pid, err := t.launch()
			r.pid = pid
			started <- err
			if err != nil {
				if pid > 0 { // killed: reaped here, not left a zombie
					var ws unix.WaitStatus
					unix.Wait4(pid, &ws, unix.WALL, nil)
				}
				r.err = err
				return
			}
			r.res, r.err = t.loop()
		}()
		if <-clean {
			break
		}
		held = append(held, hold)
	}
	if err := <-started; err != nil {
		<-r.done
		return nil, err
	}
	return r, nil
}

// maxThreadTries bounds the search for a childless thread.
const maxThreadTries = 64

// childless reports whether the calling thread is not the first one and
// has no child.
func childless() bool {
	if unix.Gettid() == unix.Getpid() {
		return false
	}
	kids, err := os.ReadFile("/proc/thread-self/children")
	return err == nil && len(strings.TrimSpace(string(kids))) == 0
}

// task is what the tracer knows of one traced thread.
type task struct {
	// expectExit: the thread was resumed with PTRACE_SYSCALL from a
	// seccomp stop; its next syscall stop is the call's exit.
	expectExit bool
	pending    *strace.Event // the call whose result is awaited
	drop       bool          // the call is a credential change
	// injection of prctl(PR_SET_DUMPABLE, 1): 1 awaits its entry, 2 its
	// exit; saved are the registers to restore.
	inject int
	saved  regs
	root   string // cached /proc/TID/root
	// img is the program image whose calls the thread's are (images.go);
	// first, the image it began with; execCall, the execve or execveat
	// the filter stopped, until it returns.
	img, first *image
	execCall   string
	// linked: the event of the fork, vfork or clone that made the thread
	// has come (or it is the launcher): first has its parent.
	linked bool
	// exe is the program the thread runs: the path its last execve
	// named, inherited across fork ("" until known: see exeOf).
	exe string
}

type tracer struct {
	o      Options
	leader int
	status syscall.WaitStatus
	tasks  map[int]*task
	// unlinked are the tasks that exited before their parent's fork,
	// vfork or clone event came, by tid: the event links their first
	// image still (images.go).
	unlinked map[int]*task
	trace    *collect.Trace
	unread   map[int]*collect.Unreadable
	failed   []strace.Event
	seen     map[failKey]bool // the paths and errnos in failed
	images   []*image
	stops    int
	seq      int
	mem      reader
	regs     regs
	copying  []chan struct{}
	late     map[int]lateEvent // by the child's tid (Options.lateEvents)
}

func newTracer(o Options) *tracer {
	t := &tracer{o: o, tasks: map[int]*task{}, unlinked: map[int]*task{}, late: map[int]lateEvent{}, trace: collect.NewTrace(), unread: map[int]*collect.Unreadable{}}
	t.trace.Source = collect.SourcePtrace
	t.trace.Canonical = o.Canonical
	return t
}

const ptraceOptions = unix.PTRACE_O_TRACESECCOMP | unix.PTRACE_O_TRACEFORK | unix.PTRACE_O_TRACEVFORK |
	unix.PTRACE_O_TRACECLONE | unix.PTRACE_O_TRACEEXEC | unix.PTRACE_O_EXITKILL | unix.PTRACE_O_TRACESYSGOOD

// launch starts the launcher in a session of its own and seizes it.
func (t *tracer) launch() (int, error) {
	files, own, err := t.stdio()
	if err != nil {
		return 0, err
	}
	env := t.o.Env
	if env == nil {
		env = os.Environ()
	}
	mode := "files"
	if t.o.AllSyscalls {
		mode = "all"
	}
	env = append(dropEnv(env, launcherEnv), launcherEnv+"="+mode)
	p, err := os.StartProcess(t.o.Args[0], t.o.Args, &os.ProcAttr{Dir: t.o.Dir, Env: env, Files: files,
		Sys: &syscall.SysProcAttr{Setsid: true}})
	for _, f := range own {
		f.Close() // the child's ends: the parent's are with the copiers
	}
	if err != nil {
		return 0, errors.Wrapf(err, "starting %s", t.o.Args[0])
	}
	pid := p.Pid
	p.Release() // this thread waits for it
	t.leader = pid
	// (the options come with the seize: a running thread takes no
	// PTRACE_SETOPTIONS)
	if _, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_SEIZE, uintptr(pid), 0, ptraceOptions, 0, 0); e != 0 && e != unix.ESRCH {
		// (ESRCH: the launcher failed and exited already; the loop reaps it)
		syscall.Kill(pid, syscall.SIGKILL)
		if e == unix.EPERM {
			return pid, errors.Wrapf(e, "attaching to %s: ptrace is refused here (a seccomp profile without ptrace, or kernel.yama.ptrace_scope 3); the fanotify collector needs no ptrace", t.o.Args[0])
		}
		return pid, errors.Wrapf(e, "attaching to %s (ptrace)", t.o.Args[0])
	}
	t.tasks[pid] = &task{linked: true}
	t.image(t.tasks[pid]).launcher = true
	return pid, nil
}

// stdio makes the launcher's fds 0, 1 and 2: the files given, or pipes
// copied from or to the readers and writers given. own are the files it
// opened, to close once the launcher has them.
func (t *tracer) stdio() (files, own []*os.File, err error) {
	files = make([]*os.File, 3)
	devnull := func(flag int) (*os.File, error) {
		f, err := os.OpenFile(os.DevNull, flag, 0)
		if err == nil {
			own = append(own, f)
		}
		return f, err
	}
	switch in := t.o.Stdin.(type) {
	case nil:
		files[0], err = devnull(os.O_RDONLY)
	case *os.File:
		files[0] = in
	default:
		var pr, pw *os.File
		if pr, pw, err = os.Pipe(); err == nil {
			files[0] = pr
			own = append(own, pr)
			go func() { io.Copy(pw, in); pw.Close() }()
		}
	}
	if err != nil {
		return nil, own, errors.Wrap(err, "opening the command's stdin")
	}
	for i, w := range []io.Writer{t.o.Stdout, t.o.Stderr} {
		switch w := w.(type) {
		case nil:
			files[i+1], err = devnull(os.O_WRONLY)
		case *os.File:
			files[i+1] = w
		default:
			var pr, pw *os.File
			if pr, pw, err = os.Pipe(); err == nil {
				files[i+1] = pw
				own = append(own, pw)
				done := make(chan struct{})
				t.copying = append(t.copying, done)
				go func() { io.Copy(w, pr); pr.Close(); close(done) }()
			}
		}
		if err != nil {
			return nil, own, errors.Wrap(err, "opening the command's output")
		}
	}
	return files, own, nil
}

// wNothread: wait only for this thread's children and tracees, never for
// the children other goroutines started (probes).
const wNothread = 0x20000000

// loop waits for the tracees' stops until none is left.
func (t *tracer) loop() (*Result, error) {
	var err error
	for {
		var ws unix.WaitStatus
		tid, werr := unix.Wait4(-1, &ws, unix.WALL|wNothread, nil)
		if werr == unix.EINTR {
			continue
		}
		if werr != nil {
			if werr != unix.ECHILD {
				err = errors.Wrap(werr, "waiting for the traced processes")
			}
			break
		}
		t.stop(tid, ws)
	}
	// Every writer of the pipes is gone: what they wrote is copied.
	for _, c := range t.copying {
		select {
		case <-c:
		case <-time.After(5 * time.Second): // a process outside the trace holds it
		}
	}
	res := &Result{Status: t.status, Uses: t.trace.Uses(), Calls: commands(t.images), Stops: t.stops, Failed: t.failed}
	for _, u := range t.unread {
		sort.Strings(u.Calls)
		res.Unreadable = append(res.Unreadable, *u)
	}
	sort.Slice(res.Unreadable, func(i, j int) bool { return res.Unreadable[i].Pid < res.Unreadable[j].Pid })
	return res, err
}

func (t *tracer) task(tid int) *task {
	tk, ok := t.tasks[tid]
	if !ok {
		tk = &task{}
		t.tasks[tid] = tk
	}
	return tk
}

// stop handles one wait status of tid and resumes it. Every ptrace
// request may fail with ESRCH: the thread was killed meanwhile, and its
// death is the next status.
func (t *tracer) stop(tid int, ws unix.WaitStatus) {
	if ws.Exited() || ws.Signaled() {
		if tid == t.leader {
			t.status = syscall.WaitStatus(ws)
		}
		if tk, ok := t.tasks[tid]; !ok || !tk.linked {
			// (gone before its parent's event: the event still links it)
			if !ok {
				tk = &task{}
			}
			t.unlinked[tid] = tk
		}
		delete(t.tasks, tid)
		if e, ok := t.late[tid]; ok {
			delete(t.late, tid)
			*t.o.lateEvents++
			t.spawned(e.parent, tid)
			t.resume(e.tid, e.parent, 0)
		}
		return
	}
	if !ws.Stopped() {
		return
	}
	t.stops++
	tk := t.task(tid)
	sig := ws.StopSignal()
	event := int(ws>>16) & 0xff
	switch {
	case sig == unix.SIGTRAP|0x80:
		t.syscallStop(tid, tk)
	case event == unix.PTRACE_EVENT_SECCOMP:
		t.seccompStop(tid, tk)
	case event == unix.PTRACE_EVENT_FORK || event == unix.PTRACE_EVENT_VFORK || event == unix.PTRACE_EVENT_CLONE:
		child, err := unix.PtraceGetEventMsg(tid)
		if err == nil && t.o.lateEvents != nil && event != unix.PTRACE_EVENT_CLONE {
			if _, gone := t.unlinked[int(child)]; !gone {
				t.late[int(child)] = lateEvent{tid, tk}
				return // (the parent stays stopped)
			}
			*t.o.lateEvents++ // (late already)
		}
		if err == nil {
			t.spawned(tk, int(child))
		}
		t.resume(tid, tk, 0)
	case event == unix.PTRACE_EVENT_EXEC:
		t.exec(tid, tk)
	case event == unix.PTRACE_EVENT_STOP:
		switch sig {
		case unix.SIGSTOP, unix.SIGTSTP, unix.SIGTTIN, unix.SIGTTOU:
			// A group stop: the process stays stopped, and the tracer
			// hears when it is continued (or killed).
			ptraceListen(tid) // (a new thread's first stop is SIGTRAP's)
		default:
			t.resume(tid, tk, 0)
		}
	case event != 0:
		t.resume(tid, tk, 0) // (vfork done, exit: not asked for)
	default:
		// a signal for the thread: delivered as it was sent
		t.resume(tid, tk, int(sig))
	}
}

// spawned: the thread tk made the thread or process child (its fork,
// vfork or clone event). The child may have stopped, exec'd or exited
// already: a child that exited is among the unlinked; one that lives is
// the tid's now (a tombstone of the same tid is then of one whose
// parent's event never came).
func (t *tracer) spawned(tk *task, child int) {
	ctk, ok := t.tasks[child]
	if !ok {
		if ctk, ok = t.unlinked[child]; !ok {
			ctk = t.task(child)
		}
	}
	delete(t.unlinked, child)
	t.forked(tk, ctk)
	if ctk.exe == "" {
		ctk.exe = tk.exe
	}
}

// lateEvent is a fork or vfork event held back (Options.lateEvents):
// the parent's tid and task.
type lateEvent struct {
	tid    int
	parent *task
}

// resume continues tid, stopping at its syscall exit when that is
// awaited.
func (t *tracer) resume(tid int, tk *task, sig int) {
	if tk.expectExit || tk.inject != 0 {
		unix.PtraceSyscall(tid, sig)
		return
	}
	unix.PtraceCont(tid, sig)
}

// exec: a thread of tid's process ran a new program. When a thread other
// than the leader called execve, the kernel gave it the leader's pid:
// its call (and the state of the call) moves there, the leader's is gone.
func (t *tracer) exec(tid int, tk *task) {
	if former, err := unix.PtraceGetEventMsg(tid); err == nil && int(former) != tid {
		if ftk, ok := t.tasks[int(former)]; ok {
			*tk = *ftk
			delete(t.tasks, int(former))
		}
	}
	tk.root = ""
	t.execd(tk)
	tk.exe = ""
	if tk.pending != nil && tk.pending.Op == strace.OpExec {
		tk.pending.OK = true
		tk.exe = collect.Normalize(tk.pending.Path, t.o.Canonical)
		t.add(tk, *tk.pending)
	}
	tk.pending, tk.expectExit = nil, false
	t.resume(tid, tk, 0)
}

// add records the call ev of the thread tk.
func (t *tracer) add(tk *task, ev strace.Event) {
	t.seq++
	ev.Line = t.seq
	if !ev.OK && t.o.Failed {
		t.fail(tk, ev)
	}
	t.trace.Add(ev)
}

// failKey is a failed call's path and errno.
type failKey struct{ path, errno string }

// fail keeps the failed call ev of the thread tk, the first of its path
// and errno (a program that retries a missing file in a loop makes one).
func (t *tracer) fail(tk *task, ev strace.Event) {
	k := failKey{ev.Path, ev.Errno}
	if t.seen[k] {
		return
	}
	if t.seen == nil {
		t.seen = map[failKey]bool{}
	}
	t.seen[k] = true
	ev.Exe = t.exeOf(ev.Pid, tk)
	t.failed = append(t.failed, ev)
}

// exeOf is the program the thread runs: the path its last execve named,
// else (the tracer saw no execve of it, or its fork came after its first
// stop) the file /proc/TID/exe names, as a host path.
func (t *tracer) exeOf(tid int, tk *task) string {
	if tk.exe == "" {
		tk.exe, _ = procLink(tid, "exe")
	}
	return tk.exe
}

// seccompStop is a call the filter traces, at its entry.
func (t *tracer) seccompStop(tid int, tk *task) {
	tk.pending, tk.drop, tk.expectExit = nil, false, false
	if tk.inject != 0 {
		t.resume(tid, tk, 0) // the injected prctl (with AllSyscalls): not the program's
		return
	}
	data, err := unix.PtraceGetEventMsg(tid)
	if err != nil {
		return // gone
	}
	if data == retForeign {
		t.unreadable(tid, "foreign-abi")
		t.resume(tid, tk, 0)
		return
	}
	r := &t.regs
	if getRegs(tid, r) != nil {
		return
	}
	name := nameOf(sysNr(r))
	t.image(tk).counts[name]++
	if name == "execve" || name == "execveat" {
		tk.execCall = name // counted again in the image it starts
	}
	if isDrop(name) {
		tk.drop, tk.expectExit = true, true
		t.resume(tid, tk, 0)
		return
	}
	if a, ok := strace.ArgsOf(name); ok {
		if ev, flags, ok := t.entry(tid, tk, name, a, r); ok {
			if t.settled(tid, tk, ev, flags) {
				t.add(tk, *ev)
			} else {
				tk.pending, tk.expectExit = ev, true
			}
		}
	}
	t.resume(tid, tk, 0)
}

// settled tells the result of a call at its entry, when it is what the
// tracer sees of the path at that moment: a stat, or an open that
// creates nothing, succeeds when the path is there (a directory, when it
// asks for one). That saves a stop at its exit, for the calls programs
// make most. Not for a chrooted process (the path would have to be
// resolved inside its root), for /proc and /dev/fd (their meaning is the
// process's), and not for the calls whose failure does not say the path
// is absent (readlink of a file, access refused).
func (t *tracer) settled(tid int, tk *task, ev *strace.Event, flags int) bool {
	switch {
	case ev.Op == strace.OpList:
		ev.OK = true
		return true
	case ev.Op == strace.OpStat:
		switch ev.Syscall {
		case "readlink", "readlinkat", "access", "faccessat", "faccessat2":
			return false
		}
	case ev.Op == strace.OpRead && strings.HasPrefix(ev.Syscall, "open") && flags&unix.O_CREAT == 0:
	default:
		return false
	}
	if strings.HasPrefix(ev.Path, "/proc/") || strings.HasPrefix(ev.Path, "/dev/") {
		return false
	}
	if root, err := t.root(tid, tk); err != nil || root != "/" {
		return false
	}
	at := 0
	if ev.NoFollow {
		at = unix.AT_SYMLINK_NOFOLLOW
	}
	var st unix.Stat_t
	err := unix.Fstatat(unix.AT_FDCWD, ev.Path, &st, at)
	ev.OK = err == nil && (!ev.Dir || st.Mode&unix.S_IFMT == unix.S_IFDIR)
	if errno, ok := err.(unix.Errno); ok {
		ev.Errno = unix.ErrnoName(errno)
	}
	return true
}

// root is the root directory of tid, as the tracer sees it (cached).
func (t *tracer) root(tid int, tk *task) (string, error) {
	if tk.root == "" {
		var err error
		if tk.root, err = procLink(tid, "root"); err != nil {
			return "", err
		}
	}
	return tk.root, nil
}

func isDrop(name string) bool {
	for _, n := range dropCalls {
		if n == name {
			return true
		}
	}
	return false
}

const atFDCWD = -100

// entry reads the paths of a call at its entry, while the cwd and the
// dirfds are what the call will use, and its flags. ok is false when the
// call names nothing to record (an fstat, a NULL path) or its path is
// unreadable.
func (t *tracer) entry(tid int, tk *task, name string, a strace.Args, r *regs) (*strace.Event, int, bool) {
	ev := &strace.Event{File: "ptrace", Pid: tid, Syscall: name, Op: a.Op}
	flags := 0
	if a.Flags >= 0 {
		flags = int(sysArg(r, a.Flags))
		if name == "openat2" {
			v, f := t.mem.u64(tid, sysArg(r, a.Flags))
			if f != readOK {
				return nil, 0, false
			}
			flags = int(v)
		}
	}
	switch {
	case a.Path >= 0:
		p, ok := t.path(tid, tk, name, r, a.Dirfd, a.Path)
		if !ok {
			return nil, 0, false
		}
		if p == "" {
			// "": the call is about the dirfd (AT_EMPTY_PATH): only an
			// execveat of it names a file here (fstat says nothing new)
			if a.Op != strace.OpExec || flags&strace.AtEmptyPath == 0 {
				return nil, 0, false
			}
			if p = t.fdPath(tid, name, int32(sysArg(r, a.Dirfd))); p == "" {
				return nil, 0, false
			}
		}
		ev.Path = p
		if a.Path2 >= 0 {
			ev.Path2, _ = t.path(tid, tk, name, r, a.Dirfd2, a.Path2)
		}
	case a.Fd >= 0:
		if ev.Path = t.fdPath(tid, name, int32(sysArg(r, a.Fd))); ev.Path == "" {
			return nil, 0, false
		}
	default:
		return nil, 0, false
	}
	strace.Classify(ev, flags)
	return ev, flags, true
}

// path reads path argument pi relative to dirfd argument di (-1: the
// cwd). ok is false when it cannot be read ("" with ok: an empty path).
func (t *tracer) path(tid int, tk *task, name string, r *regs, di, pi int) (string, bool) {
	s, f := t.mem.str(tid, sysArg(r, pi))
	switch f {
	case denied:
		t.unreadable(tid, name)
		return "", false
	case badAddress, gone:
		return "", false
	}
	if s == "" {
		return "", true
	}
	var root, base string
	if s[0] == '/' {
		var err error
		if root, err = t.root(tid, tk); err != nil {
			if permission(err) {
				t.unreadable(tid, name)
			}
			return "", false
		}
	} else {
		fd := int32(atFDCWD)
		if di >= 0 {
			fd = int32(sysArg(r, di))
		}
		if base = t.fdPath(tid, name, fd); base == "" {
			return "", false
		}
	}
	return ResolveAt(root, base, s), true
}

// fdPath is the path of tid's fd (AT_FDCWD: its cwd), "" when it is no
// path (a pipe, a socket) or cannot be read.
func (t *tracer) fdPath(tid int, name string, fd int32) string {
	link := "cwd"
	if fd != atFDCWD {
		if fd < 0 {
			return ""
		}
		link = "fd/" + strconv.Itoa(int(fd))
	}
	p, err := procLink(tid, link)
	if err != nil {
		if permission(err) {
			t.unreadable(tid, name)
		}
		return ""
	}
	if !strings.HasPrefix(p, "/") {
		return ""
	}
	return p
}

// syscallStop is a syscall stop: the exit of a call awaited, or a step
// of the prctl injection.
func (t *tracer) syscallStop(tid int, tk *task) {
	r := &t.regs
	if getRegs(tid, r) != nil {
		return
	}
	switch tk.inject {
	case 1: // the injected call's entry
		tk.inject = 2
		t.resume(tid, tk, 0)
		return
	case 2: // its exit: the program goes on as the call it made returned
		tk.inject = 0
		setRegs(tid, &tk.saved)
		t.resume(tid, tk, 0)
		return
	}
	if !tk.expectExit {
		t.resume(tid, tk, 0)
		return
	}
	tk.expectExit = false
	ret := sysRet(r)
	ok := ret >= 0 || ret < -4095
	if tk.drop {
		tk.drop = false
		if ok && !t.o.noInject {
			t.injectDumpable(tid, tk, r)
			return
		}
	}
	if ev := tk.pending; ev != nil {
		tk.pending = nil
		ev.OK = ok
		if !ok {
			ev.Errno = unix.ErrnoName(syscall.Errno(-ret))
		}
		if ok && ev.Op == strace.OpChroot {
			for _, o := range t.tasks {
				o.root = ""
			}
		}
		t.add(tk, *ev)
	}
	t.resume(tid, tk, 0)
}

// injectDumpable makes the thread, stopped at the exit of a credential
// change, run prctl(PR_SET_DUMPABLE, 1) and then go on with the
// registers it had: the kernel made it non-dumpable, and its memory
// and /proc files would be closed to a tracer without CAP_SYS_PTRACE.
func (t *tracer) injectDumpable(tid int, tk *task, r *regs) {
	tk.saved = *r
	call := *r
	setupCall(&call, sysPrctl, unix.PR_SET_DUMPABLE, 1)
	if setRegs(tid, &call) != nil {
		return
	}
	tk.inject = 1
	t.resume(tid, tk, 0)
}

// unreadable counts a call of tid whose path could not be read.
func (t *tracer) unreadable(tid int, call string) {
	u, ok := t.unread[tid]
	if !ok {
		u = &collect.Unreadable{Pid: tid, UID: -1, Where: "pid " + strconv.Itoa(tid)}
		if comm, err := os.ReadFile("/proc/" + strconv.Itoa(tid) + "/comm"); err == nil {
			u.Command = strings.TrimSpace(string(comm))
		}
		if uid, _, ok := effectiveIDs(tid); ok {
			u.UID = uid
		}
		t.unread[tid] = u
	}
	u.Count++
	for _, c := range u.Calls {
		if c == call {
			return
		}
	}
	u.Calls = append(u.Calls, call)
}

// ptraceListen restarts a seized thread in group stop without resuming
// it (x/sys/unix has no wrapper).
func ptraceListen(tid int) error {
	_, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_LISTEN, uintptr(tid), 0, 0, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}
