package scratchpack

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"

	"github.com/pkg/errors"

	"github.com/scratchpack/scratchpack/collect"
	"github.com/scratchpack/scratchpack/filelist"
	"github.com/scratchpack/scratchpack/internal/atomicfile"
	"github.com/scratchpack/scratchpack/pkgmeta"
	"github.com/scratchpack/scratchpack/secrets"
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
	// RootFiles and RootBytes count the regular files under the root and
	// their bytes, when the root is not the host's (--root).
	RootFiles int               `json:"root_files,omitempty"`
	RootBytes int64             `json:"root_bytes,omitempty"`
	Entries   []*filelist.Entry `json:"entries"`
	// Seccomp is the profile written by --seccomp-profile.
	Seccomp *ReportSeccomp `json:"seccomp_profile,omitempty"`
	// SecretsScan is the --secrets mode (warn, fail, exclude, or off: no
	// scan); Secrets the findings: where and what, never the secret
	// (with exclude, their files were left out).
	SecretsScan SecretsMode       `json:"secrets_scan,omitempty"`
	Secrets     []secrets.Finding `json:"secrets,omitempty"`
	// Execs are the --exec runs; the reasons of what they used name them.
	Execs []*ExecRun `json:"execs,omitempty"`
	// Packages: the packages that own the packed files (files and bytes
	// kept of each), the files no package owns, and what the package
	// metadata added.
	Packages *pkgmeta.Result `json:"packages,omitempty"`
	// Cut is what the image keeps of each unit its files belong to: OS
	// packages, Python packages, npm packages, gems, Perl namespaces,
	// most-cut first; Completed is what --complete added in all.
	Cut       []Unit     `json:"cut,omitempty"`
	Completed *Completed `json:"completed,omitempty"`
	// Source is the image of a build --from.
	Source *ReportSource `json:"source,omitempty"`
	// Unreadable are the processes that made calls whose path the
	// collector could not read: the files they named may be missing.
	Unreadable []collect.Unreadable `json:"unreadable,omitempty"`
}

// ReportSource names the image a build --from shrank: its reference,
// digest, size (layers as stored) and root's size, and the ratio of the
// result's bytes to the root's.
type ReportSource struct {
	Ref      string  `json:"ref"`
	Name     string  `json:"name"`
	Digest   string  `json:"digest"`
	Size     int64   `json:"size"`
	RootSize int64   `json:"root_size"`
	Ratio    float64 `json:"ratio"`
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

// Write writes the report (indented JSON) to name, atomically.
func (rep *Report) Write(name string) error {
	data, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return errors.Wrap(err, "encoding the report")
	}
	return atomicfile.WriteFile(name, append(data, '\n'), 0o644)
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
