package collect

import (
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/pkg/errors"

	"github.com/scratchpack/scratchpack/collect/ldd"
	"github.com/scratchpack/scratchpack/collect/strace"
)

// Need says what the image needs of a path.
type Need uint8

// What a Use needs.
const (
	// NeedFile: the path, every symlink on the way and what the last one
	// points to. For a directory, the directory itself (not its contents).
	NeedFile Need = iota
	// NeedLink: the path itself; a final symlink is kept but not followed
	// (lstat, readlink).
	NeedLink
	// NeedDir: the directory (listed, or a working directory).
	NeedDir
	// NeedParent: only the directory the path is in (the path was created
	// by the program, so the directory must exist for it to be created).
	NeedParent
)

// Source names where a Use came from.
type Source string

// Traced reports whether s is a tracer's (strace or ptrace): a call the
// program made, whose removals and creations are known.
func (s Source) Traced() bool { return s == SourceStrace || s == SourcePtrace }

// Sources of Uses.
const (
	SourceStrace Source = "strace"
	// SourcePtrace: seen by scratchpack's own tracer (collect/ptrace).
	SourcePtrace  Source = "ptrace"
	SourceLdd     Source = "ldd"
	SourceInterp  Source = "interp"  // an ELF program interpreter
	SourceShebang Source = "shebang" // a script's "#!" interpreter
	// SourceFanotify: opened or run, as a fanotify watch saw it.
	SourceFanotify Source = "fanotify"
	// SourceLink: a symlink that points at a used path (a fanotify
	// watch sees files, not the names used to reach them).
	SourceLink Source = "link"
)

// Use is one path the program uses.
type Use struct {
	Path   string
	Need   Need
	Exec   bool // the program ran this file: its interpreter is needed too
	Source Source
	// Detail says how it was used: the syscalls ("openat,newfstatat"), the
	// library name, the executable that needs it.
	Detail string
	// Where is the first place it was seen: "app.strace:12".
	Where string
	// Gone is set when the program deleted or renamed the path during the
	// trace, so its absence now is not an error.
	Gone bool
	// Created is set when the program created the path during the trace
	// (its first use wrote it): only its directory is needed, unless the
	// caller keeps created files. A directory it made (mkdir) is needed
	// itself (NeedDir), empty: a runtime directory.
	Created bool
	// Deleted is set when the program removed the path (unlink, rmdir,
	// rename from it or over it) after using what was there: that is not
	// needed any more, and it is left out (with a note).
	Deleted bool
	// Exec tags the use with the --exec command whose run saw it ("" for
	// the main command).
	ExecTag string
}

// RuntimeDir reports whether the use is a directory the program made or
// wrote into: it is kept, empty, even under an exclude of contents such
// as /run/** (filelist.RuntimeExcludes).
func (u Use) RuntimeDir() bool {
	return u.Need == NeedParent || u.Need == NeedDir && u.Created
}

type pathState struct {
	read, exec, link, dir, created, gone, parent bool
	mkdir, deleted                               bool
	syscalls                                     []string
	where                                        string
}

// used reports whether the program used what was at the path before it
// changed it.
func (st *pathState) used() bool { return st.read || st.exec || st.link || st.dir }

// remove records that the program removed the path: what was there is
// not needed any more, and what comes later is its own (created).
func (st *pathState) remove() {
	if st.used() && !st.created {
		st.deleted = true
	}
	st.read, st.exec, st.link, st.dir, st.created, st.mkdir = false, false, false, false, false, false
	st.gone, st.parent = true, true
}

// Trace accumulates strace events into Uses. Memory grows with the
// number of distinct paths, not with the length of the logs.
type Trace struct {
	paths map[string]*pathState
	// aliases holds the paths seen that are not their normal form, with
	// it (the keys of paths are).
	aliases map[string]string
	// Canonical resolves the symlinks of a directory (nil: lexical).
	Canonical func(dir string) string
	// Source is what the Uses name as their source: SourceStrace (the
	// default: the events are an strace log's) or SourcePtrace, whose
	// events are located by pid (Use.Where "pid N"), not by line.
	Source Source
}

