// Package collect gathers the paths a program uses, from the sources
// scratchpack reads: strace logs (collect/strace), fanotify watches
// (collect/fanotify), ldd output (collect/ldd) and the executables
// themselves (collect/elfdeps). Each
// source becomes a list of Uses: a path, what the image needs of it, and
// why it is there. The filelist package turns Uses into files.
package collect
