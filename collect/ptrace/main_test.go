package ptrace

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// TestMain makes the test binary its own launcher: started by Start, it
// runs its arguments through Exec.
func TestMain(m *testing.M) {
	if Launching() {
		prog, err := exec.LookPath(os.Args[1])
		if err == nil && os.Getenv(forkLauncherEnv) != "" {
			err = forkLaunch(prog, os.Args[1:])
		} else if err == nil {
			err = Exec(prog, os.Args[1:], os.Environ())
		}
		fmt.Fprintln(os.Stderr, "launcher:", err)
		os.Exit(127)
	}
	helper()
	os.Exit(m.Run())
}

// traced runs argv under the tracer; the launcher is this test binary.
func traced(t testing.TB, o Options, argv ...string) (*Result, string) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	o.Args = append([]string{self}, argv...)
	if o.Stdout == nil {
		o.Stdout = &out
	}
	if o.Stderr == nil {
		o.Stderr = &out
	}
	r, err := Start(o)
	if err != nil {
		t.Fatalf("starting %v: %v", argv, err)
	}
	res, err := r.Wait()
	if err != nil {
		t.Fatalf("tracing %v: %v", argv, err)
	}
	return res, out.String()
}

// usePaths maps each used path to its use.
func usePaths(res *Result) map[string]string {
	m := map[string]string{}
	for _, u := range res.Uses {
		m[u.Path] = fmt.Sprintf("need=%d detail=%s created=%v", u.Need, u.Detail, u.Created)
	}
	return m
}
