package scratchpack

import (
	"context"
	"os"

	"github.com/pkg/errors"

	"github.com/scratchpack/scratchpack/filelist"
	"github.com/scratchpack/scratchpack/pkgmeta"
	"github.com/scratchpack/scratchpack/tarball"
)

// InspectResult is an archive's inspection with the reasons of its
// entries when the build report is beside it.
type InspectResult struct {
	Archive    string `json:"archive"`
	Compressed int64  `json:"compressed_bytes"`
	*tarball.Inspection
	Report  string                       `json:"report,omitempty"`
	Reasons map[string][]filelist.Reason `json:"reasons,omitempty"`
	// Packages are the packages whose files the archive keeps, with the
	// files and bytes of each (from the report, else from the package
	// metadata in the archive).
	Packages []pkgmeta.Kept `json:"packages,omitempty"`
	// Cut is the report's table of what the archive keeps of each unit
	// (see Report.Cut), Completed what --complete added.
	Cut       []Unit     `json:"cut,omitempty"`
	Completed *Completed `json:"completed,omitempty"`
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
	// the package metadata is kept in the same pass (inspectPackages)
	in, err := tarball.InspectKeeping(ctx, r, top, pkgmeta.IsImageMetadata)
	if err != nil {
		return nil, errors.WithMessagef(err, "inspecting %s", archive)
	}
	res := &InspectResult{Archive: archive, Compressed: st.Size(), Inspection: in}
	rep, err := ReadReport(ReportPath(archive))
	if err == nil {
		res.Report = ReportPath(archive)
		res.Reasons = map[string][]filelist.Reason{}
		for _, e := range rep.Entries {
			res.Reasons[e.Path] = e.Reasons
		}
		res.Cut, res.Completed = rep.Cut, rep.Completed
	} else {
		rep = nil
	}
	if res.Packages, err = inspectPackages(archive, in, rep); err != nil {
		return nil, err
	}
	return res, nil
}
