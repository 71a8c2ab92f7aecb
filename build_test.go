package scratchpack

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scratchpack/scratchpack/collect/tracer"
	"github.com/scratchpack/scratchpack/internal/testenv"
)

// needTools: the tools on PATH, and root.
func needTools(t *testing.T, tools ...string) {
	t.Helper()
	testenv.Need(t, tools...)
	testenv.NeedRoot(t)
}

var cleanEnv = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"}

// build runs Build and extracts the archive with the system's tar into
// an empty directory.
func build(t *testing.T, o BuildOptions) (string, *BuildResult) {
	t.Helper()
	if o.Pack.Output == "" {
		o.Pack.Output = filepath.Join(t.TempDir(), "rootfs.tar.gz")
	}
	if o.Env == nil {
		o.Env = cleanEnv
	}
	var warns []string
	o.Warn = func(err error) { warns = append(warns, err.Error()) }
	if o.Trace.Stdout == nil {
		o.Trace.Stdout = io.Discard
	}
	r, err := Build(context.Background(), o)
	if err != nil {
		t.Fatalf("Build: %v\nwarnings: %v", err, warns)
	}
	root := t.TempDir()
	if out, err := exec.Command("tar", "-xzf", o.Pack.Output, "-C", root).CombinedOutput(); err != nil {
		t.Fatalf("tar: %v\n%s", err, out)
	}
	return root, r
}

// runIn runs argv in an empty root (chroot) with a clean environment.
func runIn(t *testing.T, root, dir string, argv ...string) string {
	t.Helper()
	// Go chroots, then changes to Dir inside the root: no tool of the
	// image is needed for that.
	c := exec.Command(argv[0], argv[1:]...)
	c.SysProcAttr = &syscall.SysProcAttr{Chroot: root}
	c.Dir = dir
	if dir == "" {
		c.Dir = "/"
	}
	c.Env = cleanEnv
	out, err := c.CombinedOutput()
	if err != nil {
		t.Fatalf("%v in the empty root: %v\n%s", argv, err, out)
	}
	return string(out)
}

func host(t *testing.T, dir string, argv ...string) string {
	t.Helper()
	c := exec.Command(argv[0], argv[1:]...)
	c.Env, c.Dir = cleanEnv, dir
	out, err := c.CombinedOutput()
	if err != nil {
		t.Fatalf("%v on the host: %v\n%s", argv, err, out)
	}
	return string(out)
}

