package scratchpack

import (
	"bytes"
	"context"
	"fmt"
	"github.com/scratchpack/scratchpack/collect/tracer"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pkg/errors"

	"github.com/scratchpack/scratchpack/filelist"
	"github.com/scratchpack/scratchpack/internal/atomicfile"
	"github.com/scratchpack/scratchpack/internal/htmlreport"
	"github.com/scratchpack/scratchpack/pkgmeta"
	"github.com/scratchpack/scratchpack/tarball"
)

// WriteHTML writes the report as one self-contained HTML page (see
// package internal/htmlreport) to name, atomically. owner names the
// package that owns a path ("" for none); nil maps no file to a package.
func (rep *Report) WriteHTML(name string, owner func(string) string) error {
	return writePage(name, rep.htmlPage(owner))
}

func writePage(name string, p *htmlreport.Page) error {
	var buf bytes.Buffer
	if err := htmlreport.Render(&buf, p); err != nil {
		return err
	}
	return errors.WithMessagef(atomicfile.WriteFile(name, buf.Bytes(), 0o644), "writing the HTML report %s", name)
}

// htmlPage is the page of a build report.
func (rep *Report) htmlPage(owner func(string) string) *htmlreport.Page {
	if owner == nil {
		owner = func(string) string { return "" }
	}
	p := &htmlreport.Page{
		Title:   rep.Archive,
		Version: rep.Scratchpack,
		Command: strings.Join(rep.Command, " "),
		Files:   rep.Files,
		Bytes:   rep.Bytes,
		Packed:  rep.Compressed,
	}
	switch rep.SecretsScan {
	case SecretsOff:
		p.SecretsNote = "The secret scan was off (--secrets off): the image's files were not searched for secrets."
	case "":
		// a report from before secrets_scan: findings show it ran
		p.Scanned = len(rep.Secrets) > 0
		p.SecretsNote = "The report does not say whether the secret scan ran (it predates secrets_scan)."
	default:
		p.Scanned = true
		p.SecretsExcluded = rep.SecretsScan == SecretsExclude
	}
	if p.Title == "" || p.Title == "-" {
		p.Title = "image"
	} else {
		p.Title = filepath.Base(rep.Archive)
	}
	fact := func(label, value string) {
		if value != "" {
			p.Facts = append(p.Facts, htmlreport.Fact{Label: label, Value: value})
		}
	}
	if rep.Archive != "-" {
		fact("archive", rep.Archive)
	}
	fact("root", rep.Root)
	fact("directory", rep.Dir)
	fact("collector", rep.Collector)
	// never silent: the unread calls are warned about at the top, as the
	// build warned (the files they named may be missing)
	for _, u := range rep.Unreadable {
		fix := UnreadableFix
		if rep.Collector == string(tracer.Ptrace) {
			fix = UnreadablePtraceFix
		}
		p.Warnings = append(p.Warnings, u.String()+"; "+fix+".")
	}
	status := fmt.Sprintf("%d", rep.ExitCode)
	if rep.Stopped {
		status = "stopped after the probes or --duration"
	}
	fact("exit", status)
	if rep.Packages != nil {
		fact("system", rep.Packages.OS)
	}
	for _, x := range rep.Execs {
		fact("--exec", fmt.Sprintf("%s (exit %d)", x.Command, x.ExitCode))
	}
	if rep.RootBytes > 0 {
		p.Sizes = append(p.Sizes, htmlreport.Size{Label: "source root " + rep.Root, Bytes: rep.RootBytes, Files: rep.RootFiles})
	} else if rep.Root == "/" {
		p.SizesNote = "The command ran on the host's root, whose size says nothing about the image: build from an unpacked image with --root to compare."
	}
	p.Sizes = append(p.Sizes,
		htmlreport.Size{Label: "image", Bytes: rep.Bytes, Files: rep.Files, Result: true},
		htmlreport.Size{Label: "compressed archive", Bytes: rep.Compressed, Result: true})
	if rep.Packages != nil {
		kind := string(rep.Packages.Kind)
		for _, u := range rep.Packages.Packages {
			p.Packages = append(p.Packages, htmlreport.Package{Name: u.Name, Version: u.Version, Kind: kind, Files: u.Files, Bytes: u.Bytes, License: u.License})
		}
	}
	for _, e := range rep.Entries {
		f, ok := htmlFile(e, owner)
		if !ok {
			continue
		}
		if f.Kind == "file" && f.Package == "" {
			p.UnownedFiles++
			p.UnownedBytes += f.Size
		}
		p.Entries = append(p.Entries, f)
	}
	for _, s := range rep.Secrets {
		p.Secrets = append(p.Secrets, htmlreport.Secret{Path: s.Path, Line: s.Line, Kind: string(s.Kind), Detail: s.Detail})
	}
	htmlCut(p, rep.Cut)
	sortPackages(p.Packages)
	return p
}

