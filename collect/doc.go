// Package collect gathers the paths a program uses, from the sources
// scratchpack reads: strace logs (collect/strace), fanotify watches
// (collect/fanotify), ldd output (collect/ldd) and the executables
// themselves (collect/elfdeps). Each
// source becomes a list of Uses: a path, what the image needs of it, and
// why it is there. The filelist package turns Uses into files.
//
// A trace also says what the program did to its files: paths are
// normalised (Normalize) so that the syscalls of one file meet; a file it
// used and then removed is Deleted (not needed: its own state, such as a
// stale pid file); a directory it made or wrote into is a runtime
// directory (Use.RuntimeDir), kept empty.
package collect
