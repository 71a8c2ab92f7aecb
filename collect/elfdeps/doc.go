// Package elfdeps reads what an executable needs in order to start,
// without running it: the program interpreter of an ELF file (PT_INTERP,
// the dynamic loader that strace never shows being opened) and the
// interpreter named by a script's "#!" line.
package elfdeps
