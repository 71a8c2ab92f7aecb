package strace

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"maps"
	"math/bits"
	"os"
	"path"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/pkg/errors"
)

// Event is one use of a path seen in a log.
type Event struct {
	File    string // the log file
	Line    int    // 1-based line number of the line that completed the call
	Pid     int
	Syscall string
	Op      Op
	// Path is absolute, joined to the cwd or dirfd of the process; it is
	// not cleaned, so ".." after a symlink keeps the kernel's meaning.
	Path  string
	Path2 string // rename's new name
	OK    bool   // the call succeeded
	Errno string // "ENOENT" when it failed
	// Dir is set when the call asked for a directory (O_DIRECTORY, chdir,
	// getdents).
	Dir bool
	// NoFollow is set when a final symlink is not followed (lstat,
	// readlink, AT_SYMLINK_NOFOLLOW, O_NOFOLLOW).
	NoFollow bool
	// Exe is the program the process was running (its last successful
	// execve, inherited across fork), "" when the log does not show it.
	Exe string
}

// Where is "file:line".
func (e Event) Where() string { return e.File + ":" + strconv.Itoa(e.Line) }

// LineError is a line that could not be parsed. Such lines are reported
// through Options.Warn and skipped.
type LineError struct {
	File string
	Line int
	Err  error
}

func (e *LineError) Error() string {
	return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
}

func (e *LineError) Unwrap() error { return e.Err }

// DefaultMaxLineBytes is the longest line parsed; longer lines are
// reported and skipped. execve lines with long argv reach about 140 KB.
const DefaultMaxLineBytes = 1 << 20

// Options configure a Parser.
type Options struct {
	// Count, when set, makes the parser also count every syscall of the
	// log by the program that made it, as CountCalls does, in the same
	// pass: Count.Calls holds the counts once ParseFiles returns (see
	// Parser.Calls).
	Count *Counting
	// Cwd is the working directory of the first traced process, for
	// relative paths in logs made without -y. Default "/".
	Cwd string
	// Canonical, when set, turns a directory path into its canonical form
	// (symlinks resolved). It is used for chdir targets; logs made with
	// -y carry the canonical cwd themselves.
	Canonical func(dir string) string
	// Failed also reports calls that failed (ENOENT lookups...).
	Failed bool
	// FailedCalls, when Failed is not set, reports the failed calls of
	// these syscalls only (mkdir's EEXIST, say). Other failed calls are
	// skipped early: they change no process state.
	FailedCalls []string
	// MaxLineBytes bounds the length of one line (DefaultMaxLineBytes).
	MaxLineBytes int
	// Warn receives each bad line (a *LineError) and other notices.
	Warn func(error)
	// MaxWarnings bounds the warnings reported per file (default 20);
	// the rest are counted in one last warning.
	MaxWarnings int
	// Unreadable, when set, receives each call whose path argument strace
	// printed as an address (see Unread); such calls make no Event.
	Unreadable func(Unread)
	// UID is the effective uid of the first traced process (nil:
	// unknown). The parser follows it through the setuid calls the log
	// shows (setuid, setreuid, setresuid) for Unread.UID.
	UID *int
	// UIDChange, when set, receives each change of a process's effective
	// uid: a worker's paths become unreadable when it changes its gid,
	// before it takes its user's uid (apache's setgid, initgroups, then
	// setuid), so the uid it took names it better.
	UIDChange func(file string, pid, uid int)
}

// Unread is a call whose path argument strace printed as an address
// ("openat(AT_FDCWD, 0x55d2c8cc8b90, O_RDONLY)"): strace could not read
// the process's memory. That happens when the process changed its uid
// without exec, which made it non-dumpable, and strace lacks
// CAP_SYS_PTRACE (a docker build). The file it named is unknown.
type Unread struct {
	File    string // the log file
	Line    int    // the line that completed the call
	Pid     int    // the process: a thread's calls are its process's (CLONE_THREAD)
	Syscall string
	Exe     string // the program the process runs, "" when the log does not show it
	UID     int    // its effective uid, -1 when unknown
}

type fsState struct {
	cwd  string
	root string // "/" unless the process called chroot
}

// fdTable maps the open fds of a process (or of the processes that share
// them, CLONE_FILES) to the paths they name. Fds are small numbers: they
// index a slice, which a fork copies in one move (cloning a map there was
// a fifth of the parser goroutine's time); a large fd, or an empty path,
// goes in a map.
type fdTable struct {
	low  []string // low[fd]: "" when fd is not open (or is in high)
	high map[int]string
}

// maxLowFD bounds the fds kept in fdTable.low.
const maxLowFD = 1024

func (t *fdTable) get(fd int) (string, bool) {
	if fd >= 0 && fd < len(t.low) && t.low[fd] != "" {
		return t.low[fd], true
	}
	s, ok := t.high[fd]
	return s, ok
}

func (t *fdTable) set(fd int, path string) {
	if fd >= 0 && fd < maxLowFD && path != "" {
		if fd >= len(t.low) {
			t.low = append(t.low, make([]string, fd+1-len(t.low))...)
		}
		t.low[fd] = path
		delete(t.high, fd)
		return
	}
	if fd >= 0 && fd < len(t.low) {
		t.low[fd] = ""
	}
	if t.high == nil {
		t.high = map[int]string{}
	}
	t.high[fd] = path
}

func (t *fdTable) del(fd int) {
	if fd >= 0 && fd < len(t.low) {
		t.low[fd] = ""
	}
	delete(t.high, fd)
}

// clone returns a copy of t (a fork without CLONE_FILES).
func (t *fdTable) clone() *fdTable {
	return &fdTable{low: slices.Clone(t.low), high: maps.Clone(t.high)}
}

type proc struct {
	fs   *fsState
	fds  *fdTable
	exe  string
	uid  int // effective uid, -1: unknown
	tgid int // the process a thread belongs to (CLONE_THREAD); its own pid otherwise
}

