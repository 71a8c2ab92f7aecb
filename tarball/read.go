package tarball

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"io"
	"os"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/pkg/errors"
)

// Reader is an open archive: tar entries, whatever the compression.
type Reader struct {
	*tar.Reader
	Compression Compression
	closers     []io.Closer
}

// Close releases the decompressor and the file.
func (r *Reader) Close() error {
	var first error
	for i := len(r.closers) - 1; i >= 0; i-- {
		if err := r.closers[i].Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// NewReader detects the compression (gzip, zstd or none) from the first
// bytes of r.
func NewReader(r io.Reader) (*Reader, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	head, _ := br.Peek(4)
	out := &Reader{}
	var src io.Reader = br
	switch {
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, errors.Wrap(err, "reading gzip header")
		}
		out.Compression, src = Gzip, zr
		out.closers = append(out.closers, zr)
	case bytes.HasPrefix(head, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(br)
		if err != nil {
			return nil, errors.Wrap(err, "reading zstd header")
		}
		out.Compression, src = Zstd, zr
		out.closers = append(out.closers, closerFunc(func() error { zr.Close(); return nil }))
	default:
		out.Compression = None
	}
	tb, ok := src.(*bufio.Reader)
	if !ok {
		tb = bufio.NewReaderSize(src, 64<<10)
	}
	if err := checkTar(tb, out.Compression); err != nil {
		out.Close()
		return nil, err
	}
	out.Reader = tar.NewReader(tb)
	return out, nil
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

// Open opens an archive file.
func Open(name string) (*Reader, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, errors.Wrap(err, "opening archive")
	}
	r, err := NewReader(f)
	if err != nil {
		f.Close()
		return nil, errors.WithMessage(err, name)
	}
	r.closers = append([]io.Closer{f}, r.closers...)
	return r, nil
}

// Walk calls fn for each entry of the archive, in order, with its clean
// name (see CleanName; the entry of the root itself is skipped) and its
// header; fn may read the entry's contents from r. An unsafe name, a
// broken archive, fn's error or the end of ctx stops the walk.
func Walk(ctx context.Context, r *Reader, fn func(name string, h *tar.Header) error) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		h, err := r.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return errors.Wrap(err, "reading the archive")
		}
		name, err := CleanName(h.Name)
		if err != nil {
			return err
		}
		if name == "" {
			continue
		}
		if err := fn(name, h); err != nil {
			return err
		}
	}
}
