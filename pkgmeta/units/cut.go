package units

import (
	"context"
	"sort"
	"strings"

	"github.com/pkg/errors"
)

// Kept is one kept path of a list: a regular file (or another name of
// one) or a symlink; Added when --complete brought it. A Meta path (a
// copyright file, os-release: kept for the package metadata) counts as
// kept but brings no unit into the table by itself, nor does a path
// that does not bring its unit into completion (see Brings).
type Kept struct {
	Path  string
	Added bool
	Meta  bool
}

// Row is what a list keeps of one unit.
type Row struct {
	Kind Kind
	// Format is "deb" or "apk" for an os unit, else the kind.
	Format                string
	Name                  string
	KeptFiles, TotalFiles int
	KeptBytes, TotalBytes int64
	// Modules, for the languages: the modules kept of those it has.
	KeptModules, TotalModules int
	AddedFiles                int
	AddedBytes                int64
}

// Partial reports whether the list keeps the unit in part.
func (r Row) Partial() bool { return r.KeptFiles < r.TotalFiles }

// Cut returns what the list keeps of every unit of the kinds that a
// kept regular file belongs to and brings (not Meta, see Brings): files and bytes (the sizes in the root),
// modules, what --complete added; most-cut first (the largest share of
// files left out, then the most bytes left out). A Perl namespace inside
// another one that is also kept (Encode::JP in Encode) is counted in the
// outer one only.
func (f *Finder) Cut(ctx context.Context, kept []Kept, kinds []Kind) ([]Row, error) {
	in := map[string]bool{}
	added := map[string]bool{}
	for _, k := range kept {
		in[k.Path] = true
		if k.Added {
			added[k.Path] = true
		}
	}
	touched := map[string]*Unit{}
	for _, k := range kept {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if k.Meta {
			continue
		}
		for _, kind := range kinds {
			if !Brings(kind, k.Path) {
				continue
			}
			us, err := f.Of(kind, k.Path)
			if err != nil {
				return nil, errors.WithMessagef(err, "finding the unit of %s", k.Path)
			}
			for _, u := range us {
				if e, ok := u.Lookup(k.Path); ok && e.Regular() {
					touched[u.Key] = u
				}
			}
		}
	}
	keys := make([]string, 0, len(touched))
	for key := range touched {
		keys = append(keys, key)
	}
	sort.Strings(keys) // the same rows in the same order, every time
	var rows []Row
	for _, key := range keys {
		u := touched[key]
		if u.Kind == Perl && insidePerl(key, touched) {
			continue
		}
		r := Row{Kind: u.Kind, Format: string(u.Kind), Name: u.Name}
		if u.Kind == OS {
			r.Format = u.Format
		}
		keptMods, allMods := map[string]bool{}, map[string]bool{}
		for _, e := range u.Entries {
			if !e.Regular() {
				continue
			}
			r.TotalFiles++
			r.TotalBytes += e.Size
			m := u.Module(e.Path)
			if m != "" {
				allMods[m] = true
			}
			if !in[e.Path] {
				continue
			}
			r.KeptFiles++
			r.KeptBytes += e.Size
			if m != "" {
				keptMods[m] = true
			}
			if added[e.Path] {
				r.AddedFiles++
				r.AddedBytes += e.Size
			}
		}
		r.KeptModules, r.TotalModules = len(keptMods), len(allMods)
		rows = append(rows, r)
	}
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		// the share of files left out: (T-K)/T, compared without division
		ca, cb := int64(a.TotalFiles-a.KeptFiles)*int64(b.TotalFiles), int64(b.TotalFiles-b.KeptFiles)*int64(a.TotalFiles)
		if ca != cb {
			return ca > cb
		}
		if da, db := a.TotalBytes-a.KeptBytes, b.TotalBytes-b.KeptBytes; da != db {
			return da > db
		}
		if a.Format != b.Format {
			return a.Format < b.Format
		}
		return a.Name < b.Name
	})
	return rows, nil
}

// insidePerl reports whether the namespace of key is inside another
// touched one.
func insidePerl(key string, touched map[string]*Unit) bool {
	ns := strings.TrimPrefix(key, "perl:")
	for i := strings.LastIndexByte(ns, '/'); i > 0; i = strings.LastIndexByte(ns[:i], '/') {
		if touched["perl:"+ns[:i]] != nil {
			return true
		}
	}
	return false
}
