package pkgmeta

import (
	"bufio"
	"bytes"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/pkg/errors"

	"github.com/scratchpack/scratchpack/internal/rootpath"
)

// Kind is the kind of package database.
type Kind string

// Kinds of databases.
const (
	Dpkg Kind = "dpkg"
	Apk  Kind = "apk"
)

// The databases' places inside a root.
const (
	DpkgDir       = "/var/lib/dpkg"
	DpkgStatus    = "/var/lib/dpkg/status"
	DpkgStatusD   = "/var/lib/dpkg/status.d"
	ApkInstalled  = "/lib/apk/db/installed"
	alternatives  = "/etc/alternatives/"
	docDir        = "/usr/share/doc/"
	copyrightName = "copyright"
)

// Package is one installed package.
type Package struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Arch    string `json:"arch,omitempty"`
	// Source is the source package when it differs from Name (dpkg's
	// Source field, apk's origin), SourceVersion its version when given.
	Source        string `json:"source,omitempty"`
	SourceVersion string `json:"source_version,omitempty"`
	// Key names the package's files in the database: "libc6:amd64" for
	// info/libc6:amd64.list (Multi-Arch: same), else the name.
	Key string `json:"-"`
	// Stanza is the package's entry in the database, verbatim (dpkg's
	// status paragraph; apk's lines before its first F:).
	Stanza []byte `json:"-"`
	// License is apk's L: field.
	License string `json:"-"`
	// apk: the F:/R: blocks, to write the trimmed database.
	apkFiles []apkFile
	md5      map[string]string // dpkg: listed name -> md5sums line; read when needed
	listed   []string          // the names the database lists (directories too)
}

type apkFile struct {
	dir   string   // "usr/bin" (F:)
	name  string   // "" for the directory's own lines
	lines []string // the R: line and its a:, Z: lines (or the F: block's M:, a:)
}

// owned is one package's claim on a path, with the name it lists it
// under (dpkg's name before the merged-/usr aliases, without them).
type owned struct {
	pkg    *Package
	listed string
}

type diversion struct{ from, to, by string }

// DB is a root's package database.
type DB struct {
	Kind     Kind
	Packages []*Package // sorted by name, then arch
	// OSRelease holds /etc/os-release's fields (ID, VERSION_ID, ...).
	OSRelease map[string]string

	res     *rootpath.Resolver
	byPath  map[string][]owned // normalized path -> owners
	dirs    map[string]bool    // normalized paths listed as parents of others
	aliases map[string]string  // "/lib" -> "/usr/lib" (merged /usr)
	divFrom map[string]diversion
	// diversions as read, for the kept ones to go into the image
	diversions []diversion
	divTo      map[string]diversion
	infoDir    string     // host path of /var/lib/dpkg/info
	mu         sync.Mutex // PackagedMD5's reads of md5sums
}

// Open reads the package database of a root: dpkg's when
// /var/lib/dpkg/status exists, else the stanzas of
// /var/lib/dpkg/status.d/* with the files their .md5sums name (a
// distroless image, or one scratchpack made), else apk's. It returns nil and no error
// when the root has neither.
func Open(res *rootpath.Resolver) (*DB, error) {
	db := &DB{res: res, byPath: map[string][]owned{}, dirs: map[string]bool{}, aliases: map[string]string{}, divFrom: map[string]diversion{}, divTo: map[string]diversion{}}
	db.findAliases()
	if host, ok := db.file(DpkgStatus); ok {
		db.Kind = Dpkg
		if err := db.readDpkg(host); err != nil {
			return nil, err
		}
	} else if r, err := res.Resolve(DpkgStatusD, true); err == nil && r.Info.IsDir() {
		// a distroless image (or one scratchpack made): one stanza a file
		db.Kind = Dpkg
		if err := db.readStatusD(r.Path); err != nil {
			return nil, err
		}
	} else if host, ok := db.file(ApkInstalled); ok {
		db.Kind = Apk
		if err := db.readApk(host); err != nil {
			return nil, err
		}
	} else {
		return nil, nil
	}
	sort.Slice(db.Packages, func(i, j int) bool {
		a, b := db.Packages[i], db.Packages[j]
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Arch < b.Arch
	})
	if host, ok := db.file("/etc/os-release"); ok {
		db.OSRelease = readOSRelease(host)
	} else if host, ok := db.file("/usr/lib/os-release"); ok {
		db.OSRelease = readOSRelease(host)
	}
	return db, nil
}

