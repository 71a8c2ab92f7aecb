package strace

import (
	"bytes"
	"io"
	"os"
	"slices"
	"sort"

	"github.com/pkg/errors"
)

// Calls is what CountCalls found in a log made without a syscall filter
// (strace -f without -e trace=): every syscall the traced processes made,
// by name.
type Calls struct {
	// Counts maps each syscall name to the number of calls, failed calls
	// included (a seccomp filter sees the call before the kernel fails it).
	Counts map[string]int
	// Unnamed counts the calls strace could not name ("syscall_0x3e8",
	// "???"); their numbers are in UnnamedNames.
	Unnamed      int
	UnnamedNames []string
	// Skipped counts the calls made while a process ran one of
	// CallOptions.Skip (the launcher).
	Skipped int
	// Lines is the number of lines read.
	Lines int
}

// Names returns the syscall names, sorted.
func (c *Calls) Names() []string {
	out := make([]string, 0, len(c.Counts))
	for n := range c.Counts {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// CallOptions configure CountCalls.
type CallOptions struct {
	// Skip are programs whose own calls are not counted: the launcher
	// that chroots and then execs the command. A process runs a program
	// from its successful execve of it (the threads and children it
	// starts run it too) until it execs another one.
	Skip []string
	// Warn receives bad lines (*LineError), at most MaxWarnings (20).
	Warn        func(error)
	MaxWarnings int
}

// Counting asks a Parser to count the syscalls of the log it parses
// (Options.Count): one pass over the log gives the path events and the
// counts.
type Counting struct {
	CallOptions
	// Calls is set by ParseFiles once the logs are parsed.
	Calls *Calls
}

// CountCalls reads a log written by strace -f -o FILE and counts the
// syscalls made, by name. A call is counted once: on its complete line, or
// on its "<unfinished ...>" line (not again when it resumes), but for an
// execve, counted when it returns: as the new program's when it succeeds
// (as on a complete line), whichever other lines came between.
func CountCalls(name string, o CallOptions) (*Calls, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, errors.Wrap(err, "opening strace log")
	}
	defer f.Close()
	return CountCallsIn(f, name, o)
}

// CountCallsIn is CountCalls on a log read from r; name is used in errors.
// It is the parser with counting on and the events dropped.
func CountCallsIn(r io.Reader, name string, o CallOptions) (*Calls, error) {
	p := NewParser(Options{Count: &Counting{CallOptions: o}, Warn: o.Warn, MaxWarnings: o.MaxWarnings}, func(Event) {})
	if err := p.Parse(r, name, -1); err != nil {
		return nil, err
	}
	return p.Calls(), nil
}

// Calls returns what the parser counted (Options.Count), the calls given
// to their programs; nil without counting. Call it once the logs are
// parsed.
func (p *Parser) Calls() *Calls {
	if p.counter == nil {
		return nil
	}
	p.counter.finish()
	return p.counter.calls
}

// count counts one strace line of pid, unless its name is no syscall's
// (the parser warns about those: they are bad lines).
func (p *Parser) count(rl rawLine, pid int) {
	if unknownName(rl) != "" {
		return
	}
	rl.pid = pid
	p.counter.line(rl)
}

func newCallCounter(o CallOptions) *callCounter {
	cc := &callCounter{calls: &Calls{Counts: map[string]int{}}, procs: map[int]*countProc{}, unlinked: map[int]*countProc{},
		execs: map[int]pendingExec{}, skip: map[string]bool{}}
	for _, s := range o.Skip {
		cc.skip[s] = true
	}
	return cc
}

// callCounter follows which program each process runs: the calls are
// counted per process image (a pid between two execs) and given to the
// program only at the end, since a child's lines may come before the
// line on which its parent's clone returns: its first calls, its execve
// and even its exit (strace writes each line when its process stops, and
// on a loaded machine the parent may stop after the child has run). The
// order of the lines must not change which program a call is given to:
// the clone's line links the image the child began with, whenever it
// comes.
type callCounter struct {
	calls  *Calls
	images []*image
	procs  map[int]*countProc // by pid, while it lives
	// unlinked are the pids that exited before the line on which their
	// parent's clone returned: that line still links their first image.
	unlinked map[int]*countProc
	skip     map[string]bool
	// execs: each pid's unfinished execve, counted once it returns
	execs map[int]pendingExec
	done  bool // finish ran
}

// countProc is what the counter knows of one pid.
type countProc struct {
	cur   int // its current image
	first int // the image it began with (-1: it began with its execve)
	// linked: the clone that made it returned (or it was never seen
	// made): first has its parent
	linked bool
}

// pendingExec is an unfinished execve: a successful one is counted as
// the new program's (as a complete line is), a failed one as the caller's.
type pendingExec struct {
	name, path string
	img        int // the caller's image
}

type image struct {
	exe    string // "" until the process execs (then it runs its parent's)
	execd  bool
	parent int // the image that started it, or -1
	counts map[string]int
}

func (cc *callCounter) newImage(im *image) int {
	cc.images = append(cc.images, im)
	return len(cc.images) - 1
}

// proc returns pid's state, made with a first image on its first line.
func (cc *callCounter) proc(pid int) *countProc {
	p, ok := cc.procs[pid]
	if !ok {
		i := cc.newImage(&image{parent: -1, counts: map[string]int{}})
		p = &countProc{cur: i, first: i}
		cc.procs[pid] = p
	}
	return p
}

func (cc *callCounter) image(pid int) *image { return cc.images[cc.proc(pid).cur] }

func (cc *callCounter) line(rl rawLine) {
	switch rl.kind {
	case kindCall, kindUnfinished, kindPidChanged:
		name := string(rl.name)
		if isUnnamed(name) {
			cc.calls.Unnamed++
			if len(cc.calls.UnnamedNames) < 20 && !slices.Contains(cc.calls.UnnamedNames, name) {
				cc.calls.UnnamedNames = append(cc.calls.UnnamedNames, name)
			}
			return
		}
		pid := rl.pid
		if rl.kind == kindUnfinished {
			if isExec(name) {
				cc.execs[pid] = pendingExec{name: name, path: execPath(name, rl.body), img: cc.proc(pid).cur}
				return
			}
			cc.image(pid).counts[name]++
			return
		}
		var forked *result
		if isExec(name) || isFork(name) {
			if ret, ok := callResult(rl.body); ok && ret.ok {
				if isExec(name) {
					cc.exec(pid, execPath(name, rl.body)) // counted as the new program's
				} else {
					forked = &ret
				}
			}
		}
		cc.image(pid).counts[name]++
		if forked != nil {
			cc.forked(pid, *forked)
		}
	case kindResumed:
		name := string(rl.name)
		if isExec(name) {
			pe, ok := cc.execs[rl.pid]
			if !ok {
				return
			}
			delete(cc.execs, rl.pid)
			if ret, ok := callResult(rl.body); ok && ret.ok {
				cc.exec(rl.pid, pe.path)
				cc.image(rl.pid).counts[pe.name]++
			} else {
				cc.images[pe.img].counts[pe.name]++
			}
			return
		}
		if isFork(name) {
			if ret, ok := callResult(rl.body); ok && ret.ok {
				cc.forked(rl.pid, ret)
			}
		}
	case kindSuperseded:
		// a thread's execve: the process (the leader's pid) runs the new
		// program, from the execve's resumed line under the leader's pid
		if rl.newPid != rl.pid {
			if pe, ok := cc.execs[rl.newPid]; ok {
				cc.execs[rl.pid] = pe
				delete(cc.execs, rl.newPid)
			}
			delete(cc.procs, rl.newPid) // (the thread is the leader now)
		}
	case kindExit:
		if pe, ok := cc.execs[rl.pid]; ok { // died in its execve
			cc.images[pe.img].counts[pe.name]++
			delete(cc.execs, rl.pid)
		}
		if p, ok := cc.procs[rl.pid]; ok {
			if !p.linked {
				cc.unlinked[rl.pid] = p
			}
			delete(cc.procs, rl.pid) // the pid may be used again
		}
	}
}

// exec starts a new image for pid, running exe.
func (cc *callCounter) exec(pid int, exe string) {
	i := cc.newImage(&image{exe: exe, execd: true, parent: -1, counts: map[string]int{}})
	if p, ok := cc.procs[pid]; ok {
		p.cur = i
		return
	}
	cc.procs[pid] = &countProc{cur: i, first: -1}
}

// forked records that a clone, fork or vfork of pid returned child: the
// child's first image runs what pid runs. The child's lines may have
// come first, its exec and its exit too.
func (cc *callCounter) forked(pid int, ret result) {
	if !ret.fd.ok || ret.fd.fd <= 0 {
		return
	}
	parent, ok := cc.procs[pid]
	if !ok {
		return
	}
	child := ret.fd.fd
	c, ok := cc.procs[child]
	if !ok {
		if c, ok = cc.unlinked[child]; !ok {
			c = cc.proc(child)
		}
	}
	delete(cc.unlinked, child)
	c.linked = true
	if c.first >= 0 && c.first != parent.cur {
		if im := cc.images[c.first]; !im.execd && im.parent < 0 {
			im.parent = parent.cur
		}
	}
}

// finish gives each image's calls to its program (once).
func (cc *callCounter) finish() {
	if cc.done {
		return
	}
	cc.done = true
	for _, pe := range cc.execs { // (the log ends in an execve)
		cc.images[pe.img].counts[pe.name]++
	}
	for _, im := range cc.images {
		exe := im.exe
		seen := 0
		for p := im; !p.execd && p.parent >= 0 && seen < len(cc.images); seen++ {
			p = cc.images[p.parent]
			exe = p.exe
		}
		for n, k := range im.counts {
			if cc.skip[exe] {
				cc.calls.Skipped += k
				continue
			}
			cc.calls.Counts[n] += k
		}
	}
}

func isExec(name string) bool { return name == "execve" || name == "execveat" }

func isFork(name string) bool {
	return name == "clone" || name == "clone3" || name == "fork" || name == "vfork"
}

// execPath is the program an execve names; "" for execveat (its path is
// relative to a dirfd) or when the argument cannot be read.
func execPath(name string, body []byte) string {
	if name != "execve" || len(body) == 0 || body[0] != '"' {
		return ""
	}
	p, _, _, err := unquote(body)
	if err != nil {
		return ""
	}
	return string(p)
}

// callResult reads the return value of a complete call's body ("...) = 0"
// after "NAME(" or after "resumed>").
func callResult(body []byte) (result, bool) {
	var c call
	if err := splitArgs(body, &c, true); err != nil || c.ret == nil {
		return result{}, false
	}
	return parseResult(c.ret), true
}

// unknownName returns the name of a call line whose name is no syscall
// strace knows, as Parser tells them (unnamed calls are not unknown).
func unknownName(rl rawLine) string {
	switch rl.kind {
	case kindCall, kindUnfinished, kindResumed, kindPidChanged:
	default:
		return ""
	}
	if _, listed := lookupName(rl.name); listed || bytes.HasPrefix(rl.name, []byte("syscall_")) || isUnnamed(string(rl.name)) {
		return ""
	}
	return string(rl.name)
}

// isUnnamed: strace prints a number it has no name for as syscall_0xNNN
// (and "???" when the process died in the call).
func isUnnamed(name string) bool {
	return name == "" || name == "???" || len(name) > 10 && name[:10] == "syscall_0x"
}
