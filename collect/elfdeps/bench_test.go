package elfdeps

import (
	"testing"

	"github.com/scratchpack/scratchpack/internal/rootpath"
)

// BenchmarkResolveUsrBin resolves every ELF program in /usr/bin with a
// fresh resolver (each file and the cache parsed once per iteration).
func BenchmarkResolveUsrBin(b *testing.B) {
	files := elfFiles(b, "/usr/bin")
	res, _ := rootpath.New("/")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := NewResolver(res)
		res, _ = rootpath.New("/") // no lstat cache carried over
		for _, f := range files {
			if _, err := r.Resolve(f); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(len(files)), "files/op")
}

// BenchmarkLddUsrBin runs ldd on the same files, for comparison.
func BenchmarkLddUsrBin(b *testing.B) {
	files := elfFiles(b, "/usr/bin")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if len(lddSets(b, files)) < len(files)/2 {
			b.Fatal("ldd answered for too few files")
		}
	}
	b.ReportMetric(float64(len(files)), "files/op")
}
