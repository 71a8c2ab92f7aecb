package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/scratchpack/scratchpack/internal/testenv"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// need: the tools on PATH, and root (the tests chroot).
func need(t *testing.T, tools ...string) {
	t.Helper()
	testenv.Need(t, tools...)
	testenv.NeedRoot(t)
}

// run runs the CLI in-process and returns its exit code, stdout, stderr.
func run(t *testing.T, dir string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	wd, _ := os.Getwd()
	if dir != "" {
		if err := os.Chdir(dir); err != nil {
			t.Fatal(err)
		}
		defer os.Chdir(wd)
	}
	code := Main(args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func sh(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}

// extractAndRun unpacks the archive with the system's tar into an empty
// directory and runs the command there under chroot, with an empty
// environment: the honest test of a rootfs.
func extractAndRun(t *testing.T, archive string, cmd ...string) (string, error) {
	t.Helper()
	root := t.TempDir()
	sh(t, "", "tar", "-xzf", archive, "-C", root)
	c := exec.Command("chroot", append([]string{root}, cmd...)...)
	c.Env = []string{}
	out, err := c.CombinedOutput()
	return string(out), err
}

func tarList(t *testing.T, archive string) map[string]string {
	t.Helper()
	out := sh(t, "", "tar", "-tvzf", archive)
	m := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 {
			continue
		}
		name := f[5]
		m[name] = f[0][:1] // file type letter
	}
	return m
}

// TestFortuneRecipe is issue 2's recipe on the real fortune: strace,
// ldd, filelist, pack; the rootfs runs in an empty root and keeps
// lib64 and fortunes.u8 as symlinks.
func TestFortuneRecipe(t *testing.T) {
	need(t, "strace", "ldd", "tar", "chroot", "/usr/games/fortune")
	dir := t.TempDir()
	sh(t, dir, "strace", "-f", "-o", "app.strace", "/usr/games/fortune")
	ldd := sh(t, dir, "ldd", "/usr/games/fortune")
	os.WriteFile(filepath.Join(dir, "app.ldd"), []byte(ldd), 0o644)

	code, lst, stderr := run(t, dir, "filelist", "--strace", "app.strace", "--ldd", "app.ldd")
	if code != 0 {
		t.Fatalf("filelist: exit %d: %s", code, stderr)
	}
	os.WriteFile(filepath.Join(dir, "app.lst"), []byte(lst), 0o644)
	for _, want := range []string{"/usr/games/fortune", "/lib64", "/usr/share/games/fortunes/fortunes.u8", "/usr/lib/x86_64-linux-gnu/librecode.so.0"} {
		if !strings.Contains(lst, want+"\n") {
			t.Errorf("file list lacks %s", want)
		}
	}
	if strings.Contains(lst, "app.strace") || strings.Contains(lst, "/proc/") {
		t.Errorf("file list has the trace or /proc:\n%s", lst)
	}
	code, _, stderr = run(t, dir, "pack", "-o", "app.tar.gz", "--files", "app.lst")
	if code != 0 {
		t.Fatalf("pack: exit %d: %s", code, stderr)
	}
	archive := filepath.Join(dir, "app.tar.gz")
	entries := tarList(t, archive)
	for name, typ := range map[string]string{"lib64": "l", "lib": "l", "usr/share/games/fortunes/fortunes.u8": "l",
		"usr/share/games/fortunes/fortunes": "-", "usr/lib/x86_64-linux-gnu/libc.so.6": "-", "usr/games/fortune": "-"} {
		if entries[name] != typ {
			t.Errorf("%s: type %q in the tarball, want %q", name, entries[name], typ)
		}
	}
	out, err := extractAndRun(t, archive, "/usr/games/fortune")
	if err != nil || len(strings.TrimSpace(out)) == 0 {
		t.Fatalf("fortune in an empty root: %v\n%s", err, out)
	}
	info, _ := os.Stat(archive)
	t.Logf("fortune rootfs: %d entries, %d bytes compressed; it printed %q", len(entries), info.Size(), firstLine(out))
}

// TestFortuneFF: the same from `strace -ff` logs (one file per process).
func TestFortuneFF(t *testing.T) {
	need(t, "strace", "tar", "chroot", "/usr/games/fortune")
	dir := t.TempDir()
	// a shell that runs fortune: two processes, two files
	sh(t, dir, "strace", "-ff", "-o", "app.strace", "/bin/sh", "-c", "/usr/games/fortune; true")
	logs, _ := filepath.Glob(filepath.Join(dir, "app.strace.*"))
	if len(logs) < 2 {
		t.Fatalf("strace -ff wrote %d files", len(logs))
	}
	args := []string{"pack", "-o", "ff.tar.gz"}
	for _, l := range logs {
		args = append(args, "--strace", filepath.Base(l))
	}
	if code, _, stderr := run(t, dir, args...); code != 0 {
		t.Fatalf("pack: exit %d: %s", code, stderr)
	}
	out, err := extractAndRun(t, filepath.Join(dir, "ff.tar.gz"), "/bin/sh", "-c", "/usr/games/fortune; true")
	if err != nil || len(strings.TrimSpace(out)) == 0 {
		t.Fatalf("in an empty root: %v\n%s", err, out)
	}
}

// TestDockerfile: pack --dockerfile writes FROM scratch, ADD and an
// exec-form CMD; a shell-form --cmd is refused.
func TestDockerfile(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "l.txt"), []byte("/etc/hostname\n"), 0o644)
	code, _, stderr := run(t, dir, "pack", "-o", "out/rootfs.tar.gz", "--files", "l.txt", "--dockerfile", "out/Dockerfile", "--cmd", `["/usr/games/fortune", "-s"]`)
	if code != 1 || !strings.Contains(stderr, "out/rootfs.tar.gz") {
		// out/ does not exist yet: a clear error naming the output
		t.Fatalf("exit %d: %s", code, stderr)
	}
	os.Mkdir(filepath.Join(dir, "out"), 0o755)
	code, _, stderr = run(t, dir, "pack", "-o", "out/rootfs.tar.gz", "--files", "l.txt", "--dockerfile", "out/Dockerfile", "--cmd", `["/usr/games/fortune", "-s"]`)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	df, _ := os.ReadFile(filepath.Join(dir, "out/Dockerfile"))
	want := "FROM scratch\nADD rootfs.tar.gz /\nCMD [\"/usr/games/fortune\",\"-s\"]\n"
	if !strings.HasSuffix(string(df), want) {
		t.Errorf("Dockerfile:\n%s\nwant suffix\n%s", df, want)
	}
	code, _, stderr = run(t, dir, "pack", "-o", "out/r.tar.gz", "--files", "l.txt", "--dockerfile", "out/D", "--cmd", "fortune -s")
	if code != ExitUsage || !strings.Contains(stderr, "JSON array") {
		t.Errorf("shell-form cmd: exit %d: %s", code, stderr)
	}
}

