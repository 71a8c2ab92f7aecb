package scratchpack

import (
	"path"
	"strings"

	"github.com/scratchpack/scratchpack/filelist"
	"github.com/scratchpack/scratchpack/internal/rootpath"
)

// StandardPath is the PATH of Debian's shells and of the usual base
// images: what an image gets when nothing better is known.
const StandardPath = rootpath.DefaultPath

// ImagePath is the PATH an image made of l runs its command with: the
// directories of the command's PATH (commandPath, in its order) that are
// directories in the image, reached through the image's own symlinks, each
// once. It never carries the builder's other directories (tool names of
// the machine that built it), and is StandardPath when commandPath is
// empty or none of its directories is in the image. The Dockerfile's ENV
// PATH and an image config's Env use it.
func ImagePath(l *filelist.List, commandPath []string) string {
	var out []string
	seen := map[string]bool{}
	for _, d := range commandPath {
		if !strings.HasPrefix(d, "/") {
			continue // "" or "." mean the working directory: not a place in an image
		}
		d = path.Clean(d)
		if seen[d] || !isDirIn(l, d) {
			continue
		}
		seen[d] = true
		out = append(out, d)
	}
	if len(out) == 0 {
		return StandardPath
	}
	return strings.Join(out, ":")
}

// isDirIn reports whether p leads to a directory of the list, following
// the list's symlinks as the kernel would inside the image.
func isDirIn(l *filelist.List, p string) bool {
	e := resolveIn(l, p, 0)
	return e != nil && e.Kind == filelist.Dir
}

// resolveIn returns the entry p leads to inside the list, or nil (the
// root "/" is a directory entry of its own).
func resolveIn(l *filelist.List, p string, depth int) *filelist.Entry {
	if depth > 40 { // the kernel's bound on links followed (ELOOP)
		return nil
	}
	cur := "/"
	var e *filelist.Entry = &filelist.Entry{Path: "/", Kind: filelist.Dir}
	for _, c := range strings.Split(strings.Trim(p, "/"), "/") {
		switch c {
		case "", ".":
			continue
		case "..":
			cur = path.Dir(cur)
			e = resolveIn(l, cur, depth+1)
			if e == nil {
				return nil
			}
			continue
		}
		if e.Kind != filelist.Dir {
			return nil
		}
		next := path.Join(cur, c)
		e = l.Lookup(next)
		if e == nil {
			return nil
		}
		if e.Kind == filelist.Symlink {
			target := e.Target
			if !strings.HasPrefix(target, "/") {
				// not path.Join: a ".." in the target is taken after the
				// links before it, as the kernel does
				target = cur + "/" + target
			}
			if e = resolveIn(l, target, depth+1); e == nil {
				return nil
			}
			next = e.Path
		}
		cur = next
	}
	return e
}
