package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestUnreadableWarnsAndStrict: paths strace printed as addresses are a
// warning per process (filelist of a log, build), and with build
// --strict an error: exit 1, nothing written.
func TestUnreadableWarnsAndStrict(t *testing.T) {
	need(t, "strace", "setpriv", "/usr/bin/python3")
	dir := t.TempDir()
	log, _ := filepath.Abs("../../../collect/strace/testdata/samples/setuid_worker.log")
	code, _, stderr := run(t, dir, "filelist", "--strace", log)
	if code != 0 || strings.Count(stderr, "could not be read") != 2 || !strings.Contains(stderr, "pid 29505 (/usr/bin/python3, uid 65534): 3 calls (newfstatat, openat)") {
		t.Errorf("filelist: exit %d, stderr %q", code, stderr)
	}

	// an strace with docker's default capabilities, first on PATH
	real, _ := exec.LookPath("strace")
	bin := t.TempDir()
	os.WriteFile(filepath.Join(bin, "strace"), []byte("#!/bin/sh\nif [ \"$1\" = -V ]; then exec "+real+" -V; fi\n"+
		"exec setpriv --bounding-set=-all,+chown,+dac_override,+fsetid,+fowner,+mknod,+net_raw,+setgid,+setuid,+setfcap,+setpcap,+net_bind_service,+sys_chroot,+kill,+audit_write "+real+" \"$@\"\n"), 0o755)
	t.Setenv("PATH", bin+":"+os.Getenv("PATH"))
	script := "import os; os.setresuid(65534, 65534, 65534); open('/etc/hostname').read()"
	code, _, stderr = run(t, dir, "build", "-q", "--collector", "strace", "-o", "s.tar.gz", "--dockerfile", "Dockerfile", "--strict", "--", "/usr/bin/python3", "-c", script)
	if code != ExitError || !strings.Contains(stderr, "--strict: ") || !strings.Contains(stderr, "uid 65534") || !strings.Contains(stderr, "--cap-add SYS_PTRACE") {
		t.Errorf("build --strict: exit %d, stderr %q", code, stderr)
	}
	for _, f := range []string{"s.tar.gz", "s.report.json", "Dockerfile"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			t.Errorf("build --strict failed but wrote %s", f)
		}
	}
	code, _, stderr = run(t, dir, "build", "--collector", "strace", "-o", "s.tar.gz", "--", "/usr/bin/python3", "-c", script)
	if code != 0 || strings.Count(stderr, "warning: pid ") != 1 || !strings.Contains(stderr, "uid 65534") {
		t.Errorf("build: exit %d, stderr %q", code, stderr)
	}
}