// NewTrace returns an empty accumulator.
func NewTrace() *Trace { return &Trace{paths: map[string]*pathState{}, Source: SourceStrace} }

// Normalize returns an absolute path without "." components and repeated
// slashes; "a/b/.." becomes a's child as the kernel sees it: the part
// before the last ".." is resolved with canonical (its symlinks followed)
// when it is given, else cleaned lexically. Paths from different
// syscalls of the same file then meet: "/srv/db/./postmaster.pid" and
// "/srv/db/postmaster.pid".
func Normalize(p string, canonical func(string) string) string {
	if p == "" || !strings.HasPrefix(p, "/") {
		return p
	}
	if !strings.Contains(p, "/.") && !strings.Contains(p, "//") && p[len(p)-1] != '/' || isClean(p) {
		return p // the common case: nothing to do (vectorized tests first, then by component)
	}
	parts := strings.Split(p, "/")
	last := -1 // the last ".."
	for i, c := range parts {
		if c == ".." {
			last = i
		}
	}
	if last < 0 || canonical == nil {
		return path.Clean(p)
	}
	head := path.Clean("/" + strings.Join(parts[:last], "/"))
	head = path.Dir(canonical(head)) // ".." of the directory the kernel reaches
	return path.Clean(head + "/" + strings.Join(parts[last+1:], "/"))
}

// isClean reports whether the absolute path p has no "." or ".."
// component, no repeated slash and no trailing slash: path.Clean would
// return it as it is. Hidden directories ("/root/.pyenv/...") are clean:
// a test of "/." sent every path under them to the slow path, the
// parser's largest cost on a python log.
func isClean(p string) bool {
	for i := 0; i < len(p); i++ {
		if p[i] != '/' {
			continue
		}
		rest := p[i+1:]
		switch {
		case rest == "":
			return i == 0 // "/" itself
		case rest[0] == '/':
			return false
		case rest[0] == '.':
			if len(rest) == 1 || rest[1] == '/' || rest[1] == '.' && (len(rest) == 2 || rest[2] == '/') {
				return false
			}
		}
	}
	return true
}

func (t *Trace) norm(p string) string { return Normalize(p, t.Canonical) }

func (t *Trace) state(p string, ev *strace.Event) *pathState {
	st, ok := t.paths[p]
	if !ok {
		where := ev.Where()
		if t.Source == SourcePtrace {
			where = "pid " + strconv.Itoa(ev.Pid)
		}
		st = &pathState{where: where}
		t.paths[p] = st
	}
	return st
}

// known returns the normal form of p and its state, creating it. Every
// key of t.paths is its own normal form (Normalize returns a clean path,
// or p itself when p is clean or relative, and a clean path is returned
// as it is), so a path found as it is needs no Normalize: one map lookup
// for the paths seen before, most of a log's.
func (t *Trace) known(p string, ev *strace.Event) (string, *pathState) {
	if st, ok := t.paths[p]; ok {
		return p, st
	}
	if n, ok := t.aliases[p]; ok {
		return n, t.state(n, ev)
	}
	n := t.norm(p)
	if n != p && len(t.aliases) < maxAliases {
		if t.aliases == nil {
			t.aliases = map[string]string{}
		}
		t.aliases[p] = n // "cwd/." again and again: normalized once
	}
	return n, t.state(n, ev)
}

// maxAliases bounds Trace.aliases.
const maxAliases = 1 << 16