type pendingCall struct {
	name string
	body []byte
	// superseded: a thread's execve whose process was taken over; it
	// succeeded, whatever return value strace prints when it resumes
	// (seen: "= -1 (errno 18446744073709551595)" for Go programs).
	superseded bool
}

// Parser reads strace logs and reports path events. It keeps the state of
// every traced process (cwd, root, open fds, unfinished calls) across the
// files given to it, so the files of one -ff run share one Parser.
type Parser struct {
	opts    Options
	emit    func(Event)
	procs   map[int]*proc
	pending map[int]*pendingCall
	initial *proc
	last    *proc
	call    call
	rules   *rules
	strs    interner
	block   int // bytes read at a time by Parse (tests make it small)

	cur *fileState // the file the current line comes from

	counter *callCounter // Options.Count
}

// fileState is what the parser knows of one file.
type fileState struct {
	name     string
	line     int
	warnings int
	parsed   int // strace lines (those of unknown syscalls included)
	// bad counts the lines that are not strace output: unreadable, too
	// long, or a call of a name no syscall has; firstBad is the first.
	bad      int
	unknowns int // lines of unknown syscalls, counted in parsed too
	firstBad *LineError
	unknown  map[string]bool
}

// NewParser returns a parser that calls emit for every path event.
func NewParser(opts Options, emit func(Event)) *Parser {
	if opts.Cwd == "" {
		opts.Cwd = "/"
	}
	if opts.MaxLineBytes <= 0 {
		opts.MaxLineBytes = DefaultMaxLineBytes
	}
	if opts.MaxWarnings <= 0 {
		opts.MaxWarnings = 20
	}
	initial := &proc{fs: &fsState{cwd: opts.Cwd, root: "/"}, fds: &fdTable{}, uid: -1}
	if opts.UID != nil {
		initial.uid = *opts.UID
	}
	return &Parser{
		opts:    opts,
		emit:    emit,
		procs:   map[int]*proc{},
		pending: map[int]*pendingCall{},
		initial: initial,
		strs:    interner{},
		rules:   newRules(opts),
	}
}

// ErrNotStrace is returned for a file in which no line is a strace line.
var ErrNotStrace = errors.New("no strace output found (expected lines such as '123 openat(AT_FDCWD, \"/etc/passwd\", O_RDONLY) = 3'; was it written by strace -o?)")

// ErrEmpty is returned for an empty log: strace itself failed to start
// the command, or the file is not the log.
var ErrEmpty = errors.New("the log is empty (strace writes nothing when it cannot start the command)")

// ParseFile parses one log file. pid is the pid of lines without a pid
// prefix (for -ff files FILE.PID), or -1.
func (p *Parser) ParseFile(name string, pid int) error {
	f, err := os.Open(name)
	if err != nil {
		return errors.Wrap(err, "opening strace log")
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		return p.parseAt(f, name, pid)
	}
	return p.Parse(f, name, pid)
}

func (p *Parser) blockBytes() int {
	if p.block > 0 {
		return p.block
	}
	return batchBytes
}

// Parse parses one log read from r; name is used in events and errors.
// One goroutine reads the log in blocks of whole lines, workers cut and
// split the lines of each block, and this goroutine applies them in log
// order: it follows the processes and calls emit.
func (p *Parser) Parse(r io.Reader, name string, pid int) error {
	fs := p.begin(name)
	br := newBlockReader(r, p.opts.MaxLineBytes, p.blockBytes())
	// Two batches queued each way are enough to keep two workers busy;
	// four held 3 MB more (peak RSS 24 MB on the bench's 300 MB log,
	// 21 MB now) for no measurable speed.
	full := make(chan *batch, 2)
	todo := make(chan *batch, 2)
	pool := make(batchPool, 16)
	go func() {
		defer close(full)
		defer close(todo)
		for {
			b := pool.get(batchBytes)
			if !br.fill(b) {
				return
			}
			b.ready = make(chan struct{})
			full <- b
			todo <- b
		}
	}()
	workers := min(runtime.GOMAXPROCS(0), 4)
	for range workers {
		go func() {
			in := interner{} // each worker's: no locks
			for b := range todo {
				if !b.tooLong {
					b.cut(p.rules, p.opts.MaxLineBytes, in)
				}
				close(b.ready)
			}
		}()
	}
	var carry []byte // the part of a line before an "attached" notice
	lines := 0       // lines of the batches applied
	for b := range full {
		<-b.ready
		if b.tooLong {
			lines++
			p.apply(&split{n: lines, tooLong: true}, pid)
		} else {
			p.applyBatch(b, &carry, lines, pid)
			lines += b.lines
		}
		pool.put(b)
	}
	if p.counter != nil {
		p.counter.calls.Lines += lines
	}
	return p.end(fs, lines, br.err)
}

// applyBatch applies the lines of a cut batch, numbered after the first
// lines of the log; carry is what the line before them left of an
// "attached" notice.
func (p *Parser) applyBatch(b *batch, carry *[]byte, first, pid int) {
	// the head, which may continue what the last batch carried
	head := b.arena[:b.headEnd]
	for n := 1; n <= b.headLines; n++ {
		line := head
		if i := bytes.IndexByte(head, '\n'); i >= 0 {
			line, head = head[:i+1], head[i+1:]
		}
		p.feedLine(carry, line, first+n, pid)
	}
	if b.headDone {
		*carry = b.carry
	}
	for i := range b.recs {
		sl := &b.recs[i]
		sl.n += first
		p.apply(sl, pid)
	}
	p.cur.parsed += b.parsed
}

