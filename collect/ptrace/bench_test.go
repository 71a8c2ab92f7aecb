package ptrace

import (
	"testing"
	"time"
)

// BenchmarkTarPython traces the bench workload of scripts/bench.sh (tar
// of python's library into wc) and reports the stops.
func BenchmarkTarPython(b *testing.B) {
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		res, _ := traced(b, Options{}, "/bin/sh", "-c", "tar -cf - /usr/lib/python3.11 2>/dev/null | wc -c")
		b.ReportMetric(float64(res.Stops), "stops/op")
		b.Logf("%v: %d stops, calls %v", time.Since(t0), res.Stops, res.Calls)
	}
}
