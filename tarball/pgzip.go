package tarball

import (
	"encoding/binary"
	"hash/crc32"
	"io"
	"runtime"
	"sync"

	"github.com/klauspost/compress/flate"
	"github.com/pkg/errors"
)

// parallelGzip writes one gzip member whose deflate stream is made of
// fixed-size blocks compressed concurrently, each with the 32 KiB before
// it as a dictionary and ended by a sync flush (as pigz does). The block
// size is fixed, so the bytes do not depend on the number of workers.
// Levels 4 to 9 use our own encoder (deflate.go), 1 to 3
// klauspost/compress's fast encoders.
type parallelGzip struct {
	w         io.Writer
	level     int
	writers   sync.Pool      // *flate.Writer of this level
	deflaters chan *deflater // idle deflaters of this level (a sync.Pool loses them at each collection)
	outs      chan []byte    // output buffers the writer is done with
	block     int
	buf       []byte // the block being filled
	prev      []byte // the last 32 KiB of the previous block
	crc       uint32
	size      uint32
	results   chan chan result
	done      chan error
	sem       chan struct{}
	err       error
	closed    bool
}

type result struct {
	data []byte
	err  error
}

const (
	pgzipBlock = 1 << 20
	dictSize   = 32 << 10
)

var blockPool = sync.Pool{New: func() any { b := make([]byte, 0, pgzipBlock); return &b }}

func newParallelGzip(w io.Writer, level, workers int) (*parallelGzip, error) {
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	// gzip header: magic, deflate, no flags, mtime 0, no extra flags, OS unknown
	if _, err := w.Write([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}); err != nil {
		return nil, errors.Wrap(err, "writing the gzip header")
	}
	z := &parallelGzip{
		w:       w,
		level:   level,
		block:   pgzipBlock,
		results: make(chan chan result, workers),
		done:    make(chan error, 1),
		sem:     make(chan struct{}, workers),
		// at most workers compress at once: one deflater each
		deflaters: make(chan *deflater, workers),
		outs:      make(chan []byte, 2*workers+1),
	}
	z.buf = (*blockPool.Get().(*[]byte))[:0]
	go z.writer()
	return z, nil
}

// writer writes the compressed blocks in order.
func (z *parallelGzip) writer() {
	var err error
	for ch := range z.results {
		r := <-ch
		if err == nil {
			err = r.err
		}
		if err == nil {
			_, err = z.w.Write(r.data)
			if err != nil {
				err = errors.Wrap(err, "writing the archive")
			}
		}
		select {
		case z.outs <- r.data[:0]:
		default:
		}
	}
	z.done <- err
}

func (z *parallelGzip) Write(p []byte) (int, error) {
	if z.closed {
		// Close gave the block buffer back to the shared pool: a late
		// write would land in another archive's block.
		return 0, errors.New("gzip: write after close")
	}
	if z.err != nil {
		return 0, z.err
	}
	n := 0
	for len(p) > 0 {
		room := z.block - len(z.buf)
		take := min(room, len(p))
		z.buf = append(z.buf, p[:take]...)
		p = p[take:]
		n += take
		if len(z.buf) == z.block {
			z.flushBlock(false)
		}
	}
	return n, nil
}

func (z *parallelGzip) flushBlock(last bool) {
	data := z.buf
	z.crc = crc32.Update(z.crc, crc32.IEEETable, data)
	z.size += uint32(len(data))
	dict := z.prev
	if len(data) >= dictSize {
		z.prev = append([]byte(nil), data[len(data)-dictSize:]...)
	} else {
		z.prev = append(append([]byte(nil), z.prev...), data...)
		if len(z.prev) > dictSize {
			z.prev = z.prev[len(z.prev)-dictSize:]
		}
	}
	ch := make(chan result, 1)
	z.results <- ch
	z.sem <- struct{}{}
	go func() {
		defer func() { <-z.sem }()
		var out writerBuffer
		var err error
		if p, ok := zlevels[z.level]; ok {
			var d *deflater
			select {
			case d = <-z.deflaters:
			default:
				d = newDeflater(p)
			}
			var dst []byte
			select {
			case dst = <-z.outs:
			default:
			}
			out.b = d.compress(dst, dict, data, last)
			z.deflaters <- d
		} else {
			err = z.klauspost(&out, dict, data, last)
		}
		b := data[:0]
		blockPool.Put(&b)
		ch <- result{out.b, errors.Wrap(err, "compressing")}
	}()
	if !last {
		z.buf = (*blockPool.Get().(*[]byte))[:0]
	}
}

// klauspost compresses a block with klauspost/compress's flate.
func (z *parallelGzip) klauspost(out io.Writer, dict, data []byte, last bool) error {
	fw, err := z.compressor(out, dict)
	if err == nil {
		_, err = fw.Write(data)
	}
	if err == nil {
		if last {
			err = fw.Close()
		} else {
			err = fw.Flush()
		}
	}
	if err == nil {
		z.writers.Put(fw)
	}
	return err
}

// compressor returns a compressor from the pool, reset to write to out with
// dict as its history: making one allocates and clears several hundred
// KB of tables, once per block otherwise.
func (z *parallelGzip) compressor(out io.Writer, dict []byte) (*flate.Writer, error) {
	if fw, ok := z.writers.Get().(*flate.Writer); ok {
		fw.ResetDict(out, dict)
		return fw, nil
	}
	return flate.NewWriterDict(out, z.level, dict)
}

// Close compresses the last block and writes the gzip trailer.
func (z *parallelGzip) Close() error {
	if z.closed {
		return z.err
	}
	z.closed = true
	z.flushBlock(true)
	close(z.results)
	if err := <-z.done; err != nil {
		z.err = err
		return err
	}
	var trailer [8]byte
	binary.LittleEndian.PutUint32(trailer[0:], z.crc)
	binary.LittleEndian.PutUint32(trailer[4:], z.size)
	if _, err := z.w.Write(trailer[:]); err != nil {
		z.err = errors.Wrap(err, "writing the gzip trailer")
	}
	return z.err
}

type writerBuffer struct{ b []byte }

func (w *writerBuffer) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}