// batch is a block of whole lines read ahead of the parser, and what a
// worker made of them.
type batch struct {
	arena   []byte
	tooLong bool // the block is one line, too long: dropped
	// set by cut:
	headEnd   int  // arena[:headEnd] is the head, left to the parser
	headLines int  // lines in the head
	headDone  bool // lines after the head were cut, and carry is valid
	carry     []byte
	lines     int     // lines in the block
	parsed    int     // lines read as strace lines that make no record
	recs      []split // the lines the parser must see; n counts from the block's start
	args      [][]byte
	ready     chan struct{} // closed once the lines are cut
	// for parseAt, set by the worker that reads the block at off:
	buf     []byte // what it reads into (arena is a part of it)
	off     int64
	prefix  []byte // up to the block's first newline: the end of a line
	suffix  []byte // after its last newline: the start of one
	short   bool   // the block ends the log (it is shorter than a block)
	readErr error
}

// batchBytes is the size of a block: small enough that a block read on
// one core is still in the cache shared with the worker that cuts it
// (256 KiB was the quickest on a 300 MB log; 1 MiB was 15 % slower).
const batchBytes = 256 << 10

// batchPool recycles the batches of one Parse: a sync.Pool would drop
// them at every GC, and new ones cost page faults.
type batchPool chan *batch

// get returns a batch; a new one gets an arena of arena bytes (parseAt's
// read into their buf: none).
func (bp batchPool) get(arena int) *batch {
	select {
	case b := <-bp:
		b.reset()
		return b
	default:
		return &batch{recs: make([]split, 0, 1024), arena: make([]byte, 0, arena), args: make([][]byte, 0, 4096)}
	}
}

func (bp batchPool) put(b *batch) {
	select {
	case bp <- b:
	default:
	}
}

func (b *batch) reset() {
	clear(b.recs) // drop references into the old lines
	*b = batch{recs: b.recs[:0], arena: b.arena[:0], args: b.args[:0], buf: b.buf}
}

func (p *Parser) begin(name string) *fileState {
	if p.opts.Count != nil && p.counter == nil {
		p.counter = newCallCounter(p.opts.Count.CallOptions)
		p.rules.count = true
	}
	p.cur = &fileState{name: name, unknown: map[string]bool{}}
	return p.cur
}

// feed handles one line read by lr.
func (p *Parser) feed(lr *lineReader, line []byte, pid int) {
	if lr.tooLong {
		p.apply(&split{n: lr.n, tooLong: true}, pid)
		return
	}
	p.applyLine(line, lr.n, pid)
}

// applyLine prepares and applies line n, its end trimmed.
func (p *Parser) applyLine(line []byte, n, pid int) {
	sl := split{n: n}
	sl.prepare(line, nil, p.rules, true, p.strs)
	p.apply(&sl, pid)
}

// feedLine handles line n, read with its newline, as a lineReader and
// feed do: the bound, the line end, the "attached" notice.
func (p *Parser) feedLine(carry *[]byte, line []byte, n, pid int) {
	if len(line) > p.opts.MaxLineBytes {
		p.apply(&split{n: n, tooLong: true}, pid)
		return
	}
	if line, ok := endLine(carry, line); ok {
		p.applyLine(line, n, pid)
	}
}

func (p *Parser) end(fs *fileState, lines int, readErr error) error {
	if fs.warnings > p.opts.MaxWarnings && p.opts.Warn != nil {
		p.opts.Warn(errors.Errorf("%s: %d more bad lines not shown", fs.name, fs.warnings-p.opts.MaxWarnings))
	}
	if readErr != nil {
		return errors.Wrapf(readErr, "reading %s", fs.name)
	}
	return logVerdict(fs.name, lines, fs.parsed-fs.unknowns, fs.bad, fs.firstBad)
}

// logVerdict is the end-of-file rule of every reader of a log (Parser,
// CountCalls): of its lines, valid were strace output and bad were not
// (firstBad the first of them); an empty log, one of blank lines and one
// with too small a share of strace output are refused.
func logVerdict(name string, lines, valid, bad int, firstBad *LineError) error {
	if lines == 0 {
		return errors.Wrap(ErrEmpty, name)
	}
	if valid == 0 && firstBad == nil {
		return errors.Wrap(ErrNotStrace, name) // blank lines only
	}
	if valid*minValidShare < valid+bad {
		return &JunkError{File: name, Lines: valid + bad, Valid: valid, First: firstBad}
	}
	return nil
}

// minValidShare: a log in which fewer than 1 line in minValidShare
// (blank lines aside) is strace output is refused (JunkError). A log of
// strace -o has none but the lines a killed strace cuts short.
const minValidShare = 4

// JunkError is a log in which only a small share of the lines is strace
// output: it is not a strace log, or not only one.
type JunkError struct {
	File         string
	Lines, Valid int
	First        *LineError // the first line that is not strace output
}

func (e *JunkError) Error() string {
	share := "no line is strace output"
	if e.Valid > 0 {
		share = fmt.Sprintf("only %d of %d lines are strace output", e.Valid, e.Lines)
	}
	return fmt.Sprintf("%s: not a strace log: %s (line %d: %v); expected a log written by strace -o, with lines such as '123 openat(AT_FDCWD, \"/etc/passwd\", O_RDONLY) = 3'",
		e.File, share, e.First.Line, e.First.Err)
}

// Is makes errors.Is(err, ErrNotStrace) true.
func (e *JunkError) Is(target error) bool { return target == ErrNotStrace }

// badLine counts a line that is not strace output.
func (p *Parser) badLine(err error) {
	p.cur.bad++
	if p.cur.firstBad == nil {
		p.cur.firstBad = &LineError{File: p.cur.name, Line: p.cur.line, Err: err}
	}
}

// lineReader splits a log into lines, bounding their length, and joins
// a line cut by an "strace: Process N attached" notice (logs written to
// stderr) with its continuation.
type lineReader struct {
	br      *bufio.Reader
	max     int
	long    []byte
	carry   []byte
	n       int  // number of the last line returned
	tooLong bool // the last line was longer than max (and is not returned)
	err     error
}

func newLineReader(r io.Reader, max int) *lineReader {
	return &lineReader{br: bufio.NewReaderSize(r, 256<<10), max: max}
}

