package tarball

import (
	"archive/tar"
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/pkg/errors"

	"github.com/scratchpack/scratchpack/filelist"
	"github.com/scratchpack/scratchpack/internal/atomicfile"
)

// Options for writing an archive.
type Options struct {
	Compression Compression // default gzip
	// Level: gzip 1-9 (default DefaultGzipLevel), zstd 1-22 (default 3).
	Level int
	// Epoch, when set, clamps every modification time to it
	// (SOURCE_DATE_EPOCH).
	Epoch *time.Time
	// Progress, when set, is called about every ProgressEvery and once
	// at the end with Done set.
	Progress      func(Progress)
	ProgressEvery time.Duration
	// Hash: Stats gets the sha256 of the archive and of its tar stream,
	// taken as they are written (an image layer's digest and diffID).
	Hash bool
	// Extractor, when set, also makes each entry in its directory tree as
	// it is written (pack's --output-dir): the archive and the tree come
	// from one read of each file. Its errors stop the write; the caller
	// then removes the tree, and calls Extractor.Finish after a write
	// that succeeded.
	Extractor *Extractor
}

// Stats of a finished write.
type Stats struct {
	Entries    int
	Files      int
	Bytes      int64 // bytes of file contents
	Compressed int64 // bytes written
	// Digest and DiffID (with Options.Hash): the sha256 of the bytes
	// written and of the uncompressed tar stream, in hex.
	Digest, DiffID string
}

// Write writes the entries (sorted, parents first, as in a filelist.List)
// as an archive to w. Files are read under root, a host directory.
func Write(ctx context.Context, w io.Writer, root string, entries []*filelist.Entry, opts Options) (Stats, error) {
	var st Stats
	cw := &countWriter{w: w}
	bw := bufio.NewWriterSize(cw, 1<<20)
	zw, err := compressor(bw, opts)
	if err != nil {
		return st, err
	}
	ok := false
	defer func() {
		if !ok {
			zw.Close() // stop the compressor's workers
		}
	}()
	var plain io.Writer = zw
	var inner hash.Hash
	if opts.Hash {
		cw.h = sha256.New()
		if opts.Compression != None {
			inner = sha256.New()
			plain = io.MultiWriter(zw, inner)
		}
	}
	tw := tar.NewWriter(plain)
	p := newProgress(entries, opts)
	buf := make([]byte, 1<<20)
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		n, err := writeEntry(tw, root, e, opts, buf)
		var ce *ChangedError
		if errors.As(err, &ce) && n > 0 {
			// The entry holds exactly the size its header announced: end
			// the stream properly so that what was written stays valid
			// tar, and report the file.
			if cerr := finish(tw, zw, bw); cerr != nil {
				return st, cerr
			}
			ok = true
			return st, err
		}
		if err != nil {
			return st, err
		}
		st.Entries++
		if e.Kind == filelist.File {
			st.Files++
			st.Bytes += n
		}
		p.add(e, n)
	}
	if err := finish(tw, zw, bw); err != nil {
		return st, err
	}
	ok = true
	st.Compressed = cw.n
	if opts.Hash {
		st.Digest = hex.EncodeToString(cw.h.Sum(nil))
		st.DiffID = st.Digest // uncompressed: the same stream
		if inner != nil {
			st.DiffID = hex.EncodeToString(inner.Sum(nil))
		}
	}
	p.done()
	return st, nil
}

func finish(tw *tar.Writer, zw io.WriteCloser, bw *bufio.Writer) error {
	if err := tw.Close(); err != nil {
		return errors.Wrap(err, "finishing the tar stream")
	}
	if err := zw.Close(); err != nil {
		return errors.Wrap(err, "finishing compression")
	}
	return errors.Wrap(bw.Flush(), "writing the archive")
}

// WriteFile writes the archive to target atomically: into a temporary
// file in the same directory, renamed over target only when complete.
func WriteFile(ctx context.Context, target, root string, entries []*filelist.Entry, opts Options) (Stats, error) {
	f, err := atomicfile.Create(target, 0o644)
	if err != nil {
		return Stats{}, err
	}
	defer f.Abort()
	st, err := Write(ctx, f, root, entries, opts)
	if err != nil {
		return st, errors.WithMessagef(err, "writing %s", target)
	}
	return st, f.Commit()
}

// ChangedError is a file that changed while it was being packed.
type ChangedError struct {
	Path string
	What string
}

func (e *ChangedError) Error() string {
	return e.Path + " changed while it was being packed (" + e.What + "); the archive was not written"
}