func TestErrorsAndExitCodes(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "missing.lst"), []byte("/etc/hostname\n/no/such/file\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "bad.lst"), []byte("/etc/hostname\nrelative\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "garbage.strace"), []byte("\x00\x01 not strace\n"), 0o644)
	tests := []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"pack", "-o", "x.tar.gz", "--files", "missing.lst"}, ExitError, "/no/such/file does not exist"},
		{[]string{"pack", "-o", "x.tar.gz", "--files", "bad.lst"}, ExitError, "bad.lst:2: expected an absolute path"},
		{[]string{"filelist", "--strace", "garbage.strace"}, ExitError, "garbage.strace:1"},
		{[]string{"filelist", "--strace", "absent.strace"}, ExitError, "absent.strace"},
		{[]string{"pack", "--files", "missing.lst"}, ExitUsage, "no output"},
		{[]string{"pack", "-o", "x.tar.gz"}, ExitUsage, "nothing to pack"},
		{[]string{"pack", "-o", "x.tar.gz", "--files", "bad.lst", "--compression", "lz4"}, ExitUsage, "expected gzip, zstd or none"},
		{[]string{"filelist", "--format", "xml", "--files", "bad.lst"}, ExitUsage, "expected text or json"},
		{[]string{"frobnicate"}, ExitUsage, "unknown command"},
		{[]string{"pack", "--bogus"}, ExitUsage, "unknown flag"},
		{[]string{"build", "-o", "x.tar.gz", "--collector", "ebpf", "--", "/bin/true"}, ExitUsage, "unknown collector \"ebpf\" (expected ptrace, strace or fanotify)"},
	}
	for _, tt := range tests {
		code, _, stderr := run(t, dir, tt.args...)
		if code != tt.code || !strings.Contains(stderr, tt.stderr) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tt.args, code, stderr, tt.code, tt.stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "x.tar.gz")); !os.IsNotExist(err) {
		t.Error("a failed pack left x.tar.gz")
	}
	// Flags that cannot work together fail before any work: nothing is
	// traced and nothing is written, not even to stdout.
	for _, args := range [][]string{
		{"build", "--verify", "-o", "-", "--", "/bin/true"},
		{"build", "--verify", "-o", "v.tar.gz", "--duration", "1s", "--", "/bin/true"},
		{"build", "--verify", "--output-dir", "vdir", "--", "/bin/true"},
	} {
		code, stdout, stderr := run(t, dir, args...)
		if code != ExitUsage || stdout != "" || !strings.Contains(stderr, "--verify needs an archive file") {
			t.Errorf("%v: exit %d, %d bytes on stdout, stderr %q; want exit 2 before any work", args, code, len(stdout), stderr)
		}
		for _, p := range []string{"v.tar.gz", "v.report.json", "vdir"} {
			if _, err := os.Stat(filepath.Join(dir, p)); err == nil {
				t.Errorf("%v wrote %s", args, p)
			}
		}
	}
	// --ignore-missing turns the missing file into a warning.
	code, _, stderr := run(t, dir, "pack", "-o", "x.tar.gz", "--files", "missing.lst", "--ignore-missing")
	if code != 0 || !strings.Contains(stderr, "warning") || !strings.Contains(stderr, "/no/such/file") {
		t.Errorf("--ignore-missing: exit %d: %s", code, stderr)
	}
}