// next returns the next line without its newline; the slice is valid
// until the following call.
func (lr *lineReader) next() ([]byte, bool) {
	for {
		lr.long = lr.long[:0]
		lr.tooLong = false
		var line []byte
		for {
			chunk, err := lr.br.ReadSlice('\n')
			if len(lr.long)+len(chunk) > lr.max {
				lr.tooLong = true
			}
			if err == bufio.ErrBufferFull {
				if !lr.tooLong {
					lr.long = append(lr.long, chunk...)
				}
				continue
			}
			if err != nil && err != io.EOF {
				lr.err = err
				return nil, false
			}
			if len(chunk) == 0 && len(lr.long) == 0 && !lr.tooLong {
				return nil, false // end of file
			}
			if len(lr.long) > 0 {
				lr.long = append(lr.long, chunk...)
				line = lr.long
			} else {
				line = chunk
			}
			break
		}
		lr.n++
		if lr.tooLong {
			return nil, true
		}
		if line, ok := endLine(&lr.carry, line); ok {
			return line, true
		}
	}
}

// endLine trims the end of a line read with its newline and joins a line
// cut by an "strace: Process N attached" notice with its continuation:
// "vfork(strace: Process 19451 attached" then " <unfinished ...>". It
// returns false for the first part, which it keeps in carry.
func endLine(carry *[]byte, line []byte) ([]byte, bool) {
	line = trimEOL(line)
	if len(*carry) > 0 {
		line = append(*carry, line...)
		*carry = nil
	}
	if len(line) >= len(" attached") && string(line[len(line)-len(" attached"):]) == " attached" {
		if i := bytes.Index(line, attachedPrefix); i > 0 {
			*carry = append([]byte(nil), line[:i]...)
			return nil, false
		}
	}
	return line, true
}

func (p *Parser) warn(err error) {
	p.cur.warnings++
	if p.opts.Warn == nil || p.cur.warnings > p.opts.MaxWarnings {
		return
	}
	p.opts.Warn(&LineError{File: p.cur.name, Line: p.cur.line, Err: err})
}

// rules say which lines can be dropped before their arguments are split.
type rules struct {
	count bool // every call is counted (Options.Count): none is dropped

	failed      bool    // failed calls are reported
	failedCalls []*spec // few: a map lookup costs more
	unreadable  bool    // calls with an address for a path are counted
}

func newRules(o Options) *rules {
	r := &rules{failed: o.Failed, unreadable: o.Unreadable != nil}
	for _, name := range o.FailedCalls {
		if sp := specOf[name]; sp != nil { // the parser sees no call of another
			r.failedCalls = append(r.failedCalls, sp)
		}
	}
	return r
}

// reportsFailed reports whether failed calls of sp were asked for.
func (r *rules) reportsFailed(sp *spec) bool {
	return slices.Contains(r.failedCalls, sp)
}

// quiet reports whether a complete call line cannot make an event nor
// change a process: a stat of an fd (fstat as newfstatat(3, "", ...,
// AT_EMPTY_PATH)), or a failed call nobody asked for. About half of
// the lines of a typical trace; they skip splitArgs.
func (r *rules) quiet(sp *spec, body []byte) bool {
	if sp.op == OpStat && sp.dirfd == 0 && sp.path == 1 && emptyPathOnFD(body) {
		return true
	}
	if r.failed || r.reportsFailed(sp) || len(body) == 0 || body[len(body)-1] != ')' {
		return false
	}
	if r.unreadable && !pathQuoted(sp, body) {
		return false // perhaps an address: counted (Options.Unreadable)
	}
	// "... = -1 ENOENT (No such file or directory)": the result is
	// near the end; a successful call never ends with ')' here.
	tail := body
	if len(tail) > 96 {
		tail = tail[len(tail)-96:]
	}
	// the last ") = -1 ", found from one ')' to the one before it
	for end := len(tail) - len(") = -1 ") + 1; end > 0; {
		i := lastParen(tail[:end])
		if i < 0 {
			break
		}
		if hasPrefix(tail[i:], ") = -1 ") {
			return bytes.IndexByte(tail[i+len(") = -1 "):], '"') < 0
		}
		end = i
	}
	return false
}

// pathQuoted reports whether a call's path argument is a quoted string,
// before its arguments are split: then it is no address (see isAddress),
// and the call may be dropped early. It looks where the path is in the
// common shapes: first, or after a dirfd (AT_FDCWD or a number, with -y's
// <path>); for the others, and whatever it cannot tell, it says no.
func pathQuoted(sp *spec, body []byte) bool {
	switch {
	case sp.path < 0:
		return true // no path: nothing to count
	case sp.path == 0 && sp.path2 < 0:
		return hasPrefix(body, `"`)
	case sp.path == 1 && sp.dirfd == 0 && sp.path2 < 0:
		rest := body
		if hasPrefix(rest, "AT_FDCWD") {
			rest = rest[len("AT_FDCWD"):]
		} else {
			_, w := leadingInt(rest)
			if w == 0 {
				return false
			}
			rest = rest[w:]
		}
		if len(rest) > 0 && rest[0] == '<' {
			end, err := skipAngle(rest, 0)
			if err != nil {
				return false
			}
			rest = rest[end:]
		}
		return hasPrefix(rest, `, "`)
	}
	return false
}

// lastParen is bytes.LastIndexByte(s, ')') testing 8 bytes at a time:
// the byte loop was most of quiet, which runs on most lines.
func lastParen(s []byte) int {
	const low7, parens = 0x7f7f7f7f7f7f7f7f, 0x2929292929292929
	i := len(s)
	for ; i >= 8; i -= 8 {
		v := binary.LittleEndian.Uint64(s[i-8:i]) ^ parens // 0 where s has ')'
		// the top bit of each byte of v that is 0, exactly (no carry
		// crosses a byte: the low 7 bits plus 0x7f stay below 0x100)
		if z := ^((v&low7 + low7) | v | low7); z != 0 {
			return i - 8 + (63-bits.LeadingZeros64(z))/8
		}
	}
	return bytes.LastIndexByte(s[:i], ')')
}

