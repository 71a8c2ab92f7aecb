package scratchpack

import (
	"context"
	"os"
	"strings"

	"github.com/pkg/errors"

	"github.com/scratchpack/scratchpack/collect"
	"github.com/scratchpack/scratchpack/collect/sets"
	"github.com/scratchpack/scratchpack/filelist"
)

// addSets adds the named sets (ListOptions.Sets).
func (a *adder) addSets(opts ListOptions, uses []collect.Use) error {
	if len(opts.Sets) == 0 {
		return nil
	}
	list, err := sets.Lookup(opts.Sets)
	if err != nil {
		return err
	}
	res := a.b.Resolver()
	r := a.resolver(opts.LibraryPath)
	ref := "/bin/sh" // the reference ELF file for library lookups
	for _, u := range uses {
		if u.Exec {
			if o, err := r.Object(mustCanonical(res, u.Path)); err == nil && o.Interp != "" {
				ref = u.Path
				break
			}
		}
	}
	env := sets.Env{
		Res:     res,
		Getenv:  os.Getenv,
		Locale:  opts.Locale,
		User:    opts.User,
		FindLib: func(soname string) (string, bool) { return r.FindLibrary(soname, ref) },
	}
	for _, s := range list {
		if err := a.addSet(s, env); err != nil {
			return errors.WithMessagef(err, "--with %s", s.Name)
		}
	}
	return nil
}

// addSet adds the items of one set.
func (a *adder) addSet(s sets.Set, env sets.Env) error {
	items, err := s.Items(env)
	if err != nil {
		return err
	}
	for _, it := range items {
		why := filelist.Reason{Source: filelist.SetSource(s.Name), Detail: it.Detail}
		switch {
		case it.Data != nil:
			err = a.b.AddData(it.Path, it.Data, it.Mode, why)
		case it.Tree:
			err = a.b.AddTree(it.Path, why, a.warnTree)
		default:
			_, err = a.b.Add(it.Path, filelist.Follow, why)
		}
		if err := a.settle(err, failure{optional: it.Optional}); err != nil {
			return err
		}
	}
	return nil
}

// SetReport says what a set would add.
type SetReport struct {
	Name, Summary string
	Paths         []string // what the set names, as found in the root
	Files         int      // regular files it brings, links and trees resolved
	Bytes         int64
	Err           error // the set cannot be used in this root
}

// DescribeSets reports what each set would add in the root.
func DescribeSets(ctx context.Context, opts ListOptions) ([]SetReport, error) {
	var out []SetReport
	for _, s := range sets.All {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		o := opts
		o.Sets = []string{s.Name}
		o.StraceLogs, o.LddFiles, o.Lists, o.Includes, o.IncludeFrom = nil, nil, nil, nil, nil
		rep := SetReport{Name: s.Name, Summary: s.Summary}
		l, err := List(ctx, o)
		if err != nil {
			rep.Err = err
			out = append(out, rep)
			continue
		}
		for _, e := range l.Entries {
			for _, r := range e.Reasons {
				if r.Source == filelist.SetSource(s.Name) && (len(rep.Paths) == 0 || !strings.HasPrefix(e.Path, rep.Paths[len(rep.Paths)-1]+"/")) {
					rep.Paths = append(rep.Paths, e.Path)
					break
				}
			}
		}
		rep.Files, _, _, _, rep.Bytes = l.Totals()
		out = append(out, rep)
	}
	return out, nil
}
