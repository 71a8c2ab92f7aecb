package tracer

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCommandHasItsOwnSession: under both collectors the command is the
// leader of a session and process group of its own, so that a server
// that signals its whole group (apache's kill(0, SIGTERM) when it stops)
// reaches neither strace nor us; strace still writes the whole log.
func TestCommandHasItsOwnSession(t *testing.T) {
	needStrace(t)
	// an strace older than 5.3 (no -DDD, no --seccomp-bpf): it leads the
	// session, with the command in its group
	old := filepath.Join(t.TempDir(), "strace-5.0")
	real, _ := exec.LookPath("strace")
	if err := os.WriteFile(old, []byte("#!/bin/sh\nif [ \"$1\" = -V ]; then echo 'strace -- version 5.0'; exit 0; fi\nexec "+real+" \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range []Collector{Strace, Fanotify, "strace-5.0"} {
		t.Run(string(c), func(t *testing.T) {
			straceBin := ""
			if c == "strace-5.0" {
				c, straceBin = Strace, old
			}
			if c == Fanotify && os.Geteuid() != 0 {
				t.Skip("fanotify needs root")
			}
			dir := t.TempDir()
			ready := filepath.Join(dir, "ready")
			// pid, session and process group of the command, then a server
			// that answers SIGTERM by signalling its whole group
			script := `set -- $(cut -d' ' -f5,6 /proc/$$/stat); echo "$$ $2 $1"; ` +
				`trap 'trap "" TERM; kill -TERM 0; cat /etc/hostname >/dev/null; exit 0' TERM; touch ` + ready + `; while :; do sleep 0.05; done`
			var out bytes.Buffer
			log := filepath.Join(dir, "log")
			res, err := Run(context.Background(), Options{
				Collector: c,
				Strace:    straceBin,
				Command:   []string{"/bin/sh", "-c", script},
				Log:       log,
				Stdout:    &out,
				Probes:    []string{"test -e " + ready},
				Grace:     3 * time.Second,
			})
			if err != nil {
				t.Fatal(err)
			}
			f := strings.Fields(out.String())
			if straceBin != "" {
				if len(f) != 3 || f[0] == f[1] || f[1] != f[2] {
					t.Errorf("pid, session, group of the command under an old strace: %q (expected strace's session and group)", out.String())
				}
				if strings.Contains(strings.Join(res.Args, " "), "-DDD") {
					t.Errorf("-DDD given to strace 5.0: %v", res.Args)
				}
			} else if len(f) != 3 || f[0] != f[1] || f[0] != f[2] {
				t.Errorf("pid, session, group of the command: %q (expected three equal numbers)", out.String())
			}
			if !res.Stopped || res.ExitCode != 0 {
				t.Errorf("stopped %v exit %d %s: the server should exit 0 from its trap", res.Stopped, res.ExitCode, res.Signal)
			}
			data, _ := os.ReadFile(log)
			if c == Strace && !bytes.Contains(data, []byte(`"/etc/hostname"`)) {
				t.Errorf("the log lacks what the trap read after kill(0): strace did not survive?\n%.2000s", data)
			}
			if c == Fanotify {
				found := false
				for _, a := range res.Watch.Accesses {
					found = found || a.Path == "/etc/hostname"
					if strings.Contains(a.Path, "libunwind") {
						t.Errorf("strace's own library was seen as the command's: %s", a.Path)
					}
				}
				if !found {
					t.Errorf("the watch lacks /etc/hostname")
				}
			}
			// we are still here, and so is our process group
			if err := syscall.Kill(0, 0); err != nil {
				t.Errorf("our group: %v", err)
			}
		})
	}
}