// emptyPathOnFD matches a body that starts `FD, "", ` or `FD</path>, "", `.
func emptyPathOnFD(body []byte) bool {
	n, w := leadingInt(body)
	if w == 0 || n < 0 {
		return false
	}
	rest := body[w:]
	if len(rest) > 0 && rest[0] == '<' {
		end, err := skipAngle(rest, 0)
		if err != nil {
			return false
		}
		rest = rest[end:]
	}
	return hasPrefix(rest, `, "", `)
}

// split is the stateless part of reading one line: what splitLine and,
// for complete calls of interest, splitArgs make of it. The pipelined
// parser makes these on another goroutine.
//
// The parser reads the splits a worker wrote on another core: the record
// is kept small (its flags together, no padding between small fields,
// the result text left out once read into facts). At 312 bytes it was
// the parser goroutine's largest cost, in cache misses.
type split struct {
	n  int // line number
	rl rawLine
	sp *spec // nil: a syscall the parser does not follow
	// for kindCall lines of interest (known, not quiet): the arguments
	args   [][]byte
	err    error
	argErr error
	facts  facts // set when argErr is nil
	skip   bool
	// tooLong: the line is longer than the bound
	tooLong bool
	known   bool // sp is set: the syscall is one the parser handles
	listed  bool // the name is a syscall's (knownNames)
	quiet   bool // counted, nothing else (see rules.quiet)
}

// prepare splits line; args, when not nil, is where the argument slices
// are appended (the pipelined parser shares one array per batch).
// checkNUL is false when the caller knows the line has no NUL byte.
func (sl *split) prepare(line []byte, args *[][]byte, r *rules, checkNUL bool, in interner) {
	if blank(line) {
		sl.skip = true
		return
	}
	if checkNUL && bytes.IndexByte(line, 0) >= 0 {
		sl.err = errors.New("binary data (NUL byte) in the line")
		return
	}
	if !splitCall(line, &sl.rl) {
		sl.rl, sl.err = splitAny(line)
	}
	if sl.err != nil {
		return
	}
	sl.finish(args, r, in)
}

// finish is prepare once the line is split into sl.rl.
func (sl *split) finish(args *[][]byte, r *rules, in interner) {
	switch sl.rl.kind {
	case kindCall, kindUnfinished, kindResumed, kindPidChanged:
		sl.sp, sl.listed = lookupName(sl.rl.name)
		sl.known = sl.sp != nil
	}
	if sl.rl.kind == kindCall && sl.known && r.quiet(sl.sp, sl.rl.body) {
		sl.quiet = true
		return
	}
	sl.readArgs(args, in)
}

// readArgs is the rest of finish, once the name is looked up and the
// line is known not to be quiet: a complete call of interest gets its
// arguments split and its facts read.
func (sl *split) readArgs(args *[][]byte, in interner) {
	if sl.rl.kind != kindCall || !sl.known {
		return
	}
	var c call
	if args != nil {
		c.args = (*args)[len(*args):len(*args)]
	}
	sl.argErr = splitArgs(sl.rl.body, &c, true)
	sl.args = c.args
	if sl.argErr == nil {
		sl.facts = factsOf(sl.sp, &c, in)
	}
	// Keep them in the shared array unless append had to move them.
	if args != nil && len(*args)+len(c.args) <= cap(*args) {
		*args = (*args)[:len(*args)+len(c.args)]
	}
}

// facts are what complete reads of a call's text, apart from the state
// of the processes: the workers find them for the lines they split.
type facts struct {
	res   result
	path  string // the path argument when it is absolute, unquoted; else ""
	flags int    // the bits of the flags argument (open or AT_ flags)
	cwd   []byte // the path of the first AT_FDCWD</cwd> argument (-y)
}

// factsOf reads the facts of a call split into c; in makes the strings.
func factsOf(sp *spec, c *call, in interner) facts {
	f := facts{res: parseResult(c.ret)}
	for _, a := range c.args {
		if !c.fdcwd {
			break
		}
		if hasPrefix(a, "AT_FDCWD<") {
			if fd, err := parseFD(a); err == nil && fd.hasPath {
				f.cwd = fd.path
			}
			break
		}
	}
	if sp.path >= 0 && sp.path < len(c.args) {
		if a := c.args[sp.path]; len(a) > 2 && a[0] == '"' && a[1] == '/' {
			if c.plain&(1<<sp.path) != 0 {
				f.path = in.str(a[1 : len(a)-1])
			} else if raw, ok := plainString(a); ok {
				f.path = in.str(raw)
			} else if raw, _, truncated, err := unquote(a); err == nil && !truncated {
				f.path = in.str(raw)
			}
		}
	}
	if sp.flags >= 0 && sp.flags < len(c.args) {
		text := c.args[sp.flags]
		switch sp.open {
		case openPlain, openStruct:
			f.flags = openFlags(text, sp.open == openStruct)
		default:
			f.flags = flagBits(text, atFlagNames)
		}
	}
	return f
}

// trimEOL drops the newlines and carriage returns that end a line.
func trimEOL(line []byte) []byte {
	for len(line) > 0 && (line[len(line)-1] == '\n' || line[len(line)-1] == '\r') {
		line = line[:len(line)-1]
	}
	return line
}

// needed reports whether apply must see a prepared line: it does
// nothing with the others but count them.
func (sl *split) needed() bool {
	switch {
	case sl.skip:
		return false
	case sl.tooLong || sl.err != nil:
		return true
	case sl.quiet:
		return false
	}
	switch sl.rl.kind {
	case kindSignal, kindInfo:
		return false
	case kindExit, kindSuperseded:
		return true
	}
	if sl.known {
		return true
	}
	return !sl.listed && !bytes.HasPrefix(sl.rl.name, []byte("syscall_")) // a warning
}

