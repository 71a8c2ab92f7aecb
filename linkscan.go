package scratchpack

import (
	"io/fs"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/scratchpack/scratchpack/collect"
	"github.com/scratchpack/scratchpack/internal/rootpath"
)

// linkTrees are the system directories searched whole for symlinks to
// used paths (a symlink is not followed by the walk).
var linkTrees = []string{"/etc", "/usr", "/opt", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"}

// linksTo finds the symlinks through which a program may have reached the
// used paths, for collectors that see only the files (fanotify): every
// symlink that resolves to a used path, or to a directory holding one,
// found in the system trees (linkTrees), in /, in the directory of a used
// path or in a PATH directory. That catches soname links (libz.so.1),
// alternatives (/usr/bin/awk), merged-/usr links (/lib -> usr/lib),
// /etc/localtime and links to data files elsewhere
// (/usr/share/locale/locale.alias), at the cost of links never used.
func linksTo(res *rootpath.Resolver, uses []collect.Use, path []string) []collect.Use {
	used := map[string]bool{}
	holds := map[string]bool{}         // directories with a used path below
	dirs := map[string]bool{"/": true} // scanned alone (/etc is a tree)
	for _, u := range uses {
		c, err := res.Canonical(u.Path)
		if err != nil {
			continue
		}
		used[c] = true
		for d := rootpath.Parent(c); ; d = rootpath.Parent(d) {
			if holds[d] {
				break
			}
			holds[d] = true
			if d == "/" {
				break
			}
		}
		dirs[rootpath.Parent(c)] = true
	}
	for _, p := range path {
		if c, err := res.Canonical(p); err == nil {
			dirs[c] = true
		}
	}
	// The walk reads directories in parallel (unsorted reads: the result
	// is sorted at the end); symlinks are resolved under one lock, as
	// the resolver's cache is shared.
	var (
		mu   sync.Mutex
		out  []collect.Use
		seen = map[string]bool{}
		wg   sync.WaitGroup
		sem  = make(chan struct{}, 2*runtime.GOMAXPROCS(0))
	)
	var scan func(d string, deep bool)
	scan = func(d string, deep bool) {
		defer wg.Done()
		sem <- struct{}{}
		f, err := os.Open(res.HostPath(d))
		var entries []os.DirEntry
		if err == nil {
			entries, _ = f.ReadDir(-1)
			f.Close()
		}
		<-sem
		for _, e := range entries {
			p := rootpath.Join(d, e.Name())
			if e.IsDir() {
				if deep {
					wg.Add(1)
					go scan(p, true)
				}
				continue
			}
			if e.Type()&fs.ModeSymlink == 0 {
				continue
			}
			mu.Lock()
			if !seen[p] {
				seen[p] = true
				// (not a link to its own directory or above: usr/bin/X11 -> .)
				if c, err := res.Canonical(p); err == nil && c != p && (used[c] || holds[c] && !within(d, c)) {
					out = append(out, collect.Use{Path: p, Need: collect.NeedFile, Source: collect.SourceLink, Detail: "points to " + c})
				}
			}
			mu.Unlock()
		}
	}
	var trees []string
	for _, t := range linkTrees {
		if info, _, err := res.Lstat(t); err == nil && info.IsDir() {
			trees = append(trees, t)
			wg.Add(1)
			go scan(t, true)
		}
	}
dirs:
	for d := range dirs {
		for _, t := range trees {
			if within(d, t) {
				continue dirs // read by the walk of t
			}
		}
		wg.Add(1)
		go scan(d, false)
	}
	wg.Wait()
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// within reports whether dir is anc or below it.
func within(dir, anc string) bool {
	return dir == anc || anc == "/" || strings.HasPrefix(dir, anc+"/")
}
