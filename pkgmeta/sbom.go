package pkgmeta

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/pkg/errors"
	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdx/v2/common"
	spdx "github.com/spdx/tools-golang/spdx/v2/v2_3"

	"github.com/scratchpack/scratchpack/filelist"
	"github.com/scratchpack/scratchpack/internal/rootpath"
)

// SBOM formats.
const (
	SPDX      = "spdx"
	CycloneDX = "cyclonedx"
)

// ParseFormat checks an --sbom-format value ("" is SPDX).
func ParseFormat(s string) (string, error) {
	switch strings.ToLower(s) {
	case "", SPDX, "spdx-json":
		return SPDX, nil
	case CycloneDX, "cdx", "cyclonedx-json":
		return CycloneDX, nil
	}
	return "", errors.Errorf("SBOM format %q: expected spdx (SPDX 2.3 JSON) or cyclonedx (CycloneDX 1.5 JSON)", s)
}

// ImagePath is where the SBOM copy goes in the image for a format.
func ImagePath(format string) string {
	if format == CycloneDX {
		return "/usr/share/sbom/scratchpack.cdx.json"
	}
	return "/usr/share/sbom/scratchpack.spdx.json"
}

// Digest is a packed regular file's digests.
type Digest struct {
	Path   string
	Size   int64
	SHA1   string
	SHA256 string
}

// HashEntries reads every regular file of the entries (generated data,
// a staged copy, or the file under the root) and returns its digests;
// hardlinks get their target's.
func HashEntries(ctx context.Context, res *rootpath.Resolver, entries []*filelist.Entry) ([]Digest, error) {
	byPath := map[string]Digest{}
	var out []Digest
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		switch e.Kind {
		case filelist.File:
			h1, h256 := sha1.New(), sha256.New()
			w := io.MultiWriter(h1, h256)
			var n int64
			if e.Data != nil {
				w.Write(e.Data)
				n = int64(len(e.Data))
			} else {
				src := e.Content
				if src == "" {
					src = res.HostPath(e.Path)
				}
				f, err := os.Open(src)
				if err != nil {
					return nil, errors.Wrapf(err, "hashing %s", e.Path)
				}
				n, err = io.Copy(w, f)
				f.Close()
				if err != nil {
					return nil, errors.Wrapf(err, "hashing %s", e.Path)
				}
			}
			d := Digest{Path: e.Path, Size: n, SHA1: hex.EncodeToString(h1.Sum(nil)), SHA256: hex.EncodeToString(h256.Sum(nil))}
			byPath[e.Path] = d
			out = append(out, d)
		case filelist.Hardlink:
			d, ok := byPath[e.Target]
			if !ok {
				return nil, errors.Errorf("hashing %s: its hardlink target %s is not before it in the list", e.Path, e.Target)
			}
			d.Path = e.Path
			out = append(out, d)
		}
	}
	return out, nil
}

// SBOMOptions say how to write an SBOM.
type SBOMOptions struct {
	Format string    // SPDX (default) or CycloneDX
	Name   string    // what it describes: the archive's name
	Time   time.Time // its creation time (SOURCE_DATE_EPOCH)
	Tool   string    // "scratchpack-v1.2.3"
}

// PURL returns a package's package URL:
// pkg:deb/debian/libc6@2.36-9+deb12u10?arch=amd64&distro=debian-12.
func (r *Result) PURL(u *Use) string {
	typ, ns := "deb", "debian"
	if r.Kind == Apk {
		typ, ns = "apk", "alpine"
	}
	rel := map[string]string{}
	if r.db != nil && r.db.OSRelease != nil {
		rel = r.db.OSRelease
	}
	if id := rel["ID"]; id != "" {
		ns = id
	}
	q := []string{}
	if u.Arch != "" {
		q = append(q, "arch="+purlEscape(u.Arch))
	}
	if rel["ID"] != "" && rel["VERSION_ID"] != "" {
		q = append(q, "distro="+purlEscape(rel["ID"]+"-"+rel["VERSION_ID"]))
	}
	if u.Source != "" && u.Source != u.Name {
		up := u.Source
		if u.SourceVersion != "" {
			up += "@" + u.SourceVersion
		}
		q = append(q, "upstream="+purlEscape(up))
	}
	s := "pkg:" + typ + "/" + purlEscape(ns) + "/" + purlEscape(u.Name) + "@" + purlEscape(u.Version)
	if len(q) > 0 {
		s += "?" + strings.Join(q, "&") // keys already in order: arch, distro, upstream
	}
	return s
}

// purlEscape percent-encodes what a purl component cannot hold as is
// (':' and '+' are kept, as Debian versions use them).
func purlEscape(s string) string {
	e := url.PathEscape(s)
	return strings.NewReplacer("%3A", ":", "%2B", "+").Replace(e)
}

