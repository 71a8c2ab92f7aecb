package scratchpack

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/scratchpack/scratchpack/collect/tracer"
	"github.com/scratchpack/scratchpack/internal/testenv"
	"github.com/scratchpack/scratchpack/upx"
)

// ptraceExtras are the paths the ptrace collector's list may hold and
// the strace collector's not, with the reason. (None so far: a new one
// needs its reason here.)
var ptraceExtras = map[string]string{}

// TestPtraceMatchesStrace: on the test programs (fortune, a dynamic C
// program, a shell pipeline, a python3 script, nginx behind a probe, and
// perl packed with UPX), the file list resolved from the ptrace
// collector's uses holds every file, symlink and directory of the strace
// collector's, and nothing more without a reason in ptraceExtras; the
// rootfs runs each program in an empty root with the host's output.
func TestPtraceMatchesStrace(t *testing.T) {
	apps := collectorApps(t)
	apps = append(apps, collectorApp{name: "perl with upx", argv: []string{"/usr/bin/perl", "-e", `print join(",", map { $_ * $_ } 1..5), "\n"`}})
	for _, tt := range apps {
		t.Run(tt.name, func(t *testing.T) {
			var edit func(*BuildOptions)
			if strings.Contains(tt.name, "upx") {
				edit = func(o *BuildOptions) {
					o.Pack.UPX = &upx.Options{Path: upxPath(t, "3.96"), CacheDir: filepath.Join(t.TempDir(), "upx")}
				}
			}
			lists := buildBoth(t, tt, tracer.Ptrace, edit)
			s, p := lists[tracer.Strace].List, lists[tracer.Ptrace].List
			for _, kind := range []string{"file", "symlink", "dir"} {
				onlyS, onlyP := diffPaths(listed(s, kind), listed(p, kind))
				if len(onlyS) > 0 {
					t.Errorf("%ss only the strace collector lists: %v", kind, onlyS)
				}
				var unexplained []string
				for _, x := range onlyP {
					if ptraceExtras[x] == "" {
						unexplained = append(unexplained, x)
					}
				}
				sort.Strings(unexplained)
				if len(unexplained) > 0 {
					t.Errorf("%ss only the ptrace collector lists, without a reason in ptraceExtras: %v", kind, unexplained)
				}
			}
			t.Logf("%d files, %d symlinks, %d dirs alike; trace %v (strace) vs %v (ptrace)", len(listed(p, "file")), len(listed(p, "symlink")), len(listed(p, "dir")),
				lists[tracer.Strace].Trace.Elapsed.Round(time.Millisecond), lists[tracer.Ptrace].Trace.Elapsed.Round(time.Millisecond))
		})
	}
}

// TestPtraceServerUnderDockerCaps: with docker's default capabilities,
// as in a `docker build`, nginx whose worker drops to www-data is built
// with the ptrace collector: the page the worker serves is in the list,
// and no path was unreadable. (The test re-runs itself under setpriv.)
func TestPtraceServerUnderDockerCaps(t *testing.T) {
	needTools(t, "/usr/sbin/nginx", "bash")
	if !testenv.UnderDockerCaps(t, "TestPtraceServerUnderDockerCaps") {
		return
	}
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	os.Chmod(filepath.Dir(dir), 0o755)
	os.MkdirAll(filepath.Join(dir, "www"), 0o755)
	os.WriteFile(filepath.Join(dir, "www/index.html"), []byte("hello\n"), 0o644)
	port := 20000 + os.Getpid()%900
	conf := filepath.Join(dir, "nginx.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf("daemon off;\nuser www-data;\nworker_processes 1;\nerror_log stderr;\npid %s/nginx.pid;\nevents { worker_connections 64; }\nhttp { access_log off; server { listen 127.0.0.1:%d; root %s/www; } }\n", dir, port, dir)), 0o644)
	probe := fmt.Sprintf(`bash -c 'exec 3<>/dev/tcp/127.0.0.1/%d && printf "GET / HTTP/1.0\r\n\r\n" >&3 && grep -q hello <&3'`, port)
	_, r := build(t, BuildOptions{Command: []string{"/usr/sbin/nginx", "-c", conf},
		Trace: tracer.Options{Collector: tracer.Ptrace, Launcher: testLauncherArgs(t), Stderr: io.Discard, Probes: []string{probe}, Grace: 2 * time.Second}})
	if r.List.Lookup(filepath.Join(dir, "www/index.html")) == nil {
		t.Errorf("the page the worker served is not in the list")
	}
	if len(r.Trace.Unreadable) > 0 {
		t.Errorf("unreadable: %+v", r.Trace.Unreadable)
	}
}

// TestPtraceSeccompProfile: a --root build with --seccomp-profile gives
// the same profile and the same list with the ptrace collector as with
// the strace collector (whose log skips the launcher's calls; the ptrace
// collector's filter starts at the command's execve).
func TestPtraceSeccompProfile(t *testing.T) {
	needTools(t, "strace", "chroot", "tar")
	m := testenv.NewMuslRoot(t)
	res := map[tracer.Collector]*BuildResult{}
	for _, c := range []tracer.Collector{tracer.Strace, tracer.Ptrace} {
		profile := filepath.Join(t.TempDir(), "app.json")
		root, r := build(t, BuildOptions{Command: []string{m.App}, Root: m.Dir, SeccompProfile: profile,
			Trace: tracer.Options{Collector: c, Launcher: testLauncherArgs(t)}})
		if got := runIn(t, root, "", m.App); got != "answer 42 alpine 7\n" {
			t.Errorf("%s: the image printed %q", c, got)
		}
		res[c] = r
	}
	s, p := res[tracer.Strace], res[tracer.Ptrace]
	// (what the program made and what the runtime needs: the launcher's
	// execve of the program is the program's for one, the runtime's for
	// the other)
	allowed := func(r *BuildResult) string {
		var names []string
		for _, sc := range r.Seccomp.Profile.Syscalls {
			names = append(names, sc.Names...)
		}
		sort.Strings(names)
		return strings.Join(names, " ")
	}
	if a, b := allowed(s), allowed(p); a != b {
		t.Errorf("the profiles allow different calls:\n strace %s\n ptrace %s", a, b)
	}
	if a, b := listed(s.List, "file"), listed(p.List, "file"); strings.Join(a, " ") != strings.Join(b, " ") {
		t.Errorf("the lists differ:\n strace %q\n ptrace %q", a, b)
	}
}