// htmlFile is an entry of the page (directories are left out).
func htmlFile(e *filelist.Entry, owner func(string) string) (htmlreport.File, bool) {
	f := htmlreport.File{Path: e.Path, Kind: string(e.Kind), Target: e.Target, Package: owner(e.Path)}
	switch e.Kind {
	case filelist.Dir:
		return f, false
	case filelist.File:
		f.Size = e.Size
	}
	seen := map[string]bool{}
	for _, r := range e.Reasons {
		hr := htmlReason(r)
		if !seen[hr.Text] {
			seen[hr.Text] = true
			f.Reasons = append(f.Reasons, hr)
		}
	}
	return f, true
}

// htmlReason sorts a reason into the page's classes and says it in words.
func htmlReason(r filelist.Reason) htmlreport.Reason {
	src := string(r.Source)
	with := func(s string) string {
		if r.Detail != "" {
			return s + ": " + r.Detail
		}
		return s
	}
	switch {
	case src == "strace" || src == "ptrace" || src == "fanotify":
		by := "traced"
		if r.Exec != "" {
			by = "traced in --exec " + r.Exec
		}
		return htmlreport.Reason{Class: "traced", Text: with(by)}
	case src == "ldd" || r.Source == filelist.SourceELF:
		return htmlreport.Reason{Class: "elf", Text: with("ELF")}
	case src == "interp" || src == "shebang":
		return htmlreport.Reason{Class: "interp", Text: with(src)}
	case r.Source == filelist.SourceInclude:
		return htmlreport.Reason{Class: "include", Text: with("--include")}
	case r.Source == filelist.SourceList:
		return htmlreport.Reason{Class: "list", Text: with("file list")}
	case src == "link" || r.Source == filelist.SourceSymlink || r.Source == filelist.SourceLinkTarget || r.Source == filelist.SourceParent:
		return htmlreport.Reason{Class: "link", Text: with(src)}
	case src == "package-metadata" || src == "license" || src == "sbom":
		return htmlreport.Reason{Class: "metadata", Text: with(src)}
	case strings.HasPrefix(src, "complete"):
		return htmlreport.Reason{Class: "complete", Text: with(src)}
	}
	if set, ok := r.Source.Set(); ok {
		return htmlreport.Reason{Class: "set", Text: with("set " + set)}
	}
	return htmlreport.Reason{Class: "other", Text: with(src)}
}

// sortPackages puts the largest first, then by name.
func sortPackages(ps []htmlreport.Package) {
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].Bytes != ps[j].Bytes {
			return ps[i].Bytes > ps[j].Bytes
		}
		return ps[i].Name < ps[j].Name
	})
}

