package tarball

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"

	"github.com/scratchpack/scratchpack/filelist"
	"github.com/scratchpack/scratchpack/internal/rootpath"
)

// BenchmarkWrite packs the shared libraries of this machine's
// /usr/lib/x86_64-linux-gnu (the first 64 MB of them) with each
// compression, and reports MB/s of input.
func BenchmarkWrite(b *testing.B) {
	res, err := rootpath.New("/")
	if err != nil {
		b.Fatal(err)
	}
	bl := filelist.NewBuilder(res)
	libs, _ := filepath.Glob("/usr/lib/x86_64-linux-gnu/*.so*")
	var total int64
	for _, l := range libs {
		if total > 64<<20 {
			break
		}
		if st, err := os.Lstat(l); err == nil && st.Mode().IsRegular() {
			total += st.Size()
		}
		bl.Add(l, filelist.NoFollow, filelist.Reason{Source: "bench"})
	}
	l := bl.List()
	for _, c := range []Compression{Gzip, Zstd, None} {
		b.Run(string(c), func(b *testing.B) {
			b.SetBytes(total)
			for i := 0; i < b.N; i++ {
				if _, err := Write(context.Background(), io.Discard, "/", l.Entries, Options{Compression: c}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// deflateCorpus reads regular files under the globs' matches, in order,
// until it has limit bytes: shared libraries, or text (perl modules).
func deflateCorpus(b *testing.B, limit int, globs ...string) []byte {
	var data []byte
	for _, g := range globs {
		matches, _ := filepath.Glob(g)
		for _, m := range matches {
			filepath.WalkDir(m, func(p string, de os.DirEntry, err error) error {
				if err != nil || len(data) >= limit || !de.Type().IsRegular() {
					return nil
				}
				f, err := os.ReadFile(p)
				if err == nil {
					data = append(data, f...)
				}
				return nil
			})
		}
	}
	if len(data) < limit/4 {
		b.Skipf("only %d bytes of %v here", len(data), globs)
	}
	return data[:min(len(data), limit)]
}

// BenchmarkDeflate compresses 8 MiB of shared libraries and 8 MiB of
// text in 1 MiB blocks on one goroutine, as one worker of the parallel
// gzip writer does, with each level; ratio is compressed/input.
func BenchmarkDeflate(b *testing.B) {
	inputs := []struct {
		name  string
		globs []string
	}{
		{"libs", []string{"/usr/lib/x86_64-linux-gnu/lib[cm]*.so*"}},
		{"text", []string{"/usr/lib/x86_64-linux-gnu/perl-base", "/usr/share/perl", "/usr/share/perl5"}},
	}
	for _, in := range inputs {
		data := deflateCorpus(b, 8<<20, in.globs...)
		for _, level := range []int{4, 5, 6, 7, 8, 9} {
			b.Run(fmt.Sprintf("%s/level%d", in.name, level), func(b *testing.B) {
				b.SetBytes(int64(len(data)))
				var d *deflater
				out := 0
				// the thread's CPU time too: on a shared machine the wall
				// time also counts the waits for a core
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				cpu0 := threadCPU()
				for i := 0; i < b.N; i++ {
					d, out = newDeflater(zlevels[level]), 0
					for off := 0; off < len(data); off += pgzipBlock {
						end := min(off+pgzipBlock, len(data))
						out += len(d.compress(nil, data[max(0, off-dictSize):off], data[off:end], end == len(data)))
					}
				}
				b.ReportMetric(float64(out)/float64(len(data)), "ratio")
				b.ReportMetric(float64(threadCPU()-cpu0)/float64(b.N), "cpu-ns/op")
			})
		}
	}
}

// threadCPU is the calling thread's user and system time in nanoseconds.
func threadCPU() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru) != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
