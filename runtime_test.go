package scratchpack

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/scratchpack/scratchpack/collect/tracer"
)

// TestServerFiles: a server that finds a stale pid file of an unclean
// stop (read through "./" relative to its cwd), removes it, writes its
// own, makes a runtime directory under /run with its socket-like file and
// removes its pid file at exit is built twice in a row, under both
// collectors. Both builds succeed with one note naming the removed file;
// the runtime directory is in the archive, empty, with its owner and
// mode; the pid file and what /run/DIR held are not.
func TestServerFiles(t *testing.T) {
	needTools(t, "strace", "tar")
	data := t.TempDir()
	run := fmt.Sprintf("/run/scratchpack-test-%d", os.Getpid())
	used := run + "-used" // there before, only looked at
	t.Cleanup(func() { os.RemoveAll(run); os.RemoveAll(used) })
	if err := os.MkdirAll(used, 0o711); err != nil {
		t.Fatal(err)
	}
	writeFile(t, used+"/old.sock", "x", 0o644)
	server := `cd ` + data + ` || exit 1
if [ -e ./app.pid ]; then read old < ./app.pid; rm app.pid; fi
echo $$ > ./app.pid
[ -d ` + used + ` ] || exit 2
mkdir -p ` + run + ` && chown 1234:1235 ` + run + ` && chmod 0750 ` + run + `
echo state > ` + run + `/sock
trap 'rm -f ` + data + `//app.pid ` + run + `/sock; exit 0' TERM
touch ready
while :; do sleep 0.05; done`
	for _, c := range []tracer.Collector{tracer.Strace, tracer.Fanotify} {
		t.Run(string(c), func(t *testing.T) {
			os.RemoveAll(run)
			for i := 1; i <= 2; i++ {
				// an unclean stop left a stale pid file behind
				writeFile(t, filepath.Join(data, "app.pid"), "99999\n", 0o644)
				os.Remove(filepath.Join(data, "ready"))
				var warns []string
				out := filepath.Join(t.TempDir(), "rootfs.tar.gz")
				_, err := Build(context.Background(), BuildOptions{
					Command: []string{"/bin/sh", "-c", server},
					Env:     cleanEnv,
					Dir:     data,
					Trace:   tracer.Options{Collector: c, Probes: []string{"test -e " + data + "/ready"}, Stdout: io.Discard},
					Pack:    PackOptions{Output: out},
					Warn:    func(err error) { warns = append(warns, err.Error()) },
				})
				if err != nil {
					t.Fatalf("build %d: %v\nwarnings: %v", i, err, warns)
				}
				notes := 0
				for _, w := range warns {
					if strings.Contains(w, "removed while traced") {
						notes++
						if !strings.Contains(w, data+"/app.pid") {
							t.Errorf("the note does not name the pid file: %s", w)
						}
					}
				}
				// (a watch that saw the stale file opened and the new one
				// made keeps only the latter: no note needed)
				if notes != 1 && !(c == tracer.Fanotify && notes == 0) {
					t.Errorf("build %d: %d notes about removed files, want 1: %v", i, notes, warns)
				}
				root := t.TempDir()
				host(t, "", "tar", "-xzf", out, "-C", root)
				if _, err := os.Lstat(filepath.Join(root, data, "app.pid")); err == nil {
					t.Errorf("build %d: the pid file is packed", i)
				}
				st, err := os.Lstat(filepath.Join(root, run))
				if err != nil {
					t.Fatalf("build %d: the runtime directory %s is not in the archive: %v", i, run, err)
				}
				sys := st.Sys().(*syscall.Stat_t)
				if !st.IsDir() || st.Mode().Perm() != 0o750 || sys.Uid != 1234 || sys.Gid != 1235 {
					t.Errorf("build %d: %s: mode %v owner %d:%d, want a directory 0750 1234:1235", i, run, st.Mode(), sys.Uid, sys.Gid)
				}
				if names, _ := os.ReadDir(filepath.Join(root, run)); len(names) != 0 {
					t.Errorf("build %d: the runtime directory is not empty: %v", i, names)
				}
				// (a watch does not see stats: strace only)
				if c != tracer.Strace {
					continue
				}
				if st, err := os.Lstat(filepath.Join(root, used)); err != nil || st.Mode().Perm() != 0o711 {
					t.Errorf("build %d: the directory the server checked under /run: %v %v", i, st, err)
				} else if names, _ := os.ReadDir(filepath.Join(root, used)); len(names) != 0 {
					t.Errorf("build %d: %s is not empty: %v", i, used, names)
				}
			}
		})
	}
}

// TestVanishedFileStaysAnError: a file the command read that something
// else removed (here the probe, which is not traced) is missing, and
// that is still an error, naming the file.
func TestVanishedFileStaysAnError(t *testing.T) {
	needTools(t, "strace")
	data := t.TempDir()
	conf := filepath.Join(data, "app.conf")
	writeFile(t, conf, "x\n", 0o644)
	_, err := Build(context.Background(), BuildOptions{
		Command: []string{"/bin/sh", "-c", "cat " + conf + " >/dev/null; touch " + data + "/ready; while :; do sleep 0.05; done"},
		Env:     cleanEnv,
		Trace:   tracer.Options{Probes: []string{"test -e " + data + "/ready && rm " + conf}, Stdout: io.Discard},
		Pack:    PackOptions{Output: filepath.Join(t.TempDir(), "r.tar.gz")},
	})
	if err == nil || !strings.Contains(err.Error(), conf) || !strings.Contains(err.Error(), "missing") {
		t.Errorf("a file removed by another process: %v", err)
	}
}
