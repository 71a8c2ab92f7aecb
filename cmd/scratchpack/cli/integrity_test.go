package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// binary builds the scratchpack command once for the tests that run it
// as a separate process.
func binary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(os.TempDir(), "scratchpack-under-test")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	build := exec.Command("go", "build", "-o", bin, "github.com/scratchpack/scratchpack/cmd/scratchpack")
	build.Env = append(os.Environ(), "CGO_ENABLED=0") // static, as make build makes it
	out, err := build.CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// bigList lists enough real files that packing them takes a while.
func bigList(t *testing.T, dir string) string {
	t.Helper()
	var paths []string
	filepath.Walk("/usr/lib/x86_64-linux-gnu", func(p string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() && len(paths) < 4000 {
			paths = append(paths, p)
		}
		return nil
	})
	lst := filepath.Join(dir, "big.lst")
	os.WriteFile(lst, []byte(strings.Join(paths, "\n")+"\n"), 0o644)
	return lst
}

// TestKillLeavesNoPartialArchive: kill -9 in the middle of a pack leaves
// nothing at the target.
func TestKillLeavesNoPartialArchive(t *testing.T) {
	bin := binary(t)
	dir := t.TempDir()
	lst := bigList(t, dir)
	target := filepath.Join(dir, "rootfs.tar.gz")
	cmd := exec.Command(bin, "pack", "-q", "-o", target, "--files", lst, "--level", "9")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// wait until it is writing its temporary file
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		tmp, _ := filepath.Glob(filepath.Join(dir, ".rootfs.tar.gz.tmp-*"))
		if len(tmp) > 0 {
			if st, err := os.Stat(tmp[0]); err == nil && st.Size() > 1<<20 {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	if _, err := os.Stat(target); !os.IsNotExist(err) {
		t.Fatalf("kill -9 left %s", target)
	}
}

// TestFullDisk: writing into a full filesystem is a clear error, and the
// temporary file is removed.
func TestFullDisk(t *testing.T) {
	need(t, "mount")
	bin := binary(t)
	small := t.TempDir()
	if err := syscall.Mount("tmpfs", small, "tmpfs", 0, "size=256k"); err != nil {
		t.Fatalf("mounting a small tmpfs: %v", err)
	}
	defer syscall.Unmount(small, syscall.MNT_DETACH)
	lst := filepath.Join(t.TempDir(), "l.txt")
	os.WriteFile(lst, []byte("/usr/lib/x86_64-linux-gnu/libc.so.6\n/usr/bin/perl\n"), 0o644)
	out, err := exec.Command(bin, "pack", "-o", filepath.Join(small, "r.tar.gz"), "--files", lst).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "no space left on device") || !strings.Contains(string(out), "r.tar.gz") {
		t.Errorf("full disk: %v\n%s", err, out)
	}
	if entries, _ := os.ReadDir(small); len(entries) != 0 {
		t.Errorf("left on the full disk: %v", entries)
	}
}

// TestUnreadableFile: a file the user cannot read is a clear error that
// names it (run as nobody: root reads everything).
func TestUnreadableFile(t *testing.T) {
	need(t, "true")
	bin := binary(t)
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	os.Chmod(filepath.Dir(dir), 0o755)
	secret := filepath.Join(dir, "secret.conf")
	os.WriteFile(secret, []byte("x"), 0o600)
	lst := filepath.Join(dir, "l.txt")
	os.WriteFile(lst, []byte(secret+"\n"), 0o644)
	out := filepath.Join(dir, "out")
	os.Mkdir(out, 0o777)
	os.Chmod(out, 0o777)
	cmd := exec.Command(bin, "pack", "-o", filepath.Join(out, "r.tar.gz"), "--files", lst)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	b, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(b), secret) || !strings.Contains(string(b), "permission denied") {
		t.Errorf("unreadable file: %v\n%s", err, b)
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Errorf("left behind: %v", entries)
	}
}

// TestDebugStack: --debug prints the stack with an error.
func TestDebugStack(t *testing.T) {
	dir := t.TempDir()
	code, _, stderr := run(t, dir, "--debug", "pack", "-o", "x.tar.gz", "--files", "/nonexistent/list")
	if code != ExitError || !strings.Contains(stderr, "/nonexistent/list") || !strings.Contains(stderr, ".go:") {
		t.Errorf("--debug: %d\n%s", code, stderr)
	}
	code, _, stderr = run(t, dir, "pack", "-o", "x.tar.gz", "--files", "/nonexistent/list")
	if code != ExitError || strings.Contains(stderr, ".go:") {
		t.Errorf("without --debug: %d\n%s", code, stderr)
	}
}

// TestReadsOnlyInsideRoot traces scratchpack itself: with --root, it
// reads nothing of the host's filesystem but the root and its inputs,
// and writes nothing but its output.
func TestReadsOnlyInsideRoot(t *testing.T) {
	need(t, "strace")
	bin := binary(t)
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	os.WriteFile(filepath.Join(root, "etc/app.conf"), []byte("x"), 0o644)
	os.Symlink("/etc/shadow", filepath.Join(root, "etc/evil"))
	os.Symlink("../../../../../../../etc/passwd", filepath.Join(root, "etc/evil2"))
	work := t.TempDir()
	lst := filepath.Join(work, "l.txt")
	os.WriteFile(lst, []byte("/etc/app.conf\n/etc/evil\n/etc/evil2\n/etc/../../../etc/hostname\n"), 0o644)
	out := filepath.Join(work, "r.tar.gz")
	log := filepath.Join(work, "self.strace")
	c := exec.Command("strace", "-f", "-y", "-o", log, "-e", "trace=%file,%desc", bin, "pack", "-q", "--ignore-missing", "--root", root, "-o", out, "--files", lst)
	c.Dir = work // its cwd is one of its inputs' directories
	if b, err := c.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	data, _ := os.ReadFile(log)
	allowed := []string{root, work, bin, "/proc/", "/sys/", "/dev/", "/etc/localtime", "/usr/share/zoneinfo"}
	var bad []string
	for _, line := range strings.Split(string(data), "\n") {
		i := strings.Index(line, `"/`)
		if i < 0 || !(strings.Contains(line, "open") || strings.Contains(line, "stat") || strings.Contains(line, "readlink") || strings.Contains(line, "exec") || strings.Contains(line, "rename") || strings.Contains(line, "unlink")) {
			continue
		}
		if strings.Contains(line, "readlink") && strings.Contains(line, " resumed>") {
			continue // the string is the link's contents, not a path read (the path is on the unfinished line)
		}
		rest := line[i+1:]
		p := rest[:strings.IndexByte(rest, '"')]
		ok := false
		for _, a := range allowed {
			if strings.HasPrefix(p, a) {
				ok = true
			}
		}
		if !ok {
			bad = append(bad, line)
		}
	}
	if len(bad) > 0 {
		t.Errorf("scratchpack touched paths outside the root, its inputs and outputs:\n%s", strings.Join(bad, "\n"))
	}
	if !strings.Contains(string(data), filepath.Join(root, "etc/app.conf")) {
		t.Error("the trace does not show the root's file being read: the test proves nothing")
	}
}
