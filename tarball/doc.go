// Package tarball writes a rootfs as a deterministic tar archive
// (gzip, zstd or uncompressed) from a file list.
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
package tarball
