package pkgmeta

import (
	"sort"
	"strings"
)

// dep5Format is how a machine-readable copyright file starts.
const dep5Format = "copyright-format/1.0"

// spdxIDs maps the short names Debian copyright files use to SPDX
// license identifiers (DEP-5 section "License specification").
var spdxIDs = map[string]string{
	"apache-2.0": "Apache-2.0", "artistic": "Artistic-1.0-Perl", "artistic-2.0": "Artistic-2.0",
	"bsd-2-clause": "BSD-2-Clause", "bsd-3-clause": "BSD-3-Clause", "bsd-4-clause": "BSD-4-Clause",
	"cc0-1.0": "CC0-1.0", "expat": "MIT", "mit": "MIT", "isc": "ISC", "zlib": "Zlib",
	"mpl-1.1": "MPL-1.1", "mpl-2.0": "MPL-2.0", "psf-2": "PSF-2.0", "python-2.0": "Python-2.0",
	"openssl": "OpenSSL", "curl": "curl", "ftl": "FTL", "x11": "X11", "unicode-dfs-2016": "Unicode-DFS-2016",
	"gpl-1": "GPL-1.0-only", "gpl-1+": "GPL-1.0-or-later",
	"gpl-2": "GPL-2.0-only", "gpl-2+": "GPL-2.0-or-later",
	"gpl-3": "GPL-3.0-only", "gpl-3+": "GPL-3.0-or-later",
	"lgpl-2": "LGPL-2.0-only", "lgpl-2+": "LGPL-2.0-or-later",
	"lgpl-2.1": "LGPL-2.1-only", "lgpl-2.1+": "LGPL-2.1-or-later",
	"lgpl-3": "LGPL-3.0-only", "lgpl-3+": "LGPL-3.0-or-later",
	"gfdl-1.3": "GFDL-1.3-only", "gfdl-1.3+": "GFDL-1.3-or-later",
	"agpl-3": "AGPL-3.0-only", "agpl-3+": "AGPL-3.0-or-later",
	"bsl-1.0": "BSL-1.0", "0bsd": "0BSD", "unlicense": "Unlicense", "wtfpl": "WTFPL",
}

// DEP5License reads a Debian copyright file and, when it is
// machine-readable (DEP-5), returns the SPDX expression of the licenses
// its Files paragraphs name (all of them, joined with AND: the package
// holds files under each), and the LicenseRef- names it had to make for
// short names with no SPDX identifier. Other files give "".
func DEP5License(data []byte) (string, map[string]bool) {
	paras, err := ParseControl(data, "copyright")
	if err != nil || len(paras) == 0 || !strings.Contains(paras[0].Get("Format"), dep5Format) {
		return "", nil
	}
	seen := map[string]bool{}
	refs := map[string]bool{}
	var terms []string
	for _, p := range paras {
		if !p.Has("Files") {
			continue
		}
		first, _, _ := strings.Cut(p.Get("License"), "\n")
		first = strings.TrimSpace(first)
		if first == "" {
			continue
		}
		t := licenseExpr(first, refs)
		if t != "" && !seen[t] {
			seen[t] = true
			terms = append(terms, t)
		}
	}
	sort.Strings(terms)
	for i, t := range terms {
		if len(terms) > 1 && strings.ContainsAny(t, " ") {
			terms[i] = "(" + t + ")"
		}
	}
	return strings.Join(terms, " AND "), refs
}

// licenseExpr turns a DEP-5 license line ("GPL-2+ or Artistic", "LGPL-2.1
// with OpenSSL exception", "BSD-3-clause and MIT") into an SPDX
// expression.
func licenseExpr(s string, refs map[string]bool) string {
	words := strings.Fields(s)
	var out []string
	var name []string
	flush := func() {
		if len(name) == 0 {
			return
		}
		out = append(out, licenseID(strings.Join(name, " "), refs))
		name = nil
	}
	for i := 0; i < len(words); i++ {
		w := strings.TrimSuffix(words[i], ",")
		switch strings.ToLower(w) {
		case "or", "and":
			flush()
			if len(out) > 0 && i+1 < len(words) {
				out = append(out, strings.ToUpper(w))
			}
		case "with":
			// "X with Y exception": the exception is folded into a reference
			rest := strings.Join(words[i:], " ")
			name = append(name, rest)
			i = len(words)
		default:
			name = append(name, w)
		}
	}
	flush()
	if len(out) > 0 && (out[len(out)-1] == "OR" || out[len(out)-1] == "AND") {
		out = out[:len(out)-1]
	}
	return strings.Join(out, " ")
}

// licenseID maps one short name to an SPDX identifier or a LicenseRef.
func licenseID(name string, refs map[string]bool) string {
	if id, ok := spdxIDs[strings.ToLower(name)]; ok {
		return id
	}
	var b strings.Builder
	b.WriteString("LicenseRef-")
	dash := false
	for _, c := range name {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.'
		if ok {
			b.WriteRune(c)
			dash = false
		} else if !dash {
			b.WriteByte('-')
			dash = true
		}
	}
	ref := strings.TrimRight(b.String(), "-")
	if ref == "LicenseRef" {
		ref = "LicenseRef-unknown"
	}
	refs[ref] = true
	return ref
}
