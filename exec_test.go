package scratchpack

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scratchpack/scratchpack/collect/tracer"
)

func TestSplitPlain(t *testing.T) {
	for _, c := range []struct {
		in    string
		words []string
		ok    bool
	}{
		{"python3 -c 'import sqlite3'", []string{"python3", "-c", "import sqlite3"}, true},
		{`jq -c "." in.json`, []string{"jq", "-c", ".", "in.json"}, true},
		{`a\ b "c \"d\"" ''`, []string{"a b", `c "d"`, ""}, true},
		{"  ls   -l  ", []string{"ls", "-l"}, true},
		{"./run --opt=1 x=y", []string{"./run", "--opt=1", "x=y"}, true},
		{"", nil, true},
		{"echo $HOME", nil, false},
		{`echo "$HOME"`, nil, false},
		{"ls *.txt", nil, false},
		{"a | b", nil, false},
		{"a; b", nil, false},
		{"a && b", nil, false},
		{"a > f", nil, false},
		{"X=1 app", nil, false},
		{"cat ~/x", nil, false},
		{"app # comment", nil, false},
		{"echo 'unclosed", nil, false},
		{`echo "unclosed`, nil, false},
		{"echo `id`", nil, false},
		{"trailing\\", nil, false},
	} {
		words, ok := SplitPlain(c.in)
		if ok != c.ok || ok && !reflect.DeepEqual(words, c.words) {
			t.Errorf("SplitPlain(%q) = %q, %v; want %q, %v", c.in, words, ok, c.words, c.ok)
		}
	}
	if got := execArgv("a | b"); !reflect.DeepEqual(got, []string{"/bin/sh", "-c", "a | b"}) {
		t.Errorf("execArgv with a pipe: %q", got)
	}
}

// FuzzSplitPlain: never panics; plain words (no quote or special byte)
// come back as they are.
func FuzzSplitPlain(f *testing.F) {
	for _, s := range []string{"python3 -c 'import x'", `a\ b "c \"d\""`, "a | b", "X=1 y", "'", `"\`, "\\"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		words, ok := SplitPlain(s)
		if !ok {
			return
		}
		if strings.ContainsAny(s, `'"\`) {
			return
		}
		if want := strings.Fields(s); len(want) != len(words) {
			t.Errorf("SplitPlain(%q) = %q, want %q", s, words, want)
		}
	})
}

func TestReadExecFile(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "execs")
	writeFile(t, f, "# the test suite\npython3 -m a\n\n  python3 -m b  \n", 0o644)
	got, err := ReadExecFile(f)
	if err != nil || !reflect.DeepEqual(got, []string{"python3 -m a", "python3 -m b"}) {
		t.Errorf("ReadExecFile: %q %v", got, err)
	}
	writeFile(t, f, "# nothing\n", 0o644)
	if _, err := ReadExecFile(f); err == nil || !strings.Contains(err.Error(), f) {
		t.Errorf("an empty --exec-file: %v", err)
	}
}

// TestBuildExec: the command imports nothing much; an --exec imports
// sqlite3 (a C extension and libsqlite3), which only it reaches. Both run
// in the empty root; the report tags sqlite3's files with the exec. An exec that fails is an error
// that names it. Under every collector.
func TestBuildExec(t *testing.T) {
	needTools(t, "strace", "tar", "/usr/bin/python3")
	py := "/usr/bin/python3"
	exec := py + ` -c 'import sqlite3; print(sqlite3.connect(":memory:").execute("select 6*7").fetchone()[0])'`
	for _, c := range []tracer.Collector{tracer.Strace, tracer.Fanotify, tracer.Ptrace} {
		t.Run(string(c), func(t *testing.T) {
			root, r := build(t, BuildOptions{
				Command: []string{py, "-c", "print(1)"},
				Execs:   []string{exec},
				Trace:   tracer.Options{Collector: c, Launcher: testLauncherArgs(t)},
			})
			if out := runIn(t, root, "/", py, "-c", "print(1)"); out != "1\n" {
				t.Errorf("the command in the empty root: %q", out)
			}
			if out := runIn(t, root, "/", py, "-c", `import sqlite3; print(sqlite3.connect(":memory:").execute("select 6*7").fetchone()[0])`); out != "42\n" {
				t.Errorf("the exec's path in the empty root: %q", out)
			}
			if len(r.Execs) != 1 || r.Execs[0].ExitCode != 0 || r.Execs[0].Command != exec {
				t.Errorf("exec runs: %+v", r.Execs)
			}
			data, err := os.ReadFile(r.Report)
			if err != nil {
				t.Fatal(err)
			}
			var rep Report
			if err := json.Unmarshal(data, &rep); err != nil {
				t.Fatal(err)
			}
			tagged := false
			for _, e := range rep.Entries {
				if strings.Contains(e.Path, "_sqlite3") {
					for _, why := range e.Reasons {
						tagged = tagged || why.Exec == exec
					}
				}
			}
			if !tagged || len(rep.Execs) != 1 {
				t.Errorf("the report does not tag _sqlite3 with the exec (execs: %+v)", rep.Execs)
			}
		})
	}
	_, err := Build(context.Background(), BuildOptions{
		Command: []string{py, "-c", "print(1)"},
		Execs:   []string{py + " -c 'import no_such_module'"},
		Env:     cleanEnv,
		Trace:   tracer.Options{Stdout: io.Discard, Stderr: io.Discard},
		Pack:    PackOptions{Output: filepath.Join(t.TempDir(), "r.tar.gz")},
	})
	if err == nil || !strings.Contains(err.Error(), "import no_such_module") || !strings.Contains(err.Error(), "status 1") {
		t.Errorf("a failing exec: %v", err)
	}
}