// file returns the host path of a regular file inside the root, links
// resolved inside it.
func (db *DB) file(p string) (string, bool) {
	r, err := db.res.Resolve(p, true)
	if err != nil || !r.Info.Mode().IsRegular() {
		return "", false
	}
	return db.res.HostPath(r.Path), true
}

// findAliases finds the merged-/usr links at the top of the root:
// /bin -> usr/bin, /lib -> usr/lib, /lib64 -> usr/lib64, ...
func (db *DB) findAliases() {
	names, err := readDirNames(db.res.HostPath("/"))
	if err != nil {
		return
	}
	for _, n := range names {
		info, target, err := db.res.Lstat("/" + n)
		if err != nil || info.Mode()&fs.ModeSymlink == 0 {
			continue
		}
		t := strings.TrimPrefix(path.Clean("/"+target), "/")
		if t == "usr/"+n {
			db.aliases["/"+n] = "/usr/" + n
		}
	}
}

func readDirNames(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Readdirnames(-1)
}

// Normalize maps a path to its name with the merged-/usr aliases of the
// root applied: /lib/x86_64-linux-gnu/libc.so.6 ->
// /usr/lib/x86_64-linux-gnu/libc.so.6 when /lib is a link to usr/lib.
func (db *DB) Normalize(p string) string {
	if len(db.aliases) == 0 || len(p) < 2 {
		return p
	}
	first := p
	if i := strings.IndexByte(p[1:], '/'); i >= 0 {
		first = p[:i+1]
	}
	if to, ok := db.aliases[first]; ok {
		return to + p[len(first):]
	}
	return p
}

// readDpkg reads status, every installed package's list once, and the
// diversions.
func (db *DB) readDpkg(statusHost string) error {
	data, err := os.ReadFile(statusHost)
	if err != nil {
		return errors.Wrapf(err, "reading %s", DpkgStatus)
	}
	paras, err := ParseControl(data, DpkgStatus)
	if err != nil {
		return err
	}
	infoCanon, err := db.res.Canonical(DpkgDir + "/info")
	if err != nil {
		return errors.Wrapf(err, "finding %s/info", DpkgDir)
	}
	db.infoDir = db.res.HostPath(infoCanon)
	for i := range paras {
		p := &paras[i]
		name := p.Get("Package")
		if name == "" {
			return &SyntaxError{File: DpkgStatus, Line: p.Line, Msg: "a paragraph without a Package field"}
		}
		if !installed(p.Get("Status")) {
			continue
		}
		pkg := &Package{Name: name, Version: p.Get("Version"), Arch: p.Get("Architecture"), Stanza: p.Raw}
		if src := p.Get("Source"); src != "" {
			pkg.Source, pkg.SourceVersion, _ = strings.Cut(src, " ")
			pkg.SourceVersion = strings.Trim(pkg.SourceVersion, "() ")
		}
		pkg.Key = name
		if pkg.Arch != "" {
			if _, err := os.Lstat(db.infoDir + "/" + name + ":" + pkg.Arch + ".list"); err == nil {
				pkg.Key = name + ":" + pkg.Arch
			}
		}
		if err := db.readList(pkg); err != nil {
			return err
		}
		db.Packages = append(db.Packages, pkg)
	}
	return db.readDiversions()
}

