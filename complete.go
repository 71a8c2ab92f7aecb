package scratchpack

import (
	"context"
	"io/fs"
	"slices"

	"github.com/pkg/errors"

	"github.com/scratchpack/scratchpack/filelist"
	"github.com/scratchpack/scratchpack/pkgmeta"
	"github.com/scratchpack/scratchpack/pkgmeta/units"
)

// complete keeps whole the units of the kept files (ListOptions.Complete)
// and the packages of CompletePackages. Each added path's reason names
// the kind (filelist.CompleteSource) and the kept file whose unit brought
// it. Added programs and scripts get their interpreters; when the list's
// ELF libraries are resolved, those of added libraries are too, and the
// units of what that brings are completed in turn, until nothing new
// comes. Excludes still win.
func (a *adder) complete(ctx context.Context, opts ListOptions) error {
	kinds, err := units.ParseKinds(opts.Complete)
	if err != nil {
		return err
	}
	if len(kinds) == 0 && len(opts.CompletePackages) == 0 {
		return nil
	}
	res := a.b.Resolver()
	var db *pkgmeta.DB
	if slices.Contains(kinds, units.OS) || len(opts.CompletePackages) > 0 {
		if db, err = pkgmeta.Open(res); err != nil {
			return errors.WithMessage(err, "reading the package database for --complete")
		}
		if db == nil && slices.Contains(kinds, units.OS) {
			a.warn(errors.New("--complete os: the root has no dpkg or apk database: no OS package is completed"))
		}
	}
	f := units.NewFinder(res, db)
	added := 0
	for _, name := range opts.CompletePackages {
		us, err := f.Packages(name)
		if err != nil {
			return err
		}
		for _, u := range us {
			n, err := a.addUnit(ctx, u, filelist.Reason{Source: filelist.CompleteSource("package"), Detail: "the package " + name + " (--complete-package)"})
			if err != nil {
				return err
			}
			added += n
		}
	}
	deps := opts.ResolveDeps || len(opts.Sets) > 0
	done := map[string]bool{} // units completed
	seen := map[string]bool{} // kept files looked at
	for {
		if added > 0 && deps {
			if err := a.resolveDeps(ctx, opts.LibraryPath); err != nil {
				return err
			}
		}
		added = 0
		for _, p := range a.b.Files() {
			if seen[p] {
				continue
			}
			seen[p] = true
			for _, k := range kinds {
				us, err := f.Of(k, p)
				if err != nil {
					return errors.WithMessagef(err, "--complete %s", k)
				}
				for _, u := range us {
					if done[u.Key] {
						continue
					}
					done[u.Key] = true
					n, err := a.addUnit(ctx, u, filelist.Reason{Source: filelist.CompleteSource(string(k)), Detail: u.Name + ", the unit of " + p})
					if err != nil {
						return err
					}
					added += n
				}
			}
		}
		if added == 0 {
			return nil
		}
	}
}

// addUnit adds what the list lacks of a unit (an OS package's
// documentation left out) and returns how many paths it added.
func (a *adder) addUnit(ctx context.Context, u *units.Unit, why filelist.Reason) (int, error) {
	n := 0
	for _, e := range u.Entries {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		if e.Doc || a.b.Has(e.Path) {
			continue
		}
		_, err := a.b.Add(e.Path, filelist.NoFollow, why)
		if err != nil {
			if err := a.settle(err, failure{optional: true}); err != nil {
				return n, err
			}
			continue
		}
		n++
		switch {
		case e.Mode&fs.ModeSymlink != 0:
			// what the link points to comes along, for the same reason
			// (a dangling link is no error)
			if _, err := a.b.Add(e.Path, filelist.Follow, why); err != nil {
				if err := a.settle(err, failure{optional: true}); err != nil {
					return n, err
				}
			}
		case e.Regular() && e.Mode&0o111 != 0:
			// a program or script: its interpreter, which a unit may lack
			if err := a.interpreters(e.Path); err != nil {
				a.warn(errors.WithMessagef(err, "the interpreter of %s (added by %s)", e.Path, why.Source))
			}
		}
	}
	return n, nil
}
