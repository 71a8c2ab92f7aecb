package tarball

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"path"
	"sort"
	"strings"

	"github.com/pkg/errors"
)

// Member is one entry of an archive.
type Member struct {
	Path     string `json:"path"` // absolute, as in the rootfs
	Kind     string `json:"kind"` // file, dir, symlink, hardlink, other
	Size     int64  `json:"size"`
	Mode     int64  `json:"mode"`
	UID      int    `json:"uid"`
	GID      int    `json:"gid"`
	Linkname string `json:"target,omitempty"`
	SHA256   string `json:"sha256,omitempty"`
	Caps     bool   `json:"capabilities,omitempty"`
}

// Duplicate is one content stored at several paths.
type Duplicate struct {
	SHA256 string   `json:"sha256"`
	Size   int64    `json:"size"`
	Paths  []string `json:"paths"`
	Wasted int64    `json:"wasted"` // bytes stored more than once
}

// Dangling is a symlink whose target is not in the archive.
type Dangling struct {
	Path   string `json:"path"`
	Target string `json:"target"`
}

// Inspection summarizes an archive.
type Inspection struct {
	Compression  Compression `json:"compression"`
	Files        int         `json:"files"`
	Dirs         int         `json:"dirs"`
	Symlinks     int         `json:"symlinks"`
	Hardlinks    int         `json:"hardlinks"`
	Bytes        int64       `json:"bytes"` // file contents, uncompressed
	Members      []Member    `json:"-"`
	Largest      []Member    `json:"largest"`
	Duplicates   []Duplicate `json:"duplicates"`
	Setuid       []string    `json:"setuid"`
	Setgid       []string    `json:"setgid"`
	Capabilities []string    `json:"capabilities"`
	Dangling     []Dangling  `json:"dangling"`
	// Kept holds the contents of the files InspectKeeping was asked to
	// keep, by path.
	Kept map[string][]byte `json:"-"`
}

// Inspect reads an archive whole (hashing every file) and summarizes it;
// top bounds Largest.
func Inspect(ctx context.Context, r *Reader, top int) (*Inspection, error) {
	return InspectKeeping(ctx, r, top, nil)
}

// maxKept bounds the size of a file InspectKeeping keeps.
const maxKept = 64 << 20

// InspectKeeping is Inspect that also keeps, in Kept, the contents of
// the regular files (up to 64 MiB) for which keep returns true: what a
// caller needs of them is read in the same pass.
func InspectKeeping(ctx context.Context, r *Reader, top int, keep func(path string) bool) (*Inspection, error) {
	in := &Inspection{Compression: r.Compression, Setuid: []string{}, Setgid: []string{}, Capabilities: []string{}, Dangling: []Dangling{}, Duplicates: []Duplicate{}, Kept: map[string][]byte{}}
	byHash := map[string][]int{}
	err := Walk(ctx, r, func(name string, h *tar.Header) error {
		var kept *bytes.Buffer
		if keep != nil && (h.Typeflag == tar.TypeReg || h.Typeflag == tar.TypeRegA) && h.Size <= maxKept && keep("/"+name) {
			kept = bytes.NewBuffer(make([]byte, 0, h.Size))
		}
		m, err := member(r, name, h, kept)
		if err != nil {
			return err
		}
		if kept != nil {
			in.Kept[m.Path] = kept.Bytes()
		}
		switch m.Kind {
		case "file":
			in.Files++
			in.Bytes += h.Size
			if h.Size > 0 {
				byHash[m.SHA256] = append(byHash[m.SHA256], len(in.Members))
			}
			if h.Mode&04000 != 0 {
				in.Setuid = append(in.Setuid, m.Path)
			}
			if h.Mode&02000 != 0 {
				in.Setgid = append(in.Setgid, m.Path)
			}
		case "dir":
			in.Dirs++
		case "symlink":
			in.Symlinks++
		case "hardlink":
			in.Hardlinks++
		}
		if m.Caps {
			in.Capabilities = append(in.Capabilities, m.Path)
		}
		in.Members = append(in.Members, m)
		return nil
	})
	if err != nil {
		return nil, err
	}
	for hash, idx := range byHash {
		if len(idx) < 2 {
			continue
		}
		d := Duplicate{SHA256: hash, Size: in.Members[idx[0]].Size}
		for _, i := range idx {
			d.Paths = append(d.Paths, in.Members[i].Path)
		}
		d.Wasted = d.Size * int64(len(idx)-1)
		in.Duplicates = append(in.Duplicates, d)
	}
	sort.Slice(in.Duplicates, func(i, j int) bool {
		if in.Duplicates[i].Wasted != in.Duplicates[j].Wasted {
			return in.Duplicates[i].Wasted > in.Duplicates[j].Wasted
		}
		return in.Duplicates[i].Paths[0] < in.Duplicates[j].Paths[0]
	})
	var files []Member
	for _, m := range in.Members {
		if m.Kind == "file" {
			files = append(files, m)
		}
	}
	sort.SliceStable(files, func(i, j int) bool { return files[i].Size > files[j].Size })
	if top >= 0 && len(files) > top {
		files = files[:top]
	}
	in.Largest = files
	in.Dangling = dangling(in.Members)
	return in, nil
}

