// Package tarball writes a rootfs as a deterministic tar archive
// (gzip, zstd or uncompressed) from a file list, and reads, inspects and
// extracts such archives.
//
// Entries are PAX tar headers in list order (parents before children),
// with relative names, numeric owners and no user names, modes including
// setuid/setgid/sticky, symlinks and hardlinks as links, and extended
// attributes such as file capabilities (SCHILY.xattr.*). Modification
// times are truncated to seconds and, when an epoch is given
// (SOURCE_DATE_EPOCH), clamped to it. The same files give the same bytes.
//
// Each file is read once, through a descriptor opened without following
// symlinks, and checked not to have changed while it was copied.
//
// The files: write.go (Write, WriteFile), compress.go and pgzip.go (the
// compressors; parallel gzip whose bytes do not depend on the cores),
// progress.go, read.go (Open, NewReader: any of the three compressions),
// inspect.go (Inspect), extract.go (Extract, which refuses every entry
// that would write outside its directory; FuzzExtract checks that) and
// apply.go (Applier: a container image's layers applied in order, with
// whiteouts and opaque directories, under the same guards;
// FuzzApplyLayers checks it).
package tarball
