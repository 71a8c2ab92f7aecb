package fanotify

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/pkg/errors"
)

// Flags and masks from linux/fanotify.h.
const (
	initCloexec        = 0x1
	initNonblock       = 0x2
	initUnlimitedQueue = 0x10
	initUnlimitedMarks = 0x20

	markAdd   = 0x1
	markMount = 0x10

	evCloseWrite = 0x8
	evOpen       = 0x20
	evQOverflow  = 0x4000
	evOpenExec   = 0x1000
	evOnDir      = 0x40000000

	metadataVersion = 3
	metadataLen     = 24
)

// Access is one path the watched command used.
type Access struct {
	Path    string
	Exec    bool // it was run (execve, or the ELF interpreter of a run program)
	Dir     bool // a directory that was opened (listed)
	Written bool // it was opened for writing and closed
	// Created is set when a written file was born after the marks were
	// set: the command made it (its filesystem records birth times).
	Created bool
	Pid     int // the first process seen using it
}

// Watcher reads the events of the marked mounts.
type Watcher struct {
	fd       int
	mu       sync.Mutex
	paths    map[string]*Access
	events   int
	overflow bool
	readErr  error
	stop     chan struct{}
	done     chan struct{}
	wake     [2]int // a pipe that wakes the reader from poll on Stop
	started  bool
	buf      []byte
	link     []byte
	evs      []event
	since    time.Time // when the marks were set, by the clock of file times
	exclude  map[int]bool
	until    map[int]map[string]bool // pid -> files it runs before the command
}

// ErrUnsupported is matched (errors.Is) by the error New returns when the
// kernel or the privileges do not allow fanotify.
var ErrUnsupported = errors.New("fanotify is not available")

type unsupportedError struct{ errno syscall.Errno }

func (e *unsupportedError) Error() string {
	return "fanotify_init: " + e.errno.Error() + ": the fanotify collector needs CAP_SYS_ADMIN (root; in a container build: podman build --cap-add SYS_ADMIN, or BuildKit's RUN --security=insecure) and a kernel with CONFIG_FANOTIFY; the strace collector needs neither"
}

func (e *unsupportedError) Is(target error) bool { return target == ErrUnsupported }

// New opens a fanotify group. The caller must Close it.
func New() (*Watcher, error) {
	flags := uintptr(initCloexec | initNonblock | initUnlimitedQueue | initUnlimitedMarks)
	evFlags := uintptr(syscall.O_RDONLY | syscall.O_LARGEFILE | syscall.O_CLOEXEC | syscall.O_NONBLOCK | syscall.O_NOATIME)
	fd, _, errno := syscall.Syscall(syscall.SYS_FANOTIFY_INIT, flags, evFlags, 0)
	if errno != 0 {
		if errno == syscall.EPERM || errno == syscall.ENOSYS || errno == syscall.EINVAL {
			return nil, errors.WithStack(&unsupportedError{errno})
		}
		return nil, errors.Wrap(errno, "fanotify_init")
	}
	return &Watcher{
		fd:    int(fd),
		paths: map[string]*Access{},
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
		buf:   make([]byte, 64<<10),
		link:  make([]byte, 4096+64),
	}, nil
}

// Mount is one mount of a namespace.
type Mount struct {
	Point  string // where it is mounted, inside the namespace
	FSType string
	Marked bool
	Err    error // why it was not marked
}

// pseudo are filesystems whose files never go into an image.
var pseudo = map[string]bool{
	"proc": true, "sysfs": true, "cgroup": true, "cgroup2": true, "devpts": true,
	"devtmpfs": true, "mqueue": true, "debugfs": true, "tracefs": true, "securityfs": true,
	"pstore": true, "bpf": true, "configfs": true, "fusectl": true, "binfmt_misc": true,
	"autofs": true, "nsfs": true, "hugetlbfs": true, "rpc_pipefs": true, "efivarfs": true,
}

// MarkNamespace marks every mount of a mount namespace but pseudo
// filesystems (/proc, /sys, /dev...): from then on, every file opened or
// run through them is reported. proc names a process or thread in the
// namespace: "/proc/PID", or "/proc/thread-self" for the calling thread.
// The namespace must be one of the watched command's own, or the events
// of every process sharing it are recorded too.
func (w *Watcher) MarkNamespace(proc string) ([]Mount, error) {
	w.since = coarseNow()
	return MarkNamespaceWith(w.fd, proc)
}

// MarkNamespaceWith is MarkNamespace through the fanotify group fd: a
// launcher given the group (see Watcher.File) marks the mounts it made
// in a namespace of its own.
func MarkNamespaceWith(fd int, proc string) ([]Mount, error) {
	w := &Watcher{fd: fd}
	mounts, err := readMountinfo(proc + "/mountinfo")
	if err != nil {
		return nil, err
	}
	mask := uint64(evOpen | evOpenExec | evCloseWrite | evOnDir)
	marked := 0
	for i := range mounts {
		m := &mounts[i]
		if pseudo[m.FSType] {
			continue
		}
		p := proc + "/root" + m.Point
		if err := w.mark(mask, p); err != nil {
			m.Err = err
			continue
		}
		m.Marked = true
		marked++
	}
	if marked == 0 {
		return mounts, errors.Errorf("no mount of %s could be marked", proc)
	}
	return mounts, nil
}

