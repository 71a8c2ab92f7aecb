package ptrace

import (
	"bytes"
	"os"
	"path"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// FuzzResolveAt: an absolute path is taken inside the root, a relative
// one below its base, and the result means what the kernel reads:
// cleaned, it is the cleaned join.
func FuzzResolveAt(f *testing.F) {
	f.Add("/", "/home/u", "a/../b")
	f.Add("/srv/root", "/srv/root/etc", "/etc/passwd")
	f.Add("/srv/root/", "/", "")
	f.Add("/", "pipe:[123]", "x")
	f.Add("", "/d/", "./x//y")
	f.Fuzz(func(t *testing.T, root, base, p string) {
		got := ResolveAt(root, base, p)
		switch {
		case p == "":
			if got != "" {
				t.Fatalf("empty path gave %q", got)
			}
		case p[0] == '/':
			r := strings.TrimSuffix(root, "/")
			if got != r+p {
				t.Fatalf("ResolveAt(%q, %q, %q) = %q, want the path inside the root", root, base, p, got)
			}
		case base == "" || base[0] != '/':
			if got != "" {
				t.Fatalf("no base directory, got %q", got)
			}
		default:
			if !strings.HasPrefix(got, base) || path.Clean(got) != path.Clean(base+"/"+p) {
				t.Fatalf("ResolveAt(%q, %q, %q) = %q", root, base, p, got)
			}
		}
	})
}

// FuzzReadString: a path argument is read up to its NUL, across the end
// of a page, and stops at an unmapped page.
func FuzzReadString(f *testing.F) {
	f.Add([]byte("/etc/passwd\x00junk"), 0)
	f.Add([]byte("no nul at all"), 3)
	f.Add(bytes.Repeat([]byte("a"), 5000), 0)
	f.Add([]byte{0}, 1)
	page := int(pageSize)
	mem, err := unix.Mmap(-1, 0, 3*page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		f.Fatal(err)
	}
	if err := unix.Mprotect(mem[2*page:], unix.PROT_NONE); err != nil {
		f.Fatal(err)
	}
	var r reader
	f.Fuzz(func(t *testing.T, data []byte, gap int) {
		if len(data) > 2*page {
			data = data[:2*page]
		}
		gap = (gap%64 + 64) % 64
		start := max(0, 2*page-len(data)-gap)
		clear(mem[:2*page])
		copy(mem[start:], data)
		addr := uint64(uintptr(unsafe.Pointer(&mem[start])))
		got, fail := r.str(os.Getpid(), addr)
		want := data // ended by the zeroed gap, or by the unmapped page
		if i := bytes.IndexByte(data, 0); i >= 0 {
			want = data[:i]
		}
		if len(want) > maxPath {
			want = want[:maxPath]
		}
		if fail != readOK || got != string(want) {
			t.Fatalf("read %q (%v), want %q", got, fail, want)
		}
	})
}

// FuzzStatusField: the /proc status reader takes any text.
func FuzzStatusField(f *testing.F) {
	f.Add("Name:\tx\nTgid:\t12\nUid:\t0\t33\t33\t33\nTracerPid:\t7\n", "Uid:", 1)
	f.Fuzz(func(t *testing.T, status, key string, i int) {
		statusField(status, key, i%8)
		tracerPid(status)
	})
}
