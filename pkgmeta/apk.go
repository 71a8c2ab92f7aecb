package pkgmeta

import (
	"os"
	"path"
	"strings"

	"github.com/pkg/errors"
)

// readApk reads Alpine's /lib/apk/db/installed.
func (db *DB) readApk(host string) error {
	data, err := os.ReadFile(host)
	if err != nil {
		return errors.Wrapf(err, "reading %s", ApkInstalled)
	}
	pkgs, err := ParseApkInstalled(data, ApkInstalled)
	if err != nil {
		return err
	}
	for _, pkg := range pkgs {
		for _, f := range pkg.apkFiles {
			if f.name == "" {
				continue
			}
			listed := "/" + path.Join(f.dir, f.name)
			n := db.Normalize(listed)
			db.byPath[n] = append(db.byPath[n], owned{pkg: pkg, listed: listed})
			pkg.listed = append(pkg.listed, listed)
			for d := path.Dir(n); d != "/" && !db.dirs[d]; d = path.Dir(d) {
				db.dirs[d] = true
			}
		}
		db.Packages = append(db.Packages, pkg)
	}
	return nil
}

// ParseApkInstalled reads an apk installed database: packages separated
// by blank lines, "X:value" lines; P: name, V: version, A: arch, o:
// origin (the source package), L: license; F: a directory and the R:
// files in it, each with its a: and Z: lines.
func ParseApkInstalled(data []byte, name string) ([]*Package, error) {
	var out []*Package
	var cur *Package
	var header []string
	inFiles := false
	flush := func(line int) error {
		if cur == nil {
			return nil
		}
		if cur.Name == "" {
			return &SyntaxError{File: name, Line: line, Msg: "a package without a P: line"}
		}
		cur.Stanza = []byte(strings.Join(header, "\n") + "\n")
		out = append(out, cur)
		cur, header, inFiles = nil, nil, false
		return nil
	}
	lines := strings.Split(string(data), "\n")
	for i, l := range lines {
		if l == "" {
			if err := flush(i + 1); err != nil {
				return nil, err
			}
			continue
		}
		if len(l) < 2 || l[1] != ':' {
			return nil, &SyntaxError{File: name, Line: i + 1, Msg: "expected \"X:value\", got " + quote(l)}
		}
		if cur == nil {
			cur = &Package{}
		}
		k, v := l[0], l[2:]
		switch k {
		case 'F':
			inFiles = true
			cur.apkFiles = append(cur.apkFiles, apkFile{dir: v, lines: []string{l}})
			continue
		case 'R':
			if !inFiles {
				return nil, &SyntaxError{File: name, Line: i + 1, Msg: "an R: line before any F: line"}
			}
			if v == "" || strings.Contains(v, "/") {
				return nil, &SyntaxError{File: name, Line: i + 1, Msg: "expected a file name after R:, got " + quote(v)}
			}
			dir := cur.apkFiles[len(cur.apkFiles)-1].dir
			cur.apkFiles = append(cur.apkFiles, apkFile{dir: dir, name: v, lines: []string{l}})
			continue
		}
		if inFiles {
			f := &cur.apkFiles[len(cur.apkFiles)-1]
			f.lines = append(f.lines, l)
			continue
		}
		header = append(header, l)
		switch k {
		case 'P':
			cur.Name = v
			cur.Key = v
		case 'V':
			cur.Version = v
		case 'A':
			cur.Arch = v
		case 'o':
			cur.Source = v
		case 'L':
			cur.License = v
		}
	}
	if err := flush(len(lines)); err != nil {
		return nil, err
	}
	return out, nil
}

// apkStanza writes a package's entry with only the kept files (listed
// names) and the F: lines of their directories.
func apkStanza(pkg *Package, kept map[string]bool) []byte {
	var b strings.Builder
	b.Write(pkg.Stanza)
	var dirBlock *apkFile
	for i := range pkg.apkFiles {
		f := &pkg.apkFiles[i]
		if f.name == "" {
			dirBlock = f
			continue
		}
		if !kept["/"+path.Join(f.dir, f.name)] {
			continue
		}
		if dirBlock != nil { // the directory's F: block, once, before its first kept file
			b.WriteString(strings.Join(dirBlock.lines, "\n") + "\n")
			dirBlock = nil
		}
		b.WriteString(strings.Join(f.lines, "\n") + "\n")
	}
	b.WriteString("\n")
	return []byte(b.String())
}
