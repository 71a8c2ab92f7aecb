package tarball

import (
	"io"
	"strings"

	"github.com/klauspost/compress/zstd"
	"github.com/pkg/errors"
)

// Compression of the archive.
type Compression string

// Compressions.
const (
	Gzip Compression = "gzip"
	Zstd Compression = "zstd"
	None Compression = "none"
)

// ParseCompression checks a --compression value.
func ParseCompression(s string) (Compression, error) {
	switch c := Compression(strings.ToLower(s)); c {
	case Gzip, Zstd, None:
		return c, nil
	case "gz":
		return Gzip, nil
	case "zst":
		return Zstd, nil
	}
	return "", errors.Errorf("compression %q: expected gzip, zstd or none", s)
}

// DefaultGzipLevel is the gzip level when none is given. Levels 4 to 9
// are our own encoder (deflate.go): level 5 searches 8 positions of a
// hash chain and comes within 0.1 % of gzip -6's size (0.996x on shared
// libraries, 1.001x on a mix with perl text), in less time than pigz -6
// on the same cores. Levels 1 to 3 are klauspost/compress's fast
// encoders.
const DefaultGzipLevel = 5

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

func compressor(w io.Writer, opts Options) (io.WriteCloser, error) {
	switch opts.Compression {
	case "", Gzip:
		level := opts.Level
		if level == 0 {
			level = DefaultGzipLevel
		}
		if level < 1 || level > 9 {
			return nil, errors.Errorf("gzip level %d: expected 1 to 9", level)
		}
		return newParallelGzip(w, level, 0)
	case Zstd:
		level := opts.Level
		if level == 0 {
			level = 3
		}
		if level < 1 || level > 22 {
			return nil, errors.Errorf("zstd level %d: expected 1 to 22", level)
		}
		// One encoder goroutine: the output must not depend on the cores.
		return zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.EncoderLevelFromZstd(level)),
			zstd.WithEncoderConcurrency(1), zstd.WithEncoderCRC(true))
	case None:
		if opts.Level != 0 {
			return nil, errors.New("--level has no meaning without compression")
		}
		return nopCloser{w}, nil
	}
	return nil, errors.Errorf("compression %q: expected gzip, zstd or none", opts.Compression)
}