func TestPackToStdoutAndVersion(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "l.txt"), []byte("/etc/hostname\n"), 0o644)
	code, out, stderr := run(t, dir, "pack", "-o", "-", "--files", "l.txt", "--compression", "none")
	if code != 0 || !strings.Contains(out, "etc/hostname") || stderr != "" {
		t.Errorf("pack -o -: exit %d, %d bytes, stderr %q", code, len(out), stderr)
	}
	code, out, _ = run(t, "", "version")
	if code != 0 || !strings.HasPrefix(out, "scratchpack ") {
		t.Errorf("version: %d %q", code, out)
	}
	code, out, _ = run(t, "", "completion", "bash")
	if code != 0 || !strings.Contains(out, "scratchpack") {
		t.Errorf("completion bash: %d", code)
	}
	for _, c := range []string{"filelist", "pack", "version"} {
		code, out, _ = run(t, "", c, "--help")
		if code != 0 || !strings.Contains(out, "Examples:") {
			t.Errorf("%s --help has no examples", c)
		}
	}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

// TestBuildRootDir: build --root IMAGE --dir /work runs the command
// chrooted, in /work, through the __chroot-exec launcher; the archive
// holds what it used inside the image and runs.
func TestBuildRootDir(t *testing.T) {
	need(t, "strace", "tar", "chroot")
	dir := t.TempDir()
	if code, _, stderr := run(t, dir, "build", "-q", "-o", "image.tar.gz", "--", "/bin/sh", "-c", "cat /etc/hostname | sort; ls"); code != 0 {
		t.Fatalf("building the image: %s", stderr)
	}
	image := filepath.Join(dir, "image")
	os.Mkdir(image, 0o755)
	sh(t, "", "tar", "-xzf", filepath.Join(dir, "image.tar.gz"), "-C", image)
	os.MkdirAll(filepath.Join(image, "work"), 0o755)
	os.WriteFile(filepath.Join(image, "work/data.txt"), []byte("b\na\n"), 0o644)
	code, out, stderr := run(t, dir, "build", "-o", "app.tar.gz", "--root", image, "--dir", "/work", "--dockerfile", "Dockerfile", "--", "/bin/sh", "-c", "sort data.txt")
	if code != 0 || out != "a\nb\n" {
		t.Fatalf("build --root: exit %d, stdout %q\n%s", code, out, stderr)
	}
	entries := tarList(t, filepath.Join(dir, "app.tar.gz"))
	if entries["work/data.txt"] != "-" || entries["usr/bin/sort"] != "-" {
		t.Errorf("the archive lacks /work/data.txt or sort: %v", entries)
	}
	for name := range entries {
		if strings.Contains(name, "scratchpack") || strings.HasPrefix(name, strings.TrimPrefix(image, "/")) || strings.Contains(name, ".test") {
			t.Errorf("host or launcher path in the archive: %s", name)
		}
	}
	df, _ := os.ReadFile(filepath.Join(dir, "Dockerfile"))
	if !strings.Contains(string(df), "WORKDIR /work\n") || !strings.Contains(string(df), `CMD ["/bin/sh","-c","sort data.txt"]`) {
		t.Errorf("Dockerfile:\n%s", df)
	}
	if !strings.Contains(stderr, "largest files:") {
		t.Errorf("no summary: %s", stderr)
	}
}

