package ptrace

import (
	"testing"
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
