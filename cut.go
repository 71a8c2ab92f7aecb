package scratchpack

import (
	"context"
	"os"

	"github.com/pkg/errors"

	"github.com/scratchpack/scratchpack/filelist"
	"github.com/scratchpack/scratchpack/internal/rootpath"
	"github.com/scratchpack/scratchpack/pkgmeta"
	"github.com/scratchpack/scratchpack/pkgmeta/units"
)

// Unit is one package or language unit that the image keeps in part or
// whole: a dpkg or apk package, a Python top-level import package, an npm
// package, a gem, a Perl namespace. The report's Cut table lists them,
// most-cut first; inspect and the HTML report show it.
type Unit struct {
	Kind string `json:"kind"` // deb, apk, python, node, ruby, perl
	Name string `json:"name"`
	// Files and bytes: what the image keeps of the unit, and what the
	// unit holds in the source root.
	KeptFiles  int   `json:"kept_files"`
	TotalFiles int   `json:"total_files"`
	KeptBytes  int64 `json:"kept_bytes"`
	TotalBytes int64 `json:"total_bytes"`
	// The language's own units (modules, packages, gems) where it has
	// them: "modules" for python, and so on; "" for OS packages.
	UnitName   string `json:"unit_name,omitempty"`
	KeptUnits  int    `json:"kept_units,omitempty"`
	TotalUnits int    `json:"total_units,omitempty"`
	// What --complete added to it: files and bytes.
	AddedFiles int   `json:"added_files,omitempty"`
	AddedBytes int64 `json:"added_bytes,omitempty"`
}

// Completed is what --complete and --complete-package added to a list:
// regular files and their bytes.
type Completed struct {
	Files int   `json:"files"`
	Bytes int64 `json:"bytes"`
}

// cutTable is what the list keeps of each unit its files belong to (see
// package pkgmeta/units), most-cut first, and what completion added. db
// (nil when the root has none) gives the OS packages; warn hears of
// what could be read in part (a broken RECORD).
func cutTable(ctx context.Context, l *filelist.List, res *rootpath.Resolver, db *pkgmeta.DB, warn func(error)) ([]Unit, Completed, error) {
	var kept []units.Kept
	var done Completed
	for _, e := range l.Entries {
		if e.Kind != filelist.File && e.Kind != filelist.Hardlink {
			continue
		}
		// added when completion brought it: its first reason (a kept
		// file that an added link points to gets a completion reason
		// too, but was there before)
		added := false
		if len(e.Reasons) > 0 {
			_, added = e.Reasons[0].Source.Complete()
		}
		if added && e.Kind == filelist.File {
			done.Files++
			if info, err := os.Lstat(res.HostPath(e.Path)); err == nil {
				done.Bytes += info.Size() // as in the root, whatever UPX made of it
			}
		}
		if e.Data == nil { // made by scratchpack: no unit's
			kept = append(kept, units.Kept{Path: e.Path, Added: added, Meta: metadataOnly(e.Reasons)})
		}
	}
	f := units.NewFinder(res, db)
	f.Warn = warn
	rows, err := f.Cut(ctx, kept, units.All)
	if err != nil {
		return nil, done, errors.WithMessage(err, "finding what the list keeps of each package")
	}
	out := make([]Unit, 0, len(rows))
	for _, r := range rows {
		out = append(out, Unit{
			Kind: r.Format, Name: r.Name,
			KeptFiles: r.KeptFiles, TotalFiles: r.TotalFiles, KeptBytes: r.KeptBytes, TotalBytes: r.TotalBytes,
			UnitName: r.Kind.ModuleName(), KeptUnits: r.KeptModules, TotalUnits: r.TotalModules,
			AddedFiles: r.AddedFiles, AddedBytes: r.AddedBytes,
		})
	}
	return out, done, nil
}

// metadataOnly reports whether the package metadata alone keeps a path
// (a copyright file, os-release).
func metadataOnly(rs []filelist.Reason) bool {
	for _, r := range rs {
		if r.Source != "package-metadata" && r.Source != "license" {
			return false
		}
	}
	return len(rs) > 0
}

// Partial reports whether the image keeps the unit in part.
func (u Unit) Partial() bool { return u.KeptFiles < u.TotalFiles }
