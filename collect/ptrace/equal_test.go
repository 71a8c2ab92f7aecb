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

// TestFailedAsStrace: with Failed, the calls that failed are the strace
// collector's with strace.Options.Failed: each path and errno that one
// reports, with a program that made the call (Event.Exe), and no other.
func TestFailedAsStrace(t *testing.T) {
	testenv.Need(t, "strace")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		argv []string
		want []string // "path errno exe" that must be among them
	}{
		{"open and stat", []string{"/bin/sh", "-c", "cat /etc/sp-no-such-file 2>/dev/null; test -e /usr/share/sp-none; exit 0"},
			[]string{"/etc/sp-no-such-file ENOENT /usr/bin/cat", "/usr/share/sp-none ENOENT /bin/sh"}},
		{"PATH search", []string{"/bin/sh", "-c", "sp-no-such-command 2>/dev/null; exit 0"},
			[]string{"/usr/bin/sp-no-such-command ENOENT /bin/sh"}},
		{"a missing library", []string{"/bin/sh", "-c", "LD_LIBRARY_PATH=/opt/sp-none /bin/true"},
			[]string{"/opt/sp-none/libc.so.6 ENOENT /bin/true"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			env := []string{"PATH=/usr/local/bin:/usr/bin:/bin"}
			log := filepath.Join(dir, "strace.log")
			args := tracer.Args("strace", tracer.SupportsSeccomp("strace"), tracer.Options{Command: c.argv, Log: log})
			cmd := exec.Command(args[0], args[1:]...)
			cmd.Env = env
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("strace %v: %v\n%s", c.argv, err, out)
			}
			key := func(e strace.Event) string { return e.Path + " " + e.Errno }
			// strace's: every program that made each failed call
			want := map[string]map[string]bool{}
			err := strace.ParseFiles([]string{log}, strace.Options{Failed: true}, func(e strace.Event) {
				if e.OK || e.Path == "" || strings.HasPrefix(e.Path, "/proc/") {
					return
				}
				if want[key(e)] == nil {
					want[key(e)] = map[string]bool{}
				}
				want[key(e)][e.Exe] = true
			})
			if err != nil {
				t.Fatal(err)
			}
			var out strings.Builder
			r, err := ptrace.Start(ptrace.Options{Args: append([]string{self}, c.argv...), Env: env, Stdout: &out, Stderr: &out, Failed: true})
			if err != nil {
				t.Fatal(err)
			}
			res, err := r.Wait()
			if err != nil || res.Status.ExitStatus() != 0 {
				t.Fatalf("ptrace run: %v %v\n%s", err, res.Status, out.String())
			}
			got := map[string]string{}
			for _, e := range res.Failed {
				if e.OK || e.Errno == "" || e.File != "ptrace" || e.Line <= 0 {
					t.Errorf("not a failed call: %+v", e)
				}
				if strings.HasPrefix(e.Path, "/proc/") {
					continue
				}
				if _, dup := got[key(e)]; dup {
					t.Errorf("%s twice", key(e))
				}
				got[key(e)] = e.Exe
			}
			for k, exes := range want {
				exe, ok := got[k]
				switch {
				case !ok:
					t.Errorf("ptrace misses the failed call %s (strace: by %v)", k, exes)
				case !exes[exe]:
					t.Errorf("%s: ptrace says by %q, strace by %v", k, exe, exes)
				}
			}
			for k, exe := range got {
				if want[k] == nil {
					t.Errorf("ptrace has a failed call strace has not: %s by %s", k, exe)
				}
			}
			for _, w := range c.want {
				f := strings.Fields(w)
				if exe, ok := got[f[0]+" "+f[1]]; !ok || exe != f[2] {
					t.Errorf("%s: got by %q (present: %v)", w, exe, ok)
				}
			}
			t.Logf("%d failed calls alike", len(got))
		})
	}
}