func writeEntry(tw *tar.Writer, root string, e *filelist.Entry, opts Options, buf []byte) (int64, error) {
	name := strings.TrimPrefix(e.Path, "/")
	if name == "" || strings.Contains("/"+name+"/", "/../") {
		return 0, errors.Errorf("refusing entry name %q", e.Path)
	}
	host := hostPath(root, e.Path)
	hdr := &tar.Header{
		Name:    name,
		Mode:    int64(e.Mode),
		Uid:     e.UID,
		Gid:     e.GID,
		ModTime: clamp(e.ModTime, opts.Epoch),
		Format:  tar.FormatPAX,
	}
	x := opts.Extractor
	switch e.Kind {
	case filelist.Dir:
		hdr.Typeflag = tar.TypeDir
		hdr.Name += "/"
		if e.Data != nil { // made by scratchpack: not under the root
			return 0, put(tw, x, hdr, nil)
		}
		if err := withFD(host, syscall.O_DIRECTORY, func(fd int) error {
			x, err := xattrs(fd)
			hdr.PAXRecords = x
			return err
		}); err != nil {
			return 0, errors.Wrapf(err, "reading directory %s", host)
		}
		return 0, put(tw, x, hdr, nil)
	case filelist.Symlink:
		hdr.Typeflag = tar.TypeSymlink
		hdr.Linkname = e.Target
		return 0, put(tw, x, hdr, nil)
	case filelist.Special:
		switch e.Type {
		case "fifo":
			hdr.Typeflag = tar.TypeFifo
		case "char":
			hdr.Typeflag = tar.TypeChar
		case "block":
			hdr.Typeflag = tar.TypeBlock
		default:
			return 0, errors.Errorf("%s: unknown special type %q", e.Path, e.Type)
		}
		hdr.Devmajor, hdr.Devminor = int64(e.Major), int64(e.Minor)
		return 0, put(tw, x, hdr, nil)
	case filelist.Hardlink:
		hdr.Typeflag = tar.TypeLink
		hdr.Linkname = strings.TrimPrefix(e.Target, "/")
		return 0, put(tw, x, hdr, nil)
	case filelist.File:
		if e.Data != nil {
			hdr.Typeflag = tar.TypeReg
			hdr.Size = int64(len(e.Data))
			var n int
			err := put(tw, x, hdr, func(w io.Writer) error {
				var err error
				n, err = w.Write(e.Data)
				return errors.Wrapf(err, "packing %s", e.Path)
			})
			return int64(n), err
		}
		return writeFile(tw, x, hdr, e, host, buf)
	}
	return 0, errors.Errorf("%s: unknown entry kind %q", e.Path, e.Kind)
}

func writeFile(tw *tar.Writer, x *Extractor, hdr *tar.Header, e *filelist.Entry, host string, buf []byte) (int64, error) {
	src := host
	if e.Content != "" {
		src = e.Content
	}
	f, err := os.OpenFile(src, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return 0, errors.Wrap(err, "opening file to pack")
	}
	defer f.Close()
	before, err := fstat(f)
	if err != nil {
		return 0, errors.Wrapf(err, "stat %s", src)
	}
	if before.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return 0, &ChangedError{Path: src, What: "it is no longer a regular file"}
	}
	hdr.Typeflag = tar.TypeReg
	hdr.Size = before.Size
	xa, err := xattrs(int(f.Fd()))
	if err != nil {
		return 0, errors.Wrapf(err, "reading extended attributes of %s", src)
	}
	hdr.PAXRecords = xa
	var n int64
	if err := put(tw, x, hdr, func(w io.Writer) error {
		var err error
		n, err = io.CopyBuffer(w, io.LimitReader(onlyReader{f}, before.Size), buf)
		return errors.Wrapf(err, "packing %s", src)
	}); err != nil {
		return n, err
	}
	if n != before.Size {
		return n, &ChangedError{Path: src, What: "it shrank"}
	}
	after, err := fstat(f)
	if err != nil {
		return n, errors.Wrapf(err, "stat %s", src)
	}
	if after.Size != before.Size || after.Mtim != before.Mtim {
		return n, &ChangedError{Path: src, What: "it was written to"}
	}
	return n, nil
}

// put writes hdr and, for a regular file, its contents (what contents
// writes to the writer it is given) to the archive and, with an
// extractor, makes the entry in the tree: the contents go to both in
// one pass.
func put(tw *tar.Writer, x *Extractor, hdr *tar.Header, contents func(io.Writer) error) error {
	if err := writeHeader(tw, hdr); err != nil {
		return err
	}
	if x == nil {
		if contents == nil {
			return nil
		}
		return contents(tw)
	}
	name, err := CleanName(hdr.Name)
	if err != nil {
		return errors.WithMessagef(err, "writing %s", x.Name)
	}
	var cerr error
	err = x.Entry(name, hdr, func(f io.Writer) error {
		if contents == nil {
			return nil
		}
		cerr = contents(io.MultiWriter(tw, namedWriter{f, x.Name}))
		return cerr
	})
	if err != nil && err != cerr {
		return errors.WithMessagef(err, "writing %s", x.Name)
	}
	return err
}

// namedWriter names the tree in its write errors.
type namedWriter struct {
	w    io.Writer
	name string
}

func (n namedWriter) Write(p []byte) (int, error) {
	k, err := n.w.Write(p)
	return k, errors.Wrapf(err, "writing %s", n.name)
}

// onlyReader hides os.File's WriterTo/ReaderFrom so that CopyBuffer
// uses our buffer and the limit holds.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

func writeHeader(tw *tar.Writer, hdr *tar.Header) error {
	if err := tw.WriteHeader(hdr); err != nil {
		return errors.Wrapf(err, "writing tar header for /%s", hdr.Name)
	}
	return nil
}

func withFD(path string, flags int, fn func(fd int) error) error {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC|flags, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	return fn(fd)
}

func fstat(f *os.File) (syscall.Stat_t, error) {
	var st syscall.Stat_t
	err := syscall.Fstat(int(f.Fd()), &st)
	return st, err
}

func hostPath(root, p string) string {
	if root == "" || root == "/" {
		return p
	}
	return strings.TrimRight(root, "/") + p
}

func clamp(t time.Time, epoch *time.Time) time.Time {
	t = t.Truncate(time.Second)
	if epoch != nil && t.After(*epoch) {
		t = *epoch
	}
	if t.Before(time.Unix(0, 0)) {
		t = time.Unix(0, 0)
	}
	return t.UTC()
}

// countWriter counts the bytes written and, with h, hashes them.
type countWriter struct {
	w io.Writer
	n int64
	h hash.Hash
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	if c.h != nil {
		c.h.Write(p[:n])
	}
	return n, err
}
