// Package upx is scratchpack's optional UPX stage: it packs the ELF
// executables of a file list with upx, into staged copies (the source
// files are never modified), and proves that each packed program still
// starts by running it in a chroot made from the list; a program that
// does not start (old UPX releases make binaries that pass `upx -t` and
// then crash) keeps its original, with a warning.
//
// Shared libraries, the dynamic loader, setuid and setgid files, files
// already packed and files matching an exclude are never packed. Packing
// runs in parallel, and results are cached by content hash, upx version
// and arguments, so a rebuild does not pack again.
package upx
