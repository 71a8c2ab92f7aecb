package scratchpack

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/scratchpack/scratchpack/collect/tracer"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"

	"github.com/pkg/errors"

	"github.com/scratchpack/scratchpack/filelist"
	"github.com/scratchpack/scratchpack/internal/atomicfile"
	"github.com/scratchpack/scratchpack/tarball"
)

// Report is what build writes beside the archive (ReportPath): the
// command, the tools, the timings and every entry with its reasons.
// It stays outside the archive, so images carry nothing but their files.
type Report struct {
	Scratchpack string            `json:"scratchpack"`
	Command     []string          `json:"command"`
	Root        string            `json:"root"`
	Dir         string            `json:"dir"`
	ExitCode    int               `json:"exit_code"`
	Stopped     bool              `json:"stopped,omitempty"`
	Collector   string            `json:"collector"`
	Tools       map[string]string `json:"tools"`
	TimingsMS   map[string]int64  `json:"timings_ms"`
	Archive     string            `json:"archive"`
	Compressed  int64             `json:"compressed_bytes"`
	Files       int               `json:"files"`
	Bytes       int64             `json:"bytes"`
	Entries     []*filelist.Entry `json:"entries"`
}

// ReportPath is where the report of an archive goes:
// rootfs.tar.gz -> rootfs.report.json.
func ReportPath(archive string) string {
	for _, ext := range []string{".tar.gz", ".tgz", ".tar.zst", ".tar.zstd", ".tar"} {
		if strings.HasSuffix(archive, ext) {
			return strings.TrimSuffix(archive, ext) + ".report.json"
		}
	}
	return archive + ".report.json"
}

func toolVersions() map[string]string {
	tools := map[string]string{"go": runtime.Version()}
	if out, err := exec.Command("strace", "-V").Output(); err == nil {
		tools["strace"] = strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
	}
	var u syscall.Utsname
	if syscall.Uname(&u) == nil {
		var b strings.Builder
		for _, c := range u.Release {
			if c == 0 {
				break
			}
			b.WriteByte(byte(c))
		}
		tools["kernel"] = b.String()
	}
	return tools
}

// writeReport writes the report of a build beside its archive.
func writeReport(o BuildOptions, r *BuildResult, dir string) (string, error) {
	files, _, _, _, bytes := r.List.Totals()
	rep := Report{
		Scratchpack: Version,
		Command:     o.Command,
		Root:        r.List.Root,
		Dir:         dir,
		ExitCode:    r.Trace.ExitCode,
		Stopped:     r.Trace.Stopped,
		Collector:   string(collectorOf(o)),
		Tools:       toolVersions(),
		TimingsMS:   map[string]int64{},
		Archive:     r.Pack.Output,
		Compressed:  r.Pack.Compressed,
		Files:       files,
		Bytes:       bytes,
		Entries:     r.List.Entries,
	}
	for k, v := range r.Timings {
		rep.TimingsMS[k] = v.Milliseconds()
	}
	data, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return "", errors.Wrap(err, "encoding the report")
	}
	p := ReportPath(r.Pack.Output)
	return p, atomicfile.WriteFile(p, append(data, '\n'), 0o644)
}

// ReadReport reads a build report.
func ReadReport(name string) (*Report, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, errors.Wrap(err, "reading the report")
	}
	var rep Report
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&rep); err != nil {
		return nil, errors.Wrapf(err, "%s: not a scratchpack report", name)
	}
	return &rep, nil
}

// InspectResult is an archive's inspection with the reasons of its
// entries when the build report is beside it.
type InspectResult struct {
	Archive    string `json:"archive"`
	Compressed int64  `json:"compressed_bytes"`
	*tarball.Inspection
	Report  string                       `json:"report,omitempty"`
	Reasons map[string][]filelist.Reason `json:"reasons,omitempty"`
}

// Inspect reads an archive and, when present, its report.
func Inspect(ctx context.Context, archive string, top int) (*InspectResult, error) {
	st, err := os.Stat(archive)
	if err != nil {
		return nil, errors.Wrap(err, "inspecting")
	}
	r, err := tarball.Open(archive)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	in, err := tarball.Inspect(ctx, r, top)
	if err != nil {
		return nil, errors.WithMessagef(err, "inspecting %s", archive)
	}
	res := &InspectResult{Archive: archive, Compressed: st.Size(), Inspection: in}
	if rep, err := ReadReport(ReportPath(archive)); err == nil {
		res.Report = ReportPath(archive)
		res.Reasons = map[string][]filelist.Reason{}
		for _, e := range rep.Entries {
			res.Reasons[e.Path] = e.Reasons
		}
	}
	return res, nil
}

func collectorOf(o BuildOptions) tracer.Collector {
	if o.Trace.Collector == "" {
		return tracer.Strace
	}
	return o.Trace.Collector
}
