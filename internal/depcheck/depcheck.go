package depcheck

import (
	"fmt"
	"sort"
	"strings"
)

// A Layer is a set of packages, given relative to the module: "." is
// the root package, "x/..." is x and every package below it.
type Layer struct {
	Name     string
	Packages []string
	// Open is whether a package in no layer may import this one.
	Open bool
}

// Layers are scratchpack's layers in the order data flows through them.
var Layers = []Layer{
	{"internal", []string{"internal/..."}, true},
	{"collect", []string{"collect/..."}, true},
	{"filelist", []string{"filelist/..."}, true},
	{"upx", []string{"upx/..."}, true},
	{"tarball", []string{"tarball/..."}, true},
	{"verify", []string{"verify/..."}, true},
	{"root", []string{"."}, false},
	{"cmd", []string{"cmd/..."}, false},
}

// unknown is the layer of a package that is in none of the Layers.
const unknown = -1

// Graph maps each package of the module, by import path, to the import
// paths it imports directly.
type Graph map[string][]string

// A Violation is a package that reaches a package it must not import.
type Violation struct {
	Package, Forbidden string
	// Path is the chain of imports from Package to Forbidden.
	Path []string
}

func (v Violation) String() string {
	return fmt.Sprintf("%s must not import %s, but does: %s", v.Package, v.Forbidden, strings.Join(v.Path, " -> "))
}

// Checker checks a module's graph against its layers.
type Checker struct {
	Module string // the module path
	Layers []Layer
}

// Layer returns the index in Layers of the layer holding pkg, or -1.
func (c Checker) Layer(pkg string) int {
	rel, ok := c.relative(pkg)
	if !ok {
		return unknown
	}
	for i, l := range c.Layers {
		for _, p := range l.Packages {
			if matches(p, rel) {
				return i
			}
		}
	}
	return unknown
}

func (c Checker) relative(pkg string) (string, bool) {
	if pkg == c.Module {
		return ".", true
	}
	rel, ok := strings.CutPrefix(pkg, c.Module+"/")
	return rel, ok
}

func matches(pattern, rel string) bool {
	if dir, ok := strings.CutSuffix(pattern, "/..."); ok {
		return rel == dir || strings.HasPrefix(rel, dir+"/")
	}
	return rel == pattern
}

// forbidden reports whether a package of layer from may import one of
// layer to.
func (c Checker) forbidden(from, to int) bool {
	switch {
	case to == unknown:
		return false // what it imports in turn is checked on the way
	case from == unknown:
		return !c.Layers[to].Open
	}
	return to > from
}

// Check returns every package of the module in g that reaches, directly
// or through other packages, one it must not import, with the shortest
// chain of imports that leads there.
func (c Checker) Check(g Graph) []Violation {
	var out []Violation
	for _, pkg := range sortedKeys(g) {
		if _, ok := c.relative(pkg); !ok {
			continue
		}
		from := c.Layer(pkg)
		// breadth first, so that each chain is a shortest one
		prev := map[string]string{pkg: ""}
		queue := []string{pkg}
		for len(queue) > 0 {
			cur := queue[0]
			queue = queue[1:]
			for _, dep := range g[cur] {
				if _, seen := prev[dep]; seen {
					continue
				}
				if _, ok := c.relative(dep); !ok {
					continue // outside the module
				}
				prev[dep] = cur
				queue = append(queue, dep)
				if c.forbidden(from, c.Layer(dep)) {
					out = append(out, Violation{Package: pkg, Forbidden: dep, Path: chain(prev, dep)})
				}
			}
		}
	}
	return out
}

func chain(prev map[string]string, last string) []string {
	var path []string
	for p := last; p != ""; p = prev[p] {
		path = append(path, p)
	}
	for i, j := 0, len(path)-1; i < j; i, j = i+1, j-1 {
		path[i], path[j] = path[j], path[i]
	}
	return path
}

func sortedKeys(g Graph) []string {
	keys := make([]string, 0, len(g))
	for k := range g {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
