package scratchpack

import (
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
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		h, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, errors.Wrapf(err, "reading %s", archive)
		}
		name, err := tarball.CleanName(h.Name)
		if err != nil {
			return nil, err
		}
		p := "/" + name
		if h.Typeflag != '0' || !pkgmeta.IsImageMetadata(p) || h.Size > 64<<20 {
			continue
		}
		data, err := io.ReadAll(r)
		if err != nil {
			return nil, errors.Wrapf(err, "reading %s in %s", p, archive)
		}
		meta[p] = data
	}
	out, err := pkgmeta.FromImage(meta, files, links)
	return out, errors.WithMessagef(err, "the package metadata in %s", archive)
}
