package tracer

import (
	"fmt"
	"strings"

	"github.com/scratchpack/scratchpack/collect"
)

// UnreadableFix is what to do about paths strace could not read.
const UnreadableFix = "the files these calls named may be missing from the image: " +
	"trace with --collector ptrace (scratchpack's own tracer, which keeps such processes readable), " +
	"or give the build CAP_SYS_PTRACE (docker/podman build --cap-add SYS_PTRACE)"

// UnreadablePtraceFix is what to do about paths scratchpack's own
// tracer could not read: it is the collector UnreadableFix advises, so
// only the capability is left.
const UnreadablePtraceFix = "the files these calls named may be missing from the image: " +
	"scratchpack's tracer could not read them; give the build CAP_SYS_PTRACE (docker/podman build --cap-add SYS_PTRACE)"

// UnreadableError is a trace in which processes made calls whose path
// the collector could not read: a process that changed its uid without
// exec (apache's and mariadb's workers) became non-dumpable, and strace,
// without CAP_SYS_PTRACE (in a docker or podman build), printed an
// address instead of the path. A build, or a verify, warns with one per
// process; with Strict it fails with one naming them all.
type UnreadableError struct {
	Processes []collect.Unreadable
	Strict    bool
	// Collector is the one that traced (its fix is not to use it): ""
	// is strace's, whose logs filelist --strace reads.
	Collector Collector
	// Outcome is what Strict made of them: "" is a build's, "nothing
	// was written".
	Outcome string
}

func (e *UnreadableError) Error() string {
	var b strings.Builder
	if e.Strict {
		n := 0
		for _, p := range e.Processes {
			n += p.Count
		}
		outcome := e.Outcome
		if outcome == "" {
			outcome = "nothing was written"
		}
		fmt.Fprintf(&b, "--strict: %d calls of %d processes named a path that could not be read, and %s: ", n, len(e.Processes), outcome)
	}
	for i, p := range e.Processes {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p.String())
	}
	fix := UnreadableFix
	if e.Collector == Ptrace {
		fix = UnreadablePtraceFix
	}
	b.WriteString("; " + fix)
	return b.String()
}
