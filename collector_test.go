package scratchpack

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/scratchpack/scratchpack/collect"
	"github.com/scratchpack/scratchpack/collect/tracer"
	"github.com/scratchpack/scratchpack/filelist"
	"github.com/scratchpack/scratchpack/internal/rootpath"
)

// listed returns the paths of a list by kind: "file", "symlink", "dir".
func listed(l *filelist.List, kind string) []string {
	var out []string
	for _, e := range l.Entries {
		if string(e.Kind) == kind {
			out = append(out, e.Path)
		}
	}
	sort.Strings(out)
	return out
}

// diffPaths returns what only a has and what only b has.
func diffPaths(a, b []string) (onlyA, onlyB []string) {
	in := func(s []string) map[string]bool {
		m := map[string]bool{}
		for _, p := range s {
			m[p] = true
		}
		return m
	}
	ma, mb := in(a), in(b)
	for _, p := range a {
		if !mb[p] {
			onlyA = append(onlyA, p)
		}
	}
	for _, p := range b {
		if !ma[p] {
			onlyB = append(onlyB, p)
		}
	}
	return
}

// collectorApp is a program the collectors are compared on.
type collectorApp struct {
	name  string
	dir   string
	argv  []string
	probe string
}

// collectorApps are the test programs both comparisons of collectors
// use: fortune, a dynamic C program, a shell pipeline, a python3 script
// run through env, and nginx behind a probe.
func collectorApps(t *testing.T) []collectorApp {
	t.Helper()
	needTools(t, "strace", "tar", "gcc", "/usr/bin/python3", "/usr/games/fortune", "/usr/sbin/nginx", "bash")
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	os.Chmod(filepath.Dir(dir), 0o755)
	os.WriteFile(filepath.Join(dir, "data.txt"), []byte("2.25\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "hello.c"), []byte("#include <stdio.h>\n#include <math.h>\nint main(void) { double x; FILE *f = fopen(\"data.txt\", \"r\"); if (!f || fscanf(f, \"%lf\", &x) != 1) return 2; printf(\"%g\\n\", sqrt(x)); return 0; }\n"), 0o644)
	if out, err := exec.Command("gcc", "-o", filepath.Join(dir, "hello"), filepath.Join(dir, "hello.c"), "-lm").CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	os.WriteFile(filepath.Join(dir, "app.py"), []byte("#!/usr/bin/env python3\nimport json, sqlite3, hashlib, decimal\nprint(json.dumps([hashlib.sha256(b'x').hexdigest()[:8], str(decimal.Decimal('1.1') * 2), sqlite3.sqlite_version_info[0]]))\n"), 0o755)
	port := freePort(t)
	os.MkdirAll(filepath.Join(dir, "www"), 0o755)
	os.WriteFile(filepath.Join(dir, "www/index.html"), []byte("hello\n"), 0o644)
	conf := filepath.Join(dir, "nginx.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf("daemon off;\nworker_processes 1;\nerror_log stderr;\npid %s/nginx.pid;\nevents { worker_connections 64; }\nhttp { access_log off; server { listen 127.0.0.1:%d; root %s/www; } }\n", dir, port, dir)), 0o644)
	probe := fmt.Sprintf(`bash -c 'exec 3<>/dev/tcp/127.0.0.1/%d && printf "GET / HTTP/1.0\r\n\r\n" >&3 && grep -q hello <&3'`, port)
	return []collectorApp{
		{"fortune", "", []string{"/usr/games/fortune", "-f"}, ""},
		{"dynamic C program", dir, []string{filepath.Join(dir, "hello")}, ""},
		{"shell pipeline", "", []string{"/bin/sh", "-c", "cat /etc/os-release | grep -E '^(NAME|VERSION_ID)=' | tr a-z A-Z | sort -r | head -n 2 | wc -c"}, ""},
		{"env python3 script", "", []string{filepath.Join(dir, "app.py")}, ""},
		{"nginx", "", []string{"/usr/sbin/nginx", "-c", conf}, probe},
	}
}

// buildBoth builds app with the strace collector and with other (edit,
// when set, changes the options), and runs other's rootfs in an empty
// root with the host's output (not for a server, nor with UPX: its
// programs need /proc, which that root lacks).
func buildBoth(t *testing.T, app collectorApp, other tracer.Collector, edit func(*BuildOptions)) map[tracer.Collector]*BuildResult {
	t.Helper()
	var want string
	if app.probe == "" {
		want = host(t, app.dir, app.argv...)
	}
	lists := map[tracer.Collector]*BuildResult{}
	for _, c := range []tracer.Collector{tracer.Strace, other} {
		var stdout bytes.Buffer
		o := BuildOptions{Command: app.argv, Dir: app.dir, Trace: tracer.Options{Collector: c, Launcher: testLauncherArgs(t), Stdout: &stdout, Stderr: io.Discard}}
		if app.probe != "" {
			o.Trace.Probes, o.Trace.Grace = []string{app.probe}, 2*time.Second
		}
		if edit != nil {
			edit(&o)
		}
		root, r := build(t, o)
		lists[c] = r
		if c == other && app.probe == "" && o.Pack.UPX == nil {
			if got := runIn(t, root, app.dir, append([]string{r.Program}, app.argv[1:]...)...); got != want {
				t.Errorf("%s rootfs in the empty root:\n got %q\nwant %q", c, got, want)
			}
		}
	}
	return lists
}

// TestFanotifyMatchesStrace: on the test programs, the fanotify collector
// packs the same files as strace, and its rootfs runs each program in an
// empty root with the host's output.
func TestFanotifyMatchesStrace(t *testing.T) {
	tests := collectorApps(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lists := buildBoth(t, tt, tracer.Fanotify, nil)
			s, f := lists[tracer.Strace].List, lists[tracer.Fanotify].List
			onlyS, onlyF := diffPaths(listed(s, "file"), listed(f, "file"))
			if len(onlyS) > 0 || len(onlyF) > 0 {
				t.Errorf("files: only strace %v; only fanotify %v", onlyS, onlyF)
			}
			ls, lf := diffPaths(listed(s, "symlink"), listed(f, "symlink"))
			if len(ls) > 0 {
				t.Errorf("symlinks strace packs and fanotify does not: %v", ls)
			}
			t.Logf("%d files the same; extra symlinks from the fanotify link scan: %v; trace %v (strace) vs %v (fanotify)",
				len(listed(f, "file")), lf, lists[tracer.Strace].Trace.Elapsed.Round(time.Millisecond), lists[tracer.Fanotify].Trace.Elapsed.Round(time.Millisecond))
		})
	}
}

// TestLinksTo: the link scan finds the symlinks that lead to used paths
// (soname links, directory links, alternatives chains, links elsewhere
// in /etc and /usr), and leaves out links to unused files and links to
// their own directory.
func TestLinksTo(t *testing.T) {
	root := t.TempDir()
	mk := func(p, content string) {
		os.MkdirAll(filepath.Dir(filepath.Join(root, p)), 0o755)
		if err := os.WriteFile(filepath.Join(root, p), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ln := func(target, p string) {
		os.MkdirAll(filepath.Dir(filepath.Join(root, p)), 0o755)
		if err := os.Symlink(target, filepath.Join(root, p)); err != nil {
			t.Fatal(err)
		}
	}
	mk("/usr/lib/x86_64-linux-gnu/libz.so.1.2.13", "elf")
	mk("/usr/lib/x86_64-linux-gnu/libother.so.2.0", "elf")
	mk("/usr/bin/mawk", "awk")
	mk("/usr/share/zoneinfo/Etc/UTC", "tz")
	mk("/etc/locale.alias", "alias")
	ln("libz.so.1.2.13", "/usr/lib/x86_64-linux-gnu/libz.so.1")
	ln("libother.so.2.0", "/usr/lib/x86_64-linux-gnu/libother.so.2")
	ln("usr/lib", "/lib")
	ln("usr/bin", "/bin")
	ln("usr/sbin", "/sbin") // no used file below
	ln(".", "/usr/bin/X11")
	ln("/etc/alternatives/awk", "/usr/bin/awk")
	ln("/usr/bin/mawk", "/etc/alternatives/awk")
	ln("/usr/share/zoneinfo/Etc/UTC", "/etc/localtime")
	ln("/etc/locale.alias", "/usr/share/locale/locale.alias")
	ln("/nowhere", "/usr/bin/dangling")
	res, err := rootpath.New(root)
	if err != nil {
		t.Fatal(err)
	}
	uses := []collect.Use{
		{Path: "/usr/lib/x86_64-linux-gnu/libz.so.1.2.13"},
		{Path: "/usr/bin/mawk"},
		{Path: "/usr/share/zoneinfo/Etc/UTC"},
		{Path: "/etc/locale.alias"},
	}
	var got []string
	for _, u := range linksTo(res, uses, []string{"/usr/bin"}) {
		if u.Need != collect.NeedFile || u.Source != collect.SourceLink {
			t.Errorf("%+v", u)
		}
		got = append(got, u.Path)
	}
	want := []string{"/bin", "/etc/alternatives/awk", "/etc/localtime", "/lib", "/usr/bin/awk", "/usr/lib/x86_64-linux-gnu/libz.so.1", "/usr/share/locale/locale.alias"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("links:\n got %v\nwant %v", got, want)
	}
}
