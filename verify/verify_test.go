package verify_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scratchpack/scratchpack"
	"github.com/scratchpack/scratchpack/internal/testenv"
	"github.com/scratchpack/scratchpack/verify"
)

func need(t *testing.T) {
	t.Helper()
	testenv.Need(t, "strace", "/usr/games/fortune", "chroot")
	testenv.NeedRoot(t)
}

// fortuneArchive packs fortune with scratchpack's pipeline (its files,
// and the libraries deps finds), leaving out entries that contain drop.
func fortuneArchive(t *testing.T, drop string) string {
	t.Helper()
	dir := t.TempDir()
	files, _ := filepath.Glob("/usr/share/games/fortunes/*")
	lst := filepath.Join(dir, "fortune.lst")
	os.WriteFile(lst, []byte("/usr/games/fortune\n"+strings.Join(files, "\n")+"\n"), 0o644)
	l, err := scratchpack.List(context.Background(), scratchpack.ListOptions{Lists: []string{lst}, ResolveDeps: true})
	if err != nil {
		t.Fatal(err)
	}
	kept := l.Entries[:0]
	for _, e := range l.Entries {
		if drop == "" || !strings.Contains(e.Path, drop) {
			kept = append(kept, e)
		}
	}
	l.Entries = kept
	out := filepath.Join(dir, "rootfs.tar.gz")
	if _, err := scratchpack.Pack(context.Background(), l, scratchpack.PackOptions{Output: out}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestVerifyFortune(t *testing.T) {
	need(t)
	good := fortuneArchive(t, "")
	r, err := verify.Verify(context.Background(), verify.Options{Archive: good, Command: []string{"/usr/games/fortune"}})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Match || r.Image.ExitCode != 0 || r.Image.Stdout == "" {
		t.Fatalf("good rootfs: %+v", r)
	}

	bad := fortuneArchive(t, "librecode")
	r, err = verify.Verify(context.Background(), verify.Options{Archive: bad, Command: []string{"/usr/games/fortune"}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Match || r.Image.ExitCode != 127 {
		t.Fatalf("rootfs without librecode matched: %+v", r)
	}
	var found bool
	for _, m := range r.Missing {
		if strings.HasSuffix(m.Path, "/librecode.so.0") && m.By == "/usr/games/fortune" {
			found = true
			if !strings.Contains(m.String(), "needed by /usr/games/fortune") {
				t.Errorf("message %q", m)
			}
		}
	}
	if !found {
		t.Errorf("librecode.so.0 not named: %+v", r.Missing)
	}
	if len(r.Includes) == 0 || !strings.Contains(strings.Join(r.Includes, " "), "librecode.so.0") {
		t.Errorf("includes: %v", r.Includes)
	}
	for _, m := range r.Missing {
		if _, err := os.Lstat(m.Path); err != nil {
			t.Errorf("%s is reported missing but the host lacks it too", m.Path)
		}
	}
}

func TestVerifyOutputAndEnv(t *testing.T) {
	need(t)
	good := fortuneArchive(t, "")
	// fortune -e picks files with equal odds: the output differs between runs
	r, err := verify.Verify(context.Background(), verify.Options{Archive: good, Command: []string{"/usr/games/fortune", "-f"}, CompareOutput: true})
	if err != nil {
		t.Fatal(err)
	}
	// "fortune -f" lists the files it would choose from, on stderr; stdout is empty on both
	if !r.Match {
		t.Errorf("fortune -f: %+v", r)
	}
	if _, err := verify.Verify(context.Background(), verify.Options{Archive: good, Command: []string{"/usr/games/fortune"}, Env: []string{"NOEQUALS"}}); err == nil {
		t.Error("a bad --env was accepted")
	}
}
