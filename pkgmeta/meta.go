package pkgmeta

import (
	"context"
	"crypto/sha256"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/pkg/errors"

	"github.com/scratchpack/scratchpack/filelist"
)

// Use is one package with what a list keeps of it.
type Use struct {
	Name          string `json:"name"`
	Version       string `json:"version"`
	Arch          string `json:"arch,omitempty"`
	Source        string `json:"source,omitempty"`
	SourceVersion string `json:"source_version,omitempty"`
	// Files counts the kept regular files and hardlinks it owns, Links
	// its kept symlinks, Bytes the kept files' sizes. A package is kept
	// when it owns a kept file; links alone do not keep it.
	Files int   `json:"files"`
	Links int   `json:"links,omitempty"`
	Bytes int64 `json:"bytes"`
	// License is an SPDX expression made from the copyright file when it
	// is machine-readable (DEP-5), or apk's L: field.
	License string `json:"license,omitempty"`
	// Copyright is the copyright file's path inside the root ("" when
	// the package has none).
	Copyright string `json:"copyright,omitempty"`

	pkg    *Package
	listed map[string]bool // kept paths, as the package lists them
	refs   map[string]bool // license references used, for SPDX
}

// Unowned is a kept path that no package owns.
type Unowned struct {
	Path string `json:"path"`
	Kind string `json:"kind"`
	Why  string `json:"why"`
}

// Result is the ownership of a list's entries and what Apply added.
type Result struct {
	Kind Kind `json:"database"`
	// OS is os-release's PRETTY_NAME (or NAME VERSION_ID).
	OS       string    `json:"os,omitempty"`
	Packages []*Use    `json:"packages"`
	Unowned  []Unowned `json:"unowned"`
	// What Apply added to the list: database entries and os-release
	// (Metadata), copyright files (License), in files and bytes.
	MetadataFiles int      `json:"metadata_files"`
	MetadataBytes int64    `json:"metadata_bytes"`
	LicenseFiles  int      `json:"license_files"`
	LicenseBytes  int64    `json:"license_bytes"`
	Added         []string `json:"added,omitempty"`
	// SBOM is where the SBOM copy went in the image ("" when none).
	SBOM string `json:"sbom,omitempty"`

	db    *DB
	owner map[string][]*Use // kept path -> its packages
}

// Analyze maps every entry of the list to the packages that own it.
func Analyze(ctx context.Context, db *DB, l *filelist.List) (*Result, error) {
	r := &Result{Kind: db.Kind, OS: osName(db.OSRelease), Packages: []*Use{}, Unowned: []Unowned{}, db: db, owner: map[string][]*Use{}}
	uses := map[*Package]*Use{}
	use := func(o owned) *Use {
		u := uses[o.pkg]
		if u == nil {
			p := o.pkg
			u = &Use{Name: p.Name, Version: p.Version, Arch: p.Arch, Source: p.Source, SourceVersion: p.SourceVersion, License: p.License, pkg: p, listed: map[string]bool{}}
			uses[p] = u
			r.Packages = append(r.Packages, u)
		}
		return u
	}
	// Files first: a package is kept when it owns a kept file. Its
	// symlinks come along; a package that would own only symlinks (a
	// -dev package's libfoo.so, python3's /usr/bin/python3) is not
	// listed, its links are reported as unowned.
	var links []*filelist.Entry
	for _, e := range l.Entries {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		switch e.Kind {
		case filelist.Symlink:
			if !db.IsDir(e.Path) { // not /lib -> usr/lib, a directory of many packages
				links = append(links, e)
			}
			continue
		case filelist.File, filelist.Hardlink:
		default:
			continue
		}
		owners, why := db.owners(e.Path)
		if len(owners) == 0 {
			r.Unowned = append(r.Unowned, Unowned{Path: e.Path, Kind: string(e.Kind), Why: why})
			continue
		}
		for _, o := range owners {
			u := use(o)
			u.listed[o.listed] = true
			u.Files++
			u.Bytes += e.Size
			r.owner[e.Path] = append(r.owner[e.Path], u)
		}
	}
	for _, e := range links {
		owners, why := db.owners(e.Path)
		var kept []string
		for _, o := range owners {
			if u := uses[o.pkg]; u != nil {
				u.listed[o.listed] = true
				u.Links++
				r.owner[e.Path] = append(r.owner[e.Path], u)
				kept = append(kept, u.Name)
			}
		}
		if len(kept) > 0 {
			continue
		}
		if len(owners) > 0 {
			why = "a symlink of " + owners[0].pkg.Name + ", which owns no kept file"
		}
		r.Unowned = append(r.Unowned, Unowned{Path: e.Path, Kind: string(e.Kind), Why: why})
	}
	sort.Slice(r.Unowned, func(i, j int) bool { return r.Unowned[i].Path < r.Unowned[j].Path })
	sortUses(r.Packages)
	for _, u := range r.Packages {
		db.copyright(u)
	}
	return r, nil
}

