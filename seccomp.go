package scratchpack

import (
	"sort"
	"strings"

	"github.com/pkg/errors"

	"github.com/scratchpack/scratchpack/collect/strace"
	"github.com/scratchpack/scratchpack/collect/tracer"
	"github.com/scratchpack/scratchpack/seccomp"
)

// validateSeccomp checks --seccomp-profile before any work.
func (o BuildOptions) validateSeccomp() error {
	if o.SeccompProfile == "" {
		return nil
	}
	if o.Trace.Collector == tracer.Fanotify {
		return errors.New("--seccomp-profile needs the ptrace or strace collector: fanotify does not see syscalls")
	}
	return nil
}

// seccompCount is what the list phase counts for --seccomp-profile:
// every syscall of the trace, in the pass that reads its paths, but for
// the launcher that chrooted into the root.
func (o BuildOptions) seccompCount(rn *run) *strace.Counting {
	if o.SeccompProfile == "" {
		return nil
	}
	var skip []string
	topts := tracer.Options{Launcher: o.Trace.Launcher}
	if rn.root != "/" {
		topts.Root = rn.res.Root()
	}
	if l := tracer.LauncherProgram(topts); l != "" {
		skip = append(skip, l)
	}
	return &strace.Counting{CallOptions: strace.CallOptions{Skip: skip}}
}

// seccomp writes the seccomp profile of a run traced with every syscall
// (BuildOptions.SeccompProfile) from the calls the list phase counted:
// what the command's processes made, not the launcher, plus what the
// container runtime needs to start it.
func (r *BuildResult) seccomp(o BuildOptions, count *strace.Counting) error {
	if count == nil {
		return nil
	}
	if o.Trace.Collector == tracer.Ptrace {
		// counted by the tracer itself, from the command's execve on (the
		// launcher loads the filter right before it): no log to read
		count.Calls = ptraceCalls(r.Trace.Calls)
	}
	if count.Calls == nil {
		return errors.New("--seccomp-profile: the trace's syscalls were not counted")
	}
	var err error
	if r.Seccomp, err = seccomp.FromCalls(count.Calls, seccomp.Options{Warn: o.Warn}); err != nil {
		return errors.WithMessage(err, "--seccomp-profile")
	}
	return r.Seccomp.Profile.Write(o.SeccompProfile)
}

// ReportSeccomp says what the seccomp profile of a build allows.
type ReportSeccomp struct {
	Path    string `json:"path"`
	Traced  int    `json:"traced_syscalls"`  // made by the command's processes
	Runtime int    `json:"runtime_syscalls"` // added for the container runtime
	Calls   int    `json:"calls"`            // calls counted in the trace
}

func (r *BuildResult) seccompReport(o BuildOptions) *ReportSeccomp {
	sc := r.Seccomp
	if sc == nil {
		return nil
	}
	rs := &ReportSeccomp{Path: o.SeccompProfile, Traced: sc.Traced, Runtime: sc.Runtime}
	for _, n := range sc.Calls.Counts {
		rs.Calls += n
	}
	return rs
}

// ptraceCalls are the counts of a ptrace run as strace.CountCalls gives
// them: numbers without a name are unnamed.
func ptraceCalls(counts map[string]int) *strace.Calls {
	c := &strace.Calls{Counts: map[string]int{}}
	for name, n := range counts {
		if strings.HasPrefix(name, "syscall_0x") {
			c.Unnamed += n
			c.UnnamedNames = append(c.UnnamedNames, name)
			continue
		}
		c.Counts[name] = n
	}
	sort.Strings(c.UnnamedNames)
	return c
}