// WriteSBOM writes the SBOM of the packed files: every kept package and
// every file with its digests and its package.
func (r *Result) WriteSBOM(files []Digest, opts SBOMOptions) ([]byte, error) {
	if opts.Format == CycloneDX {
		return r.cyclonedx(files, opts)
	}
	return r.spdx(files, opts)
}

// spdxID makes an SPDX identifier from parts: letters, digits, '.' and '-'.
func spdxID(parts ...string) common.ElementID {
	var b strings.Builder
	for i, p := range parts {
		if i > 0 {
			b.WriteByte('-')
		}
		for _, c := range p {
			if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' {
				b.WriteRune(c)
			} else {
				b.WriteByte('-')
			}
		}
	}
	return common.ElementID(b.String())
}

func fileID(p string) common.ElementID {
	h := sha256.Sum256([]byte(p))
	return common.ElementID("File-" + hex.EncodeToString(h[:8]))
}

func (r *Result) packages() []*Use {
	if r == nil {
		return nil
	}
	return r.Packages
}

func (r *Result) spdx(files []Digest, opts SBOMOptions) ([]byte, error) {
	const noAssertion = "NOASSERTION"
	rootID := common.ElementID("rootfs")
	doc := &spdx.Document{
		SPDXVersion:    spdx.Version,
		DataLicense:    spdx.DataLicense,
		SPDXIdentifier: "DOCUMENT",
		DocumentName:   opts.Name,
		CreationInfo: &spdx.CreationInfo{
			Creators: []common.Creator{{CreatorType: "Tool", Creator: opts.Tool}},
			Created:  opts.Time.UTC().Format("2006-01-02T15:04:05Z"),
		},
	}
	root := &spdx.Package{
		PackageName: opts.Name, PackageSPDXIdentifier: rootID, PackageDownloadLocation: noAssertion,
		FilesAnalyzed: false, IsFilesAnalyzedTagPresent: true,
		PackageLicenseConcluded: noAssertion, PackageLicenseDeclared: noAssertion, PackageCopyrightText: noAssertion,
		PrimaryPackagePurpose: "CONTAINER",
		PackageComment:        "the rootfs written by " + opts.Tool,
	}
	if osn := r.osName(); osn != "" {
		root.PackageComment += ", from " + osn
	}
	doc.Packages = append(doc.Packages, root)
	rel := func(a, kind string, b common.ElementID) {
		doc.Relationships = append(doc.Relationships, &spdx.Relationship{
			RefA: common.MakeDocElementID("", a), RefB: common.MakeDocElementID("", string(b)), Relationship: kind,
		})
	}
	rel("DOCUMENT", "DESCRIBES", rootID)
	ids := map[*Use]common.ElementID{}
	refs := map[string]string{} // LicenseRef -> a copyright file naming it
	for _, u := range r.packages() {
		id := spdxID("Package", string(r.Kind), u.Name, u.Arch)
		ids[u] = id
		p := &spdx.Package{
			PackageName: u.Name, PackageSPDXIdentifier: id, PackageVersion: u.Version,
			PackageDownloadLocation: noAssertion, FilesAnalyzed: false, IsFilesAnalyzedTagPresent: true,
			PackageLicenseConcluded: noAssertion, PackageLicenseDeclared: noAssertion, PackageCopyrightText: noAssertion,
			PackageExternalReferences: []*spdx.PackageExternalReference{{Category: "PACKAGE-MANAGER", RefType: "purl", Locator: r.PURL(u)}},
			PackageComment:            fmt.Sprintf("%d files (%d bytes) and %d symlinks kept", u.Files, u.Bytes, u.Links),
		}
		if u.Source != "" {
			v := u.SourceVersion
			if v == "" {
				v = u.Version
			}
			p.PackageSourceInfo = "built from the source package " + u.Source + " " + v
		}
		if u.License != "" {
			p.PackageLicenseDeclared = u.License
			for ref := range u.refs {
				if _, ok := refs[ref]; !ok {
					refs[ref] = u.Copyright
				}
			}
		}
		doc.Packages = append(doc.Packages, p)
		rel(string(rootID), "CONTAINS", id)
	}
	for _, f := range files {
		fid := fileID(f.Path)
		sf := &spdx.File{
			FileName: "." + f.Path, FileSPDXIdentifier: fid,
			Checksums: []common.Checksum{
				{Algorithm: common.SHA1, Value: f.SHA1},
				{Algorithm: common.SHA256, Value: f.SHA256},
			},
			LicenseConcluded: noAssertion, FileCopyrightText: noAssertion,
		}
		owners := r.Owner(f.Path)
		if len(owners) == 0 {
			sf.FileComment = "no package owns it"
			if why := r.unownedWhy(f.Path); why != "" {
				sf.FileComment += ": " + why
			}
			rel(string(rootID), "CONTAINS", fid)
		}
		for _, u := range owners {
			rel(string(ids[u]), "CONTAINS", fid)
		}
		doc.Files = append(doc.Files, sf)
	}
	var names []string
	for ref := range refs {
		names = append(names, ref)
	}
	sort.Strings(names)
	for _, ref := range names {
		doc.OtherLicenses = append(doc.OtherLicenses, &spdx.OtherLicense{
			LicenseIdentifier: ref,
			ExtractedText:     "A license named in a Debian copyright file (" + refs[ref] + ") by a short name that has no SPDX identifier; its text is in that file.",
		})
	}
	encode := func() ([]byte, error) {
		var buf bytes.Buffer
		if err := spdxjson.Write(doc, &buf, spdxjson.Indent("  "), spdxjson.EscapeHTML(false)); err != nil {
			return nil, errors.Wrap(err, "encoding the SPDX document")
		}
		return buf.Bytes(), nil
	}
	// the namespace is derived from everything else
	data, err := encode()
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	doc.DocumentNamespace = "https://scratchpack.invalid/spdx/" + url.PathEscape(opts.Name) + "-" + hex.EncodeToString(sum[:16])
	return encode()
}

