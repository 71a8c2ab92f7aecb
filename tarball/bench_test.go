package tarball

import (
	"context"
	"io"
	"os"
	"path/filepath"
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