// copyright finds a dpkg package's copyright file and reads its license.
func (db *DB) copyright(u *Use) {
	if db.Kind != Dpkg {
		return
	}
	p := docDir + u.Name + "/" + copyrightName
	if host, ok := db.file(p); ok {
		u.Copyright = p
		if data, err := os.ReadFile(host); err == nil {
			u.License, u.refs = DEP5License(data)
		}
	}
}

// claim gives a path that Apply brought from the root (a file, or a
// symlink on the way to one) to the packages that own it, as Analyze
// does for the list: a file to all its owners, which are listed from
// then on when they were not (base-files for /etc/os-release,
// gcc-12-base for the copyright file that /usr/share/doc/libgcc-s1
// leads to); a symlink to its owners that are listed. It returns the
// packages it listed.
func (r *Result) claim(p string, file bool, size int64, uses map[*Package]*Use) []*Use {
	if _, done := r.owner[p]; done {
		return nil
	}
	owners, why := r.db.owners(p)
	var added []*Use
	for _, o := range owners {
		u := uses[o.pkg]
		if u == nil {
			if !file {
				continue // links alone do not keep a package
			}
			pk := o.pkg
			u = &Use{Name: pk.Name, Version: pk.Version, Arch: pk.Arch, Source: pk.Source, SourceVersion: pk.SourceVersion, License: pk.License, pkg: pk, listed: map[string]bool{}}
			uses[pk] = u
			r.Packages = append(r.Packages, u)
			added = append(added, u)
		}
		u.listed[o.listed] = true
		if file {
			u.Files++
			u.Bytes += size
		} else {
			u.Links++
		}
		r.owner[p] = append(r.owner[p], u)
	}
	if len(r.owner[p]) == 0 {
		kind := string(filelist.File)
		if !file {
			kind = string(filelist.Symlink)
			if len(owners) > 0 {
				why = "a symlink of " + owners[0].pkg.Name + ", which owns no kept file"
			}
		}
		i := sort.Search(len(r.Unowned), func(i int) bool { return r.Unowned[i].Path >= p })
		if i == len(r.Unowned) || r.Unowned[i].Path != p {
			r.Unowned = slices.Insert(r.Unowned, i, Unowned{Path: p, Kind: kind, Why: why})
		}
	}
	return added
}

// sortUses sorts packages by name, then architecture.
func sortUses(uses []*Use) {
	sort.Slice(uses, func(i, j int) bool {
		a, b := uses[i], uses[j]
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Arch < b.Arch
	})
}

// osName is what the OS calls itself.
func osName(rel map[string]string) string {
	if rel["PRETTY_NAME"] != "" {
		return rel["PRETTY_NAME"]
	}
	return strings.TrimSpace(rel["NAME"] + " " + rel["VERSION_ID"])
}