// blank reports whether a line is only white space (it stops at the
// first other byte: usually the first).
func blank(line []byte) bool {
	for _, c := range line {
		switch c {
		case ' ', '\t', '\n', '\r', '\v', '\f':
		default:
			return false
		}
	}
	return true
}

// apply follows one split line: process state, events, warnings.
func (p *Parser) apply(sl *split, defaultPid int) {
	p.cur.line = sl.n
	if sl.tooLong {
		err := errors.Errorf("line longer than %d bytes, skipped", p.opts.MaxLineBytes)
		p.badLine(err)
		p.warn(err)
		return
	}
	if sl.skip {
		return
	}
	if sl.err != nil {
		p.badLine(sl.err)
		p.warn(sl.err)
		return
	}
	rl := &sl.rl
	p.cur.parsed++
	pid := rl.pid
	if pid < 0 {
		pid = defaultPid
	}
	if pid < 0 {
		pid = 0 // a log without -f: one process
	}
	if p.counter != nil {
		p.count(*rl, pid)
	}
	if sl.quiet {
		return
	}
	switch rl.kind {
	case kindSignal, kindInfo:
		return
	case kindExit:
		delete(p.pending, pid)
		delete(p.procs, pid)
		return
	case kindSuperseded:
		// A thread of this process called execve: its call completes here.
		if pc, ok := p.pending[rl.newPid]; ok {
			pc.superseded = true
			p.pending[pid] = pc
			delete(p.pending, rl.newPid)
		}
		if rl.newPid != pid {
			delete(p.procs, rl.newPid)
		}
		return
	}
	sp, interesting := sl.sp, sl.known
	if !interesting {
		name := string(rl.name) // no allocation for map lookups below
		if !sl.listed && !strings.HasPrefix(name, "syscall_") {
			p.cur.unknowns++
			if p.cur.firstBad != nil && p.cur.unknown[name] {
				p.cur.bad++ // counted, as badLine does; the error was made once
				return
			}
			err := errors.Errorf("unknown syscall %q", name)
			p.badLine(err)
			if !p.cur.unknown[name] {
				p.cur.unknown[name] = true
				p.warn(err)
			}
		}
		return
	}
	name := sp.name
	switch rl.kind {
	case kindUnfinished:
		p.pending[pid] = &pendingCall{name: name, body: append([]byte(nil), rl.body...)}
		return
	case kindResumed:
		pc, ok := p.pending[pid]
		if !ok || pc.name != name {
			return // its start was not seen (attach, filter) or was not needed
		}
		delete(p.pending, pid)
		body := append(pc.body, rl.body...)
		if pc.superseded {
			body = forceSuccess(body)
		}
		p.complete(pid, name, sp, body, nil)
	case kindPidChanged:
		// -ff: a thread's execve completed and the thread became the leader.
		body := append(append([]byte(nil), rl.body...), ") = 0"...)
		p.complete(rl.newPid, name, sp, body, nil)
	case kindCall:
		p.complete(pid, name, sp, rl.body, sl) // split by prepare
	}
}

// forceSuccess replaces the result of a call text with "= 0".
func forceSuccess(body []byte) []byte {
	var c call
	if err := splitArgs(body, &c, true); err != nil || c.ret == nil {
		return body
	}
	i := bytes.LastIndex(body, c.ret)
	if i < 0 {
		return body
	}
	return append(append([]byte(nil), body[:i]...), '0')
}

// proc returns the state of pid, creating it when the pid is new. A new
// pid whose parent's clone has not returned yet inherits from that parent.
func (p *Parser) proc(pid int) *proc {
	if pr, ok := p.procs[pid]; ok {
		p.last = pr
		return pr
	}
	parent := p.initial
	if len(p.procs) > 0 {
		parent = p.last
	}
	var flags []byte
	for ppid, pc := range p.pending {
		if specs[pc.name].kind == callClone {
			if pp, ok := p.procs[ppid]; ok {
				parent, flags = pp, pc.body
				break
			}
		}
	}
	pr := inherit(parent, flags)
	if pr.tgid == 0 {
		pr.tgid = pid
	}
	p.procs[pid] = pr
	p.last = pr
	return pr
}

// inherit makes a child's state: shared when the clone flags say so.
func inherit(parent *proc, flags []byte) *proc {
	child := &proc{exe: parent.exe, uid: parent.uid}
	f := cloneFlags(flags)
	// A thread's calls are its process's. clone3's flags are in a struct
	// strace cannot read in a process that dropped privileges (it prints
	// its address): pthread_create's clone3 is then taken for a thread,
	// and a posix_spawn child becomes a process of its own at its execve.
	if f&cloneThread != 0 || hasPrefix(flags, "0x") {
		child.tgid = parent.tgid
	}
	if f&cloneFS != 0 {
		child.fs = parent.fs
	} else {
		fs := *parent.fs
		child.fs = &fs
	}
	if f&cloneFiles != 0 {
		child.fds = parent.fds
	} else {
		child.fds = parent.fds.clone()
	}
	return child
}

// The clone flags inherit reads.
const (
	cloneThread = 1 << iota
	cloneFS
	cloneFiles
)

// cloneFlags finds CLONE_THREAD, CLONE_FS and CLONE_FILES in a clone's
// text, in one pass over it.
func cloneFlags(text []byte) (f int) {
	for {
		i := bytes.Index(text, []byte("CLONE_"))
		if i < 0 {
			return f
		}
		text = text[i+len("CLONE_"):]
		switch {
		case hasPrefix(text, "THREAD"):
			f |= cloneThread
		case hasPrefix(text, "FS"):
			f |= cloneFS
		case hasPrefix(text, "FILES"):
			f |= cloneFiles
		}
	}
}