func (w *Watcher) mark(mask uint64, path string) error {
	p, err := syscall.BytePtrFromString(path)
	if err != nil {
		return err
	}
	_, _, errno := syscall.Syscall6(syscall.SYS_FANOTIFY_MARK, uintptr(w.fd), markAdd|markMount,
		uintptr(mask), uintptr(dirfd), uintptr(unsafe.Pointer(p)), 0)
	if errno != 0 {
		return errors.Wrapf(errno, "fanotify_mark %s", path)
	}
	return nil
}

// File is a copy of the group's fd, to give a launcher (ExtraFiles).
func (w *Watcher) File() (*os.File, error) {
	fd, err := syscall.Dup(w.fd)
	if err != nil {
		return nil, errors.Wrap(err, "duplicating the fanotify fd")
	}
	return os.NewFile(uintptr(fd), "fanotify"), nil
}

// dirfd is AT_FDCWD: paths given to fanotify_mark are absolute.
var dirfd = -100

// readMountinfo lists the mounts of a /proc/PID/mountinfo file.
func readMountinfo(name string) ([]Mount, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, errors.Wrap(err, "reading the mounts")
	}
	defer f.Close()
	var out []Mount
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		m, err := parseMountinfoLine(sc.Text())
		if err != nil {
			return nil, errors.Wrapf(err, "%s:%d", name, n)
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		return nil, errors.Wrapf(err, "reading %s", name)
	}
	return out, nil
}

// parseMountinfoLine reads "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw".
func parseMountinfoLine(line string) (Mount, error) {
	f := strings.Fields(line)
	sep := -1
	for i, s := range f {
		if s == "-" && i >= 6 {
			sep = i
			break
		}
	}
	if len(f) < 5 || sep < 0 || sep+1 >= len(f) {
		return Mount{}, errors.Errorf("expected 'ID PARENT MAJ:MIN ROOT POINT OPTIONS ... - FSTYPE SOURCE OPTIONS', got %q", line)
	}
	return Mount{Point: unescapeOctal(f[4]), FSType: f[sep+1]}, nil
}