// TestBuildPrograms: build alone gives a rootfs in which each program,
// run in an empty root with a clean environment, prints exactly what it
// prints on the host.
func TestBuildPrograms(t *testing.T) {
	needTools(t, "strace", "chroot", "tar", "gcc", "/usr/bin/python3")
	dir := t.TempDir()
	// A dynamic C program that reads a data file and uses libm.
	os.WriteFile(filepath.Join(dir, "data.txt"), []byte("2.25\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "hello.c"), []byte(`#include <stdio.h>
#include <math.h>
int main(void) {
	double x; FILE *f = fopen("data.txt", "r");
	if (!f || fscanf(f, "%lf", &x) != 1) return 2;
	printf("sqrt(%g) = %g\n", x, sqrt(x));
	return 0;
}
`), 0o644)
	if out, err := exec.Command("gcc", "-O1", "-o", filepath.Join(dir, "hello"), filepath.Join(dir, "hello.c"), "-lm").CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	// A #!/usr/bin/env python3 script that imports C extension modules.
	os.WriteFile(filepath.Join(dir, "app.py"), []byte(`#!/usr/bin/env python3
import json, sqlite3, hashlib, zlib, decimal, _ssl
db = sqlite3.connect(":memory:")
db.execute("create table t(x)")
db.execute("insert into t values (42)")
print(json.dumps({"sqlite": db.execute("select x from t").fetchone()[0],
                  "sha": hashlib.sha256(b"hi").hexdigest()[:16],
                  "zlib": len(zlib.compress(b"a" * 1000)),
                  "decimal": str(decimal.Decimal("1.1") + decimal.Decimal("2.2"))}))
`), 0o755)
	tests := []struct {
		name string
		dir  string
		argv []string
	}{
		{"dynamic C program", dir, []string{filepath.Join(dir, "hello")}},
		{"shell pipeline", "", []string{"/bin/sh", "-c", "cat /etc/os-release | grep -E '^(NAME|VERSION_ID)=' | tr a-z A-Z | sort -r | head -n 2 | wc -c"}},
		{"env python3 script with C extensions", "", []string{filepath.Join(dir, "app.py")}},
		{"python3 -c with C extensions", "", []string{"python3", "-c", "import _ctypes, _bz2, _lzma, array, math; print(math.factorial(20), array.array('i', [1, 2]).tolist())"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := host(t, tt.dir, tt.argv...)
			var stdout bytes.Buffer
			root, r := build(t, BuildOptions{Command: tt.argv, Dir: tt.dir, Trace: tracer.Options{Stdout: &stdout}})
			if stdout.String() != want {
				t.Errorf("traced output %q, host %q", stdout.String(), want)
			}
			got := runIn(t, root, tt.dir, r.Program)
			if len(tt.argv) > 1 {
				got = runIn(t, root, tt.dir, append([]string{r.Program}, tt.argv[1:]...)...)
			}
			if got != want {
				t.Errorf("in the empty root:\n got %q\nwant %q", got, want)
			}
			files, _, links, _, bytes := r.List.Totals()
			t.Logf("%s: %d files, %d symlinks, %d bytes; archive %d bytes", tt.name, files, links, bytes, r.Pack.Compressed)
		})
	}
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func get(url string) (string, error) {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return fmt.Sprintf("%d %s", resp.StatusCode, body), err
}

// TestBuildNginx traces nginx serving a page under --probe; the rootfs
// runs nginx in an empty root, and it answers the same request.
func TestBuildNginx(t *testing.T) {
	needTools(t, "strace", "chroot", "tar", "/usr/sbin/nginx", "bash")
	dir := t.TempDir()
	// nginx's workers run as nobody: they must reach the files
	os.Chmod(dir, 0o755)
	os.Chmod(filepath.Dir(dir), 0o755)
	port := freePort(t)
	os.MkdirAll(filepath.Join(dir, "www"), 0o755)
	os.WriteFile(filepath.Join(dir, "www/index.html"), []byte("hello from a scratch image\n"), 0o644)
	conf := filepath.Join(dir, "nginx.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf(`daemon off;
worker_processes 1;
error_log stderr;
pid %s/nginx.pid;
events { worker_connections 64; }
http {
  access_log off;
  server { listen 127.0.0.1:%d; root %s/www; }
}
`, dir, port, dir)), 0o644)
	url := fmt.Sprintf("http://127.0.0.1:%d/index.html", port)
	probe := fmt.Sprintf(`bash -c 'exec 3<>/dev/tcp/127.0.0.1/%d && printf "GET / HTTP/1.0\r\n\r\n" >&3 && grep -q scratch <&3'`, port)
	root, r := build(t, BuildOptions{
		Command: []string{"/usr/sbin/nginx", "-c", conf},
		Trace:   tracer.Options{Probes: []string{probe}, Grace: 2 * time.Second, Stderr: io.Discard},
	})
	if !r.Trace.Stopped || len(r.Trace.Probes) != 1 {
		t.Fatalf("trace: %+v", r.Trace)
	}
	if err := exec.Command("pgrep", "-f", conf).Run(); err == nil {
		t.Fatal("a traced nginx is still running after build")
	}
	srv := exec.Command("chroot", root, "/usr/sbin/nginx", "-c", conf)
	srv.Env = []string{}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		srv.Process.Signal(os.Interrupt)
		srv.Wait()
	}()
	var got string
	var err error
	for i := 0; i < 50; i++ {
		if got, err = get(url); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil || got != "200 hello from a scratch image\n" {
		t.Fatalf("nginx in the empty root: %q, %v", got, err)
	}
	files, _, _, _, bytes := r.List.Totals()
	t.Logf("nginx: %d files, %d bytes; archive %d bytes", files, bytes, r.Pack.Compressed)
}

// TestBuildInRoot: --root runs the command chrooted in an extracted
// image; the list is resolved inside it, and the result runs.
func TestBuildInRoot(t *testing.T) {
	needTools(t, "strace", "chroot", "tar", "/usr/games/fortune")
	// an "image": the pipeline's own rootfs of sh + sort, extracted
	image, _ := build(t, BuildOptions{Command: []string{"/bin/sh", "-c", "printf 'b\\na\\n' | sort; ls /"}})
	want := runIn(t, image, "", "/bin/sh", "-c", "printf 'b\\na\\n' | sort")
	for _, c := range []tracer.Collector{tracer.Strace, tracer.Fanotify} {
		root, r := build(t, BuildOptions{Command: []string{"sh", "-c", "printf 'b\\na\\n' | sort"}, Root: image, Trace: tracer.Options{Collector: c}})
		if r.List.Root != image {
			t.Errorf("%s: list root %s", c, r.List.Root)
		}
		for _, e := range r.List.Entries {
			if strings.HasPrefix(e.Path, image) {
				t.Errorf("%s: host path in the list: %s", c, e.Path)
			}
		}
		if r.List.Lookup("/usr/bin/ls") != nil {
			t.Errorf("%s: ls was not run inside --root but is listed", c)
		}
		// the report counts the root's files, as find does, for the HTML page's sizes
		rep, err := ReadReport(r.Report)
		if err != nil {
			t.Fatal(err)
		}
		var files int
		var bytes int64
		for _, l := range strings.Fields(host(t, "/", "find", image, "-type", "f", "-printf", "%s\\n")) {
			n, _ := strconv.ParseInt(l, 10, 64)
			files++
			bytes += n
		}
		if rep.RootFiles != files || rep.RootBytes != bytes || files == 0 {
			t.Errorf("%s: the report counts %d files, %d bytes in the root; find counts %d, %d", c, rep.RootFiles, rep.RootBytes, files, bytes)
		}
		if got := runIn(t, root, "", r.Program, "-c", "printf 'b\\na\\n' | sort"); got != want || want != "a\nb\n" {
			t.Errorf("%s: got %q want %q", c, got, want)
		}
	}
}

func TestBuildKeepsCreatedOnlyWhenAsked(t *testing.T) {
	needTools(t, "strace", "chroot", "tar")
	dir := t.TempDir()
	cmd := []string{"/bin/sh", "-c", "echo made > out.txt; mkdir -p cache/sub; cat out.txt"}
	for _, c := range []tracer.Collector{tracer.Strace, tracer.Fanotify} {
		for _, keep := range []bool{false, true} {
			os.RemoveAll(filepath.Join(dir, "out.txt"))
			os.RemoveAll(filepath.Join(dir, "cache"))
			_, r := build(t, BuildOptions{Command: cmd, Dir: dir, KeepCreated: keep, Trace: tracer.Options{Collector: c}})
			if (r.List.Lookup(filepath.Join(dir, "out.txt")) != nil) != keep {
				t.Errorf("%s, keep=%v: out.txt listed = %v", c, keep, !keep)
			}
			if r.List.Lookup(dir) == nil {
				t.Errorf("%s, keep=%v: the directory written into is missing", c, keep)
			}
		}
	}
}

func TestBuildExitStatus(t *testing.T) {
	needTools(t, "strace", "tar")
	var warned []string
	out := filepath.Join(t.TempDir(), "r.tar.gz")
	r, err := Build(context.Background(), BuildOptions{Command: []string{"/bin/sh", "-c", "exit 7"}, Env: cleanEnv,
		Pack: PackOptions{Output: out}, Warn: func(e error) { warned = append(warned, e.Error()) }})
	if err != nil || r.Trace.ExitCode != 7 || len(warned) == 0 || !strings.Contains(warned[0], "status 7") {
		t.Errorf("warning expected: %v %v", err, warned)
	}
	_, err = Build(context.Background(), BuildOptions{Command: []string{"/bin/sh", "-c", "exit 7"}, Env: cleanEnv, FailOnExit: true, Pack: PackOptions{Output: out + "2"}})
	if err == nil || !strings.Contains(err.Error(), "status 7") {
		t.Errorf("--fail-on-exit: %v", err)
	}
	_, err = Build(context.Background(), BuildOptions{Command: []string{"no-such-program"}, Env: cleanEnv, Pack: PackOptions{Output: out + "3"}})
	if err == nil || !strings.Contains(err.Error(), "not found in PATH") {
		t.Errorf("missing program: %v", err)
	}
}
