package tarball

import (
	"bufio"
	"bytes"
	"io"
	"strconv"

	"github.com/pkg/errors"
)

// ErrNotArchive is a file that is neither a tar archive nor a gzip or
// zstd stream.
var ErrNotArchive = errors.New("not a tar, gzip or zstd archive")

// NotTarError is a gzip or zstd stream that does not hold a tar archive.
type NotTarError struct{ Compression Compression }

func (e *NotTarError) Error() string {
	return string(e.Compression) + "-compressed, but what it holds is not a tar archive"
}

// checkTar peeks at the first block of a tar stream: a header whose
// checksum is right, or the zero block that ends an empty archive.
func checkTar(br *bufio.Reader, comp Compression) error {
	block, err := br.Peek(blockSize)
	if len(block) == blockSize && validHeader(block) {
		return nil
	}
	switch {
	case err == nil, errors.Is(err, io.EOF):
	case errors.Is(err, io.ErrUnexpectedEOF) && comp != None:
		return errors.Wrapf(err, "reading the %s stream (is it cut short?)", comp)
	case !errors.Is(err, io.ErrUnexpectedEOF):
		return errors.Wrap(err, "reading the archive")
	}
	if comp == None {
		return ErrNotArchive
	}
	return &NotTarError{Compression: comp}
}

const blockSize = 512

// validHeader reports whether a 512-byte block is a tar header (its
// checksum matches, as an unsigned or an old signed sum) or all zeros.
func validHeader(b []byte) bool {
	field := b[148:156]
	if bytes.Count(b, []byte{0}) == blockSize {
		return true
	}
	s := string(bytes.Trim(field, " \x00"))
	if s == "" {
		return false
	}
	want, err := strconv.ParseInt(s, 8, 64)
	if err != nil {
		return false
	}
	var unsigned, signed int64
	for i, c := range b {
		if i >= 148 && i < 156 {
			c = ' '
		}
		unsigned += int64(c)
		signed += int64(int8(c))
	}
	return want == unsigned || want == signed
}