// unescapeOctal undoes the kernel's \040-style escapes of mountinfo.
func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Exclude leaves out the events of process pid (a tracer that starts the
// command inside the watched namespace). Call it before Start.
func (w *Watcher) Exclude(pid int) {
	if w.exclude == nil {
		w.exclude = map[int]bool{}
	}
	w.exclude[pid] = true
}

// ExcludeUntilExec leaves out the events of process pid until it runs a
// file that is not one of skip (canonical paths): a tracer that becomes
// the command (strace -D) loads its own program and libraries first.
// Call it before Start.
func (w *Watcher) ExcludeUntilExec(pid int, skip []string) {
	if w.until == nil {
		w.until = map[int]map[string]bool{}
	}
	m := map[string]bool{}
	for _, p := range skip {
		m[p] = true
	}
	w.until[pid] = m
}

// Start reads events in the background until Stop.
func (w *Watcher) Start() error {
	if err := syscall.Pipe2(w.wake[:], syscall.O_CLOEXEC|syscall.O_NONBLOCK); err != nil {
		return errors.Wrap(err, "making the reader's wake-up pipe")
	}
	w.started = true
	go w.loop()
	return nil
}

func (w *Watcher) loop() {
	defer close(w.done)
	type pollFd struct {
		fd      int32
		events  int16
		revents int16
	}
	const pollIn = 0x1
	pfd := [2]pollFd{{fd: int32(w.fd), events: pollIn}, {fd: int32(w.wake[0]), events: pollIn}}
	for {
		if err := w.drain(); err != nil {
			w.setErr(err)
			return
		}
		select {
		case <-w.stop:
			// The watched processes are gone: every event they caused is
			// already queued, so one more drain reads them all.
			if err := w.drain(); err != nil {
				w.setErr(err)
			}
			return
		default:
		}
		syscall.Syscall6(syscall.SYS_PPOLL, uintptr(unsafe.Pointer(&pfd[0])), 2, 0, 0, 0, 0)
	}
}

func (w *Watcher) setErr(err error) {
	w.mu.Lock()
	if w.readErr == nil {
		w.readErr = err
	}
	w.mu.Unlock()
}

// drain reads events until the queue is empty.
func (w *Watcher) drain() error {
	for {
		n, err := syscall.Read(w.fd, w.buf)
		if err == syscall.EINTR {
			continue
		}
		if err == syscall.EAGAIN {
			return nil
		}
		if err != nil {
			return errors.Wrap(err, "reading fanotify events")
		}
		if n <= 0 {
			return nil
		}
		if err := w.handle(w.buf[:n]); err != nil {
			return err
		}
	}
}

// event is one fanotify_event_metadata.
type event struct {
	mask uint64
	fd   int
	pid  int
}

// decodeEvents splits a buffer read from the group into events. A bad
// length or version is an error (the kernel's format changed).
func decodeEvents(b []byte, out []event) ([]event, error) {
	out = out[:0]
	for len(b) > 0 {
		if len(b) < metadataLen {
			return out, errors.Errorf("truncated fanotify event: %d bytes, expected at least %d", len(b), metadataLen)
		}
		evLen := binary.NativeEndian.Uint32(b[0:4])
		if vers := b[4]; vers != metadataVersion {
			return out, errors.Errorf("fanotify event version %d, expected %d", vers, metadataVersion)
		}
		if evLen < metadataLen || uint64(evLen) > uint64(len(b)) {
			return out, errors.Errorf("bad fanotify event length %d (expected %d to %d)", evLen, metadataLen, len(b))
		}
		out = append(out, event{
			mask: binary.NativeEndian.Uint64(b[8:16]),
			fd:   int(int32(binary.NativeEndian.Uint32(b[16:20]))),
			pid:  int(int32(binary.NativeEndian.Uint32(b[20:24]))),
		})
		b = b[evLen:]
	}
	return out, nil
}

// handle records a buffer of events and closes their descriptors.
func (w *Watcher) handle(b []byte) error {
	evs, err := decodeEvents(b, w.evs)
	w.evs = evs
	for _, ev := range evs {
		if ev.mask&evQOverflow != 0 {
			w.mu.Lock()
			w.overflow = true
			w.mu.Unlock()
		}
		if ev.fd < 0 {
			continue
		}
		if w.exclude[ev.pid] {
			syscall.Close(ev.fd)
			continue
		}
		if skip, ok := w.until[ev.pid]; ok {
			if ev.mask&evOpenExec == 0 || skip[w.path(ev.fd)] {
				syscall.Close(ev.fd)
				continue
			}
			delete(w.until, ev.pid) // the command runs
		}
		w.record(ev.fd, ev.pid, ev.mask)
		syscall.Close(ev.fd)
	}
	return err
}

// path is the path of an event's descriptor, "" when unknown.
func (w *Watcher) path(fd int) string {
	n, err := syscall.Readlink("/proc/self/fd/"+strconv.Itoa(fd), w.link)
	if err != nil || n <= 0 || n >= len(w.link) {
		return ""
	}
	return string(w.link[:n])
}

func (w *Watcher) record(fd, pid int, mask uint64) {
	n, err := syscall.Readlink("/proc/self/fd/"+strconv.Itoa(fd), w.link)
	if err != nil || n <= 0 || n >= len(w.link) {
		return
	}
	link := w.link[:n]
	if link[0] != '/' {
		return // not a path: an anonymous inode
	}
	if bytes.HasSuffix(link, []byte(" (deleted)")) {
		var st syscall.Stat_t
		if syscall.Fstat(fd, &st) == nil && st.Nlink == 0 {
			return // deleted since: nothing to pack
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.events++
	a, ok := w.paths[string(link)]
	if !ok {
		a = &Access{Path: string(link), Pid: pid}
		w.paths[a.Path] = a
		// FAN_ONDIR is not set in the masks of fd events: ask the file.
		var st syscall.Stat_t
		if syscall.Fstat(fd, &st) == nil && st.Mode&syscall.S_IFMT == syscall.S_IFDIR {
			a.Dir = true
		}
	}
	if mask&evOpenExec != 0 {
		a.Exec = true
	}
	if mask&evOnDir != 0 {
		a.Dir = true
	}
	if mask&evCloseWrite != 0 && !a.Written {
		a.Written = true
		if bt, ok := birthTime(fd); ok && !bt.Before(w.since) {
			a.Created = true
		}
	}
}

// Result is what the watcher saw.
type Result struct {
	Accesses []Access // sorted by path
	Events   int
	// Overflow is set when the kernel dropped events (it does not with
	// the unlimited queue this package asks for).
	Overflow bool
}

// Stop reads the events still queued, stops the reader and returns what
// was seen. Call it once every watched process has exited.
func (w *Watcher) Stop() (*Result, error) {
	if w.started {
		close(w.stop)
		syscall.Write(w.wake[1], []byte{1})
		<-w.done
		syscall.Close(w.wake[0])
		syscall.Close(w.wake[1])
		w.started = false
	} else if err := w.drain(); err != nil {
		return nil, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	r := &Result{Events: w.events, Overflow: w.overflow}
	for _, a := range w.paths {
		r.Accesses = append(r.Accesses, *a)
	}
	sort.Slice(r.Accesses, func(i, j int) bool { return r.Accesses[i].Path < r.Accesses[j].Path })
	if w.readErr != nil {
		return r, w.readErr
	}
	if w.overflow {
		return r, errors.New("the kernel dropped fanotify events (queue overflow): the list may be incomplete")
	}
	return r, nil
}

// Close releases the fanotify group.
func (w *Watcher) Close() error {
	return syscall.Close(w.fd)
}
