package units

import (
	"bytes"
	"encoding/csv"
	"io"
	"os"
	"path"
	"strings"

	"github.com/pkg/errors"
)

// isPyVersion matches "python3.11".
func isPyVersion(s string) bool {
	v, ok := strings.CutPrefix(s, "python")
	major, minor, dot := strings.Cut(v, ".")
	return ok && dot && digits(major) && digits(minor)
}

// isIdentifier reports whether s can be imported: letters, digits and
// underscores, not starting with a digit (ASCII: what packages use).
func isIdentifier(s string) bool {
	if s == "" || (s[0] >= '0' && s[0] <= '9') {
		return false
	}
	for _, c := range s {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func digits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// pythonEntry returns the index of the component that ends the deepest
// sys.path entry above the last component of comps, or -1.
func pythonEntry(comps []string) int {
	for i := len(comps) - 2; i >= 0; i-- {
		switch c := comps[i]; {
		case c == "site-packages" || c == "dist-packages":
			return i
		case c == "lib-dynload" && i > 0 && isPyVersion(comps[i-1]):
			return i
		case isPyVersion(c) && i > 0 && comps[i-1] == "lib":
			return i
		}
	}
	return -1
}

// python returns the top-level import package or module of p.
func (f *Finder) python(p string) (*Unit, error) {
	comps := split(p)
	i := pythonEntry(comps)
	if i < 0 {
		return nil, nil
	}
	entry, rel := join(comps[:i+1]), comps[i+1:]
	var name string
	single := true
	switch top := rel[0]; {
	case top == "__pycache__":
		if len(rel) != 2 || !strings.HasSuffix(rel[1], ".pyc") {
			return nil, nil
		}
		name = stem(rel[1])
	case len(rel) == 1:
		if !strings.HasSuffix(top, ".py") && !strings.HasSuffix(top, ".so") {
			return nil, nil // a .pth file, a data file beside the modules
		}
		name = stem(top)
	case strings.HasSuffix(top, ".dist-info") || strings.HasSuffix(top, ".egg-info"):
		return nil, nil // a distribution's metadata, read on its own
	default:
		name, single = top, false
	}
	if !isIdentifier(name) {
		return nil, nil // not importable: config-3.11-x86_64-linux-gnu, a data directory
	}
	key := "python:" + entry + "/" + name
	if u := f.units[key]; u != nil {
		return u, nil
	}
	var paths []string
	if single {
		names, err := f.dir(entry)
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			if n == name+".py" || (stem(n) == name && strings.HasSuffix(n, ".so")) {
				paths = append(paths, entry+"/"+n)
			}
		}
		cache, err := f.dir(entry + "/__pycache__")
		if err != nil {
			return nil, err
		}
		for _, n := range cache {
			if stem(n) == name && strings.HasSuffix(n, ".pyc") {
				paths = append(paths, entry+"/__pycache__/"+n)
			}
		}
	} else {
		paths = append(paths, entry+"/"+name)
	}
	dists, err := f.distributions(entry)
	if err != nil {
		return nil, err
	}
	if d := dists[name]; d != "" {
		paths = append(paths, entry+"/"+d)
	}
	return f.unit(Python, name, key, pythonModule, nil, paths...)
}

// pythonModule: NAME.py, NAME.*.so and __pycache__/NAME.*.pyc are the
// module DIR/NAME.
func pythonModule(p string) string {
	dir, base := path.Split(p)
	dir = strings.TrimSuffix(dir, "/")
	switch {
	case strings.HasSuffix(base, ".pyc") && path.Base(dir) == "__pycache__":
		return path.Dir(dir) + "/" + stem(base)
	case strings.HasSuffix(base, ".py"):
		return dir + "/" + strings.TrimSuffix(base, ".py")
	case strings.HasSuffix(base, ".so"):
		return dir + "/" + stem(base)
	}
	return ""
}

// distributions maps the top-level names of the distributions installed
// in a sys.path entry to their .dist-info or .egg-info directory, from
// the RECORD (the first component of each path it names) and
// top_level.txt.
func (f *Finder) distributions(entry string) (map[string]string, error) {
	if d, ok := f.dists[entry]; ok {
		return d, nil
	}
	out := map[string]string{}
	f.dists[entry] = out
	names, err := f.dir(entry)
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		if !strings.HasSuffix(n, ".dist-info") && !strings.HasSuffix(n, ".egg-info") {
			continue
		}
		dir := entry + "/" + n
		if !f.isDir(dir) {
			continue
		}
		tops, err := recordTops(f.read(dir+"/RECORD"), n)
		if err != nil && f.Warn != nil {
			f.Warn(errors.Errorf("reading %s/RECORD: %v; the names it lists after that line are not counted as %s's", dir, err, n))
		}
		for _, top := range tops {
			out[top] = n
		}
		for _, l := range strings.Split(string(f.read(dir+"/top_level.txt")), "\n") {
			if l = strings.TrimSpace(l); l != "" && !strings.Contains(l, "/") {
				out[l] = n
			}
		}
	}
	return out, nil
}

// read returns a small file of the root ("" when it cannot).
func (f *Finder) read(p string) []byte {
	info, err := os.Lstat(f.res.HostPath(p))
	if err != nil || !info.Mode().IsRegular() || info.Size() > 16<<20 {
		return nil
	}
	data, _ := os.ReadFile(f.res.HostPath(p))
	return data
}

// recordTops returns the top-level import names a RECORD file (CSV:
// path, hash, size) installs: the first component of each path, a
// module's stem; the distribution's own directory, scripts outside the
// entry (../../bin/x) and __pycache__ of a module give theirs. A line
// that is no CSV ends the reading: the names before it and an error
// naming the line.
func recordTops(data []byte, self string) ([]string, error) {
	if len(data) == 0 {
		return nil, nil
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	var out []string
	seen := map[string]bool{}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return out, errors.Errorf("line %d: %v (expected a CSV line: path,hash,size)", pe.StartLine, pe.Err)
			}
			return out, errors.Wrap(err, "reading the CSV")
		}
		if len(rec) == 0 {
			continue
		}
		comps := strings.Split(path.Clean(rec[0]), "/")
		top := comps[0]
		switch {
		case top == self || top == ".." || top == "" || top == ".":
			continue
		case top == "__pycache__" && len(comps) == 2:
			top = stem(comps[1])
		case len(comps) == 1:
			if !strings.HasSuffix(top, ".py") && !strings.HasSuffix(top, ".so") {
				continue
			}
			top = stem(top)
		}
		if top == "" || top == self || strings.HasPrefix(top, ".") {
			continue // "__pycache__/.pyc", ".py": no name
		}
		if !seen[top] {
			seen[top] = true
			out = append(out, top)
		}
	}
}
