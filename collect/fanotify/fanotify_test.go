package fanotify

import (
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scratchpack/scratchpack/internal/sandbox"
	"github.com/scratchpack/scratchpack/internal/testenv"
)

func TestParseMountinfoLine(t *testing.T) {
	tests := []struct {
		line, point, fstype, err string
	}{
		{"26 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard", "/", "ext4", ""},
		{"36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue", "/mnt2", "ext3", ""},
		{"40 30 0:37 / /sys/fs/cgroup/unified rw,relatime shared:5 master:2 - cgroup2 cgroup2 rw", "/sys/fs/cgroup/unified", "cgroup2", ""},
		{`50 26 0:40 / /mnt/with\040space\011tab rw - tmpfs none rw`, "/mnt/with space\ttab", "tmpfs", ""},
		{`51 26 0:41 / /mnt/back\134slash rw - tmpfs none rw`, `/mnt/back\slash`, "tmpfs", ""},
		{"26 1 254:0 / / rw,relatime ext4 /dev/vda rw", "", "", "expected 'ID PARENT"},
		{"26 1 254:0 / / rw -", "", "", "expected 'ID PARENT"},
		{"", "", "", "expected 'ID PARENT"},
	}
	for _, tt := range tests {
		m, err := parseMountinfoLine(tt.line)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%q: error %v, want %q", tt.line, err, tt.err)
			}
			continue
		}
		if err != nil || m.Point != tt.point || m.FSType != tt.fstype {
			t.Errorf("%q: %+v %v, want %q %q", tt.line, m, err, tt.point, tt.fstype)
		}
	}
}

func metadata(evLen uint32, vers byte, mask uint64, fd, pid int32) []byte {
	b := make([]byte, metadataLen)
	binary.NativeEndian.PutUint32(b[0:], evLen)
	b[4] = vers
	binary.NativeEndian.PutUint16(b[6:], metadataLen)
	binary.NativeEndian.PutUint64(b[8:], mask)
	binary.NativeEndian.PutUint32(b[16:], uint32(fd))
	binary.NativeEndian.PutUint32(b[20:], uint32(pid))
	return b
}

func TestDecodeEvents(t *testing.T) {
	two := append(metadata(24, 3, evOpen, 7, 100), metadata(24, 3, evOpenExec|evOnDir, 8, 101)...)
	evs, err := decodeEvents(two, nil)
	if err != nil || len(evs) != 2 || evs[0] != (event{evOpen, 7, 100}) || evs[1] != (event{evOpenExec | evOnDir, 8, 101}) {
		t.Errorf("two events: %+v %v", evs, err)
	}
	// An event with information records after the metadata: skipped by its length.
	long := append(metadata(32, 3, evOpen, 9, 1), make([]byte, 8)...)
	long = append(long, metadata(24, 3, evCloseWrite, 10, 2)...)
	if evs, err := decodeEvents(long, nil); err != nil || len(evs) != 2 || evs[1].fd != 10 {
		t.Errorf("with info records: %+v %v", evs, err)
	}
	for name, b := range map[string][]byte{
		"truncated":   metadata(24, 3, evOpen, 1, 1)[:20],
		"old version": metadata(24, 2, evOpen, 1, 1),
		"short len":   metadata(8, 3, evOpen, 1, 1),
		"len too big": metadata(4096, 3, evOpen, 1, 1),
	} {
		if _, err := decodeEvents(b, nil); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func FuzzDecodeEvents(f *testing.F) {
	f.Add(append(metadata(24, 3, evOpen, 7, 100), metadata(24, 3, evOpenExec, 8, 101)...))
	f.Add(metadata(4096, 3, evOpen, 1, 1))
	f.Fuzz(func(t *testing.T, b []byte) {
		evs, err := decodeEvents(b, nil)
		if err == nil && len(evs)*metadataLen > len(b) {
			t.Fatalf("%d events from %d bytes", len(evs), len(b))
		}
	})
}

func FuzzParseMountinfoLine(f *testing.F) {
	f.Add("26 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard")
	f.Add(`50 26 0:40 / /mnt/with\040space rw - tmpfs none rw`)
	f.Fuzz(func(t *testing.T, line string) {
		m, err := parseMountinfoLine(line)
		if err == nil && m.FSType == "" {
			t.Fatalf("no fstype and no error for %q", line)
		}
	})
}

// TestWatchSeesOnlyItsNamespace: a file opened, a directory listed and
// a program run by a process in the watched namespace are reported;
// a file read by a process outside it at the same time is not.
func TestWatchSeesOnlyItsNamespace(t *testing.T) {
	testenv.NeedRoot(t)
	dir := t.TempDir()
	inside := filepath.Join(dir, "inside.txt")
	outside := filepath.Join(dir, "outside.txt")
	sub := filepath.Join(dir, "sub")
	made := filepath.Join(dir, "made.txt")
	os.WriteFile(inside, []byte("in\n"), 0o644)
	os.WriteFile(outside, []byte("out\n"), 0o644)
	os.Mkdir(sub, 0o755)
	w, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var cmd *exec.Cmd
	err = sandbox.WithPrivateMounts(func() error {
		if _, err := w.MarkNamespace("/proc/thread-self"); err != nil {
			return err
		}
		if err := w.Start(); err != nil {
			return err
		}
		cmd = exec.Command("/bin/sh", "-c", "cat "+inside+" >/dev/null; ls "+sub+"; echo x > "+made+"; sleep 0.3")
		return cmd.Start()
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.ReadFile(outside); err != nil { // while the command runs
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	res, err := w.Stop()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Access{}
	for _, a := range res.Accesses {
		got[a.Path] = a
	}
	sh, _ := filepath.EvalSymlinks("/bin/sh")
	cat, _ := filepath.EvalSymlinks("/bin/cat")
	for p, check := range map[string]func(Access) bool{
		inside: func(a Access) bool { return !a.Exec && !a.Dir },
		sub:    func(a Access) bool { return a.Dir },
		sh:     func(a Access) bool { return a.Exec },
		cat:    func(a Access) bool { return a.Exec },
		made:   func(a Access) bool { return a.Written && a.Created },
	} {
		a, ok := got[p]
		if !ok || !check(a) {
			t.Errorf("%s: %+v (seen %v)", p, a, ok)
		}
	}
	if _, ok := got[outside]; ok {
		t.Errorf("%s was read outside the namespace but reported", outside)
	}
	if res.Events < len(res.Accesses) {
		t.Errorf("%d events for %d paths", res.Events, len(res.Accesses))
	}
}
