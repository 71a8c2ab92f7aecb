package scratchpack

import (
	"context"
	"path/filepath"
	"time"

	"github.com/pkg/errors"

	"github.com/scratchpack/scratchpack/filelist"
	"github.com/scratchpack/scratchpack/internal/atomicfile"
	"github.com/scratchpack/scratchpack/internal/rootpath"
	"github.com/scratchpack/scratchpack/pkgmeta"
)

// PackageOptions say what Pack keeps for security scanners (see
// package pkgmeta).
type PackageOptions struct {
	// NoPackageMetadata leaves out the package database entries of the
	// kept packages, /etc/os-release and their copyright files, which
	// are added by default when the root has a dpkg or apk database.
	NoPackageMetadata bool
	// SBOM, when set, is where the SBOM of the packed files is written;
	// SBOMFormat is pkgmeta.SPDX (default) or pkgmeta.CycloneDX. A copy
	// goes into the image (pkgmeta.ImagePath) unless NoPackageMetadata.
	SBOM       string
	SBOMFormat string
}

// addPackageMetadata is Pack's package phase, after the UPX stage and
// before the archive: it maps the packed files to the root's packages,
// adds their metadata and licenses, and writes the SBOM. It returns the
// list to pack (l itself when nothing is added).
func addPackageMetadata(ctx context.Context, l *filelist.List, res *rootpath.Resolver, db *pkgmeta.DB, opts PackOptions) (*filelist.List, *pkgmeta.Result, error) {
	var err error
	if db == nil && opts.SBOM == "" {
		return l, nil, nil
	}
	modTime := time.Unix(0, 0).UTC()
	if opts.Epoch != nil {
		modTime = opts.Epoch.UTC()
	}
	out := l
	var result *pkgmeta.Result
	if db != nil {
		if result, err = pkgmeta.Analyze(ctx, db, l); err != nil {
			return nil, nil, err
		}
		if !opts.NoPackageMetadata && len(result.Packages) > 0 {
			b := l.Extend(res)
			if err := result.Apply(ctx, b, modTime); err != nil {
				return nil, nil, errors.WithMessage(err, "adding the package metadata")
			}
			out = b.List()
		}
	}
	if opts.SBOM == "" {
		return out, result, nil
	}
	format, err := pkgmeta.ParseFormat(opts.SBOMFormat)
	if err != nil {
		return nil, nil, err
	}
	digests, err := pkgmeta.HashEntries(ctx, res, out.Entries)
	if err != nil {
		return nil, nil, err
	}
	name := filepath.Base(opts.Output)
	if opts.Output == "" || opts.Output == "-" {
		name = "rootfs"
	}
	data, err := result.WriteSBOM(digests, pkgmeta.SBOMOptions{Format: format, Name: name, Time: sbomTime(out, opts), Tool: "scratchpack-" + Version})
	if err != nil {
		return nil, nil, err
	}
	if err := atomicfile.WriteFile(opts.SBOM, data, 0o644); err != nil {
		return nil, nil, errors.WithMessage(err, "writing the SBOM")
	}
	if !opts.NoPackageMetadata {
		b := out.Extend(res)
		p := pkgmeta.ImagePath(format)
		if err := b.AddGenerated(p, data, 0o644, modTime, filelist.Reason{Source: "sbom"}); err != nil {
			return nil, nil, errors.WithMessage(err, "adding the SBOM to the image")
		}
		out = b.List()
		if result != nil {
			result.SBOM = p
		}
	}
	return out, result, nil
}

// openPackages reads the package database of the list's root (nil when
// it has none, or when it cannot be read and the package metadata is not
// asked for: the packages are then only left unreported).
func openPackages(l *filelist.List, opts PackOptions) (*rootpath.Resolver, *pkgmeta.DB, error) {
	res, err := rootpath.New(l.Root)
	if err != nil {
		return nil, nil, err
	}
	db, err := pkgmeta.Open(res)
	if err != nil {
		if !opts.NoPackageMetadata {
			return nil, nil, errors.WithMessage(err, "reading the package database (--package-metadata=false leaves it out)")
		}
		db = nil
	}
	return res, db, nil
}

// sbomTime is SOURCE_DATE_EPOCH, else the newest modification time of
// the packed entries: the same files give the same SBOM.
func sbomTime(l *filelist.List, opts PackOptions) time.Time {
	if opts.Epoch != nil {
		return *opts.Epoch
	}
	var t time.Time
	for _, e := range l.Entries {
		if e.ModTime.After(t) {
			t = e.ModTime
		}
	}
	return t.Truncate(time.Second)
}
