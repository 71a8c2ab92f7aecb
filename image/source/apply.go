package source

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/pkg/errors"

	"github.com/scratchpack/scratchpack/internal/atomicfile"
	"github.com/scratchpack/scratchpack/tarball"
)

// pulls is how many layers are pulled at once.
const pulls = 3

// apply pulls the layers the cache lacks, then applies them in order
// into a temporary directory, checking each one's digests, and renames
// it to root.
func (op *opener) apply(ctx context.Context, res *resolved, root string, total int64) (*rootMeta, error) {
	op.prog.start(total, len(res.layers))
	if err := op.fetch(ctx, res); err != nil {
		return nil, err
	}
	tmp, err := op.cache.tempDir(root)
	if err != nil {
		return nil, err
	}
	renamed := false
	defer removeIfNotRenamed(tmp, &renamed)
	if err := os.Chmod(tmp, 0o755); err != nil {
		return nil, errors.Wrap(err, "creating the root")
	}
	a := tarball.NewApplier(tmp, tarball.ExtractOptions{Owners: os.Geteuid() == 0})
	for i, l := range res.layers {
		count := op.prog.add
		if l.fetch != nil {
			count = func(int64) {} // counted while pulling
		}
		if err := applyLayer(ctx, a, l, count); err != nil {
			return nil, errors.WithMessagef(err, "layer %d of %d (%s)", i+1, len(res.layers), layerName(l))
		}
		op.prog.layer(i + 1)
	}
	if err := a.Finish(); err != nil {
		return nil, err
	}
	size, err := rootSize(tmp)
	if err != nil {
		return nil, err
	}
	meta := &rootMeta{RootSize: size, Skipped: a.Skipped}
	data, _ := json.Marshal(meta)
	if err := atomicfile.WriteFile(root+".json", data, 0o600); err != nil {
		return nil, errors.WithMessage(err, "recording the root in the cache")
	}
	if err := os.Rename(tmp, root); err != nil {
		if st, serr := os.Stat(root); serr == nil && st.IsDir() {
			return meta, nil // another Open made it meanwhile
		}
		return nil, errors.Wrap(err, "putting the root in the cache")
	}
	renamed = true
	return meta, nil
}

func layerName(l layer) string {
	if l.digest.Hex != "" {
		return l.digest.String()
	}
	return "diff " + l.diffID.String()
}

// fetch pulls the registry's layers that the cache lacks, a few at once.
func (op *opener) fetch(ctx context.Context, res *resolved) error {
	if len(res.layers) == 0 || res.layers[0].fetch == nil {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var done atomic.Int64
	errs := make([]error, len(res.layers))
	sem := make(chan struct{}, pulls)
	var wg sync.WaitGroup
	for i, l := range res.layers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if ctx.Err() != nil {
				errs[i] = ctx.Err()
				return
			}
			if err := l.fetch(ctx, func(n int64) { done.Add(n) }); err != nil {
				errs[i] = errors.WithMessagef(err, "layer %d of %d", i+1, len(res.layers))
				cancel()
			}
		}()
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	tick := time.NewTicker(progressEvery)
	defer tick.Stop()
	for {
		select {
		case <-finished:
			op.prog.set(done.Load())
			for _, err := range errs {
				if err != nil && !errors.Is(err, context.Canceled) {
					return err
				}
			}
			for _, err := range errs {
				if err != nil {
					return err
				}
			}
			return nil
		case <-tick.C:
			op.prog.set(done.Load())
		}
	}
}

// applyLayer applies one layer, checking the digest of its stored bytes
// (when known) and of its tar (the diff ID): the root's cache key is made
// of diff IDs, which must therefore be true.
func applyLayer(ctx context.Context, a *tarball.Applier, l layer, count func(int64)) error {
	rc, err := l.open()
	if err != nil {
		return errors.Wrap(err, "reading the layer")
	}
	defer rc.Close()
	stored := sha256.New()
	in := io.TeeReader(io.TeeReader(rc, stored), countWriter(count))
	// A layer that does not match its digest may fail to decompress or
	// read as a tar first: the digest is the error to give then.
	changed := func() error {
		if l.digest.Hex == "" || ctx.Err() != nil {
			return nil
		}
		if _, err := io.Copy(io.Discard, in); err != nil || sameHash(stored, l.digest) {
			return nil
		}
		return errors.Errorf("its content does not match its digest: it is sha256:%x (the image is damaged or was changed)", stored.Sum(nil))
	}
	err = applyTar(ctx, a, in, l.diffID)
	if err != nil {
		if cerr := changed(); cerr != nil {
			return cerr
		}
		return err
	}
	if _, err := io.Copy(io.Discard, in); err != nil {
		return errors.Wrap(err, "reading the layer")
	}
	return changed()
}

// applyTar applies the layer's stored bytes in, checking its tar's
// digest against diffID.
func applyTar(ctx context.Context, a *tarball.Applier, in io.Reader, diffID v1.Hash) error {
	un, closeUn, err := decompress(in)
	if err != nil {
		return err
	}
	defer closeUn()
	diff := sha256.New()
	tarStream := io.TeeReader(un, diff)
	r, err := tarball.NewReader(tarStream)
	if err != nil {
		return errors.WithMessage(err, "reading the layer")
	}
	err = a.Apply(ctx, r)
	r.Close()
	if err != nil {
		return err
	}
	// the digests cover every byte, the tar's padding and what follows
	if _, err := io.Copy(io.Discard, tarStream); err != nil {
		return errors.Wrap(err, "reading the layer")
	}
	if !sameHash(diff, diffID) {
		return errors.Errorf("its tar does not match the config's diff ID %s: it is sha256:%x (the image is damaged or was changed)", diffID, diff.Sum(nil))
	}
	return nil
}

func sameHash(h hash.Hash, want v1.Hash) bool {
	return want.Algorithm == "sha256" && hexOf(h.Sum(nil)) == want.Hex
}

func hexOf(b []byte) string { return hex.EncodeToString(b) }

// decompress reads a gzip or zstd stream, or a plain tar, by its first
// bytes.
func decompress(r io.Reader) (io.Reader, func(), error) {
	br := bufio.NewReaderSize(r, 1<<20)
	head, _ := br.Peek(4)
	switch {
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, errors.Wrap(err, "reading the layer's gzip header")
		}
		return zr, func() { zr.Close() }, nil
	case bytes.HasPrefix(head, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(br)
		if err != nil {
			return nil, nil, errors.Wrap(err, "reading the layer's zstd header")
		}
		return zr, zr.Close, nil
	}
	return br, func() {}, nil
}

// rootSize is the bytes of the root's regular files, each inode once.
func rootSize(root string) (int64, error) {
	var total int64
	seen := map[uint64]bool{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok && st.Nlink > 1 {
			if seen[st.Ino] {
				return nil
			}
			seen[st.Ino] = true
		}
		total += info.Size()
		return nil
	})
	return total, errors.Wrap(err, "measuring the root")
}
