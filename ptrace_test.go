package scratchpack

import (
	"bytes"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/scratchpack/scratchpack/collect/tracer"
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
			var want string
			if tt.probe == "" {
				want = host(t, tt.dir, tt.argv...)
			}
			lists := map[tracer.Collector]*BuildResult{}
			for _, c := range []tracer.Collector{tracer.Strace, tracer.Ptrace} {
				var stdout bytes.Buffer
				o := BuildOptions{Command: tt.argv, Dir: tt.dir, Trace: tracer.Options{Collector: c, Launcher: testLauncherArgs(t), Stdout: &stdout, Stderr: io.Discard}}
				if tt.probe != "" {
					o.Trace.Probes, o.Trace.Grace = []string{tt.probe}, 2*time.Second
				}
				if strings.Contains(tt.name, "upx") {
					o.Pack.UPX = &upx.Options{Path: upxPath(t, "3.96"), CacheDir: filepath.Join(t.TempDir(), "upx")}
				}
				root, r := build(t, o)
				lists[c] = r
				// (a UPX-packed program needs /proc, which runIn's root lacks:
				// TestBuildUPX runs it with verify)
				if c == tracer.Ptrace && tt.probe == "" && o.Pack.UPX == nil {
					if got := runIn(t, root, tt.dir, append([]string{r.Program}, tt.argv[1:]...)...); got != want {
						t.Errorf("ptrace rootfs in the empty root:\n got %q\nwant %q", got, want)
					}
				}
			}
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
