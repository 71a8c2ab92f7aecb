package collect

import (
	"path"
	"strconv"
	"strings"

	"github.com/scratchpack/scratchpack/collect/fanotify"
)

// FromWatch turns what a fanotify watch saw into Uses. The paths are the
// files themselves (symlinks resolved): the caller adds the links that
// point at them (see scratchpack.ListOptions.LinkScan).
func FromWatch(acc []fanotify.Access) []Use {
	out := make([]Use, 0, len(acc))
	landmarks := map[string]bool{}
	for _, a := range acc {
		u := Use{Path: a.Path, Source: SourceFanotify, Where: "fanotify, pid " + strconv.Itoa(a.Pid)}
		switch {
		case a.Created:
			u.Need, u.Created, u.Detail = NeedParent, true, "created"
		case a.Dir:
			u.Need, u.Detail = NeedDir, "opendir"
		case a.Exec:
			u.Need, u.Exec, u.Detail = NeedFile, true, "exec"
		case a.Written:
			u.Need, u.Detail = NeedFile, "open,write"
		default:
			u.Need, u.Detail = NeedFile, "open"
		}
		out = append(out, u)
		if a.Created {
			continue
		}
		if src, ok := pycSource(a.Path); ok {
			// Python stats the source to check the cached bytecode, and
			// ignores a __pycache__ file whose source is gone: the watch
			// never sees the stat. (Absent sources are fine: Gone.)
			out = append(out, Use{Path: src, Need: NeedFile, Source: SourceFanotify, Detail: "source of " + path.Base(a.Path) + " (python checks it)", Where: u.Where, Gone: true})
		}
		if lib, ok := pythonLib(a.Path); ok && !landmarks[lib] {
			// Python finds its prefix by stat'ing these landmarks (its os
			// module itself is frozen into the binary).
			landmarks[lib] = true
			out = append(out,
				Use{Path: lib + "/os.py", Need: NeedFile, Source: SourceFanotify, Detail: "python's prefix landmark", Where: u.Where, Gone: true},
				Use{Path: lib + "/lib-dynload", Need: NeedDir, Source: SourceFanotify, Detail: "python's exec_prefix landmark", Where: u.Where, Gone: true})
		}
	}
	return out
}

// pythonLib returns PREFIX/lib/pythonX.Y for a path inside it.
func pythonLib(p string) (string, bool) {
	i := strings.Index(p, "/lib/python")
	if i < 0 {
		return "", false
	}
	rest := p[i+len("/lib/python"):]
	j := strings.IndexByte(rest, '/')
	if j < 0 {
		return "", false
	}
	ver := rest[:j]
	dot := strings.IndexByte(ver, '.')
	if dot <= 0 || dot == len(ver)-1 || strings.Trim(ver, "0123456789.") != "" {
		return "", false
	}
	return p[:i+len("/lib/python")+j], true
}

// pycSource maps DIR/__pycache__/NAME.TAG[.opt-N].pyc to DIR/NAME.py
// (PEP 3147).
func pycSource(p string) (string, bool) {
	dir, file := path.Split(p)
	if path.Base(dir) != "__pycache__" || !strings.HasSuffix(file, ".pyc") {
		return "", false
	}
	name := strings.TrimSuffix(file, ".pyc")
	// NAME.cpython-311 or NAME.cpython-311.opt-1: drop the last one or
	// two dotted parts.
	parts := strings.Split(name, ".")
	n := len(parts) - 1
	if n >= 2 && strings.HasPrefix(parts[n], "opt-") {
		n--
	}
	if n < 1 {
		return "", false
	}
	return path.Join(path.Dir(path.Clean(dir)), strings.Join(parts[:n], ".")+".py"), true
}
