package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/scratchpack/scratchpack"
	"github.com/scratchpack/scratchpack/pkgmeta"
)

// packageFlags are the flags of what pack and build keep for security
// scanners: package metadata, licenses, the SBOM.
type packageFlags struct {
	metadata   bool
	sbom       string
	sbomFormat string
}

// packagesHelp ends the help of pack and build.
const packagesHelp = `

Scanners (Syft, Trivy, Grype) still see the packages: where the root has a dpkg
(or apk) database, the packages that own kept files get their entry from
/var/lib/dpkg/status in /var/lib/dpkg/status.d/PKG, dpkg's md5sums of the kept
files in status.d/PKG.md5sums, and /etc/os-release, /etc/debian_version and
their /usr/share/doc/PKG/copyright come along (--package-metadata=false leaves
all of it out). --sbom FILE writes an SPDX 2.3 (or --sbom-format cyclonedx:
CycloneDX 1.5) SBOM of the packages and of every packed file with its SHA-256,
and puts a copy in the image as /usr/share/sbom/scratchpack.spdx.json
(.cdx.json), where Syft and Trivy find it.`

func (p *packageFlags) register(cmd *cobra.Command) {
	cmd.Long += packagesHelp
	f := cmd.Flags()
	f.BoolVar(&p.metadata, "package-metadata", true, "keep what scanners read, for the packages that own kept files: /var/lib/dpkg/status.d/PKG (and .md5sums) or a trimmed apk database, /etc/os-release and the packages' copyright files")
	f.StringVar(&p.sbom, "sbom", "", "also write an SBOM of the packed files to FILE (a copy goes into the image as "+pkgmeta.ImagePath(pkgmeta.SPDX)+" or .cdx.json, unless --package-metadata=false)")
	f.StringVar(&p.sbomFormat, "sbom-format", "spdx", "spdx (SPDX 2.3 JSON) or cyclonedx (CycloneDX 1.5 JSON)")
}

func (p *packageFlags) options(o *scratchpack.PackOptions) error {
	format, err := pkgmeta.ParseFormat(p.sbomFormat)
	if err != nil {
		return usageError{err}
	}
	if p.sbom == "-" {
		return usagef("--sbom needs a file, not stdout")
	}
	o.NoPackageMetadata, o.SBOM, o.SBOMFormat = !p.metadata, p.sbom, format
	return nil
}

// packagesSummary says what the package phase found and added.
func (g *globals) packagesSummary(r *pkgmeta.Result, sbom string) {
	if r == nil {
		if sbom != "" {
			g.infof("wrote %s (no package database in the root: every file is unowned)\n", sbom)
		}
		return
	}
	if len(r.Packages) == 0 && sbom == "" {
		return
	}
	var names []string
	for _, u := range r.Packages {
		names = append(names, u.Name)
	}
	g.infof("packages (%s, %s): %d own kept files: %s\n", r.Kind, r.OS, len(r.Packages), strings.Join(names, " "))
	g.infof("  %d kept files or links belong to no package\n", len(r.Unowned))
	if r.MetadataFiles+r.LicenseFiles > 0 {
		g.infof("  added: metadata %d files (%s), licenses %d files (%s)\n", r.MetadataFiles, human(r.MetadataBytes), r.LicenseFiles, human(r.LicenseBytes))
	}
	if sbom != "" {
		note := ""
		if r.SBOM != "" {
			note = fmt.Sprintf(" (and %s in the image)", r.SBOM)
		}
		g.infof("wrote %s%s\n", sbom, note)
	}
}

// inspectPackages prints the packages an archive keeps.
func inspectPackages(w io.Writer, kept []pkgmeta.Kept) {
	if len(kept) == 0 {
		return
	}
	fmt.Fprintf(w, "packages (%d), files and bytes kept of each:\n", len(kept))
	for _, k := range kept {
		fmt.Fprintf(w, "  %-28s %-24s %5d files %10s\n", k.Name, k.Version, k.Files, human(k.Bytes))
	}
}
