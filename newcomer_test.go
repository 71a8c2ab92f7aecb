package scratchpack

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scratchpack/scratchpack/filelist"
)

// TestImagePath: the image's PATH keeps the directories of the command's
// PATH that the image holds, through its symlinks, in order, each once;
// nothing of the builder's other directories; the standard PATH when
// none is there.
func TestImagePath(t *testing.T) {
	l := &filelist.List{Root: "/", Entries: []*filelist.Entry{
		{Path: "/a", Kind: filelist.Dir},
		{Path: "/a/b", Kind: filelist.Dir},
		{Path: "/a/c", Kind: filelist.Dir},
		{Path: "/bin", Kind: filelist.Symlink, Target: "usr/bin"},
		{Path: "/l", Kind: filelist.Symlink, Target: "x/../c"},
		{Path: "/opt", Kind: filelist.Dir},
		{Path: "/opt/app", Kind: filelist.Dir},
		{Path: "/opt/app/bin", Kind: filelist.Symlink, Target: "../../usr/local/bin"},
		{Path: "/opt/loop", Kind: filelist.Symlink, Target: "/opt/loop"},
		{Path: "/usr", Kind: filelist.Dir},
		{Path: "/usr/bin", Kind: filelist.Dir},
		{Path: "/usr/bin/env", Kind: filelist.File},
		{Path: "/usr/local", Kind: filelist.Dir},
		{Path: "/usr/local/bin", Kind: filelist.Dir},
		{Path: "/x", Kind: filelist.Symlink, Target: "a/b"},
	}}
	tests := []struct {
		name string
		path []string
		want string
	}{
		{"builder tools left out", []string{"/usr/local/go/bin", "/root/go/bin", "/root/.cargo/bin", "/usr/bin", "/bin"}, "/usr/bin:/bin"},
		{"order kept, duplicates once", []string{"/bin", "/usr/bin/", "/bin", "/usr/local/bin"}, "/bin:/usr/bin:/usr/local/bin"},
		{"relative links", []string{"/opt/app/bin"}, "/opt/app/bin"},
		{"a .. in a link target, after the links before it", []string{"/l"}, "/l"}, // /x/.. is /a
		{"a file is not a directory", []string{"/usr/bin/env"}, StandardPath},
		{"a loop", []string{"/opt/loop"}, StandardPath},
		{"relative entries", []string{"", ".", "bin"}, StandardPath},
		{"none in the image", []string{"/root/.pyenv/shims"}, StandardPath},
		{"no PATH", nil, StandardPath},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ImagePath(l, tt.path); got != tt.want {
				t.Errorf("ImagePath(%q) = %q, want %q", tt.path, got, tt.want)
			}
		})
	}
}

// TestBuildDockerfilePath: build --dockerfile writes a PATH made of
// directories the image has, never the builder's PATH.
func TestBuildDockerfilePath(t *testing.T) {
	needTools(t, "strace", "tar")
	out := t.TempDir()
	builderOnly := []string{"/usr/local/go/bin", "/root/go/bin", "/opt/internal-tools/bin"}
	env := []string{"PATH=" + strings.Join(append(builderOnly, "/usr/local/bin", "/usr/bin", "/bin"), ":")}
	o := BuildOptions{Command: []string{"true"}, Env: env, Dir: "/"}
	o.Pack.Dockerfile = filepath.Join(out, "Dockerfile")
	o.Pack.Output = filepath.Join(out, "rootfs.tar.gz")
	root, _ := build(t, o)
	data, err := os.ReadFile(o.Pack.Dockerfile)
	if err != nil {
		t.Fatal(err)
	}
	var path string
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "ENV PATH="); ok {
			path = strings.Trim(v, `"`)
		}
	}
	if path == "" {
		t.Fatalf("no ENV PATH in the Dockerfile:\n%s", data)
	}
	for _, d := range builderOnly {
		if strings.Contains(path, d) {
			t.Errorf("ENV PATH=%s carries the builder's %s", path, d)
		}
	}
	if !strings.Contains(":"+path+":", ":/usr/bin:") {
		t.Errorf("ENV PATH=%s lacks /usr/bin, where true was found", path)
	}
	for _, d := range strings.Split(path, ":") {
		// inside the extracted image (Debian's links are relative)
		if st, err := os.Stat(filepath.Join(root, d)); err != nil || !st.IsDir() {
			t.Errorf("ENV PATH=%s: %s is not a directory of the image (%v)", path, d, err)
		}
	}
}

// TestBuildKeepsWorkdirInputs: run from a directory under /tmp (a
// default exclude), the working directory and the files named in the
// arguments are packed, and the image runs the command as the host does.
// A user's exclude that drops an input is warned about, with the flag
// that keeps it.
func TestBuildKeepsWorkdirInputs(t *testing.T) {
	needTools(t, "strace", "tar", "chroot")
	work, err := os.MkdirTemp("/tmp", "scratchpack-work-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(work)
	os.Chmod(work, 0o755)
	if err := os.WriteFile(filepath.Join(work, "in.json"), []byte("{\"a\": 1}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, "other.txt"), []byte("not used\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	o := BuildOptions{Command: []string{"cat", "in.json"}, Dir: work}
	o.Pack.Dockerfile = filepath.Join(t.TempDir(), "Dockerfile")
	o.Pack.Output = filepath.Join(filepath.Dir(o.Pack.Dockerfile), "rootfs.tar.gz")
	root, r := build(t, o)
	for _, p := range []string{work, work + "/in.json"} {
		if r.List.Lookup(p) == nil {
			t.Errorf("%s is not in the list: the default /tmp/** exclude took it", p)
		}
	}
	if r.List.Lookup(work+"/other.txt") != nil {
		t.Errorf("%s/other.txt is packed, but the command never used it", work)
	}
	if got, want := runIn(t, root, work, "/usr/bin/cat", "in.json"), host(t, work, "cat", "in.json"); got != want {
		t.Errorf("in the image: %q, on the host: %q", got, want)
	}
	df, _ := os.ReadFile(o.Pack.Dockerfile)
	if !strings.Contains(string(df), "WORKDIR "+work+"\n") {
		t.Errorf("Dockerfile without WORKDIR %s:\n%s", work, df)
	}

	// The user's own exclude wins, with a warning that names --include.
	var warns []string
	o.Paths.Excludes = []string{work + "/*.json"}
	o.Warn = func(err error) { warns = append(warns, err.Error()) }
	o.Env = cleanEnv
	o.Trace.Stdout = io.Discard
	o.Pack.Output = filepath.Join(t.TempDir(), "rootfs.tar.gz")
	o.Pack.Dockerfile = ""
	r, err = Build(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if r.List.Lookup(work+"/in.json") != nil {
		t.Errorf("--exclude %s/*.json did not leave in.json out", work)
	}
	want := work + "/in.json is named in the command's arguments, but --exclude " + work + "/*.json leaves it out: --include " + work + "/in.json keeps it"
	if !containsLine(warns, want) {
		t.Errorf("no warning %q; warnings:\n%s", want, strings.Join(warns, "\n"))
	}
}

func containsLine(lines []string, want string) bool {
	for _, l := range lines {
		if l == want {
			return true
		}
	}
	return false
}
