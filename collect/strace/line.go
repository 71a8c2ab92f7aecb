package strace

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/pkg/errors"
)

// lineKind is the shape of one strace output line.
type lineKind uint8

const (
	kindCall       lineKind = iota // NAME(ARGS) = RET
	kindUnfinished                 // NAME(ARGS <unfinished ...>
	kindResumed                    // <... NAME resumed>REST
	kindSignal                     // --- SIGCHLD {...} ---
	kindExit                       // +++ exited with 0 +++, +++ killed by SIGKILL +++
	kindSuperseded                 // +++ superseded by execve in pid N +++
	kindInfo                       // [ Process PID=N runs in 32 bit mode. ], strace: ... messages
	kindPidChanged                 // NAME(ARGS <pid changed to N ...>  (-ff, thread execve)
)

// rawLine is one line split into its parts. Slices point into the line
// buffer and are valid until the next line is read.
type rawLine struct {
	pid    int // -1 when the line has no pid prefix
	kind   lineKind
	name   []byte // syscall name (calls, unfinished, resumed)
	body   []byte // after "NAME(" for calls; after "resumed>" for resumed lines
	newPid int    // superseded / pid changed
}

var (
	unfinishedSuffix = []byte("<unfinished ...>")
	resumedMarker    = []byte(" resumed>")
	pidChangedPrefix = []byte("<pid changed to ")
	attachedPrefix   = []byte("strace: Process ")
)

// splitLine parses the prefix (pid, timestamps) and classifies the body.
func splitLine(line []byte) (rawLine, error) {
	var rl rawLine
	if splitCall(line, &rl) {
		return rl, nil
	}
	return splitAny(line)
}

// splitAny is splitLine for every shape.
func splitAny(line []byte) (rawLine, error) {
	rl := rawLine{pid: -1}
	s := trimLeftSpace(line)
	// stderr format: [pid 123] ...
	if bytes.HasPrefix(s, []byte("[pid ")) {
		end := bytes.IndexByte(s, ']')
		if end < 0 {
			return rl, errors.New("unterminated [pid N] prefix")
		}
		pid, err := atoi(bytes.TrimSpace(s[5:end]))
		if err != nil {
			return rl, errors.Errorf("bad pid in %q", s[:end+1])
		}
		rl.pid = pid
		s = trimLeftSpace(s[end+1:])
	} else if len(s) > 0 && isDigit(s[0]) {
		j := 0
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		switch {
		case j < len(s) && s[j] == '<': // -Y: 123<comm>
			pid, _ := atoi(s[:j])
			end := bytes.IndexByte(s[j:], '>')
			if end < 0 {
				return rl, errors.New("unterminated -Y <comm> after the pid")
			}
			rl.pid = pid
			s = trimLeftSpace(s[j+end+1:])
		case j < len(s) && s[j] == ' ':
			pid, w := leadingInt(s[:j])
			if w != j {
				return rl, errors.Errorf("bad pid %q", s[:j])
			}
			rl.pid = pid
			s = trimLeftSpace(s[j:])
		}
		// otherwise it is a timestamp of a log without -f: handled below.
	}
	// Timestamps: -t, -tt, -ttt, -r, --absolute-timestamps: a token of
	// digits, ':' and '.', then with -tt -r a "(+ 0.000407)" group.
	if len(s) > 0 && isDigit(s[0]) {
		j := 0
		for j < len(s) && (isDigit(s[j]) || s[j] == ':' || s[j] == '.') {
			j++
		}
		if j == len(s) || s[j] != ' ' {
			return rl, errors.Errorf("expected a timestamp then a space, got %q", clip(s))
		}
		s = trimLeftSpace(s[j:])
	}
	if bytes.HasPrefix(s, []byte("(+")) {
		end := bytes.IndexByte(s, ')')
		if end < 0 {
			return rl, errors.New("unterminated (+ relative timestamp)")
		}
		s = trimLeftSpace(s[end+1:])
	}
	s = trimDuration(s)
	if len(s) == 0 {
		return rl, errors.New("empty line after the prefix")
	}
	switch {
	case bytes.HasPrefix(s, []byte("+++ ")):
		if i := bytes.Index(s, []byte("superseded by execve in pid ")); i >= 0 {
			rest := s[i+len("superseded by execve in pid "):]
			n, _ := leadingInt(rest)
			rl.kind, rl.newPid = kindSuperseded, n
			return rl, nil
		}
		rl.kind = kindExit
		return rl, nil
	case bytes.HasPrefix(s, []byte("--- ")):
		rl.kind = kindSignal
		return rl, nil
	case bytes.HasPrefix(s, []byte("[ ")), bytes.HasPrefix(s, []byte("strace: ")),
		bytes.HasPrefix(s, []byte("<detached")):
		rl.kind = kindInfo
		return rl, nil
	case bytes.HasPrefix(s, []byte("<... ")):
		end := bytes.Index(s, resumedMarker)
		if end < len("<... ") {
			return rl, errors.Errorf("expected '<... NAME resumed>', got %q", clip(s))
		}
		rl.kind = kindResumed
		rl.name = s[5:end]
		rl.body = s[end+len(resumedMarker):]
		return rl, nil
	}
	open := bytes.IndexByte(s, '(')
	if open <= 0 {
		return rl, errors.Errorf("expected 'NAME(ARGS) = RESULT', got %q", clip(s))
	}
	name := s[:open]
	for _, c := range name {
		if !nameByte[c] {
			return rl, errors.Errorf("expected a syscall name before '(', got %q", clip(name))
		}
	}
	rl.name, rl.body = name, s[open+1:]
	classifyCall(&rl)
	return rl, nil
}

