package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Need checks that each tool is on PATH (or, with a slash, exists).
func Need(t testing.TB, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			missing(t, tool+" is not installed (make test-deps installs it)")
		}
	}
}

// NeedRoot checks that the test runs as root (chroot, mounts, owners).
func NeedRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		missing(t, "this test needs root (chroot, mounts, owners)")
	}
}

func missing(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatal(why)
	}
	t.Skip(why)
}

// DockerCaps is docker's default capability set (no CAP_SYS_PTRACE, no
// CAP_SYS_ADMIN), as setpriv's --bounding-set takes it: what
// `RUN scratchpack build` has in a `docker build`.
const DockerCaps = "-all,+chown,+dac_override,+fsetid,+fowner,+mknod,+net_raw,+setgid,+setuid,+setfcap,+setpcap,+net_bind_service,+sys_chroot,+kill,+audit_write"

// underCapsEnv marks the test binary re-run by UnderDockerCaps.
const underCapsEnv = "SCRATCHPACK_TEST_DOCKER_CAPS"

// UnderDockerCaps runs the test named run again, in a copy of the test
// binary started as root with only DockerCaps, and fails t unless it
// passes there. It returns true in that copy, which then does the work,
// and false in the caller, which is done.
func UnderDockerCaps(t testing.TB, run string) bool {
	t.Helper()
	if os.Getenv(underCapsEnv) != "" {
		status, _ := os.ReadFile("/proc/self/status")
		if !strings.Contains(string(status), "\nCapEff:\t00000000a80425fb\n") {
			t.Fatalf("not docker's default capabilities:\n%s", status)
		}
		return true
	}
	NeedRoot(t)
	Need(t, "setpriv")
	cmd := exec.Command("setpriv", "--bounding-set="+DockerCaps, "--inh-caps=-all", os.Args[0], "-test.run=^"+run+"$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), underCapsEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: "+run) {
		t.Fatalf("under docker's default capabilities: %v\n%s", err, out)
	}
	t.Logf("under docker's default capabilities:\n%s", out)
	return false
}

// RunOutsideTmp runs the tests of m with TMPDIR set to a new directory
// under /var/lib, removed afterwards, and returns their exit code:
// scratchpack leaves out what /tmp holds by default, and the tests trace
// programs and data they write into their temporary directories.
func RunOutsideTmp(m *testing.M) int {
	base, err := os.MkdirTemp("/var/lib", "scratchpack-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "creating a temporary directory outside /tmp:", err)
		return 1
	}
	defer os.RemoveAll(base)
	os.Chmod(base, 0o755)
	os.Setenv("TMPDIR", base)
	return m.Run()
}