// TestBuildExecDuringServer: with probes the exec runs while the server
// runs, after they succeeded: it reads what the server wrote, and the
// server is stopped only after it.
func TestBuildExecDuringServer(t *testing.T) {
	needTools(t, "strace", "tar")
	for _, c := range []tracer.Collector{tracer.Strace, tracer.Fanotify, tracer.Ptrace} {
		t.Run(string(c), func(t *testing.T) {
			data := t.TempDir()
			// the state is there while the server runs
			server := `echo up > ` + data + `/state; trap 'rm -f ` + data + `/state; exit 0' TERM; touch ` + data + `/ready; while :; do sleep 0.05; done`
			root, r := build(t, BuildOptions{
				Command: []string{"/bin/sh", "-c", server},
				// the first fails unless the server still runs
				Execs: []string{"/bin/grep -q up " + data + "/state", "/usr/bin/wc -c /etc/hostname"},
				Trace: tracer.Options{Collector: c, Launcher: testLauncherArgs(t), Probes: []string{"test -e " + data + "/ready"}},
			})
			if !r.Trace.Stopped || len(r.Execs) != 2 || !r.Execs[0].During {
				t.Errorf("stopped %v execs %+v", r.Trace.Stopped, r.Execs)
			}
			for _, p := range []string{"usr/bin/grep", "usr/bin/wc", "etc/hostname"} {
				if _, err := os.Stat(filepath.Join(root, p)); err != nil {
					t.Errorf("%s (used by an exec) is not in the archive", p)
				}
			}
			if out := runIn(t, root, "/", "/usr/bin/wc", "-c", "/etc/hostname"); !strings.Contains(out, "/etc/hostname") {
				t.Errorf("wc in the empty root: %q", out)
			}
		})
	}
}

// TestBuildSparesCallersChild: a library caller with a child of its own
// builds a server that detaches a daemon, with an --exec run while it
// serves: the build's sweeps kill the daemon, and the caller's child
// keeps running.
func TestBuildSparesCallersChild(t *testing.T) {
	needTools(t, "strace", "tar", "sleep")
	for _, c := range []tracer.Collector{tracer.Strace, tracer.Ptrace} {
		t.Run(string(c), func(t *testing.T) { sparesCallersChild(t, c) })
	}
}

func sparesCallersChild(t *testing.T, c tracer.Collector) {
	child := exec.Command("sleep", "300")
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { child.Process.Kill(); child.Wait() }()
	data := t.TempDir()
	// double fork: the daemon's parent exits at once
	server := "(setsid sh -c 'echo $$ > " + data + "/pid; touch " + data + "/ready; exec sleep 300' &) ; exit 0"
	_, r := build(t, BuildOptions{
		Command: []string{"/bin/sh", "-c", server},
		Execs:   []string{"/usr/bin/wc -c /etc/hostname"},
		Trace:   tracer.Options{Collector: c, Launcher: testLauncherArgs(t), Probes: []string{"test -e " + data + "/ready"}, Grace: time.Second},
	})
	if !r.Trace.Stopped || len(r.Execs) != 1 || !r.Execs[0].During {
		t.Errorf("stopped %v execs %+v", r.Trace.Stopped, r.Execs)
	}
	b, _ := os.ReadFile(filepath.Join(data, "pid"))
	daemon, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if daemon == 0 || syscall.Kill(daemon, 0) == nil {
		t.Errorf("the daemon (%d) did not start or is still running", daemon)
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(child.Process.Pid) + "/stat")
	if f := strings.Fields(string(stat)); err != nil || len(f) < 3 || f[2] == "Z" {
		t.Errorf("the caller's child %d did not survive the build: %v %s", child.Process.Pid, err, stat)
	}
}