func (r *Result) osName() string {
	if r == nil {
		return ""
	}
	return r.OS
}

func (r *Result) unownedWhy(p string) string {
	if r == nil {
		return ""
	}
	i := sort.Search(len(r.Unowned), func(i int) bool { return r.Unowned[i].Path >= p })
	if i < len(r.Unowned) && r.Unowned[i].Path == p {
		return r.Unowned[i].Why
	}
	return ""
}

func (r *Result) cyclonedx(files []Digest, opts SBOMOptions) ([]byte, error) {
	bom := cdx.NewBOM()
	bom.SpecVersion = cdx.SpecVersion1_5
	tool := strings.TrimPrefix(opts.Tool, "scratchpack-")
	bom.Metadata = &cdx.Metadata{
		Timestamp: opts.Time.UTC().Format(time.RFC3339),
		Tools: &cdx.ToolsChoice{Components: &[]cdx.Component{{
			Type: cdx.ComponentTypeApplication, Name: "scratchpack", Version: tool,
		}}},
		Component: &cdx.Component{BOMRef: "rootfs", Type: cdx.ComponentTypeContainer, Name: opts.Name, Description: r.osName()},
	}
	fileComp := func(f Digest) cdx.Component {
		return cdx.Component{
			BOMRef: "file:" + f.Path, Type: cdx.ComponentTypeFile, Name: f.Path,
			Hashes: &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA1, Value: f.SHA1}, {Algorithm: cdx.HashAlgoSHA256, Value: f.SHA256}},
		}
	}
	var comps []cdx.Component
	byUse := map[*Use][]cdx.Component{}
	var unowned []cdx.Component
	for _, f := range files {
		owners := r.Owner(f.Path)
		if len(owners) == 0 {
			c := fileComp(f)
			if why := r.unownedWhy(f.Path); why != "" {
				c.Description = "no package owns it: " + why
			}
			unowned = append(unowned, c)
			continue
		}
		for i, u := range owners {
			c := fileComp(f)
			if i > 0 {
				c.BOMRef += "#" + u.Name + ":" + u.Arch // one bom-ref per component
			}
			byUse[u] = append(byUse[u], c)
		}
	}
	for _, u := range r.packages() {
		purl := r.PURL(u)
		c := cdx.Component{BOMRef: purl, Type: cdx.ComponentTypeLibrary, Name: u.Name, Version: u.Version, PackageURL: purl}
		props := []cdx.Property{{Name: "scratchpack:package:arch", Value: u.Arch}}
		if u.Source != "" {
			props = append(props, cdx.Property{Name: "scratchpack:package:source", Value: u.Source})
		}
		props = append(props, cdx.Property{Name: "scratchpack:package:kept", Value: fmt.Sprintf("%d files (%d bytes), %d symlinks", u.Files, u.Bytes, u.Links)})
		c.Properties = &props
		if u.License != "" {
			c.Licenses = &cdx.Licenses{{Expression: u.License}}
		}
		if fc := byUse[u]; len(fc) > 0 {
			c.Components = &fc
		}
		comps = append(comps, c)
	}
	comps = append(comps, unowned...)
	bom.Components = &comps
	encode := func() ([]byte, error) {
		var buf bytes.Buffer
		enc := cdx.NewBOMEncoder(&buf, cdx.BOMFileFormatJSON)
		enc.SetPretty(true)
		enc.SetEscapeHTML(false)
		if err := enc.EncodeVersion(bom, cdx.SpecVersion1_5); err != nil {
			return nil, errors.Wrap(err, "encoding the CycloneDX document")
		}
		return buf.Bytes(), nil
	}
	data, err := encode()
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	// a UUID (version 5 layout) made of the content's hash
	u := sum[:16]
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	bom.SerialNumber = fmt.Sprintf("urn:uuid:%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
	return encode()
}