// WriteInspectHTML writes the HTML page of an archive to name: from its
// build report when it is beside the archive, else from the archive's
// own entries and package metadata (then without reasons).
func WriteInspectHTML(ctx context.Context, archive, name string) error {
	st, err := os.Stat(archive)
	if err != nil {
		return errors.Wrap(err, "inspecting")
	}
	r, err := tarball.Open(archive)
	if err != nil {
		return err
	}
	defer r.Close()
	in, err := tarball.InspectKeeping(ctx, r, 0, pkgmeta.IsImageMetadata) // the package metadata in the same pass
	if err != nil {
		return errors.WithMessagef(err, "inspecting %s", archive)
	}
	kept, err := imagePackages(archive, in)
	if err != nil {
		return err
	}
	owners := map[string]string{}
	for _, k := range kept {
		for _, p := range k.Paths {
			if _, ok := owners[p]; !ok {
				owners[p] = k.Name
			}
		}
	}
	owner := func(p string) string { return owners[p] }
	rep, err := ReadReport(ReportPath(archive))
	if err == nil {
		page := rep.htmlPage(owner)
		page.Title = filepath.Base(archive)
		page.Packed = st.Size()
		if rep.Files != in.Files || rep.Bytes != in.Bytes {
			page.Warnings = append(page.Warnings, fmt.Sprintf("The report %s does not match the archive: it counts %d files of %d bytes, the archive holds %d files of %d bytes. The page shows the report.",
				filepath.Base(ReportPath(archive)), rep.Files, rep.Bytes, in.Files, in.Bytes))
		}
		return writePage(name, page)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return writePage(name, archivePage(archive, st.Size(), in, kept, owner))
}

// archivePage is the page of an archive without its build report.
func archivePage(archive string, packed int64, in *tarball.Inspection, kept []pkgmeta.Kept, owner func(string) string) *htmlreport.Page {
	p := &htmlreport.Page{
		Title:       filepath.Base(archive),
		Version:     Version,
		Files:       in.Files,
		Bytes:       in.Bytes,
		Packed:      packed,
		NoReasons:   "No build report beside the archive (" + filepath.Base(ReportPath(archive)) + "): the reasons of the files are not known.",
		SecretsNote: "No build report beside the archive: whether the secret scan ran, and what it found, is not known.",
		Facts:       []htmlreport.Fact{{Label: "archive", Value: archive}, {Label: "compression", Value: string(in.Compression)}},
		Sizes: []htmlreport.Size{
			{Label: "image", Bytes: in.Bytes, Files: in.Files, Result: true},
			{Label: "compressed archive", Bytes: packed, Result: true},
		},
	}
	for _, k := range kept {
		p.Packages = append(p.Packages, htmlreport.Package{Name: k.Name, Version: k.Version, Files: k.Files, Bytes: k.Bytes})
	}
	sortPackages(p.Packages)
	for _, m := range in.Members {
		if m.Kind == "dir" {
			continue
		}
		f := htmlreport.File{Path: m.Path, Kind: m.Kind, Target: m.Linkname, Package: owner(m.Path)}
		if m.Kind == "file" {
			f.Size = m.Size
			if f.Package == "" {
				p.UnownedFiles++
				p.UnownedBytes += m.Size
			}
		}
		p.Entries = append(p.Entries, f)
	}
	sort.Slice(p.Entries, func(i, j int) bool { return p.Entries[i].Path < p.Entries[j].Path })
	return p
}

// treeSize counts the regular files under root and their bytes; it
// gives up (0, 0) on an error, the size being a comparison only.
func treeSize(root string) (files int, size int64) {
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			files++
			size += info.Size()
		}
		return nil
	})
	if err != nil {
		return 0, 0
	}
	return files, size
}

// htmlCut puts the cut table on the page and, in the sizes chart, the
// OS packages the image keeps files of, taken whole.
func htmlCut(p *htmlreport.Page, cut []Unit) {
	var whole int64
	var files int
	for _, u := range cut {
		p.Cut = append(p.Cut, htmlreport.Unit{
			Kind: u.Kind, Name: u.Name,
			KeptFiles: u.KeptFiles, TotalFiles: u.TotalFiles, KeptBytes: u.KeptBytes, TotalBytes: u.TotalBytes,
			UnitName: u.UnitName, KeptUnits: u.KeptUnits, TotalUnits: u.TotalUnits,
			AddedFiles: u.AddedFiles, AddedBytes: u.AddedBytes,
		})
		if u.Kind == "deb" || u.Kind == "apk" {
			whole += u.TotalBytes
			files += u.TotalFiles
			for i := range p.Packages {
				if p.Packages[i].Name == u.Name {
					p.Packages[i].TotalFiles, p.Packages[i].TotalBytes = u.TotalFiles, u.TotalBytes
				}
			}
		}
	}
	if whole == 0 {
		return
	}
	at := 0
	for at < len(p.Sizes) && !p.Sizes[at].Result {
		at++
	}
	p.Sizes = append(p.Sizes[:at], append([]htmlreport.Size{{Label: "its packages, whole", Bytes: whole, Files: files}}, p.Sizes[at:]...)...)
}
