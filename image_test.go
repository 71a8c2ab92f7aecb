package scratchpack

import (
	"github.com/scratchpack/scratchpack/internal/rootpath"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/scratchpack/scratchpack/filelist"
	"github.com/scratchpack/scratchpack/internal/testenv"
)

// TestPlatformOf: the image's platform comes from the command's ELF
// file, through "#!" interpreters (and /usr/bin/env NAME) to the program
// that runs.
func TestPlatformOf(t *testing.T) {
	testenv.Need(t, "/bin/sh", "/usr/bin/env", "python3")
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	l := &filelist.List{Root: "/"}
	for _, tt := range []struct {
		name string
		cmd  string
		err  string
	}{
		{name: "ELF", cmd: "/bin/sh"},
		{name: "#!/bin/sh", cmd: write("a.sh", "#!/bin/sh\necho hi\n")},
		{name: "#!/usr/bin/env python3", cmd: write("a.py", "#!/usr/bin/env python3\nprint(1)\n")},
		{name: "a script of a script", cmd: write("b.sh", "#!"+filepath.Join(dir, "a.sh")+"\n")},
		{name: "text", cmd: write("notes.txt", "just text\n"), err: "neither an ELF program nor a #! script"},
		{name: "env of nothing", cmd: write("c.sh", "#!/usr/bin/env no-such-interpreter-here\n"), err: "cannot find"},
		{name: "missing", cmd: filepath.Join(dir, "missing"), err: "missing"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := platformOf(l, []string{tt.cmd}, rootpath.PathOf(nil))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("platformOf(%s) = %v, %v; want an error with %q", tt.cmd, p, err, tt.err)
				}
				return
			}
			if err != nil || p.OS != "linux" || p.Architecture != runtime.GOARCH {
				t.Fatalf("platformOf(%s) = %v, %v; want linux/%s", tt.cmd, p, err, runtime.GOARCH)
			}
		})
	}
}
