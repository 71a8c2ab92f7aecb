package rootpath

import (
	"path/filepath"
	"strings"

	"github.com/pkg/errors"
)

// DefaultPath is the PATH a command gets when its environment has none,
// and the PATH of a scratch image (the one Docker and the OCI runtimes
// use).
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// NormRoot is the one spelling of a root: "" and "/" both mean the host,
// and come back as "/"; any other root is cleaned.
func NormRoot(root string) string {
	if root == "" {
		return "/"
	}
	return filepath.Clean(root)
}

// NotFoundError says a command was not found through PATH.
type NotFoundError struct {
	Name string
	Path []string
	Root string
}

func (e *NotFoundError) Error() string {
	where := ""
	if e.Root != "" && e.Root != "/" {
		where = " (inside " + e.Root + ")"
	}
	return e.Name + ": command not found in PATH " + strings.Join(e.Path, ":") + where
}

// LookPath finds a command as execvp would, inside the root. A name
// with a slash is taken as it is (relative to dir when it is relative)
// and must exist. A bare name is searched in the directories of path:
// the first executable regular file wins, every symlink on the way is
// resolved inside the root (an absolute link never leads out of it).
// Unlike execvp, empty and relative PATH entries are skipped: they
// would make the result depend on the directory scratchpack runs in.
// The result is the path as found (its links not resolved), inside the
// root.
func (r *Resolver) LookPath(name string, path []string, dir string) (string, error) {
	if name == "" {
		return "", errors.New("an empty command name")
	}
	if strings.Contains(name, "/") {
		if !strings.HasPrefix(name, "/") {
			if dir == "" {
				dir = "/"
			}
			name = dropDots(Join(dir, name))
		}
		if _, err := r.Resolve(name, true); err != nil {
			return "", errors.Wrapf(err, "finding the command %s", name)
		}
		return name, nil
	}
	for _, d := range path {
		if !strings.HasPrefix(d, "/") {
			continue
		}
		p := strings.TrimRight(d, "/") + "/" + name
		res, err := r.Resolve(p, true)
		if err == nil && res.Info.Mode().IsRegular() && res.Info.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", &NotFoundError{Name: name, Path: path, Root: r.Root()}
}

// PathOf returns the directories of the PATH in env (KEY=VALUE
// entries, the last PATH wins), or those of DefaultPath when env has
// none.
func PathOf(env []string) []string {
	p, ok := "", false
	for _, kv := range env {
		if strings.HasPrefix(kv, "PATH=") {
			p, ok = kv[len("PATH="):], true
		}
	}
	if !ok {
		p = DefaultPath
	}
	return filepath.SplitList(p)
}

// dropDots removes "." components and repeated slashes; ".." stays, as
// only resolution can say where it leads after a symlink.
func dropDots(p string) string {
	parts := strings.Split(p, "/")
	out := parts[:0]
	for _, c := range parts {
		if c != "" && c != "." {
			out = append(out, c)
		}
	}
	return "/" + strings.Join(out, "/")
}
