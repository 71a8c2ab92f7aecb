package strace

import (
	"bytes"
	"io"
)

// blockReader reads a log in large blocks straight into the arenas of
// batches and cuts the lines there, with the rules of lineReader: lines
// longer than max are reported (tooLong) and dropped, "\r\n" ends are
// trimmed, and a line cut by an "strace: Process N attached" notice is
// joined with its continuation. It saves lineReader's copy of each line.
type blockReader struct {
	r        io.Reader
	max      int
	pending  []byte // read past the last line cut: the start of the next batch
	carry    []byte // the part of a line before an attached notice
	eof      bool
	err      error
	n        int  // number of the last line cut
	skipping bool // inside a line longer than max: dropping to its newline
	long     int  // bytes of that line seen so far
}

func newBlockReader(r io.Reader, max int) *blockReader {
	return &blockReader{r: r, max: max}
}

// fill cuts lines into b until the batch is full or the input ends; it
// reports whether it added any.
func (br *blockReader) fill(b *batch) bool {
	b.arena = append(b.arena[:0], br.pending...)
	br.pending = br.pending[:0]
	pos := 0 // start of the first line not yet cut
	for {
		// Cut the complete lines in arena[pos:].
		for len(b.recs) < batchLines {
			i := bytes.IndexByte(b.arena[pos:], '\n')
			if i < 0 {
				break
			}
			br.line(b, b.arena[pos:pos+i+1])
			pos += i + 1
		}
		if len(b.recs) >= batchLines {
			br.pending = append(br.pending, b.arena[pos:]...)
			return true
		}
		if br.eof || br.err != nil {
			if pos < len(b.arena) {
				br.line(b, b.arena[pos:])
			} else if br.skipping {
				br.endLong(b)
			}
			return len(b.recs) > 0
		}
		if br.skipping && pos < len(b.arena) {
			// the part of a too long line read so far: dropped
			br.long += len(b.arena) - pos
			b.arena = b.arena[:pos]
		}
		if len(b.arena) == cap(b.arena) {
			if pos > 0 {
				// full: the partial line goes to the next batch
				br.pending = append(br.pending, b.arena[pos:]...)
				return true
			}
			// one line fills the arena: it is too long, or the arena grows
			if len(b.arena) > br.max {
				br.skipping, br.long = true, len(b.arena)
				b.arena = b.arena[:0]
			} else {
				grown := make([]byte, len(b.arena), 2*cap(b.arena))
				copy(grown, b.arena)
				b.arena = grown
			}
		}
		n, err := br.r.Read(b.arena[len(b.arena):cap(b.arena)])
		b.arena = b.arena[:len(b.arena)+n]
		if err == io.EOF {
			br.eof = true
		} else if err != nil {
			br.err = err
		}
	}
}

// line takes one line (with its newline, but the last one).
func (br *blockReader) line(b *batch, line []byte) {
	if br.skipping {
		br.long += len(line)
		if line[len(line)-1] == '\n' || br.eof {
			br.endLong(b)
		}
		return
	}
	br.n++
	if len(line) > br.max {
		b.recs = append(b.recs, split{n: br.n, tooLong: true})
		return
	}
	if line, ok := endLine(&br.carry, line); ok {
		b.recs = append(b.recs, split{n: br.n, line: line})
	}
}

// endLong reports the too long line just dropped.
func (br *blockReader) endLong(b *batch) {
	br.skipping, br.long = false, 0
	br.n++
	b.recs = append(b.recs, split{n: br.n, tooLong: true})
}