// splitCall is splitLine for the shape of most lines of a -f log,
// "PID NAME(...", read in one pass; it gives up (false) on any other.
// It fills rl only when it takes the line.
func splitCall(line []byte, rl *rawLine) bool {
	_, _, ok := splitCallName(line, rl)
	return ok
}

// splitCallName is splitCall, and lookupName of the name it takes: a
// name found there is a syscall's, so its bytes need no check.
func splitCallName(line []byte, rl *rawLine) (sp *spec, listed, ok bool) {
	n := leadingDigits(line)
	if n == 0 || n+1 >= len(line) || line[n] != ' ' || line[n+1] < 'a' || line[n+1] > 'z' {
		return nil, false, false
	}
	rest := line[n+1:]
	open := bytes.IndexByte(rest, '(')
	if open < 0 {
		return nil, false, false
	}
	name := rest[:open]
	if sp, listed = lookupName(name); !listed {
		for _, c := range name {
			if !nameByte[c] {
				return nil, false, false
			}
		}
	}
	rl.pid, rl.name, rl.body, rl.newPid = digitsValue(line, n), name, trimDuration(rest[open+1:]), 0
	classifyCall(rl)
	return sp, listed, true
}

// digitsValue is the value of s[:n], n digits (1 to 9); up to 8 of them
// are read as one word, combined in pairs, then fours, then eights.
func digitsValue(s []byte, n int) int {
	if n > 8 || len(s) < 8 {
		v := 0
		for _, c := range s[:n] {
			v = v*10 + int(c-'0')
		}
		return v
	}
	// the digits to the top bytes, zeros (leading zeros) below them
	v := binary.LittleEndian.Uint64(s) << (8 * (8 - n)) & 0x0f0f0f0f0f0f0f0f
	v = v * (1 + 10<<8) >> 8 & 0x00ff00ff00ff00ff
	v = v * (1 + 100<<16) >> 16 & 0x0000ffff0000ffff
	v = v * (1 + 10000<<32) >> 32
	return int(v)
}

