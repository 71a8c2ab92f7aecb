package pkgmeta

import (
	"path"
	"sort"
	"strings"
)

// Kept is one package of an image with the files of it the image holds.
type Kept struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Arch    string `json:"arch,omitempty"`
	Source  string `json:"source,omitempty"`
	Files   int    `json:"files"`
	Bytes   int64  `json:"bytes"`
	// Paths are the kept files it owns, as the image names them (filled
	// by FromImage, in the order the metadata lists them).
	Paths []string `json:"-"`
}

// IsImageMetadata says whether an image path is package metadata that
// FromImage reads.
func IsImageMetadata(p string) bool {
	return strings.HasPrefix(p, DpkgStatusD+"/") || p == ApkInstalled
}

// FromImage reads the package metadata of an image (what Apply wrote, or
// a distroless image's): meta holds the contents of its status.d files
// or apk database by path, files the sizes of its regular files, and
// links its symlinks (for the merged-/usr aliases). A package's files are
// those its md5sums (or apk R: lines) name that the image holds.
func FromImage(meta map[string][]byte, files map[string]int64, links map[string]string) ([]Kept, error) {
	aliases := map[string]string{}
	for p, target := range links {
		if strings.Count(p, "/") == 1 && strings.TrimPrefix(path.Clean("/"+target), "/") == "usr"+p {
			aliases[p] = "/usr" + p
		}
	}
	db := &DB{aliases: aliases}
	var out []Kept
	counted := map[string]bool{} // name + path: a file counts once for a package
	count := func(k *Kept, listed string) {
		p := db.Normalize(listed)
		if counted[k.Name+"\x00"+p] {
			return
		}
		counted[k.Name+"\x00"+p] = true
		if size, ok := files[p]; ok {
			k.Files++
			k.Bytes += size
			k.Paths = append(k.Paths, p)
		}
	}
	var names []string
	for p := range meta {
		names = append(names, p)
	}
	sort.Strings(names)
	for _, p := range names {
		data := meta[p]
		switch {
		case p == ApkInstalled:
			pkgs, err := ParseApkInstalled(data, p)
			if err != nil {
				return nil, err
			}
			for _, pkg := range pkgs {
				k := Kept{Name: pkg.Name, Version: pkg.Version, Arch: pkg.Arch, Source: pkg.Source}
				for _, f := range pkg.apkFiles {
					if f.name != "" {
						count(&k, "/"+path.Join(f.dir, f.name))
					}
				}
				out = append(out, k)
			}
		case strings.HasPrefix(p, DpkgStatusD+"/") && !strings.HasSuffix(p, ".md5sums"):
			paras, err := ParseControl(data, p)
			if err != nil {
				return nil, err
			}
			for _, para := range paras {
				src, _, _ := strings.Cut(para.Get("Source"), " ")
				k := Kept{Name: para.Get("Package"), Version: para.Get("Version"), Arch: para.Get("Architecture"), Source: src}
				// conffiles are in the status paragraph, not in md5sums
				for _, line := range strings.Split(para.Get("Conffiles"), "\n") {
					if f := strings.Fields(line); len(f) > 0 && strings.HasPrefix(f[0], "/") {
						count(&k, f[0])
					}
				}
				if sums, ok := meta[p+".md5sums"]; ok {
					lines, err := ParseMD5Sums(sums, p+".md5sums")
					if err != nil {
						return nil, err
					}
					for _, l := range lines {
						count(&k, "/"+l.Path)
					}
				}
				out = append(out, k)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