func (p *Parser) complete(pid int, name string, sp *spec, body []byte, pre *split) {
	// p.call's array is reused by splitArgs: a split line's arguments
	// live in their batch and go in preCall, never in p.call.
	c := &p.call
	var facts facts
	var preCall call // on the stack: no write barriers
	if pre != nil {
		preCall = call{args: pre.args} // its result is in pre.facts
		c = &preCall
		if pre.argErr != nil {
			p.warn(errors.Wrapf(pre.argErr, "%s", name))
			return
		}
		facts = pre.facts
	} else {
		if err := splitArgs(body, c, true); err != nil {
			p.warn(errors.Wrapf(err, "%s", name))
			return
		}
		facts = factsOf(sp, c, p.strs)
	}
	res := facts.res
	pr := p.proc(pid)
	// -y: AT_FDCWD</cwd> is the true cwd at entry; fix any drift.
	if facts.cwd != nil && string(facts.cwd) != pr.fs.cwd {
		pr.fs.cwd = string(facts.cwd)
	}
	switch sp.kind {
	case callClone:
		if res.ok && res.fd.ok && res.fd.fd > 0 {
			child := res.fd.fd
			if _, exists := p.procs[child]; !exists {
				c := inherit(pr, body)
				if c.tgid == 0 {
					c.tgid = child
				}
				p.procs[child] = c
			}
		}
		return
	case callClose:
		if res.ok && len(c.args) > 0 {
			if f, _ := parseFD(c.args[0]); f.ok {
				pr.fds.del(f.fd)
			}
		}
		return
	case callDup:
		if res.ok && res.fd.ok && len(c.args) > 0 {
			if name == "fcntl" || name == "fcntl64" {
				if len(c.args) < 2 || !bytes.HasPrefix(c.args[1], []byte("F_DUPFD")) {
					return
				}
			}
			if f, _ := parseFD(c.args[0]); f.ok {
				if src, ok := pr.fds.get(f.fd); ok {
					pr.fds.set(res.fd.fd, src)
				} else if f.hasPath {
					pr.fds.set(res.fd.fd, p.str(f.path))
				}
			}
		}
		return
	case callUnshare:
		if res.ok && len(c.args) > 0 && bytes.Contains(c.args[0], []byte("CLONE_FS")) {
			fs := *pr.fs
			pr.fs = &fs
		}
		return
	case callSetuid:
		if res.ok {
			if uid := effectiveUID(name, c.args, pr.uid); uid != pr.uid {
				pr.uid = uid
				if p.opts.UIDChange != nil {
					p.opts.UIDChange(p.cur.name, pr.tgid, uid)
				}
			}
		}
		return
	}
	// (EFAULT: the kernel could not read it either, so no file was named)
	// (facts.path: the path was a quoted string, no address: only a
	// second path is left to look at)
	if p.opts.Unreadable != nil && res.errno != "EFAULT" && (facts.path == "" || sp.path2 >= 0) && unreadPath(sp, c.args) {
		p.opts.Unreadable(Unread{File: p.cur.name, Line: p.cur.line, Pid: pr.tgid, Syscall: name, Exe: pr.exe, UID: pr.uid})
		return
	}
	if !res.ok && !p.rules.failed && !p.rules.reportsFailed(sp) {
		return
	}
	ev := Event{File: p.cur.name, Line: p.cur.line, Pid: pid, Syscall: name, Op: sp.op, OK: res.ok, Errno: res.errno, Exe: pr.exe}
	switch {
	case sp.path >= 0:
		if sp.path >= len(c.args) {
			p.warn(errors.Errorf("%s: expected a path as argument %d, got %d arguments", name, sp.path+1, len(c.args)))
			return
		}
		pa, ok, err := p.pathArg(pr, c.args, sp.dirfd, sp.path, facts.path)
		if err != nil {
			p.warn(errors.Wrapf(err, "%s", name))
			return
		}
		if !ok {
			// "" with AT_EMPTY_PATH: the call is about an open fd.
			if sp.op == OpExec && sp.dirfd >= 0 {
				if f, _ := parseFD(c.args[sp.dirfd]); f.ok {
					if fp, ok := p.fdPath(pr, f); ok {
						ev.Path = fp
						break
					}
				}
			}
			return
		}
		ev.Path = pa
		if sp.path2 >= 0 && sp.path2 < len(c.args) {
			if pa2, ok, err := p.pathArg(pr, c.args, sp.dirfd2, sp.path2, ""); err == nil && ok {
				ev.Path2 = pa2
			}
		}
	case sp.fd >= 0:
		if sp.fd >= len(c.args) {
			return
		}
		f, err := parseFD(c.args[sp.fd])
		if err != nil || !f.ok {
			return
		}
		fp, ok := p.fdPath(pr, f)
		if !ok {
			return
		}
		ev.Path = fp
	default:
		return
	}
	classify(sp, &ev, facts.flags)
	if sp.open != notOpen {
		if res.ok && res.fd.ok && res.fd.fd >= 0 {
			if res.fd.hasPath {
				pr.fds.set(res.fd.fd, p.str(res.fd.path))
			} else {
				pr.fds.set(res.fd.fd, ev.Path)
			}
		}
	}
	if res.ok {
		switch sp.op {
		case OpExec:
			pr.exe, pr.tgid = ev.Path, pid
		case OpChdir:
			pr.fs.cwd = p.canonicalDir(ev.Path)
		case OpChroot:
			pr.fs.root = p.canonicalDir(ev.Path)
		}
	}
	p.emit(ev)
}

// effectiveUID is the effective uid after a successful setuid call
// (setuid(U), setreuid(R, E), setresuid(R, E, S); -1 keeps it).
func effectiveUID(name string, args [][]byte, uid int) int {
	i := 0
	if strings.HasPrefix(name, "setre") || strings.HasPrefix(name, "setres") {
		i = 1
	}
	if i >= len(args) {
		return uid
	}
	n, w := leadingInt(args[i])
	if w != len(args[i]) || w == 0 || n < 0 {
		return uid // -1 or unreadable
	}
	return n
}