// leadingDigits counts the decimal digits that start s, up to 9 (a pid
// has at most 7). It tests the first 8 bytes at once.
func leadingDigits(s []byte) int {
	if len(s) < 8 {
		n := 0
		for n < len(s) && isDigit(s[n]) {
			n++
		}
		return n
	}
	const high = 0x8080808080808080
	v := binary.LittleEndian.Uint64(s)
	y := v & 0x7f7f7f7f7f7f7f7f        // no carry crosses a byte below
	atLeast0 := y + 0x5050505050505050 // top bit set where y >= '0'
	above9 := y + 0x4646464646464646   // top bit set where y > '9'
	if other := ^(atLeast0 &^ above9 &^ v) & high; other != 0 {
		return bits.TrailingZeros64(other) / 8
	}
	if len(s) > 8 && isDigit(s[8]) {
		return 9
	}
	return 8
}

// nameByte marks the bytes of a syscall name.
var nameByte = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	t['_'], t['?'] = true, true
	return
}()

// classifyCall tells a complete call from an unfinished one, and from a
// thread's execve whose pid changed, by the end of its body.
func classifyCall(rl *rawLine) {
	switch {
	case len(rl.body) == 0 || rl.body[len(rl.body)-1] != '>':
		rl.kind = kindCall
	case bytes.HasSuffix(rl.body, unfinishedSuffix):
		rl.kind = kindUnfinished
		rl.body = rl.body[:len(rl.body)-len(unfinishedSuffix)]
	case bytes.HasSuffix(rl.body, []byte(" ...>")) && bytes.Contains(rl.body, pidChangedPrefix):
		i := bytes.LastIndex(rl.body, pidChangedPrefix)
		n, _ := leadingInt(rl.body[i+len(pidChangedPrefix):])
		rl.kind, rl.newPid = kindPidChanged, n
		rl.body = rl.body[:i]
	default:
		rl.kind = kindCall
	}
}

// trimDuration removes a trailing -T duration " <0.000021>". It reads
// backwards from the end: -y lines end with '>' too ("= 3</etc/x>").
func trimDuration(s []byte) []byte {
	if len(s) < 4 || s[len(s)-1] != '>' {
		return s
	}
	i := len(s) - 2
	for i >= 0 && (isDigit(s[i]) || s[i] == '.') {
		i--
	}
	if i == len(s)-2 || i < 1 || s[i] != '<' || s[i-1] != ' ' {
		return s
	}
	return s[:i-1]
}

// call is a syscall with its arguments split at depth-0 commas.
type call struct {
	args [][]byte // raw argument texts, comments removed, trimmed
	ret  []byte   // text after "= ", trimmed; nil when absent
	// fdcwd is set when an argument may be AT_FDCWD<path> (-y): a '<'
	// after a 'D' was seen. Without it, factsOf need not look for one.
	fdcwd bool
	// plain has bit i set when args[i] is known to be a whole string
	// without escapes (quickArgs saw it): its text is between the quotes.
	plain uint64
}

// splitArgs tokenizes the text after "NAME(" up to the matching ')', and
// the "= RESULT" after it. It tracks strings (with escapes), nesting of
// ( [ {, /* comments */, and <decorations> after fds and AT_FDCWD, which
// may nest with -yy.
func splitArgs(body []byte, c *call, complete bool) error {
	if quickArgs(body, c) {
		return nil
	}
	return splitArgsGeneral(body, c, complete)
}

