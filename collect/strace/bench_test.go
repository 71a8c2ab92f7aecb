package strace

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkParse parses a real python3 log (-f, %file,%process), repeated
// to about 8 MB, and reports MB/s.
func BenchmarkParse(b *testing.B) { benchParse(b, Options{Cwd: "/"}) }

// BenchmarkParseCountingUnread is BenchmarkParse as collect.FromStrace
// runs it: counting the calls with an address for a path (failed calls
// are then looked at once more before they are dropped).
func BenchmarkParseCountingUnread(b *testing.B) {
	benchParse(b, Options{Cwd: "/", Unreadable: func(u Unread) { b.Fatalf("an unread call in a log without any: %+v", u) }})
}

func benchParse(b *testing.B, opts Options) {
	one, err := os.ReadFile(filepath.Join(samples, "py_file_process.log"))
	if err != nil {
		b.Fatal(err)
	}
	data := bytes.Repeat(one, 20)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		n := 0
		p := NewParser(opts, func(Event) { n++ })
		if err := p.Parse(bytes.NewReader(data), "py.log", -1); err != nil {
			b.Fatal(err)
		}
		if n == 0 {
			b.Fatal("no events")
		}
	}
}