// installed reports whether a Status value ("install ok installed") says
// the package's files are on disk.
func installed(status string) bool {
	f := strings.Fields(status)
	if len(f) != 3 {
		return false
	}
	switch f[2] {
	case "installed", "triggers-pending", "triggers-awaited", "half-configured":
		return true
	}
	return false
}

func (db *DB) readList(pkg *Package) error {
	name := DpkgDir + "/info/" + pkg.Key + ".list"
	f, err := os.Open(db.infoDir + "/" + pkg.Key + ".list")
	if errors.Is(err, fs.ErrNotExist) {
		return nil // a package without files (a metapackage)
	}
	if err != nil {
		return errors.Wrapf(err, "reading %s", name)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		p := sc.Text()
		if p == "/." || p == "" {
			continue
		}
		if !strings.HasPrefix(p, "/") {
			return &SyntaxError{File: name, Line: line, Msg: "expected an absolute path, got " + quote(p)}
		}
		n := db.Normalize(p)
		db.byPath[n] = append(db.byPath[n], owned{pkg: pkg, listed: p})
		pkg.listed = append(pkg.listed, p)
		for d := path.Dir(n); d != "/" && !db.dirs[d]; d = path.Dir(d) {
			db.dirs[d] = true
		}
	}
	return errors.Wrapf(sc.Err(), "reading %s", name)
}

// readDiversions reads /var/lib/dpkg/diversions: three lines each, the
// diverted name, where it goes, and the diverting package (":" for the
// local admin).
func (db *DB) readDiversions() error {
	host, ok := db.file(DpkgDir + "/diversions")
	if !ok {
		return nil
	}
	data, err := os.ReadFile(host)
	if err != nil {
		return errors.Wrapf(err, "reading %s/diversions", DpkgDir)
	}
	divs, err := ParseDiversions(data, DpkgDir+"/diversions")
	if err != nil {
		return err
	}
	db.diversions = divs
	for _, d := range divs {
		d.from, d.to = db.Normalize(d.from), db.Normalize(d.to)
		db.divFrom[d.from] = d
		db.divTo[d.to] = d
	}
	return nil
}

// ParseDiversions reads dpkg's diversions file.
func ParseDiversions(data []byte, name string) ([]diversion, error) {
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(data) == 0 {
		return nil, nil
	}
	if len(lines)%3 != 0 {
		return nil, &SyntaxError{File: name, Line: len(lines), Msg: "expected groups of three lines (from, to, package)"}
	}
	var out []diversion
	for i := 0; i < len(lines); i += 3 {
		for j := 0; j < 2; j++ {
			if !strings.HasPrefix(lines[i+j], "/") {
				return nil, &SyntaxError{File: name, Line: i + j + 1, Msg: "expected an absolute path, got " + quote(lines[i+j])}
			}
		}
		if lines[i+2] == "" {
			return nil, &SyntaxError{File: name, Line: i + 3, Msg: "expected the diverting package (or \":\")"}
		}
		out = append(out, diversion{from: lines[i], to: lines[i+1], by: lines[i+2]})
	}
	return out, nil
}

// Owner says which packages own the file at p (a path as packed), with
// the names they list it under, or why none does.
func (db *DB) owners(p string) ([]owned, string) {
	n := db.Normalize(p)
	if strings.HasPrefix(n, alternatives) {
		return nil, "an alternatives link (update-alternatives): no package owns it"
	}
	if d, ok := db.divTo[n]; ok {
		// the file put aside: it is the one of the packages that list
		// the diverted name, other than the diverting one
		var out []owned
		for _, o := range db.byPath[d.from] {
			if o.pkg.Name != d.by {
				out = append(out, o)
			}
		}
		if len(out) == 0 {
			return nil, "diverted from " + d.from + " by " + d.by + ", and no other package lists it"
		}
		return out, ""
	}
	if d, ok := db.divFrom[n]; ok {
		// only the diverting package's own file can be at the name
		var out []owned
		for _, o := range db.byPath[n] {
			if o.pkg.Name == d.by {
				out = append(out, o)
			}
		}
		if len(out) == 0 {
			return nil, "diverted to " + d.to + " by " + d.by + ", which ships no file at this name"
		}
		return out, ""
	}
	if o := db.byPath[n]; len(o) > 0 {
		return o, ""
	}
	return nil, "in no package's file list"
}