// splitArgsGeneral is splitArgs for every body.
func splitArgsGeneral(body []byte, c *call, complete bool) error {
	c.args = c.args[:0]
	c.ret = nil
	c.fdcwd = false
	c.plain = 0
	depth := 0
	start := 0
	var arg []byte // the current argument, only when a comment was removed
	cut := false
	i := 0
	flush := func(end int) {
		var a []byte
		if cut {
			a = append(arg, body[start:end]...)
		} else {
			a = body[start:end]
		}
		c.args = append(c.args, trimSpace(a))
		arg, cut = nil, false
	}
	for {
		for i < len(body) && !argSpecial[body[i]] {
			i++
		}
		if i >= len(body) {
			break
		}
		ch := body[i]
		switch ch {
		case '"':
			n, err := skipString(body[i:])
			if err != nil {
				return errors.Wrapf(err, "argument %d", len(c.args)+1)
			}
			i += n
			if hasPrefix(body[i:], "...") {
				i += 3
			}
			continue
		case '/':
			if i+1 < len(body) && body[i+1] == '*' {
				end := bytes.Index(body[i+2:], []byte("*/"))
				if end < 0 {
					return errors.New("unterminated /* comment */")
				}
				arg = append(arg, body[start:i]...)
				cut = true
				i += 2 + end + 2
				start = i
				continue
			}
		case '<':
			if i > 0 && body[i-1] == 'D' {
				c.fdcwd = true
			}
			if angleOpens(body, i) {
				end, err := skipAngle(body, i)
				if err != nil {
					return err
				}
				i = end
				// a "(deleted)" marker may follow a decoration
				if bytes.HasPrefix(body[i:], []byte("(deleted)")) {
					i += len("(deleted)")
				}
				continue
			}
		case '(', '[', '{':
			depth++
		case ']', '}':
			depth--
		case ')':
			if depth == 0 {
				if i > start || len(c.args) > 0 || cut {
					flush(i)
				}
				rest := trimLeftSpace(body[i+1:])
				if len(rest) == 0 || rest[0] != '=' {
					if !complete {
						return nil
					}
					return errors.Errorf("expected '= RESULT' after ')', got %q", clip(rest))
				}
				c.ret = trimSpace(rest[1:])
				return nil
			}
			depth--
		case ',':
			if depth == 0 {
				flush(i)
				i++
				start = i
				continue
			}
		}
		i++
	}
	if complete {
		return errors.New("missing ')' closing the arguments: truncated line?")
	}
	if i > start || cut {
		flush(i)
	}
	return nil
}

// quickArgs is splitArgs for the usual body: arguments that are plain
// tokens (printable ASCII, no space, none of argSpecial's bytes), strings
// and flat {...} groups, each after ", ", then ") = RESULT". It fills c as
// splitArgs would and reports true; for any other body it reports false,
// and splitArgs reads it. Most calls of a log are of this shape, and
// splitArgs spent most of its time on the closure that cut an argument,
// the trimming and the dispatch on each comma and brace.
func quickArgs(body []byte, c *call) bool {
	args := c.args[:0]
	var plain uint64
	i := 0
	for i < len(body) {
		start := i
		switch body[i] {
		case '"':
			if j := bytes.IndexByte(body[i+1:], '"'); j >= 0 && bytes.IndexByte(body[i+1:i+1+j], '\\') < 0 {
				i += j + 2 // no escape: this quote ends it
				if !hasPrefix(body[i:], "...") {
					plain |= 1 << (len(args) & 63)
					break
				}
				i += 3
				break
			}
			n, err := skipString(body[i:])
			if err != nil {
				return false
			}
			i += n
			if hasPrefix(body[i:], "...") {
				i += 3
			}
		case '{':
			i++
			for i < len(body) && flatByte[body[i]] {
				i++
			}
			if i >= len(body) || body[i] != '}' {
				return false
			}
			i++
		default:
			for i < len(body) && tokenByte[body[i]] {
				i++
			}
			if i == start {
				return false
			}
		}
		args = append(args, body[start:i])
		if i+1 >= len(body) || body[i+1] != ' ' {
			return false
		}
		switch body[i] {
		case ',':
			i += 2
		case ')':
			if i+2 >= len(body) || body[i+2] != '=' {
				return false
			}
			if len(args) > 64 {
				plain = 0
			}
			c.args, c.ret, c.fdcwd, c.plain = args, trimSpace(body[i+3:]), false, plain
			return true
		default:
			return false
		}
	}
	return false
}

