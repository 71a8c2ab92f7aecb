package strace

import (
	"bytes"
	"io"
)

// blockReader reads a log in large blocks straight into the arenas of
// batches. It cuts a block only after its last newline, so a batch holds
// whole lines, and leaves the cutting of the lines to the workers. A line
// that does not fit in an arena makes the arena grow, up to the bound of
// a line; a longer one is dropped here and its batch says so (tooLong).
type blockReader struct {
	r        io.Reader
	max      int
	block    int    // bytes of a block, unless a line needs more
	pending  []byte // read past the last newline: the start of the next batch
	eof      bool
	err      error
	skipping bool // inside a line longer than max: dropping to its newline
}

func newBlockReader(r io.Reader, max, block int) *blockReader {
	return &blockReader{r: r, max: max, block: block}
}

// fill reads the next block into b; it reports whether there was one.
func (br *blockReader) fill(b *batch) bool {
	b.arena = append(b.arena[:0], br.pending...)
	br.pending = br.pending[:0]
	size := br.block
	for {
		if br.skipping {
			if i := bytes.IndexByte(b.arena, '\n'); i >= 0 || br.eof || br.err != nil {
				if i >= 0 {
					br.pending = append(br.pending, b.arena[i+1:]...)
				}
				br.skipping = false
				b.arena = b.arena[:0]
				b.tooLong = true
				return true
			}
			b.arena = b.arena[:0] // a part of the long line: dropped
		} else if br.eof || br.err != nil {
			return len(b.arena) > 0
		} else if len(b.arena) >= size {
			if i := bytes.LastIndexByte(b.arena, '\n'); i >= 0 {
				br.pending = append(br.pending, b.arena[i+1:]...)
				b.arena = b.arena[:i+1]
				return true
			}
			// one line fills the arena: it is too long, or the arena grows
			if len(b.arena) > br.max {
				br.skipping = true
				continue
			}
			size = 2 * len(b.arena)
		}
		if cap(b.arena) < size {
			grown := make([]byte, len(b.arena), size)
			copy(grown, b.arena)
			b.arena = grown
		}
		n, err := br.r.Read(b.arena[len(b.arena):size])
		b.arena = b.arena[:len(b.arena)+n]
		if err == io.EOF {
			br.eof = true
		} else if err != nil {
			br.err = err
		}
	}
}

// cut splits the lines of a block and prepares them (on a worker). The
// lines up to the first one after which no part of a line is carried
// (see endLine) are left to the parser, which knows what the previous
// block carried: they are the head, usually one line. Only the lines the
// parser must see are kept (needed); the others are counted.
func (b *batch) cut(r *rules, max int, in interner) {
	data := b.arena
	checkNUL := bytes.IndexByte(data, 0) >= 0
	var carry []byte
	n := 0
	for len(data) > 0 {
		var line []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i+1], data[i+1:]
		} else {
			line, data = data, nil
		}
		n++
		if !b.headDone {
			b.headEnd += len(line)
			if clearsCarry(line, max) {
				b.headDone, b.headLines = true, n
			}
			continue
		}
		if len(line) > max {
			b.recs = append(b.recs, split{n: n, tooLong: true})
			continue
		}
		line, whole := endLine(&carry, line)
		if !whole {
			continue
		}
		// Most lines are calls, and most calls make no record: tell
		// them before making a split (264 bytes).
		// (This is prepare and finish, with the split made last.)
		var (
			rl     rawLine
			sp     *spec
			listed bool
			ok     bool
		)
		if !checkNUL {
			sp, listed, ok = splitCallName(line, &rl)
		}
		if ok {
			if sp == nil && listed || rl.kind == kindCall && sp != nil && r.quiet(sp, rl.body) {
				if r.count { // the parser counts it, and does nothing else
					b.recs = append(b.recs, split{n: n, rl: rl, sp: sp, listed: listed, known: sp != nil, quiet: true})
				} else {
					b.parsed++
				}
				continue
			}
			sl := b.next()
			sl.n, sl.rl, sl.sp, sl.listed, sl.known = n, rl, sp, listed, sp != nil
			sl.readArgs(&b.args, in)
			if !r.count && !sl.needed() {
				*sl = split{} // recs past its length stay zero (next)
				b.recs = b.recs[:len(b.recs)-1]
				b.parsed++
			}
			continue
		}
		sl := split{n: n}
		sl.prepare(line, &b.args, r, checkNUL, in)
		if sl.needed() || r.count && !sl.skip {
			b.recs = append(b.recs, sl)
		} else if !sl.skip {
			b.parsed++
		}
	}
	if !b.headDone {
		b.headLines = n
	}
	b.lines, b.carry = n, carry
}

// next appends a zero split to b.recs and returns it: made in place, not
// copied in (a split is 264 bytes).
func (b *batch) next() *split {
	if len(b.recs) == cap(b.recs) {
		b.recs = append(b.recs, split{})
	} else {
		b.recs = b.recs[:len(b.recs)+1] // zero: reset clears what was used
	}
	return &b.recs[len(b.recs)-1]
}

// clearsCarry reports whether no part of a line is carried after line,
// whatever was carried before it: it is not too long, and it does not
// end like an "attached" notice.
func clearsCarry(line []byte, max int) bool {
	if len(line) > max {
		return false
	}
	line = trimEOL(line)
	return len(line) > 0 && line[len(line)-1] != 'd'
}
