// Package filelist is scratchpack's model of a rootfs: a sorted list of
// entries (files, directories, symlinks, hardlinks) with their modes,
// owners, sizes and the reasons they are there.
//
// A Builder adds paths the way the kernel resolves them inside a root
// (see internal/rootpath): every symlink met on the way is kept as a
// symlink entry (/lib -> usr/lib, libfoo.so.1 -> libfoo.so.1.2.3), its
// target is followed, the final file is included, every parent directory
// comes with its mode, and nothing outside the root is ever read. Names
// that share an inode become one file and hardlinks to it.
//
// Lists are written as text (one absolute path per line, for tar -T and
// zip -@) or JSON (kinds, modes and reasons), and read back from either.
package filelist
