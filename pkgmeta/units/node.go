package units

import (
	"path"
	"strings"
)

// node returns the npm package of p: the package directory under the
// last node_modules above it, or under Debian's nodejs directories
// (/usr/share/nodejs, /usr/lib/nodejs, /usr/lib/TRIPLET/nodejs).
func (f *Finder) node(p string) (*Unit, error) {
	comps := split(p)
	at := -1 // the index of the package's first component
	for i := len(comps) - 2; i >= 0; i-- {
		if comps[i] == "node_modules" {
			at = i + 1
			break
		}
	}
	if at < 0 {
		for i := len(comps) - 2; i >= 2; i-- {
			if comps[i] == "nodejs" && comps[0] == "usr" && (comps[1] == "share" || comps[1] == "lib") {
				at = i + 1
				break
			}
		}
	}
	if at < 0 || at >= len(comps)-1 {
		return nil, nil
	}
	end := at + 1
	if strings.HasPrefix(comps[at], "@") {
		end++
	}
	if end >= len(comps) {
		return nil, nil // a file of the scope directory itself
	}
	dir := join(comps[:end])
	name := strings.Join(comps[at:end], "/")
	if !f.exists(dir + "/package.json") {
		return nil, nil
	}
	// nested packages are units of their own
	skip := func(n string) bool { return n == "node_modules" }
	return f.unit(Node, name, "node:"+dir, nodeModule, skip, dir)
}

// nodeModule: every file node can load (.js, .mjs, .cjs, .json, .node)
// is a module.
func nodeModule(p string) string {
	switch path.Ext(p) {
	case ".js", ".mjs", ".cjs", ".json", ".node":
		return p
	}
	return ""
}
