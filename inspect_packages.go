package scratchpack

import (
	"github.com/pkg/errors"

	"github.com/scratchpack/scratchpack/pkgmeta"
	"github.com/scratchpack/scratchpack/tarball"
)

// inspectPackages finds the packages of an archive and the files and
// bytes of each it keeps: from the build report when it has them (every
// owned file and link counted), else from the package metadata in the
// archive (the files its md5sums name), kept by the inspection's pass.
func inspectPackages(archive string, in *tarball.Inspection, rep *Report) ([]pkgmeta.Kept, error) {
	if rep != nil && rep.Packages != nil {
		out := []pkgmeta.Kept{}
		for _, u := range rep.Packages.Packages {
			out = append(out, pkgmeta.Kept{Name: u.Name, Version: u.Version, Arch: u.Arch, Source: u.Source, Files: u.Files, Bytes: u.Bytes})
		}
		return out, nil
	}
	return imagePackages(archive, in)
}

// imagePackages reads the package metadata in an archive, kept by its
// inspection (tarball.InspectKeeping with pkgmeta.IsImageMetadata): its
// packages, each with the files it owns that the archive holds (those
// its md5sums or apk R: lines name).
func imagePackages(archive string, in *tarball.Inspection) ([]pkgmeta.Kept, error) {
	files := map[string]int64{}
	links := map[string]string{}
	for _, m := range in.Members {
		switch m.Kind {
		case "file":
			files[m.Path] = m.Size
		case "hardlink": // another name of a file before it (the same license text in several packages)
			if size, ok := files[m.Linkname]; ok {
				files[m.Path] = size
			}
		case "symlink":
			links[m.Path] = m.Linkname
		}
	}
	if len(in.Kept) == 0 {
		return nil, nil
	}
	out, err := pkgmeta.FromImage(in.Kept, files, links)
	return out, errors.WithMessagef(err, "the package metadata in %s", archive)
}
