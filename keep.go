package scratchpack

import (
	"path/filepath"
	"strings"

	"github.com/scratchpack/scratchpack/collect"
	"github.com/scratchpack/scratchpack/internal/rootpath"
)

// commandPaths are the paths a build must not lose to the default
// excludes (ListOptions.Keep): the working directory (unless "/", or a
// kernel filesystem), the program, and every argument that names an
// existing path, relative to dir or absolute, with "--opt=PATH" read as
// PATH. A command run from /tmp/work as `jq -c .a in.json` keeps
// /tmp/work and /tmp/work/in.json although /tmp/** is a default exclude.
func commandPaths(res *rootpath.Resolver, program string, args []string, dir string) map[string]string {
	keep := map[string]string{}
	if dir != "/" && !kernelFS(dir) {
		keep[filepath.Clean(dir)] = "the command's working directory"
	}
	keep[program] = "the command"
	for _, a := range args {
		if strings.HasPrefix(a, "-") {
			_, v, ok := strings.Cut(a, "=")
			if !ok {
				continue
			}
			a = v
		}
		if a == "" || strings.ContainsRune(a, 0) {
			continue
		}
		p := a
		if !strings.HasPrefix(p, "/") {
			p = filepath.Join(dir, p)
		}
		p = filepath.Clean(p)
		if p == "/" || kernelFS(p) {
			continue
		}
		if _, err := res.Resolve(p, false); err == nil {
			if _, ok := keep[p]; !ok {
				keep[p] = "named in the command's arguments"
			}
		}
	}
	return keep
}

// kernelFS reports whether p is under /proc, /sys or /dev, which no
// image takes from the builder whatever the command names.
func kernelFS(p string) bool {
	for _, k := range []string{"/proc", "/sys", "/dev"} {
		if p == k || strings.HasPrefix(p, k+"/") {
			return true
		}
	}
	return false
}

// workdirUse is the working directory as a use, so that the image has
// the Dockerfile's WORKDIR even when the command used nothing in it.
func workdirUse(dir string, src collect.Source) collect.Use {
	return collect.Use{Path: dir, Need: collect.NeedDir, Source: src, Detail: "the working directory"}
}