// Add takes one event. Failed calls are ignored, but for a mkdir that
// found the directory already there (EEXIST): the program expects it.
func (t *Trace) Add(ev strace.Event) {
	if ev.Path == "" {
		return
	}
	if !ev.OK {
		if ev.Errno == "EEXIST" && (ev.Syscall == "mkdir" || ev.Syscall == "mkdirat") {
			var st *pathState
			ev.Path, st = t.known(ev.Path, &ev)
			if !st.created {
				st.dir = true
			}
			st.syscalls = addName(st.syscalls, ev.Syscall)
		}
		return
	}
	var st *pathState
	ev.Path, st = t.known(ev.Path, &ev)
	ev.Path2 = t.norm(ev.Path2)
	fresh := !st.read && !st.exec && !st.link && !st.dir
	switch ev.Op {
	case strace.OpExec:
		st.exec = true
	case strace.OpRead, strace.OpModify:
		if !st.created {
			if ev.Dir {
				st.dir = true
			} else {
				st.read = true
			}
		}
	case strace.OpStat:
		if !st.created {
			if ev.NoFollow {
				st.link = true
			} else {
				st.read = true
			}
		}
	case strace.OpList, strace.OpChdir, strace.OpChroot:
		st.dir = true
	case strace.OpWrite, strace.OpCreate:
		if fresh {
			st.created = true
			st.mkdir = ev.Syscall == "mkdir" || ev.Syscall == "mkdirat"
		}
		st.parent = true
	case strace.OpDelete:
		st.remove()
	case strace.OpRename:
		st.remove()
		if ev.Path2 != "" {
			// renamed over: what was there is gone, what is there now is
			// the program's own
			st2 := t.state(ev.Path2, &ev)
			gone := st2.gone
			st2.remove()
			st2.gone = gone // (it is there now)
			st2.created = true
			st2.syscalls = addName(st2.syscalls, ev.Syscall)
		}
	}
	st.syscalls = addName(st.syscalls, ev.Syscall)
}

func addName(list []string, name string) []string {
	for _, n := range list {
		if n == name {
			return list
		}
	}
	if len(list) >= 8 {
		return list
	}
	return append(list, name)
}

// Uses returns the accumulated uses, sorted by path.
func (t *Trace) Uses() []Use {
	out := make([]Use, 0, len(t.paths))
	for p, st := range t.paths {
		u := Use{Path: p, Source: t.Source, Detail: strings.Join(st.syscalls, ","), Where: st.where, Gone: st.gone, Created: st.created, Deleted: st.deleted}
		switch {
		case st.mkdir && st.created:
			u.Need = NeedDir // a directory it made: kept, empty
		case st.exec:
			u.Need, u.Exec = NeedFile, true
		case st.read:
			u.Need = NeedFile
		case st.link:
			u.Need = NeedLink
		case st.dir:
			u.Need = NeedDir
		case st.parent:
			u.Need = NeedParent
		default:
			continue
		}
		out = append(out, u)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// Len is the number of distinct paths seen.
func (t *Trace) Len() int { return len(t.paths) }

// FromStrace parses strace logs (see strace.ParseFiles) into Uses, and
// counts per process the calls whose path strace could not read.
func FromStrace(files []string, opts strace.Options) ([]Use, []Unreadable, error) {
	t := NewTrace()
	t.Canonical = opts.Canonical
	opts.FailedCalls = []string{"mkdir", "mkdirat"} // for EEXIST: the program expects the directory
	unread, err := ParseStrace(files, opts, t.Add)
	if err != nil {
		return nil, nil, err
	}
	return t.Uses(), unread, nil
}

// ParseStrace parses strace logs (see strace.ParseFiles), giving fn each
// event, and counts per process the calls whose path strace could not
// read, in the order of their first: a caller of the parser is never
// silent about those (verify reads the failed calls this way).
func ParseStrace(files []string, opts strace.Options, fn func(strace.Event)) ([]Unreadable, error) {
	var unread unreadCounter
	opts.Unreadable, opts.UIDChange = unread.add, unread.uidChange
	if err := strace.ParseFiles(files, opts, fn); err != nil {
		return nil, err
	}
	return unread.list(), nil
}

// FromLdd parses ldd output files into Uses: each library, and the
// dynamic loader.
func FromLdd(files []string) ([]Use, error) {
	var out []Use
	for _, f := range files {
		bins, err := ldd.ParseFile(f)
		if err != nil {
			return nil, errors.Wrap(err, "reading ldd output")
		}
		for _, b := range bins {
			for _, l := range b.Libs {
				detail := l.Name
				if b.Path != "" {
					detail += " needed by " + b.Path
				}
				out = append(out, Use{Path: l.Path, Need: NeedFile, Source: SourceLdd, Detail: detail, Where: f + ":" + strconv.Itoa(l.Line)})
			}
		}
	}
	return out, nil
}
