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

// complete keeps whole the units of the files the list keeps before
// completion (ListOptions.Complete) and the packages of
// CompletePackages. Each added path's reason names the kind
// (filelist.CompleteSource) and the kept file whose unit brought it.
// Added programs and scripts get their interpreters and, when the list's
// ELF libraries are resolved, added files get their libraries; but what
// completion adds does not bring its own units in turn: a script of a
// completed package brings its interpreter, not the interpreter's whole
// package. A kept file under /etc does not bring its OS package
// (units.Brings). Excludes still win.
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
	kept := a.b.Files()           // before completion: only their units are completed
	f := units.NewFinder(res, db) // a broken RECORD: the cut table warns
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
	done := map[string]bool{} // units completed
	for _, p := range kept {
		for _, k := range kinds {
			if !units.Brings(k, p) {
				continue
			}
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
	if added > 0 && (opts.ResolveDeps || len(opts.Sets) > 0) {
		return a.resolveDeps(ctx, opts.LibraryPath)
	}
	return nil
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