func TestTraceAndDepsCommands(t *testing.T) {
	need(t, "strace", "/usr/games/fortune")
	dir := t.TempDir()
	code, out, stderr := run(t, dir, "trace", "-o", "f.strace", "--", "/bin/sh", "-c", "echo hi; exit 3")
	if code != 0 || out != "hi\n" || !strings.Contains(stderr, "status 3") {
		t.Errorf("trace: exit %d out %q err %q", code, out, stderr)
	}
	code, _, _ = run(t, dir, "trace", "--fail-on-exit", "-o", "f.strace", "--", "/bin/sh", "-c", "exit 3")
	if code != 3 {
		t.Errorf("trace --fail-on-exit: exit %d, want the command's 3", code)
	}
	code, out, _ = run(t, dir, "trace", "-o", "f.strace", "--", "/usr/games/fortune")
	if code != 0 || out == "" {
		t.Fatalf("trace fortune: %d %q", code, out)
	}
	code, lst, stderr := run(t, dir, "filelist", "--strace", "f.strace")
	if code != 0 || !strings.Contains(lst, "/usr/games/fortune\n") || !strings.Contains(lst, "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2\n") {
		t.Errorf("filelist of the trace: %d %s %s", code, lst, stderr)
	}
	code, out, _ = run(t, dir, "deps", "--list", "/usr/games/fortune")
	want := "/lib/x86_64-linux-gnu/libc.so.6\n/lib/x86_64-linux-gnu/librecode.so.0\n/lib64/ld-linux-x86-64.so.2\n"
	if code != 0 || out != want {
		t.Errorf("deps --list: %d %q", code, out)
	}
	code, out, _ = run(t, dir, "deps", "/usr/games/fortune")
	if code != 0 || !strings.Contains(out, "├── librecode.so.0 => /lib/x86_64-linux-gnu/librecode.so.0") {
		t.Errorf("deps tree: %d\n%s", code, out)
	}
	code, _, stderr = run(t, dir, "deps", "/etc/hostname")
	if code != 1 || !strings.Contains(stderr, "not an ELF file") {
		t.Errorf("deps on a text file: %d %s", code, stderr)
	}
	code, _, stderr = run(t, dir, "trace", "--", "/bin/true")
	if code != ExitUsage || !strings.Contains(stderr, "-o LOG") {
		t.Errorf("trace without -o: %d %s", code, stderr)
	}
}

