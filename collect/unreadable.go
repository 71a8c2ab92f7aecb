package collect

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/scratchpack/scratchpack/collect/strace"
)

// Unreadable counts, for one traced process, the calls whose path
// argument the collector could not read: strace printed an address where
// the path belongs (the process had become non-dumpable after a
// privilege drop, and the tracer lacks CAP_SYS_PTRACE), or scratchpack's
// own tracer failed to read it. Every collector fills these; the build
// warns once per process and --strict makes any of them an error.
type Unreadable struct {
	Pid     int      `json:"pid"`
	Command string   `json:"command"`         // the process's comm or the program it last executed
	UID     int      `json:"uid"`             // the effective uid at its last such call, or the one it took after (a worker's user); -1 when unknown
	Count   int      `json:"count"`           // calls whose path could not be read
	Calls   []string `json:"calls"`           // the distinct syscall names, sorted
	Where   string   `json:"where,omitempty"` // the first such call: "app.strace:120", or "pid 123"
}

// String names the process and its calls: "pid 1234 (/usr/sbin/apache2,
// uid 33): 67 calls (newfstatat, openat) whose path could not be read,
// the first at trace.log:120".
func (u Unreadable) String() string {
	cmd := u.Command
	if cmd == "" {
		cmd = "command unknown"
	}
	uid := "uid unknown"
	if u.UID >= 0 {
		uid = "uid " + strconv.Itoa(u.UID)
	}
	calls := "call"
	if u.Count != 1 {
		calls = "calls"
	}
	s := fmt.Sprintf("pid %d (%s, %s): %d %s (%s) whose path could not be read", u.Pid, cmd, uid, u.Count, calls, strings.Join(u.Calls, ", "))
	if u.Where != "" && u.Where != "pid "+strconv.Itoa(u.Pid) { // (ptrace's: said already)
		s += ", the first at " + u.Where
	}
	return s
}

// unreadCounter gathers strace's unread calls per process (per log file
// and pid: the files of one run name distinct processes).
type unreadCounter struct {
	by    map[unreadKey]*Unreadable
	order []unreadKey
}

type unreadKey struct {
	file string
	pid  int
}

func (c *unreadCounter) add(u strace.Unread) {
	k := unreadKey{u.File, u.Pid}
	if c.by == nil {
		c.by = map[unreadKey]*Unreadable{}
	}
	e, ok := c.by[k]
	if !ok {
		e = &Unreadable{Pid: u.Pid, Command: u.Exe, UID: u.UID, Where: u.File + ":" + strconv.Itoa(u.Line)}
		c.by[k] = e
		c.order = append(c.order, k)
	}
	e.Count++
	e.UID = u.UID
	if e.Command == "" {
		e.Command = u.Exe
	}
	if i := sort.SearchStrings(e.Calls, u.Syscall); i == len(e.Calls) || e.Calls[i] != u.Syscall {
		e.Calls = append(e.Calls, "")
		copy(e.Calls[i+1:], e.Calls[i:])
		e.Calls[i] = u.Syscall
	}
}

// uidChange notes the uid a process took after its unread calls: the
// one that names a worker (see strace.Options.UIDChange).
func (c *unreadCounter) uidChange(file string, pid, uid int) {
	if e, ok := c.by[unreadKey{file, pid}]; ok {
		e.UID = uid
	}
}

// list is the processes in the order of their first unread call.
func (c *unreadCounter) list() []Unreadable {
	var out []Unreadable
	for _, k := range c.order {
		out = append(out, *c.by[k])
	}
	return out
}
