package ptrace

import (
	"os"
	"testing"

	"github.com/scratchpack/scratchpack/internal/testenv"
)

// TestPrivilegeDrop: a worker that drops to uid 33 after a fork, traced
// without CAP_SYS_PTRACE, still shows every path it uses (the tracer
// makes it dumpable again) and its failed lookup, with its program (what
// verify names), and nothing is unreadable. Without the injection its
// paths are unreadable, and counted.
func TestPrivilegeDrop(t *testing.T) {
	if !testenv.UnderDockerCaps(t, "TestPrivilegeDrop") {
		return
	}
	for _, inject := range []bool{true, false} {
		res, out := traced(t, Options{noInject: !inject, Failed: true, Env: append(os.Environ(), helperEnv+"=dropper")}, os.Args[0])
		if res.Status.ExitStatus() != 0 {
			t.Fatalf("exit %v: %s", res.Status, out)
		}
		m := usePaths(res)
		if inject {
			for _, p := range append(dropFiles, "/usr/share") {
				if _, ok := m[p]; !ok {
					t.Errorf("%s not seen after the drop", p)
				}
			}
			if len(res.Unreadable) > 0 {
				t.Errorf("unreadable: %+v", res.Unreadable)
			}
			// its failed lookup, with the program that made it (verify
			// names it as missing)
			self, _ := os.Executable()
			found := false
			for _, e := range res.Failed {
				if e.Path == dropMissing {
					found = e.Errno == "ENOENT" && e.Exe == self
					t.Logf("after the drop: %+v", e)
				}
			}
			if !found {
				t.Errorf("the worker's failed lookup of %s (ENOENT, by %s) is not among the failed calls: %+v", dropMissing, self, res.Failed)
			}
			continue
		}
		n := 0
		for _, u := range res.Unreadable {
			n += u.Count
			if u.UID != 33 {
				t.Errorf("unreadable calls of uid %d, want 33: %+v", u.UID, u)
			}
		}
		t.Logf("without the injection: %+v", res.Unreadable)
		if n < 4 {
			t.Errorf("without the injection: %d unreadable calls (%+v), want the dropped worker's", n, res.Unreadable)
		}
	}
}