// dangling resolves every symlink inside the archive's namespace, as
// the kernel would in the image.
func dangling(members []Member) []Dangling {
	byPath := map[string]*Member{}
	for i := range members {
		byPath[members[i].Path] = &members[i]
	}
	// archives made by other tools may leave parent directories implied
	for i := range members {
		for d := path.Dir(members[i].Path); d != "/"; d = path.Dir(d) {
			if _, ok := byPath[d]; ok {
				break
			}
			byPath[d] = &Member{Path: d, Kind: "dir"}
		}
	}
	var out []Dangling
	for _, m := range members {
		if m.Kind != "symlink" {
			continue
		}
		if !resolves(byPath, m.Path) {
			out = append(out, Dangling{Path: m.Path, Target: m.Linkname})
		}
	}
	if out == nil {
		out = []Dangling{}
	}
	return out
}

func resolves(byPath map[string]*Member, p string) bool {
	cur := "/"
	rest := p
	for links := 0; links <= 40; {
		rest = strings.TrimLeft(rest, "/")
		if rest == "" {
			return true
		}
		comp := rest
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			comp, rest = rest[:i], rest[i:]
		} else {
			rest = ""
		}
		switch comp {
		case ".":
			continue
		case "..":
			cur = path.Dir(cur)
			continue
		}
		next := path.Join(cur, comp)
		m, ok := byPath[next]
		if !ok {
			return false
		}
		if m.Kind == "symlink" {
			links++
			if strings.HasPrefix(m.Linkname, "/") {
				cur = "/"
			}
			rest = m.Linkname + "/" + rest
			continue
		}
		cur = next
	}
	return false
}

// member describes one entry; a file's contents are read from r and
// hashed, and copied to kept when it is not nil.
func member(r io.Reader, name string, h *tar.Header, kept *bytes.Buffer) (Member, error) {
	m := Member{Path: "/" + name, Size: h.Size, Mode: h.Mode, UID: h.Uid, GID: h.Gid, Linkname: h.Linkname}
	switch h.Typeflag {
	case tar.TypeReg, tar.TypeRegA:
		m.Kind = "file"
		hash := sha256.New()
		var w io.Writer = hash
		if kept != nil {
			w = io.MultiWriter(hash, kept)
		}
		if _, err := io.Copy(w, r); err != nil {
			return m, errors.Wrapf(err, "reading %s", m.Path)
		}
		m.SHA256 = hex.EncodeToString(hash.Sum(nil))
	case tar.TypeDir:
		m.Kind = "dir"
	case tar.TypeSymlink:
		m.Kind = "symlink"
	case tar.TypeLink:
		m.Kind = "hardlink"
		m.Linkname = "/" + strings.TrimPrefix(h.Linkname, "/")
	default:
		m.Kind = "other"
	}
	_, m.Caps = h.PAXRecords["SCHILY.xattr.security.capability"]
	return m, nil
}
