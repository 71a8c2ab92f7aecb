package ldd

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func libs(bins []Binary) string {
	var parts []string
	for _, b := range bins {
		var ls []string
		for _, l := range b.Libs {
			ls = append(ls, l.Name+"="+l.Path)
		}
		s := b.Path + "[" + strings.Join(ls, " ") + "]"
		if b.Static {
			s += " static"
		}
		if b.NotDynamic {
			s += " notdynamic"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

func TestParseFiles(t *testing.T) {
	tests := []struct {
		file string
		want string
	}{
		{"glibc_single.ldd", "[librecode.so.0=/lib/x86_64-linux-gnu/librecode.so.0 libc.so.6=/lib/x86_64-linux-gnu/libc.so.6 /lib64/ld-linux-x86-64.so.2=/lib64/ld-linux-x86-64.so.2]"},
		{"glibc_multi.ldd", "/usr/games/fortune[librecode.so.0=/lib/x86_64-linux-gnu/librecode.so.0 libc.so.6=/lib/x86_64-linux-gnu/libc.so.6 /lib64/ld-linux-x86-64.so.2=/lib64/ld-linux-x86-64.so.2]; " +
			"/bin/ls[libselinux.so.1=/lib/x86_64-linux-gnu/libselinux.so.1 libc.so.6=/lib/x86_64-linux-gnu/libc.so.6 libpcre2-8.so.0=/lib/x86_64-linux-gnu/libpcre2-8.so.0 /lib64/ld-linux-x86-64.so.2=/lib64/ld-linux-x86-64.so.2]"},
		{"musl.ldd", "[/lib/ld-musl-x86_64.so.1=/lib/ld-musl-x86_64.so.1 libcurl.so.4=/usr/lib/libcurl.so.4 libc.musl-x86_64.so.1=/lib/ld-musl-x86_64.so.1]"},
		{"static.ldd", "[] static"},
		{"notdyn.ldd", "[] notdynamic"},
	}
	for _, tt := range tests {
		bins, err := ParseFile(filepath.Join("testdata", tt.file))
		if err != nil {
			t.Errorf("%s: %v", tt.file, err)
			continue
		}
		if got := libs(bins); got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.file, got, tt.want)
		}
	}
}

func TestNotFound(t *testing.T) {
	for _, tt := range []struct{ file, lib, bin string }{
		{"notfound.ldd", "libfoo.so.2", "/usr/bin/app"},
		{"musl_missing.ldd", "libfoo.so.2", "/usr/bin/app"},
	} {
		_, err := ParseFile(filepath.Join("testdata", tt.file))
		var nf *NotFoundError
		if !errors.As(err, &nf) || nf.Lib != tt.lib || nf.Binary != tt.bin || nf.Line == 0 {
			t.Errorf("%s: err = %v", tt.file, err)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, tt.file) || !strings.Contains(msg, tt.lib) || !strings.Contains(msg, tt.bin) {
			t.Errorf("%s: message %q does not name the file, library and binary", tt.file, msg)
		}
	}
}

func TestBadLines(t *testing.T) {
	tests := []struct{ in, want string }{
		{"hello world\n", "x.ldd:1: expected ldd output"},
		{"\tlibc.so.6 => relative/path (0x1)\n", "x.ldd:1"},
		{"\tlibc.so.6 => /lib/libc.so.6 (0xZZ)\n", "x.ldd:1"},
		{"\x00\x01\x02\n", "x.ldd:1"},
		{"", "empty ldd output"},
		{"ldd: ./x: No such file or directory\n", "ldd failed"},
		{strings.Repeat("a", MaxLineBytes+1) + "\n", "longer than"},
	}
	for _, tt := range tests {
		_, err := Parse(strings.NewReader(tt.in), "x.ldd")
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%.30q): err = %v, want %q", tt.in, err, tt.want)
		}
	}
}

// TestRealLdd parses ldd's answer for real programs of this machine.
func TestRealLdd(t *testing.T) {
	out, err := exec.Command("ldd", "/bin/ls", "/usr/bin/perl", "/bin/true").Output()
	if err != nil {
		t.Fatalf("ldd: %v", err)
	}
	bins, err := Parse(strings.NewReader(string(out)), "ldd")
	if err != nil {
		t.Fatal(err)
	}
	if len(bins) != 3 {
		t.Fatalf("%d binaries: %s", len(bins), libs(bins))
	}
	for _, b := range bins {
		var libc bool
		for _, l := range b.Libs {
			if l.Name == "libc.so.6" {
				libc = true
				if _, err := os.Stat(l.Path); err != nil {
					t.Errorf("%s: %v", b.Path, err)
				}
			}
		}
		if !libc {
			t.Errorf("%s: no libc.so.6 in %v", b.Path, b.Libs)
		}
	}
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.ldd")
	for _, file := range files {
		data, _ := os.ReadFile(file)
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		bins, _ := Parse(strings.NewReader(string(data)), "fuzz.ldd")
		for _, b := range bins {
			for _, l := range b.Libs {
				if !strings.HasPrefix(l.Path, "/") {
					t.Fatalf("library with a relative path: %+v", l)
				}
			}
		}
	})
}