// IsDir reports whether the database knows p as a directory (it lists
// paths under it).
func (db *DB) IsDir(p string) bool {
	n := db.Normalize(p)
	return db.dirs[n] || n == "/"
}

// Owners returns the names of the packages that own p ("" and why when
// none does): for tests and inspection.
func (db *DB) Owners(p string) ([]string, string) {
	o, why := db.owners(p)
	var names []string
	for _, x := range o {
		names = append(names, x.pkg.Name)
	}
	return names, why
}

// PackagedMD5 returns the md5 sum, in hex, that the package owning p
// (a path inside the root) gave its file: dpkg's md5sums, read through
// the database, so the merged-/usr aliases, diversions and status.d
// roots count as they do for the owners. It is false when no package
// owns p, or its package lists no sum for it. Safe for concurrent use.
func (db *DB) PackagedMD5(p string) (string, bool) {
	owners, _ := db.owners(p)
	db.mu.Lock()
	defer db.mu.Unlock()
	for _, o := range owners {
		sums, err := db.md5sums(o.pkg)
		if err != nil {
			continue
		}
		if line, ok := sums[o.listed]; ok {
			sum, _, _ := strings.Cut(line, "  ")
			return sum, true
		}
	}
	return "", false
}

// md5sums returns pkg's md5sums lines keyed by the listed name (with a
// leading /); read once.
func (db *DB) md5sums(pkg *Package) (map[string]string, error) {
	if pkg.md5 != nil || db.Kind != Dpkg {
		return pkg.md5, nil
	}
	pkg.md5 = map[string]string{}
	name := DpkgDir + "/info/" + pkg.Key + ".md5sums"
	data, err := os.ReadFile(db.infoDir + "/" + pkg.Key + ".md5sums")
	if errors.Is(err, fs.ErrNotExist) {
		return pkg.md5, nil
	}
	if err != nil {
		return nil, errors.Wrapf(err, "reading %s", name)
	}
	sums, err := ParseMD5Sums(data, name)
	if err != nil {
		return nil, err
	}
	for _, s := range sums {
		pkg.md5["/"+s.Path] = s.Line
	}
	return pkg.md5, nil
}

// MD5Sum is one line of a dpkg md5sums file.
type MD5Sum struct {
	Sum, Path string // Path without the leading /
	Line      string // the line as read
}

// ParseMD5Sums reads a dpkg md5sums file: "<32 hex digits>  <path>".
func ParseMD5Sums(data []byte, name string) ([]MD5Sum, error) {
	var out []MD5Sum
	for i, l := range bytes.Split(data, []byte("\n")) {
		line := string(l)
		if line == "" {
			continue
		}
		sum, p, ok := strings.Cut(line, "  ")
		if !ok || len(sum) != 32 || strings.Trim(sum, "0123456789abcdef") != "" || p == "" {
			return nil, &SyntaxError{File: name, Line: i + 1, Msg: "expected \"<md5 in hex>  <path>\", got " + quote(line)}
		}
		out = append(out, MD5Sum{Sum: sum, Path: strings.TrimPrefix(p, "/"), Line: line})
	}
	return out, nil
}

// readOSRelease reads KEY=value lines (values may be quoted).
func readOSRelease(host string) map[string]string {
	data, err := os.ReadFile(host)
	if err != nil {
		return nil
	}
	return ParseOSRelease(data)
}