// TestInspectAndVerify: build writes a report beside the archive;
// inspect lists libc.so.6 with its size, largest first, with reasons;
// --json parses; --html and build --report-html write the page; build
// --verify passes on a good rootfs.
func TestInspectAndVerify(t *testing.T) {
	need(t, "strace", "/usr/games/fortune")
	dir := t.TempDir()
	code, out, stderr := run(t, dir, "build", "-q", "-o", "rootfs.tar.gz", "--report-html", "build.html", "--verify", "--", "/usr/games/fortune")
	if code != 0 || !strings.Contains(out, "verify: OK") {
		t.Fatalf("build --verify: %d\n%s\n%s", code, out, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "rootfs.report.json")); err != nil {
		t.Fatalf("no report beside the archive: %v", err)
	}
	code, out, _ = run(t, dir, "inspect", "rootfs.tar.gz")
	libc, _ := os.Stat("/usr/lib/x86_64-linux-gnu/libc.so.6")
	lines := strings.Split(out, "\n")
	var sizes []string
	for _, l := range lines {
		if strings.Contains(l, "  /") && strings.Contains(l, "iB") {
			sizes = append(sizes, l)
		}
	}
	if code != 0 || len(sizes) == 0 || !strings.Contains(out, "/usr/lib/x86_64-linux-gnu/libc.so.6  [") {
		t.Fatalf("inspect: %d\n%s", code, out)
	}
	code, js, _ := run(t, dir, "inspect", "--json", "--top", "3", "rootfs.tar.gz")
	var res struct {
		Files   int `json:"files"`
		Largest []struct {
			Path string `json:"path"`
			Size int64  `json:"size"`
		} `json:"largest"`
		Reasons map[string][]struct {
			Source string `json:"source"`
		} `json:"reasons"`
	}
	if err := json.Unmarshal([]byte(js), &res); err != nil || code != 0 {
		t.Fatalf("inspect --json does not parse: %v\n%s", err, js)
	}
	if len(res.Largest) != 3 || res.Largest[0].Size < res.Largest[1].Size || res.Largest[1].Size < res.Largest[2].Size {
		t.Errorf("largest not sorted: %+v", res.Largest)
	}
	var found bool
	for _, m := range res.Largest {
		if m.Path == "/usr/lib/x86_64-linux-gnu/libc.so.6" && m.Size == libc.Size() {
			found = true
		}
	}
	if !found || len(res.Reasons["/usr/lib/x86_64-linux-gnu/libc.so.6"]) == 0 {
		t.Errorf("libc.so.6 with its size %d and reason: %+v %v", libc.Size(), res.Largest, res.Reasons["/usr/lib/x86_64-linux-gnu/libc.so.6"])
	}
	code, out, stderr = run(t, dir, "inspect", "--html", "inspect.html", "rootfs.tar.gz")
	if code != 0 || !strings.Contains(stderr+out, "wrote inspect.html") {
		t.Errorf("inspect --html: %d\n%s%s", code, out, stderr)
	}
	for _, page := range []string{"build.html", "inspect.html"} {
		data, err := os.ReadFile(filepath.Join(dir, page))
		if err != nil || !bytes.Contains(data, []byte(fmt.Sprintf(`data-files="%d"`, res.Files))) || !bytes.Contains(data, []byte("libc.so.6")) {
			t.Errorf("%s: %v: the page lacks the archive's %d files or libc.so.6", page, err, res.Files)
		}
	}
	if code, _, stderr = run(t, dir, "inspect", "--html", "x.html", "--json", "rootfs.tar.gz"); code != ExitUsage {
		t.Errorf("inspect --html --json: %d %s", code, stderr)
	}
	code, _, stderr = run(t, dir, "verify", "rootfs.tar.gz", "--", "/bin/ls")
	if code != ExitMismatch || !strings.Contains(stderr, "does not behave") {
		t.Errorf("verify of a program not in the rootfs: %d %s", code, stderr)
	}
}

// TestFilesFromStdin: `filelist | pack --files -`.
func TestFilesFromStdin(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	wd, _ := os.Getwd()
	os.Chdir(dir)
	defer os.Chdir(wd)
	code := Main([]string{"pack", "-o", "r.tar", "--compression", "none", "--files", "-"}, strings.NewReader("/etc/hostname\n/bin/true\n"), &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	entries := sh(t, dir, "tar", "-tf", "r.tar")
	for _, want := range []string{"etc/hostname\n", "bin\n", "usr/bin/true\n"} {
		if !strings.Contains(entries, want) {
			t.Errorf("archive lacks %q:\n%s", want, entries)
		}
	}
}