// tokenByte marks the bytes of a plain argument token for quickArgs, and
// flatByte those inside a flat {...} group: printable ASCII, less the
// bytes splitArgs acts on (and the space, in a token).
var tokenByte, flatByte = func() (tok, flat [256]bool) {
	for c := '!'; c <= '~'; c++ {
		tok[c], flat[c] = !argSpecial[c], !argSpecial[c]
	}
	flat[' '], flat[','] = true, true
	return
}()

// argSpecial marks the bytes splitArgs acts on; it skips the others.
var argSpecial = func() (t [256]bool) {
	for _, c := range []byte(`"/<([{]}),`) {
		t[c] = true
	}
	return
}()

// angleOpens reports whether the '<' at body[i] starts a decoration
// (after a digit, AT_FDCWD or a ')' such as "-100 /* AT_FDCWD */"), or a
// strace marker such as "<... resuming interrupted clock_nanosleep ...>".
func angleOpens(body []byte, i int) bool {
	if i == 0 {
		return bytes.HasPrefix(body[i:], []byte("<..."))
	}
	p := body[i-1]
	if isDigit(p) || p == 'D' && bytes.HasSuffix(body[:i], []byte("AT_FDCWD")) {
		return true
	}
	return bytes.HasPrefix(body[i:], []byte("<..."))
}

// skipAngle returns the index after the '>' matching the '<' at body[i].
func skipAngle(body []byte, i int) (int, error) {
	depth := 0
	for j := i; j < len(body); j++ {
		switch body[j] {
		case '\\':
			j++
		case '<':
			depth++
		case '>':
			depth--
			if depth == 0 {
				return j + 1, nil
			}
		}
	}
	return 0, errors.New("unterminated <decoration>")
}

// fdArg is a file descriptor argument or result, with its -y decoration.
type fdArg struct {
	fd      int // AT_FDCWD is atFDCWD
	path    []byte
	ok      bool // a number or AT_FDCWD was found
	hasPath bool // a <path> decoration was present and is a path
}

const atFDCWD = -100

// parseFD parses "3", "3</path>", "AT_FDCWD", "AT_FDCWD</cwd>", "-100".
func parseFD(a []byte) (fdArg, error) {
	var f fdArg
	rest := a
	switch {
	case hasPrefix(a, "AT_FDCWD"):
		f.fd, f.ok = atFDCWD, true
		rest = a[len("AT_FDCWD"):]
	default:
		n, w := leadingInt(a)
		if w == 0 {
			return f, nil
		}
		f.fd, f.ok = n, true
		rest = a[w:]
	}
	rest = trimLeftSpace(rest)
	if len(rest) > 0 && rest[0] == '<' {
		end, err := skipAngle(rest, 0)
		if err != nil {
			return f, err
		}
		inner := rest[1 : end-1]
		// -yy nests: 3</dev/null<char 1:3>>; keep the path part.
		if k := bytes.IndexByte(inner, '<'); k >= 0 {
			inner = inner[:k]
		}
		if len(inner) > 0 && inner[0] == '/' {
			p, err := unescapeDecoration(inner)
			if err != nil {
				return f, errors.Wrap(err, "fd decoration")
			}
			f.path, f.hasPath = p, true
		} else if bytes.HasPrefix(inner, []byte(`\x2f`)) { // -x hex-encodes decorations
			p, err := unescapeDecoration(inner)
			if err != nil {
				return f, errors.Wrap(err, "fd decoration")
			}
			f.path, f.hasPath = p, true
		}
	}
	return f, nil
}

// result is a parsed return value.
type result struct {
	errno string // "ENOENT", or "errno 38" when strace shows a number
	fd    fdArg  // the value as a number with its decoration
	ok    bool   // the call succeeded
	known bool   // the value is known (not "?")
}

