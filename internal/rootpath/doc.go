// Package rootpath resolves paths inside a root directory the way the
// kernel resolves them inside a chroot: component by component, following
// symlinks (absolute targets restart at the root, ".." never climbs above
// it) and reporting every symlink met on the way.
//
// It is the one place where scratchpack turns a path seen in a trace into
// real files on disk, so nothing it returns ever lies outside the root.
package rootpath
