package ptrace

import (
	"strings"
	"testing"

	"github.com/scratchpack/scratchpack/collect"
)

func TestTraceCat(t *testing.T) {
	res, out := traced(t, Options{}, "/bin/cat", "/etc/hostname")
	if res.Status.ExitStatus() != 0 {
		t.Fatalf("exit %v: %s", res.Status, out)
	}
	m := usePaths(res)
	for _, p := range []string{"/etc/hostname", "/bin/cat", "/etc/ld.so.cache"} {
		if _, ok := m[p]; !ok {
			t.Errorf("%s not seen; saw %v", p, m)
		}
	}
	t.Logf("stops %d calls %v", res.Stops, res.Calls)
}

// TestUsesSourcePtrace: the tracer's uses say they are its own (the
// report's reasons, "listed by ptrace at pid N" in a missing path's
// error), not strace's, and where they were seen: the pid, not a line of
// a log there is none of.
func TestUsesSourcePtrace(t *testing.T) {
	res, out := traced(t, Options{}, "/bin/cat", "/etc/hostname")
	if res.Status.ExitStatus() != 0 {
		t.Fatalf("exit %v: %s", res.Status, out)
	}
	for _, u := range res.Uses {
		if u.Source != collect.SourcePtrace || !strings.HasPrefix(u.Where, "pid ") {
			t.Errorf("%s: source %q, where %q", u.Path, u.Source, u.Where)
		}
	}
}
