package scratchpack

import (
	"archive/tar"
	"context"
	"io"

	"github.com/pkg/errors"

	"github.com/scratchpack/scratchpack/pkgmeta"
	"github.com/scratchpack/scratchpack/tarball"
)

// inspectPackages finds the packages of an archive and the files and
// bytes of each it keeps: from the build report when it has them (every
// owned file and link counted), else from the package metadata in the
// archive (the files its md5sums name).
func inspectPackages(ctx context.Context, archive string, in *tarball.Inspection, rep *Report) ([]pkgmeta.Kept, error) {
	if rep != nil && rep.Packages != nil {
		out := []pkgmeta.Kept{}
		for _, u := range rep.Packages.Packages {
			out = append(out, pkgmeta.Kept{Name: u.Name, Version: u.Version, Arch: u.Arch, Source: u.Source, Files: u.Files, Bytes: u.Bytes})
		}
		return out, nil
	}
	return imagePackages(ctx, archive, in)
}

// imagePackages reads the package metadata in an archive: its packages,
// each with the files it owns that the archive holds (those its md5sums
// or apk R: lines name).
func imagePackages(ctx context.Context, archive string, in *tarball.Inspection) ([]pkgmeta.Kept, error) {
	files := map[string]int64{}
	links := map[string]string{}
	want := false
	for _, m := range in.Members {
		switch m.Kind {
		case "file":
			files[m.Path] = m.Size
			want = want || pkgmeta.IsImageMetadata(m.Path)
		case "symlink":
			links[m.Path] = m.Linkname
		}
	}
	if !want {
		return nil, nil
	}
	r, err := tarball.Open(archive)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	meta := map[string][]byte{}
	err = tarball.Walk(ctx, r, func(name string, h *tar.Header) error {
		p := "/" + name
		if h.Typeflag != tar.TypeReg || !pkgmeta.IsImageMetadata(p) || h.Size > 64<<20 {
			return nil
		}
		data, err := io.ReadAll(r)
		if err != nil {
			return errors.Wrapf(err, "reading %s", p)
		}
		meta[p] = data
		return nil
	})
	if err != nil {
		return nil, errors.WithMessagef(err, "reading %s", archive)
	}
	out, err := pkgmeta.FromImage(meta, files, links)
	return out, errors.WithMessagef(err, "the package metadata in %s", archive)
}
