package ptrace_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/scratchpack/scratchpack/collect"
	"github.com/scratchpack/scratchpack/collect/ptrace"
	"github.com/scratchpack/scratchpack/collect/strace"
	"github.com/scratchpack/scratchpack/collect/tracer"
	"github.com/scratchpack/scratchpack/internal/testenv"
)

// useKey is what must agree between the collectors for one path.
func useKey(u collect.Use) string {
	return u.Path + " need=" + string(rune('0'+u.Need)) + " created=" + boolStr(u.Created) + " deleted=" + boolStr(u.Deleted)
}

func boolStr(b bool) string {
	if b {
		return "y"
	}
	return "n"
}

// TestSameUsesAsStrace traces programs with both collectors: every use
// the strace collector records, the ptrace one records alike.
func TestSameUsesAsStrace(t *testing.T) {
	testenv.Need(t, "strace")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		helper string
		argv   []string
		// extra are uses only the ptrace collector has, with the reason
		extra map[string]string
	}{
		{name: "pipeline", argv: []string{"/bin/sh", "-c", "cat /etc/hostname | wc -c > /dev/null; ls /usr/share/doc | head -1 > /dev/null; cd /etc && cat ./passwd > /dev/null"}},
		{name: "thread-exec", helper: "threadexec", argv: []string{self}},
		{name: "at-calls", helper: "atcalls", argv: []string{self, "DIR"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			run := func(sub string) (argv, env []string) {
				d := filepath.Join(dir, sub)
				if err := os.Mkdir(d, 0o755); err != nil {
					t.Fatal(err)
				}
				argv = append([]string{}, c.argv...)
				for i := range argv {
					argv[i] = strings.ReplaceAll(argv[i], "DIR", d)
				}
				env = os.Environ()
				if c.helper != "" {
					env = append(env, "PTRACE_TEST_HELPER="+c.helper)
				}
				return argv, env
			}
			argv, env := run("strace")
			log := filepath.Join(dir, "strace.log")
			args := tracer.Args("strace", tracer.SupportsSeccomp("strace"), tracer.Options{Command: argv, Log: log})
			cmd := exec.Command(args[0], args[1:]...)
			cmd.Env = env
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("strace %v: %v\n%s", argv, err, out)
			}
			want, _, err := collect.FromStrace([]string{log}, strace.Options{})
			if err != nil {
				t.Fatal(err)
			}
			argv, env = run("ptrace")
			var out strings.Builder
			r, err := ptrace.Start(ptrace.Options{Args: append([]string{self}, argv...), Env: env, Stdout: &out, Stderr: &out})
			if err != nil {
				t.Fatal(err)
			}
			res, err := r.Wait()
			if err != nil {
				t.Fatal(err)
			}
			if res.Status.ExitStatus() != 0 {
				t.Fatalf("ptrace run: %v\n%s", res.Status, out.String())
			}
			norm := func(uses []collect.Use, sub string) map[string]bool {
				m := map[string]bool{}
				for _, u := range uses {
					u.Path = strings.ReplaceAll(u.Path, filepath.Join(dir, sub), "DIR")
					if strings.HasPrefix(u.Path, "/proc/") {
						continue // (pids differ)
					}
					m[useKey(u)] = true
				}
				return m
			}
			w, g := norm(want, "strace"), norm(res.Uses, "ptrace")
			var missing, extra []string
			for k := range w {
				if !g[k] {
					missing = append(missing, k)
				}
			}
			for k := range g {
				if !w[k] && c.extra[strings.Fields(k)[0]] == "" {
					extra = append(extra, k)
				}
			}
			sort.Strings(missing)
			sort.Strings(extra)
			for _, m := range missing {
				t.Errorf("ptrace misses %s", m)
			}
			for _, e := range extra {
				t.Errorf("ptrace has, without a reason, %s", e)
			}
			t.Logf("%d uses alike; %d stops", len(w), res.Stops)
			if testing.Verbose() {
				for k := range g {
					t.Log(k)
				}
			}
		})
	}
}
