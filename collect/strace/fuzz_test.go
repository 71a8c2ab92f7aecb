package strace

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary logs to the parser: it must never panic, and
// every event it reports must name a path.
func FuzzParse(f *testing.F) {
	logs, _ := filepath.Glob(filepath.Join(samples, "*.log"))
	for _, l := range logs {
		data, err := os.ReadFile(l)
		if err != nil || len(data) > 64<<10 {
			continue
		}
		f.Add(data)
	}
	f.Add([]byte("1 openat(AT_FDCWD</a\\74b>, \"x\", O_RDONLY) = 3</a<b/x>\n"))
	f.Add([]byte("1 clone(child_stack=NULL, flags=CLONE_FS|SIGCHLD) = 2\n2 chdir(\"..\") = 0\n2 openat(AT_FDCWD, \"x\", 0x241) = 3\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := NewParser(Options{Cwd: "/cwd", Failed: true, MaxLineBytes: 4096, Warn: func(error) {}}, func(e Event) {
			if e.Path == "" {
				t.Fatalf("event without a path: %+v", e)
			}
		})
		_ = p.Parse(strings.NewReader(string(data)), "fuzz.log", -1)
	})
}

// FuzzUnquote: decoding never panics and never reads past the input.
func FuzzUnquote(f *testing.F) {
	for _, s := range []string{`"a\\b"`, `"\\0012"`, `"\\x2f"`, `"x"...`, `"\\777"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		out, n, _, err := unquote(data)
		if err == nil && (n > len(data) || len(out) > len(data)) {
			t.Fatalf("consumed %d of %d bytes, produced %d", n, len(data), len(out))
		}
	})
}
