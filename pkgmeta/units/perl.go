package units

import (
	"path"
	"slices"
	"sort"
	"strings"
)

// perlUnit returns the namespace of p: for Foo/Bar.pm, a file under
// Foo/Bar/ or auto/Foo/Bar/, the namespace Foo::Bar.
func (f *Finder) perlUnit(p string) (*Unit, error) {
	comps := split(p)
	libdirs := f.perlDirs()
	for j := len(comps) - 1; j >= 1; j-- {
		if !libdirs[join(comps[:j])] {
			continue
		}
		rel := comps[j:]
		var ns []string
		switch last := rel[len(rel)-1]; {
		case rel[0] == "auto" && len(rel) >= 3:
			ns = rel[1 : len(rel)-1]
		case strings.HasSuffix(last, ".pm"):
			ns = append(append([]string{}, rel[:len(rel)-1]...), strings.TrimSuffix(last, ".pm"))
		case len(rel) >= 2:
			// a file a module keeps beside it: the namespace of the
			// nearest directory with a module of its name, else the
			// top directory (unicore/lib/Nv/10.pl is unicore's)
			ns = rel[:1]
			for k := len(rel) - 1; k > 1; k-- {
				if f.perlModuleExists(strings.Join(rel[:k], "/") + ".pm") {
					ns = rel[:k]
					break
				}
			}
		default:
			return nil, nil // a top-level .pl or .pod
		}
		if slices.Contains(ns, "") {
			return nil, nil // ".pm": no module, and no namespace (not the whole lib directory)
		}
		name := strings.Join(ns, "/")
		var paths []string
		for _, d := range f.roots.perl {
			paths = append(paths, d+"/"+name+".pm", d+"/"+name, d+"/auto/"+name)
		}
		return f.unit(Perl, strings.Join(ns, "::"), "perl:"+name, f.perlModule, nil, paths...)
	}
	return nil, nil
}

// perlModule: Foo/Bar.pm and auto/Foo/Bar/Bar.so, in any lib
// directory, are the module Foo::Bar.
func (f *Finder) perlModule(p string) string {
	ext := path.Ext(p)
	if ext != ".pm" && ext != ".so" {
		return ""
	}
	comps := split(p)
	for j := len(comps) - 1; j >= 1; j-- {
		if !f.perl[join(comps[:j])] {
			continue
		}
		rel := comps[j:]
		if ext == ".so" {
			if len(rel) < 3 || rel[0] != "auto" {
				return ""
			}
			return strings.Join(rel[1:len(rel)-1], "::")
		}
		return strings.TrimSuffix(strings.Join(rel, "::"), ".pm")
	}
	return ""
}

// perlDirs finds the root's Perl lib directories (Debian's @INC and
// the like): /etc/perl, and perl, perl5, perl-base, site_perl (with a
// VERSION directory or not) under /usr/share, /usr/lib, /usr/local/share,
// /usr/local/lib and their TRIPLET directories.
func (f *Finder) perlDirs() map[string]bool {
	if f.perl != nil {
		return f.perl
	}
	f.perl = map[string]bool{}
	bases := []string{"/usr/share", "/usr/local/share"}
	for _, lib := range []string{"/usr/lib", "/usr/local/lib"} {
		bases = append(bases, lib)
		names, _ := f.dir(lib)
		for _, n := range names {
			if isArch(n) {
				bases = append(bases, lib+"/"+n)
			}
		}
	}
	cands := []string{"/etc/perl"}
	for _, b := range bases {
		for _, n := range []string{"perl", "perl5", "perl-base", "site_perl"} {
			d := b + "/" + n
			versioned := false
			sub, _ := f.dir(d)
			for _, v := range sub {
				if isVersion(v) {
					cands = append(cands, d+"/"+v)
					versioned = true
				}
			}
			if !versioned { // perl5, perl-base: the modules themselves
				cands = append(cands, d)
			}
		}
	}
	for _, c := range cands {
		// a version link (5.36 -> 5.36.0) is the same directory: once
		if f.isDir(c) {
			f.perl[c] = true
		}
	}
	for d := range f.perl {
		f.roots.perl = append(f.roots.perl, d)
	}
	sort.Strings(f.roots.perl)
	return f.perl
}

// perlModuleExists reports whether a lib directory holds the module file
// rel ("Encode/JP.pm").
func (f *Finder) perlModuleExists(rel string) bool {
	for _, d := range f.roots.perl {
		if f.exists(d + "/" + rel) {
			return true
		}
	}
	return false
}
