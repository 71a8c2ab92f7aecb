package image

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/pkg/errors"

	"github.com/scratchpack/scratchpack/tarball"
)

// fileLayer is a rootfs archive on disk used as a layer as it is: its
// bytes are the blob, so the layer's digest is the archive's sha256.
type fileLayer struct {
	path           string
	digest, diffID v1.Hash
	size           int64
	mediaType      types.MediaType
}

// Layer is one image layer read from a rootfs archive file.
type Layer struct{ l *fileLayer }

// Digest is the sha256 of the compressed archive.
func (l *Layer) Digest() string { return l.l.digest.String() }

// DiffID is the sha256 of the uncompressed tar.
func (l *Layer) DiffID() string { return l.l.diffID.String() }

// Size is the archive's size in bytes.
func (l *Layer) Size() int64 { return l.l.size }

// MediaType is the OCI layer media type of its compression.
func (l *Layer) MediaType() string { return string(l.l.mediaType) }

// LayerFromFile reads a rootfs archive written by the tarball stage with
// compression c and hashes it, compressed and not.
func LayerFromFile(path string, c tarball.Compression) (*Layer, error) {
	l := &fileLayer{path: path}
	switch c {
	case "", tarball.Gzip:
		l.mediaType = types.OCILayer
	case tarball.Zstd:
		l.mediaType = types.OCILayerZStd
	case tarball.None:
		l.mediaType = types.OCIUncompressedLayer
	default:
		return nil, errors.Errorf("layer %s: unknown compression %q", path, c)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, errors.Wrap(err, "reading the layer")
	}
	defer f.Close()
	// One read: the compressed bytes are hashed as they are decompressed.
	outer := sha256.New()
	cr := &countReader{r: io.TeeReader(bufio.NewReaderSize(f, 1<<20), outer)}
	var plain io.Reader = cr
	switch c {
	case "", tarball.Gzip:
		zr, err := gzip.NewReader(cr)
		if err != nil {
			return nil, errors.Wrapf(err, "reading the layer %s as gzip", path)
		}
		zr.Multistream(false)
		plain = zr
	case tarball.Zstd:
		zr, err := zstd.NewReader(cr, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, errors.Wrapf(err, "reading the layer %s as zstd", path)
		}
		defer zr.Close()
		plain = zr
	}
	inner := sha256.New()
	if _, err := io.Copy(inner, plain); err != nil {
		return nil, errors.Wrapf(err, "reading the layer %s", path)
	}
	// Whatever follows the compressed stream is part of the blob too.
	if _, err := io.Copy(io.Discard, cr); err != nil {
		return nil, errors.Wrapf(err, "reading the layer %s", path)
	}
	l.size = cr.n
	l.digest = v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(outer.Sum(nil))}
	l.diffID = v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(inner.Sum(nil))}
	return &Layer{l}, nil
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// The partial.CompressedLayer methods (and DiffID).

func (l *fileLayer) Digest() (v1.Hash, error) { return l.digest, nil }
func (l *fileLayer) DiffID() (v1.Hash, error) { return l.diffID, nil }
func (l *fileLayer) Size() (int64, error)     { return l.size, nil }
func (l *fileLayer) MediaType() (types.MediaType, error) {
	return l.mediaType, nil
}

// Compressed opens the archive again, checking on the way that it did
// not change since it was hashed.
func (l *fileLayer) Compressed() (io.ReadCloser, error) {
	f, err := os.Open(l.path)
	if err != nil {
		return nil, errors.Wrap(err, "reading the layer")
	}
	return &checkedReader{f: f, h: sha256.New(), want: l.digest, path: l.path}, nil
}

type checkedReader struct {
	f *os.File
	h interface {
		Write([]byte) (int, error)
		Sum([]byte) []byte
	}
	want v1.Hash
	path string
}

func (c *checkedReader) Read(p []byte) (int, error) {
	n, err := c.f.Read(p)
	c.h.Write(p[:n])
	if err == io.EOF && hex.EncodeToString(c.h.Sum(nil)) != c.want.Hex {
		return n, errors.Errorf("the layer %s changed while the image was written", c.path)
	}
	return n, err
}

func (c *checkedReader) Close() error { return c.f.Close() }

func (l *fileLayer) layer() (v1.Layer, error) { return partial.CompressedToLayer(l) }
