// Package tracer runs a command under a collector: strace, whose log
// collect/strace reads, or a fanotify watch (collect/fanotify) beside a
// narrow strace. It keeps the command's stdin, stdout and stderr, runs it
// as the leader of a session of its own (strace traces it from another:
// what the command signals, even its whole group, reaches neither strace
// nor the caller), forwards signals to it, runs probes against servers,
// and makes sure no process of the run is left running when it returns,
// while the caller's own processes are never touched.
//
// Run is made of phases. Only the start phase belongs to a collector
// (startStrace in strace.go, startWatched in watched.go): it starts the
// command and hands over a started, which says how to wait for it, which
// processes reparented to us are the run's (traced by its tracer, in its
// namespace), and how the collector finishes. The rest is shared by every
// collector: the launcher (ChrootExec, LauncherProgram), the session
// (session.go: probes, signals, Duration, the stop) and the sweep
// (sweep.go). A new collector is one more start phase in Options.starter.
// With Options.Proc the start phase gives a chrooted command what a
// container has in its root (internal/sandbox.ContainerRoot: /proc and
// the /dev nodes, or, without the right to mount, the nodes only).
package tracer