// ParseOSRelease reads os-release's KEY=value lines; values may be in
// single or double quotes. Other lines are ignored, as the format says.
func ParseOSRelease(data []byte) map[string]string {
	out := map[string]string{}
	for _, l := range strings.Split(string(data), "\n") {
		l = strings.TrimSpace(l)
		k, v, ok := strings.Cut(l, "=")
		if !ok || k == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
			if strings.Contains(v, `\`) {
				v = strings.NewReplacer(`\"`, `"`, `\\`, `\`, `\$`, `$`, "\\`", "`").Replace(v)
			}
		}
		out[k] = v
	}
	return out
}

// readStatusD reads a distroless dpkg database: status.d/NAME holds a
// package's stanza (Status may be left out), status.d/NAME.md5sums its
// files.
func (db *DB) readStatusD(canon string) error {
	db.infoDir = db.res.HostPath(canon)
	names, err := readDirNames(db.infoDir)
	if err != nil {
		return errors.Wrapf(err, "listing %s", DpkgStatusD)
	}
	sort.Strings(names)
	for _, n := range names {
		if strings.HasSuffix(n, ".md5sums") || strings.HasPrefix(n, ".") {
			continue
		}
		name := DpkgStatusD + "/" + n
		info, err := os.Lstat(db.infoDir + "/" + n)
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		data, err := os.ReadFile(db.infoDir + "/" + n)
		if err != nil {
			return errors.Wrapf(err, "reading %s", name)
		}
		paras, err := ParseControl(data, name)
		if err != nil {
			return err
		}
		for i := range paras {
			p := &paras[i]
			if p.Get("Package") == "" {
				return &SyntaxError{File: name, Line: p.Line, Msg: "a paragraph without a Package field"}
			}
			if p.Has("Status") && !installed(p.Get("Status")) {
				continue
			}
			pkg := &Package{Name: p.Get("Package"), Version: p.Get("Version"), Arch: p.Get("Architecture"), Stanza: p.Raw, Key: n}
			if src := p.Get("Source"); src != "" {
				pkg.Source, pkg.SourceVersion, _ = strings.Cut(src, " ")
				pkg.SourceVersion = strings.Trim(pkg.SourceVersion, "() ")
			}
			sums, err := db.md5sums(pkg)
			if err != nil {
				return err
			}
			for listed := range sums {
				nrm := db.Normalize(listed)
				db.byPath[nrm] = append(db.byPath[nrm], owned{pkg: pkg, listed: listed})
				pkg.listed = append(pkg.listed, listed)
				for d := path.Dir(nrm); d != "/" && !db.dirs[d]; d = path.Dir(d) {
					db.dirs[d] = true
				}
			}
			db.Packages = append(db.Packages, pkg)
		}
	}
	return db.readDiversions()
}

// Files returns the paths, merged-/usr aliases applied, at which the
// files of pkg are in the root: every name the database lists for it
// that is not a directory of the database and that pkg owns (a file
// another package diverted away is at its new name). Sorted; whether a
// path is a directory on disk is the caller's to check.
func (db *DB) Files(pkg *Package) []string {
	seen := map[string]bool{}
	var out []string
	for _, listed := range pkg.listed {
		n := db.Normalize(listed)
		if db.dirs[n] {
			continue
		}
		if d, ok := db.divFrom[n]; ok && d.by != pkg.Name {
			n = d.to // put aside: the package's file is there
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// Owning returns the packages that own the file at p (see Owners).
func (db *DB) Owning(p string) []*Package {
	o, _ := db.owners(p)
	out := make([]*Package, 0, len(o))
	for _, x := range o {
		out = append(out, x.pkg)
	}
	return out
}

// Lookup returns the installed packages named name (one per
// architecture); "name:arch" names one.
func (db *DB) Lookup(name string) []*Package {
	name, arch, _ := strings.Cut(name, ":")
	var out []*Package
	for _, p := range db.Packages {
		if p.Name == name && (arch == "" || p.Arch == arch) {
			out = append(out, p)
		}
	}
	return out
}
