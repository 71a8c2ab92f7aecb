// Package strace parses the logs written by `strace -o FILE` (with or
// without -f, and the per-process files of -ff) into path events: which
// process used which path, with which syscall, and whether it succeeded.
//
// The parser streams: memory grows with the number of live processes and
// unfinished calls, not with the size of the log. It understands every
// output shape of strace 6.1 that scratchpack may meet: pid prefixes
// ("123 ", "[pid 123] ", "123<comm> "), timestamps (-t, -tt, -ttt, -r,
// --absolute-timestamps), -T durations, -y and -yy fd decorations, -x and
// -xx hex strings, -X raw and -X verbose, strings truncated by -s,
// unfinished and resumed calls across pids, signals, exits, thread
// execve, and lines cut by an "strace: Process N attached" notice.
//
// It tracks the cwd and root of each process (chdir, fchdir, chroot,
// CLONE_FS sharing, unshare) and its open fds (for dirfd-relative paths
// in logs made without -y), so relative paths become absolute.
//
// A call whose path argument strace printed as an address (it could not
// read the memory of a process that dropped privileges without exec) makes
// no event: it goes to Options.Unreadable, with the process's program and
// effective uid (followed through setuid, setreuid and setresuid).
//
// Lines it cannot parse are reported with the file and line number
// through Options.Warn and skipped; it never panics on input. A file in
// which fewer than a quarter of the lines are strace output (calls of
// unknown syscalls do not count) is refused with a *JunkError naming
// its first bad line: it is not a strace log.
package strace