// unreadPath reports whether strace printed an address where a path of
// the call belongs.
func unreadPath(sp *spec, args [][]byte) bool {
	for _, i := range [2]int{sp.path, sp.path2} {
		if i >= 0 && i < len(args) && isAddress(args[i]) {
			return true
		}
	}
	return false
}

// isAddress matches strace's way to print a pointer it could not
// follow: 0x and hex digits (NULL is printed as NULL).
func isAddress(a []byte) bool {
	if len(a) < 3 || a[0] != '0' || a[1] != 'x' {
		return false
	}
	for _, c := range a[2:] {
		if !isHex(c) {
			return false
		}
	}
	return true
}

// interner makes strings of bytes, one copy per distinct value: logs
// repeat the same paths, and memory grows with the distinct ones only.
type interner map[string]string

func (in interner) str(b []byte) string {
	if s, ok := in[string(b)]; ok {
		return s
	}
	if len(in) >= maxInterned {
		return string(b)
	}
	s := string(b)
	in[s] = s
	return s
}

func (p *Parser) str(b []byte) string { return p.strs.str(b) }

// maxInterned bounds the strings kept by str (about 100 bytes each).
const maxInterned = 1 << 20

// pathArg returns the absolute path named by args[pi] relative to the
// dirfd args[di] (di < 0: the cwd). ok is false for "", NULL and
// addresses. abs, when not "", is args[pi] already read: an absolute path.
func (p *Parser) pathArg(pr *proc, args [][]byte, di, pi int, abs string) (string, bool, error) {
	if abs != "" {
		if pr.fs.root != "/" {
			return pr.fs.root + abs, true, nil
		}
		return abs, true, nil
	}
	a := args[pi]
	if len(a) == 0 || a[0] != '"' {
		return "", false, nil // NULL, an address, or -e raw=all
	}
	raw, _, truncated, err := unquote(a)
	if err != nil {
		return "", false, errors.Wrapf(err, "path argument %d", pi+1)
	}
	if truncated {
		return "", false, errors.Errorf("path argument %d is truncated by strace (longer than 4095 bytes)", pi+1)
	}
	if len(raw) == 0 {
		return "", false, nil
	}
	if raw[0] == '/' {
		if pr.fs.root != "/" {
			return pr.fs.root + string(raw), true, nil
		}
		return p.str(raw), true, nil
	}
	s := string(raw)
	base := pr.fs.cwd
	if di >= 0 && di < len(args) {
		f, err := parseFD(args[di])
		if err != nil {
			return "", false, errors.Wrapf(err, "dirfd argument %d", di+1)
		}
		if f.ok && f.fd != atFDCWD {
			dir, ok := p.fdPath(pr, f)
			if !ok {
				return "", false, errors.Errorf("path %q is relative to fd %d, whose path is unknown (trace with -y)", s, f.fd)
			}
			base = dir
		} else if f.hasPath {
			base = p.str(f.path)
		}
	}
	return joinPath(base, s), true, nil
}

func (p *Parser) fdPath(pr *proc, f fdArg) (string, bool) {
	if f.hasPath {
		return p.str(f.path), true
	}
	if f.fd == atFDCWD {
		return pr.fs.cwd, true
	}
	return pr.fds.get(f.fd)
}

func (p *Parser) canonicalDir(dir string) string {
	if p.opts.Canonical != nil {
		return p.opts.Canonical(dir)
	}
	return path.Clean(dir)
}

func joinPath(dir, rel string) string {
	if strings.HasSuffix(dir, "/") {
		return dir + rel
	}
	return dir + "/" + rel
}

// openFlags reads O_ flags written symbolically (O_RDONLY|O_CLOEXEC), as
// numbers (-X raw, -X verbose), or inside openat2's struct ({flags=...}).
func openFlags(text []byte, inStruct bool) int {
	if inStruct {
		i := bytes.Index(text, []byte("flags="))
		if i < 0 {
			return 0
		}
		text = text[i+len("flags="):]
		if j := bytes.IndexAny(text, ",}"); j >= 0 {
			text = text[:j]
		}
	}
	return flagBits(text, openFlagNames)
}

// openFlagNames and atFlagNames give the bit of a flag name the parser
// reads, 0 for the others (a switch: every open has flags).
func openFlagNames(name []byte) int {
	switch string(name) {
	case "O_WRONLY":
		return oWRONLY
	case "O_RDWR":
		return oRDWR
	case "O_CREAT":
		return oCREAT
	case "O_EXCL":
		return oEXCL
	case "O_TRUNC":
		return oTRUNC
	case "O_DIRECTORY":
		return oDIRECTORY
	case "O_NOFOLLOW":
		return oNOFOLLOW
	case "O_PATH":
		return oPATH
	}
	return 0
}

func atFlagNames(name []byte) int {
	switch string(name) {
	case "AT_SYMLINK_NOFOLLOW":
		return atSymlinkNofollow
	case "AT_EMPTY_PATH":
		return atEmptyPath
	}
	return 0
}

// flagBits ORs the parts of a flags argument: names from the table and
// numbers in C syntax ("0x241", "0644"). strace -X raw may leave a part
// empty ("|0x100").
func flagBits(text []byte, names func([]byte) int) int {
	v := 0
	for len(text) > 0 {
		var part []byte
		if i := bytes.IndexByte(text, '|'); i >= 0 {
			part, text = text[:i], text[i+1:]
		} else {
			part, text = text, nil
		}
		part = trimSpace(part)
		if len(part) == 0 {
			continue
		}
		if isDigit(part[0]) {
			if len(part) == 1 { // "0", the usual AT_ flags: what ParseInt gives
				v |= int(part[0] - '0')
				continue
			}
			n, err := strconv.ParseInt(string(part), 0, 64)
			if err == nil {
				v |= int(n)
			}
			continue
		}
		v |= names(part)
	}
	return v
}
