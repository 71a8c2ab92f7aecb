package strace

import (
	"bytes"
	"io"
	"runtime"

	"github.com/pkg/errors"
)

// parseAt is Parse for a log that can be read at any offset (a regular
// file): the workers read the blocks themselves, each at a fixed offset,
// and cut the whole lines inside it, so the bytes they cut are those their
// core just copied, and no goroutine reads the whole log alone. A line
// across the edge of two blocks (the suffix of one and the prefix of the
// next) is joined by this goroutine, which applies the blocks in order.
// A block shorter than the others ends the log.
func (p *Parser) parseAt(r io.ReaderAt, name string, pid int) error {
	fs := p.begin(name)
	block := p.blockBytes()
	full := make(chan *batch, 2)
	todo := make(chan *batch, 2)
	stop := make(chan struct{}) // the last block was applied
	pool := make(batchPool, 16)
	go func() {
		defer close(full)
		defer close(todo)
		for off := int64(0); ; off += int64(block) {
			b := pool.get(0)
			b.off, b.ready = off, make(chan struct{})
			select {
			case full <- b:
			case <-stop:
				return
			}
			todo <- b // a worker takes it, even after stop
		}
	}()
	workers := min(runtime.GOMAXPROCS(0), 4)
	for range workers {
		go func() {
			in := interner{} // each worker's: no locks
			for b := range todo {
				b.readAt(r, block)
				if b.readErr == nil && b.prefix != nil {
					b.cut(p.rules, p.opts.MaxLineBytes, in)
				}
				close(b.ready)
			}
		}()
	}
	max := p.opts.MaxLineBytes
	var (
		carry   []byte // the part of a line before an "attached" notice
		part    []byte // a line begun in the blocks before, up to max bytes
		tooLong bool   // that line is longer than max
		lines   int    // lines applied
		readErr error
	)
	// take adds s to the line being read across blocks.
	take := func(s []byte) {
		if tooLong || len(part)+len(s) > max {
			tooLong, part = true, part[:0]
			return
		}
		part = append(part, s...)
	}
	// line applies the line read across blocks.
	line := func() {
		lines++
		if tooLong {
			p.apply(&split{n: lines, tooLong: true}, pid)
		} else {
			p.feedLine(&carry, part, lines, pid)
		}
		part, tooLong = part[:0], false
	}
	for b := range full {
		<-b.ready
		if b.readErr != nil {
			readErr = b.readErr
			break
		}
		if b.prefix == nil { // no newline: the middle of a line
			take(b.arena)
		} else {
			take(b.prefix)
			line()
			p.applyBatch(b, &carry, lines, pid)
			lines += b.lines
			take(b.suffix)
		}
		short := b.short
		pool.put(b)
		if short {
			break
		}
	}
	if len(part) > 0 || tooLong { // the last line has no newline
		line()
	}
	close(stop)
	for b := range full { // the blocks read past the end
		<-b.ready
	}
	if readErr != nil {
		return p.end(fs, lines, readErr)
	}
	if p.counter != nil {
		p.counter.calls.Lines += lines
	}
	return p.end(fs, lines, nil)
}

// readAt reads the block at b.off and splits it: prefix, the whole lines
// left to cut (b.arena), suffix. A block without a newline is all arena,
// with a nil prefix.
func (b *batch) readAt(r io.ReaderAt, block int) {
	if cap(b.buf) < block {
		b.buf = make([]byte, block)
	}
	n, err := r.ReadAt(b.buf[:block], b.off)
	data := b.buf[:n]
	if err != nil && err != io.EOF {
		b.readErr = errors.Wrapf(err, "at byte %d", b.off)
		return
	}
	b.short = n < block
	i := bytes.IndexByte(data, '\n')
	if i < 0 {
		b.arena = data
		return
	}
	j := bytes.LastIndexByte(data, '\n')
	b.prefix, b.arena, b.suffix = data[:i+1], data[i+1:j+1], data[j+1:]
}
