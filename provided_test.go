package scratchpack

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scratchpack/scratchpack/collect"
	"github.com/scratchpack/scratchpack/internal/sandbox"
)

// TestProvidedHostFiles: build --from runs the command with the host's
// /etc/hosts, resolv.conf and hostname, which the image often lacks (the
// builder image has no /etc/hosts); a server that resolves a name reads
// it. A runtime gives the result its own, so a use of one that the root
// lacks is left out without an error; one the root has is packed; any
// other missing path is still an error.
func TestProvidedHostFiles(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"etc/passwd", "etc/resolv.conf"} {
		if err := os.WriteFile(filepath.Join(root, f), []byte("x\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	uses := func(paths ...string) []collect.Use {
		var out []collect.Use
		for _, p := range paths {
			out = append(out, collect.Use{Path: p, Source: collect.SourceStrace, Where: "pid 1"})
		}
		return out
	}
	opts := ListOptions{Root: root, Uses: uses("/etc/passwd", "/etc/hosts", "/etc/resolv.conf", "/etc/hostname"), Provided: sandbox.HostFiles}
	l, err := List(context.Background(), opts)
	if err != nil {
		t.Fatalf("provided files missing from the root: %v", err)
	}
	for p, want := range map[string]bool{"/etc/passwd": true, "/etc/resolv.conf": true, "/etc/hosts": false, "/etc/hostname": false} {
		if got := l.Lookup(p) != nil; got != want {
			t.Errorf("%s in the list: %v, want %v", p, got, want)
		}
	}
	opts.Provided = nil
	if _, err := List(context.Background(), opts); err == nil || !strings.Contains(err.Error(), "/etc/hosts does not exist") {
		t.Errorf("without Provided, a missing /etc/hosts: %v", err)
	}
	opts.Provided = sandbox.HostFiles
	opts.Uses = uses("/etc/hosts", "/etc/missing")
	if _, err := List(context.Background(), opts); err == nil || !strings.Contains(err.Error(), "/etc/missing does not exist") {
		t.Errorf("another missing path: %v", err)
	}
}
