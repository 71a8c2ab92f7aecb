// Package fanotify records which files and directories a command opens
// and runs, without stopping it on each system call as ptrace does.
//
// The command is started in a mount namespace of its own (a copy of the
// caller's, so it sees the same files). Every mount of that namespace is
// marked with fanotify, and a mount mark only reports access through that
// mount: the events are exactly those of the command and its children,
// with no pid bookkeeping and no race with short-lived processes. The
// kernel queues an event (with an open descriptor of the file) when the
// file is opened or executed; the process goes on at once, and the
// reader turns each descriptor into its path.
//
// What fanotify does not report, and strace does: the names a program
// used to reach a file (symlinks on the way are resolved), files that were
// only looked at (stat, access, readlink) or failed to open, and the
// working directories. The caller makes up for the names by adding the
// symlinks that point at used files (see scratchpack's List).
package fanotify
