package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// TestFromSeccompProfile: build --from with --seccomp-profile allows the
// same calls under both collectors as the same command without --from,
// the same as the command's and the same as the runtime's, and none of
// the container's setup (mount, pivot_root, sethostname, umount2: the
// launcher's, not the command's, nor the chroot, setgroups and
// rt_sigaction of the init's child before it execs the command, which
// went in when the tracer heard of the child before its parent's fork).
// The image is made by build --image oci: itself (no podman); a few
// seconds.
func TestFromSeccompProfile(t *testing.T) {
	need(t, "strace", "/bin/true")
	dir := t.TempDir()
	if code, _, stderr := run(t, dir, "build", "-q", "-o", "base.tar.gz", "--image", "oci:"+filepath.Join(dir, "oci"), "--", "/bin/true"); code != 0 {
		t.Fatalf("making the image: exit %d: %s", code, stderr)
	}
	allowed := func(name string) string {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		var p struct{ Syscalls []struct{ Names []string } }
		if err := json.Unmarshal(data, &p); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		// each rule's names: the traced calls, then the runtime's
		var out []string
		for _, s := range p.Syscalls {
			names := append([]string{}, s.Names...)
			sort.Strings(names)
			out = append(out, strings.Join(names, " "))
		}
		return " " + strings.Join(out, " | ") + " "
	}
	for _, c := range []string{"ptrace", "strace"} {
		if code, _, stderr := run(t, dir, "build", "-q", "--collector", c, "-o", c+".tar.gz", "--seccomp-profile", c+".json", "--", "/bin/true"); code != 0 {
			t.Fatalf("%s: exit %d: %s", c, code, stderr)
		}
		if code, _, stderr := run(t, dir, "build", "-q", "--collector", c, "--from", "oci:"+filepath.Join(dir, "oci"), "--cache-dir", filepath.Join(dir, "cache"),
			"-o", c+"-from.tar.gz", "--seccomp-profile", c+"-from.json"); code != 0 {
			t.Fatalf("%s --from: exit %d: %s", c, code, stderr)
		}
		from := allowed(c + "-from.json")
		for _, n := range []string{"mount", "pivot_root", "sethostname", "umount2", "pidfd_send_signal", "wait4"} {
			if strings.Contains(from, " "+n+" ") {
				t.Errorf("%s --from: the profile allows %s (the container's setup)", c, n)
			}
		}
		// (strace links the init's children through --pidns-translation:
		// their clone returns pids of the container's namespace)
		if plain := allowed(c + ".json"); from != plain {
			t.Errorf("%s: the profiles differ:\n plain:%s\n --from:%s", c, plain, from)
		}
	}
}