func parseResult(ret []byte) result {
	var r result
	if len(ret) == 0 {
		return r
	}
	if ret[0] == '?' {
		return r
	}
	r.known = true
	if ret[0] == '-' {
		// -1 ENOENT (No such file or directory), -1 (errno 38)
		_, w := leadingInt(ret)
		rest := trimLeftSpace(ret[w:])
		if len(rest) > 0 && rest[0] == 'E' {
			end := 0
			for end < len(rest) && (rest[end] >= 'A' && rest[end] <= 'Z' || isDigit(rest[end]) || rest[end] == '_') {
				end++
			}
			r.errno = errnoName(rest[:end])
			return r
		}
		if bytes.HasPrefix(rest, []byte("(errno ")) {
			r.errno = string(bytes.TrimSuffix(rest[1:], []byte(")")))
			return r
		}
		// a negative value that is not an error (rare: lseek etc.)
		r.ok = true
		return r
	}
	r.ok = true
	if n, w := leadingInt(ret); w == len(ret) {
		r.fd = fdArg{fd: n, ok: true} // the usual "3" or "0": what parseFD makes of it
		return r
	}
	r.fd, _ = parseFD(ret)
	if n, ok := translatedPid(ret); ok {
		r.fd = fdArg{fd: n, ok: true}
	}
	return r
}

// pidnsNote ends a pid of another PID namespace that strace
// --pidns-translation gives in its own: "= 2 /* 18585 in strace's PID NS */"
// (a clone, fork or vfork of a process in a container, build --from).
const pidnsNote = " in strace's PID NS */"

// translatedPid returns the pid in strace's namespace that ret carries,
// if it does.
func translatedPid(ret []byte) (int, bool) {
	if len(ret) < len(pidnsNote) || ret[len(ret)-1] != '/' || !bytes.HasSuffix(ret, []byte(pidnsNote)) {
		return 0, false
	}
	head := ret[:len(ret)-len(pidnsNote)]
	i := bytes.LastIndex(head, []byte("/* "))
	if i < 0 {
		return 0, false
	}
	num := head[i+3:]
	n, w := leadingInt(num)
	if w == 0 || w != len(num) || n <= 0 {
		return 0, false
	}
	return n, true
}

// trimSpace is bytes.TrimSpace, quicker for the usual argument, which
// starts with a space after its comma and ends with a printable byte.
func trimSpace(s []byte) []byte {
	if len(s) > 1 && s[0] == ' ' {
		s = s[1:]
	}
	if len(s) > 0 && s[0] > ' ' && s[0] < 0x80 && s[len(s)-1] > ' ' && s[len(s)-1] < 0x80 {
		return s
	}
	return bytes.TrimSpace(s)
}

// hasPrefix is bytes.HasPrefix for a constant prefix: once inlined, the
// comparison is a few loads, not a call (hot paths only).
func hasPrefix(s []byte, prefix string) bool {
	return len(s) >= len(prefix) && string(s[:len(prefix)]) == prefix
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func trimLeftSpace(s []byte) []byte {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	return s
}

// leadingInt parses an optionally signed decimal integer at the start of s.
func leadingInt(s []byte) (int, int) {
	i := 0
	neg := false
	if i < len(s) && s[i] == '-' {
		neg = true
		i++
	}
	start := i
	n := 0
	for i < len(s) && isDigit(s[i]) && i-start < 18 {
		n = n*10 + int(s[i]-'0')
		i++
	}
	if i == start {
		return 0, 0
	}
	if neg {
		n = -n
	}
	return n, i
}

func atoi(s []byte) (int, error) {
	return strconv.Atoi(string(s))
}

// clip shortens text quoted in an error message.
func clip(s []byte) string {
	const max = 80
	if len(s) > max {
		return string(s[:max]) + "..."
	}
	return string(s)
}

// errnoNames holds the errno names seen (at most 512: Linux has about
// 140), so that each is allocated once.
var (
	errnoNames sync.Map
	errnoCount atomic.Int32
)

func errnoName(b []byte) string {
	if v, ok := errnoNames.Load(string(b)); ok {
		return v.(string)
	}
	s := string(b)
	if len(s) <= 16 && errnoCount.Add(1) <= 512 {
		errnoNames.Store(s, s)
	}
	return s
}
