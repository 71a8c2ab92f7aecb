// Package pkgmeta keeps what security scanners need to see the packages
// of a shrunk rootfs: which package owns each packed file, the package
// database entries of exactly the packages that still own a kept file,
// their license texts, and an SBOM (SPDX 2.3 or CycloneDX 1.5 JSON).
//
// Ownership comes from the root's own database: dpkg's
// /var/lib/dpkg/status, info/*.list (each read once), info/*.md5sums and
// diversions; or a distroless status.d (one stanza a file, the files its
// .md5sums name), so that an image scratchpack made, or a distroless one,
// can be shrunk again; or Alpine's /lib/apk/db/installed. Names are compared after
// the merged-/usr aliases of the root are applied (dpkg lists
// /lib/x86_64-linux-gnu/libc.so.6, the packed file is
// /usr/lib/x86_64-linux-gnu/libc.so.6; both are libc6's), diverted files
// belong to the package whose file is actually at that name, and the
// links of /etc/alternatives belong to no package. Directories are never
// counted: a package owns a kept file, a kept hardlink or a kept symlink
// that is not a directory in the database.
//
// Apply adds to a file list, the way distroless images do:
//
//	/var/lib/dpkg/status.d/<package>          the package's stanza from status, verbatim
//	/var/lib/dpkg/status.d/<package>.md5sums  dpkg's md5sums lines of the kept files only
//	/var/lib/dpkg/diversions                  the diversions of kept files (md5sums name a
//	                                          diverted file by its package's name)
//	/etc/os-release (and what it links to), /etc/debian_version
//	/usr/share/doc/<package>/copyright        following links (libgcc-s1 -> gcc-12-base)
//
// or, for apk, a trimmed /lib/apk/db/installed (the kept packages with
// their kept files only), /etc/os-release and /etc/alpine-release.
// Syft and Trivy read status.d like /var/lib/dpkg/status.
//
// The md5sums are dpkg's, the digests of the files as the package
// shipped them: a file the UPX stage packed no longer matches, which is
// the truth (the file was changed after installation). The SBOM, made
// after the UPX stage, holds the SHA-256 of the bytes actually packed.
//
// The SBOM (WriteSBOM) lists every kept package (name, version,
// architecture, PURL, source package, the license when the copyright file
// is machine-readable DEP-5) and every packed regular file with its
// SHA-256 (and SHA-1, which SPDX 2.3 expects), the package that contains
// it or none. It is deterministic: its time is SOURCE_DATE_EPOCH (else the
// newest packed modification time), and its namespace (SPDX) or serial
// number (CycloneDX) is derived from a hash of its content. A copy goes
// into the image as /usr/share/sbom/scratchpack.spdx.json (or .cdx.json),
// a name that both Syft's SBOM cataloger (**/*.spdx.*, **/*.cdx.*) and
// Trivy's SBOM analyzer (suffix .spdx.json, .cdx.json) pick up; the copy
// does not list itself.
package pkgmeta
