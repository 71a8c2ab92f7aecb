package scratchpack

import (
	"context"
	"path/filepath"
	"strings"

	"github.com/pkg/errors"

	"github.com/scratchpack/scratchpack/collect/elfdeps"
	"github.com/scratchpack/scratchpack/internal/rootpath"
)

// DepsOptions configure Deps.
type DepsOptions struct {
	Root        string
	Files       []string
	LibraryPath []string
}

// Deps resolves the shared libraries of ELF files without running them.
func Deps(ctx context.Context, o DepsOptions) ([]*elfdeps.Tree, error) {
	res, err := rootpath.New(o.Root)
	if err != nil {
		return nil, err
	}
	r := elfdeps.NewResolver(res)
	r.LibraryPath = o.LibraryPath
	var out []*elfdeps.Tree
	for _, f := range o.Files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		p := f
		if !strings.HasPrefix(p, "/") {
			if res.Root() != "/" {
				return nil, errors.Errorf("%s: give absolute paths inside --root", f)
			}
			if p, err = filepath.Abs(f); err != nil {
				return nil, err
			}
		}
		t, err := r.Resolve(p)
		if err != nil {
			return nil, errors.WithMessagef(err, "resolving the libraries of %s", f)
		}
		out = append(out, t)
	}
	return out, nil
}
