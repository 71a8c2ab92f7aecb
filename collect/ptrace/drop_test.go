package ptrace

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/scratchpack/scratchpack/internal/testenv"
)

// dockerCaps is docker's and podman's default capability set (no
// CAP_SYS_PTRACE, no CAP_SYS_ADMIN), as setpriv takes it.
const dockerCaps = "-all,+chown,+dac_override,+fsetid,+fowner,+mknod,+net_raw,+setgid,+setuid,+setfcap,+setpcap,+net_bind_service,+sys_chroot,+kill,+audit_write"

// innerEnv marks the test binary re-run under setpriv.
const innerEnv = "PTRACE_TEST_DOCKER_CAPS"

// underDockerCaps re-runs the test named run of this binary as root with
// docker's default capabilities; it reports whether the caller is that
// re-run (then it should do the work).
func underDockerCaps(t *testing.T, run string) bool {
	t.Helper()
	if os.Getenv(innerEnv) != "" {
		return true
	}
	testenv.NeedRoot(t) // (the worker drops to another uid)
	testenv.Need(t, "setpriv")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("setpriv", "--bounding-set="+dockerCaps, "--inh-caps=-all", self, "-test.run=^"+run+"$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), innerEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: "+run) {
		t.Errorf("under docker's default capabilities: %v\n%s", err, out)
	} else {
		t.Logf("under docker's default capabilities:\n%s", out)
	}
	return false
}

// TestPrivilegeDrop: a worker that drops to uid 33 after a fork, traced
// without CAP_SYS_PTRACE, still shows every path it uses (the tracer
// makes it dumpable again), and nothing is unreadable. Without the
// injection its paths are unreadable, and counted.
func TestPrivilegeDrop(t *testing.T) {
	if !underDockerCaps(t, "TestPrivilegeDrop") {
		return
	}
	status, _ := os.ReadFile("/proc/self/status")
	capEff, err := strconv.ParseUint(strings.TrimSpace(strings.TrimPrefix(grepLine(string(status), "CapEff:"), "CapEff:")), 16, 64)
	if err != nil || capEff&(1<<19|1<<21) != 0 {
		t.Fatalf("CAP_SYS_PTRACE or CAP_SYS_ADMIN is effective (%s): not docker's default set", grepLine(string(status), "CapEff:"))
	}
	for _, inject := range []bool{true, false} {
		res, out := traced(t, Options{noInject: !inject, Env: append(os.Environ(), helperEnv+"=dropper")}, os.Args[0])
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

func grepLine(s, key string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, key) {
			return l
		}
	}
	return ""
}
