package image

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
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

// NewLayer is the rootfs archive at path, written by the tarball stage
// with compression c, as a layer: st are the stats of that write, made
// with tarball.Options.Hash, so the archive is not read back to hash it.
func NewLayer(path string, c tarball.Compression, st tarball.Stats) (*Layer, error) {
	l := &fileLayer{path: path, size: st.Compressed}
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
	if st.Digest == "" || st.DiffID == "" {
		return nil, errors.Errorf("layer %s: the archive was written without its hashes (tarball.Options.Hash)", path)
	}
	l.digest = v1.Hash{Algorithm: "sha256", Hex: st.Digest}
	l.diffID = v1.Hash{Algorithm: "sha256", Hex: st.DiffID}
	return &Layer{l}, nil
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