// Apply adds the metadata of the kept packages to b (a builder extended
// from the analyzed list): the database entries, os-release and the
// copyright files. modTime is the generated files' time.
func (r *Result) Apply(ctx context.Context, b *filelist.Builder, modTime time.Time) error {
	db := r.db
	res := b.Resolver()
	why := filelist.Reason{Source: "package-metadata"}
	gen := func(p string, data []byte) error {
		if err := b.AddGenerated(p, data, 0o644, modTime, why); err != nil {
			return err
		}
		r.MetadataFiles++
		r.MetadataBytes += int64(len(data))
		r.Added = append(r.Added, p)
		return nil
	}
	if len(r.Packages) == 0 {
		return nil
	}
	uses := map[*Package]*Use{}
	for _, u := range r.Packages {
		uses[u.pkg] = u
	}
	// The files of the root that the metadata needs: os-release and the
	// copyright files, with the links on the way to them. Each is given
	// to the packages that own it; a package listed that way brings its
	// own copyright file in turn.
	type rootFile struct {
		path    string
		why     filelist.Reason
		license bool
	}
	var queue []rootFile
	release := []string{"/etc/os-release", "/etc/debian_version"}
	if db.Kind == Apk {
		release = []string{"/etc/os-release", "/etc/alpine-release"}
	}
	for _, p := range release {
		queue = append(queue, rootFile{path: p, why: why})
	}
	license := func(u *Use) rootFile {
		return rootFile{path: u.Copyright, why: filelist.Reason{Source: "license", Detail: "of " + u.Name}, license: true}
	}
	for _, u := range r.Packages {
		if u.Copyright != "" {
			queue = append(queue, license(u))
		}
	}
	// the same license text in several packages (libc6, libc-bin and
	// locales share glibc's) is stored once: the others are hardlinks
	bySum := map[[32]byte][]string{}
	for i := 0; i < len(queue); i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		f := queue[i]
		rr, err := res.Resolve(f.path, true)
		if err != nil || !rr.Info.Mode().IsRegular() {
			continue // not in this root: nothing to add
		}
		added := !b.Has(rr.Path)
		fresh := added
		for _, ln := range rr.Links {
			fresh = fresh || !b.Has(ln.Path)
		}
		if fresh {
			if _, err := b.Add(f.path, filelist.Follow, f.why); err != nil {
				return errors.WithMessagef(err, "adding %s", f.path)
			}
		}
		// the file first: the package it keeps may own the links too
		for _, u := range r.claim(rr.Path, true, rr.Info.Size(), uses) {
			if db.copyright(u); u.Copyright != "" {
				queue = append(queue, license(u))
			}
		}
		for _, ln := range rr.Links {
			r.claim(ln.Path, false, 0, uses)
		}
		if !added {
			continue
		}
		r.Added = append(r.Added, rr.Path)
		if !f.license {
			r.MetadataFiles++
			r.MetadataBytes += rr.Info.Size()
			continue
		}
		r.LicenseFiles++
		r.LicenseBytes += rr.Info.Size()
		if data, err := os.ReadFile(res.HostPath(rr.Path)); err == nil {
			sum := sha256.Sum256(data)
			bySum[sum] = append(bySum[sum], rr.Path)
		}
	}
	for _, paths := range bySum {
		sort.Strings(paths)
		for _, p := range paths[1:] {
			if p == paths[0] {
				continue
			}
			if err := b.Hardlink(p, paths[0]); err != nil {
				return err
			}
			if info, _, err := res.Lstat(p); err == nil {
				r.LicenseBytes -= info.Size()
			}
		}
	}
	sortUses(r.Packages)
	// The database of the packages listed, those the root files brought
	// included.
	switch db.Kind {
	case Dpkg:
		names := map[string]int{}
		for _, u := range r.Packages {
			names[u.Name]++
		}
		for _, u := range r.Packages {
			if err := ctx.Err(); err != nil {
				return err
			}
			name := u.Name
			if names[name] > 1 {
				name += ":" + u.Arch // the same package for two architectures
			}
			if err := gen(DpkgStatusD+"/"+name, u.pkg.Stanza); err != nil {
				return err
			}
			sums, err := db.md5sums(u.pkg)
			if err != nil {
				return err
			}
			var lines []string
			for listed := range u.listed {
				if l, ok := sums[listed]; ok {
					lines = append(lines, l)
				}
			}
			if len(lines) > 0 {
				sort.Slice(lines, func(i, j int) bool { return lines[i][34:] < lines[j][34:] })
				if err := gen(DpkgStatusD+"/"+name+".md5sums", []byte(strings.Join(lines, "\n")+"\n")); err != nil {
					return err
				}
			}
		}
		// the diversions of kept files: the md5sums name a diverted file
		// by its package's name, the diversion says where it is
		var divs []string
		for _, d := range db.diversions {
			if len(r.owner[db.Normalize(d.from)])+len(r.owner[db.Normalize(d.to)]) > 0 {
				divs = append(divs, d.from+"\n"+d.to+"\n"+d.by+"\n")
			}
		}
		if len(divs) > 0 {
			if err := gen(DpkgDir+"/diversions", []byte(strings.Join(divs, ""))); err != nil {
				return err
			}
		}
	case Apk:
		var data []byte
		for _, u := range r.Packages {
			data = append(data, apkStanza(u.pkg, u.listed)...)
		}
		if len(r.Packages) > 0 {
			if err := gen(ApkInstalled, data); err != nil {
				return err
			}
		}
	}
	sort.Strings(r.Added)
	return nil
}

// OwnerName names the first kept package that owns a path ("" for none).
func (r *Result) OwnerName(p string) string {
	if o := r.Owner(p); len(o) > 0 {
		return o[0].Name
	}
	return ""
}

// Owner returns the kept packages that own a path.
func (r *Result) Owner(p string) []*Use {
	if r == nil {
		return nil
	}
	return r.owner[p]
}
