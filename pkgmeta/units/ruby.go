package units

import (
	"path"
	"sort"
	"strings"
)

// isVersion matches "3.1.0", "5.36", "5.36.0".
func isVersion(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) < 2 {
		return false
	}
	for _, x := range parts {
		if !digits(x) {
			return false
		}
	}
	return true
}

// isArch matches an architecture directory: x86_64-linux,
// x86_64-linux-gnu, aarch64-linux-musl.
func isArch(s string) bool { return strings.Contains(s, "-linux") }

// rubyUnit returns the gem or the library of p.
func (f *Finder) rubyUnit(p string) (*Unit, error) {
	comps := split(p)
	// a gem: BASE/gems/NAME-VERSION/..., with BASE/specifications
	for i := len(comps) - 3; i >= 1; i-- {
		if comps[i] != "gems" {
			continue
		}
		base := join(comps[:i])
		if !f.isDir(base + "/specifications") {
			continue
		}
		nv := comps[i+1]
		paths := []string{base + "/gems/" + nv, base + "/specifications/" + nv + ".gemspec"}
		// built extensions: BASE/extensions/ARCH/ABI/NAME-VERSION
		archs, err := f.dir(base + "/extensions")
		if err != nil {
			return nil, err
		}
		for _, a := range archs {
			abis, err := f.dir(base + "/extensions/" + a)
			if err != nil {
				return nil, err
			}
			for _, abi := range abis {
				paths = append(paths, base+"/extensions/"+a+"/"+abi+"/"+nv)
			}
		}
		return f.unit(Ruby, gemName(nv), "ruby:gem:"+base+"/"+nv, rubyModule, nil, paths...)
	}
	// a library of a lib directory
	libdirs := f.rubyDirs()
	for j := len(comps) - 1; j >= 1; j-- {
		if !libdirs[join(comps[:j])] {
			continue
		}
		name := comps[j]
		if j == len(comps)-1 {
			if !strings.HasSuffix(name, ".rb") && !strings.HasSuffix(name, ".so") {
				return nil, nil
			}
			name = stem(name)
		}
		if name == "" {
			return nil, nil
		}
		var paths []string
		for _, d := range f.roots.ruby {
			paths = append(paths, d+"/"+name+".rb", d+"/"+name+".so", d+"/"+name)
		}
		// a lib directory holds its arch directory: not part of a library
		skip := func(n string) bool { return isArch(n) }
		return f.unit(Ruby, name, "ruby:lib:"+name, rubyModule, skip, paths...)
	}
	return nil, nil
}

// gemName is a gem directory's name without its version: "rack" for
// rack-2.2.4.
func gemName(nv string) string {
	if i := strings.LastIndexByte(nv, '-'); i > 0 && i+1 < len(nv) && nv[i+1] >= '0' && nv[i+1] <= '9' {
		return nv[:i]
	}
	return nv
}

func rubyModule(p string) string {
	switch path.Ext(p) {
	case ".rb", ".so":
		return strings.TrimSuffix(p, path.Ext(p))
	}
	return ""
}

// rubyDirs finds the root's Ruby lib directories: lib/ruby/VERSION,
// vendor_ruby, site_ruby (and their VERSION), under /usr/lib,
// /usr/local/lib and their TRIPLET directories, with their arch
// directories.
func (f *Finder) rubyDirs() map[string]bool {
	if f.ruby != nil {
		return f.ruby
	}
	f.ruby = map[string]bool{}
	var bases []string
	for _, lib := range []string{"/usr/lib", "/usr/local/lib"} {
		bases = append(bases, lib+"/ruby")
		names, _ := f.dir(lib)
		for _, n := range names {
			if isArch(n) {
				bases = append(bases, lib+"/"+n+"/ruby")
			}
		}
	}
	var cands []string
	for _, b := range bases {
		names, _ := f.dir(b)
		for _, n := range names {
			switch {
			case isVersion(n):
				cands = append(cands, b+"/"+n)
			case n == "vendor_ruby" || n == "site_ruby":
				cands = append(cands, b+"/"+n)
				sub, _ := f.dir(b + "/" + n)
				for _, v := range sub {
					if isVersion(v) {
						cands = append(cands, b+"/"+n+"/"+v)
					}
				}
			}
		}
	}
	for _, c := range cands {
		if !f.isDir(c) {
			continue
		}
		f.ruby[c] = true
		names, _ := f.dir(c)
		for _, n := range names {
			if isArch(n) && f.isDir(c+"/"+n) {
				f.ruby[c+"/"+n] = true
			}
		}
	}
	for d := range f.ruby {
		f.roots.ruby = append(f.roots.ruby, d)
	}
	sort.Strings(f.roots.ruby)
	return f.ruby
}
