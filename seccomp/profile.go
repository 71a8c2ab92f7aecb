package seccomp

import (
	"bytes"
	"encoding/json"
	"runtime"
	"sort"
	"strings"

	"github.com/pkg/errors"

	"github.com/scratchpack/scratchpack/collect/strace"
	"github.com/scratchpack/scratchpack/internal/atomicfile"
)

// Profile is a seccomp profile in the JSON format of Docker and Podman.
type Profile struct {
	DefaultAction   string    `json:"defaultAction"`
	DefaultErrnoRet *uint     `json:"defaultErrnoRet,omitempty"`
	ArchMap         []ArchMap `json:"archMap"`
	Syscalls        []Syscall `json:"syscalls"`
}

// ArchMap names the architecture whose syscall numbers the filter checks,
// and the compatible ones it accepts besides (x86 and x32 on x86_64). A
// call made in any other architecture's convention is refused.
type ArchMap struct {
	Architecture     string   `json:"architecture"`
	SubArchitectures []string `json:"subArchitectures"`
}

// Syscall is a rule: the names it allows.
type Syscall struct {
	Names   []string `json:"names"`
	Action  string   `json:"action"`
	Comment string   `json:"comment,omitempty"`
}

const (
	actErrno = "SCMP_ACT_ERRNO"
	actAllow = "SCMP_ACT_ALLOW"
	eperm    = 1
)

// scmpArch is libseccomp's name of each Go architecture.
var scmpArch = map[string]string{
	"amd64":   "SCMP_ARCH_X86_64",
	"386":     "SCMP_ARCH_X86",
	"arm64":   "SCMP_ARCH_AARCH64",
	"arm":     "SCMP_ARCH_ARM",
	"ppc64le": "SCMP_ARCH_PPC64LE",
	"s390x":   "SCMP_ARCH_S390X",
	"riscv64": "SCMP_ARCH_RISCV64",
}

// i386Only are syscalls that exist on x86 (32-bit) and not on x86_64:
// strace names a 32-bit process's calls from the x86 table, so they show
// that a process ran in 32-bit mode. (strace reports the switch itself
// only on its stderr, and an x32 process uses x86_64's names: x32 is
// never added.)
var i386Only = map[string]bool{
	"mmap2": true, "_llseek": true, "stat64": true, "lstat64": true, "fstat64": true,
	"fstatat64": true, "fcntl64": true, "socketcall": true, "ipc": true,
	"ugetrlimit": true, "waitpid": true, "sigreturn": true, "getuid32": true,
	"getgid32": true, "geteuid32": true, "getegid32": true, "statfs64": true,
	"fstatfs64": true, "truncate64": true, "ftruncate64": true, "sigprocmask": true,
	"sigaction": true, "_newselect": true,
	"clock_gettime64": true, "clock_nanosleep_time64": true, "futex_time64": true,
}

// Options configure FromLog.
type Options struct {
	// Arch is the Go architecture the trace ran on (default: this
	// program's, runtime.GOARCH).
	Arch string
	// Skip are programs whose calls are not the command's (the launcher
	// of a --root run: tracer.LauncherProgram).
	Skip []string
	Warn func(error)
}

// Result is a profile and what it was made from.
type Result struct {
	Profile *Profile
	Calls   *strace.Calls
	// Traced is the number of distinct syscalls the processes made;
	// Runtime the number added for the container runtime.
	Traced, Runtime int
}

// Total is the number of syscalls the profile allows.
func (r *Result) Total() int { return r.Traced + r.Runtime }

// FromLog makes the profile of a log of every syscall (strace -f without
// a filter: tracer.Options.AllSyscalls).
func FromLog(log string, o Options) (*Result, error) {
	calls, err := strace.CountCalls(log, strace.CallOptions{Skip: o.Skip, Warn: o.Warn})
	if err != nil {
		return nil, errors.WithMessage(err, "counting the syscalls for the seccomp profile")
	}
	return FromCalls(calls, o)
}

// FromCalls makes the profile of the calls counted in such a log (by
// CountCalls, or by the parser that reads its paths: strace.Counting,
// with o.Skip there), or by collect/ptrace.
func FromCalls(calls *strace.Calls, o Options) (*Result, error) {
	if o.Warn != nil && calls.Unnamed > 0 {
		o.Warn(errors.Errorf("seccomp profile: %d calls strace could not name (%s) are not allowed", calls.Unnamed, strings.Join(calls.UnnamedNames, ", ")))
	}
	p, err := New(calls.Names(), o.Arch)
	if err != nil {
		return nil, err
	}
	r := &Result{Profile: p, Calls: calls, Traced: len(p.Syscalls[0].Names)}
	if len(p.Syscalls) > 1 {
		r.Runtime = len(p.Syscalls[1].Names)
	}
	return r, nil
}

// New makes the profile that allows the syscalls traced (made by the
// program) and those of RuntimeSyscalls, for a Go architecture ("" for
// runtime.GOARCH). The names are sorted: the same calls give the same
// bytes.
func New(traced []string, arch string) (*Profile, error) {
	if arch == "" {
		arch = runtime.GOARCH
	}
	native, ok := scmpArch[arch]
	if !ok {
		return nil, errors.Errorf("no seccomp architecture for %s (known: amd64, 386, arm64, arm, ppc64le, s390x, riscv64)", arch)
	}
	if len(traced) == 0 {
		return nil, errors.New("the trace holds no syscall: was it made with every syscall traced?")
	}
	errno := uint(eperm)
	p := &Profile{
		DefaultAction:   actErrno,
		DefaultErrnoRet: &errno,
		ArchMap:         []ArchMap{{Architecture: native, SubArchitectures: []string{}}},
	}
	seen := map[string]bool{}
	var own []string
	x86 := false
	for _, n := range traced {
		if !seen[n] {
			seen[n] = true
			own = append(own, n)
			x86 = x86 || i386Only[n]
		}
	}
	if x86 && arch == "amd64" {
		p.ArchMap[0].SubArchitectures = append(p.ArchMap[0].SubArchitectures, "SCMP_ARCH_X86")
	}
	sort.Strings(own)
	p.Syscalls = append(p.Syscalls, Syscall{Names: own, Action: actAllow, Comment: "made by the traced processes"})
	var extra []string
	for n := range runtimeNames() {
		if !seen[n] {
			extra = append(extra, n)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		p.Syscalls = append(p.Syscalls, Syscall{Names: extra, Action: actAllow,
			Comment: "made by the container runtime between loading this filter and starting the program (runc, crun)"})
	}
	return p, nil
}

// Marshal is the profile as indented JSON, with a final newline.
func (p *Profile) Marshal() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(p); err != nil {
		return nil, errors.Wrap(err, "encoding the seccomp profile")
	}
	return b.Bytes(), nil
}

// Write writes the profile to path (through a temporary file renamed
// into place).
func (p *Profile) Write(path string) error {
	data, err := p.Marshal()
	if err != nil {
		return err
	}
	return errors.Wrapf(atomicfile.WriteFile(path, data, 0o644), "writing the seccomp profile %s", path)
}
