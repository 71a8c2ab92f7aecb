package elfdeps

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func TestInspectRealFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(content), 0o755)
		return p
	}
	static := filepath.Join(dir, "static")
	build := exec.Command("go", "build", "-o", static, "./testdata/static")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building a static binary: %v\n%s", err, out)
	}
	tests := []struct {
		path string
		want Exe
	}{
		{"/bin/ls", Exe{Kind: ELF, Interp: "/lib64/ld-linux-x86-64.so.2"}},
		{"/usr/lib/x86_64-linux-gnu/libc.so.6", Exe{Kind: ELF, Interp: "/lib64/ld-linux-x86-64.so.2"}},
		{static, Exe{Kind: ELF}},
		{write("env.py", "#!/usr/bin/env python3\nprint(1)\n"), Exe{Kind: Script, Interp: "/usr/bin/env", Arg: "python3"}},
		{write("sh", "#! /bin/sh -e\r\necho\n"), Exe{Kind: Script, Interp: "/bin/sh", Arg: "-e"}},
		{write("args", "#!/usr/bin/awk -f  x y \n"), Exe{Kind: Script, Interp: "/usr/bin/awk", Arg: "-f  x y"}},
		{write("text", "hello\n"), Exe{}},
		{write("empty", ""), Exe{}},
	}
	for _, tt := range tests {
		got, err := Inspect(tt.path)
		if err != nil || got != tt.want {
			t.Errorf("Inspect(%s) = %+v, %v; want %+v", tt.path, got, err, tt.want)
		}
	}
	if _, err := Inspect(write("bad", "#!\n")); err == nil {
		t.Error("an empty #! line was accepted")
	}
	if _, err := Inspect(write("trunc", "\x7fELF\x02\x01\x01")); err == nil {
		t.Error("a truncated ELF header was accepted")
	}
	if _, err := Inspect(filepath.Join(dir, "absent")); err == nil {
		t.Error("a missing file was accepted")
	}
}
